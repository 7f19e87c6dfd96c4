//! NotificationService requests into validated values, failing fast with
//! INVALID_ARGUMENT naming the field (`Error::InvalidField`) before the
//! journal is read: a cursor that is not one this gateway hands out, a
//! `page_token` that is not the previous page's (or was minted for other
//! filters: AIP-158), a `page_size` outside 0..=1000, a `sale_id` that is not
//! a sale id, a `message_types` value that is not a known type.

use std::fmt::Write as _;

use super::response::notification_type;
use crate::{
    domain::{Cursor, Error, RawForm, SaleId, echo},
    grpc::proto::{self, NotificationType, list_notifications_request::Start},
};

/// The page size of a listing that asks for none.
pub(super) const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page a listing returns.
pub(super) const MAX_PAGE_SIZE: usize = 1000;
/// The most journal entries one listing page examines: a filter that matches
/// rarely must not turn one call into a scan of the whole journal.
pub(super) const MAX_SCAN: usize = 10_000;

/// Which notifications a reader wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Filter {
    /// The wanted types, sorted and without repeats; empty means every type.
    types: Vec<NotificationType>,
    /// The wanted sale; none means every sale.
    sale_id: Option<SaleId>,
}

impl Filter {
    /// The filter of a request's `message_types` and `sale_id`.
    fn parse(types: &[i32], sale_id: &str) -> Result<Self, Error> {
        let mut wanted = Vec::with_capacity(types.len());
        for (index, &value) in types.iter().enumerate() {
            let field = || format!("message_types[{index}]");
            match NotificationType::try_from(value) {
                Ok(NotificationType::Unspecified) => {
                    return Err(Error::invalid_field(
                        field(),
                        "NOTIFICATION_TYPE_UNSPECIFIED is not a type to filter on; leave message_types empty for every type",
                    ));
                }
                Ok(known) => wanted.push(known),
                Err(_) => return Err(Error::invalid_field(field(), format!("{value} is not a NotificationType"))),
            }
        }
        wanted.sort_unstable_by_key(|t| *t as i32);
        wanted.dedup();
        let sale_id = if sale_id.is_empty() {
            None
        } else {
            Some(sale_id.parse::<SaleId>().map_err(|e| Error::invalid_field("sale_id", e))?)
        };
        Ok(Self { types: wanted, sale_id })
    }

    /// Whether the notification posted as `form` passes the filter.
    pub(super) fn matches(&self, form: &RawForm) -> bool {
        let type_ok = self.types.is_empty()
            || form
                .get("message_type")
                .map(notification_type)
                .is_some_and(|t| self.types.binary_search_by_key(&(t as i32), |w| *w as i32).is_ok());
        let sale_ok = self.sale_id.as_ref().is_none_or(|wanted| form.get("sale_id") == Some(wanted.as_str()));
        type_ok && sale_ok
    }

    /// Written canonically, for a page token to tell its own listing from another.
    fn canonical(&self, out: &mut String) {
        for t in &self.types {
            let _ = write!(out, "{},", *t as i32);
        }
        let _ = write!(out, "|{}", self.sale_id.as_ref().map_or("", SaleId::as_str));
    }
}

/// A cursor field: one this gateway handed out, or INVALID_ARGUMENT naming it.
fn cursor(field: &str, text: &str) -> Result<Cursor, Error> {
    text.parse::<Cursor>().map_err(|e| Error::invalid_field(field, format!("{} {e}", echo(text))))
}

/// A validated WatchNotifications request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct WatchQuery {
    /// Resume after this cursor; none means from the journal's head at the call's start.
    pub(super) after: Option<Cursor>,
    pub(super) filter: Filter,
}

impl TryFrom<&proto::WatchNotificationsRequest> for WatchQuery {
    type Error = Error;

    fn try_from(request: &proto::WatchNotificationsRequest) -> Result<Self, Error> {
        let after = if request.cursor.is_empty() { None } else { Some(cursor("cursor", &request.cursor)?) };
        Ok(Self { after, filter: Filter::parse(&request.message_types, &request.sale_id)? })
    }
}

/// Where a listing starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ListStart {
    /// The oldest entry the journal keeps: entries trimmed before it are no gap.
    Oldest,
    /// Strictly after a cursor the caller holds.
    After(Cursor),
    /// Received at or after this millisecond.
    ReceivedSince(u64),
}

