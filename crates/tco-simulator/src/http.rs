//! The HTTP front: routing (the Admin API under `/api/`, the Payment API under
//! `/checkout/api/1/{sellerId}/rs/`), counting, Basic authentication, fault injection and
//! dispatch to the endpoints.
//!
//! The order of the steps is part of the contract with tests: a request that names a known
//! endpoint is counted first (whatever happens next), then its verb checked, then (Admin API
//! only; the Payment API authenticates with keys in the body) authenticated, then subjected to
//! the endpoint's fault, and only then are its parameters or body read and the endpoint run. A
//! fault's delay after processing comes last, once the endpoint has run and its write (or new
//! sale) is in the store.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::watch;

use super::account::{self, Account};
use super::catalog::{self, CatalogStore};
use super::clock::SimClock;
use super::faults::FaultTable;
use super::ins::{MessageType, SaleEvent};
use super::notifier::Notifier;
use super::params::Params;
use super::payment::{self, PaymentContext, PaymentError, PaymentKeys};
use super::records::Sale;
use super::render::{ApiError, Format, respond};
use super::sales;
use super::store::Store;
use super::tokens::TokenVault;
use super::writes::{self, Context, Written};
use super::{Endpoint, EndpointApi};

/// How many requests' `traceparent` headers are kept (a bounded window: the
/// embedded simulator can run for as long as the gateway does).
const TRACEPARENTS_KEPT: usize = 256;

/// The challenge real clients expect, realm included.
pub const WWW_AUTHENTICATE_CHALLENGE: &str = "Basic realm=\"2CO API\"";

/// Everything the request handlers share.
pub struct SharedState {
    pub store: Store,
    /// The seller's account: what `acct/*` answers.
    pub account: Account,
    pub clock: SimClock,
    pub faults: FaultTable,
    pub credentials: Credentials,
    /// The Payment API's seller id and keys.
    pub payment_keys: PaymentKeys,
    /// Tokens issued by the token service, with the cards they stand for.
    pub tokens: TokenVault,
    /// Fallback host for URLs when a request names none.
    pub local_addr: SocketAddr,
    /// Sends the Instant Notifications of what the writes and the Payment API do.
    pub notifier: Arc<Notifier>,
    /// Held from a change to the store until its notification is queued, so two writes racing
    /// on one sale queue their messages in the order the store applied them. The store
    /// serialises writes anyway; this only stretches that over the queueing.
    notify_order: Mutex<()>,
    counters: Vec<AtomicU64>,
    /// The W3C `traceparent` of the latest requests, so tests can see the trace reach 2Checkout.
    traceparents: Mutex<VecDeque<(Endpoint, String)>>,
    /// Turns true (or closes) when the simulator shuts down, so delayed requests end at once.
    shutdown: watch::Receiver<bool>,
    /// The products, options and coupons the `products/*` endpoints serve.
    pub catalog: CatalogStore,
}

