//! The Admin API client.
//!
//! Every call goes through [`AdminApiClient::call`], which owns the rules
//! that make the upstream safe to depend on:
//! - credentials go up front with every request (no 401 round trip), and
//!   never into a log line or an error;
//! - the request never outlives the caller's deadline, nor the configured
//!   request timeout;
//! - reads are GETs with a query string, writes are form POSTs (as every
//!   official client sends them), and a write is never retried: once it may
//!   have left, a lost answer (timeout, broken connection, HTTP 5xx) is
//!   OUTCOME_UNKNOWN, not an ordinary failure;
//! - redirects are never followed (the credentials would go wherever a
//!   `Location` points): a 3xx is a protocol error, UNAVAILABLE for a read and
//!   OUTCOME_UNKNOWN for a write, which may have been processed before the
//!   redirect was sent;
//! - an answer is an error if its HTTP status says so **or** its body carries
//!   an `errors` element, whatever the status;
//! - a write succeeds only on positive evidence: a 2xx body that decodes and
//!   says `"response_code": "OK"`; any other answer to a write that is not a
//!   vendor refusal (`{}`, `FAIL`, HTML, garbage) is OUTCOME_UNKNOWN;
//! - the body is decoded by its actual format (XML is read whatever was
//!   asked for), and anything undecodable becomes a clean error while the body
//!   itself never reaches a log: only its size and shape do, at debug level;
//! - memory is bounded whatever is sent: the body is read only up to the
//!   configured cap (`admin_api.max_body_bytes`), neither format may nest
//!   deeper than 64 levels nor hold more objects or elements than real answers
//!   come near (see [`limits`]), and both formats are decoded straight into the
//!   wire types without a generic tree in between; a JSON answer over a limit
//!   is never decoded, an XML one is refused at the first element past it (the
//!   limits are counted as it is read), and either is treated like any other
//!   undecodable answer (a read fails with UPSTREAM_RESPONSE_INVALID, a write
//!   is OUTCOME_UNKNOWN).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tracing::Instrument as _;

use super::{
    limiter::UpstreamLimiter,
    limits::{self, BodyError},
    wire::{Answer, DetailSaleBody, ErrorsBody, ListSalesBody, WriteBody},
    xml,
};

use crate::{
    config::WireFormat,
    domain::{
        AdminCode, CallContext, Error, ListSalesQuery, Refund, Sale, SaleLookup, SaleOrInvoice, SaleWrite, SalesPage,
        SalesPort, SalesWritePort, SortColumn, SortDirection, VendorError, WriteReceipt, WriteRequest,
    },
    telemetry::UpstreamCall,
};

/// The share of the caller's remaining time kept back from an upstream
/// request ([`deadline_margin`]): one part in this many.
const DEADLINE_MARGIN_DIVISOR: u32 = 10;
/// The least time kept back, however tight the deadline.
const DEADLINE_MARGIN_MIN: Duration = Duration::from_millis(50);
/// The most time kept back, however generous the deadline.
const DEADLINE_MARGIN_MAX: Duration = Duration::from_secs(1);

/// What the client needs to know.
#[derive(Clone, Debug)]
pub struct AdminApiConfig {
    /// Base URL ending in `/`, e.g. `https://www.2checkout.com/api/`.
    pub base_url: Url,
    pub username: String,
    pub password: SecretString,
    pub wire_format: WireFormat,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The largest answer read; a larger one is refused unread (see [`limits::read_capped`]).
    pub max_body_bytes: usize,
    /// The most requests in flight at once (see `limiter.rs`).
    pub max_concurrent_requests: u32,
}

/// A pooled client of the Admin API; cheap to clone (clones share the pool and the slots).
#[derive(Clone, Debug)]
pub struct AdminApiClient {
    http: reqwest::Client,
    config: AdminApiConfig,
    slots: UpstreamLimiter,
}

