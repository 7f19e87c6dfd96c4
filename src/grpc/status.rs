//! Every status the gateway answers with, chosen here and only here: the
//! domain [`Error`] becomes a standard `google.rpc.Status` with
//! - one `ErrorInfo`: `reason` is the vendor's error code (RECORD_NOT_FOUND,
//!   ...) or a gateway reason (UPSTREAM_UNAVAILABLE, ...), `domain` is
//!   [`ERROR_DOMAIN`], and `metadata` holds `vendorCode`, `httpStatus` and
//!   `parameter` where they are known;
//! - a `BadRequest` naming the request field for argument errors;
//! - a `RetryInfo` where waiting helps.
//!
//! Codes follow AIP-193: INVALID_ARGUMENT is a request wrong in any state (or
//! one the caller must change to succeed, such as AMBIGUOUS); a refusal that
//! depends on the state of the sale is FAILED_PRECONDITION, and so is "already
//! done" (NOTHING_TO_DO: decided once, for every write, because nothing was
//! created that could "already exist"); problems between the gateway and
//! 2Checkout that the caller cannot fix are INTERNAL (never UNAUTHENTICATED:
//! the caller authenticated fine), and transient ones are UNAVAILABLE. A write
//! whose answer was lost is OUTCOME_UNKNOWN: DEADLINE_EXCEEDED when it timed
//! out, UNAVAILABLE when the connection failed after sending.
//!
//! The table is [`Row`]: [`Row::of`] finds an error's row and
//! [`Row::mapping`] gives the row's code, reason, retry and field, both by
//! exhaustive `match` (no wildcard over a domain enum), so an error variant
//! or a vendor code without a row does not compile. The README publishes the
//! table ([`markdown_table`], kept in step by a test).

use std::{collections::HashMap, time::Duration};

use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{AdminCode, Error, PaymentRefusal, reason};

/// The `ErrorInfo.domain` of every error the gateway returns.
pub const ERROR_DOMAIN: &str = "tco-gateway.twocheckout.v1";

/// How long a caller should wait before retrying when 2Checkout is unavailable.
const UNAVAILABLE_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a caller should wait before retrying a request id another call is still running:
/// about one upstream round trip, after which the owner has usually finished.
const IN_PROGRESS_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a caller should wait before retrying when the idempotency store is full: records
/// expire continuously, but a full store frees room slowly.
const STORE_FULL_RETRY_DELAY: Duration = Duration::from_secs(30);

/// How long a shed caller should wait: long enough for in-flight calls (hundreds of
/// milliseconds upstream) to finish and free their slots, short enough not to idle a replica.
const OVERLOADED_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a caller that found every upstream request slot busy should wait: about one
/// upstream round trip, by which time slots have usually come free.
const UPSTREAM_BUSY_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a caller should wait before retrying when the notification journal is unavailable.
const JOURNAL_UNAVAILABLE_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a refused watcher should wait: watches are long-lived, so a slot frees slowly;
/// another replica may have one at once.
const TOO_MANY_WATCHES_RETRY_DELAY: Duration = Duration::from_secs(5);

/// How long a watcher ended by a shutdown should wait: none, another replica serves it at once.
const SHUTTING_DOWN_RETRY_DELAY: Duration = Duration::ZERO;

/// When a caller may usefully retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// No RetryInfo: retrying the same request will not help by waiting.
    No,
    /// RetryInfo with this delay.
    After(Duration),
    /// RetryInfo with the delay until the next calendar day (UTC).
    NextUtcDay,
}

/// What one row of the table says.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    /// The `ErrorInfo.reason`, as the README shows it.
    pub reason: &'static str,
    /// The gRPC code.
    pub code: Code,
    /// When the caller sees it.
    pub when: &'static str,
    /// Why this code (AIP-193).
    pub why: &'static str,
    /// The RetryInfo the status carries.
    pub retry: Retry,
    /// The request field a BadRequest names when the vendor names no parameter.
    pub field: Option<&'static str>,
}

impl Mapping {
    const fn new(reason: &'static str, code: Code, when: &'static str, why: &'static str) -> Self {
        Self { reason, code, when, why, retry: Retry::No, field: None }
    }

    const fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    const fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
}

/// Declares the rows with [`Row::ALL`] listing each once, in README order.
macro_rules! rows {
    ($($row:ident,)+) => {
        /// One row of the error table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Row {
            $($row,)+
        }

        impl Row {
            /// Every row, in the order the README shows them.
            pub const ALL: &'static [Row] = &[$(Row::$row),+];
        }
    };
}

rows! {
    InvalidField,
    MalformedRequest,
    RequestTooLarge,
    RequestIdReused,
    ParameterMissing,
    ParameterInvalid,
    Ambiguous,
    TooLow,
    RecordNotFound,
    Forbidden,
    TooHigh,
    NothingToDo,
    TooLate,
    TooSoon,
    Failed,
    InvalidParameter,
    PaymentDeclined,
    PaymentUnauthorized,
    PaymentParameterError,
    PaymentRequestMalformed,
    PaymentApiNotConfigured,
    UpstreamCredentialsRejected,
    UpstreamUnavailable,
    UpstreamTimeout,
    OutcomeUnknownTimedOut,
    OutcomeUnknownConnectionLost,
    UpstreamResponseInvalid,
    RequestInProgress,
    IdempotencyStoreFull,
    IdempotencyStoreUnavailable,
    RefundOverCeiling,
    RefundAmountUnverifiable,
    Overloaded,
    UpstreamBusy,
    StreamPageLimit,
    StreamDurationLimit,
    StreamReaderStalled,
    NotificationsExpired,
    NotificationJournalUnavailable,
    TooManyWatches,
    ShuttingDown,
    UnknownVendorCode,
}

