//! Typed, layered configuration: built-in defaults, then an optional TOML
//! file, then `TCO_`-prefixed environment variables (`__` separates sections:
//! `TCO_ADMIN_API__USERNAME`). Secrets are wrapped so they never print, and
//! [`Settings::load`] validates everything before the gateway starts, naming
//! the bad setting.
//!
//! `upstream.mode` says where calls go: `twocheckout` (credentials required)
//! or `simulator` (the built-in one; only in builds with the `simulator`
//! feature). Unset, the gateway runs the simulator when no 2Checkout
//! credential at all is configured, and real 2Checkout with both.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use reqwest::Url;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// Environment variable naming a TOML configuration file to load.
pub const CONFIG_FILE_ENV: &str = "TCO_CONFIG_FILE";
/// The file loaded when [`CONFIG_FILE_ENV`] is not set, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "tco-gateway.toml";

/// Settings read from the environment as written, never as numbers (see [`Settings::load`]).
const VERBATIM_ENV_KEYS: [&str; 7] = [
    "admin_api.username",
    "admin_api.password",
    "payment_api.seller_id",
    "payment_api.private_key",
    "redis.url",
    "ins.secret_word",
    "ins.vendor_id",
];

/// Everything the gateway can be configured with.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub admin_api: AdminApiSettings,
    pub payment_api: PaymentApiSettings,
    pub upstream: UpstreamSettings,
    #[cfg(feature = "simulator")]
    pub simulator: SimulatorSettings,
    pub idempotency: IdempotencySettings,
    pub cache: CacheSettings,
    pub redis: RedisSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub stream_sales: StreamSalesSettings,
    pub ins: InsSettings,
}

/// The secret word of the built-in simulator's account, which signs the INS
/// messages it sends: the receiver's default in simulator mode.
#[cfg(feature = "simulator")]
pub const SIMULATOR_SECRET_WORD: &str = tco_simulator::DEFAULT_SECRET_WORD;

/// The most fields `ins.max_fields` may allow: what the shared (Redis) journal
/// stores in one entry. 2Checkout's largest documented message has 44 + 12 per
/// item fields, so this is ~320 items.
pub const MAX_INS_FIELDS: u32 = crate::notifications::journal::MAX_FORM_FIELDS;

/// The INS receiver (`notifications::receiver`): where 2Checkout posts its
/// instant notifications, the account they must be signed for, and the bounds
/// on what one sender may make the gateway do.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct InsSettings {
    /// Where the receiver listens (its own listener, apart from gRPC: 2Checkout posts
    /// from the internet, the gRPC callers are internal). Port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// The account's secret word (2Checkout's Site Management page), which signs every
    /// message's `md5_hash`. A secret, never logged. Simulator mode: the simulator's.
    pub secret_word: Option<SecretString>,
    /// The seller (account) number messages must carry in `vendor_id`. Unset: the
    /// `payment_api.seller_id`, or in simulator mode the simulator's.
    pub vendor_id: Option<String>,
    /// The largest form accepted, in bytes; a larger one is refused (413) unread.
    pub max_body_bytes: u64,
    /// The most fields one form may have; more is refused (413).
    pub max_fields: u32,
    /// Posts accepted per second, sustained, across all senders (one receiver-wide bucket).
    pub rate_limit_per_second: u32,
    /// Posts accepted at once after a quiet period.
    pub rate_limit_burst: u32,
    /// How long accepted notifications are kept in the journal (older ones are trimmed).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// The most notifications the in-memory journal (without `redis.url`) keeps.
    pub memory_capacity: u64,
}

impl Default for InsSettings {
    fn default() -> Self {
        // 64 KiB: the largest documented message (two items, 68 keys) is under 3 KB, and
        // 2Checkout sends one message per item-level event, so even an invoice with dozens
        // of items stays far below. 1,000 fields: 44 + 12 per item is 80 items.
        // 50 a second with a burst of 200 is far above any account's event rate (2Checkout
        // sends one post per event), and caps what a flood of unsigned posts costs in MD5s.
        // 7 days of retention: a consumer down over a long weekend still catches up.
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50053)),
            secret_word: None,
            vendor_id: None,
            max_body_bytes: 64 * 1024,
            max_fields: 1000,
            rate_limit_per_second: 50,
            rate_limit_burst: 200,
            retention: Duration::from_secs(7 * 24 * 3600),
            memory_capacity: 10_000,
        }
    }
}

/// The account INS messages must be signed for: resolved by [`Settings::ins_account`].
#[derive(Clone, Debug)]
pub struct InsAccount {
    /// The `vendor_id` every message must carry (and that its hash covers).
    pub vendor_id: String,
    /// The secret word the hash is keyed with.
    pub secret_word: SecretString,
}

impl InsSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            ("ins.max_body_bytes", self.max_body_bytes),
            ("ins.max_fields", u64::from(self.max_fields)),
            ("ins.rate_limit_per_second", u64::from(self.rate_limit_per_second)),
            ("ins.rate_limit_burst", u64::from(self.rate_limit_burst)),
            ("ins.memory_capacity", self.memory_capacity),
        ] {
            if value == 0 {
                let variable = setting.replace('.', "__").to_uppercase();
                return Err(ConfigError::Invalid {
                    setting,
                    reason: format!("must be greater than zero (TCO_{variable})"),
                });
            }
        }
        if self.max_fields > MAX_INS_FIELDS {
            return Err(ConfigError::Invalid {
                setting: "ins.max_fields",
                reason: format!("must be at most {MAX_INS_FIELDS}, what the journal stores (TCO_INS__MAX_FIELDS)"),
            });
        }
        if self.retention.is_zero() {
            return Err(ConfigError::Invalid {
                setting: "ins.retention",
                reason: "must be greater than zero (TCO_INS__RETENTION)".into(),
            });
        }
        if self.secret_word.as_ref().is_some_and(|word| word.expose_secret().trim().is_empty()) {
            return Err(ConfigError::Invalid {
                setting: "ins.secret_word",
                reason: "is empty; set the account's secret word (TCO_INS__SECRET_WORD) or leave it unset".into(),
            });
        }
        if let Some(vendor_id) = &self.vendor_id
            && (vendor_id.is_empty() || !vendor_id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConfigError::Invalid {
                setting: "ins.vendor_id",
                reason: "must be the seller account number, digits only (TCO_INS__VENDOR_ID)".into(),
            });
        }
        Ok(())
    }
}

/// The bounds of one StreamSales call (`grpc/sales/mod.rs`, `walk_pages`): a
/// walk ends at the first one reached, with its own status, and its paging
/// stops at once.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct StreamSalesSettings {
    /// The longest a walk runs; a caller's shorter deadline wins. Then DEADLINE_EXCEEDED.
    #[serde(with = "humantime_serde")]
    pub max_duration: Duration,
    /// The most pages (upstream list_sales requests) one walk fetches. Then RESOURCE_EXHAUSTED.
    pub max_pages: u32,
    /// How long a caller may take no row before the walk ends (ABORTED) and its buffered rows are dropped.
    #[serde(with = "humantime_serde")]
    pub stall_timeout: Duration,
}

