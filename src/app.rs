//! Assembles the gateway: picks the upstream (real 2Checkout or, in builds
//! with the `simulator` feature, the built-in simulator), builds the Admin
//! and Payment API clients and their decorators, and serves SalesService,
//! AuthorizationService, NotificationService, CatalogService and
//! AccountService beside health and reflection on one listener, and the INS
//! receiver (`notifications::receiver`) on a listener of its own.
//!
//! [`Application::build`] binds both listeners before returning, so tests can
//! ask for port 0 and read the real addresses from [`Application::local_addr`]
//! and [`Application::ins_addr`].

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch};
use tonic::transport::{Server, server::TcpIncoming};
use tonic_health::ServingStatus;

use crate::{
    auth::AuthLayer,
    cache::{CacheSettings, CachedCatalog, CachedSales, CatalogCacheSettings, SharedTags},
    config::{ConfigError, ServerSettings, Settings, Upstream},
    domain::{Authorization, CatalogReceipt, WriteReceipt},
    grpc::{
        self, AccountApi, AccountServiceServer, AuthorizationApi, CatalogApi, CatalogServiceServer,
        NotificationServiceServer, NotificationsApi, SalesApi, SalesServiceServer, StreamLimits,
        deadline::DefaultDeadlineLayer,
        limits::{RequestLimitsLayer, http2_max_header_list_bytes},
        overload::OverloadLayer,
        proto::{self, authorization_service_server::AuthorizationServiceServer},
    },
    idempotency::{
        Baseline, CatalogBaseline, IdempotencyBackend, IdempotentAuthorizations, IdempotentCatalogWrites,
        IdempotentWrites, MemoryIdempotencyStore, MemoryStoreSettings, RedisIdempotencyStore,
    },
    notifications::{
        journal::{JournalBackend, MemoryJournal, RedisJournal, follower_client},
        receiver::{self, InsReceiver, ReceiverSettings},
    },
    reload::{LoadError, Reloading},
    shared_state::{self, SharedStateError},
    telemetry::{self, RpcTelemetryLayer},
    transport::{
        idle::ConnectionActivityLayer,
        incoming::{self, ListenerSettings},
        tls::TlsFiles,
    },
    twocheckout::{AdminApiClient, AdminApiConfig, PaymentApiClient, PaymentApiConfig, PaymentBackend},
};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr} (server.listen_addr / TCO_SERVER__LISTEN_ADDR): {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot listen on {addr} (server.health_listen_addr / TCO_SERVER__HEALTH_LISTEN_ADDR): {source}")]
    HealthBind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot listen on {addr} (ins.listen_addr / TCO_INS__LISTEN_ADDR): {source}")]
    InsBind { addr: SocketAddr, source: std::io::Error },
    #[cfg(feature = "simulator")]
    #[error("cannot listen on {addr} (simulator.listen_addr / TCO_SIMULATOR__LISTEN_ADDR): {source}")]
    SimulatorBind { addr: SocketAddr, source: std::io::Error },
    #[cfg(feature = "simulator")]
    #[error("cannot start the built-in 2Checkout simulator: {0}")]
    Simulator(tco_simulator::StartError),
    #[error("the gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("cannot build the 2Checkout HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("cannot build server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(transparent)]
    SharedState(#[from] SharedStateError),
    #[error("cannot load {0}")]
    Auth(#[from] crate::reload::LoadError),
    #[error(transparent)]
    Journal(#[from] crate::domain::JournalError),
}

/// The sales ports as served, decorators included. Composed in one place
/// ([`Application::build`]), outermost first; the order matters:
/// - `CachedSales` is outermost, so it sees every write, whatever happens
///   below, and invalidates before the caller gets its answer; replayed
///   idempotent writes invalidate too (harmless, and never stale).
/// - `IdempotentWrites` wraps the 2Checkout client directly, so the baseline
///   read it takes before a write (and after an unknown outcome) always
///   reaches the real upstream, never the cache.
pub type Sales = CachedSales<IdempotentWrites<AdminApiClient, IdempotencyBackend<WriteReceipt, Baseline>>>;

/// The payment port as served: at-most-once authorizations over the Payment
/// API (or over nothing, when it is not configured).
pub type Payments = IdempotentAuthorizations<PaymentBackend, IdempotencyBackend<Authorization, ()>>;

/// The catalog and account ports as served (CatalogService, AccountService),
/// composed like [`Sales`] and for the same reasons: `CachedCatalog` outermost
/// (it sees every write and evicts before the caller gets its answer),
/// `IdempotentCatalogWrites` right on the 2Checkout client (its baseline reads
/// before a create always reach 2Checkout, never the cache).
pub type Catalog =
    CachedCatalog<IdempotentCatalogWrites<AdminApiClient, IdempotencyBackend<CatalogReceipt, CatalogBaseline>>>;

/// The notification journal as served: in memory, or (with `redis.url`) shared by every replica.
pub type Journal = JournalBackend;

/// How often the cache's figures (entries, bytes, expiries) are brought up to date for metrics.
const CACHE_HOUSEKEEPING_PERIOD: Duration = Duration::from_secs(1);

/// A built gateway, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    /// The plaintext health-only listener (`server.health_listen_addr`), when configured.
    health_listener: Option<(TcpListener, SocketAddr)>,
    /// How connections are accepted (TLS or not, handshake and idle bounds).
    connections: ListenerSettings,
    /// The HTTP/2 limits of every connection.
    http2: Http2Limits,
    sales: Arc<Sales>,
    catalog: Arc<Catalog>,
    payments: Arc<Payments>,
    /// Accepted INS notifications, in order: what the receiver appends to and the
    /// notification service reads.
    journal: Arc<Journal>,
    /// The INS receiver's bound listener and routes, unless it does not start
    /// (real 2Checkout without `ins.secret_word`).
    ins: Option<InsListener>,
    #[cfg(feature = "simulator")]
    simulator: Option<tco_simulator::RunningSimulator>,
    drain_period: Duration,
    shutdown_timeout: Duration,
    limits: RequestLimitsLayer,
    auth: AuthLayer,
    reflection: bool,
    overload: OverloadLayer,
    default_deadline: Duration,
    stream_limits: StreamLimits,
}

impl Application {
    /// Builds everything and binds the gRPC listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        #[cfg(feature = "simulator")]
        let mut simulator = None;
        let (base_url, username, password, payment) = match settings.upstream()? {
            Upstream::TwoCheckout { username, password } => {
                let payment = settings.payment_credentials()?.map(|c| (settings.payment_api_base_url(), c));
                (settings.admin_api_base_url()?, username, password, payment)
            }
            #[cfg(feature = "simulator")]
            Upstream::Simulator { explicit } => {
                let embedded = embedded::start(&settings, explicit).await?;
                let upstream = (embedded.base_url, embedded.username, embedded.password, Some(embedded.payment));
                simulator = Some(embedded.simulator);
                upstream
            }
        };
        let payment = match payment {
            Some((url, credentials)) => PaymentBackend::Api(Box::new(PaymentApiClient::new(PaymentApiConfig {
                base_url: url?,
                seller_id: credentials.seller_id,
                private_key: credentials.private_key,
                connect_timeout: settings.admin_api.connect_timeout,
                request_timeout: settings.admin_api.request_timeout,
                max_body_bytes: byte_cap(settings.payment_api.max_body_bytes),
                max_concurrent_requests: settings.payment_api.max_concurrent_requests,
            })?)),
            None => {
                tracing::warn!(
                    "no Payment API credentials configured (payment_api.seller_id, payment_api.private_key): Authorize answers UNIMPLEMENTED"
                );
                PaymentBackend::NotConfigured
            }
        };
        let client = AdminApiClient::new(AdminApiConfig {
            base_url,
            username,
            password,
            wire_format: settings.admin_api.wire_format,
            connect_timeout: settings.admin_api.connect_timeout,
            request_timeout: settings.admin_api.request_timeout,
            max_body_bytes: byte_cap(settings.admin_api.max_body_bytes),
            max_concurrent_requests: settings.admin_api.max_concurrent_requests,
        })?;

        // One connection for the process; every user of the shared state gets a clone.
        let shared = shared_state::connect(&settings.redis).await?;
        let (write_store, payment_store, catalog_store) = match &shared {
            // Shared by every replica; its leases outlive one upstream request (the same
            // timeout bounds the Admin and the Payment API).
            Some(connection) => {
                let (retention, timeout) = (settings.idempotency.retention, settings.admin_api.request_timeout);
                let writes = RedisIdempotencyStore::new(connection.clone(), "write", retention, timeout);
                let authorizations = RedisIdempotencyStore::new(connection.clone(), "authorize", retention, timeout);
                let catalog = RedisIdempotencyStore::new(connection.clone(), "catalog", retention, timeout);
                (
                    IdempotencyBackend::Redis(writes),
                    IdempotencyBackend::Redis(authorizations),
                    IdempotencyBackend::Redis(catalog),
                )
            }
            None => {
                let store_settings = MemoryStoreSettings {
                    retention: settings.idempotency.retention,
                    max_bytes: settings.idempotency.max_bytes,
                };
                (
                    IdempotencyBackend::Memory(MemoryIdempotencyStore::new(store_settings)),
                    IdempotencyBackend::Memory(MemoryIdempotencyStore::new(store_settings)),
                    IdempotencyBackend::Memory(MemoryIdempotencyStore::new(store_settings)),
                )
            }
        };
        // Composed like the sales ports, for the same reasons (see `Sales`): a clone of the
        // client (clones share its pool and request slots) under the idempotency decorator,
        // under the cache.
        let catalog_writes = IdempotentCatalogWrites::new(Arc::new(client.clone()), Arc::new(catalog_store));
        let mut catalog: Catalog = CachedCatalog::new(
            Arc::new(catalog_writes),
            CatalogCacheSettings { ttl: settings.cache.catalog_ttl, max_bytes: settings.cache.catalog_max_bytes },
        );
        let writes = IdempotentWrites::new(Arc::new(client), Arc::new(write_store));
        let payments = IdempotentAuthorizations::new(Arc::new(payment), Arc::new(payment_store));
        let mut sales: Sales = CachedSales::new(
            Arc::new(writes),
            CacheSettings { ttl: settings.cache.ttl, max_bytes: settings.cache.max_bytes },
        )
        // GetSale's encoded answer, made as a sale is cached and counted in its budget.
        .with_memo(grpc::encode_sale);
        if let Some(connection) = &shared {
            // A fetch lasts at most the upstream request timeout.
            let stamps = SharedTags::new(connection.clone(), settings.cache.ttl, settings.admin_api.request_timeout);
            sales = sales.with_shared_tags(stamps);
        }

        if let Some(connection) = &shared {
            let stamps =
                SharedTags::new(connection.clone(), settings.cache.catalog_ttl, settings.admin_api.request_timeout);
            catalog = catalog.with_shared_tags(stamps);
        }
        let catalog = Arc::new(catalog);

        let sales = Arc::new(sales);
        let cache = Arc::downgrade(&sales);
        tokio::spawn(Sales::keep_settled(cache.clone(), CACHE_HOUSEKEEPING_PERIOD));
        telemetry::observe_cache(move || cache.upgrade().map(|sales| sales.stats()));

        // Before binding: a bad policy or JWKS stops start-up, naming the file and line.
        let auth = AuthLayer::from_settings(&settings.auth, settings.server.reload_interval).await?;

        let connections = listener_settings(&settings).await?;
        let addr = settings.server.listen_addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(|source| StartupError::Bind { addr, source })?;
        warn_about_exposure(&settings, local_addr);
        // After the gRPC listener: a port clash there is the one to report first.
        let journal = Arc::new(build_journal(&settings, shared.as_ref())?);
        let ins = bind_receiver(&settings, &journal, &sales).await?;
        // The embedded simulator posts its INS messages to this gateway's own receiver: bound
        // only now, so the simulator (started first, the upstream) learns the address here.
        #[cfg(feature = "simulator")]
        if let (Some(simulator), Some(ins)) = (&simulator, &ins) {
            simulator.set_notify_url(Some(format!("http://{}{}", ins.addr, receiver::INS_PATH)));
        }
        let health_listener = match settings.server.health_listen_addr {
            Some(addr) => {
                let listener =
                    TcpListener::bind(addr).await.map_err(|source| StartupError::HealthBind { addr, source })?;
                let local_addr = listener.local_addr().map_err(|source| StartupError::HealthBind { addr, source })?;
                Some((listener, local_addr))
            }
            None => None,
        };
        Ok(Self {
            listener,
            local_addr,
            health_listener,
            connections,
            http2: Http2Limits::from(&settings.server),
            sales,
            catalog,
            payments: Arc::new(payments),
            journal,
            ins,
            #[cfg(feature = "simulator")]
            simulator,
            drain_period: settings.server.drain_period,
            shutdown_timeout: settings.server.shutdown_timeout,
            limits: RequestLimitsLayer {
                max_metadata_bytes: settings.server.max_metadata_bytes,
                max_message_bytes: settings.server.max_message_bytes,
            },
            auth,
            reflection: settings.server.reflection,
            overload: OverloadLayer::new(settings.server.max_concurrent_calls),
            default_deadline: settings.server.default_deadline,
            stream_limits: StreamLimits::from(&settings.stream_sales),
        })
    }

    /// The address the gRPC server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the plaintext health-only listener, when `server.health_listen_addr` is set.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// The address the INS receiver listens on, when it runs (see [`Settings::ins_account`]).
    pub fn ins_addr(&self) -> Option<SocketAddr> {
        self.ins.as_ref().map(|ins| ins.addr)
    }

    /// The notification journal: what the receiver stores and the notification service reads.
    pub fn journal(&self) -> Arc<Journal> {
        Arc::clone(&self.journal)
    }

    /// The served sales ports: their cache's figures are read through it.
    pub fn sales(&self) -> Arc<Sales> {
        Arc::clone(&self.sales)
    }

    /// The served catalog and account ports.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog)
    }

    /// The built-in simulator, when the gateway runs against it.
    #[cfg(feature = "simulator")]
    pub fn simulator(&self) -> Option<&tco_simulator::RunningSimulator> {
        self.simulator.as_ref()
    }

    /// Serves until `shutdown` completes, then shuts down the way Kubernetes
    /// expects during a rollout:
    /// 1. health turns NOT_SERVING (the server entry and both services), so
    ///    readiness probes fail and the endpoints controller removes the pod;
    /// 2. calls are still served for `server.drain_period`, because endpoint
    ///    removal reaches the load balancers a little after the signal;
    /// 3. the listener closes and in-flight calls get up to
    ///    `server.shutdown_timeout` to finish; then it returns anyway.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
        let (health_reporter, health) = tonic_health::server::health_reporter();
        // Serving only from here: configuration is loaded and the upstream clients are
        // built (connections queued on the bound listener wait until now).
        health_reporter.set_serving::<SalesServiceServer<SalesApi<Sales>>>().await;
        health_reporter.set_serving::<AuthorizationServiceServer<AuthorizationApi<Payments>>>().await;
        health_reporter.set_serving::<NotificationServiceServer<NotificationsApi<Journal>>>().await;
        health_reporter.set_serving::<CatalogServiceServer<CatalogApi<Catalog>>>().await;
        health_reporter.set_serving::<AccountServiceServer<AccountApi<Catalog>>>().await;

        // grpcurl 1.8.x only speaks v1alpha reflection; newer tools speak v1. Both
        // describe the contract, health and each other, so `list` is the same either way,
        // and the google.rpc error details, so grpcurl can print a status's details decoded.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        };
        // `server.reflection = false`: not served at all, so callers get UNIMPLEMENTED.
        let (reflection_v1, reflection_v1alpha) = if self.reflection {
            (Some(reflection().build_v1()?), Some(reflection().build_v1alpha()?))
        } else {
            (None, None)
        };

        let (drained_tx, drained_rx) = watch::channel(false);
        let (drain_period, shutdown_timeout) = (self.drain_period, self.shutdown_timeout);
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(drain_period = ?drain_period, "shutting down: health is NOT_SERVING, still serving while endpoints drain");
            health_reporter.set_not_serving::<SalesServiceServer<SalesApi<Sales>>>().await;
            health_reporter.set_not_serving::<AuthorizationServiceServer<AuthorizationApi<Payments>>>().await;
            health_reporter.set_not_serving::<NotificationServiceServer<NotificationsApi<Journal>>>().await;
            health_reporter.set_not_serving::<CatalogServiceServer<CatalogApi<Catalog>>>().await;
            health_reporter.set_not_serving::<AccountServiceServer<AccountApi<Catalog>>>().await;
            health_reporter.set_service_status("", ServingStatus::NotServing).await;
            tokio::time::sleep(drain_period).await;
            tracing::info!(shutdown_timeout = ?shutdown_timeout, "closing the listener; waiting for in-flight calls");
            let _ = drained_tx.send(true);
        });
        let drained = |mut rx: watch::Receiver<bool>| async move {
            // A dropped sender means the signal task is gone: nothing will stop the server then.
            if rx.wait_for(|drained| *drained).await.is_err() {
                std::future::pending::<()>().await;
            }
        };

        if let Some((listener, addr)) = self.health_listener {
            tracing::info!(%addr, "health listener (plaintext, grpc.health.v1 only) listening");
            // The same reporter, so the same status (NOT_SERVING while draining), on plaintext:
            // kubelet's gRPC probes speak neither TLS nor client certificates.
            let plaintext = ListenerSettings { tls: None, ..self.connections.clone() };
            let health_server = Server::builder()
                .layer(ConnectionActivityLayer)
                .add_service(health.clone())
                .serve_with_incoming_shutdown(incoming::accept(listener, plaintext), drained(drained_rx.clone()));
            tokio::spawn(async move {
                if let Err(error) = health_server.await {
                    tracing::error!(%error, "the health listener failed");
                }
            });
        }

        let tls = if self.connections.tls.is_some() { "TLS" } else { "plaintext" };
        tracing::info!(addr = %self.local_addr, transport = tls, "gRPC server listening");
        // The telemetry layer wraps the whole router, so it sees every call as the
        // caller does (tonic's own refusals included) and its span is the parent of
        // everything a handler does.
        //
        // Caller input limits (README, "Caller input limits"; `grpc/limits.rs`):
        // - every service decodes at most `server.max_message_bytes` per message; tonic
        //   checks the length prefix before buffering, and the limits layer answers
        //   RESOURCE_EXHAUSTED;
        // - the limits layer refuses metadata over `server.max_metadata_bytes` with
        //   RESOURCE_EXHAUSTED on that call; it sits inside telemetry, so the span and the
        //   metrics record the status the caller gets;
        // - the HTTP/2 header-list limit is set deliberately far above that budget (1 MiB,
        //   or twice the budget): below it the layer answers with a gRPC status; hyper's
        //   default (16 KiB) would have h2 answer a bare HTTP 431, and from about 80 KiB tear
        //   down the caller's whole connection (GOAWAY, h2's CONTINUATION-flood guard).
        //
        // Load (README, "Load limits"; `grpc/overload.rs`, `grpc/deadline.rs`):
        // - the overload layer admits `server.max_concurrent_calls` calls at once and sheds
        //   the next at once with UNAVAILABLE (OVERLOADED) rather than queue it; it sits
        //   inside telemetry, so shed calls are counted and traced with their status, and
        //   outside everything else, so a shed call costs no more work (not even a token's
        //   signature check); health is exempt;
        // - every request is marked with `server.default_deadline`, which `call_context`
        //   uses when the caller sent no grpc-timeout.
        //
        // The auth layer (`auth/layer.rs`: identity, policy, per-caller rate limit) sits inside
        // telemetry, so spans and metrics record its UNAUTHENTICATED, PERMISSION_DENIED and
        // RESOURCE_EXHAUSTED like any other status; inside the limits layer, so a token is only
        // parsed once the metadata is within budget; and outside every service, so no handler
        // runs for a refused call, and the handlers find the `Caller` in their request.
        let limits = self.limits;
        let max_message = usize::try_from(limits.max_message_bytes).unwrap_or(usize::MAX);
        //
        // Connection limits (README, "Connections"; `transport`): at most
        // `server.max_concurrent_streams` calls open per connection, server pings to find dead
        // peers, GOAWAY after `server.max_connection_age` so clients spread over new pods, and
        // the idle timeout, which the activity layer (outermost, so it counts every call,
        // refused ones included) feeds with each connection's open calls.
        let http2 = self.http2;
        let server = Server::builder()
            .http2_max_header_list_size(http2_max_header_list_bytes(limits.max_metadata_bytes))
            .max_concurrent_streams(http2.max_concurrent_streams)
            .http2_keepalive_interval(Some(http2.keepalive_interval))
            .http2_keepalive_timeout(Some(http2.keepalive_timeout))
            .max_connection_age(http2.max_connection_age)
            .max_connection_age_grace(http2.max_connection_age_grace)
            .layer(ConnectionActivityLayer)
            .layer(RpcTelemetryLayer)
            .layer(self.overload)
            .layer(DefaultDeadlineLayer(self.default_deadline))
            .layer(limits)
            .layer(self.auth)
            .add_service(health.max_decoding_message_size(max_message))
            .add_optional_service(reflection_v1.map(|service| service.max_decoding_message_size(max_message)))
            .add_optional_service(reflection_v1alpha.map(|service| service.max_decoding_message_size(max_message)))
            .add_service(
                SalesServiceServer::new(SalesApi::new(self.sales).with_stream_limits(self.stream_limits))
                    .max_decoding_message_size(max_message),
            )
            .add_service(
                AuthorizationServiceServer::new(AuthorizationApi::new(self.payments))
                    .max_decoding_message_size(max_message),
            )
            .add_service(
                CatalogServiceServer::new(CatalogApi::new(Arc::clone(&self.catalog)))
                    .max_decoding_message_size(max_message),
            )
            .add_service(
                AccountServiceServer::new(AccountApi::new(Arc::clone(&self.catalog)))
                    .max_decoding_message_size(max_message),
            )
            // Watches end when the listener closes (after the drain period): a watch never
            // ends on its own, and shutdown must not wait `server.shutdown_timeout` for it.
            .add_service(
                NotificationServiceServer::new(NotificationsApi::new(Arc::clone(&self.journal), drained_rx.clone()))
                    .max_decoding_message_size(max_message),
            )
            .serve_with_incoming_shutdown(
                incoming::accept(self.listener, self.connections),
                drained(drained_rx.clone()),
            );
        // The INS receiver stops taking posts when the gRPC listener closes, and the posts in
        // progress (their journal appends) get the same `server.shutdown_timeout` as calls.
        let ins = self.ins.map(|ins| {
            tracing::info!(addr = %ins.addr, path = receiver::INS_PATH, "INS receiver listening");
            receiver::serve(ins.listener, ins.router, drained(drained_rx.clone()))
        });
        let receiving = async move {
            if let Some(ins) = ins
                && let Err(error) = ins.await
            {
                tracing::error!(%error, "the INS receiver failed");
            }
        };
        let serving = async move { tokio::join!(server, receiving).0 };
        let deadline = async {
            drained(drained_rx).await;
            tokio::time::sleep(shutdown_timeout).await;
        };
        let result = tokio::select! {
            result = serving => result,
            () = deadline => {
                tracing::warn!("in-flight calls still running after server.shutdown_timeout: stopping anyway");
                Ok(())
            }
        };
        #[cfg(feature = "simulator")]
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
        tracing::info!("stopped");
        Ok(result?)
    }
}