impl AdminApiClient {
    /// Builds the client (and its connection pool).
    pub fn new(config: AdminApiConfig) -> Result<Self, reqwest::Error> {
        let slots = UpstreamLimiter::new("Admin API", config.max_concurrent_requests);
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("tco-gateway/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the Basic credentials and the form to another host.
            .redirect(reqwest::redirect::Policy::none())
            // No more idle connections than requests can be in flight at once.
            .pool_max_idle_per_host(slots.pool_size())
            .build()?;
        Ok(Self { http, config, slots })
    }

    /// Calls one endpoint with its parameters and decodes the answer with `decode`.
    /// The one way out to the Admin API: the catalog and account calls (`catalog.rs`,
    /// `account.rs`) go through it too, so its rules hold for them.
    pub(super) async fn call<T>(
        &self,
        ctx: CallContext,
        kind: CallKind,
        endpoint: &'static str,
        params: &[(&str, String)],
        decode: impl FnOnce(StatusCode, &str, &[u8]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        // Held until the answer is read; waiting for it counts against the caller's time.
        let _slot = self.slots.acquire(ctx, self.config.request_timeout).await?;
        let timeout = time_budget(ctx, self.config.request_timeout)?;
        let url = self.config.base_url.join(endpoint).map_err(|e| Error::UpstreamResponseInvalid {
            detail: format!("cannot build the URL of {endpoint}: {e}"),
            http_status: 0,
        })?;
        let accept = match self.config.wire_format {
            WireFormat::Json => "application/json",
            WireFormat::Xml => "application/xml",
        };
        let method = match kind {
            CallKind::Read => Method::GET,
            CallKind::Write => Method::POST,
        };
        let mut upstream = UpstreamCall::start(&method, &url, endpoint);
        let request = match kind {
            CallKind::Read => self.http.request(method, url).query(params),
            CallKind::Write => self.http.request(method, url).form(params),
        };
        let request = request
            .basic_auth(&self.config.username, Some(self.config.password.expose_secret()))
            .header(header::ACCEPT, accept)
            .headers(upstream.trace_headers())
            .timeout(timeout);
        let span = upstream.span().clone();
        let outcome = self.exchange(kind, endpoint, request, &mut upstream, decode).instrument(span).await;
        upstream.finish(&outcome);
        outcome
    }

    /// Sends one request and reads its answer by the rules of the module docs.
    async fn exchange<T>(
        &self,
        kind: CallKind,
        endpoint: &'static str,
        request: reqwest::RequestBuilder,
        upstream: &mut UpstreamCall,
        decode: impl FnOnce(StatusCode, &str, &[u8]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let response = request.send().await.map_err(|e| transport_error(kind, endpoint, e))?;
        let status = response.status();
        upstream.record_status(status);
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        if status.is_redirection() {
            log_redirect(endpoint, status, response.url(), response.headers());
            // A redirect is refused whatever its body says: not a byte of it is read.
            return decode(status, &content_type, &[]);
        }
        let body = limits::read_capped(response, self.config.max_body_bytes).await.map_err(|e| match e {
            BodyError::Transport(e) => transport_error(kind, endpoint, e),
            BodyError::TooLarge { cap, declared } => too_large(kind, endpoint, status, cap, declared),
        })?;
        tracing::debug!(
            endpoint,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "2Checkout answered"
        );
        decode(status, &content_type, &body)
    }
}

/// Warns of a redirect that was not followed, naming only where it pointed
/// (scheme, host and port): its path and query may carry anything, secrets included.
pub(super) fn log_redirect(endpoint: &str, status: StatusCode, from: &Url, headers: &header::HeaderMap) {
    let target = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| from.join(location).ok())
        .map(|to| to.origin().ascii_serialization());
    tracing::warn!(
        endpoint,
        status = status.as_u16(),
        location_origin = target.as_deref().unwrap_or("(none or unreadable)"),
        "2Checkout answered with a redirect; not followed"
    );
}

/// The error for a redirect: the request went out, and for a write it may have been processed first.
fn redirected(kind: CallKind, endpoint: &str, status: StatusCode) -> Error {
    let http_status = status.as_u16();
    let detail = format!("{endpoint} answered HTTP {http_status}, a redirect, which the gateway never follows");
    match kind {
        CallKind::Write => Error::OutcomeUnknown { detail, timed_out: false, http_status: Some(http_status) },
        CallKind::Read => Error::UpstreamUnavailable { detail, http_status: Some(http_status) },
    }
}

/// Classifies the answer to a write: the write succeeded only when the body
/// decodes and says `"response_code": "OK"` (JSON or XML alike). A vendor
/// refusal (an `errors` element) or rejected credentials are definite; any
/// other answer (a redirect, a 5xx, `{}`, `FAIL`, HTML, garbage) leaves the
/// write possibly done: OUTCOME_UNKNOWN, never success.
pub(crate) fn interpret_write(
    endpoint: &str,
    status: StatusCode,
    content_type: &str,
    body: &[u8],
) -> Result<String, Error> {
    let http_status = status.as_u16();
    let unknown = |detail: String| Error::OutcomeUnknown { detail, timed_out: false, http_status: Some(http_status) };
    if status.is_redirection() {
        return Err(redirected(CallKind::Write, endpoint, status));
    }
    if status.is_server_error() {
        log_body(endpoint, http_status, content_type, body);
        // A 5xx does not prove the write did not happen.
        return Err(unknown(format!("{endpoint} answered HTTP {http_status}")));
    }
    let answer: WriteBody = match interpret(endpoint, status, content_type, body) {
        Ok(answer) => answer,
        Err(Error::UpstreamResponseInvalid { detail, .. }) => {
            return Err(unknown(format!("{detail}; the write may have been processed")));
        }
        Err(definite) => return Err(definite),
    };
    if !answer.confirms() {
        log_body(endpoint, http_status, content_type, body);
        return Err(unknown(format!(
            "{endpoint} answered HTTP {http_status} without response_code OK; the write may have been processed"
        )));
    }
    Ok(answer.into_message())
}

/// How long the next request may take: the configured timeout, cut to the caller's deadline.
pub(super) fn time_budget(ctx: CallContext, request_timeout: Duration) -> Result<Duration, Error> {
    let Some(deadline) = ctx.deadline else { return Ok(request_timeout) };
    budget_within(deadline.saturating_duration_since(Instant::now()), request_timeout).ok_or_else(|| {
        Error::UpstreamTimeout { detail: "the caller's deadline passed before the request was sent".into() }
    })
}

/// The time an upstream request may take when the caller has `remaining`
/// before its deadline: `remaining` less [`deadline_margin`], at most
/// `request_timeout`; `None` when nothing is left once the margin is kept.
fn budget_within(remaining: Duration, request_timeout: Duration) -> Option<Duration> {
    let budget = remaining.saturating_sub(deadline_margin(remaining));
    (!budget.is_zero()).then(|| budget.min(request_timeout))
}

/// Time kept back from the caller's remaining time, so that when the upstream
/// request is cut the gateway still answers with its own status
/// (DEADLINE_EXCEEDED: `UPSTREAM_TIMEOUT` for a read, `OUTCOME_UNKNOWN` for a
/// write that was sent) and its details before the caller's own timer fires
/// and cancels the call (the caller would then see a bare CANCELLED and learn
/// nothing about a write). The caller's timer starts before the request
/// travels and the gateway's answer still has to be built and travel back, so
/// a fixed few milliseconds lose that race on a loaded machine.
///
/// A tenth of the remaining time, at least 50 ms and at most 1 s: a caller
/// with 600 ms left gives the upstream 540 ms, one with 5 s gives it 4.5 s,
/// one with a minute gives it 59 s, and one with 50 ms or less gets
/// DEADLINE_EXCEEDED at once, with nothing sent. Computed afresh for each
/// upstream request of a call (a write reads a baseline first).
fn deadline_margin(remaining: Duration) -> Duration {
    (remaining / DEADLINE_MARGIN_DIVISOR).clamp(DEADLINE_MARGIN_MIN, DEADLINE_MARGIN_MAX)
}

/// The error for an answer larger than the cap, which was not read to its end
/// and is never decoded: like any other undecodable answer, UPSTREAM_RESPONSE_INVALID
/// for a read (UNAVAILABLE when the status already said 5xx) and OUTCOME_UNKNOWN
/// for a write, which may have been processed before the answer was sent.
fn too_large(kind: CallKind, endpoint: &str, status: StatusCode, cap: usize, declared: Option<u64>) -> Error {
    let http_status = status.as_u16();
    let detail = over_cap(endpoint, http_status, cap, declared);
    match kind {
        CallKind::Write => Error::OutcomeUnknown {
            detail: format!("{detail}; the write may have been processed"),
            timed_out: false,
            http_status: Some(http_status),
        },
        CallKind::Read if status.is_server_error() => {
            Error::UpstreamUnavailable { detail, http_status: Some(http_status) }
        }
        CallKind::Read => Error::UpstreamResponseInvalid { detail, http_status },
    }
}

/// Logs an answer over the cap and says so for an error's detail: the cap and
/// the endpoint only, since the part of the body that was read is dropped unseen.
pub(super) fn over_cap(endpoint: &str, http_status: u16, cap: usize, declared: Option<u64>) -> String {
    tracing::warn!(
        endpoint,
        http_status,
        cap_bytes = cap,
        declared_bytes = declared,
        "2Checkout answer larger than the body cap; not read further, not decoded"
    );
    format!("{endpoint} answered HTTP {http_status} with a body over the {cap}-byte cap")
}

/// Whether a call may change anything upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CallKind {
    Read,
    Write,
}

pub(super) fn transport_error(kind: CallKind, endpoint: &str, error: reqwest::Error) -> Error {
    // without_url: the URL carries sale ids in its query; they belong in traces, not in messages.
    let error = error.without_url();
    if kind == CallKind::Write && !error.is_connect() {
        // Past connecting, the request may have reached 2Checkout.
        let timed_out = error.is_timeout();
        let detail = if timed_out {
            format!("{endpoint} took longer than its time budget")
        } else {
            format!("{endpoint} failed: {error}")
        };
        return Error::OutcomeUnknown { detail, timed_out, http_status: None };
    }
    if error.is_timeout() {
        Error::UpstreamTimeout { detail: format!("{endpoint} took longer than its time budget") }
    } else if error.is_connect() {
        Error::UpstreamUnavailable { detail: format!("cannot connect for {endpoint}"), http_status: None }
    } else {
        Error::UpstreamUnavailable { detail: format!("{endpoint} failed: {error}"), http_status: None }
    }
}

/// Classifies one answer: the error rules of the module docs, then the typed decode.
///
/// A 2xx answer is first decoded straight into its wire type, which also notes whether
/// it carried an `errors` element: the common case, a well-formed success, is read in
/// one pass. Anything else (no 2xx, an `errors` element, a body that does not decode) is
/// read again by the rules in their order, so that what a failure is reported as does not
/// depend on the fast path.
pub(crate) fn interpret<'a, T: Answer<'a>>(
    endpoint: &str,
    status: StatusCode,
    content_type: &str,
    body: &'a [u8],
) -> Result<T, Error> {
    let http_status = status.as_u16();
    if status.is_redirection() {
        return Err(redirected(CallKind::Read, endpoint, status));
    }
    if status.is_server_error() {
        log_body(endpoint, http_status, content_type, body);
        return Err(Error::UpstreamUnavailable {
            detail: format!("{endpoint} answered HTTP {http_status}"),
            http_status: Some(http_status),
        });
    }
    if status == StatusCode::UNAUTHORIZED {
        return Err(Error::UpstreamCredentialsRejected { http_status });
    }
    if status.is_success()
        && let Some(answer) = decode_success::<T>(content_type, body)
        && !answer.carries_errors()
    {
        return Ok(answer);
    }
    let parsed = match parse_body(content_type, body) {
        Ok(parsed) => parsed,
        Err(problem) => {
            log_body(endpoint, http_status, content_type, body);
            if status == StatusCode::FORBIDDEN {
                return Err(Error::UpstreamCredentialsRejected { http_status });
            }
            return Err(Error::UpstreamResponseInvalid { detail: format!("{endpoint}: {problem}"), http_status });
        }
    };
    if let Some(vendor) = parsed.vendor_error(http_status) {
        return Err(Error::Vendor(vendor));
    }
    if status == StatusCode::FORBIDDEN {
        return Err(Error::UpstreamCredentialsRejected { http_status });
    }
    if !status.is_success() {
        log_body(endpoint, http_status, content_type, body);
        return Err(Error::UpstreamResponseInvalid {
            detail: format!("{endpoint} answered HTTP {http_status} without an errors element"),
            http_status,
        });
    }
    parsed.decode().map_err(|path| {
        // serde's message can quote the offending value: neither the log nor the status
        // gets it, only where the problem is (and the log the answer's shape).
        tracing::debug!(endpoint, at = %path, "2Checkout answer has an unexpected shape");
        log_body(endpoint, http_status, content_type, body);
        Error::UpstreamResponseInvalid { detail: format!("{endpoint}: unexpected value at {path}"), http_status }
    })
}

/// The wire value of a body that is well-formed, within the limits and of the wire
/// type's shape, decoded in one pass; `None` for anything else, which the caller reads again.
fn decode_success<'a, T: Answer<'a>>(content_type: &str, body: &'a [u8]) -> Option<T> {
    let text = std::str::from_utf8(body).ok()?;
    match format_of(content_type, text)? {
        // The limits are counted as the XML is read.
        Format::Xml => xml::from_str(text).ok(),
        Format::Json if text.trim_start().starts_with('{') => {
            limits::check_json(body).ok()?;
            serde_json::from_str(text).ok()
        }
        Format::Json => None,
    }
}

/// The two formats an answer may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// The body's format by what it is, not by what was asked for: its declared media type,
/// or, when none is declared, its first character.
fn format_of(content_type: &str, text: &str) -> Option<Format> {
    let first = text.trim_start().chars().next();
    let media = content_type.split(';').next().unwrap_or("").trim();
    let ends_with = |suffix: &str| {
        let media = media.as_bytes();
        media.len() >= suffix.len() && media[media.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    if ends_with("/xml") || ends_with("+xml") || (media.is_empty() && first == Some('<')) {
        Some(Format::Xml)
    } else if ends_with("/json") || ends_with("+json") || (media.is_empty() && matches!(first, Some('{' | '['))) {
        Some(Format::Json)
    } else {
        None
    }
}

/// An answer read by its format and within the limits, not yet decoded into a type.
enum Parsed<'a> {
    /// Well-formed JSON whose top level is an object; `has_errors` when it has an `errors` member.
    ///
    /// JSON is decoded from its text straight into the wire types, with no
    /// generic tree in between: a tree of `serde_json::Value` costs many times
    /// the text (an 8 MiB array of numbers took 140 MB), and fields the wire
    /// types do not name are skipped without being built at all.
    Json { text: &'a str, has_errors: bool },
    /// Well-formed XML within the XML limits, decoded from its text likewise (see [`xml`]).
    Xml { text: &'a str },
}

/// Whether a JSON object has an `errors` member that is not null; reading it
/// checks the whole text's syntax without building anything.
#[derive(serde::Deserialize)]
struct ErrorsPresence {
    #[serde(default)]
    errors: Option<serde::de::IgnoredAny>,
}

impl<'a> Parsed<'a> {
    /// The first `errors` element of the answer, if it carries one with a code.
    fn vendor_error(&self, http_status: u16) -> Option<VendorError> {
        let body: ErrorsBody = match self {
            Self::Json { has_errors: false, .. } => return None,
            Self::Json { text, has_errors: true } => serde_json::from_str(text).ok()?,
            Self::Xml { text } => xml::from_str(text).ok()?,
        };
        let first = body.errors.0.into_iter().find(|e| e.code.get().is_some())?;
        Some(VendorError {
            code: AdminCode::parse(first.code.get()?),
            message: first.message.get().unwrap_or("2Checkout reported an error without a message").to_owned(),
            parameter: first.parameter.get().map(str::to_owned),
            http_status,
        })
    }

    /// Decodes the answer into its wire type, or says the path of the bad value.
    fn decode<T: serde::Deserialize<'a>>(self) -> Result<T, String> {
        match self {
            Self::Json { text, .. } => serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
                .map_err(|e| e.path().to_string()),
            Self::Xml { text } => xml::from_str_with_path(text),
        }
    }
}

/// Reads the body by what it is, not by what was asked for, refusing it if
/// it exceeds the limits of [`limits`] (before anything is built from it).
fn parse_body<'a>(content_type: &str, body: &'a [u8]) -> Result<Parsed<'a>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    match format_of(content_type, text) {
        // The reader's message can quote the body: not even the debug log gets it.
        Some(Format::Xml) => xml::check(text).map(|()| Parsed::Xml { text }).map_err(|e| match e {
            xml::XmlError::TooComplex(_) => e.to_string(),
            xml::XmlError::Malformed(_) | xml::XmlError::Shape(_) => {
                tracing::debug!("unreadable XML from 2Checkout");
                "malformed XML".to_owned()
            }
        }),
        Some(Format::Json) => {
            if !text.trim_start().starts_with('{') {
                // Never decoded into a wire type: serde reads a struct from an array too.
                return Err("the JSON body is not an object".into());
            }
            limits::check_json(body).map_err(|e| format!("JSON {e}"))?;
            // serde_json's syntax errors give a position, never content.
            let presence: ErrorsPresence = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
            Ok(Parsed::Json { text, has_errors: presence.errors.is_some() })
        }
        None => {
            let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            Err(format!("expected JSON or XML, got {:?}", if media.is_empty() { "no content type" } else { &media }))
        }
    }
}