impl Default for StreamSalesSettings {
    fn default() -> Self {
        // 1,000 pages are 100,000 sales at the largest page size, a full export of a
        // busy account's quarter; at the Admin API's few hundred ms a page that is
        // several minutes, so 10 min bounds a walk without cutting a real one short.
        // 30 s is far longer than any reader that is working pauses between rows (a
        // reader that processes rows in batches included), and short enough that a
        // thousand abandoned readers give their memory back within half a minute.
        Self { max_duration: Duration::from_secs(600), max_pages: 1000, stall_timeout: Duration::from_secs(30) }
    }
}

/// Who may call what (`crate::auth`). Unset: no policy, every caller may call everything
/// (zero-setup mode, loopback only unless `server.insecure`).
///
/// All unset by default: a policy names the operator's own callers, and keys and issuers
/// are the operator's; there is no safe guess. Both files are re-read every
/// `server.reload_interval` and swapped in when they change and still load.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// The policy file (TOML): callers, their methods, refund ceilings and rate limits.
    /// A bad file stops start-up naming the line.
    pub policy_file: Option<PathBuf>,
    /// The JWKS file bearer tokens are verified against. Needs `issuer`, `audience` and
    /// `policy_file` (a verified identity is only useful to a policy).
    pub jwks_file: Option<PathBuf>,
    /// The `iss` bearer tokens must carry (exactly).
    pub issuer: Option<String>,
    /// The `aud` bearer tokens must carry (one of their audiences, exactly).
    pub audience: Option<String>,
}

impl AuthSettings {
    /// Bearer tokens need both claims to check: a token for another issuer or another
    /// service must not pass here.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.jwks_file.is_none() {
            return Ok(());
        }
        for (setting, value) in [("auth.issuer", &self.issuer), ("auth.audience", &self.audience)] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "is required when auth.jwks_file is set (bearer tokens are checked against it)".into(),
                });
            }
        }
        if self.policy_file.is_none() {
            return Err(ConfigError::Invalid {
                setting: "auth.policy_file",
                reason: "is required when auth.jwks_file is set: without a policy every caller is allowed \
                         and verified tokens would be ignored"
                    .into(),
            });
        }
        Ok(())
    }
}

/// The shared state of all replicas (idempotency records, cache coherence). Unset: per-process state.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). May carry a password: a secret,
    /// never logged (log only the host:port).
    pub url: Option<SecretString>,
}

/// The detail_sale cache.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// How long a sale may be served from the cache. Without `redis.url`, also
    /// the bound on how stale another replica's answer can be after a write
    /// through this one (with it, a write evicts the sale on every replica).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// The memory budget for cached sales, in approximate bytes.
    pub max_bytes: u64,
    /// How long a catalog or account read (product, option, coupon, their
    /// listings, company and contact info, payments) may be served from the
    /// cache. Bounds changes made outside the gateway, and account changes.
    #[serde(with = "humantime_serde")]
    pub catalog_ttl: Duration,
    /// The memory budget for cached catalog and account reads, in approximate bytes.
    pub catalog_max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        // 30 s absorbs the bursts of repeated lookups services make while
        // handling one order, and keeps cross-replica staleness short for
        // payment data. A typical sale weighs 2 to 10 KB, so 64 MiB holds
        // thousands of them. The catalog changes mostly through the gateway
        // (whose writes evict), so its reads keep as long; a product listing
        // page of 100 weighs about 100 KB, so 16 MiB holds over a hundred pages.
        Self {
            ttl: Duration::from_secs(30),
            max_bytes: 64 * 1024 * 1024,
            catalog_ttl: Duration::from_secs(30),
            catalog_max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// How write request ids are remembered.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct IdempotencySettings {
    /// How long a request id's outcome is remembered: a retry later than
    /// this runs the write again.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// The memory budget for remembered outcomes, in bytes.
    pub max_bytes: u64,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        // A day covers any sane client retry policy; 64 MiB holds over 100,000 records.
        Self { retention: Duration::from_secs(24 * 3600), max_bytes: 64 * 1024 * 1024 }
    }
}

/// The gRPC listener and how it shuts down.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Where the gRPC server listens. Port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// After SIGTERM, how long to keep serving with health NOT_SERVING while
    /// load balancers drop the pod.
    #[serde(with = "humantime_serde")]
    pub drain_period: Duration,
    /// Then, how long in-flight calls may take to finish before the process exits.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// The largest request message accepted, in bytes (encoded, before decoding);
    /// a larger one is RESOURCE_EXHAUSTED and never buffered.
    pub max_message_bytes: u32,
    /// The most request metadata accepted, in bytes as HTTP/2 counts a header list
    /// (name + value + 32 per entry); more is RESOURCE_EXHAUSTED on that call.
    pub max_metadata_bytes: u32,
    /// How often files that may change under a running gateway (TLS certificates,
    /// the policy, the JWKS) are re-read; a changed file is swapped in if it loads.
    #[serde(with = "humantime_serde")]
    pub reload_interval: Duration,
    /// Whether server reflection (v1 and v1alpha) is served. Off: not served at all
    /// (UNIMPLEMENTED). On, it is open to every caller even with a policy: it describes only
    /// the public contract.
    pub reflection: bool,
    /// The most calls in progress at once (streams count while open; health is
    /// never counted nor refused); one more is shed at once with UNAVAILABLE.
    pub max_concurrent_calls: u32,
    /// The deadline of a call that brings none (no `grpc-timeout`); a caller's own deadline wins.
    #[serde(with = "humantime_serde")]
    pub default_deadline: Duration,
    /// TLS (and mTLS) on the gRPC listener. Unset: plaintext.
    pub tls: TlsSettings,
    /// Serve a non-loopback `listen_addr` without TLS or without a policy anyway.
    /// Without it such a configuration refuses to start.
    pub insecure: bool,
    /// A second, plaintext listener serving only grpc.health.v1 (the same status as the
    /// main one), for probes that cannot speak TLS or present a client certificate
    /// (kubelet's gRPC probes). Unset: none.
    pub health_listen_addr: Option<SocketAddr>,
    /// The most calls (HTTP/2 streams) open at once on one connection; a client queues
    /// the rest until one ends.
    pub max_concurrent_streams: u32,
    /// How often the server pings a connection's peer (HTTP/2 PING) to find one that
    /// vanished without closing (a node gone, a NAT entry dropped).
    #[serde(with = "humantime_serde")]
    pub http2_keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed.
    #[serde(with = "humantime_serde")]
    pub http2_keepalive_timeout: Duration,
    /// A connection with no call open for this long is closed. A connection that never
    /// sends a byte (plaintext) or never finishes its TLS handshake is closed after
    /// `server.tls.handshake_timeout` (or this, if shorter).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A connection older than this is asked to go away (HTTP/2 GOAWAY): its client
    /// reconnects, through the load balancer, possibly to a newer pod.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// After that GOAWAY, how long the calls already open may take to finish before the
    /// connection is closed anyway.
    #[serde(with = "humantime_serde")]
    pub max_connection_age_grace: Duration,
}