impl ListStart {
    /// The cursor a read starts after.
    pub(super) fn cursor(self) -> Cursor {
        match self {
            Self::Oldest => Cursor::ORIGIN,
            Self::After(cursor) => cursor,
            Self::ReceivedSince(millis) => Cursor::before_millis(millis),
        }
    }

    fn canonical(self, out: &mut String) {
        let _ = match self {
            Self::Oldest => write!(out, "-"),
            Self::After(cursor) => write!(out, "c{cursor}"),
            Self::ReceivedSince(millis) => write!(out, "t{millis}"),
        };
    }
}

/// A validated ListNotifications request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ListQuery {
    pub(super) start: ListStart,
    pub(super) filter: Filter,
    pub(super) page_size: usize,
    /// Where this page reads from: after the previous page (its token), or the start.
    pub(super) after: Cursor,
}

impl ListQuery {
    /// The token of the page that reads after `cursor`, bound to this listing's start and filters.
    pub(super) fn page_token(&self, cursor: Cursor) -> String {
        let text = format!("{TOKEN_VERSION}{cursor};{}", self.listing());
        text.bytes().fold(String::with_capacity(text.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// The start and filters, canonically: what a page token must have been minted for.
    fn listing(&self) -> String {
        let mut out = String::new();
        self.start.canonical(&mut out);
        out.push(';');
        self.filter.canonical(&mut out);
        out
    }
}

/// The version prefix of a page token's text, so a later format can tell its own.
const TOKEN_VERSION: &str = "n1;";

/// The longest page token accepted: far above any this gateway mints.
const MAX_TOKEN_CHARS: usize = 1024;

impl TryFrom<&proto::ListNotificationsRequest> for ListQuery {
    type Error = Error;

    fn try_from(request: &proto::ListNotificationsRequest) -> Result<Self, Error> {
        let start = match &request.start {
            None => ListStart::Oldest,
            Some(Start::Cursor(text)) if text.is_empty() => ListStart::Oldest,
            Some(Start::Cursor(text)) => ListStart::After(cursor("cursor", text)?),
            Some(Start::ReceivedAfter(time)) => {
                if !(0..1_000_000_000).contains(&time.nanos) {
                    return Err(Error::invalid_field("received_after", "nanos must be from 0 to 999999999"));
                }
                // Before the epoch nothing was received: the same as the oldest, counted in time.
                let millis = u64::try_from(time.seconds)
                    .map_or(0, |seconds| seconds.saturating_mul(1000).saturating_add(time.nanos as u64 / 1_000_000));
                ListStart::ReceivedSince(millis)
            }
        };
        let filter = Filter::parse(&request.message_types, &request.sale_id)?;
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => usize::try_from(size)
                .ok()
                .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
                .ok_or_else(|| Error::invalid_field("page_size", format!("must be from 0 to {MAX_PAGE_SIZE}")))?,
        };
        let mut query = Self { start, filter, page_size, after: start.cursor() };
        if !request.page_token.is_empty() {
            query.after = query.parse_page_token(&request.page_token)?;
        }
        Ok(query)
    }
}

impl ListQuery {
    /// The cursor a page token reads after, if it is a token this listing minted.
    fn parse_page_token(&self, token: &str) -> Result<Cursor, Error> {
        let invalid = |why: &str| Error::invalid_field("page_token", why);
        let not_ours = "must be a next_page_token this service returned";
        if token.len() > MAX_TOKEN_CHARS || !token.len().is_multiple_of(2) {
            return Err(invalid(not_ours));
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| token.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| invalid(not_ours))?;
        let text = String::from_utf8(bytes).map_err(|_| invalid(not_ours))?;
        let rest = text.strip_prefix(TOKEN_VERSION).ok_or_else(|| invalid(not_ours))?;
        let (cursor, listing) = rest.split_once(';').ok_or_else(|| invalid(not_ours))?;
        let cursor: Cursor = cursor.parse().map_err(|_| invalid(not_ours))?;
        if listing != self.listing() {
            return Err(invalid(
                "was returned for another listing: cursor, received_after, message_types and sale_id must stay the same from page to page",
            ));
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: Error) -> String {
        match error {
            Error::InvalidField { field, .. } => field,
            other => panic!("not an invalid field: {other:?}"),
        }
    }

    fn list(request: proto::ListNotificationsRequest) -> Result<ListQuery, Error> {
        ListQuery::try_from(&request)
    }

    #[test]
    fn bad_fields_are_refused_naming_the_field() {
        let watch = |request: proto::WatchNotificationsRequest| WatchQuery::try_from(&request).unwrap_err();
        assert_eq!(
            field_of(watch(proto::WatchNotificationsRequest { cursor: "abc".into(), ..Default::default() })),
            "cursor"
        );
        assert_eq!(
            field_of(watch(proto::WatchNotificationsRequest { sale_id: "12x".into(), ..Default::default() })),
            "sale_id"
        );
        let types = |types: Vec<i32>| proto::WatchNotificationsRequest { message_types: types, ..Default::default() };
        assert_eq!(field_of(watch(types(vec![1, 0]))), "message_types[1]");
        assert_eq!(field_of(watch(types(vec![99]))), "message_types[0]");

        for size in [-1, 1001, i32::MIN] {
            let request = proto::ListNotificationsRequest { page_size: size, ..Default::default() };
            assert_eq!(field_of(list(request).unwrap_err()), "page_size", "{size}");
        }
        for token in ["zz", "abc", "00", &"61".repeat(600)] {
            let request = proto::ListNotificationsRequest { page_token: token.into(), ..Default::default() };
            assert_eq!(field_of(list(request).unwrap_err()), "page_token", "{token}");
        }
        let start = |start| proto::ListNotificationsRequest { start: Some(start), ..Default::default() };
        assert_eq!(field_of(list(start(Start::Cursor("1-2-3".into()))).unwrap_err()), "cursor");
        let bad_time = prost_types::Timestamp { seconds: 1, nanos: -1 };
        assert_eq!(field_of(list(start(Start::ReceivedAfter(bad_time))).unwrap_err()), "received_after");
    }

    #[test]
    fn page_sizes_default_to_100_and_stop_at_1000() {
        let size =
            |page_size| list(proto::ListNotificationsRequest { page_size, ..Default::default() }).unwrap().page_size;
        assert_eq!((size(0), size(1), size(1000)), (100, 1, 1000));
    }

    #[test]
    fn a_page_token_resumes_its_own_listing_and_no_other() {
        let request = proto::ListNotificationsRequest {
            message_types: vec![NotificationType::RefundIssued as i32],
            sale_id: "4742525399".into(),
            ..Default::default()
        };
        let first = list(request.clone()).unwrap();
        assert_eq!(first.after, Cursor::ORIGIN);
        let token = first.page_token(Cursor::new(17, 3));
        let next = list(proto::ListNotificationsRequest { page_token: token.clone(), page_size: 5, ..request.clone() });
        assert_eq!(next.unwrap().after, Cursor::new(17, 3), "page_size may change between pages");

        let other_sale = proto::ListNotificationsRequest { sale_id: "1".into(), page_token: token.clone(), ..request };
        assert_eq!(field_of(list(other_sale).unwrap_err()), "page_token");
    }

    #[test]
    fn received_after_starts_just_before_its_millisecond() {
        let at = prost_types::Timestamp { seconds: 1_733_030_000, nanos: 123_456_789 };
        let query =
            list(proto::ListNotificationsRequest { start: Some(Start::ReceivedAfter(at)), ..Default::default() });
        assert_eq!(query.unwrap().after, Cursor::before_millis(1_733_030_000_123));
        let before_epoch = prost_types::Timestamp { seconds: -5, nanos: 0 };
        let query = list(proto::ListNotificationsRequest {
            start: Some(Start::ReceivedAfter(before_epoch)),
            ..Default::default()
        });
        assert_eq!(query.unwrap().after, Cursor::ORIGIN);
    }

    #[test]
    fn filters_match_on_the_posted_type_and_sale() {
        let form = |message_type: &str, sale: &str| {
            RawForm::new(vec![("message_type".into(), message_type.into()), ("sale_id".into(), sale.into())])
        };
        let filter = Filter::parse(&[NotificationType::RefundIssued as i32], "7").unwrap();
        assert!(filter.matches(&form("REFUND_ISSUED", "7")));
        assert!(!filter.matches(&form("REFUND_ISSUED", "8")));
        assert!(!filter.matches(&form("ORDER_CREATED", "7")));
        assert!(!filter.matches(&form("SOMETHING_NEW", "7")));
        assert!(Filter::default().matches(&form("SOMETHING_NEW", "")));
    }
}