/// The largest body whose shape the debug log describes: describing it builds
/// a generic tree, which costs many times the body.
const MAX_LOGGED_SHAPE_BYTES: usize = 64 * 1024;

/// Logs (at debug) what an unexpected answer looked like: its size and, when
/// it parses, its shape (every element name, with each value replaced by its
/// kind and length). Never the values: a sale holds its buyer's name, e-mail
/// address and card details, and debug logs travel as far as any other.
fn log_body(endpoint: &str, http_status: u16, content_type: &str, body: &[u8]) {
    // Parsing the body again is for the debug line only: skip it when nobody reads that.
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let shape = if body.len() > MAX_LOGGED_SHAPE_BYTES {
        "(too large to describe)".to_owned()
    } else {
        let value = match parse_body(content_type, body) {
            Ok(Parsed::Json { text, .. }) => serde_json::from_str(text).ok(),
            Ok(Parsed::Xml { text }) => xml::to_json(text).ok(),
            Err(_) => None,
        };
        value.map_or_else(|| "(unparsable)".to_owned(), |value| shape_of(&value).to_string())
    };
    tracing::debug!(endpoint, http_status, content_type, body_bytes = body.len(), shape, "unexpected 2Checkout answer");
}

/// A value with every leaf replaced by a description of it (`"<string 12>"`).
fn shape_of(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), shape_of(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(shape_of).collect()),
        Value::String(text) => Value::String(format!("<string {}>", text.chars().count())),
        Value::Number(_) => Value::String("<number>".into()),
        Value::Bool(_) => Value::String("<bool>".into()),
        Value::Null => Value::Null,
    }
}