/// The INS receiver, bound.
struct InsListener {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
}

/// The journal accepted notifications go to, chosen like the idempotency store: with
/// `redis.url`, the Redis stream every replica shares (appended on the shared connection,
/// followed on one of its own), trimmed by `ins.retention`, surviving restarts; without it,
/// this process's own, bounded by `ins.memory_capacity` and `ins.retention`.
fn build_journal(
    settings: &Settings,
    shared: Option<&shared_state::SharedConnection>,
) -> Result<JournalBackend, StartupError> {
    let retention = settings.ins.retention;
    Ok(match (shared, &settings.redis.url) {
        (Some(connection), Some(url)) => {
            JournalBackend::Redis(RedisJournal::new(connection.clone(), follower_client(url)?, retention))
        }
        _ => {
            let capacity = usize::try_from(settings.ins.memory_capacity).unwrap_or(usize::MAX);
            JournalBackend::Memory(MemoryJournal::new(capacity, retention))
        }
    })
}

/// Binds the INS receiver, or says once why it does not start.
async fn bind_receiver(
    settings: &Settings,
    journal: &Arc<Journal>,
    sales: &Arc<Sales>,
) -> Result<Option<InsListener>, StartupError> {
    let Some(account) = settings.ins_account()? else {
        tracing::warn!(
            "no INS secret word configured (ins.secret_word / TCO_INS__SECRET_WORD): the INS receiver is not \
             started, so no notification can be verified; 2Checkout keeps failed deliveries for resending"
        );
        return Ok(None);
    };
    let receiver =
        InsReceiver::new(Arc::clone(journal), Arc::clone(sales), ReceiverSettings::new(account, &settings.ins));
    let addr = settings.ins.listen_addr;
    let listener = TcpListener::bind(addr).await.map_err(|source| StartupError::InsBind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| StartupError::InsBind { addr, source })?;
    Ok(Some(InsListener { listener, addr, router: Arc::new(receiver).router() }))
}

