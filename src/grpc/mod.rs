//! The gRPC edge: the generated contract and one module per service (sales,
//! authorization, notifications, catalog, account), each
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
//! The text and money rules the services share are domain values
//! ([`Text`], [`Amount::parse`]); the helpers below only name the field.
//! Paging rules shared by every listing ([`page_request`], [`page_of`],
//! [`page_info`]) are here too.

mod account;
mod authorization;
mod catalog;
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

pub use account::{AccountApi, AccountServiceServer};
pub use authorization::AuthorizationApi;
pub use catalog::{CatalogApi, CatalogServiceServer};
pub use notifications::{
    DEFAULT_MAX_WATCHES, DEFAULT_WATCH_STALL_TIMEOUT, NotificationServiceServer, NotificationsApi,
};
pub use sales::{
    EncodedGetSaleResponse, SalesApi, StreamLimits, encode_sale, served::sales_service_server::SalesServiceServer,
};

use std::time::{Duration, Instant};

use tonic::Request;

use crate::domain::{Amount, CallContext, CatalogPage, Error, PageRequest, Sign, Text, TextRules};

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

/// "<n> Week|Month|Year" (and "Forever" when `forever` is allowed), as the
/// vendor writes recurrences and durations, or INVALID_ARGUMENT naming `field`.
fn period(field: &str, value: &str, forever: bool) -> Result<String, Error> {
    if forever && value.eq_ignore_ascii_case("forever") {
        return Ok("Forever".to_owned());
    }
    let valid = value.split_once(' ').is_some_and(|(n, unit)| {
        !n.is_empty()
            && n.len() <= 3
            && n.bytes().all(|b| b.is_ascii_digit())
            && n.parse::<u32>().is_ok_and(|n| n > 0)
            && ["week", "month", "year"].contains(&unit.to_ascii_lowercase().as_str())
    });
    if !valid {
        let expected = if forever { "\"Forever\" or \"<n> Week|Month|Year\"" } else { "\"<n> Week|Month|Year\"" };
        return Err(Error::invalid_field(field, format!("must be {expected}, like \"1 Month\"")));
    }
    Ok(value.to_owned())
}

/// A listing's `page` and `page_size` fields: page 0 means 1, page size 0
/// means `default_size`, and at most [`PageRequest::MAX_PAGE_SIZE`].
fn page_request(page: i32, page_size: i32, default_size: u32) -> Result<PageRequest, Error> {
    let page = match page {
        0 => 1,
        p if p > 0 => p.unsigned_abs(),
        _ => return Err(Error::invalid_field("page", "must be 1 or more (0 means 1)")),
    };
    let page_size = match page_size {
        0 => default_size,
        n if (1..=PageRequest::MAX_PAGE_SIZE as i32).contains(&n) => n.unsigned_abs(),
        _ => {
            return Err(Error::invalid_field(
                "page_size",
                format!("must be between 1 and {} (0 means the default)", PageRequest::MAX_PAGE_SIZE),
            ));
        }
    };
    Ok(PageRequest { page, page_size })
}

/// One page of a listing the vendor answers whole (coupons, payouts), cut
/// by the gateway the way the vendor cuts its paged listings: a page past
/// the end is empty but still says how many rows there are.
fn page_of<T>(rows: Vec<T>, page: PageRequest) -> CatalogPage<T> {
    let total = rows.len();
    let size = page.page_size.max(1) as usize;
    let start = (page.page.max(1) as usize - 1).saturating_mul(size);
    let rows: Vec<T> = rows.into_iter().skip(start).take(size).collect();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let (first_entry, last_entry) =
        if rows.is_empty() { (0, 0) } else { (count(start + 1), count(start + rows.len())) };
    CatalogPage {
        page: page.page,
        page_size: page.page_size,
        last_page: count(total.div_ceil(size)),
        total_entries: count(total),
        first_entry,
        last_entry,
        rows,
    }
}

/// Where a catalog or account page stands, as every listing answers it.
fn page_info<T>(page: &CatalogPage<T>) -> proto::PageInfo {
    let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    proto::PageInfo {
        page: clamp(page.page),
        page_size: clamp(page.page_size),
        last_page: clamp(page.last_page),
        total_entries: clamp(page.total_entries),
        first_entry: clamp(page.first_entry),
        last_entry: clamp(page.last_entry),
        has_next_page: page.has_next_page(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_listing_is_paged_like_the_vendor_pages_its_own() {
        let rows: Vec<u32> = (1..=45).collect();
        let page = |page, page_size| page_of(rows.clone(), PageRequest { page, page_size });
        let second = page(2, 20);
        assert_eq!(second.rows, (21..=40).collect::<Vec<_>>());
        assert_eq!((second.first_entry, second.last_entry, second.last_page, second.total_entries), (21, 40, 3, 45));
        assert!(second.has_next_page());
        let last = page(3, 20);
        assert_eq!((last.rows.len(), last.last_entry, last.has_next_page()), (5, 45, false));
        let beyond = page(9, 20);
        assert!(beyond.rows.is_empty());
        assert_eq!((beyond.first_entry, beyond.last_entry, beyond.total_entries), (0, 0, 45));
        let none = page_of(Vec::<u32>::new(), PageRequest { page: 1, page_size: 20 });
        assert_eq!((none.last_page, none.total_entries, none.first_entry), (0, 0, 0));
        assert!(!page_info(&none).has_next_page);
    }

    #[test]
    fn page_fields_default_and_are_bounded() {
        assert_eq!(page_request(0, 0, 20).unwrap(), PageRequest { page: 1, page_size: 20 });
        assert_eq!(page_request(3, 100, 20).unwrap(), PageRequest { page: 3, page_size: 100 });
        for (page, size, field) in [(-1, 0, "page"), (1, 101, "page_size"), (1, -5, "page_size")] {
            assert!(
                matches!(page_request(page, size, 20), Err(Error::InvalidField { field: f, .. }) if f == field),
                "{page} {size}"
            );
        }
    }

    #[test]
    fn periods_are_a_count_and_a_unit_or_forever() {
        assert_eq!(period("duration", "forever", true).unwrap(), "Forever");
        assert_eq!(period("recurrence", "1 Month", false).unwrap(), "1 Month");
        assert_eq!(period("recurrence", "12 week", false).unwrap(), "12 week");
        for bad in ["Forever", "0 Month", "1 Fortnight", "1Month", "1000 Year", "-1 Year", "", "one Month"] {
            assert!(period("recurrence", bad, false).is_err(), "{bad}");
        }
    }

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
