//! The gateway's metrics: the instruments every call records into, the cache
//! figures read at collection time, and the Prometheus scrape endpoint.
//!
//! Instruments come from the global meter provider, so before
//! [`super::Telemetry::init`] (and in tests that never call it) they are
//! no-ops that cost next to nothing.

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
};

use axum::response::IntoResponse as _;
use opentelemetry::{
    KeyValue, global,
    metrics::{Counter, Histogram, UpDownCounter},
};
use prometheus::{Encoder, TextEncoder};
use tokio::{net::TcpListener, task::JoinHandle};

/// The figures a cache reports at collection time: its counters and its
/// size. Defined here so telemetry needs nothing from the cache; the cache
/// (`crate::cache::CachedSales::stats`) fills it in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStatsSnapshot {
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that went upstream (coalesced misses count once per caller).
    pub misses: u64,
    /// Entries dropped to stay within the byte budget.
    pub evictions: u64,
    /// Entries dropped because their TTL passed.
    pub expirations: u64,
    /// Entries held now.
    pub entries: u64,
    /// Approximate bytes held now.
    pub bytes: u64,
}

/// Seconds; from a cache hit (well under a millisecond) to the longest
/// upstream timeout. The SDK's default buckets are in milliseconds and would
/// put every call in the first two.
const DURATION_BUCKETS_SECONDS: [f64; 16] =
    [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// What every call records into.
pub(super) struct Instruments {
    /// `rpc.server.call.duration`: by service, method and gRPC status code.
    pub rpc_duration: Histogram<f64>,
    /// `rpc.server.active_requests`: calls being served now, by service and method.
    pub rpc_active: UpDownCounter<i64>,
    /// `http.client.request.duration`: upstream requests by endpoint and outcome.
    pub upstream_duration: Histogram<f64>,
    /// `tco.vendor.errors`: refusals by 2Checkout's own error code.
    pub vendor_errors: Counter<u64>,
    /// `tco.idempotency.refusals`: writes and authorizations the idempotency store refused.
    pub idempotency_refusals: Counter<u64>,
    /// `tco.ins.posts`: INS posts by outcome (accepted, duplicate, refused) and refusal reason.
    pub ins_posts: Counter<u64>,
}

/// The instruments, created on first use from the global meter provider.
pub(super) fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = global::meter(super::SCOPE);
        Instruments {
            rpc_duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Duration of gRPC calls served, by method and status code")
                .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
                .build(),
            rpc_active: meter
                .i64_up_down_counter("rpc.server.active_requests")
                .with_unit("{request}")
                .with_description("gRPC calls being served")
                .build(),
            upstream_duration: meter
                .f64_histogram("http.client.request.duration")
                .with_unit("s")
                .with_description("Duration of 2Checkout requests, by endpoint and outcome (error.type when failed)")
                .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
                .build(),
            vendor_errors: meter
                .u64_counter("tco.vendor.errors")
                .with_unit("{error}")
                .with_description("Errors 2Checkout reported, by its error code and endpoint")
                .build(),
            idempotency_refusals: meter
                .u64_counter("tco.idempotency.refusals")
                .with_unit("{call}")
                .with_description(
                    "Writes and authorizations refused because the idempotency store was unavailable or full",
                )
                .build(),
            ins_posts: meter
                .u64_counter("tco.ins.posts")
                .with_unit("{post}")
                .with_description(
                    "INS posts received, by outcome (accepted, duplicate, refused) and, when refused, reason",
                )
                .build(),
        }
    })
}

/// Counts an INS post (`tco.ins.posts`): `outcome` is `accepted`, `duplicate`
/// or `refused`, with the refusal's `reason` (a fixed label such as `bad_hash`).
/// A burst of `bad_hash` is someone forging notifications; of `journal_unavailable`,
/// 2Checkout being told to resend.
pub fn record_ins_post(outcome: &'static str, reason: Option<&'static str>) {
    let mut attributes = vec![KeyValue::new("outcome", outcome)];
    attributes.extend(reason.map(|reason| KeyValue::new("reason", reason)));
    instruments().ins_posts.add(1, &attributes);
}

