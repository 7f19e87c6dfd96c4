//! A faithful HTTP simulator of the legacy 2Checkout Admin API (`sales/detail_sale` and
//! `sales/list_sales`), used as the gateway's embedded default upstream and by its integration
//! tests over real HTTP.
//!
//! # Design
//!
//! [`RunningSimulator::start`] binds a TCP listener and serves an axum router on it until
//! [`RunningSimulator::shutdown`] or drop. Requests go through `http` (routing, counting, Basic
//! auth, faults), read their parameters with `params` (query merged with a form or multipart
//! body), run an endpoint in `sales` against the in-memory `store` of typed `records`, and are
//! rendered by `render` as JSON or XML from one `serde_json::Value`. The store is seeded by
//! `seed` with a self-written PRNG (`prng`), so the same seed always gives byte-identical data.
//! A controllable [`SimClock`], the per-endpoint counters and the fault table live in the shared
//! state beside the store, ready for the time-dependent write endpoints to come.
//!
//! Adding an endpoint: one line in the `endpoints!` table below (variant and path), one arm in
//! the dispatch `match` of `http` (the compiler asks for it), and its handler.
//!
//! # Seeded data
//!
//! The store holds, in this order:
//! - the documented sale [`DOCUMENTED_SALE_ID`] exactly as the reference prints it (two invoices
//!   [`DOCUMENTED_INVOICE_IDS`], cardholder `"Testing  Tester"`, e-mail
//!   `api_user@fake-company.com`, phone `123465789`, vendor product id `1178646973`, PayPal,
//!   recurring, refunded, not active, not declined, `usd_total` 3.06);
//! - `generated_sales` generated sales of vendor 532001. Sale `i` (0-based) has id
//!   `9100000000 + 1000 * i`; all its other ids are `sale id + 3k`, so no id ever collides;
//! - the foreign sale [`FOREIGN_SALE_ID`] (invoice [`FOREIGN_INVOICE_ID`]) of vendor 901234, with
//!   the documented cardholder name: `detail_sale` answers FORBIDDEN, `list_sales` never shows it.
//!
//! The first six generated sales have a fixed profile whatever the seed (when at least six are
//! generated): [`REFUNDED_SALE_ID`] (one-off, intangible, card 400000/02, fully refunded),
//! [`ACTIVE_RECURRING_SALE_ID`] (active, not declined, card 411111/11, not refunded),
//! [`TANGIBLE_SALE_ID`] (one-off, tangible with a `shipping` object, card 555555/44),
//! [`DECLINED_RECURRING_SALE_ID`] (active with a recurring decline, card 400000/02),
//! [`STOPPED_RECURRING_SALE_ID`] (stopped, PayPal) and [`COMPLETED_RECURRING_SALE_ID`]
//! (completed, amex 378282/05, partially refunded). The other sales draw their profile:
//! recurring 45 % (then active 50 %, stopped 25 %, completed 25 %; an active one is declined
//! 35 % of the time), refunded 18 % (70 % of them in full), tangible 35 % of the one-off sales,
//! card 70 % (400000/02, 411111/11, 555555/44 or 378282/05) else PayPal.
//!
//! Other rules: 1 to 3 distinct products per sale from a fixed catalogue of 13 (vendor product
//! ids such as `EBOOK-RUST-01`, `TEE-BLK-M`, `SAAS-PRO-M`; a recurring sale has exactly one
//! recurring product); a recurring sale has 1 to 3 invoices (installments, the later ones holding
//! only the recurring item), a one-off sale one; dates lie between 2012-01-01 and 2026-03-31;
//! invoices placed in the last 30 days of that range are `pending`, the others `deposited`;
//! cardholder names are `"First M Last"` or, without middle initial, `"First  Last"` with two
//! spaces like the vendor's; e-mails are `first.last[NN]@<example domain>`; phones are digits
//! starting with a city prefix (614, 740, 212, 415, 4420, 4930, 1416, 331, 813) then `555`.
//! A refund is an extra line item with `status` `refund` and `linked_id` pointing at the
//! refunded one (the documented sale's model), with a comment; invoice totals keep the amount
//! charged, and a sale's `usd_total` in `list_sales` is the sum of its invoices' `usd_total`.
//!
//! With the default configuration (seed 42, 300 generated sales) `list_sales` sees 301 sales
//! (16 pages of 20, newest id `9100299000` first) and these filters select (pinned by the tests
//! `default_seed_facts_stay_as_documented` and the per-filter tests):
//! - `refunded=1`: 62; `active_recurrings=1`: 64; `declined_recurrings=1`: 15; both
//!   `active_recurrings=1&refunded=1`: 18;
//! - `customer_name=tester`: 1 (the documented sale; the foreign one is hidden);
//!   `customer_name=anderson`: 18;
//! - `customer_email=example.org`: 75; `customer_phone=614`: 35;
//! - `ccard_first6=400000`: 51; `ccard_last2=44`: 58;
//! - `vendor_product_id=TEE`: 39; `vendor_product_id=SAAS`: 91;
//! - `sale_date_begin=2012-01-01&sale_date_end=2012-12-31`: 21;
//! - lowest `usd_total`: the documented sale (3.06).
//!
//! # Decisions where the reference is silent
//!
//! - XML root element: `<response>` (clients must not depend on it).
//! - Default sort `sale_id` DESC; `sort_dir` alone keeps `sale_id`, `sort_col` alone sorts DESC.
//!   Ties are broken by sale id in the same direction; `date_placed` sorts on the full
//!   timestamp, `customer_name` case-insensitively, `recurring_declined` with nulls first in
//!   ascending order, `usd_total` in integer cents.
//! - Page URLs: `http://<Host>/api/sales/list_sales?cur_page=N&<the client's other parameters in
//!   their order>`; the host comes from the request (URI authority, else `Host`), else the
//!   listening address.
//! - Validation reports the first invalid parameter only, in the reference's parameter order.
//!   `sale_id`/`invoice_id` must be digits; `ccard_first6`/`ccard_last2` exactly 6/2 digits;
//!   dates zero-padded `YYYY-MM-DD`; flags accept 1/true/yes and 0/false/no (any case);
//!   `cur_page` digits ≥ 1 (a page past the end is RECORD_NOT_FOUND, however large);
//!   `vendor_product_id` matches case-sensitively; an empty parameter counts as absent.
//! - `detail_sale` with both `sale_id` and `invoice_id`: the invoice must belong to the sale
//!   (else RECORD_NOT_FOUND), and only that invoice is shown. FORBIDDEN carries no `parameter`.
//! - A parameter repeated keeps its last value, the body's over the query's. POST bodies are
//!   read as forms when `Content-Type` is form-urlencoded or absent, as multipart when
//!   multipart; other bodies are ignored. An unreadable body is PARAMETER_INVALID
//!   `request_body`.
//! - `detail_sale.recurring_decline` is `"1"` after a declined recurring rebill, else null (a
//!   scalar, like the invoice-level field the reference documents as 1/0/NULL); the decline's
//!   date and code appear in list_sales' `recurring_declined` / `decline_code`. A declined sale stays `active` (the vendor keeps retrying). Non-recurring line items have
//!   `installment`, `product_recurrence` and `product_duration` null.
//! - Unknown paths answer 404 `NOT_FOUND` without asking for credentials; methods other than
//!   GET, HEAD and POST answer 405 `METHOD_NOT_ALLOWED` (counted). A 401 carries code
//!   `UNAUTHORIZED`. A request delayed by a fault when the simulator shuts down answers 503.
//! - JSON when any `Accept` header mentions `application/json` (any case); everything else,
//!   `text/html` included (XOXO is not simulated), gets XML.
//! - Generated data never depends on the real date, so every generated sale is older than
//!   2026-04-01: time-limited rules (the 180-day refund limit) need [`SimClock::set`] to bring
//!   "now" close to the sale under test.

