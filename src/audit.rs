//! The audit trail: one structured record per write and per authorization
//! (and per call the auth layer denies), on the log target [`TARGET`] and,
//! inside the call's server span, as an OpenTelemetry span event named
//! [`EVENT`] (tracing-opentelemetry turns the event into one).
//!
//! # What a record holds, and what it never does
//! Fields are whitelisted one by one in [`AuditRecord`]: who called
//! (`identity`, `proof`), what (`method`, `request_id`, `sale_id`,
//! `invoice_id`, `line_item_id`, `amount`, `currency`, `full_refund`,
//! `category`, `comment_chars`, `demo`), how it ended (`code`, `reason`,
//! `effect`, `replayed`) and where to find the rest (`trace_id`). Nothing
//! else of a request can reach a record: no secret, no card token, no buyer
//! data (names, e-mails, addresses, phones, card digits). Free text the
//! caller writes about a sale (a refund's or a shipment's comment, a sale
//! comment) is buyer-adjacent — support staff paste names and addresses into
//! it — so only its length is kept; the tracking number is left out for the
//! same reason (a carrier's site turns it into the recipient's address).
//!
//! # Outcome
//! `code` is the gRPC code the caller got and `reason` the `ErrorInfo.reason`
//! (absent on OK). `effect` says what a reader of the trail most wants to
//! know, whether money or a sale may have changed: `applied` (OK),
//! `not_applied` (refused, by validation, the vendor or the gateway), or
//! `unknown` (OUTCOME_UNKNOWN, an undecodable answer to a write, or a call
//! that ended before its handler did: a write goes on in its own task, and a
//! retry with the same request_id tells). `replayed` is true when the
//! outcome is one an earlier call with the same request_id already had (the
//! idempotency store answered; nothing was sent again).
//!
//! Calls refused at validation are audited too (attempts matter to a
//! payments team): they carry the request_id when it was a valid UUID and
//! no ids, since none was validated.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use opentelemetry::trace::TraceContextExt as _;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::{
    auth::{Caller, Proof},
    domain::{Amount, RequestId, SaleWrite, WriteRequest, reason},
    grpc::status::code_name,
};

/// The log target of every audit record: route or filter it by this name
/// (`RUST_LOG=warn,tco_gateway::audit=info` keeps the trail in a quiet log).
pub const TARGET: &str = "tco_gateway::audit";

/// The message of every audit record, and the name of its OpenTelemetry span event.
pub const EVENT: &str = "audit";

/// How an identity shows when the call carries none (zero-setup mode, no policy).
pub const ANONYMOUS: &str = "anonymous";

/// What the record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A write on a sale (SalesService).
    Write,
    /// A card authorization (AuthorizationService/Authorize).
    Authorization,
    /// A call the auth layer refused before any handler ran.
    Denied,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Authorization => "authorization",
            Self::Denied => "denied",
        }
    }
}

/// Whether the call may have changed anything; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Applied,
    NotApplied,
    Unknown,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::NotApplied => "not_applied",
            Self::Unknown => "unknown",
        }
    }

    /// The effect of a call that ended with `code` and `reason`.
    pub fn of(code: Code, reason: Option<&str>) -> Self {
        match (code, reason) {
            (Code::Ok, _) => Self::Applied,
            (_, Some(reason::OUTCOME_UNKNOWN | reason::UPSTREAM_RESPONSE_INVALID)) | (Code::Cancelled, _) => {
                Self::Unknown
            }
            _ => Self::NotApplied,
        }
    }
}

/// One audit record: every field the trail may hold, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub kind: Kind,
    /// The caller's identity, or [`ANONYMOUS`].
    pub identity: String,
    /// How the caller proved it: `certificate`, `bearer_token` or `none`.
    pub proof: &'static str,
    /// `package.Service/Method`, as the policy file names methods.
    pub method: String,
    pub request_id: Option<String>,
    pub sale_id: Option<String>,
    pub invoice_id: Option<String>,
    pub line_item_id: Option<String>,
    /// A refund's amount as asked, an authorization's total.
    pub amount: Option<Amount>,
    /// `usd`, `vendor` or `customer` for a refund; the ISO code for an authorization.
    pub currency: Option<String>,
    /// A refund without an amount (the whole remaining balance).
    pub full_refund: Option<bool>,
    /// The refund category number.
    pub category: Option<u8>,
    /// The length in characters of the free text the write carries (never the text).
    pub comment_chars: Option<usize>,
    /// An authorization in demo mode (no money moves).
    pub demo: Option<bool>,
    /// The gRPC code the caller got.
    pub code: Code,
    /// The `ErrorInfo.reason` the caller got; `None` on OK.
    pub reason: Option<String>,
    pub replayed: bool,
    /// The W3C trace id of the call's server span.
    pub trace_id: Option<String>,
}