impl SalesPort for AdminApiClient {
    async fn get_sale(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<Sale, Error> {
        const ENDPOINT: &str = "sales/detail_sale";
        let params = match lookup {
            SaleLookup::BySale(id) => [("sale_id", id.to_string())],
            SaleLookup::ByInvoice(id) => [("invoice_id", id.to_string())],
        };
        // Decoded and converted while the body is at hand: the wire values borrow from it.
        self.call(ctx, CallKind::Read, ENDPOINT, &params, |status, content_type, body| {
            let answer: DetailSaleBody<'_> = interpret(ENDPOINT, status, content_type, body)?;
            let sale = answer.sale.ok_or_else(|| Error::UpstreamResponseInvalid {
                detail: format!("{ENDPOINT}: the answer has no sale"),
                http_status: 200,
            })?;
            sale.into_domain()
                .map_err(|e| Error::UpstreamResponseInvalid { detail: format!("{ENDPOINT}: {e}"), http_status: 200 })
        })
        .await
    }

    async fn list_sales(&self, ctx: CallContext, query: &ListSalesQuery) -> Result<SalesPage, Error> {
        const ENDPOINT: &str = "sales/list_sales";
        let params = list_sales_params(query);
        let page = self
            .call(ctx, CallKind::Read, ENDPOINT, &params, |status, content_type, body| {
                let answer: ListSalesBody<'_> = interpret(ENDPOINT, status, content_type, body)?;
                answer.into_domain(query.page).map_err(|e| Error::UpstreamResponseInvalid {
                    detail: format!("{ENDPOINT}: {e}"),
                    http_status: 200,
                })
            })
            .await;
        match page {
            // The live API answers "no rows" with HTTP 400 RECORD_NOT_FOUND; that is an empty page.
            Err(Error::Vendor(v)) if v.code == AdminCode::RecordNotFound => Ok(SalesPage::empty(query.page)),
            other => other,
        }
    }
}

impl SalesWritePort for AdminApiClient {
    async fn write(&self, ctx: CallContext, request: &WriteRequest) -> Result<WriteReceipt, Error> {
        let (endpoint, params) = write_params(&request.write);
        let message = self
            .call(ctx, CallKind::Write, endpoint, &params, |status, content_type, body| {
                interpret_write(endpoint, status, content_type, body)
            })
            .await?;
        Ok(WriteReceipt { message })
    }
}

/// The endpoint and form of one write.
fn write_params(write: &SaleWrite) -> (&'static str, Vec<(&'static str, String)>) {
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    let target = |params: &mut Vec<(&'static str, String)>, target: &SaleOrInvoice| {
        if let Some(sale_id) = target.sale_id() {
            params.push(("sale_id", sale_id.to_string()));
        }
        if let Some(invoice_id) = target.invoice_id() {
            params.push(("invoice_id", invoice_id.to_string()));
        }
    };
    let refund = |params: &mut Vec<(&'static str, String)>, refund: &Refund| {
        if let Some(amount) = refund.amount {
            params.push(("amount", amount.amount.to_string()));
            params.push(("currency", amount.currency.as_vendor_str().to_owned()));
        }
        params.push(("comment", refund.comment.as_str().to_owned()));
        params.push(("category", refund.category.number().to_string()));
    };
    let mut params = Vec::new();
    let endpoint = match write {
        SaleWrite::RefundInvoice { target: t, refund: r } => {
            target(&mut params, t);
            refund(&mut params, r);
            "sales/refund_invoice"
        }
        SaleWrite::RefundLineItem { line_item_id, refund: r, .. } => {
            params.push(("lineitem_id", line_item_id.to_string()));
            refund(&mut params, r);
            "sales/refund_lineitem"
        }
        SaleWrite::Reauthorize { sale_id } => {
            params.push(("sale_id", sale_id.to_string()));
            "sales/reauth"
        }
        SaleWrite::StopLineItemRecurring { line_item_id, .. } => {
            params.push(("lineitem_id", line_item_id.to_string()));
            "sales/stop_lineitem_recurring"
        }
        SaleWrite::MarkShipped { target: t, tracking_number, notify_customer, reauthorize, comment } => {
            target(&mut params, t);
            params.push(("tracking_number", tracking_number.as_str().to_owned()));
            params.push(("cc_customer", flag(*notify_customer)));
            params.push(("reauthorize", flag(*reauthorize)));
            if let Some(comment) = comment {
                params.push(("comment", comment.as_str().to_owned()));
            }
            "sales/mark_shipped"
        }
        SaleWrite::CreateComment { sale_id, text, notify_vendor, notify_customer } => {
            params.push(("sale_id", sale_id.to_string()));
            params.push(("sale_comment", text.as_str().to_owned()));
            params.push(("cc_vendor", flag(*notify_vendor)));
            params.push(("cc_customer", flag(*notify_customer)));
            "sales/create_comment"
        }
    };
    (endpoint, params)
}