/// Counts a write or authorization the idempotency store refused
/// (`tco.idempotency.refusals`, by `error.type` and `store`): what an operator
/// alerts on when the store is down or full, since health stays SERVING for
/// the reads.
pub fn record_idempotency_refusal(reason: &str, store: &str) {
    instruments()
        .idempotency_refusals
        .add(1, &[KeyValue::new("error.type", reason.to_owned()), KeyValue::new("store", store.to_owned())]);
}

/// Reports a cache's figures at every collection: `tco.cache.hits`,
/// `tco.cache.misses`, `tco.cache.evictions` (by `reason`: size or expired),
/// `tco.cache.entries` and `tco.cache.size` (bytes). `stats` answers `None`
/// once the cache is gone, and nothing is reported for it from then on.
pub fn observe_cache(stats: impl Fn() -> Option<CacheStatsSnapshot> + Send + Sync + 'static) {
    let meter = global::meter(super::SCOPE);
    let stats = Arc::new(stats);
    let read = |pick: fn(&CacheStatsSnapshot) -> u64| {
        let stats = Arc::clone(&stats);
        move || stats().map(|s| pick(&s))
    };
    let hits = read(|s| s.hits);
    meter
        .u64_observable_counter("tco.cache.hits")
        .with_unit("{lookup}")
        .with_description("detail_sale lookups served from the cache")
        .with_callback(move |o| hits().into_iter().for_each(|v| o.observe(v, &[])))
        .build();
    let misses = read(|s| s.misses);
    meter
        .u64_observable_counter("tco.cache.misses")
        .with_unit("{lookup}")
        .with_description("detail_sale lookups that went to 2Checkout")
        .with_callback(move |o| misses().into_iter().for_each(|v| o.observe(v, &[])))
        .build();
    let evicted = Arc::clone(&stats);
    meter
        .u64_observable_counter("tco.cache.evictions")
        .with_unit("{entry}")
        .with_description("Entries dropped: to stay within the byte budget (size) or at their TTL (expired)")
        .with_callback(move |o| {
            if let Some(s) = evicted() {
                o.observe(s.evictions, &[KeyValue::new("reason", "size")]);
                o.observe(s.expirations, &[KeyValue::new("reason", "expired")]);
            }
        })
        .build();
    let entries = read(|s| s.entries);
    meter
        .u64_observable_gauge("tco.cache.entries")
        .with_unit("{entry}")
        .with_description("Sales held in the cache")
        .with_callback(move |o| entries().into_iter().for_each(|v| o.observe(v, &[])))
        .build();
    let bytes = read(|s| s.bytes);
    meter
        .u64_observable_gauge("tco.cache.size")
        .with_unit("By")
        .with_description("Approximate bytes held in the cache")
        .with_callback(move |o| bytes().into_iter().for_each(|v| o.observe(v, &[])))
        .build();
}

/// The Prometheus scrape endpoint: `GET /metrics` in the text exposition
/// format, on its own port so it can be exposed to the scraper only.
pub(super) struct PrometheusEndpoint {
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PrometheusEndpoint {
    pub async fn serve(addr: SocketAddr, registry: prometheus::Registry) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let scrape = move || {
            let registry = registry.clone();
            async move {
                let encoder = TextEncoder::new();
                let mut body = Vec::new();
                match encoder.encode(&registry.gather(), &mut body) {
                    Ok(()) => ([(http::header::CONTENT_TYPE, encoder.format_type().to_owned())], body).into_response(),
                    Err(e) => (http::StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}\n"))
                        .into_response(),
                }
            }
        };
        let router = axum::Router::new().route("/metrics", axum::routing::get(scrape));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the Prometheus endpoint stopped");
            }
        });
        Ok(Self { local_addr, task })
    }

    pub fn stop(self) {
        self.task.abort();
    }
}