impl AuditRecord {
    /// A record of `kind` for `method` by `caller` (none: anonymous), with the
    /// current span's trace id; ids and amounts to be filled in.
    pub fn new(kind: Kind, method: &str, caller: Option<&Caller>) -> Self {
        let (identity, proof) = identity_of(caller);
        Self {
            kind,
            identity,
            proof,
            method: bounded_method(method),
            request_id: None,
            sale_id: None,
            invoice_id: None,
            line_item_id: None,
            amount: None,
            currency: None,
            full_refund: None,
            category: None,
            comment_chars: None,
            demo: None,
            code: Code::Ok,
            reason: None,
            replayed: false,
            trace_id: current_trace_id(),
        }
    }

    /// Fills in what a validated write names: ids, amount, currency, category
    /// and the length of its free text.
    pub fn describe_write(&mut self, request: &WriteRequest) {
        self.request_id = Some(request.request_id.to_string());
        let chars = |text: &crate::domain::Text| text.as_str().chars().count();
        match &request.write {
            SaleWrite::RefundInvoice { target, refund } => {
                self.sale_id = target.sale_id().map(ToString::to_string);
                self.invoice_id = target.invoice_id().map(ToString::to_string);
                self.describe_refund(refund);
            }
            SaleWrite::RefundLineItem { sale_id, line_item_id, refund } => {
                self.sale_id = Some(sale_id.to_string());
                self.line_item_id = Some(line_item_id.to_string());
                self.describe_refund(refund);
            }
            SaleWrite::Reauthorize { sale_id } => self.sale_id = Some(sale_id.to_string()),
            SaleWrite::StopLineItemRecurring { sale_id, line_item_id } => {
                self.sale_id = Some(sale_id.to_string());
                self.line_item_id = Some(line_item_id.to_string());
            }
            SaleWrite::MarkShipped { target, comment, .. } => {
                self.sale_id = target.sale_id().map(ToString::to_string);
                self.invoice_id = target.invoice_id().map(ToString::to_string);
                self.comment_chars = Some(comment.as_ref().map_or(0, chars));
            }
            SaleWrite::CreateComment { sale_id, text, .. } => {
                self.sale_id = Some(sale_id.to_string());
                self.comment_chars = Some(chars(text));
            }
        }
    }

    fn describe_refund(&mut self, refund: &crate::domain::Refund) {
        self.amount = refund.amount.map(|a| a.amount);
        self.currency = refund.amount.map(|a| a.currency.as_vendor_str().to_owned());
        self.full_refund = Some(refund.amount.is_none());
        self.category = Some(refund.category.number());
        self.comment_chars = Some(refund.comment.as_str().chars().count());
    }

    /// Records how the call ended: the status's code and `ErrorInfo.reason`
    /// (`None`: OK).
    pub fn set_outcome(&mut self, status: Option<&Status>) {
        match status {
            None => {
                self.code = Code::Ok;
                self.reason = None;
            }
            Some(status) => {
                self.code = status.code();
                self.reason = status.get_error_details().error_info().map(|info| bounded_reason(&info.reason));
            }
        }
    }

    /// What the call may have changed.
    pub fn effect(&self) -> Effect {
        Effect::of(self.code, self.reason.as_deref())
    }
}