/// The HTTP/2 limits of every connection (`server.*`).
#[derive(Clone, Copy, Debug)]
struct Http2Limits {
    max_concurrent_streams: u32,
    keepalive_interval: Duration,
    keepalive_timeout: Duration,
    max_connection_age: Duration,
    max_connection_age_grace: Duration,
}

impl From<&ServerSettings> for Http2Limits {
    fn from(server: &ServerSettings) -> Self {
        Self {
            max_concurrent_streams: server.max_concurrent_streams,
            keepalive_interval: server.http2_keepalive_interval,
            keepalive_timeout: server.http2_keepalive_timeout,
            max_connection_age: server.max_connection_age,
            max_connection_age_grace: server.max_connection_age_grace,
        }
    }
}

/// How the listener accepts connections: with TLS when `server.tls.cert_file` is set (a bad
/// certificate, key or client CA stops start-up, naming the setting and the file).
async fn listener_settings(settings: &Settings) -> Result<ListenerSettings, StartupError> {
    let server = &settings.server;
    let tls = match (&server.tls.cert_file, &server.tls.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let files = TlsFiles {
                cert_file: cert_file.clone(),
                key_file: key_file.clone(),
                client_ca_file: server.tls.client_ca_file.clone(),
            };
            Some(reloading_tls(files, server.reload_interval).await?)
        }
        _ => None,
    };
    Ok(ListenerSettings {
        tls,
        handshake_timeout: server.tls.handshake_timeout,
        max_concurrent_handshakes: usize::try_from(server.tls.max_concurrent_handshakes).unwrap_or(usize::MAX),
        idle_timeout: server.idle_timeout,
    })
}

