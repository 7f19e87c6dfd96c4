//! The gateway's entry points for untrusted bytes, gathered for the property tests beside
//! it (`untrusted/properties.rs`, with the seed-corpus replay in `untrusted/corpus.rs` and
//! the regression tests in `untrusted/regressions.rs`) and the cargo-fuzz targets in
//! `fuzz/`: nothing in the gateway calls it.
//!
//! Each wrapper is a thin call into the code the gateway really runs on what crosses its
//! edges: the Admin API's answers (`twocheckout/admin.rs`, JSON or XML by content type,
//! then the strict wire decode into domain values), the Payment API's answers
//! (`twocheckout/payment.rs`), and the callers' protobuf requests (prost's decoding, then
//! the `TryFrom` conversions of `grpc/*/request.rs`). The `check_*` functions are the fuzz
//! oracles: they take one fuzz input (its first byte chooses the endpoint or message type
//! and the HTTP status, the rest is the body) and say which rule an outcome broke, so
//! that the fuzz targets and the property tests judge alike. None of them panics; a
//! broken rule is an `Err` the fuzz target turns into a crash.

use prost::Message;
use reqwest::StatusCode;
use serde_json::Value;

use crate::domain::{
    Authorization, AuthorizationRequest, Error, ListSalesQuery, PageRequest, Sale, SaleLookup, SalesPage, WriteRequest,
};
use crate::grpc::proto;
use crate::twocheckout::{DetailSaleBody, ListSalesBody, admin, payment};

/// The HTTP statuses a fuzz input's first byte chooses from: mostly 2xx (where bodies are
/// decoded), and one of each class the classification rules tell apart.
pub const STATUSES: [u16; 16] = [200, 200, 200, 200, 200, 201, 204, 301, 307, 400, 401, 403, 404, 429, 500, 503];

/// The content types the Admin API targets send: the declared format, or none (sniffed).
pub const JSON: &str = "application/json";
pub const XML: &str = "application/xml; charset=utf-8";

/// The status as the HTTP client would have it: reqwest only ever yields 100 to 999.
fn status(code: u16) -> Result<StatusCode, Error> {
    StatusCode::from_u16(code).map_err(|_| Error::UpstreamResponseInvalid {
        detail: format!("{code} is not an HTTP status"),
        http_status: code,
    })
}

/// A `sales/detail_sale` answer, read as `AdminApiClient::get_sale` reads it.
pub fn detail_sale(status_code: u16, content_type: &str, body: &[u8]) -> Result<Sale, Error> {
    const ENDPOINT: &str = "sales/detail_sale";
    let answer: DetailSaleBody<'_> = admin::interpret(ENDPOINT, status(status_code)?, content_type, body)?;
    let invalid = |detail: String| Error::UpstreamResponseInvalid { detail, http_status: status_code };
    let sale = answer.sale.ok_or_else(|| invalid(format!("{ENDPOINT}: the answer has no sale")))?;
    sale.into_domain().map_err(|e| invalid(format!("{ENDPOINT}: {e}")))
}

/// A `sales/list_sales` answer to a first page of the default size, read as
/// `AdminApiClient::list_sales` reads it (less its "RECORD_NOT_FOUND is an empty page").
pub fn list_sales(status_code: u16, content_type: &str, body: &[u8]) -> Result<SalesPage, Error> {
    const ENDPOINT: &str = "sales/list_sales";
    let answer: ListSalesBody<'_> = admin::interpret(ENDPOINT, status(status_code)?, content_type, body)?;
    let asked = PageRequest { page: 1, page_size: PageRequest::DEFAULT_PAGE_SIZE };
    answer
        .into_domain(asked)
        .map_err(|e| Error::UpstreamResponseInvalid { detail: format!("{ENDPOINT}: {e}"), http_status: status_code })
}

/// The answer to a write (`sales/refund_invoice` stands for all six): the vendor's
/// confirmation message, or the error the caller gets.
pub fn write(status_code: u16, content_type: &str, body: &[u8]) -> Result<String, Error> {
    admin::interpret_write("sales/refund_invoice", status(status_code)?, content_type, body)
}

/// The Payment API's answer to an authorization. The client reads JSON whatever the
/// content type says, so `_content_type` is only there to keep one signature.
pub fn authorize(status_code: u16, _content_type: &str, body: &[u8]) -> Result<Authorization, Error> {
    payment::interpret_authorization(status(status_code)?, body)
}

/// The Admin API answers the fuzz targets tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAnswer {
    DetailSale,
    ListSales,
    Write,
}

impl AdminAnswer {
    pub const ALL: [Self; 3] = [Self::DetailSale, Self::ListSales, Self::Write];
}

/// Bit 7 of an Admin API input's first byte: send no content type (the body is sniffed).
const SNIFFED: u8 = 0x80;