/// Emits `record` on [`TARGET`] at INFO, in the current span (so it is also
/// an OpenTelemetry event of that span). The one place a record is written.
pub fn emit(record: &AuditRecord) {
    let amount = record.amount.map(|a| a.to_string());
    tracing::info!(
        target: TARGET,
        audit = record.kind.as_str(),
        identity = record.identity.as_str(),
        proof = record.proof,
        method = record.method.as_str(),
        request_id = record.request_id.as_deref(),
        sale_id = record.sale_id.as_deref(),
        invoice_id = record.invoice_id.as_deref(),
        line_item_id = record.line_item_id.as_deref(),
        amount = amount.as_deref(),
        currency = record.currency.as_deref(),
        full_refund = record.full_refund,
        category = record.category.map(u64::from),
        comment_chars = record.comment_chars.map(|n| n as u64),
        demo = record.demo,
        code = code_name(record.code),
        reason = record.reason.as_deref(),
        effect = record.effect().as_str(),
        replayed = record.replayed,
        trace_id = record.trace_id.as_deref(),
        "{EVENT}"
    );
}

/// Records a call the auth layer refused (UNAUTHENTICATED, PERMISSION_DENIED,
/// RESOURCE_EXHAUSTED) before any handler saw it: who (as far as known),
/// which method (the request's path; anything that is not a plausible gRPC
/// method is recorded as `_OTHER`), and the status it got. No ids or amounts:
/// the request was never read. Call it inside the call's server span, so the
/// trace id is the call's.
pub fn record_denied(caller: Option<&Caller>, path: &str, status: &Status) {
    let mut record = AuditRecord::new(Kind::Denied, path.strip_prefix('/').unwrap_or(path), caller);
    record.set_outcome(Some(status));
    emit(&record);
}

/// An audit record being built during a call; emitted exactly once, by
/// [`PendingAudit::finish`] or, if the call's future is dropped first (the
/// caller went away, a deadline fired), when it drops, as CANCELLED with an
/// unknown effect.
#[derive(Debug)]
pub struct PendingAudit {
    record: AuditRecord,
    span: Span,
    replayed: Arc<AtomicBool>,
    emitted: bool,
}

impl PendingAudit {
    /// Starts the record of a call of `method` (`package.Service/Method`) of
    /// `kind`, with the caller the auth layer put in the request's extensions.
    pub fn begin<T>(request: &tonic::Request<T>, kind: Kind, method: &str) -> Self {
        Self {
            record: AuditRecord::new(kind, method, request.extensions().get::<Caller>()),
            span: Span::current(),
            replayed: Arc::new(AtomicBool::new(false)),
            emitted: false,
        }
    }

    /// The record, to fill in what the validated request names.
    pub fn record(&mut self) -> &mut AuditRecord {
        &mut self.record
    }

    /// Sets the request id from the raw request, when it is a valid one (a
    /// request refused at validation still names its attempt this way).
    pub fn set_raw_request_id(&mut self, raw: &str) {
        self.record.request_id = raw.parse::<RequestId>().ok().map(|id| id.to_string());
    }

    /// What notes, for this record, whether the idempotency store answered
    /// the call from an earlier outcome: run the call in [`ReplayWatch::run`].
    pub fn replay_watch(&self) -> ReplayWatch {
        ReplayWatch(Arc::clone(&self.replayed))
    }

    /// Emits the record with the call's outcome (`Err`: the status the caller gets).
    pub fn finish<T>(mut self, outcome: &Result<T, Status>) {
        self.record.set_outcome(outcome.as_ref().err());
        self.emit_once();
    }

    fn emit_once(&mut self) {
        if std::mem::replace(&mut self.emitted, true) {
            return;
        }
        self.record.replayed = self.replayed.load(Ordering::Relaxed);
        self.span.in_scope(|| emit(&self.record));
    }
}

impl Drop for PendingAudit {
    fn drop(&mut self) {
        if !self.emitted {
            self.record.code = Code::Cancelled;
            self.record.reason = None;
            self.emit_once();
        }
    }
}

/// Runs a call so that [`note_replay`] inside it marks its audit record.
#[derive(Debug)]
pub struct ReplayWatch(Arc<AtomicBool>);

impl ReplayWatch {
    pub async fn run<F: Future>(self, call: F) -> F::Output {
        REPLAYED.scope(self.0, call).await
    }
}

tokio::task_local! {
    /// Set while a handler's call runs in [`ReplayWatch::run`].
    static REPLAYED: Arc<AtomicBool>;
}

/// Notes that the current call's outcome is one the idempotency store kept
/// from an earlier call with the same request id. Outside a watched call it
/// does nothing.
pub fn note_replay() {
    let _ = REPLAYED.try_with(|replayed| replayed.store(true, Ordering::Relaxed));
}

