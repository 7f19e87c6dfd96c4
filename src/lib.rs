//! tco-gateway: a gRPC facade over the legacy 2Checkout HTTP APIs.
//!
//! Internal services call `twocheckout.v1.SalesService` through generated
//! stubs; the gateway validates each call at the edge, turns it into an Admin
//! API request, and turns the answer (or the error) back into well-typed gRPC
//! with standard `google.rpc` error details. With no 2Checkout credentials
//! configured it runs against a built-in simulator of the legacy API.
//!
//! # Layout
//!
//! - [`domain`]: the gateway's own types (sales, money, ids, listing queries)
//!   and the [`domain::SalesPort`] / [`domain::SalesWritePort`] traits every
//!   upstream and decorator implements. No gRPC, no HTTP.
//! - [`grpc`]: the generated contract and the SalesService implementation;
//!   converts proto to domain at the edge (`TryFrom`, validating) and back.
//! - [`twocheckout`]: the Admin API client (reqwest, JSON or XML), which
//!   implements [`domain::SalesPort`]. Wire structs stay private to it.
//! - [`error`]: the one error enum and the one table mapping it to gRPC codes.
//! - [`cache`]: the detail_sale cache, a decorator over the sales ports that
//!   every write invalidates.
//! - [`idempotency`]: at-most-once writes by request id, a decorator over the
//!   sales ports, with reconciliation when a write's outcome is unknown.
//! - the simulator is a crate of its own, `crates/tco-simulator` (library and
//!   `tco-simulator` binary): a faithful HTTP simulator of the legacy APIs, the
//!   embedded upstream when the `simulator` feature is on (the default), and
//!   what the specs run against (a dev-dependency).
//! - [`config`]: layered typed settings with wrapped secrets.
//! - [`app`]: wires it all together and serves (with health and reflection);
//!   [`cli`]: the binary's command line and start-up.
//! - [`telemetry`]: logs, traces and metrics: the server span of every call
//!   (a tower layer), the client span of every upstream request, OTLP and
//!   Prometheus export configured by the standard `OTEL_*` variables.

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod idempotency;
pub mod telemetry;
pub mod twocheckout;
