//! The gRPC edge: the generated contract and one module per service (sales,
//! authorization, notifications), each
//! split by direction (`request`: proto into validated domain values,
//! `response`: domain values into proto), plus [`status`], where every error
//! becomes a gRPC status, and the edge below the handlers: [`codec`]
//! (invalid protobuf is INVALID_ARGUMENT), [`limits`] (oversized messages
//! and metadata are RESOURCE_EXHAUSTED on that call), [`overload`] (load
//! shedding past `server.max_concurrent_calls`) and [`deadline`] (the
//! deadline of a call that brings none).
//!
//! A handler does three things and nothing else: convert the request into
//! validated domain values (failing fast, before any upstream call), call the
//! port with the caller's deadline, and convert the answer or the error back.
//! The text and money rules both services share are domain values
//! ([`Text`], [`Amount::parse`]); the helpers below only name the field.

mod authorization;
pub mod codec;
pub mod deadline;
pub mod limits;
mod notifications;
mod outlet;

/// The typed view of a journal entry, for `untrusted::ins_post`.
pub(crate) use self::notifications::{
    MAX_AMOUNT_CHARS as NOTIFICATION_MAX_AMOUNT_CHARS, MAX_ITEMS as NOTIFICATION_MAX_ITEMS,
    notification as journal_notification,
};
pub mod overload;
mod sales;
pub mod status;

pub use authorization::AuthorizationApi;
pub use notifications::{
    DEFAULT_MAX_WATCHES, DEFAULT_WATCH_STALL_TIMEOUT, NotificationServiceServer, NotificationsApi,
};
pub use sales::{
    EncodedGetSaleResponse, SalesApi, StreamLimits, encode_sale, served::sales_service_server::SalesServiceServer,
};

use std::time::{Duration, Instant};

use tonic::Request;

use crate::domain::{Amount, CallContext, Error, Sign, Text, TextRules};

/// The generated messages, servers and clients of `twocheckout.v1`.
pub mod proto {
    tonic::include_proto!("twocheckout.v1");

    /// The encoded descriptors of the contract, with comments, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("twocheckout_v1_descriptor");
}

/// The call context of a request: its deadline from the `grpc-timeout` header,
/// or, when the caller sent none, `server.default_deadline` (the
/// [`deadline::DefaultDeadline`] the layer marked the request with).
fn call_context<T>(request: &Request<T>) -> CallContext {
    let timeout = caller_timeout(request)
        .or_else(|| request.extensions().get::<deadline::DefaultDeadline>().map(|default| default.0));
    CallContext { deadline: timeout.and_then(|timeout| Instant::now().checked_add(timeout)), fresh: false }
}

/// The caller's own timeout, from its `grpc-timeout` header.
fn caller_timeout<T>(request: &Request<T>) -> Option<Duration> {
    request.metadata().get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(parse_grpc_timeout)
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// A required free-text field, or INVALID_ARGUMENT naming it.
fn required_text(field: &str, value: &str, rules: TextRules) -> Result<Text, Error> {
    Text::required(value, rules).map_err(|e| Error::invalid_field(field, e))
}

/// An optional free-text field (blank is absent), or INVALID_ARGUMENT naming it.
fn optional_text(field: &str, value: &str, rules: TextRules) -> Result<Option<Text>, Error> {
    Text::parse(value, rules).map_err(|e| Error::invalid_field(field, e))
}

/// A required amount of the given sign, or INVALID_ARGUMENT naming it.
fn amount(field: &str, value: &str, sign: Sign) -> Result<Amount, Error> {
    Amount::parse(value, sign).map_err(|e| Error::invalid_field(field, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(timeout: Option<&str>, default: Option<Duration>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(timeout) = timeout {
            request.metadata_mut().insert("grpc-timeout", timeout.parse().unwrap());
        }
        if let Some(default) = default {
            request.extensions_mut().insert(deadline::DefaultDeadline(default));
        }
        request
    }

    fn remaining(ctx: CallContext) -> Option<Duration> {
        ctx.deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    #[test]
    fn a_call_without_a_deadline_gets_the_default_and_the_callers_own_wins() {
        let default = Some(Duration::from_secs(30));
        let near = |remaining: Option<Duration>, expected: u64| {
            let remaining = remaining.expect("a deadline");
            assert!(remaining <= Duration::from_secs(expected) && remaining > Duration::from_secs(expected - 1));
        };
        near(remaining(call_context(&request_with(None, default))), 30);
        near(remaining(call_context(&request_with(Some("5S"), default))), 5);
        near(remaining(call_context(&request_with(Some("2M"), default))), 120);
        assert_eq!(call_context(&request_with(None, None)).deadline, None);
    }

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "S", "10", "10x", "-1S", "123456789S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