/// The query parameters of a list_sales call; only what is set is sent.
fn list_sales_params(query: &ListSalesQuery) -> Vec<(&'static str, String)> {
    let f = &query.filter;
    let mut params: Vec<(&'static str, String)> = Vec::new();
    let mut text = |name: &'static str, value: Option<String>| {
        if let Some(value) = value {
            params.push((name, value));
        }
    };
    text("sale_id", f.sale_id.as_ref().map(ToString::to_string));
    text("invoice_id", f.invoice_id.as_ref().map(ToString::to_string));
    text("customer_name", f.customer_name.clone());
    text("customer_email", f.customer_email.clone());
    text("customer_phone", f.customer_phone.clone());
    text("vendor_product_id", f.vendor_product_id.clone());
    text("ccard_first6", f.ccard_first6.clone());
    text("ccard_last2", f.ccard_last2.clone());
    text("sale_date_begin", f.sale_date_begin.map(|d| d.format("%Y-%m-%d").to_string()));
    text("sale_date_end", f.sale_date_end.map(|d| d.format("%Y-%m-%d").to_string()));
    let flag = |on: bool| on.then(|| "1".to_owned());
    text("declined_recurrings", flag(f.declined_recurrings));
    text("active_recurrings", flag(f.active_recurrings));
    text("refunded", flag(f.refunded));
    text("cur_page", Some(query.page.page.to_string()));
    text("pagesize", Some(query.page.page_size.to_string()));
    text(
        "sort_col",
        query.sort_column.map(|c| {
            match c {
                SortColumn::SaleId => "sale_id",
                SortColumn::DatePlaced => "date_placed",
                SortColumn::CustomerName => "customer_name",
                SortColumn::Recurring => "recurring",
                SortColumn::RecurringDeclined => "recurring_declined",
                SortColumn::UsdTotal => "usd_total",
            }
            .to_owned()
        }),
    );
    text(
        "sort_dir",
        query.sort_direction.map(|d| match d {
            SortDirection::Ascending => "ASC".to_owned(),
            SortDirection::Descending => "DESC".to_owned(),
        }),
    );
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_a_tenth_of_the_remaining_time_between_50_ms_and_1_s() {
        let ms = Duration::from_millis;
        assert_eq!(deadline_margin(ms(20)), ms(50), "the floor");
        assert_eq!(deadline_margin(ms(499)), ms(50));
        assert_eq!(deadline_margin(ms(600)), ms(60));
        assert_eq!(deadline_margin(ms(5_000)), ms(500));
        assert_eq!(deadline_margin(ms(10_000)), ms(1_000));
        assert_eq!(deadline_margin(Duration::from_secs(60)), ms(1_000), "the cap");
    }

    #[test]
    fn the_upstream_gets_what_is_left_after_the_margin_within_the_request_timeout() {
        let (ms, timeout) = (Duration::from_millis, Duration::from_secs(15));
        assert_eq!(budget_within(ms(600), timeout), Some(ms(540)));
        assert_eq!(budget_within(ms(5_000), timeout), Some(ms(4_500)));
        assert_eq!(budget_within(ms(100), timeout), Some(ms(50)));
        assert_eq!(budget_within(Duration::from_secs(60), timeout), Some(timeout), "the request timeout still bounds");
        assert_eq!(budget_within(ms(50), timeout), None, "nothing left once the margin is kept: nothing is sent");
        assert_eq!(budget_within(Duration::ZERO, timeout), None);
    }

    #[test]
    fn without_a_deadline_the_request_timeout_applies() {
        let ctx = CallContext::default();
        assert_eq!(time_budget(ctx, Duration::from_secs(15)).ok(), Some(Duration::from_secs(15)));
    }

    #[test]
    fn a_deadline_too_close_to_keep_the_margin_is_a_timeout_before_sending() {
        let ctx = CallContext { deadline: Some(Instant::now() + Duration::from_millis(10)), ..CallContext::default() };
        assert!(matches!(time_budget(ctx, Duration::from_secs(15)), Err(Error::UpstreamTimeout { .. })));
    }

    fn detail<'a>(status: u16, content_type: &str, body: &'a str) -> Result<DetailSaleBody<'a>, Error> {
        interpret("sales/detail_sale", StatusCode::from_u16(status).unwrap(), content_type, body.as_bytes())
    }

    #[test]
    fn an_errors_element_is_an_error_whatever_the_http_status() {
        let body = r#"{"errors":[{"code":"RECORD_NOT_FOUND","message":"Unable to find record."}]}"#;
        for status in [200, 400, 404] {
            let Err(Error::Vendor(v)) = detail(status, "application/json", body) else { panic!("{status}") };
            assert_eq!(v.code, AdminCode::RecordNotFound);
            assert_eq!(v.http_status, status);
        }
    }

    #[test]
    fn xml_is_read_whatever_was_asked_for() {
        let body =
            "<response><errors><code>FORBIDDEN</code><message>Access denied to sale.</message></errors></response>";
        let Err(Error::Vendor(v)) = detail(400, "application/xml; charset=utf-8", body) else { panic!() };
        assert_eq!(v.message, "Access denied to sale.");
    }

    #[test]
    fn unexpected_bodies_become_clean_errors_without_the_body() {
        for (status, content_type, body) in [
            (200, "text/html", "<html><body>Maintenance</body></html>"),
            (200, "application/json", r#"{"sale": {"sale_id": "1", "invoices": [{"invoice_id"#),
            (200, "application/json", r#"{"sale": {"sale_id": {"nested": true}}}"#),
            (200, "", "\u{0}\u{1}binary"),
            (404, "text/plain", "not found"),
        ] {
            let err = detail(status, content_type, body).unwrap_err();
            assert!(matches!(err, Error::UpstreamResponseInvalid { .. }), "{err:?}");
            assert!(!err.to_string().contains("Maintenance"));
        }
    }

    #[test]
    fn server_errors_are_unavailable_and_401_is_the_gateways_credentials() {
        assert!(matches!(
            detail(503, "text/html", "down"),
            Err(Error::UpstreamUnavailable { http_status: Some(503), .. })
        ));
        assert!(matches!(
            detail(401, "application/json", "{}"),
            Err(Error::UpstreamCredentialsRejected { http_status: 401 })
        ));
        assert!(matches!(
            detail(403, "text/html", "<h1>no</h1"),
            Err(Error::UpstreamCredentialsRejected { http_status: 403 })
        ));
    }

    fn write(status: u16, content_type: &str, body: &str) -> Result<String, Error> {
        interpret_write("sales/refund_invoice", StatusCode::from_u16(status).unwrap(), content_type, body.as_bytes())
    }

    fn assert_unknown(outcome: Result<String, Error>, status: u16, shape: &str) {
        match outcome {
            Err(Error::OutcomeUnknown { timed_out: false, http_status: Some(s), .. }) if s == status => {}
            other => panic!("{shape}: expected OUTCOME_UNKNOWN with HTTP {status}, got {other:?}"),
        }
    }

    #[test]
    fn a_write_succeeds_only_when_the_body_says_response_code_ok_in_json_or_xml() {
        let json = r#"{"response_code":"OK","response_message":"refund added to invoice"}"#;
        assert_eq!(write(200, "application/json", json).unwrap(), "refund added to invoice");
        let xml = "<response><response_code>OK</response_code><response_message>refund added to invoice</response_message></response>";
        assert_eq!(write(200, "application/xml", xml).unwrap(), "refund added to invoice");
        assert_eq!(write(200, "application/json", r#"{"response_code":"OK"}"#).unwrap(), "OK", "a bare OK is still OK");
    }

    #[test]
    fn any_other_answer_to_a_write_is_outcome_unknown_never_success_nor_internal() {
        for (status, content_type, body) in [
            (200, "application/json", "{}"),
            (200, "application/json", r#"{"response_code":"FAIL","response_message":"refund added to invoice"}"#),
            (200, "application/json", r#"{"response_code":"ok"}"#),
            (200, "application/json", r#"{"response_code":""}"#),
            (200, "application/json", r#"{"response_code":null}"#),
            (200, "application/json", r#"{"response_message":"refund added to invoice"}"#),
            (201, "application/json", r#"{"response_code":{"nested":"OK"}}"#),
            (200, "application/xml", "<response><response_code>FAIL</response_code></response>"),
            (200, "application/xml", "<response></response>"),
            (200, "application/xml", "<response><response_code>OK"),
            (200, "text/html", "<html><body>Refund queued</body></html>"),
            (200, "application/json", r#"{"response_code":"OK""#),
            (200, "application/json", r#"["OK"]"#),
            (200, "", "\u{0}\u{1}garbage"),
            (200, "application/json", ""),
            (204, "", ""),
            (404, "text/plain", "not found"),
            (500, "application/json", r#"{"response_code":"OK"}"#),
            (503, "text/html", "down"),
        ] {
            assert_unknown(write(status, content_type, body), status, body);
        }
    }

    #[test]
    fn a_redirect_is_outcome_unknown_for_a_write_and_unavailable_for_a_read() {
        let ok = r#"{"response_code":"OK","response_message":"refund added to invoice"}"#;
        for status in [301, 302, 303, 307, 308] {
            let Err(Error::OutcomeUnknown { detail: said, .. }) = write(status, "application/json", ok) else {
                panic!()
            };
            assert!(said.contains("a redirect, which the gateway never follows"), "{said}");
            assert_unknown(write(status, "application/json", ok), status, "redirect");
            assert!(
                matches!(detail(status, "application/json", "{}"), Err(Error::UpstreamUnavailable { http_status: Some(s), .. }) if s == status),
                "{status}"
            );
        }
    }

    #[test]
    fn refusals_of_a_write_stay_definite() {
        let body = r#"{"errors":[{"code":"TOO_HIGH","message":"Amount greater than remaining balance on invoice."}]}"#;
        assert!(matches!(write(400, "application/json", body), Err(Error::Vendor(v)) if v.code == AdminCode::TooHigh));
        assert!(matches!(write(200, "application/json", body), Err(Error::Vendor(_))), "errors wins over the status");
        assert!(matches!(write(401, "application/json", "{}"), Err(Error::UpstreamCredentialsRejected { .. })));
    }

    /// `levels` nested JSON arrays or XML elements under a valid-looking answer.
    fn nested_answers(levels: usize) -> [(&'static str, String); 2] {
        let json = format!(r#"{{"response_code":"OK","x":{}{}}}"#, "[".repeat(levels), "]".repeat(levels));
        let xml = format!(
            "<response><response_code>OK</response_code>{}{}</response>",
            "<x>".repeat(levels),
            "</x>".repeat(levels)
        );
        [("application/json", json), ("application/xml", xml)]
    }

    #[test]
    fn an_answer_nested_past_the_limit_is_invalid_for_a_read_and_outcome_unknown_for_a_write() {
        for (content_type, body) in nested_answers(16_000) {
            let Err(Error::UpstreamResponseInvalid { detail: said, .. }) = detail(200, content_type, &body) else {
                panic!("{content_type}")
            };
            assert!(said.contains("nested deeper than 64 levels"), "{said}");
            assert_unknown(write(200, content_type, &body), 200, content_type);
        }
        for (content_type, body) in nested_answers(limits::MAX_NESTING_DEPTH - 4) {
            assert!(write(200, content_type, &body).is_ok(), "{content_type}: within the limit");
        }
    }

    #[test]
    fn an_answer_of_more_objects_or_elements_than_the_limits_is_refused_before_decoding() {
        let invoices = |count: usize| format!(r#"{{"sale":{{"invoices":[{}]}}}}"#, vec!["{}"; count].join(","));
        assert!(detail(200, "application/json", &invoices(limits::MAX_JSON_CONTAINERS - 3)).is_ok());
        let Err(Error::UpstreamResponseInvalid { detail: said, .. }) =
            detail(200, "application/json", &invoices(limits::MAX_JSON_CONTAINERS))
        else {
            panic!()
        };
        assert!(said.contains("more than 4096 objects and arrays"), "{said}");
        let elements = format!("<response><response_code>OK</response_code>{}</response>", "<x/>".repeat(20_000));
        let Err(Error::UpstreamResponseInvalid { detail: said, .. }) = detail(200, "application/xml", &elements) else {
            panic!()
        };
        assert!(said.contains("more than 16384 elements"), "{said}");
        assert_unknown(write(200, "application/xml", &elements), 200, "XML elements");
        let flood = format!(r#"{{"response_code":"OK","x":[{}]}}"#, vec!["[]"; 5_000].join(","));
        assert_unknown(write(200, "application/json", &flood), 200, "JSON arrays");
    }

    #[test]
    fn a_vendor_error_is_found_without_decoding_the_rest_of_the_answer() {
        let body =
            r#"{"sale":{"sale_id":{"not":"text"}},"errors":[{"code":"FORBIDDEN","message":"Access denied to sale."}]}"#;
        let Err(Error::Vendor(v)) = detail(400, "application/json", body) else { panic!() };
        assert_eq!(v.code, AdminCode::Forbidden);
        let null_errors = r#"{"errors":null,"response_code":"OK","response_message":"done"}"#;
        assert_eq!(write(200, "application/json", null_errors).unwrap(), "done", "a null errors element is none");
    }

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_redirect_is_logged_with_the_origin_of_its_location_only() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
        let from = Url::parse("https://www.2checkout.com/api/sales/refund_invoice").unwrap();
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::LOCATION,
            header::HeaderValue::from_static("https://thief.example:8443/collect/SECRET-PATH?private_key=SECRET-KEY"),
        );
        tracing::subscriber::with_default(subscriber, || {
            log_redirect("sales/refund_invoice", StatusCode::TEMPORARY_REDIRECT, &from, &headers);
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("https://thief.example:8443"), "{logged}");
        assert!(!logged.contains("SECRET"), "the Location's path or query reached the log: {logged}");
    }
}