impl SharedState {
    // One argument per independent part of the state; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        account: Account,
        credentials: Credentials,
        payment_keys: PaymentKeys,
        tokens: TokenVault,
        local_addr: SocketAddr,
        notifier: Arc<Notifier>,
        shutdown: watch::Receiver<bool>,
        catalog: CatalogStore,
    ) -> Self {
        SharedState {
            store,
            account,
            clock: SimClock::new(),
            faults: FaultTable::default(),
            credentials,
            payment_keys,
            tokens,
            local_addr,
            notifier,
            notify_order: Mutex::new(()),
            counters: Endpoint::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            traceparents: Mutex::new(VecDeque::with_capacity(TRACEPARENTS_KEPT)),
            shutdown,
            catalog,
        }
    }

    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        self.counters.get(endpoint.index()).map_or(0, |counter| counter.load(Ordering::SeqCst))
    }

    fn count_request(&self, endpoint: Endpoint, headers: &HeaderMap) {
        if let Some(counter) = self.counters.get(endpoint.index()) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok());
        if let (Some(traceparent), Ok(mut kept)) = (traceparent, self.traceparents.lock()) {
            if kept.len() == TRACEPARENTS_KEPT {
                kept.pop_front();
            }
            kept.push_back((endpoint, traceparent.to_owned()));
        }
    }

    /// The `traceparent` headers of the latest requests to `endpoint`, oldest first.
    pub fn traceparents(&self, endpoint: Endpoint) -> Vec<String> {
        let Ok(kept) = self.traceparents.lock() else { return Vec::new() };
        kept.iter().filter(|(e, _)| *e == endpoint).map(|(_, t)| t.clone()).collect()
    }

    /// Performs the captures due by `now` and queues their INVOICE_STATUS_CHANGED (deposited),
    /// dated when each capture was due.
    pub fn settle_captures(&self, now: chrono::DateTime<chrono::Utc>) {
        let _in_order = self.notify_order();
        for captured in self.store.settle_captures(now.naive_utc()) {
            for invoice_id in &captured.invoice_ids {
                let at = captured.at.and_utc();
                self.notifier.enqueue(&SaleEvent::invoice(
                    MessageType::InvoiceStatusChanged,
                    &captured.sale,
                    invoice_id,
                    at,
                ));
            }
        }
    }

    /// Queues what a new sale tells the seller at once: ORDER_CREATED, then FRAUD_STATUS_CHANGED
    /// (the simulated review passes every order at once), for each of its invoices.
    fn notify_new_sale(&self, sale: &Sale, now: chrono::DateTime<chrono::Utc>) {
        for invoice in &sale.invoices {
            for kind in [MessageType::OrderCreated, MessageType::FraudStatusChanged] {
                self.notifier.enqueue(&SaleEvent::invoice(kind, sale, &invoice.invoice_id, now));
            }
        }
    }

    /// See `notify_order`. Never held across an await.
    fn notify_order(&self) -> std::sync::MutexGuard<'_, ()> {
        self.notify_order.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sleeps `delay`; false when the simulator started shutting down meanwhile.
    async fn sleep_unless_shutdown(&self, delay: std::time::Duration) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            _ = shutdown.wait_for(|stopping| *stopping) => false,
        }
    }
}

/// The API user's credentials. `Debug` never shows the password.
pub struct Credentials {
    username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

impl Credentials {
    pub fn new(username: &str, password: &str) -> Self {
        Credentials { username: username.to_owned(), password: password.to_owned() }
    }

    /// The API user's name, which comments written through the API carry.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Whether an `Authorization` header carries these credentials as HTTP Basic.
    fn accept(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(value) = authorization.and_then(|value| value.to_str().ok()) else {
            return false;
        };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&byte| byte == b':') else {
            return false;
        };
        let (username, password) = (&decoded[..colon], &decoded[colon + 1..]);
        // Both comparisons always run, so timing does not reveal which part was wrong.
        let username_ok = constant_time_eq(username, self.username.as_bytes());
        let password_ok = constant_time_eq(password, self.password.as_bytes());
        username_ok & password_ok
    }
}

/// Compares without stopping at the first difference (passwords, private and publishable keys).
pub(super) fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    let mut difference = u8::from(left.len() != right.len());
    for index in 0..left.len().max(right.len()) {
        let a = left.get(index).copied().unwrap_or(0);
        let b = right.get(index).copied().unwrap_or(0);
        difference |= a ^ b;
    }
    difference == 0
}

