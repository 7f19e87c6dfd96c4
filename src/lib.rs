//! tco-gateway: a gRPC facade over the legacy 2Checkout HTTP APIs.
//!
//! Internal services call `twocheckout.v1.SalesService` through generated
//! stubs; the gateway validates each call at the edge, turns it into an Admin
//! API request, and turns the answer (or the error) back into well-typed gRPC
//! with standard `google.rpc` error details. 2Checkout's instant
//! notifications (INS), posted to the gateway's own receiver, reach them as
//! typed events through `twocheckout.v1.NotificationService`. With no
//! 2Checkout credentials configured it runs against a built-in simulator of
//! the legacy API.
//!
//! # Layout
//!
//! - [`domain`]: the gateway's own types (sales, money, ids, free text,
//!   listing queries), the one error type with the vendor's codes as enums,
//!   and the [`domain::SalesPort`] / [`domain::SalesWritePort`] /
//!   [`domain::PaymentPort`] traits every upstream and decorator implements.
//!   No gRPC, no HTTP.
//! - [`grpc`]: the generated contract and one module per service, split by
//!   direction (`request`: proto to domain, validating; `response`: domain
//!   to proto), and [`grpc::status`], the one table that maps every error to
//!   a gRPC status by exhaustive `match`.
//! - [`twocheckout`]: the Admin API client (reqwest, JSON or XML), which
//!   implements [`domain::SalesPort`], and the Payment API client. Wire
//!   structs stay private to it; vendor codes become enums there.
//! - [`cache`]: the detail_sale cache, a decorator over the sales ports that
//!   every write invalidates (on every replica, with Redis configured).
//! - [`shared_state`]: the connection to the Redis all replicas share, when
//!   `redis.url` is set.
//! - [`idempotency`]: at-most-once writes by request id, a decorator over the
//!   sales ports, with reconciliation when a write's outcome is unknown.
//! - [`notifications`]: 2Checkout's Instant Notifications: the receiver (its
//!   own HTTP listener, `ins.listen_addr`) that verifies each posted form,
//!   evicts its sale from every replica's cache and journals it, and the
//!   journals (in memory, or a Redis stream every replica shares) behind the
//!   [`domain::NotificationJournal`] port; `grpc::notifications` serves them
//!   as `twocheckout.v1.NotificationService`.
//! - the simulator is a crate of its own, `crates/tco-simulator` (library and
//!   `tco-simulator` binary): a faithful HTTP simulator of the legacy APIs, the
//!   embedded upstream when the `simulator` feature is on (the default), and
//!   what the specs run against (a dev-dependency).
//! - [`auth`]: caller identities (client certificate or bearer token), the
//!   policy file (methods and refund ceilings per caller) and the layer that
//!   enforces it; [`transport`]: the listener's plaintext or TLS connections
//!   and what each proved about its peer.
//! - [`held_body`]: a response body holding a call's slot or open-call mark
//!   until the call is over (load shedding and the idle timeout count calls so).
//! - [`reload`]: values loaded from files operators change under a running
//!   gateway (certificates, policy, JWKS), re-read and swapped in safely.
//! - [`audit`]: the audit trail, one record per write, authorization and
//!   denied call on its own log target (`tco_gateway::audit`) and as an
//!   OpenTelemetry span event; the refund ceilings are checked in
//!   `grpc/sales/ceiling.rs`.
//! - [`config`]: layered typed settings with wrapped secrets.
//! - [`app`]: wires it all together and serves (with health and reflection);
//!   [`cli`]: the binary's command line and start-up.
//! - [`telemetry`]: logs, traces and metrics: the server span of every call
//!   (a tower layer), the client span of every upstream request, OTLP and
//!   Prometheus export configured by the standard `OTEL_*` variables.
//!   The cache reports to telemetry; telemetry imports neither cache nor
//!   any port.
//! - [`untrusted`] (hidden, not an API): the entry points for untrusted bytes
//!   (upstream answers, caller requests) with their fuzz oracles, for the
//!   property tests and the cargo-fuzz targets in `fuzz/` only.
//!
//! # Path of a call
//!
//! GetSale, from proto to the wire and back:
//!
//! 0. `grpc/overload.rs` admits the call (or sheds it at once with
//!    UNAVAILABLE when `server.max_concurrent_calls` are in progress), and
//!    `grpc/deadline.rs` marks it with `server.default_deadline`.
//! 1. `grpc/sales/mod.rs`: `SalesApi::get_sale` takes the caller's deadline
//!    from `grpc-timeout`, or the default one (`grpc/mod.rs`, `call_context`) and converts the
//!    request with `grpc/sales/request.rs` (`SaleLookup::try_from`: a numeric
//!    sale or invoice id, or INVALID_ARGUMENT naming the field; nothing is
//!    sent).
//! 2. `cache.rs`: `CachedSales::get_sale` serves a current entry, or fetches
//!    once for all concurrent callers of the same lookup.
//! 3. `idempotency.rs`: `IdempotentWrites` passes reads straight through.
//! 4. `twocheckout/admin.rs`: `AdminApiClient::get_sale` takes one of the
//!    `admin_api.max_concurrent_requests` slots (`twocheckout/limiter.rs`,
//!    waiting within the deadline), sends `sales/detail_sale` within the deadline (its client span from
//!    `telemetry/upstream.rs`), reads JSON or XML (`twocheckout/xml.rs`),
//!    parses an `errors` element into a domain `Error` with an `AdminCode`,
//!    or decodes the sale strictly (`twocheckout/wire.rs`) into a
//!    `domain::Sale`.
//! 5. Back in `grpc/sales/mod.rs`: the sale becomes a `proto::Sale`
//!    (`grpc/sales/response.rs`), or the error a status (`grpc/status.rs`,
//!    with `grpc/sales/fields.rs` naming the request field behind a vendor
//!    parameter). `telemetry/rpc.rs` records the outcome from the trailers.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod held_body;
pub mod idempotency;
pub mod notifications;
pub mod reload;
pub mod shared_state;
pub mod telemetry;
pub mod transport;
pub mod twocheckout;
#[doc(hidden)]
pub mod untrusted;