mod clock;
mod faults;
mod http;
mod params;
mod prng;
mod records;
mod render;
mod sales;
mod seed;
mod store;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::SimClock;
pub use faults::{CannedResponse, Fault};
pub use http::WWW_AUTHENTICATE_CHALLENGE;

use http::{Credentials, SharedState};
use store::Store;

/// The sale the reference documents for `detail_sale`.
pub const DOCUMENTED_SALE_ID: &str = "4647892238";
/// The documented sale's invoices, in order.
pub const DOCUMENTED_INVOICE_IDS: [&str; 2] = ["4647892247", "4671118593"];
/// A sale of another vendor: `detail_sale` answers FORBIDDEN "Access denied to sale.",
/// `list_sales` never shows it.
pub const FOREIGN_SALE_ID: &str = seed::FOREIGN_SALE_ID;
/// The foreign sale's only invoice.
pub const FOREIGN_INVOICE_ID: &str = seed::FOREIGN_INVOICE_ID;

/// Generated sale 0: one-off, intangible, card 400000/02, refunded in full.
pub const REFUNDED_SALE_ID: &str = "9100000000";
/// Generated sale 1: recurring and active, not declined, not refunded, card 411111/11.
pub const ACTIVE_RECURRING_SALE_ID: &str = "9100001000";
/// Generated sale 2: one-off with a tangible product and a `shipping` object, card 555555/44.
pub const TANGIBLE_SALE_ID: &str = "9100002000";
/// Generated sale 3: recurring, active, with a recurring decline, card 400000/02.
pub const DECLINED_RECURRING_SALE_ID: &str = "9100003000";
/// Generated sale 4: recurring billing stopped, paid with PayPal.
pub const STOPPED_RECURRING_SALE_ID: &str = "9100004000";
/// Generated sale 5: recurring billing completed, amex 378282/05, partially refunded.
pub const COMPLETED_RECURRING_SALE_ID: &str = "9100005000";