/// The router; serve it with `into_make_service_with_connect_info::<SocketAddr>()` so comments
/// can record the client's address.
pub fn router(state: Arc<SharedState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// Bodies larger than this are refused; every real Payment API call fits in a few kilobytes.
const MAX_PAYMENT_BODY_BYTES: usize = 1024 * 1024;
/// Where the Payment API's paths start; `{sellerId}/rs/<service>` follows.
pub const PAYMENT_API_PREFIX: &str = "/checkout/api/1/";

/// The endpoint a path names, with the Payment API's `{sellerId}` segment.
fn route(path: &str) -> Option<(Endpoint, Option<String>)> {
    if let Some(rest) = path.strip_prefix("/api/") {
        return Endpoint::from_path(rest).map(|endpoint| (endpoint, None));
    }
    let rest = path.strip_prefix(PAYMENT_API_PREFIX)?;
    let (seller_id, service) = rest.split_once('/')?;
    if seller_id.is_empty() {
        return None;
    }
    let pattern = format!("{{sellerId}}/{service}");
    Endpoint::ALL
        .iter()
        .copied()
        .find(|endpoint| endpoint.api() == EndpointApi::Payment && endpoint.path() == pattern)
        .map(|endpoint| (endpoint, Some(seller_id.to_owned())))
}

async fn handle(State(state): State<Arc<SharedState>>, request: Request<Body>) -> Response {
    let format = Format::from_accept(request.headers().get_all(header::ACCEPT));
    let path = request.uri().path();
    let Some((endpoint, seller_id)) = route(path) else {
        tracing::debug!(path, "unknown API path");
        return respond(Err(ApiError::unknown_method(path)), format);
    };
    state.count_request(endpoint, request.headers());
    tracing::debug!(endpoint = endpoint.path(), method = %request.method(), "request");
    match seller_id {
        Some(seller_id) => handle_payment(&state, endpoint, &seller_id, request).await,
        None => handle_admin(&state, endpoint, format, request).await,
    }
}

async fn handle_admin(state: &SharedState, endpoint: Endpoint, format: Format, request: Request<Body>) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::POST) {
        let mut response = respond(Err(ApiError::method_not_allowed(request.method().as_str())), format);
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        return response;
    }

    if !state.credentials.accept(request.headers().get(header::AUTHORIZATION)) {
        tracing::debug!(endpoint = endpoint.path(), "authentication failed");
        let mut response = respond(Err(ApiError::unauthorized()), format);
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(WWW_AUTHENTICATE_CHALLENGE));
        return response;
    }

    let unavailable = || respond(Err(ApiError::service_unavailable()), format);
    let delay_after = match apply_fault(state, endpoint, unavailable).await {
        Ok(delay_after) => delay_after,
        Err(answered) => return answered,
    };

    let origin = origin_of(&request, state.local_addr);
    let client_ip = client_ip_of(&request);
    let params = match Params::from_request(request).await {
        Ok(params) => params,
        Err(error) => return delayed(state, delay_after, respond(Err(error), format), unavailable).await,
    };
    let context = Context { now: state.clock.now(), username: state.credentials.username(), client_ip: &client_ip };
    let store = &state.store;
    // Sales the Payment API authorized are captured 48 hours later on the simulator clock; doing
    // it here too, before anything reads them, means no request sees a capture not yet made.
    state.settle_captures(context.now);
    let read = |answer: Result<serde_json::Value, ApiError>| answer.map(|answer| Written { answer, event: None });
    let reads_only = matches!(
        endpoint,
        Endpoint::DetailSale
            | Endpoint::ListSales
            | Endpoint::DetailCompanyInfo
            | Endpoint::DetailContactInfo
            | Endpoint::DetailPendingPayment
            | Endpoint::ListPayments
    );
    let in_order = (!reads_only).then(|| state.notify_order());
    // Synchronous: a write is complete before anything below can await (and be cancelled).
    let outcome = match endpoint {
        Endpoint::DetailSale => read(sales::detail_sale(store, &params)),
        Endpoint::ListSales => read(sales::list_sales(store, &params, &origin)),
        Endpoint::RefundInvoice => writes::refund_invoice(store, &params, &context),
        Endpoint::RefundLineItem => writes::refund_lineitem(store, &params, &context),
        Endpoint::StopLineItemRecurring => writes::stop_lineitem_recurring(store, &params, &context),
        Endpoint::MarkShipped => writes::mark_shipped(store, &params, &context),
        Endpoint::CreateComment => writes::create_comment(store, &params, &context),
        Endpoint::Reauth => writes::reauth(store, &params, &context),
        // The catalog's writes change nothing the INS reports: answered like reads.
        Endpoint::ListProducts => read(catalog::list_products(&state.catalog, &params, &origin)),
        Endpoint::DetailProduct => read(catalog::detail_product(&state.catalog, &params)),
        Endpoint::CreateProduct => read(catalog::create_product(&state.catalog, &params)),
        Endpoint::UpdateProduct => read(catalog::update_product(&state.catalog, &params)),
        Endpoint::DeleteProduct => read(catalog::delete_product(&state.catalog, &params)),
        Endpoint::ListOptions => read(catalog::list_options(&state.catalog, &params, &origin)),
        Endpoint::DetailOption => read(catalog::detail_option(&state.catalog, &params)),
        Endpoint::CreateOption => read(catalog::create_option(&state.catalog, &params)),
        Endpoint::UpdateOption => read(catalog::update_option(&state.catalog, &params)),
        Endpoint::DeleteOption => read(catalog::delete_option(&state.catalog, &params)),
        Endpoint::ListCoupons => read(catalog::list_coupons(&state.catalog)),
        Endpoint::DetailCoupon => read(catalog::detail_coupon(&state.catalog, &params, &origin)),
        Endpoint::CreateCoupon => read(catalog::create_coupon(&state.catalog, &params)),
        Endpoint::UpdateCoupon => read(catalog::update_coupon(&state.catalog, &params)),
        Endpoint::DeleteCoupon => read(catalog::delete_coupon(&state.catalog, &params)),
        Endpoint::UpdateLineItemRecurring => writes::update_lineitem_recurring(store, &params, &context),
        Endpoint::DetailCompanyInfo => read(account::detail_company_info(&state.account)),
        Endpoint::DetailContactInfo => read(account::detail_contact_info(&state.account)),
        Endpoint::DetailPendingPayment => read(account::detail_pending_payment(&state.account, store)),
        Endpoint::ListPayments => read(account::list_payments(&state.account, store)),
        // Routed to `handle_payment`, never here; answered as an unknown method all the same.
        Endpoint::CreateToken | Endpoint::Authorize => Err(ApiError::unknown_method(endpoint.path())),
    };
    // Queued only now that the write is complete; queueing never waits.
    let outcome = outcome.map(|Written { answer, event }| {
        if let Some(event) = event {
            state.notifier.enqueue(&event);
        }
        answer
    });
    drop(in_order);
    delayed(state, delay_after, respond(outcome, format), unavailable).await
}