/// TLS on the gRPC listener (`transport::tls`). The files are PEM, re-read every
/// `server.reload_interval`: a changed file that loads is used by new connections
/// (open ones keep theirs); one that does not keeps the old and logs a WARN.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct TlsSettings {
    /// The server's certificate chain (leaf first). Set with `key_file`, or neither.
    pub cert_file: Option<PathBuf>,
    /// The server certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// The CA(s) client certificates must chain to (mTLS). A client may still connect
    /// without a certificate (and identify with a bearer token), but one it presents
    /// must chain to these, or the handshake fails.
    pub client_ca_file: Option<PathBuf>,
    /// The longest a TLS handshake may take from accept; then the socket is closed.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// The most TLS handshakes in progress at once; further connections wait in the
    /// kernel's accept queue until one finishes.
    pub max_concurrent_handshakes: u32,
}

impl Default for TlsSettings {
    fn default() -> Self {
        // A handshake takes one or two round trips and a millisecond of CPU: 10 s is
        // generous on any real network, and bounds what a socket that never completes
        // one holds. 256 handshakes at once keep both cores busy with real clients and
        // bound the memory and sockets of a flood of stalled ones.
        Self {
            cert_file: None,
            key_file: None,
            client_ca_file: None,
            handshake_timeout: Duration::from_secs(10),
            max_concurrent_handshakes: 256,
        }
    }
}

impl TlsSettings {
    /// Whether TLS is configured (validation makes sure the key comes with the certificate).
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        // 5 s covers endpoint propagation in a typical cluster; 20 s lets a call at the
        // default upstream timeout (15 s) finish. Kubernetes' terminationGracePeriodSeconds
        // must exceed their sum.
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            drain_period: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(20),
            // The largest valid request (an Authorize with many lines, or a 5,000-character
            // comment) is some tens of KB: 1 MiB is ample and bounds what one call buffers.
            max_message_bytes: 1024 * 1024,
            // gRPC's customary metadata limit (grpc-java and gRPC core use 8 KiB): room for
            // tracing headers and a bearer token, nothing like a megabyte.
            max_metadata_bytes: 8 * 1024,
            // Kubernetes takes up to a minute or so to update a mounted Secret or ConfigMap;
            // 10 s adds little to that, and reading a few small files costs nothing measurable.
            reload_interval: Duration::from_secs(10),
            // On: grpcurl and similar tools need it, and it reveals nothing the published
            // .proto files do not.
            reflection: true,
            // A call buffers up to a few MB at worst (a 1 MiB request, a 1 MiB upstream
            // answer and its decoding), typically tens of KB: 512 bounds the worst case
            // near 1 GiB, and is five times what one benchmark client drives on loopback
            // (h2load or the benches with ~100 concurrent streams), so such a client is
            // never shed. Beyond it, queueing would only add latency and memory: the
            // upstream cap (`admin_api.max_concurrent_requests`) is far below it.
            max_concurrent_calls: 512,
            // Covers a write's two upstream requests (baseline read and write) at the
            // default admin_api.request_timeout (15 s), and stays below the 60 s idle
            // timeout of common load balancers, so a hung call ends with a status first.
            default_deadline: Duration::from_secs(30),
            tls: TlsSettings::default(),
            insecure: false,
            health_listen_addr: None,
            // 128 (nginx's default; RFC 9113 advises no less than 100): above the ~100
            // streams a benchmark client multiplexes on one connection, and a bound on what
            // one connection can hold open (3,000 streams on one connection cost 114 MB).
            max_concurrent_streams: 128,
            // A peer gone without a FIN is noticed within 80 s and its calls and socket freed;
            // one ping a minute costs nothing on a live connection (clients accept server
            // pings at any rate; it is the server that polices client pings).
            http2_keepalive_interval: Duration::from_secs(60),
            http2_keepalive_timeout: Duration::from_secs(20),
            // Long enough that a client between bursts keeps its connection (no new TLS
            // handshake per burst); short enough that an abandoned connection's socket is back
            // within minutes. Sockets that never start (the flood that exhausted file
            // descriptors) go after the much shorter handshake timeout.
            idle_timeout: Duration::from_secs(300),
            // Clients of a long-lived connection are spread over new pods after a scale-up or a
            // rollout within half an hour; a reconnect every 30 min costs nothing measurable.
            max_connection_age: Duration::from_secs(30 * 60),
            // The longest call there is: a StreamSales walk runs up to stream_sales.max_duration
            // (10 min by default), so the GOAWAY never cuts a call short.
            max_connection_age_grace: Duration::from_secs(10 * 60),
        }
    }
}

impl ServerSettings {
    /// Limits small enough to refuse ordinary calls are mistakes: every call carries a few
    /// hundred bytes of standard metadata, and the smallest useful message is not much less.
    fn validate(&self) -> Result<(), ConfigError> {
        const SMALLEST_LIMIT: u32 = 1024;
        for (setting, value) in [
            ("server.max_message_bytes", self.max_message_bytes),
            ("server.max_metadata_bytes", self.max_metadata_bytes),
        ] {
            if value < SMALLEST_LIMIT {
                return Err(ConfigError::Invalid { setting, reason: format!("must be at least {SMALLEST_LIMIT}") });
            }
        }
        if self.reload_interval.is_zero() {
            return Err(ConfigError::Invalid {
                setting: "server.reload_interval",
                reason: "must be more than zero".into(),
            });
        }
        if self.max_concurrent_calls == 0 {
            return Err(ConfigError::Invalid {
                setting: "server.max_concurrent_calls",
                reason: "must be greater than zero".into(),
            });
        }
        self.validate_connections()
    }