/// How to start a simulator. `Debug` never shows the password.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen_addr: SocketAddr,
    /// The API user clients authenticate as (HTTP Basic).
    pub api_username: String,
    /// That user's password; never logged, hidden from `Debug`.
    pub api_password: String,
    /// Sales generated in addition to the documented one.
    pub generated_sales: usize,
    /// Same seed, byte-identical data.
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            listen_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            api_username: "sim-api-user".to_owned(),
            api_password: "sim-api-pass".to_owned(),
            generated_sales: 300,
            seed: 42,
        }
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("listen_addr", &self.listen_addr)
            .field("api_username", &self.api_username)
            .field("api_password", &"<redacted>")
            .field("generated_sales", &self.generated_sales)
            .field("seed", &self.seed)
            .finish()
    }
}

/// Declares the endpoints in one table: the variant and its path under `/api/`.
macro_rules! endpoints {
    ($($(#[$meta:meta])* $variant:ident => $path:literal,)+) => {
        /// An endpoint of the simulated API.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $($(#[$meta])* $variant,)+
        }

        impl Endpoint {
            /// Every endpoint, in declaration order.
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$variant,)+];

            /// The path under the API base URL, e.g. `"sales/detail_sale"`.
            pub fn path(self) -> &'static str {
                match self {
                    $(Endpoint::$variant => $path,)+
                }
            }
        }
    };
}

endpoints! {
    /// `sales/detail_sale`
    DetailSale => "sales/detail_sale",
    /// `sales/list_sales`
    ListSales => "sales/list_sales",
}

impl Endpoint {
    /// The endpoint served at `path` (relative to `/api/`).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.iter().copied().find(|endpoint| endpoint.path() == path)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A simulator serving on its own task until [`shutdown`](Self::shutdown) or drop.
pub struct RunningSimulator {
    local_addr: SocketAddr,
    state: Arc<SharedState>,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// How long [`RunningSimulator::shutdown`] lets open connections finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl RunningSimulator {
    /// Seeds the store, binds the listener (so the address is known and connectable on return)
    /// and starts serving. Must be called within a Tokio runtime.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<RunningSimulator> {
        let store = Store::seeded(config.seed, config.generated_sales)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        let listener = tokio::net::TcpListener::bind(config.listen_addr).await?;
        let local_addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = Arc::new(SharedState::new(
            store,
            Credentials::new(&config.api_username, &config.api_password),
            local_addr,
            shutdown_rx.clone(),
        ));
        let app = http::router(Arc::clone(&state));
        let mut signal = shutdown_rx;
        let server = tokio::spawn(async move {
            let stop = async move {
                // Also fires when the sender is dropped with the RunningSimulator.
                let _ = signal.wait_for(|stopping| *stopping).await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::warn!(%error, "simulator server stopped with an error");
            }
        });
        tracing::info!(base_url = %api_base_url(local_addr), "2Checkout simulator listening");
        Ok(RunningSimulator { local_addr, state, shutdown, server: Some(server) })
    }

    /// The address the simulator listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT/api/`; endpoint paths such as `sales/detail_sale` append to it.
    pub fn admin_api_base_url(&self) -> String {
        api_base_url(self.local_addr)
    }

    /// Requests that reached `endpoint`, whatever their outcome (auth failures included).
    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        self.state.request_count(endpoint)
    }

    /// Sets `endpoint`'s fault, replacing any previous one.
    pub fn inject_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.state.faults.inject(endpoint, fault);
    }

    /// Removes every endpoint's fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// The simulated clock time-dependent rules read; tests move it.
    pub fn clock(&self) -> &SimClock {
        &self.state.clock
    }

    /// Stops accepting, lets open requests finish (delayed ones end at once with 503) and waits
    /// for the server task.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await.is_err()
        {
            server.abort();
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        // The server task sees this, stops accepting and closes its connections by itself.
        self.shutdown.send_replace(true);
    }
}

fn api_base_url(local_addr: SocketAddr) -> String {
    // A wildcard listen address is not something to connect to; loopback reaches it.
    let host = match local_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/api/", SocketAddr::new(host, local_addr.port()))
}
