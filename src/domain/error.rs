//! The gateway's one error type, in domain terms: what went wrong, with the
//! vendor's codes parsed into enums once, where the wire answer is read. How
//! each error is shown to a gRPC caller is the edge's business
//! (`crate::grpc::status`), which maps every variant with an exhaustive match.

use std::fmt;

/// Reasons the gateway itself gives (vendor codes are the vendor's own
/// strings). They name errors in `ErrorInfo.reason` and in telemetry
/// (`error.type`), so they never change.
pub mod reason {
    pub const INVALID_FIELD: &str = "INVALID_FIELD";
    pub const MALFORMED_REQUEST: &str = "MALFORMED_REQUEST";
    pub const REQUEST_TOO_LARGE: &str = "REQUEST_TOO_LARGE";
    pub const REQUEST_ID_REUSED: &str = "REQUEST_ID_REUSED";
    pub const UPSTREAM_CREDENTIALS_REJECTED: &str = "UPSTREAM_CREDENTIALS_REJECTED";
    pub const UPSTREAM_UNAVAILABLE: &str = "UPSTREAM_UNAVAILABLE";
    pub const UPSTREAM_TIMEOUT: &str = "UPSTREAM_TIMEOUT";
    pub const UPSTREAM_RESPONSE_INVALID: &str = "UPSTREAM_RESPONSE_INVALID";
    pub const OUTCOME_UNKNOWN: &str = "OUTCOME_UNKNOWN";
    pub const PAYMENT_DECLINED: &str = "PAYMENT_DECLINED";
    pub const PAYMENT_UNAUTHORIZED: &str = "PAYMENT_UNAUTHORIZED";
    pub const PAYMENT_PARAMETER_ERROR: &str = "PAYMENT_PARAMETER_ERROR";
    pub const PAYMENT_REQUEST_MALFORMED: &str = "PAYMENT_REQUEST_MALFORMED";
    pub const PAYMENT_API_NOT_CONFIGURED: &str = "PAYMENT_API_NOT_CONFIGURED";
    pub const PAYMENT_ERROR: &str = "PAYMENT_ERROR";
    pub const IDEMPOTENCY_STORE_UNAVAILABLE: &str = "IDEMPOTENCY_STORE_UNAVAILABLE";
    pub const IDEMPOTENCY_STORE_FULL: &str = "IDEMPOTENCY_STORE_FULL";
    pub const REQUEST_IN_PROGRESS: &str = "REQUEST_IN_PROGRESS";
    pub const REFUND_OVER_CEILING: &str = "REFUND_OVER_CEILING";
    pub const REFUND_AMOUNT_UNVERIFIABLE: &str = "REFUND_AMOUNT_UNVERIFIABLE";
    pub const OVERLOADED: &str = "OVERLOADED";
    pub const UPSTREAM_BUSY: &str = "UPSTREAM_BUSY";
    pub const STREAM_PAGE_LIMIT: &str = "STREAM_PAGE_LIMIT";
    pub const STREAM_DURATION_LIMIT: &str = "STREAM_DURATION_LIMIT";
    pub const STREAM_READER_STALLED: &str = "STREAM_READER_STALLED";
    pub const NOTIFICATIONS_EXPIRED: &str = "NOTIFICATIONS_EXPIRED";
    pub const NOTIFICATION_JOURNAL_UNAVAILABLE: &str = "NOTIFICATION_JOURNAL_UNAVAILABLE";
    pub const TOO_MANY_WATCHES: &str = "TOO_MANY_WATCHES";
    pub const SHUTTING_DOWN: &str = "SHUTTING_DOWN";
}