/// The Payment API: POST only, no Basic auth (the seller id and key travel in the JSON body),
/// the body read as JSON whatever its `Content-Type` (some clients send none).
async fn handle_payment(state: &SharedState, endpoint: Endpoint, seller_id: &str, request: Request<Body>) -> Response {
    if request.method() != Method::POST {
        return payment::respond(Err(PaymentError::method_not_allowed()));
    }

    let unavailable = || payment::respond(Err(PaymentError::service_unavailable()));
    let delay_after = match apply_fault(state, endpoint, unavailable).await {
        Ok(delay_after) => delay_after,
        Err(answered) => return answered,
    };

    let client_ip = client_ip_of(&request);
    let body = match to_bytes(request.into_body(), MAX_PAYMENT_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            let response = payment::respond(Err(PaymentError::new(200)));
            return delayed(state, delay_after, response, unavailable).await;
        }
    };
    let context = PaymentContext {
        now: state.clock.now(),
        client_ip: &client_ip,
        path_seller_id: seller_id,
        keys: &state.payment_keys,
    };
    // Synchronous like the Admin API's writes: an approved sale is stored before any await.
    let in_order = state.notify_order();
    let outcome = match endpoint {
        Endpoint::CreateToken => payment::create_token(&state.tokens, &body, &context),
        Endpoint::Authorize => {
            payment::authorize(&state.store, &state.tokens, &body, &context).map(|(answer, sale)| {
                state.notify_new_sale(&sale, context.now);
                answer
            })
        }
        // Routed to `handle_admin`, never here.
        Endpoint::DetailSale
        | Endpoint::ListSales
        | Endpoint::RefundInvoice
        | Endpoint::RefundLineItem
        | Endpoint::StopLineItemRecurring
        | Endpoint::MarkShipped
        | Endpoint::CreateComment
        | Endpoint::Reauth
        | Endpoint::ListProducts
        | Endpoint::DetailProduct
        | Endpoint::CreateProduct
        | Endpoint::UpdateProduct
        | Endpoint::DeleteProduct
        | Endpoint::ListOptions
        | Endpoint::DetailOption
        | Endpoint::CreateOption
        | Endpoint::UpdateOption
        | Endpoint::DeleteOption
        | Endpoint::ListCoupons
        | Endpoint::DetailCoupon
        | Endpoint::CreateCoupon
        | Endpoint::UpdateCoupon
        | Endpoint::DeleteCoupon
        | Endpoint::UpdateLineItemRecurring
        | Endpoint::DetailCompanyInfo
        | Endpoint::DetailContactInfo
        | Endpoint::DetailPendingPayment
        | Endpoint::ListPayments => Err(PaymentError::new(200)),
    };
    drop(in_order);
    delayed(state, delay_after, payment::respond(outcome), unavailable).await
}