fn identity_of(caller: Option<&Caller>) -> (String, &'static str) {
    let proof = match caller.map(|c| c.proof) {
        Some(Proof::Certificate) => "certificate",
        Some(Proof::BearerToken) => "bearer_token",
        Some(Proof::None) | None => "none",
    };
    let identity = caller.and_then(|c| c.identity.as_ref()).map_or_else(|| ANONYMOUS.to_owned(), |i| i.to_string());
    (identity, proof)
}

/// The W3C trace id of the current span, when it is traced.
fn current_trace_id() -> Option<String> {
    let context = Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

/// A method as the record shows it: `package.Service/Method` in the
/// characters gRPC names use, at most 200 of them; anything else (a path a
/// caller made up) is `_OTHER`, so a record never carries arbitrary input.
fn bounded_method(method: &str) -> String {
    let plausible = !method.is_empty()
        && method.len() <= 200
        && method.matches('/').count() == 1
        && method.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/".contains(&b));
    if plausible { method.to_owned() } else { "_OTHER".to_owned() }
}

/// A reason as the record shows it: gateway reasons and vendor codes are short
/// upper-case words or numbers; anything else is `_OTHER`.
fn bounded_reason(reason: &str) -> String {
    let plausible = !reason.is_empty()
        && reason.len() <= 64
        && reason.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if plausible { reason.to_owned() } else { "_OTHER".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::Identity,
        domain::{Error, Refund, RefundAmount, RefundCategory, RefundCurrency, SaleOrInvoice, Text, TextRules},
    };

    fn refund_request(amount: Option<&str>) -> WriteRequest {
        WriteRequest {
            request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".parse().unwrap(),
            write: SaleWrite::RefundInvoice {
                target: SaleOrInvoice::new(Some("4647892238".parse().unwrap()), None).unwrap(),
                refund: Refund {
                    amount: amount.map(|a| RefundAmount { amount: a.parse().unwrap(), currency: RefundCurrency::Usd }),
                    comment: Text::required("Jane Doe, 1 Main St, wants her money", TextRules::line(5000)).unwrap(),
                    category: RefundCategory::try_from(5).unwrap(),
                },
            },
        }
    }

    #[test]
    fn a_refund_record_keeps_ids_and_money_and_only_the_length_of_its_comment() {
        let mut record = AuditRecord::new(Kind::Write, "twocheckout.v1.SalesService/RefundInvoice", None);
        record.describe_write(&refund_request(Some("1.50")));
        assert_eq!(record.sale_id.as_deref(), Some("4647892238"));
        assert_eq!(record.amount, Some("1.50".parse().unwrap()));
        assert_eq!(record.currency.as_deref(), Some("usd"));
        assert_eq!(record.full_refund, Some(false));
        assert_eq!(record.comment_chars, Some(36));
        assert!(!format!("{record:?}").contains("Jane"), "{record:?}");
        let mut full = AuditRecord::new(Kind::Write, "twocheckout.v1.SalesService/RefundInvoice", None);
        full.describe_write(&refund_request(None));
        assert_eq!((full.amount, full.full_refund), (None, Some(true)));
    }

    #[test]
    fn without_a_caller_the_identity_is_anonymous() {
        assert_eq!(identity_of(None), (ANONYMOUS.to_owned(), "none"));
        assert_eq!(identity_of(Some(&Caller::anonymous())), (ANONYMOUS.to_owned(), "none"));
        let caller = Caller { identity: Some(Identity::parse("spiffe://a/b").unwrap()), proof: Proof::Certificate };
        assert_eq!(identity_of(Some(&caller)), ("spiffe://a/b".to_owned(), "certificate"));
    }

    #[test]
    fn the_effect_follows_the_outcome() {
        let effect = |error: Option<Error>| {
            let mut record = AuditRecord::new(Kind::Write, "a.B/C", None);
            record.set_outcome(error.map(Status::from).as_ref());
            record.effect()
        };
        assert_eq!(effect(None), Effect::Applied);
        assert_eq!(effect(Some(Error::invalid_field("amount", "bad"))), Effect::NotApplied);
        let lost = Error::OutcomeUnknown { detail: "lost".into(), timed_out: true, http_status: None };
        assert_eq!(effect(Some(lost)), Effect::Unknown);
        let undecodable = Error::UpstreamResponseInvalid { detail: "x".into(), http_status: 200 };
        assert_eq!(effect(Some(undecodable)), Effect::Unknown);
        assert_eq!(Effect::of(Code::Cancelled, None), Effect::Unknown);
    }

    #[test]
    fn methods_and_reasons_that_are_not_names_are_not_recorded() {
        assert_eq!(
            bounded_method("twocheckout.v1.SalesService/RefundInvoice"),
            "twocheckout.v1.SalesService/RefundInvoice"
        );
        for odd in ["", "a/b/c", "jane@example.com/x", "x y/z", &format!("a/{}", "b".repeat(200))] {
            assert_eq!(bounded_method(odd), "_OTHER", "{odd:?}");
        }
        assert_eq!(bounded_reason("REFUND_OVER_CEILING"), "REFUND_OVER_CEILING");
        assert_eq!(bounded_reason("jane@example.com"), "_OTHER");
    }

    /// The fields of every audit record emitted while `f` runs.
    fn captured(f: impl FnOnce()) -> Vec<std::collections::BTreeMap<String, String>> {
        use std::sync::Mutex;
        use tracing_subscriber::layer::SubscriberExt as _;

        type Records = Arc<Mutex<Vec<std::collections::BTreeMap<String, String>>>>;
        struct Capture(Records);
        struct Fields<'a>(&'a mut std::collections::BTreeMap<String, String>);
        impl tracing::field::Visit for Fields<'_> {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.insert(field.name().into(), value.into());
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.insert(field.name().into(), format!("{value:?}"));
            }
        }
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
            fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
                if event.metadata().target() == TARGET {
                    let mut fields = std::collections::BTreeMap::new();
                    event.record(&mut Fields(&mut fields));
                    self.0.lock().unwrap().push(fields);
                }
            }
        }
        let records = Records::default();
        let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&records)));
        tracing::subscriber::with_default(subscriber, f);
        records.lock().unwrap().clone()
    }

    #[test]
    fn a_denied_call_is_recorded_with_who_which_method_and_the_status_but_no_ids() {
        let caller = Caller { identity: Some(Identity::parse("spiffe://a/tool").unwrap()), proof: Proof::BearerToken };
        let details = tonic_types::ErrorDetails::with_error_info(
            "METHOD_NOT_ALLOWED",
            crate::grpc::status::ERROR_DOMAIN,
            std::collections::HashMap::new(),
        );
        let status = Status::with_error_details(Code::PermissionDenied, "not allowed", details);
        let records = captured(|| {
            record_denied(Some(&caller), "/twocheckout.v1.SalesService/RefundInvoice", &status);
            record_denied(None, "/jane@example.com/x", &Status::unauthenticated("no identity"));
        });
        assert_eq!(records.len(), 2);
        let denied = &records[0];
        let field = |record: &std::collections::BTreeMap<String, String>, key: &str| record.get(key).cloned();
        assert_eq!(field(denied, "audit").as_deref(), Some("denied"));
        assert_eq!(field(denied, "identity").as_deref(), Some("spiffe://a/tool"));
        assert_eq!(field(denied, "proof").as_deref(), Some("bearer_token"));
        assert_eq!(field(denied, "method").as_deref(), Some("twocheckout.v1.SalesService/RefundInvoice"));
        assert_eq!(field(denied, "code").as_deref(), Some("PERMISSION_DENIED"));
        assert_eq!(field(denied, "reason").as_deref(), Some("METHOD_NOT_ALLOWED"));
        assert_eq!(field(denied, "effect").as_deref(), Some("not_applied"));
        assert_eq!(field(denied, "message").as_deref(), Some(EVENT));
        for absent in ["request_id", "sale_id", "amount", "trace_id"] {
            assert_eq!(field(denied, absent), None, "{absent}: {denied:?}");
        }
        let unknown = &records[1];
        assert_eq!(field(unknown, "identity").as_deref(), Some(ANONYMOUS));
        assert_eq!(field(unknown, "method").as_deref(), Some("_OTHER"), "a made-up path is not recorded");
        assert_eq!(field(unknown, "code").as_deref(), Some("UNAUTHENTICATED"));
        assert_eq!(field(unknown, "reason"), None);
    }
}