impl Row {
    /// The row `error` falls under.
    pub fn of(error: &Error) -> Self {
        match error {
            Error::InvalidField { .. } => Self::InvalidField,
            Error::MalformedRequest { .. } => Self::MalformedRequest,
            Error::RequestTooLarge { .. } => Self::RequestTooLarge,
            Error::RequestIdReused { .. } => Self::RequestIdReused,
            Error::Vendor(vendor) => match &vendor.code {
                AdminCode::ParameterMissing => Self::ParameterMissing,
                AdminCode::ParameterInvalid => Self::ParameterInvalid,
                AdminCode::Ambiguous => Self::Ambiguous,
                AdminCode::TooLow => Self::TooLow,
                AdminCode::RecordNotFound => Self::RecordNotFound,
                AdminCode::Forbidden => Self::Forbidden,
                AdminCode::TooHigh => Self::TooHigh,
                AdminCode::NothingToDo => Self::NothingToDo,
                AdminCode::TooLate => Self::TooLate,
                AdminCode::TooSoon => Self::TooSoon,
                AdminCode::Failed => Self::Failed,
                AdminCode::InvalidParameter => Self::InvalidParameter,
                AdminCode::Other(_) => Self::UnknownVendorCode,
            },
            Error::Payment(payment) => match payment.code.kind() {
                PaymentRefusal::Declined => Self::PaymentDeclined,
                PaymentRefusal::Unauthorized => Self::PaymentUnauthorized,
                PaymentRefusal::ParameterError => Self::PaymentParameterError,
                PaymentRefusal::RequestMalformed => Self::PaymentRequestMalformed,
                PaymentRefusal::Unknown => Self::UnknownVendorCode,
            },
            Error::PaymentApiNotConfigured => Self::PaymentApiNotConfigured,
            Error::UpstreamCredentialsRejected { .. } => Self::UpstreamCredentialsRejected,
            Error::UpstreamUnavailable { .. } => Self::UpstreamUnavailable,
            Error::UpstreamTimeout { .. } => Self::UpstreamTimeout,
            // The one reason with two codes: how the answer was lost decides.
            Error::OutcomeUnknown { timed_out: true, .. } => Self::OutcomeUnknownTimedOut,
            Error::OutcomeUnknown { timed_out: false, .. } => Self::OutcomeUnknownConnectionLost,
            Error::UpstreamResponseInvalid { .. } => Self::UpstreamResponseInvalid,
            Error::RequestInProgress { .. } => Self::RequestInProgress,
            Error::IdempotencyStoreFull { .. } => Self::IdempotencyStoreFull,
            Error::IdempotencyStoreUnavailable { .. } => Self::IdempotencyStoreUnavailable,
            Error::RefundOverCeiling { .. } => Self::RefundOverCeiling,
            Error::RefundAmountUnverifiable { .. } => Self::RefundAmountUnverifiable,
            Error::Overloaded { .. } => Self::Overloaded,
            Error::UpstreamBusy { .. } => Self::UpstreamBusy,
            Error::StreamPageLimit { .. } => Self::StreamPageLimit,
            Error::StreamDurationLimit { .. } => Self::StreamDurationLimit,
            Error::StreamReaderStalled { .. } => Self::StreamReaderStalled,
            Error::NotificationsExpired { .. } => Self::NotificationsExpired,
            Error::NotificationJournalUnavailable { .. } => Self::NotificationJournalUnavailable,
            Error::TooManyWatches { .. } => Self::TooManyWatches,
            Error::ShuttingDown => Self::ShuttingDown,
        }
    }