/// Declares a vendor code enum from one list of `Variant => "wire text"`:
/// the enum, its parser and its printer cannot disagree, and every code not
/// in the list parses to `Other`, keeping the vendor's text.
macro_rules! vendor_codes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A code the gateway does not know, as the vendor wrote it.
            Other(String),
        }

        impl $name {
            /// Every code the gateway knows, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// Reads the vendor's code; an unknown one is kept as `Other`.
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The code as the vendor writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        /// Written as the vendor's code, so a stored record reads back whatever the gateway's version.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vendor_codes! {
    /// An Admin API error code (the `code` of an `errors` element).
    AdminCode {
        /// The sale, invoice or line item does not exist (or a listing matched nothing).
        RecordNotFound => "RECORD_NOT_FOUND",
        /// A required parameter is missing.
        ParameterMissing => "PARAMETER_MISSING",
        /// A parameter has an invalid value.
        ParameterInvalid => "PARAMETER_INVALID",
        /// The sale belongs to another account, or the action is not allowed.
        Forbidden => "FORBIDDEN",
        /// A refund above the remaining balance.
        TooHigh => "TOO_HIGH",
        /// A refund amount below 0.01.
        TooLow => "TOO_LOW",
        /// Already done.
        NothingToDo => "NOTHING_TO_DO",
        /// Too old to refund, or the payment is already pending or deposited.
        TooLate => "TOO_LATE",
        /// Already reauthorized (or tried) today.
        TooSoon => "TOO_SOON",
        /// The reauthorization failed.
        Failed => "FAILED",
        /// A sale with several invoices and no invoice named.
        Ambiguous => "AMBIGUOUS",
        /// The line item cannot be refunded.
        InvalidParameter => "INVALID_PARAMETER",
    }
}

vendor_codes! {
    /// A Payment API error code (the `errorCode` of an `exception`).
    PaymentCode {
        /// 200: the request could not be processed.
        RequestMalformed => "200",
        /// 300: the token is expired or used, or the seller credentials are wrong.
        Unauthorized => "300",
        /// 400: a missing attribute or an invalid token.
        ParameterError => "400",
        /// 600: authorization failed.
        AuthorizationFailed => "600",
        /// 601: the card's expiration date.
        CardExpired => "601",
        /// 602: the card details.
        CardDetailsInvalid => "602",
        /// 603: the currency.
        CurrencyRefused => "603",
        /// 604: credit not enabled on the card.
        CreditNotEnabled => "604",
        /// 605: invalid transaction type for the card.
        InvalidTransactionType => "605",
        /// 606: the card or payment method.
        CardRefused => "606",
        /// 607: the buyer's information.
        InformationInvalid => "607",
    }
}

/// What kind of refusal a Payment API code is: the one grouping of codes
/// that both the error's reason and its gRPC row follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentRefusal {
    /// 600 to 607: the card or the buyer's details were declined.
    Declined,
    /// 300: the token is expired or used, or the seller credentials are wrong.
    Unauthorized,
    /// 400: a missing attribute or an invalid token.
    ParameterError,
    /// 200: the request could not be processed.
    RequestMalformed,
    /// A code the gateway does not know.
    Unknown,
}

impl PaymentCode {
    /// The kind of refusal this code is; a new code must be placed here to compile.
    pub fn kind(&self) -> PaymentRefusal {
        match self {
            Self::AuthorizationFailed
            | Self::CardExpired
            | Self::CardDetailsInvalid
            | Self::CurrencyRefused
            | Self::CreditNotEnabled
            | Self::InvalidTransactionType
            | Self::CardRefused
            | Self::InformationInvalid => PaymentRefusal::Declined,
            Self::Unauthorized => PaymentRefusal::Unauthorized,
            Self::ParameterError => PaymentRefusal::ParameterError,
            Self::RequestMalformed => PaymentRefusal::RequestMalformed,
            Self::Other(_) => PaymentRefusal::Unknown,
        }
    }
}

/// An error the Payment API reported in its `exception` object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentError {
    /// The vendor's `errorCode`.
    pub code: PaymentCode,
    /// The vendor's `errorMsg`.
    pub message: String,
    /// The HTTP status it came with.
    pub http_status: u16,
    /// The documented buyer-facing text for a decline.
    pub buyer_message: Option<String>,
}

/// An error 2Checkout reported in an `errors` element.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VendorError {
    /// The vendor's code.
    pub code: AdminCode,
    /// The vendor's message, verbatim.
    pub message: String,
    /// The vendor parameter the error is about, if any.
    pub parameter: Option<String>,
    /// The HTTP status it came with.
    pub http_status: u16,
}