    /// The transport's limits and TLS files (`transport`).
    fn validate_connections(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            ("server.http2_keepalive_interval", self.http2_keepalive_interval),
            ("server.http2_keepalive_timeout", self.http2_keepalive_timeout),
            ("server.idle_timeout", self.idle_timeout),
            ("server.max_connection_age", self.max_connection_age),
            ("server.tls.handshake_timeout", self.tls.handshake_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Invalid { setting, reason: "must be greater than zero".into() });
            }
        }
        for (setting, count) in [
            ("server.max_concurrent_streams", self.max_concurrent_streams),
            ("server.tls.max_concurrent_handshakes", self.tls.max_concurrent_handshakes),
        ] {
            if count == 0 {
                return Err(ConfigError::Invalid { setting, reason: "must be greater than zero".into() });
            }
        }
        let tls = &self.tls;
        match (&tls.cert_file, &tls.key_file) {
            (Some(_), None) => Err(ConfigError::Invalid {
                setting: "server.tls.key_file",
                reason: "server.tls.cert_file is set but the key is not; set both (TCO_SERVER__TLS__KEY_FILE)".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                setting: "server.tls.cert_file",
                reason: "server.tls.key_file is set but the certificate is not; set both (TCO_SERVER__TLS__CERT_FILE)"
                    .into(),
            }),
            (None, None) if tls.client_ca_file.is_some() => Err(ConfigError::Invalid {
                setting: "server.tls.client_ca_file",
                reason: "client certificates need TLS: set server.tls.cert_file and server.tls.key_file too".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// How the Admin API answers are requested.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireFormat {
    /// `Accept: application/json`, what every official client sends.
    #[default]
    Json,
    /// The Admin API's own default.
    Xml,
}

/// The 2Checkout Admin API.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct AdminApiSettings {
    /// The API's base URL; endpoints such as `sales/detail_sale` are resolved against it.
    pub base_url: String,
    /// The API user's name. Set together with `password`, or neither (simulator mode).
    pub username: Option<String>,
    /// The API user's password.
    pub password: Option<SecretString>,
    /// Which format to ask for. XML answers are decoded whatever was asked.
    pub wire_format: WireFormat,
    /// How long establishing a connection may take.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long one request may take, at most; a caller's shorter deadline wins.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// The largest answer the gateway reads, in bytes; a larger one is refused
    /// while it streams in and never decoded (a read fails, a write is OUTCOME_UNKNOWN).
    pub max_body_bytes: u64,
    /// The most requests to the Admin API in flight at once (and idle pooled connections
    /// kept); more wait within their deadline, then get UNAVAILABLE (UPSTREAM_BUSY).
    pub max_concurrent_requests: u32,
}

/// The default `admin_api.max_body_bytes`: 1 MiB. The largest answers the
/// simulator gives (shaped like the live API's) are a 100-row list_sales page,
/// the maximum page size, at 32 KB in XML (25 KB in JSON), and a detail_sale
/// of its largest seeded sale at 12 KB; ten times the page is 320 KB, rounded
/// up to 1 MiB because a long-running recurring sale gathers one invoice per
/// period (ten years of monthly invoices is still under 1 MiB). Decoding costs
/// a few times the body, so 1 MiB keeps each call in flight to a few MB.
pub const DEFAULT_ADMIN_API_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// The default `payment_api.max_body_bytes`: 64 KiB. The documented
/// authorization answer (three lines, both addresses) is 1.9 KB, and about
/// 350 bytes more per line the request sent, which the answer echoes; 64 KiB is
/// over thirty times the documented answer and room for some 180 lines.
pub const DEFAULT_PAYMENT_API_MAX_BODY_BYTES: u64 = 64 * 1024;

impl Default for AdminApiSettings {
    fn default() -> Self {
        Self {
            base_url: "https://www.2checkout.com/api/".into(),
            username: None,
            password: None,
            wire_format: WireFormat::Json,
            connect_timeout: Duration::from_secs(5),
            // The Admin API answers in hundreds of milliseconds; 15 s only bounds a hung request
            // for callers that send no deadline.
            request_timeout: Duration::from_secs(15),
            max_body_bytes: DEFAULT_ADMIN_API_MAX_BODY_BYTES,
            // At the Admin API's few hundred ms a request, 64 at once is over a hundred
            // requests a second from one replica, more than 2Checkout's API is meant to
            // take from one account; and at most 64 connections (64 TLS handshakes) however
            // many callers arrive at once.
            max_concurrent_requests: 64,
        }
    }
}

/// The 2Checkout Payment API (card authorization).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct PaymentApiSettings {
    /// The API's base URL; `{seller_id}/rs/authService` is resolved against it.
    pub base_url: String,
    /// The 2Checkout seller (account) number. Set with `private_key`, or
    /// neither: then Authorize answers UNIMPLEMENTED (simulator mode uses the
    /// simulator's own).
    pub seller_id: Option<String>,
    /// The Payment API private key.
    pub private_key: Option<SecretString>,
    /// The largest answer the gateway reads, in bytes; a larger one is refused
    /// while it streams in and never decoded (Authorize answers OUTCOME_UNKNOWN).
    pub max_body_bytes: u64,
    /// The most authorizations in flight at once (and idle pooled connections kept);
    /// more wait within their deadline, then get UNAVAILABLE (UPSTREAM_BUSY). Its own
    /// cap, apart from the Admin API's, so a burst of reads never queues a checkout.
    pub max_concurrent_requests: u32,
}

impl Default for PaymentApiSettings {
    fn default() -> Self {
        // The old sandbox host was retired: test orders go to production with "demo": true.
        Self {
            base_url: "https://www.2checkout.com/checkout/api/1/".into(),
            seller_id: None,
            private_key: None,
            max_body_bytes: DEFAULT_PAYMENT_API_MAX_BODY_BYTES,
            // An authorization takes about a second: 32 at once is some 30 checkouts a
            // second from one replica, well above a shop's peak, and at most 32 connections.
            max_concurrent_requests: 32,
        }
    }
}

/// Payment API credentials, when configured.
#[derive(Clone, Debug)]
pub struct PaymentCredentials {
    pub seller_id: String,
    pub private_key: SecretString,
}

/// Where the gateway sends its calls.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpstreamSettings {
    /// `twocheckout` or `simulator`; unset, decided by whether credentials are configured.
    pub mode: Option<UpstreamMode>,
}

/// The value of `upstream.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum UpstreamMode {
    /// The real 2Checkout APIs; start-up fails without the Admin API credentials.
    #[serde(rename = "twocheckout")]
    TwoCheckout,
    /// The built-in simulator (fake data), whatever the base URLs say.
    #[serde(rename = "simulator")]
    Simulator,
}

/// The built-in simulator, used only when `upstream.mode` (or the lack of credentials) says so.
#[cfg(feature = "simulator")]
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct SimulatorSettings {
    /// Where it listens (port 0 picks a free one). A fixed default port lets a
    /// walkthrough reach its 2co.js stand-in for card tokens.
    pub listen_addr: SocketAddr,
    /// How many sales it generates besides the documented one.
    pub generated_sales: usize,
    /// The seed of the generated data: the same seed gives the same sales.
    pub seed: u64,
}

#[cfg(feature = "simulator")]
impl Default for SimulatorSettings {
    fn default() -> Self {
        Self { listen_addr: SocketAddr::from(([127, 0, 0, 1], 50052)), generated_sales: 300, seed: 42 }
    }
}