    /// What the row says.
    pub const fn mapping(self) -> Mapping {
        match self {
            Self::InvalidField => Mapping::new(
                reason::INVALID_FIELD,
                Code::InvalidArgument,
                "A request field failed the gateway's validation; nothing was sent to 2Checkout.",
                "The request is wrong whatever the state of the system; BadRequest names the field.",
            ),
            Self::MalformedRequest => Mapping::new(
                reason::MALFORMED_REQUEST,
                Code::InvalidArgument,
                "The request message is not valid protobuf for its method (tonic alone would say INTERNAL); nothing was sent to 2Checkout.",
                "The caller sent bytes no retry can fix; there is no field to name, so no BadRequest.",
            ),
            Self::RequestTooLarge => Mapping::new(
                reason::REQUEST_TOO_LARGE,
                Code::ResourceExhausted,
                "The request message is over `server.max_message_bytes`, or its metadata over `server.max_metadata_bytes` (ErrorInfo `limitBytes`); nothing was sent to 2Checkout.",
                "A limit of the gateway's, not a wrong field: gRPC's code for a message or metadata over the receiver's limit.",
            ),
            Self::RequestIdReused => Mapping::new(
                reason::REQUEST_ID_REUSED,
                Code::InvalidArgument,
                "A write's request_id was already used for a different request.",
                "Retrying can never succeed; the caller must send a new request_id (BadRequest names it).",
            ),
            Self::ParameterMissing => Mapping::new(
                "PARAMETER_MISSING",
                Code::InvalidArgument,
                "2Checkout says a required parameter is missing.",
                "Wrong in any state; BadRequest names the request field behind the vendor parameter.",
            ),
            Self::ParameterInvalid => Mapping::new(
                "PARAMETER_INVALID",
                Code::InvalidArgument,
                "2Checkout says a parameter has an invalid value.",
                "Wrong in any state; BadRequest names the request field behind the vendor parameter.",
            ),
            Self::Ambiguous => Mapping::new(
                "AMBIGUOUS",
                Code::InvalidArgument,
                "A refund named a sale with several invoices and no invoice_id.",
                "The caller must change the request (add invoice_id) to succeed; BadRequest names invoice_id.",
            )
            .field("invoice_id"),
            Self::TooLow => Mapping::new(
                "TOO_LOW",
                Code::InvalidArgument,
                "A refund amount below 0.01 reached 2Checkout.",
                "Wrong in any state; BadRequest names amount.",
            )
            .field("amount"),
            Self::RecordNotFound => Mapping::new(
                "RECORD_NOT_FOUND",
                Code::NotFound,
                "The sale, invoice, line item, product or option does not exist. (A listing with no rows is an empty page instead.)",
                "The named resource does not exist.",
            ),
            Self::Forbidden => Mapping::new(
                "FORBIDDEN",
                Code::PermissionDenied,
                "The sale, invoice, product or option belongs to another account, the coupon code is unknown (what the live API answers), or the action is not allowed (refund category 7).",
                "The gateway's account may not do this; retrying will not help.",
            ),
            Self::TooHigh => Mapping::new(
                "TOO_HIGH",
                Code::FailedPrecondition,
                "The refund is more than the invoice's or line item's remaining balance.",
                "Depends on the balance left, which earlier refunds changed.",
            ),
            Self::NothingToDo => Mapping::new(
                "NOTHING_TO_DO",
                Code::FailedPrecondition,
                "Already done: already refunded, not recurring (any more), already shipped (or intangible), authorization still valid.",
                "A refusal that depends on the sale's state; \"already done\" is FAILED_PRECONDITION for every write.",
            ),
            Self::TooLate => Mapping::new(
                "TOO_LATE",
                Code::FailedPrecondition,
                "The sale is older than 180 days (refunds), or the payment is already pending or deposited (reauthorization).",
                "Depends on the sale's age or state.",
            ),
            Self::TooSoon => Mapping::new(
                "TOO_SOON",
                Code::FailedPrecondition,
                "The sale was already reauthorized (or tried) today.",
                "Depends on when the last attempt was; RetryInfo says how long until the next day (UTC).",
            )
            .retry(Retry::NextUtcDay),
            Self::Failed => Mapping::new(
                "FAILED",
                Code::FailedPrecondition,
                "2Checkout could not reauthorize the payment.",
                "The payment method refused in its current state; retrying the same request will not help.",
            ),
            Self::InvalidParameter => Mapping::new(
                "INVALID_PARAMETER",
                Code::FailedPrecondition,
                "The line item cannot be refunded (for example, it is itself a refund).",
                "Depends on what the line item is, not on the request's form.",
            ),
            Self::PaymentDeclined => Mapping::new(
                reason::PAYMENT_DECLINED,
                Code::FailedPrecondition,
                "The card was declined (Payment API codes 600 to 607; vendorCode in metadata).",
                "The card's state refuses the payment; a LocalizedMessage carries the documented text a checkout can show the buyer.",
            ),
            Self::PaymentUnauthorized => Mapping::new(
                reason::PAYMENT_UNAUTHORIZED,
                Code::FailedPrecondition,
                "Payment API code 300: the card token is expired or already used, or the seller credentials are wrong.",
                "Per request it is almost always the token, which the caller fixes with a new one; a wrong key fails every call and is logged at WARN for operators.",
            ),
            Self::PaymentParameterError => Mapping::new(
                reason::PAYMENT_PARAMETER_ERROR,
                Code::InvalidArgument,
                "Payment API code 400: a missing attribute or an invalid (never valid) token.",
                "The gateway checks every attribute first, so what is left is the token; BadRequest names it.",
            )
            .field("token"),
            Self::PaymentRequestMalformed => Mapping::new(
                reason::PAYMENT_REQUEST_MALFORMED,
                Code::InvalidArgument,
                "Payment API code 200: 2Checkout could not process the request.",
                "The request is wrong whatever the state; no field is named because the vendor names none.",
            ),
            Self::PaymentApiNotConfigured => Mapping::new(
                reason::PAYMENT_API_NOT_CONFIGURED,
                Code::Unimplemented,
                "Authorize was called but this gateway has no Payment API seller id and private key.",
                "The operation is not enabled on this deployment; an operator must configure payment_api.",
            ),
            Self::UpstreamCredentialsRejected => Mapping::new(
                reason::UPSTREAM_CREDENTIALS_REJECTED,
                Code::Internal,
                "2Checkout rejected the gateway's own API credentials (HTTP 401/403).",
                "An operator must fix the configuration; the caller did nothing wrong, so never UNAUTHENTICATED.",
            ),
            Self::UpstreamUnavailable => Mapping::new(
                reason::UPSTREAM_UNAVAILABLE,
                Code::Unavailable,
                "2Checkout answered HTTP 5xx or a redirect (never followed) to a read, or could not be reached (nothing was sent).",
                "Transient; a retry after the RetryInfo delay may succeed.",
            )
            .retry(Retry::After(UNAVAILABLE_RETRY_DELAY)),
            Self::UpstreamTimeout => Mapping::new(
                reason::UPSTREAM_TIMEOUT,
                Code::DeadlineExceeded,
                "A read got no answer within the caller's deadline or the configured request timeout.",
                "The deadline passed before the operation completed.",
            ),
            Self::OutcomeUnknownTimedOut => Mapping::new(
                reason::OUTCOME_UNKNOWN,
                Code::DeadlineExceeded,
                "A write was sent but its answer did not come in time: it may or may not have happened.",
                "The deadline passed; never retried automatically. Retrying with the same request_id is safe (see README).",
            ),
            Self::OutcomeUnknownConnectionLost => Mapping::new(
                reason::OUTCOME_UNKNOWN,
                Code::Unavailable,
                "A write was sent but the connection failed, or 2Checkout answered HTTP 5xx, a redirect (never followed) or anything but a positive confirmation: it may or may not have happened.",
                "Transient; retrying with the same request_id is safe: the gateway checks before sending again.",
            ),
            Self::UpstreamResponseInvalid => Mapping::new(
                reason::UPSTREAM_RESPONSE_INVALID,
                Code::Internal,
                "2Checkout answered a read with something the gateway cannot decode (an HTML page, truncated JSON, a wrong type).",
                "A broken invariant between the gateway and 2Checkout; the body goes to the debug log, not the status.",
            ),
            Self::RequestInProgress => Mapping::new(
                reason::REQUEST_IN_PROGRESS,
                Code::Aborted,
                "Another call (on any replica) is running the same request_id and did not finish within this call's deadline.",
                "A concurrency conflict, not an error of the request: retry with the same request_id after RetryInfo.",
            )
            .retry(Retry::After(IN_PROGRESS_RETRY_DELAY)),
            Self::IdempotencyStoreFull => Mapping::new(
                reason::IDEMPOTENCY_STORE_FULL,
                Code::ResourceExhausted,
                "The idempotency store is full (its memory budget, or Redis at maxmemory); nothing was sent to 2Checkout.",
                "Accepting the write would mean forgetting a live request id; retry after RetryInfo, when records expire.",
            )
            .retry(Retry::After(STORE_FULL_RETRY_DELAY)),
            Self::IdempotencyStoreUnavailable => Mapping::new(
                reason::IDEMPOTENCY_STORE_UNAVAILABLE,
                Code::Unavailable,
                "The shared idempotency store (Redis) cannot be reached or did not answer in time; nothing was sent to 2Checkout. Reads still work.",
                "Transient; writes fail closed rather than risk running twice. Retry after RetryInfo.",
            )
            .retry(Retry::After(UNAVAILABLE_RETRY_DELAY)),
            Self::RefundOverCeiling => Mapping::new(
                reason::REFUND_OVER_CEILING,
                Code::PermissionDenied,
                "The refund is over the caller's per-refund ceiling (`max_refund` in the policy file; ErrorInfo `limit` and `amount`, both with their currency); nothing was sent to 2Checkout.",
                "The caller may not do this, whatever the sale's state; a caller with a higher ceiling may.",
            ),
            Self::RefundAmountUnverifiable => Mapping::new(
                reason::REFUND_AMOUNT_UNVERIFIABLE,
                Code::PermissionDenied,
                "The caller has a refund ceiling and the refund's amount in the ceiling's currency cannot be established (a ceiling in a currency other than USD, or a sale that does not show the amounts); nothing was sent to 2Checkout.",
                "Safe default: a ceiling that cannot be checked refuses. Refunding in USD (or asking an operator) can succeed.",
            ),
            Self::Overloaded => Mapping::new(
                reason::OVERLOADED,
                Code::Unavailable,
                "The gateway was already running `server.max_concurrent_calls` calls (ErrorInfo `limit`); this one was refused at once, before any work. Health is never refused.",
                "Load shedding: transient and safe to retry (nothing ran), after RetryInfo, ideally on another replica.",
            )
            .retry(Retry::After(OVERLOADED_RETRY_DELAY)),
            Self::UpstreamBusy => Mapping::new(
                reason::UPSTREAM_BUSY,
                Code::Unavailable,
                "Every one of the `max_concurrent_requests` slots to the 2Checkout API was in use until the call's deadline (ErrorInfo `api`, `limit`); nothing was sent to 2Checkout.",
                "Transient; a write that never got a slot was never sent, so it is a plain failure (never OUTCOME_UNKNOWN) and a retry with the same request_id runs it.",
            )
            .retry(Retry::After(UPSTREAM_BUSY_RETRY_DELAY)),
            Self::StreamPageLimit => Mapping::new(
                reason::STREAM_PAGE_LIMIT,
                Code::ResourceExhausted,
                "A StreamSales walk sent `stream_sales.max_pages` pages (ErrorInfo `maxPages`) and more may match; every row before it was delivered.",
                "A per-call quota of the gateway's: the caller narrows the filter (for example the sale dates) and streams the rest.",
            ),
            Self::StreamDurationLimit => Mapping::new(
                reason::STREAM_DURATION_LIMIT,
                Code::DeadlineExceeded,
                "A StreamSales walk ran for `stream_sales.max_duration` (ErrorInfo `maxDurationMs`); rows not yet taken were dropped.",
                "The stream's own deadline passed, as if the caller had set it; narrow the filter and stream again.",
            ),
            Self::StreamReaderStalled => Mapping::new(
                reason::STREAM_READER_STALLED,
                Code::Aborted,
                "The caller of a StreamSales took no row for `stream_sales.stall_timeout`, or of a WatchNotifications for 60 s (ErrorInfo `stallTimeoutMs`): paging stopped and the buffered rows were dropped.",
                "The gateway gave up on the stream, not on the request: the caller reads again and restarts the stream.",
            ),
            Self::NotificationsExpired => Mapping::new(
                reason::NOTIFICATIONS_EXPIRED,
                Code::FailedPrecondition,
                "A notification watch or listing started (or a watch fell) behind the oldest notification the journal keeps (`ins.retention`; ErrorInfo `cursor`): some would be missed.",
                "Depends on the journal's state, not the request's form; OUT_OF_RANGE would fit too, but it is the code the limits layer renames. List from the oldest kept entry (no start) and reconcile with GetSale.",
            ),
            Self::NotificationJournalUnavailable => Mapping::new(
                reason::NOTIFICATION_JOURNAL_UNAVAILABLE,
                Code::Unavailable,
                "The notification journal (Redis) cannot be reached or did not answer; a watch ends with it.",
                "Transient; retry (a watch: resume after its last resume_cursor) after RetryInfo.",
            )
            .retry(Retry::After(JOURNAL_UNAVAILABLE_RETRY_DELAY)),
            Self::TooManyWatches => Mapping::new(
                reason::TOO_MANY_WATCHES,
                Code::Unavailable,
                "This replica already runs its maximum of notification watches (ErrorInfo `limit`); watches do not count against `server.max_concurrent_calls`, this bound does.",
                "A capacity limit of one replica, like OVERLOADED: retry after RetryInfo, ideally on another replica.",
            )
            .retry(Retry::After(TOO_MANY_WATCHES_RETRY_DELAY)),
            Self::ShuttingDown => Mapping::new(
                reason::SHUTTING_DOWN,
                Code::Unavailable,
                "A notification watch was ended because its replica is shutting down (the listener closed after `server.drain_period`).",
                "Transient: resume at once after the last resume_cursor; the load balancer sends the call to another replica.",
            )
            .retry(Retry::After(SHUTTING_DOWN_RETRY_DELAY)),
            Self::UnknownVendorCode => Mapping::new(
                "(any other vendor code)",
                Code::Unknown,
                "2Checkout answered an error code the gateway does not know; ErrorInfo.reason carries it (PAYMENT_ERROR for the Payment API, with vendorCode).",
                "The gateway cannot tell what went wrong, so it does not guess.",
            ),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        to_status(error, |_| None)
    }
}

/// The status for `error`; `field_of` names the request field behind a
/// vendor parameter (only the service that sent the request knows it).
pub fn to_status(error: Error, field_of: fn(&str) -> Option<&'static str>) -> tonic::Status {
    let mapping = Row::of(&error).mapping();
    let mut details = ErrorDetails::new();

    let mut metadata = HashMap::new();
    if let Some(status) = error.http_status() {
        metadata.insert("httpStatus".to_owned(), status.to_string());
    }
    match &error {
        Error::Vendor(vendor) => {
            metadata.insert("vendorCode".to_owned(), vendor.code.as_str().to_owned());
            if let Some(parameter) = &vendor.parameter {
                metadata.insert("parameter".to_owned(), parameter.clone());
            }
            if mapping.code == Code::InvalidArgument {
                let parameter = vendor.parameter.as_deref();
                let field = parameter.and_then(field_of).or(mapping.field).or(parameter).unwrap_or("");
                details.add_bad_request_violation(field, vendor.message.clone());
            }
        }
        Error::InvalidField { field, description } => {
            details.add_bad_request_violation(field.clone(), description.clone());
        }
        Error::RequestIdReused { .. } => {
            details.add_bad_request_violation("request_id", error.to_string());
        }
        Error::RequestTooLarge { limit_bytes, .. } => {
            metadata.insert("limitBytes".to_owned(), limit_bytes.to_string());
        }
        Error::Payment(payment) => {
            metadata.insert("vendorCode".to_owned(), payment.code.as_str().to_owned());
            if let Some(field) = mapping.field {
                details.add_bad_request_violation(field, payment.message.clone());
            }
            if let Some(text) = &payment.buyer_message {
                details.set_localized_message("en-US", text.clone());
            }
        }
        Error::UpstreamCredentialsRejected { .. }
        | Error::UpstreamUnavailable { .. }
        | Error::UpstreamTimeout { .. }
        | Error::UpstreamResponseInvalid { .. }
        | Error::OutcomeUnknown { .. }
        | Error::RequestInProgress { .. }
        | Error::MalformedRequest { .. }
        | Error::PaymentApiNotConfigured => {}
        Error::Overloaded { limit } => {
            metadata.insert("limit".to_owned(), limit.to_string());
        }
        Error::UpstreamBusy { api, limit } => {
            metadata.insert("api".to_owned(), api.clone());
            metadata.insert("limit".to_owned(), limit.to_string());
        }
        Error::StreamPageLimit { max_pages } => {
            metadata.insert("maxPages".to_owned(), max_pages.to_string());
        }
        Error::StreamDurationLimit { max_duration_ms } => {
            metadata.insert("maxDurationMs".to_owned(), max_duration_ms.to_string());
        }
        Error::StreamReaderStalled { stall_timeout_ms } => {
            metadata.insert("stallTimeoutMs".to_owned(), stall_timeout_ms.to_string());
        }
        Error::NotificationsExpired { after } => {
            metadata.insert("cursor".to_owned(), after.clone());
        }
        Error::TooManyWatches { limit } => {
            metadata.insert("limit".to_owned(), limit.to_string());
        }
        Error::NotificationJournalUnavailable { .. } | Error::ShuttingDown => {}
        Error::IdempotencyStoreUnavailable { store, .. } | Error::IdempotencyStoreFull { store } => {
            metadata.insert("store".to_owned(), store.clone());
        }
        Error::RefundOverCeiling { limit, asked } => {
            metadata.insert("limit".to_owned(), limit.clone());
            metadata.insert("amount".to_owned(), asked.clone());
        }
        Error::RefundAmountUnverifiable { limit, .. } => {
            metadata.insert("limit".to_owned(), limit.clone());
        }
    }
    match mapping.retry {
        Retry::No => {}
        Retry::After(delay) => {
            details.set_retry_info(Some(delay));
        }
        Retry::NextUtcDay => {
            details.set_retry_info(Some(until_next_utc_day(chrono::Utc::now())));
        }
    }
    details.set_error_info(error.reason(), ERROR_DOMAIN, metadata);
    tonic::Status::with_error_details(mapping.code, error.to_string(), details)
}

/// The time from `now` to the next midnight UTC.
fn until_next_utc_day(now: chrono::DateTime<chrono::Utc>) -> Duration {
    let tomorrow = now.date_naive().succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    tomorrow.and_then(|t| (t - now).to_std().ok()).unwrap_or(Duration::from_secs(24 * 3600))
}

/// The table as Markdown, exactly as the README publishes it.
pub fn markdown_table() -> String {
    let mut out = String::from("| ErrorInfo.reason | gRPC code | when | why this code |\n|---|---|---|---|\n");
    for m in Row::ALL.iter().map(|row| row.mapping()) {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", m.reason, code_name(m.code), m.when, m.why));
    }
    out
}

/// The canonical upper-case name of a gRPC code ("NOT_FOUND").
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PaymentCode, PaymentError, VendorError};

    fn vendor(code: &str, parameter: Option<&str>) -> Error {
        Error::Vendor(VendorError {
            code: AdminCode::parse(code),
            message: format!("message for {code}"),
            parameter: parameter.map(Into::into),
            http_status: 400,
        })
    }

    fn payment(code: &str, buyer_message: Option<&str>) -> Error {
        Error::Payment(PaymentError {
            code: PaymentCode::parse(code),
            message: format!("message for {code}"),
            http_status: 400,
            buyer_message: buyer_message.map(Into::into),
        })
    }

    /// One example error per row; a row added without an example does not compile.
    fn example(row: Row) -> Error {
        match row {
            Row::InvalidField => Error::invalid_field("page_size", "must be between 1 and 100"),
            Row::MalformedRequest => Error::MalformedRequest { detail: "invalid wire type".into() },
            Row::RequestTooLarge => Error::RequestTooLarge { part: "metadata".into(), limit_bytes: 8192 },
            Row::RequestIdReused => Error::RequestIdReused { request_id: "x".into() },
            Row::ParameterMissing => vendor("PARAMETER_MISSING", Some("sale_or_invoice_id")),
            Row::ParameterInvalid => vendor("PARAMETER_INVALID", Some("pagesize")),
            Row::Ambiguous => vendor("AMBIGUOUS", None),
            Row::TooLow => vendor("TOO_LOW", None),
            Row::RecordNotFound => vendor("RECORD_NOT_FOUND", None),
            Row::Forbidden => vendor("FORBIDDEN", None),
            Row::TooHigh => vendor("TOO_HIGH", None),
            Row::NothingToDo => vendor("NOTHING_TO_DO", None),
            Row::TooLate => vendor("TOO_LATE", None),
            Row::TooSoon => vendor("TOO_SOON", None),
            Row::Failed => vendor("FAILED", None),
            Row::InvalidParameter => vendor("INVALID_PARAMETER", None),
            Row::PaymentDeclined => payment("602", Some("Please verify your card.")),
            Row::PaymentUnauthorized => payment("300", None),
            Row::PaymentParameterError => payment("400", None),
            Row::PaymentRequestMalformed => payment("200", None),
            Row::PaymentApiNotConfigured => Error::PaymentApiNotConfigured,
            Row::UpstreamCredentialsRejected => Error::UpstreamCredentialsRejected { http_status: 401 },
            Row::UpstreamUnavailable => {
                Error::UpstreamUnavailable { detail: "HTTP 503".into(), http_status: Some(503) }
            }
            Row::UpstreamTimeout => Error::UpstreamTimeout { detail: "after 5s".into() },
            Row::OutcomeUnknownTimedOut => {
                Error::OutcomeUnknown { detail: "lost".into(), timed_out: true, http_status: None }
            }
            Row::OutcomeUnknownConnectionLost => {
                Error::OutcomeUnknown { detail: "lost".into(), timed_out: false, http_status: None }
            }
            Row::UpstreamResponseInvalid => {
                Error::UpstreamResponseInvalid { detail: "expected JSON".into(), http_status: 200 }
            }
            Row::RequestInProgress => Error::RequestInProgress { request_id: "x".into() },
            Row::IdempotencyStoreFull => Error::IdempotencyStoreFull { store: "memory".into() },
            Row::IdempotencyStoreUnavailable => {
                Error::IdempotencyStoreUnavailable { store: "redis".into(), detail: "connection refused".into() }
            }
            Row::RefundOverCeiling => {
                Error::RefundOverCeiling { limit: "100.00 USD".into(), asked: "150.00 USD".into() }
            }
            Row::RefundAmountUnverifiable => {
                Error::RefundAmountUnverifiable { limit: "100.00 EUR".into(), detail: "no EUR amount".into() }
            }
            Row::Overloaded => Error::Overloaded { limit: 2048 },
            Row::UpstreamBusy => Error::UpstreamBusy { api: "Admin API".into(), limit: 64 },
            Row::StreamPageLimit => Error::StreamPageLimit { max_pages: 1000 },
            Row::StreamDurationLimit => Error::StreamDurationLimit { max_duration_ms: 600_000 },
            Row::StreamReaderStalled => Error::StreamReaderStalled { stall_timeout_ms: 30_000 },
            Row::NotificationsExpired => Error::NotificationsExpired { after: "1733030000000-0".into() },
            Row::NotificationJournalUnavailable => {
                Error::NotificationJournalUnavailable { detail: "connection refused".into() }
            }
            Row::TooManyWatches => Error::TooManyWatches { limit: 256 },
            Row::ShuttingDown => Error::ShuttingDown,
            Row::UnknownVendorCode => vendor("SOMETHING_NEW", None),
        }
    }

    #[test]
    fn every_row_has_an_example_that_maps_to_its_code_and_reason() {
        for &row in Row::ALL {
            let error = example(row);
            assert_eq!(Row::of(&error), row, "the example of {row:?} falls under another row");
            let mapping = row.mapping();
            let status = tonic::Status::from(error.clone());
            assert_eq!(status.code(), mapping.code, "{row:?}");
            let details = status.get_error_details();
            let info = details.error_info().cloned().expect("ErrorInfo");
            let expected_reason = if row == Row::UnknownVendorCode { error.reason() } else { mapping.reason };
            assert_eq!(info.reason, expected_reason, "{row:?}");
            assert_eq!(info.domain, ERROR_DOMAIN);
            assert_eq!(details.retry_info().is_some(), mapping.retry != Retry::No, "{row:?} RetryInfo");
            // Every argument error names its field, except where the vendor names none.
            if mapping.code == Code::InvalidArgument
                && !matches!(row, Row::PaymentRequestMalformed | Row::MalformedRequest)
            {
                let field = &details.bad_request().expect("BadRequest").field_violations[0].field;
                assert!(!field.is_empty() || row == Row::ParameterMissing, "{row:?} names no field");
            }
        }
    }

    #[test]
    fn no_row_answers_out_of_range_so_the_limits_layer_can_rename_tonics() {
        for &row in Row::ALL {
            assert_ne!(row.mapping().code, Code::OutOfRange, "{row:?}: grpc/limits.rs would rename it");
        }
    }

    #[test]
    fn an_oversized_request_says_which_limit_in_error_info() {
        let status = tonic::Status::from(Error::RequestTooLarge { part: "message".into(), limit_bytes: 1024 });
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "the request's message is larger than the gateway accepts (1024 bytes)");
        let info = status.get_error_details().error_info().cloned().expect("ErrorInfo");
        assert_eq!(info.metadata["limitBytes"], "1024");
        assert!(status.get_error_details().bad_request().is_none());
    }

    #[test]
    fn every_known_vendor_code_has_its_own_row() {
        for code in AdminCode::KNOWN {
            let row = Row::of(&vendor(code.as_str(), None));
            assert_ne!(row, Row::UnknownVendorCode, "{code}");
            assert_eq!(row.mapping().reason, code.as_str());
        }
        for code in PaymentCode::KNOWN {
            assert_ne!(Row::of(&payment(code.as_str(), None)), Row::UnknownVendorCode, "{code}");
        }
    }

    #[test]
    fn only_too_soon_unavailable_idempotency_conflicts_and_busy_limits_say_when_to_retry() {
        // The README does not show retries or fields, so they are pinned here.
        let retries: Vec<_> = Row::ALL
            .iter()
            .filter(|row| row.mapping().retry != Retry::No)
            .map(|row| (*row, row.mapping().retry))
            .collect();
        assert_eq!(
            retries,
            [
                (Row::TooSoon, Retry::NextUtcDay),
                (Row::UpstreamUnavailable, Retry::After(UNAVAILABLE_RETRY_DELAY)),
                (Row::RequestInProgress, Retry::After(IN_PROGRESS_RETRY_DELAY)),
                (Row::IdempotencyStoreFull, Retry::After(STORE_FULL_RETRY_DELAY)),
                (Row::IdempotencyStoreUnavailable, Retry::After(UNAVAILABLE_RETRY_DELAY)),
                (Row::Overloaded, Retry::After(OVERLOADED_RETRY_DELAY)),
                (Row::UpstreamBusy, Retry::After(UPSTREAM_BUSY_RETRY_DELAY)),
                (Row::NotificationJournalUnavailable, Retry::After(JOURNAL_UNAVAILABLE_RETRY_DELAY)),
                (Row::TooManyWatches, Retry::After(TOO_MANY_WATCHES_RETRY_DELAY)),
                (Row::ShuttingDown, Retry::After(SHUTTING_DOWN_RETRY_DELAY)),
            ]
        );
        let fields: Vec<_> = Row::ALL.iter().filter_map(|row| row.mapping().field.map(|field| (*row, field))).collect();
        assert_eq!(
            fields,
            [(Row::Ambiguous, "invoice_id"), (Row::TooLow, "amount"), (Row::PaymentParameterError, "token")]
        );
    }

    #[test]
    fn the_table_shows_every_row_once() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), 2 + Row::ALL.len());
        for row in Row::ALL {
            assert!(table.contains(row.mapping().when), "{row:?}");
        }
    }

    #[test]
    fn unknown_vendor_code_is_unknown_and_keeps_the_code() {
        let status = tonic::Status::from(vendor("SOMETHING_NEW", None));
        assert_eq!(status.code(), Code::Unknown);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "SOMETHING_NEW");
        assert_eq!(info.metadata["vendorCode"], "SOMETHING_NEW");
    }

    #[test]
    fn vendor_parameter_errors_name_the_request_field_in_bad_request() {
        let error = vendor("PARAMETER_INVALID", Some("pagesize"));
        let status = to_status(error, |p| (p == "pagesize").then_some("page_size"));
        let details = status.get_error_details();
        let violation = &details.bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, "page_size");
        assert_eq!(violation.description, "message for PARAMETER_INVALID");
        let info = details.error_info().unwrap();
        assert_eq!(info.metadata["parameter"], "pagesize");
        assert_eq!(info.metadata["httpStatus"], "400");
    }

    #[test]
    fn gateway_validation_names_the_field() {
        let status = tonic::Status::from(Error::invalid_field("page_size", "must be between 1 and 100"));
        let violation = status.get_error_details().bad_request().unwrap().field_violations[0].clone();
        assert_eq!(violation.field, "page_size");
    }

    #[test]
    fn unavailable_tells_the_caller_when_to_retry() {
        let status =
            tonic::Status::from(Error::UpstreamUnavailable { detail: "HTTP 503".into(), http_status: Some(503) });
        let retry = status.get_error_details().retry_info().cloned().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(UNAVAILABLE_RETRY_DELAY));
    }

    #[test]
    fn vendor_errors_without_a_parameter_name_the_implied_field() {
        for (code, field) in [("AMBIGUOUS", "invoice_id"), ("TOO_LOW", "amount")] {
            let status = tonic::Status::from(vendor(code, None));
            assert_eq!(status.code(), Code::InvalidArgument);
            assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, field);
        }
    }

    #[test]
    fn a_decline_carries_the_vendor_code_and_the_buyer_facing_text() {
        let status = tonic::Status::from(payment("605", Some("Invalid transaction type for this credit card.")));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, "PAYMENT_DECLINED");
        assert_eq!(details.error_info().unwrap().metadata["vendorCode"], "605");
        let localized = details.localized_message().unwrap();
        assert_eq!(
            (localized.locale.as_str(), localized.message.as_str()),
            ("en-US", "Invalid transaction type for this credit card.")
        );
    }

    #[test]
    fn an_unknown_payment_code_is_unknown() {
        let status = tonic::Status::from(payment("999", None));
        assert_eq!(status.code(), Code::Unknown);
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, "PAYMENT_ERROR");
        assert_eq!(details.error_info().unwrap().metadata["vendorCode"], "999");
    }

    #[test]
    fn too_soon_retries_at_the_next_utc_midnight() {
        let at = |h, m| chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(h, m, 0).unwrap().and_utc();
        assert_eq!(until_next_utc_day(at(23, 30)), Duration::from_secs(30 * 60));
        assert_eq!(until_next_utc_day(at(0, 0)), Duration::from_secs(24 * 3600));
    }

    #[test]
    fn shedding_and_a_busy_upstream_say_which_limit_and_when_to_retry() {
        let shed = tonic::Status::from(Error::Overloaded { limit: 2048 });
        assert_eq!(shed.code(), Code::Unavailable);
        let details = shed.get_error_details();
        assert_eq!(details.error_info().unwrap().metadata["limit"], "2048");
        assert_eq!(details.retry_info().unwrap().retry_delay, Some(OVERLOADED_RETRY_DELAY));

        let busy = tonic::Status::from(Error::UpstreamBusy { api: "Admin API".into(), limit: 64 });
        assert_eq!(busy.code(), Code::Unavailable);
        let details = busy.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!((info.reason.as_str(), info.metadata["api"].as_str()), ("UPSTREAM_BUSY", "Admin API"));
        assert_eq!(details.retry_info().unwrap().retry_delay, Some(UPSTREAM_BUSY_RETRY_DELAY));
        assert!(busy.message().contains("nothing was sent"), "{busy:?}");
    }

    #[test]
    fn each_end_of_a_bounded_stream_has_its_own_code_and_names_its_limit() {
        for (error, code, key, value) in [
            (Error::StreamPageLimit { max_pages: 7 }, Code::ResourceExhausted, "maxPages", "7"),
            (Error::StreamDurationLimit { max_duration_ms: 9 }, Code::DeadlineExceeded, "maxDurationMs", "9"),
            (Error::StreamReaderStalled { stall_timeout_ms: 3 }, Code::Aborted, "stallTimeoutMs", "3"),
        ] {
            let status = tonic::Status::from(error);
            assert_eq!(status.code(), code, "{status:?}");
            assert_eq!(status.get_error_details().error_info().unwrap().metadata[key], value);
            assert!(status.get_error_details().retry_info().is_none(), "{status:?}");
        }
    }

    #[test]
    fn the_notification_errors_name_what_the_caller_resumes_from() {
        let expired = tonic::Status::from(Error::NotificationsExpired { after: "5-0".into() });
        assert_eq!(expired.code(), Code::FailedPrecondition);
        let details = expired.get_error_details();
        assert_eq!(details.error_info().unwrap().metadata["cursor"], "5-0");
        assert!(details.retry_info().is_none(), "waiting never brings trimmed entries back");
        assert!(expired.message().contains("no start"), "{expired:?}");

        let busy = tonic::Status::from(Error::TooManyWatches { limit: 3 });
        assert_eq!(busy.code(), Code::Unavailable);
        assert_eq!(busy.get_error_details().error_info().unwrap().metadata["limit"], "3");

        for error in [Error::ShuttingDown, Error::NotificationJournalUnavailable { detail: "down".into() }] {
            let status = tonic::Status::from(error);
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            assert!(status.get_error_details().retry_info().is_some(), "{status:?}");
        }
    }

    #[test]
    fn the_vendor_message_is_the_status_message_verbatim() {
        let status = tonic::Status::from(vendor("RECORD_NOT_FOUND", None));
        assert_eq!(status.message(), "message for RECORD_NOT_FOUND");
    }
}