/// Everything that can go wrong in a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Error {
    /// A request field failed validation at the edge.
    #[error("invalid {field}: {description}")]
    InvalidField { field: String, description: String },
    /// The request message is not valid protobuf for its method.
    #[error("the request message is not valid protobuf: {detail}")]
    MalformedRequest { detail: String },
    /// The request's message or metadata is larger than the gateway accepts.
    #[error("the request's {part} is larger than the gateway accepts ({limit_bytes} bytes)")]
    RequestTooLarge { part: String, limit_bytes: u64 },
    /// 2Checkout refused the request with an error code.
    #[error("{}", .0.message)]
    Vendor(VendorError),
    /// 2Checkout rejected the gateway's own credentials.
    #[error(
        "2Checkout rejected the gateway's API credentials (HTTP {http_status}); the gateway's configuration must be fixed"
    )]
    UpstreamCredentialsRejected { http_status: u16 },
    /// 2Checkout failed or could not be reached.
    #[error("2Checkout is unavailable: {detail}")]
    UpstreamUnavailable { detail: String, http_status: Option<u16> },
    /// 2Checkout did not answer in time.
    #[error("2Checkout did not answer in time: {detail}")]
    UpstreamTimeout { detail: String },
    /// 2Checkout's answer could not be decoded.
    #[error("2Checkout sent a response the gateway cannot decode: {detail}")]
    UpstreamResponseInvalid { detail: String, http_status: u16 },
    /// A write reached 2Checkout but its answer was lost.
    #[error(
        "the outcome of the write is unknown ({detail}); retrying with the same request_id is safe: it never moves money twice"
    )]
    OutcomeUnknown { detail: String, timed_out: bool, http_status: Option<u16> },
    /// The Payment API refused the authorization.
    #[error("{}", .0.message)]
    Payment(PaymentError),
    /// No Payment API credentials are configured.
    #[error("card authorization is not configured on this gateway (payment_api.seller_id and payment_api.private_key)")]
    PaymentApiNotConfigured,
    /// A request id already names a different request.
    #[error("request_id {request_id} was already used for a different request; use a new request_id")]
    RequestIdReused { request_id: String },
    /// The store of request ids cannot be reached: no write may run without it.
    #[error("the idempotency store ({store}) is unavailable, so no write is sent: {detail}")]
    IdempotencyStoreUnavailable { store: String, detail: String },
    /// The store of request ids is full: remembering a new one would forget a live one.
    #[error("the idempotency store ({store}) is full, so no new write is accepted until records expire")]
    IdempotencyStoreFull { store: String },
    /// A duplicate waited for the call running the same request id until its deadline.
    #[error("request_id {request_id} is still being processed by another call; retry with the same request_id")]
    RequestInProgress { request_id: String },
    /// A refund above the caller's per-refund ceiling (the policy's `max_refund`).
    #[error("this refund ({asked}) is over this caller's limit of {limit} per refund; nothing was sent")]
    RefundOverCeiling { limit: String, asked: String },
    /// A refund whose amount in the ceiling's currency cannot be established, so the ceiling cannot be checked.
    #[error("this caller's limit is {limit} per refund, and {detail}; nothing was sent")]
    RefundAmountUnverifiable { limit: String, detail: String },
    /// The gateway is already running as many calls as it admits at once
    /// (`server.max_concurrent_calls`): this one was shed before any work.
    #[error("the gateway is running its maximum of {limit} concurrent calls; retry after the RetryInfo delay")]
    Overloaded { limit: u32 },
    /// No slot among the `limit` concurrent requests to the 2Checkout `api`
    /// came free within the call's deadline: the request was never sent.
    #[error(
        "all {limit} concurrent requests to the 2Checkout {api} are in use and none came free within the deadline; nothing was sent"
    )]
    UpstreamBusy { api: String, limit: u32 },
    /// A StreamSales walk reached `stream_sales.max_pages`; more rows may match.
    #[error(
        "the stream ended after its maximum of {max_pages} pages; more sales may match: narrow the filter (for example the sale dates) and stream again"
    )]
    StreamPageLimit { max_pages: u32 },
    /// A StreamSales walk ran for `stream_sales.max_duration`; more rows may match.
    #[error(
        "the stream ended after its maximum duration of {max_duration_ms} ms; more sales may match: narrow the filter and stream again"
    )]
    StreamDurationLimit { max_duration_ms: u64 },
    /// The caller took no row of a StreamSales for `stream_sales.stall_timeout`.
    #[error(
        "the stream was ended because the caller took no row for {stall_timeout_ms} ms; its buffered rows were dropped"
    )]
    StreamReaderStalled { stall_timeout_ms: u64 },
    /// Notifications after where a reader asked to start were removed from
    /// the journal (older than `ins.retention`, or past its capacity) before
    /// it read them: it would miss some.
    #[error(
        "notifications after {after} were already removed from the journal (older than its retention): list from the oldest kept notification (no start) and reconcile the sales concerned with GetSale"
    )]
    NotificationsExpired { after: String },
    /// The notification journal cannot be reached or did not answer.
    #[error("the notification journal is unavailable: {detail}")]
    NotificationJournalUnavailable { detail: String },
    /// This replica already runs its maximum of concurrent notification watches.
    #[error("this replica already runs its maximum of {limit} notification watches; retry after the RetryInfo delay")]
    TooManyWatches { limit: u32 },
    /// The replica is shutting down and ended a long-lived call (a watch).
    #[error("the gateway is shutting down; resume with the last resume_cursor, on any replica")]
    ShuttingDown,
}