/// Logging.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `text` for people, `json` for log pipelines.
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info,tco_gateway=debug`. `RUST_LOG` wins when set.
    pub filter: String,
    /// Whether the audit trail (`tco_gateway::audit`) is logged whatever `filter` and
    /// `RUST_LOG` say. Default `true`: quieting the log must never silently drop the record
    /// of who moved money; `false` leaves the trail to the filter like any other target.
    pub audit: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".into(), audit: true }
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where the gateway sends Admin API calls.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// The real 2Checkout, with these credentials.
    TwoCheckout { username: String, password: SecretString },
    /// The built-in simulator: `upstream.mode = "simulator"` when `explicit`, else chosen
    /// because no credential at all is configured.
    #[cfg(feature = "simulator")]
    Simulator { explicit: bool },
}

/// The environment variables of the Admin API credentials, named in start-up errors.
const ADMIN_CREDENTIAL_VARIABLES: &str = "TCO_ADMIN_API__USERNAME and TCO_ADMIN_API__PASSWORD";

/// A setting that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path} does not exist (named by --config or {CONFIG_FILE_ENV})")]
    MissingFile { path: PathBuf },
    #[error("invalid configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    #[error("invalid setting {setting}: {reason}")]
    Invalid { setting: &'static str, reason: String },
}

impl Settings {
    /// Loads defaults, the configuration file and the environment, then validates.
    ///
    /// Credentials are taken from the environment verbatim: the provider would
    /// read `TCO_PAYMENT_API__SELLER_ID=901248156` as a number (and refuse it as
    /// a seller id) and an all-digit password `007` as 7.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_with_file(None)
    }

    /// [`Settings::load`], with `config_file` (the `--config` flag) in place of
    /// [`CONFIG_FILE_ENV`] when given.
    pub fn load_with_file(config_file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let file = match config_file.or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from)) {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::MissingFile { path });
                }
                path
            }
            None => PathBuf::from(DEFAULT_CONFIG_FILE),
        };
        let env = Env::prefixed("TCO_").split("__").ignore(&["config_file"]);
        let mut figment = Figment::new()
            .merge(Toml::file(file))
            .merge(env.clone().filter(|key| !VERBATIM_ENV_KEYS.iter().any(|k| key == *k)));
        for (key, value) in env.iter().filter(|(key, _)| VERBATIM_ENV_KEYS.iter().any(|k| key == *k)) {
            figment = figment.merge(Serialized::global(key.as_str(), value));
        }
        Self::from_figment(figment)
    }

    /// Extracts and validates settings from any figment (tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Self = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.validate_exposure()?;
        self.auth.validate()?;
        self.admin_api_base_url()?;
        self.payment_api_base_url()?;
        self.upstream()?;
        self.payment_credentials()?;
        self.ins.validate()?;
        self.ins_account()?;
        for (setting, bytes) in [
            ("admin_api.max_body_bytes", self.admin_api.max_body_bytes),
            ("payment_api.max_body_bytes", self.payment_api.max_body_bytes),
        ] {
            if bytes == 0 {
                return Err(ConfigError::Invalid { setting, reason: "must be greater than zero".into() });
            }
        }
        for (setting, count) in [
            ("admin_api.max_concurrent_requests", self.admin_api.max_concurrent_requests),
            ("payment_api.max_concurrent_requests", self.payment_api.max_concurrent_requests),
            ("stream_sales.max_pages", self.stream_sales.max_pages),
        ] {
            if count == 0 {
                return Err(ConfigError::Invalid { setting, reason: "must be greater than zero".into() });
            }
        }
        if self.idempotency.max_bytes == 0 {
            return Err(ConfigError::Invalid {
                setting: "idempotency.max_bytes",
                reason: "must be greater than zero".into(),
            });
        }
        for (setting, value) in [
            ("admin_api.connect_timeout", self.admin_api.connect_timeout),
            ("admin_api.request_timeout", self.admin_api.request_timeout),
            ("idempotency.retention", self.idempotency.retention),
            ("cache.ttl", self.cache.ttl),
            ("cache.catalog_ttl", self.cache.catalog_ttl),
            ("server.default_deadline", self.server.default_deadline),
            ("stream_sales.max_duration", self.stream_sales.max_duration),
            ("stream_sales.stall_timeout", self.stream_sales.stall_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Invalid { setting, reason: "must be greater than zero".into() });
            }
        }
        Ok(())
    }

    /// A listener reachable from other hosts serves only with TLS and a policy, unless
    /// `server.insecure` says otherwise: the zero-setup mode (plaintext, every caller allowed
    /// everything) is for loopback.
    fn validate_exposure(&self) -> Result<(), ConfigError> {
        let addr = self.server.listen_addr;
        if addr.ip().is_loopback() || self.server.insecure {
            return Ok(());
        }
        let missing: Vec<&str> = [
            (!self.server.tls.enabled()).then_some("server.tls.cert_file (TCO_SERVER__TLS__CERT_FILE)"),
            self.auth.policy_file.is_none().then_some("auth.policy_file (TCO_AUTH__POLICY_FILE)"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let (verb, pronoun) = if missing.len() == 1 { ("is", "it") } else { ("are", "them") };
        Err(ConfigError::Invalid {
            setting: "server.listen_addr",
            reason: format!(
                "{addr} is reachable from other hosts, but {} {verb} not set: set {pronoun}, or set \
                 server.insecure = true (TCO_SERVER__INSECURE) to serve it like this anyway",
                missing.join(" and "),
            ),
        })
    }

    /// The Admin API base URL, with the trailing slash that makes endpoint paths resolve under it.
    pub fn admin_api_base_url(&self) -> Result<Url, ConfigError> {
        parse_base_url("admin_api.base_url", &self.admin_api.base_url)
    }

    /// The Payment API base URL, with its trailing slash.
    pub fn payment_api_base_url(&self) -> Result<Url, ConfigError> {
        parse_base_url("payment_api.base_url", &self.payment_api.base_url)
    }

    /// The Payment API credentials: both or neither.
    pub fn payment_credentials(&self) -> Result<Option<PaymentCredentials>, ConfigError> {
        let seller_id = self.payment_api.seller_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        match (seller_id, &self.payment_api.private_key) {
            (Some(seller_id), Some(private_key)) => {
                if !seller_id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ConfigError::Invalid {
                        setting: "payment_api.seller_id",
                        reason: "must be digits only".into(),
                    });
                }
                Ok(Some(PaymentCredentials { seller_id: seller_id.to_owned(), private_key: private_key.clone() }))
            }
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid {
                setting: "payment_api.private_key",
                reason: "payment_api.seller_id is set but the private key is not; set both or neither".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                setting: "payment_api.seller_id",
                reason: "payment_api.private_key is set but the seller id is not; set both or neither".into(),
            }),
        }
    }

    /// Real 2Checkout or the simulator: `upstream.mode`, or when it is unset, whether
    /// credentials are configured (both: 2Checkout; none at all: the simulator).
    pub fn upstream(&self) -> Result<Upstream, ConfigError> {
        let mode = self.upstream.mode;
        if mode == Some(UpstreamMode::Simulator) && self.any_credential_configured() {
            // Refused rather than ignored: credentials next to `simulator` come from a
            // configuration meant for real 2Checkout, and serving fake data there is the
            // mistake this setting exists to prevent.
            return Err(ConfigError::Invalid {
                setting: "upstream.mode",
                reason: "is simulator, but 2Checkout credentials are configured and would be ignored; \
                         unset them, or set upstream.mode to twocheckout"
                    .into(),
            });
        }
        let username = self.admin_api.username.as_deref().filter(|u| !u.trim().is_empty());
        match (username, &self.admin_api.password, mode) {
            (Some(username), Some(password), _) => {
                Ok(Upstream::TwoCheckout { username: username.to_owned(), password: password.clone() })
            }
            (Some(_), None, _) => Err(ConfigError::Invalid {
                setting: "admin_api.password",
                reason: format!(
                    "admin_api.username is set but the password is not; set both ({ADMIN_CREDENTIAL_VARIABLES})"
                ),
            }),
            (None, Some(_), _) => Err(ConfigError::Invalid {
                setting: "admin_api.username",
                reason: format!(
                    "admin_api.password is set but the username is not; set both ({ADMIN_CREDENTIAL_VARIABLES})"
                ),
            }),
            (None, None, Some(UpstreamMode::TwoCheckout)) => Err(ConfigError::Invalid {
                setting: "upstream.mode",
                reason: format!(
                    "is twocheckout, but the Admin API credentials are missing: set {ADMIN_CREDENTIAL_VARIABLES}"
                ),
            }),
            (None, None, mode) => simulator_upstream(mode == Some(UpstreamMode::Simulator)),
        }
    }

    /// The account the INS receiver verifies messages for, or `None` when the receiver
    /// does not start: real 2Checkout without `ins.secret_word`.
    ///
    /// Not starting is safe: without the secret word no message can be verified, so a
    /// receiver could only refuse everything (or, worse, accept forgeries); 2Checkout keeps
    /// undelivered messages in its Failed log, from where they can be resent once the word
    /// is configured, and the cache's TTL still bounds how stale a sale can be. Simulator
    /// mode always starts it, signed for the simulator's own account unless configured.
    pub fn ins_account(&self) -> Result<Option<InsAccount>, ConfigError> {
        let (default_vendor, default_word) = match self.upstream()? {
            Upstream::TwoCheckout { .. } => (self.payment_credentials()?.map(|c| c.seller_id), None),
            #[cfg(feature = "simulator")]
            Upstream::Simulator { .. } => {
                (Some(tco_simulator::DEFAULT_SELLER_ID.to_owned()), Some(SecretString::from(SIMULATOR_SECRET_WORD)))
            }
        };
        let Some(secret_word) = self.ins.secret_word.clone().or(default_word) else {
            return Ok(None);
        };
        let Some(vendor_id) = self.ins.vendor_id.clone().or(default_vendor) else {
            return Err(ConfigError::Invalid {
                setting: "ins.vendor_id",
                reason: "ins.secret_word is set but no seller account number is configured to check vendor_id \
                         against: set ins.vendor_id (TCO_INS__VENDOR_ID) or payment_api.seller_id"
                    .into(),
            });
        };
        Ok(Some(InsAccount { vendor_id, secret_word }))
    }

    /// Whether any 2Checkout credential (Admin or Payment API) is set.
    fn any_credential_configured(&self) -> bool {
        let set = |value: Option<&str>| value.is_some_and(|v| !v.trim().is_empty());
        set(self.admin_api.username.as_deref())
            || self.admin_api.password.is_some()
            || set(self.payment_api.seller_id.as_deref())
            || self.payment_api.private_key.is_some()
    }
}

#[cfg(feature = "simulator")]
fn simulator_upstream(explicit: bool) -> Result<Upstream, ConfigError> {
    Ok(Upstream::Simulator { explicit })
}

#[cfg(not(feature = "simulator"))]
fn simulator_upstream(explicit: bool) -> Result<Upstream, ConfigError> {
    let asked = if explicit { "upstream.mode is simulator" } else { "no 2Checkout credentials are configured" };
    Err(ConfigError::Invalid {
        setting: "upstream.mode",
        reason: format!(
            "{asked}, but this build of tco-gateway has no simulator (built without the `simulator` feature); \
             set upstream.mode to twocheckout (TCO_UPSTREAM__MODE) and {ADMIN_CREDENTIAL_VARIABLES}"
        ),
    })
}

/// Parses an http(s) base URL and makes sure it ends with a slash.
pub fn parse_base_url(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let mut url =
        Url::parse(raw).map_err(|e| ConfigError::Invalid { setting, reason: format!("{raw:?} is not a URL: {e}") })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::Invalid { setting, reason: format!("{raw:?} must be an http or https URL") });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::Invalid {
            setting,
            reason: "must not carry credentials; use admin_api.username and admin_api.password".into(),
        });
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use figment::providers::Serialized;
    use secrecy::ExposeSecret;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        // Without a simulator to fall back to, a configuration needs credentials to be valid.
        #[cfg(not(feature = "simulator"))]
        for (key, value) in [USER, PASSWORD] {
            figment = figment.merge(Serialized::global(key, value));
        }
        for (key, value) in pairs {
            figment = figment.merge(Serialized::global(key, value));
        }
        Settings::from_figment(figment)
    }

    /// What `upstream()` decides for a configuration: `Ok("twocheckout")`,
    /// `Ok("simulator")`, `Ok("simulator (explicit)")`, or the error's text.
    fn upstream_of(pairs: &[(&str, &str)]) -> Result<&'static str, String> {
        let mut figment = Figment::new();
        for (key, value) in pairs {
            figment = figment.merge(Serialized::global(key, value));
        }
        // Extracted without validation, so the error is upstream()'s own.
        let settings: Settings = figment.extract().map_err(|e| e.to_string())?;
        match settings.upstream().map_err(|e| e.to_string())? {
            Upstream::TwoCheckout { .. } => Ok("twocheckout"),
            #[cfg(feature = "simulator")]
            Upstream::Simulator { explicit: false } => Ok("simulator"),
            #[cfg(feature = "simulator")]
            Upstream::Simulator { explicit: true } => Ok("simulator (explicit)"),
        }
    }

    const USER: (&str, &str) = ("admin_api.username", "api-user");
    const PASSWORD: (&str, &str) = ("admin_api.password", "hunter2");
    const SELLER: (&str, &str) = ("payment_api.seller_id", "901248156");
    const KEY: (&str, &str) = ("payment_api.private_key", "KEY-123");
    const TWOCHECKOUT: (&str, &str) = ("upstream.mode", "twocheckout");
    const SIMULATOR: (&str, &str) = ("upstream.mode", "simulator");

    #[cfg(feature = "simulator")]
    #[test]
    fn no_credentials_means_simulator() {
        let s = settings(&[]).unwrap();
        assert!(matches!(s.upstream().unwrap(), Upstream::Simulator { explicit: false }));
        assert_eq!(s.server.listen_addr.to_string(), "127.0.0.1:50051");
    }

    #[test]
    fn both_credentials_mean_real_2checkout_and_the_password_never_prints() {
        let s = settings(&[("admin_api.username", "api-user"), ("admin_api.password", "hunter2")]).unwrap();
        match s.upstream().unwrap() {
            Upstream::TwoCheckout { username, password } => {
                assert_eq!(username, "api-user");
                assert_eq!(password.expose_secret(), "hunter2");
            }
            #[cfg(feature = "simulator")]
            Upstream::Simulator { .. } => panic!("simulator"),
        }
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn one_credential_without_the_other_names_the_missing_setting() {
        let err = upstream_of(&[USER]).unwrap_err();
        assert!(err.contains("admin_api.password"), "{err}");
    }

    #[test]
    fn upstream_mode_unset_keeps_the_zero_setup_default() {
        assert_eq!(upstream_of(&[USER, PASSWORD]), Ok("twocheckout"));
        assert_eq!(upstream_of(&[USER, PASSWORD, SELLER, KEY]), Ok("twocheckout"));
        for half in [&[USER][..], &[PASSWORD]] {
            let err = upstream_of(half).unwrap_err();
            assert!(err.contains("TCO_ADMIN_API__USERNAME and TCO_ADMIN_API__PASSWORD"), "{err}");
        }
        #[cfg(feature = "simulator")]
        {
            assert_eq!(upstream_of(&[]), Ok("simulator"));
            // Payment credentials alone never select real 2Checkout (as before the setting).
            assert_eq!(upstream_of(&[SELLER, KEY]), Ok("simulator"));
        }
    }

    #[test]
    fn upstream_mode_twocheckout_needs_the_admin_credentials_and_names_their_variables() {
        assert_eq!(upstream_of(&[TWOCHECKOUT, USER, PASSWORD]), Ok("twocheckout"));
        for missing in [&[TWOCHECKOUT][..], &[TWOCHECKOUT, SELLER, KEY], &[TWOCHECKOUT, USER], &[TWOCHECKOUT, PASSWORD]]
        {
            let err = upstream_of(missing).unwrap_err();
            assert!(err.contains("TCO_ADMIN_API__USERNAME and TCO_ADMIN_API__PASSWORD"), "{missing:?}: {err}");
        }
        let err = upstream_of(&[TWOCHECKOUT]).unwrap_err();
        assert!(err.contains("upstream.mode") && err.contains("missing"), "{err}");
    }

    #[test]
    fn upstream_mode_simulator_refuses_credentials_it_would_ignore() {
        for credentials in [&[USER, PASSWORD][..], &[USER], &[PASSWORD], &[SELLER, KEY], &[SELLER]] {
            let pairs: Vec<_> = [SIMULATOR].iter().chain(credentials).copied().collect();
            let err = upstream_of(&pairs).unwrap_err();
            assert!(err.contains("upstream.mode") && err.contains("would be ignored"), "{credentials:?}: {err}");
        }
        #[cfg(feature = "simulator")]
        assert_eq!(upstream_of(&[SIMULATOR]), Ok("simulator (explicit)"));
    }

    #[test]
    fn upstream_mode_accepts_only_its_two_values() {
        let err = settings(&[("upstream.mode", "2checkout")]).unwrap_err();
        assert!(err.to_string().contains("upstream.mode"), "{err}");
    }

    #[cfg(not(feature = "simulator"))]
    #[test]
    fn without_the_simulator_feature_no_configuration_selects_a_simulator() {
        for pairs in [&[][..], &[SIMULATOR], &[SELLER, KEY]] {
            let err = upstream_of(pairs).unwrap_err();
            assert!(err.contains("this build of tco-gateway has no simulator"), "{pairs:?}: {err}");
            assert!(err.contains("TCO_UPSTREAM__MODE"), "{err}");
        }
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = settings(&[("admin_api.base_url", "ftp://x")]).unwrap_err();
        assert!(err.to_string().contains("admin_api.base_url"), "{err}");
        let err = settings(&[("admin_api.wire_format", "yaml")]).unwrap_err();
        assert!(err.to_string().contains("wire_format"), "{err}");
        let err = settings(&[("admin_api.request_timeout", "0s")]).unwrap_err();
        assert!(err.to_string().contains("admin_api.request_timeout"), "{err}");
    }

    #[test]
    fn payment_credentials_come_in_pairs_and_the_key_never_prints() {
        let s = settings(&[("payment_api.seller_id", "901248156"), ("payment_api.private_key", "KEY-123")]).unwrap();
        let credentials = s.payment_credentials().unwrap().unwrap();
        assert_eq!(credentials.seller_id, "901248156");
        assert!(!format!("{s:?}").contains("KEY-123"));
        let err = settings(&[("payment_api.seller_id", "901248156")]).unwrap_err();
        assert!(err.to_string().contains("payment_api.private_key"), "{err}");
        let err = settings(&[("payment_api.seller_id", "90x"), ("payment_api.private_key", "k")]).unwrap_err();
        assert!(err.to_string().contains("payment_api.seller_id"), "{err}");
    }

    #[test]
    fn base_url_gets_its_trailing_slash() {
        let s = settings(&[("admin_api.base_url", "http://127.0.0.1:9/api")]).unwrap();
        assert_eq!(s.admin_api_base_url().unwrap().as_str(), "http://127.0.0.1:9/api/");
    }

    #[test]
    fn request_limits_default_to_1_mib_and_8_kib_and_refuse_tiny_values() {
        let s = settings(&[]).unwrap();
        assert_eq!((s.server.max_message_bytes, s.server.max_metadata_bytes), (1024 * 1024, 8 * 1024));
        let with_limit = |setting: &str, bytes: u32| {
            let figment = Figment::new();
            #[cfg(not(feature = "simulator"))]
            let figment =
                [USER, PASSWORD].into_iter().fold(figment, |f, (key, value)| f.merge(Serialized::global(key, value)));
            Settings::from_figment(figment.merge(Serialized::global(setting, bytes)))
        };
        assert_eq!(with_limit("server.max_metadata_bytes", 16384).unwrap().server.max_metadata_bytes, 16384);
        for setting in ["server.max_message_bytes", "server.max_metadata_bytes"] {
            let err = with_limit(setting, 100).unwrap_err();
            assert!(err.to_string().contains(setting), "{err}");
        }
    }

    #[test]
    fn answer_byte_caps_have_sized_defaults_and_zero_is_refused() {
        let s = settings(&[USER, PASSWORD]).unwrap();
        assert_eq!(s.admin_api.max_body_bytes, 1024 * 1024);
        assert_eq!(s.payment_api.max_body_bytes, 64 * 1024);
        for key in ["admin_api.max_body_bytes", "payment_api.max_body_bytes"] {
            let figment = Figment::new()
                .merge(Serialized::global(USER.0, USER.1))
                .merge(Serialized::global(PASSWORD.0, PASSWORD.1))
                .merge(Serialized::global(key, 0u64));
            let err = Settings::from_figment(figment).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn a_non_loopback_listener_needs_tls_and_a_policy_or_insecure_and_the_error_names_them() {
        let public = ("server.listen_addr", "0.0.0.0:50051");
        let err = settings(&[public]).unwrap_err().to_string();
        for named in ["server.listen_addr", "server.tls.cert_file", "auth.policy_file", "server.insecure"] {
            assert!(err.contains(named), "{named} not in: {err}");
        }
        let tls = [public, ("server.tls.cert_file", "/tls/cert.pem"), ("server.tls.key_file", "/tls/key.pem")];
        let err = settings(&tls).unwrap_err().to_string();
        assert!(err.contains("auth.policy_file") && !err.contains("server.tls.cert_file"), "{err}");
        let mut both = tls.to_vec();
        both.push(("auth.policy_file", "/policy.toml"));
        assert!(settings(&both).is_ok());
        let insecure = Figment::new()
            .merge(Serialized::global(public.0, public.1))
            .merge(Serialized::global("server.insecure", true));
        #[cfg(not(feature = "simulator"))]
        let insecure =
            insecure.merge(Serialized::global(USER.0, USER.1)).merge(Serialized::global(PASSWORD.0, PASSWORD.1));
        assert!(Settings::from_figment(insecure).is_ok());
        assert!(settings(&[("server.listen_addr", "[::1]:50051")]).is_ok(), "loopback needs neither");
    }

    #[test]
    fn tls_files_come_in_pairs_and_a_client_ca_needs_them() {
        let err = settings(&[("server.tls.cert_file", "/tls/cert.pem")]).unwrap_err().to_string();
        assert!(err.contains("server.tls.key_file"), "{err}");
        let err = settings(&[("server.tls.key_file", "/tls/key.pem")]).unwrap_err().to_string();
        assert!(err.contains("server.tls.cert_file"), "{err}");
        let err = settings(&[("server.tls.client_ca_file", "/tls/ca.pem")]).unwrap_err().to_string();
        assert!(err.contains("server.tls.client_ca_file"), "{err}");
    }

    #[test]
    fn connection_limits_have_defaults_and_zero_is_refused() {
        let s = settings(&[]).unwrap().server;
        assert_eq!(s.max_concurrent_streams, 128);
        assert_eq!(s.idle_timeout, Duration::from_secs(300));
        assert_eq!(s.tls.handshake_timeout, Duration::from_secs(10));
        for setting in [
            "server.idle_timeout",
            "server.http2_keepalive_interval",
            "server.http2_keepalive_timeout",
            "server.max_connection_age",
            "server.tls.handshake_timeout",
        ] {
            let err = settings(&[(setting, "0s")]).unwrap_err().to_string();
            assert!(err.contains(setting), "{err}");
        }
        let s = settings(&[("server.idle_timeout", "90s")]).unwrap().server;
        assert_eq!(s.idle_timeout, Duration::from_secs(90));
    }

    #[test]
    fn a_jwks_file_needs_an_issuer_an_audience_and_a_policy() {
        let jwks = ("auth.jwks_file", "/etc/tco/jwks.json");
        let policy = ("auth.policy_file", "/etc/tco/policy.toml");
        let issuer = ("auth.issuer", "https://issuer.test");
        let audience = ("auth.audience", "tco-gateway");
        assert!(settings(&[jwks, policy, issuer, audience]).is_ok());
        assert!(settings(&[policy]).is_ok(), "a policy alone: certificates only");
        for (pairs, named) in [
            (&[jwks, policy, audience][..], "auth.issuer"),
            (&[jwks, policy, issuer], "auth.audience"),
            (&[jwks, policy, issuer, ("auth.audience", " ")], "auth.audience"),
            (&[jwks, issuer, audience], "auth.policy_file"),
        ] {
            let err = settings(pairs).unwrap_err().to_string();
            assert!(err.contains(named), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn load_limits_have_documented_defaults_and_zero_is_refused() {
        let s = settings(&[]).unwrap();
        assert_eq!((s.server.max_concurrent_calls, s.server.default_deadline), (512, Duration::from_secs(30)));
        assert_eq!((s.admin_api.max_concurrent_requests, s.payment_api.max_concurrent_requests), (64, 32));
        let streams = &s.stream_sales;
        assert_eq!(
            (streams.max_duration, streams.max_pages, streams.stall_timeout),
            (Duration::from_secs(600), 1000, Duration::from_secs(30))
        );
        for setting in [
            "server.max_concurrent_calls",
            "admin_api.max_concurrent_requests",
            "payment_api.max_concurrent_requests",
            "stream_sales.max_pages",
        ] {
            let figment = Figment::new();
            #[cfg(not(feature = "simulator"))]
            let figment =
                [USER, PASSWORD].into_iter().fold(figment, |f, (key, value)| f.merge(Serialized::global(key, value)));
            let err = Settings::from_figment(figment.merge(Serialized::global(setting, 0u32))).unwrap_err();
            assert!(err.to_string().contains(setting), "{err}");
        }
        for setting in ["server.default_deadline", "stream_sales.max_duration", "stream_sales.stall_timeout"] {
            let err = settings(&[(setting, "0s")]).unwrap_err();
            assert!(err.to_string().contains(setting), "{err}");
        }
    }

    #[test]
    fn reflection_is_served_unless_switched_off() {
        assert!(settings(&[]).unwrap().server.reflection);
        let figment = Figment::new();
        #[cfg(not(feature = "simulator"))]
        let figment =
            [USER, PASSWORD].into_iter().fold(figment, |f, (key, value)| f.merge(Serialized::global(key, value)));
        let off = Settings::from_figment(figment.merge(Serialized::global("server.reflection", false))).unwrap();
        assert!(!off.server.reflection);
    }

    #[cfg(feature = "simulator")]
    #[test]
    fn in_simulator_mode_the_ins_receiver_verifies_for_the_simulator_account_unless_configured() {
        let s = settings(&[]).unwrap();
        let account = s.ins_account().unwrap().expect("simulator mode always receives");
        assert_eq!(account.vendor_id, tco_simulator::DEFAULT_SELLER_ID);
        assert_eq!(account.secret_word.expose_secret(), SIMULATOR_SECRET_WORD);
        let s = settings(&[("ins.secret_word", "s3cr3t-word"), ("ins.vendor_id", "532001")]).unwrap();
        let account = s.ins_account().unwrap().unwrap();
        assert_eq!((account.vendor_id.as_str(), account.secret_word.expose_secret()), ("532001", "s3cr3t-word"));
        assert!(!format!("{s:?}").contains("s3cr3t-word"), "the secret word never prints");
    }

    #[test]
    fn with_real_2checkout_the_ins_receiver_needs_a_secret_word_and_a_vendor() {
        let s = settings(&[USER, PASSWORD]).unwrap();
        assert!(s.ins_account().unwrap().is_none(), "no secret word: no receiver");
        let word = ("ins.secret_word", "tango");
        let err = settings(&[USER, PASSWORD, word]).unwrap_err().to_string();
        assert!(err.contains("ins.vendor_id") && err.contains("TCO_INS__VENDOR_ID"), "{err}");
        let account = settings(&[USER, PASSWORD, SELLER, KEY, word]).unwrap().ins_account().unwrap().unwrap();
        assert_eq!(account.vendor_id, SELLER.1, "defaults to the Payment API seller id");
        let account = settings(&[USER, PASSWORD, SELLER, KEY, word, ("ins.vendor_id", "1817037")])
            .unwrap()
            .ins_account()
            .unwrap()
            .unwrap();
        assert_eq!(account.vendor_id, "1817037");
    }

    #[test]
    fn ins_settings_have_defaults_and_bad_values_name_the_setting_and_its_variable() {
        let ins = settings(&[]).unwrap().ins;
        assert_eq!(ins.listen_addr.to_string(), "127.0.0.1:50053");
        assert_eq!((ins.max_body_bytes, ins.max_fields, ins.memory_capacity), (65536, 1000, 10_000));
        assert_eq!(ins.retention, Duration::from_secs(7 * 24 * 3600));
        for (setting, value, variable) in [
            ("ins.secret_word", " ", "TCO_INS__SECRET_WORD"),
            ("ins.vendor_id", "12a", "TCO_INS__VENDOR_ID"),
            ("ins.retention", "0s", "TCO_INS__RETENTION"),
        ] {
            let err = settings(&[(setting, value)]).unwrap_err().to_string();
            assert!(err.contains(setting) && err.contains(variable), "{err}");
        }
        for setting in [
            "ins.max_body_bytes",
            "ins.max_fields",
            "ins.rate_limit_per_second",
            "ins.rate_limit_burst",
            "ins.memory_capacity",
        ] {
            let figment = Figment::new();
            #[cfg(not(feature = "simulator"))]
            let figment =
                [USER, PASSWORD].into_iter().fold(figment, |f, (key, value)| f.merge(Serialized::global(key, value)));
            let err = Settings::from_figment(figment.merge(Serialized::global(setting, 0u32))).unwrap_err();
            let variable = format!("TCO_{}", setting.replace('.', "__").to_uppercase());
            assert!(err.to_string().contains(setting) && err.to_string().contains(&variable), "{err}");
        }
    }

    #[test]
    fn durations_read_as_human_text() {
        let s = settings(&[("admin_api.request_timeout", "250ms")]).unwrap();
        assert_eq!(s.admin_api.request_timeout, Duration::from_millis(250));
    }
}