/// The first byte of an Admin API fuzz input: which answer, which of [`STATUSES`], and
/// whether the content type is left out. [`check_admin`] reads it back.
pub fn admin_selector(answer: AdminAnswer, status_index: usize, sniffed: bool) -> u8 {
    let answer = AdminAnswer::ALL.iter().position(|a| *a == answer).unwrap_or(0) as u8;
    answer + 3 * (status_index % STATUSES.len()) as u8 + if sniffed { SNIFFED } else { 0 }
}

/// One Admin API fuzz input, `declared` being [`JSON`] or [`XML`]: byte 0 is an
/// [`admin_selector`], the rest the body. `Err` names the rule the outcome broke:
/// - a read succeeds only on a 2xx answer, and fails only as an upstream error (never
///   OUTCOME_UNKNOWN, never a caller's INVALID_ARGUMENT);
/// - a write succeeds only on a 2xx answer whose `response_code` says OK, and fails only
///   as OUTCOME_UNKNOWN, a vendor refusal or rejected credentials (never INTERNAL).
pub fn check_admin(declared: &str, input: &[u8]) -> Result<(), String> {
    let Some((&selector, body)) = input.split_first() else { return Ok(()) };
    let low = selector & !SNIFFED;
    let answer = AdminAnswer::ALL[usize::from(low % 3)];
    let status_code = STATUSES[usize::from(low / 3) % STATUSES.len()];
    let content_type = if selector & SNIFFED != 0 { "" } else { declared };
    check_admin_answer(answer, status_code, content_type, body)
}

/// The rules of [`check_admin`] for one answer with any status and content type.
pub fn check_admin_answer(
    answer: AdminAnswer,
    status_code: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let success = (200..300).contains(&status_code);
    let read_error = |e: &Error| {
        matches!(
            e,
            Error::Vendor(_)
                | Error::UpstreamCredentialsRejected { .. }
                | Error::UpstreamUnavailable { .. }
                | Error::UpstreamResponseInvalid { .. }
        )
    };
    match answer {
        AdminAnswer::DetailSale | AdminAnswer::ListSales => {
            let outcome = match answer {
                AdminAnswer::DetailSale => detail_sale(status_code, content_type, body).map(drop),
                _ => list_sales(status_code, content_type, body).map(drop),
            };
            match outcome {
                Ok(()) if !success => Err(format!("{answer:?}: HTTP {status_code} was read as a success")),
                Err(e) if !read_error(&e) => Err(format!("{answer:?}: HTTP {status_code} gave {e:?}")),
                _ => Ok(()),
            }
        }
        AdminAnswer::Write => match write(status_code, content_type, body) {
            Ok(_) if !success => Err(format!("write: HTTP {status_code} was read as a success")),
            Ok(_) if !may_say_ok(body) => Err("write: success without response_code OK".to_owned()),
            Err(Error::OutcomeUnknown { .. } | Error::Vendor(_) | Error::UpstreamCredentialsRejected { .. })
            | Ok(_) => Ok(()),
            // Only a status that is no HTTP status at all (never from the client) may differ.
            Err(Error::UpstreamResponseInvalid { .. }) if StatusCode::from_u16(status_code).is_err() => Ok(()),
            Err(e) => Err(format!("write: HTTP {status_code} gave {e:?}, not OUTCOME_UNKNOWN")),
        },
    }
}