impl Error {
    /// A request field that failed validation.
    pub fn invalid_field(field: impl Into<String>, description: impl fmt::Display) -> Self {
        Self::InvalidField { field: field.into(), description: description.to_string() }
    }

    /// The stable name of this error (`ErrorInfo.reason`, telemetry's
    /// `error.type`): the vendor's own code for an Admin API refusal, a
    /// gateway reason otherwise.
    pub fn reason(&self) -> &str {
        match self {
            Self::InvalidField { .. } => reason::INVALID_FIELD,
            Self::MalformedRequest { .. } => reason::MALFORMED_REQUEST,
            Self::RequestTooLarge { .. } => reason::REQUEST_TOO_LARGE,
            Self::Vendor(vendor) => vendor.code.as_str(),
            Self::UpstreamCredentialsRejected { .. } => reason::UPSTREAM_CREDENTIALS_REJECTED,
            Self::UpstreamUnavailable { .. } => reason::UPSTREAM_UNAVAILABLE,
            Self::UpstreamTimeout { .. } => reason::UPSTREAM_TIMEOUT,
            Self::UpstreamResponseInvalid { .. } => reason::UPSTREAM_RESPONSE_INVALID,
            Self::OutcomeUnknown { .. } => reason::OUTCOME_UNKNOWN,
            Self::RequestIdReused { .. } => reason::REQUEST_ID_REUSED,
            Self::Payment(payment) => match payment.code.kind() {
                PaymentRefusal::Declined => reason::PAYMENT_DECLINED,
                PaymentRefusal::Unauthorized => reason::PAYMENT_UNAUTHORIZED,
                PaymentRefusal::ParameterError => reason::PAYMENT_PARAMETER_ERROR,
                PaymentRefusal::RequestMalformed => reason::PAYMENT_REQUEST_MALFORMED,
                PaymentRefusal::Unknown => reason::PAYMENT_ERROR,
            },
            Self::PaymentApiNotConfigured => reason::PAYMENT_API_NOT_CONFIGURED,
            Self::IdempotencyStoreUnavailable { .. } => reason::IDEMPOTENCY_STORE_UNAVAILABLE,
            Self::IdempotencyStoreFull { .. } => reason::IDEMPOTENCY_STORE_FULL,
            Self::RequestInProgress { .. } => reason::REQUEST_IN_PROGRESS,
            Self::RefundOverCeiling { .. } => reason::REFUND_OVER_CEILING,
            Self::RefundAmountUnverifiable { .. } => reason::REFUND_AMOUNT_UNVERIFIABLE,
            Self::Overloaded { .. } => reason::OVERLOADED,
            Self::UpstreamBusy { .. } => reason::UPSTREAM_BUSY,
            Self::StreamPageLimit { .. } => reason::STREAM_PAGE_LIMIT,
            Self::StreamDurationLimit { .. } => reason::STREAM_DURATION_LIMIT,
            Self::StreamReaderStalled { .. } => reason::STREAM_READER_STALLED,
            Self::NotificationsExpired { .. } => reason::NOTIFICATIONS_EXPIRED,
            Self::NotificationJournalUnavailable { .. } => reason::NOTIFICATION_JOURNAL_UNAVAILABLE,
            Self::TooManyWatches { .. } => reason::TOO_MANY_WATCHES,
            Self::ShuttingDown => reason::SHUTTING_DOWN,
        }
    }