/// Says loudly what the listener serves without: TLS, a policy, or both (the zero-setup mode
/// on loopback, or `server.insecure` elsewhere).
fn warn_about_exposure(settings: &Settings, addr: SocketAddr) {
    let missing: Vec<&str> = [
        (!settings.server.tls.enabled()).then_some("TLS (server.tls.cert_file)"),
        settings.auth.policy_file.is_none().then_some("a policy (auth.policy_file)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return;
    }
    let missing = missing.join(" and ");
    if addr.ip().is_loopback() {
        tracing::warn!(%addr, "serving on loopback without {missing}: every local process may call every method");
    } else {
        tracing::warn!(
            %addr,
            "server.insecure is set: serving an address reachable from other hosts without {missing}"
        );
    }
}

/// The TLS configuration, loaded now (a bad file stops start-up) and re-read every
/// `server.reload_interval`: each new connection takes the one current at its handshake.
async fn reloading_tls(files: TlsFiles, interval: Duration) -> Result<Reloading<rustls::ServerConfig>, LoadError> {
    // A file that cannot be read at all is named with its setting (the loader names the
    // setting of a file that reads but does not load).
    for (setting, path) in files.settings_and_paths() {
        if let Err(e) = std::fs::File::open(path) {
            return Err(LoadError { what: setting, reason: format!("cannot read {}: {e}", path.display()) });
        }
    }
    let paths = files.paths();
    Reloading::start("the TLS files (server.tls.*)", paths, interval, move |contents| files.server_config(contents))
        .await
}

/// Accepted connections with TCP_NODELAY: without it a small unary answer can
/// wait ~40 ms for the client's delayed ACK (Nagle), and tonic only sets it on
/// listeners it binds itself.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}

/// The built-in simulator as the upstream: only in builds with the `simulator` feature.
#[cfg(feature = "simulator")]
mod embedded {
    use reqwest::Url;
    use secrecy::SecretString;
    use tco_simulator::{ClockStart, RunningSimulator, SimulatorConfig, StartError};

    use super::StartupError;
    use crate::config::{ConfigError, PaymentCredentials, Settings, parse_base_url};

    /// A started simulator and what the clients need to reach it.
    pub(super) struct Embedded {
        pub simulator: RunningSimulator,
        pub base_url: Url,
        pub username: String,
        pub password: SecretString,
        pub payment: (Result<Url, ConfigError>, PaymentCredentials),
    }

    /// Starts the simulator the settings describe, its clock where its data ends (so refunds
    /// and reauthorizations of recent seeded sales work in a demo), and says loudly that the
    /// data is simulated.
    pub(super) async fn start(settings: &Settings, explicit: bool) -> Result<Embedded, StartupError> {
        let config = SimulatorConfig {
            listen_addr: settings.simulator.listen_addr,
            generated_sales: settings.simulator.generated_sales,
            seed: settings.simulator.seed,
            clock_start: ClockStart::SeededDataEnd,
            // Signed with the word the receiver checks, when one is configured, so the
            // embedded simulator's messages pass it.
            secret_word: match &settings.ins.secret_word {
                Some(word) => secrecy::ExposeSecret::expose_secret(word).to_owned(),
                None => tco_simulator::DEFAULT_SECRET_WORD.to_owned(),
            },
            ..SimulatorConfig::default()
        };
        let (username, password) = (config.api_username.clone(), SecretString::from(config.api_password.clone()));
        let payment_credentials = PaymentCredentials {
            seller_id: config.seller_id.clone(),
            private_key: SecretString::from(config.private_key.clone()),
        };
        let simulator = RunningSimulator::start(config).await.map_err(|error| match error {
            StartError::Bind { addr, source } => StartupError::SimulatorBind { addr, source },
            other => StartupError::Simulator(other),
        })?;
        let base_url = parse_base_url("simulator", &simulator.admin_api_base_url())?;
        let why = if explicit { "upstream.mode is simulator" } else { "no 2Checkout credentials configured" };
        tracing::warn!(
            simulator = %base_url,
            "{why}: serving SIMULATED data from the built-in 2Checkout simulator \
             (set upstream.mode=twocheckout, admin_api.username and admin_api.password for the real API)"
        );
        let payment_url = parse_base_url("simulator", &simulator.payment_api_base_url());
        Ok(Embedded { simulator, base_url, username, password, payment: (payment_url, payment_credentials) })
    }
}

/// A configured byte cap as a buffer size (a cap beyond the address space is no cap at all).
fn byte_cap(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}