/// Whether a write answer may say `response_code` OK: as JSON, exactly (trimmed); as
/// anything else, when `OK` or a character reference that could spell it is in there.
fn may_say_ok(body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => value.get("response_code").and_then(Value::as_str).map(str::trim) == Some("OK"),
        Err(_) => contains(body, b"OK") || contains(body, b"&#"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One Payment API fuzz input: byte 0 modulo 16 picks one of [`STATUSES`], the rest is the
/// body. `Err` names the broken rule: success only on a 2xx answer whose `response`
/// says `APPROVED` with an order number; failure only as a refusal or OUTCOME_UNKNOWN.
pub fn check_payment(input: &[u8]) -> Result<(), String> {
    let Some((&selector, body)) = input.split_first() else { return Ok(()) };
    check_payment_answer(STATUSES[usize::from(selector) % STATUSES.len()], body)
}

/// The rules of [`check_payment`] for one answer with any status.
pub fn check_payment_answer(status_code: u16, body: &[u8]) -> Result<(), String> {
    match authorize(status_code, JSON, body) {
        Ok(_) if !(200..300).contains(&status_code) => Err(format!("HTTP {status_code} was read as approved")),
        Ok(authorization) => {
            // Typed like the client's own decode, so that fields it skips are skipped here too
            // (serde_json skips them without a depth limit, while a `Value` stops at 128).
            let probe: ApprovalProbe =
                serde_json::from_slice(body).map_err(|_| "approved an answer that is not JSON")?;
            let code = probe.response.as_ref().and_then(|r| r.response_code.as_ref()).and_then(Value::as_str);
            let code = code.map(str::trim);
            if code != Some("APPROVED") || authorization.order_number.trim().is_empty() {
                return Err(format!(
                    "approved with responseCode {code:?}, order number {:?}",
                    authorization.order_number
                ));
            }
            Ok(())
        }
        Err(Error::OutcomeUnknown { .. } | Error::Payment(_)) => Ok(()),
        Err(Error::UpstreamResponseInvalid { .. }) if StatusCode::from_u16(status_code).is_err() => Ok(()),
        Err(e) => Err(format!("HTTP {status_code} gave {e:?}, neither a refusal nor OUTCOME_UNKNOWN")),
    }
}

/// What [`check_payment_answer`] reads of an approval, independently of the client.
#[derive(serde::Deserialize)]
struct ApprovalProbe {
    #[serde(default)]
    response: Option<ResponseProbe>,
}

#[derive(serde::Deserialize)]
struct ResponseProbe {
    #[serde(default, rename = "responseCode")]
    response_code: Option<Value>,
}

/// Every request message a caller can send, in the order of a fuzz input's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    GetSale,
    ListSales,
    StreamSales,
    RefundInvoice,
    RefundLineItem,
    Reauthorize,
    StopLineItemRecurring,
    MarkShipped,
    CreateComment,
    Authorize,
}

impl RequestKind {
    pub const ALL: [Self; 10] = [
        Self::GetSale,
        Self::ListSales,
        Self::StreamSales,
        Self::RefundInvoice,
        Self::RefundLineItem,
        Self::Reauthorize,
        Self::StopLineItemRecurring,
        Self::MarkShipped,
        Self::CreateComment,
        Self::Authorize,
    ];

    /// The first byte of a fuzz input of this kind.
    pub fn selector(self) -> u8 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }
}

/// Decodes `encoded` as the message of `kind` with prost (the outer `Err`: not that
/// message), then converts it as its handler does (the inner result).
pub fn convert_request(kind: RequestKind, encoded: &[u8]) -> Result<Result<(), Error>, prost::DecodeError> {
    match kind {
        RequestKind::GetSale => convert::<proto::GetSaleRequest, SaleLookup>(encoded),
        RequestKind::ListSales => convert::<proto::ListSalesRequest, ListSalesQuery>(encoded),
        RequestKind::StreamSales => convert::<proto::StreamSalesRequest, ListSalesQuery>(encoded),
        RequestKind::RefundInvoice => convert::<proto::RefundInvoiceRequest, WriteRequest>(encoded),
        RequestKind::RefundLineItem => convert::<proto::RefundLineItemRequest, WriteRequest>(encoded),
        RequestKind::Reauthorize => convert::<proto::ReauthorizeRequest, WriteRequest>(encoded),
        RequestKind::StopLineItemRecurring => convert::<proto::StopLineItemRecurringRequest, WriteRequest>(encoded),
        RequestKind::MarkShipped => convert::<proto::MarkShippedRequest, WriteRequest>(encoded),
        RequestKind::CreateComment => convert::<proto::CreateCommentRequest, WriteRequest>(encoded),
        RequestKind::Authorize => convert::<proto::AuthorizeRequest, AuthorizationRequest>(encoded),
    }
}

fn convert<M, D>(encoded: &[u8]) -> Result<Result<(), Error>, prost::DecodeError>
where
    M: Message + Default,
    D: for<'a> TryFrom<&'a M, Error = Error>,
{
    let message = M::decode(encoded)?;
    Ok(D::try_from(&message).map(drop))
}

/// Whether a conversion's outcome keeps the edge's promise: the domain value, or
/// INVALID_ARGUMENT naming the offending field (a non-empty field path).
pub fn check_conversion(outcome: &Result<(), Error>) -> Result<(), String> {
    match outcome {
        Ok(()) => Ok(()),
        Err(Error::InvalidField { field, .. }) if is_field_path(field) => Ok(()),
        Err(e) => Err(format!("refused with {e:?}, not INVALID_ARGUMENT naming a field")),
    }
}

/// `billing_address.city`, `line_items.items[0].options[1].name`: what a field path looks like.
fn is_field_path(field: &str) -> bool {
    !field.is_empty() && field.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.[]".contains(&b))
}

/// One request fuzz input: byte 0 modulo 10 picks the [`RequestKind`], the rest is the
/// encoded message. Undecodable bytes are fine (the server answers them before any
/// conversion); a decoded message must convert by [`check_conversion`].
pub fn check_request(input: &[u8]) -> Result<(), String> {
    let Some((&selector, encoded)) = input.split_first() else { return Ok(()) };
    let kind = RequestKind::ALL[usize::from(selector) % RequestKind::ALL.len()];
    match convert_request(kind, encoded) {
        Err(_undecodable) => Ok(()),
        Ok(outcome) => check_conversion(&outcome).map_err(|broken| format!("{kind:?}: {broken}")),
    }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod regressions;