    /// 2Checkout's own code, when 2Checkout refused the request itself.
    pub fn vendor_code(&self) -> Option<&str> {
        match self {
            Self::Vendor(vendor) => Some(vendor.code.as_str()),
            Self::Payment(payment) => Some(payment.code.as_str()),
            Self::InvalidField { .. }
            | Self::MalformedRequest { .. }
            | Self::RequestTooLarge { .. }
            | Self::UpstreamCredentialsRejected { .. }
            | Self::UpstreamUnavailable { .. }
            | Self::UpstreamTimeout { .. }
            | Self::UpstreamResponseInvalid { .. }
            | Self::OutcomeUnknown { .. }
            | Self::PaymentApiNotConfigured
            | Self::RequestIdReused { .. }
            | Self::IdempotencyStoreUnavailable { .. }
            | Self::IdempotencyStoreFull { .. }
            | Self::RequestInProgress { .. }
            | Self::RefundOverCeiling { .. }
            | Self::RefundAmountUnverifiable { .. }
            | Self::Overloaded { .. }
            | Self::UpstreamBusy { .. }
            | Self::StreamPageLimit { .. }
            | Self::StreamDurationLimit { .. }
            | Self::StreamReaderStalled { .. }
            | Self::NotificationsExpired { .. }
            | Self::NotificationJournalUnavailable { .. }
            | Self::TooManyWatches { .. }
            | Self::ShuttingDown => None,
        }
    }

    /// The HTTP status 2Checkout answered with, where there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Vendor(v) => Some(v.http_status),
            Self::UpstreamCredentialsRejected { http_status } | Self::UpstreamResponseInvalid { http_status, .. } => {
                Some(*http_status)
            }
            Self::UpstreamUnavailable { http_status, .. } | Self::OutcomeUnknown { http_status, .. } => *http_status,
            Self::Payment(payment) => Some(payment.http_status),
            Self::InvalidField { .. }
            | Self::MalformedRequest { .. }
            | Self::RequestTooLarge { .. }
            | Self::UpstreamTimeout { .. }
            | Self::RequestIdReused { .. }
            | Self::PaymentApiNotConfigured
            | Self::IdempotencyStoreUnavailable { .. }
            | Self::IdempotencyStoreFull { .. }
            | Self::RequestInProgress { .. }
            | Self::RefundOverCeiling { .. }
            | Self::RefundAmountUnverifiable { .. }
            | Self::Overloaded { .. }
            | Self::UpstreamBusy { .. }
            | Self::StreamPageLimit { .. }
            | Self::StreamDurationLimit { .. }
            | Self::StreamReaderStalled { .. }
            | Self::NotificationsExpired { .. }
            | Self::NotificationJournalUnavailable { .. }
            | Self::TooManyWatches { .. }
            | Self::ShuttingDown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_parses_back_to_itself() {
        for code in AdminCode::KNOWN {
            assert_eq!(&AdminCode::parse(code.as_str()), code);
        }
        for code in PaymentCode::KNOWN {
            assert_eq!(&PaymentCode::parse(code.as_str()), code);
        }
    }

    #[test]
    fn unknown_codes_keep_the_vendors_text() {
        assert_eq!(AdminCode::parse("SOMETHING_NEW"), AdminCode::Other("SOMETHING_NEW".into()));
        assert_eq!(AdminCode::parse("SOMETHING_NEW").as_str(), "SOMETHING_NEW");
        assert_eq!(PaymentCode::parse("999").as_str(), "999");
    }

    #[test]
    fn payment_reasons_follow_the_code() {
        let payment = |code: &str| {
            Error::Payment(PaymentError {
                code: PaymentCode::parse(code),
                message: String::new(),
                http_status: 400,
                buyer_message: None,
            })
        };
        for code in ["600", "601", "602", "603", "604", "605", "606", "607"] {
            assert_eq!(payment(code).reason(), reason::PAYMENT_DECLINED, "{code}");
        }
        assert_eq!(payment("300").reason(), reason::PAYMENT_UNAUTHORIZED);
        assert_eq!(payment("400").reason(), reason::PAYMENT_PARAMETER_ERROR);
        assert_eq!(payment("200").reason(), reason::PAYMENT_REQUEST_MALFORMED);
        assert_eq!(payment("999").reason(), reason::PAYMENT_ERROR);
        assert_eq!(payment("602").vendor_code(), Some("602"));
    }
}