/// Applies the endpoint's fault, if any, before the request is processed: its delay first,
/// then its canned answer instead of the real one. `Ok` carries the delay to apply after
/// processing; `Err` is the answer already decided (canned, or 503 on shutdown).
async fn apply_fault(
    state: &SharedState,
    endpoint: Endpoint,
    unavailable: impl Fn() -> Response,
) -> Result<Option<std::time::Duration>, Response> {
    let Some(fault) = state.faults.take_for_request(endpoint) else { return Ok(None) };
    if let Some(delay) = fault.delay
        && !state.sleep_unless_shutdown(delay).await
    {
        return Err(unavailable());
    }
    match fault.response {
        Some(canned) => Err(delayed(state, fault.delay_after_processing, canned.to_response(), unavailable).await),
        None => Ok(fault.delay_after_processing),
    }
}

/// `response`, after the fault's delay after processing if any (`unavailable()` if shutdown
/// interrupts it, like the delay before processing).
async fn delayed(
    state: &SharedState,
    delay: Option<std::time::Duration>,
    response: Response,
    unavailable: impl FnOnce() -> Response,
) -> Response {
    match delay {
        Some(delay) if !state.sleep_unless_shutdown(delay).await => unavailable(),
        _ => response,
    }
}

/// The TCP peer's address: the vendor records the caller's IP in `changed_by_ip`. Proxy headers
/// are not trusted (the real API sees the gateway's own address). `0.0.0.0` when the router is
/// served without connect info.
fn client_ip_of(request: &Request<Body>) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "0.0.0.0".to_owned(), |ConnectInfo(peer)| peer.ip().to_canonical().to_string())
}

/// `http://host[:port]` as the client addressed us, for the URLs inside answers. Anything odd in
/// the request's host (or none at all) falls back to the listening address.
fn origin_of(request: &Request<Body>, local_addr: SocketAddr) -> String {
    let from_uri = request.uri().authority().map(|authority| {
        // Never the userinfo part: it may hold credentials.
        match authority.port_u16() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_owned(),
        }
    });
    let from_header = || request.headers().get(header::HOST).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let host =
        from_uri.or_else(from_header).filter(|host| is_plausible_host(host)).unwrap_or_else(|| local_addr.to_string());
    format!("http://{host}")
}

fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|byte| byte.is_ascii_alphanumeric() || b".-_:[]".contains(&byte))
}
