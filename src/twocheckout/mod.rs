//! The 2Checkout adapter: a client of the legacy Admin API that implements the
//! domain's [`SalesPort`](crate::domain::SalesPort) (and its catalog and
//! account ports), and the Payment API client.
//!
//! - [`admin`]: the HTTP client (pooled reqwest, basic auth sent up front,
//!   the caller's deadline honoured) and the error classification.
//! - `catalog`, `account`: the same client as the domain's `CatalogPort`,
//!   `CatalogWritePort` and `AccountPort` (`products/*` and `acct/*`), through
//!   the client's one `call`; `catalog_wire`: their wire shapes.
//! - [`payment`]: the Payment API client (card authorization).
//! - `wire`: the vendor's shapes, private to this module, and their strict
//!   conversion into domain values.
//! - `limiter`: the cap on concurrent requests to each API, and so on
//!   its pooled connections.
//! - `limits`: the byte cap on an answer, enforced while it streams in, and
//!   the nesting-depth limit of both formats.
//! - `xml`: reads XML answers straight into the same serde wire types JSON
//!   decodes into, so both formats share one set of types and conversions.

mod account;
pub mod admin;
mod catalog;
mod catalog_wire;
mod limiter;
mod limits;
pub mod payment;
mod wire;
mod xml;

pub use admin::{AdminApiClient, AdminApiConfig};
pub use payment::{PaymentApiClient, PaymentApiConfig, PaymentBackend};
/// For `crate::untrusted` (property tests and fuzz targets) only: the typed read answers.
pub(crate) use wire::{DetailSaleBody, ListSalesBody};
