//! A journal entry (the verified INS form, as posted) into a typed
//! `proto::Notification`, on every read: the journal keeps the raw form, so a
//! better reading of a field never needs a migration of stored data.
//!
//! Nothing here can fail: the form was accepted because 2Checkout signed it,
//! and a value the gateway cannot read (a new message type, "N/A" from a
//! Test-tab post, an amount that is not a decimal) reads as empty or
//! UNSPECIFIED, with the vendor's text beside it and the whole form in
//! `raw_fields`.
//!
//! Times: 2Checkout writes US Eastern local time without a zone
//! ("2013-07-19 17:01:19"). [`vendor_time`] keeps the text, names the zone
//! and gives the instant through the IANA rules (chrono-tz), DST included: a
//! local time in the hour skipped in March has no instant, one in the hour
//! repeated in November is the first of the two (EDT) and marked ambiguous.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::America::New_York;

use crate::{
    domain::{JournalEntry, RawForm},
    grpc::proto::{self, BillingStatus, FraudStatus, InvoiceStatus, NotificationType, RecurringStatus, ShipStatus},
};

/// The zone every 2Checkout INS time is in.
pub(super) const VENDOR_TIME_ZONE: &str = "America/New_York";

/// The longest amount text read as an amount: far above any real one.
pub(crate) const MAX_AMOUNT_CHARS: usize = 32;

/// The highest item number read (`item_name_N`): a form has at most
/// `ins.max_fields` fields, and this bounds the work whatever it claims.
pub(crate) const MAX_ITEMS: usize = 1000;

/// The typed view of a journal entry (`pub(crate)` for `untrusted::ins_post`).
pub(crate) fn notification(entry: &JournalEntry) -> proto::Notification {
    let form = &*entry.form;
    let text = |key: &str| value(form, key);
    let message_type = form.get("message_type").unwrap_or_default();
    let kind = notification_type(message_type);
    proto::Notification {
        cursor: entry.cursor.to_string(),
        received_time: Some(timestamp_of_millis(entry.cursor.millis())),
        message_type: kind.into(),
        vendor_message_type: message_type.to_owned(),
        message_description: text("message_description"),
        message_id: text("message_id"),
        vendor_id: text("vendor_id"),
        sale_id: text("sale_id"),
        invoice_id: text("invoice_id"),
        vendor_order_id: text("vendor_order_id"),
        timestamp: form.get("timestamp").map(vendor_time),
        sale_date_placed: form.get("sale_date_placed").map(vendor_time),
        recurring: form.get("recurring") == Some("1"),
        payment_type: text("payment_type"),
        list_currency: text("list_currency"),
        customer_currency: text("cust_currency"),
        invoice: is_invoice_level(kind).then(|| invoice(form)),
        customer: Some(proto::NotificationCustomer {
            first_name: text("customer_first_name"),
            last_name: text("customer_last_name"),
            name: text("customer_name"),
            email: text("customer_email"),
            phone: text("customer_phone"),
            ip: text("customer_ip"),
            ip_country: text("customer_ip_country"),
        }),
        billing_address: Some(address(form, "bill")),
        shipping: Some(proto::NotificationShipping {
            status: ship_status(form.get("ship_status").unwrap_or_default()).into(),
            vendor_status: raw(form, "ship_status"),
            tracking_number: text("ship_tracking_number"),
            recipient_name: text("ship_name"),
            address: Some(address(form, "ship")),
        }),
        items: items(form),
        raw_fields: form
            .fields()
            .iter()
            .map(|(key, value)| proto::FormField { key: key.clone(), value: value.clone() })
            .collect(),
    }
}

/// The type a posted `message_type` names; one the gateway does not know is UNSPECIFIED.
pub(super) fn notification_type(text: &str) -> NotificationType {
    match text {
        "ORDER_CREATED" => NotificationType::OrderCreated,
        "FRAUD_STATUS_CHANGED" => NotificationType::FraudStatusChanged,
        "SHIP_STATUS_CHANGED" => NotificationType::ShipStatusChanged,
        "INVOICE_STATUS_CHANGED" => NotificationType::InvoiceStatusChanged,
        "REFUND_ISSUED" => NotificationType::RefundIssued,
        "RECURRING_INSTALLMENT_SUCCESS" => NotificationType::RecurringInstallmentSuccess,
        "RECURRING_INSTALLMENT_FAILED" => NotificationType::RecurringInstallmentFailed,
        "RECURRING_STOPPED" => NotificationType::RecurringStopped,
        "RECURRING_COMPLETE" => NotificationType::RecurringComplete,
        "RECURRING_RESTARTED" => NotificationType::RecurringRestarted,
        _ => NotificationType::Unspecified,
    }
}

/// The four types sent once per invoice, with the invoice-level fields.
fn is_invoice_level(kind: NotificationType) -> bool {
    matches!(
        kind,
        NotificationType::OrderCreated
            | NotificationType::FraudStatusChanged
            | NotificationType::ShipStatusChanged
            | NotificationType::InvoiceStatusChanged
    )
}

/// A field as posted, or empty when absent.
fn raw(form: &RawForm, key: &str) -> String {
    form.get(key).unwrap_or_default().to_owned()
}

/// A field for the typed view: as posted, except that "N/A" (the Test tab's
/// "not applicable") reads as empty.
fn value(form: &RawForm, key: &str) -> String {
    match form.get(key) {
        None | Some("N/A") => String::new(),
        Some(text) => text.to_owned(),
    }
}

/// The vendor's decimal text when it is a decimal number (an optional minus,
/// digits, optionally a dot and digits: "0.20", "250", "-5.00"); empty
/// otherwise. Kept as written, never through a float.
fn amount(form: &RawForm, key: &str) -> String {
    let text = form.get(key).unwrap_or_default();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if text.len() <= MAX_AMOUNT_CHARS && all_digits(whole) && all_digits(fraction) {
        text.to_owned()
    } else {
        String::new()
    }
}

/// A "YYYY-MM-DD" date as posted when it is one; empty otherwise ("N/A", "").
fn date(form: &RawForm, key: &str) -> String {
    let text = form.get(key).unwrap_or_default();
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(_) if text.len() == 10 => text.to_owned(),
        _ => String::new(),
    }
}

/// A count as posted when it is a small whole number; 0 otherwise.
fn count(form: &RawForm, key: &str) -> i32 {
    form.get(key).and_then(|text| text.parse::<u32>().ok()).and_then(|n| i32::try_from(n).ok()).unwrap_or(0)
}

fn invoice(form: &RawForm) -> proto::NotificationInvoice {
    let status = match form.get("invoice_status").unwrap_or_default() {
        "approved" => InvoiceStatus::Approved,
        "pending" => InvoiceStatus::Pending,
        "deposited" => InvoiceStatus::Deposited,
        "declined" => InvoiceStatus::Declined,
        _ => InvoiceStatus::Unspecified,
    };
    let fraud = match form.get("fraud_status").unwrap_or_default() {
        "pass" => FraudStatus::Pass,
        "fail" => FraudStatus::Fail,
        "wait" => FraudStatus::Wait,
        _ => FraudStatus::Unspecified,
    };
    proto::NotificationInvoice {
        auth_exp: date(form, "auth_exp"),
        status: status.into(),
        vendor_status: raw(form, "invoice_status"),
        fraud_status: fraud.into(),
        vendor_fraud_status: raw(form, "fraud_status"),
        list_amount: amount(form, "invoice_list_amount"),
        usd_amount: amount(form, "invoice_usd_amount"),
        customer_amount: amount(form, "invoice_cust_amount"),
    }
}

fn ship_status(text: &str) -> ShipStatus {
    match text {
        "not_shipped" => ShipStatus::NotShipped,
        "shipped" => ShipStatus::Shipped,
        _ => ShipStatus::Unspecified,
    }
}

/// The `bill_*` or `ship_*` address.
fn address(form: &RawForm, prefix: &str) -> proto::Address {
    let text = |suffix: &str| value(form, &format!("{prefix}_{suffix}"));
    proto::Address {
        address_1: text("street_address"),
        address_2: text("street_address2"),
        city: text("city"),
        state: text("state"),
        postal_code: text("postal_code"),
        country_code: text("country"),
        ..Default::default()
    }
}

/// The items, by the numbers their fields carry (`item_name_1`, ...), not by
/// `item_count`: an item is there when any of its fields was posted.
fn items(form: &RawForm) -> Vec<proto::NotificationItem> {
    let highest = form
        .fields()
        .iter()
        .filter_map(|(key, _)| key.strip_prefix("item_"))
        .filter_map(|rest| rest.rsplit_once('_'))
        .filter_map(|(_, number)| number.parse::<usize>().ok())
        .filter(|&n| (1..=MAX_ITEMS).contains(&n))
        .max()
        .unwrap_or(0);
    (1..=highest).filter(|&n| has_item(form, n)).map(|n| item(form, n)).collect()
}

/// The per-item field names, without their `_N`.
const ITEM_FIELDS: [&str; 12] = [
    "item_name",
    "item_id",
    "item_list_amount",
    "item_usd_amount",
    "item_cust_amount",
    "item_type",
    "item_duration",
    "item_recurrence",
    "item_rec_list_amount",
    "item_rec_status",
    "item_rec_date_next",
    "item_rec_install_billed",
];

fn has_item(form: &RawForm, n: usize) -> bool {
    ITEM_FIELDS.iter().any(|field| form.get(&format!("{field}_{n}")).is_some())
}

fn item(form: &RawForm, n: usize) -> proto::NotificationItem {
    let key = |field: &str| format!("{field}_{n}");
    let item_type = match form.get(&key("item_type")).unwrap_or_default() {
        "bill" => BillingStatus::Bill,
        "refund" => BillingStatus::Refund,
        _ => BillingStatus::Unspecified,
    };
    let recurring_status = match form.get(&key("item_rec_status")).unwrap_or_default() {
        "live" => RecurringStatus::Active,
        // 2Checkout documents "canceled"; a 2012 example spells it "cancelled".
        "canceled" | "cancelled" => RecurringStatus::Stopped,
        "completed" => RecurringStatus::Completed,
        _ => RecurringStatus::Unspecified,
    };
    proto::NotificationItem {
        name: value(form, &key("item_name")),
        vendor_product_id: value(form, &key("item_id")),
        list_amount: amount(form, &key("item_list_amount")),
        usd_amount: amount(form, &key("item_usd_amount")),
        customer_amount: amount(form, &key("item_cust_amount")),
        item_type: item_type.into(),
        vendor_item_type: raw(form, &key("item_type")),
        duration: value(form, &key("item_duration")),
        recurrence: value(form, &key("item_recurrence")),
        recurring_list_amount: amount(form, &key("item_rec_list_amount")),
        recurring_status: recurring_status.into(),
        vendor_recurring_status: raw(form, &key("item_rec_status")),
        recurring_date_next: date(form, &key("item_rec_date_next")),
        installments_billed: count(form, &key("item_rec_install_billed")),
    }
}

/// A 2Checkout time: its text, its zone, and its instant where there is exactly one.
pub(super) fn vendor_time(text: &str) -> proto::VendorTime {
    let (time, ambiguous) = match eastern_instant(text) {
        Some((instant, ambiguous)) => (Some(instant), ambiguous),
        None => (None, false),
    };
    proto::VendorTime {
        vendor_text: text.to_owned(),
        time_zone: VENDOR_TIME_ZONE.to_owned(),
        time: time.map(|t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }),
        ambiguous,
    }
}

/// The instant of "YYYY-MM-DD HH:MM:SS" in US Eastern time (or with an explicit
/// " EST" / " EDT"), and whether the local time happened twice; none when the
/// text is no such time or the local time never happened.
fn eastern_instant(text: &str) -> Option<(chrono::DateTime<chrono::Utc>, bool)> {
    let (local, fixed_offset_hours) = match text.rsplit_once(' ') {
        Some((rest, "EST")) => (rest, Some(-5)),
        Some((rest, "EDT")) => (rest, Some(-4)),
        _ => (text, None),
    };
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").ok()?;
    if let Some(hours) = fixed_offset_hours {
        let offset = chrono::FixedOffset::east_opt(hours * 3600)?;
        return offset.from_local_datetime(&naive).single().map(|t| (t.to_utc(), false));
    }
    match New_York.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some((t.to_utc(), false)),
        LocalResult::Ambiguous(earliest, _) => Some((earliest.to_utc(), true)),
        LocalResult::None => None,
    }
}

/// A protobuf Timestamp of milliseconds since the epoch.
pub(super) fn timestamp_of_millis(millis: u64) -> prost_types::Timestamp {
    let seconds = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
    // Below 1000 ms, so below a second in nanoseconds: always fits.
    let nanos = i32::try_from((millis % 1000) * 1_000_000).unwrap_or(0);
    prost_types::Timestamp { seconds, nanos }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::Cursor;

    fn entry(fields: &[(&str, &str)]) -> JournalEntry {
        let fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        JournalEntry { cursor: Cursor::new(1_733_030_000_123, 4), form: Arc::new(RawForm::new(fields)) }
    }

    #[test]
    fn the_live_fraud_status_post_reads_fully_typed() {
        let owned = crate::notifications::samples::fraud_status_changed();
        let fields: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(fields.len(), 68, "the post's own key_count");
        let n = notification(&entry(&fields));
        assert_eq!(n.cursor, "1733030000123-4");
        assert_eq!(n.received_time, Some(prost_types::Timestamp { seconds: 1_733_030_000, nanos: 123_000_000 }));
        assert_eq!(n.message_type(), NotificationType::FraudStatusChanged);
        assert_eq!(n.vendor_message_type, "FRAUD_STATUS_CHANGED");
        assert_eq!((n.message_id.as_str(), n.vendor_id.as_str()), ("3786", "532001"));
        assert_eq!((n.sale_id.as_str(), n.invoice_id.as_str()), ("4742525399", "4759791636"));
        assert_eq!(n.vendor_order_id, "test123");
        assert!(n.recurring);
        assert_eq!(n.payment_type, "paypal ec");
        assert_eq!((n.list_currency.as_str(), n.customer_currency.as_str()), ("USD", "USD"));

        // July: EDT, UTC-4.
        let timestamp = n.timestamp.unwrap();
        assert_eq!(timestamp.vendor_text, "2013-07-19 17:01:19");
        assert_eq!(timestamp.time_zone, "America/New_York");
        let utc = chrono::DateTime::parse_from_rfc3339("2013-07-19T21:01:19Z").unwrap().timestamp();
        assert_eq!(timestamp.time, Some(prost_types::Timestamp { seconds: utc, nanos: 0 }));
        assert!(!timestamp.ambiguous);
        assert!(n.sale_date_placed.unwrap().time.is_some());

        let invoice = n.invoice.expect("an invoice-level type carries the invoice");
        assert_eq!(invoice.auth_exp, "2012-07-26");
        assert_eq!((invoice.status(), invoice.vendor_status.as_str()), (InvoiceStatus::Deposited, "deposited"));
        assert_eq!((invoice.fraud_status(), invoice.vendor_fraud_status.as_str()), (FraudStatus::Pass, "pass"));
        assert_eq!(
            (invoice.list_amount.as_str(), invoice.usd_amount.as_str(), invoice.customer_amount.as_str()),
            ("0.20", "0.20", "0.20")
        );

        let customer = n.customer.unwrap();
        assert_eq!((customer.first_name.as_str(), customer.name.as_str()), ("Craig", "Craig P Christenson"));
        assert_eq!((customer.ip.as_str(), customer.ip_country.as_str()), ("76.181.175.91", "United States"));
        let billing = n.billing_address.unwrap();
        assert_eq!((billing.address_1.as_str(), billing.address_2.as_str()), ("123 Test St", "dddsdsc"));
        assert_eq!((billing.postal_code.as_str(), billing.country_code.as_str()), ("43123", "USA"));
        let shipping = n.shipping.unwrap();
        assert_eq!((shipping.status(), shipping.vendor_status.as_str()), (ShipStatus::Unspecified, ""));
        assert_eq!(shipping.recipient_name, "Craig Christenson");
        assert_eq!(shipping.address.unwrap().postal_code, "43228");

        assert_eq!(n.items.len(), 2);
        let item = &n.items[1];
        assert_eq!((item.name.as_str(), item.vendor_product_id.as_str()), ("Download", "ebook1"));
        assert_eq!(
            (item.list_amount.as_str(), item.usd_amount.as_str(), item.customer_amount.as_str()),
            ("0.10", "0.10", "0.10")
        );
        assert_eq!(item.item_type(), BillingStatus::Bill);
        assert_eq!((item.duration.as_str(), item.recurrence.as_str()), ("", "1 Week"));
        assert_eq!(item.recurring_list_amount, "0.10");
        assert_eq!((item.recurring_status(), item.vendor_recurring_status.as_str()), (RecurringStatus::Active, "live"));
        assert_eq!((item.recurring_date_next.as_str(), item.installments_billed), ("2012-07-26", 4));

        assert_eq!(n.raw_fields.len(), 68);
        assert_eq!(
            n.raw_fields[3],
            proto::FormField { key: "md5_hash".into(), value: "2DAE8544FA29CE313DB20582D540F133".into() }
        );
    }

    /// The documentation's REFUND_ISSUED example: item level (50 keys, no invoice block), GBP/JPY.
    #[test]
    fn a_refund_is_item_level_with_the_refund_item_and_its_amounts_as_written() {
        let mut fields = vec![
            ("message_type", "REFUND_ISSUED"),
            ("message_description", "Refund issued"),
            ("timestamp", "2013-01-03 10:51:02"),
            ("vendor_id", "12345"),
            ("sale_id", "2223334445"),
            ("invoice_id", "234567890"),
            ("vendor_order_id", "promo12345"),
            ("recurring", "1"),
            ("list_currency", "GBP"),
            ("cust_currency", "JPY"),
            ("ship_status", "shipped"),
            ("ship_tracking_number", "ZX567567832"),
            ("item_count", "1"),
            ("item_name_1", "t-shirt"),
            ("item_id_1", "12"),
            ("item_list_amount_1", "5.00"),
            ("item_usd_amount_1", "2.50"),
            ("item_cust_amount_1", "250"),
            ("item_type_1", "refund"),
        ];
        for field in [
            "item_duration_1",
            "item_recurrence_1",
            "item_rec_list_amount_1",
            "item_rec_status_1",
            "item_rec_date_next_1",
            "item_rec_install_billed_1",
        ] {
            fields.push((field, ""));
        }
        let n = notification(&entry(&fields));
        assert_eq!(n.message_type(), NotificationType::RefundIssued);
        assert!(n.invoice.is_none(), "REFUND_ISSUED is item level");
        assert_eq!(n.customer_currency, "JPY");
        let shipping = n.shipping.unwrap();
        assert_eq!((shipping.status(), shipping.tracking_number.as_str()), (ShipStatus::Shipped, "ZX567567832"));
        assert_eq!(n.items.len(), 1);
        let item = &n.items[0];
        assert_eq!(item.item_type(), BillingStatus::Refund);
        assert_eq!(item.customer_amount, "250", "JPY has no decimals: the text as written");
        assert_eq!((item.list_amount.as_str(), item.usd_amount.as_str()), ("5.00", "2.50"));
        assert_eq!(item.recurring_status(), RecurringStatus::Unspecified);
        assert_eq!((item.recurring_list_amount.as_str(), item.installments_billed), ("", 0));
    }

    /// The 2009 Test-tab post: "N/A" in several fields, which must read as empty, never fail.
    #[test]
    fn the_test_tab_post_with_n_a_values_reads_as_empty() {
        let fields = [
            ("message_type", "FRAUD_STATUS_CHANGED"),
            ("message_description", "Test Message"),
            ("message_id", "1"),
            ("sale_id", "100006310"),
            ("invoice_id", "100006320"),
            ("vendor_id", "1007"),
            ("vendor_order_id", "1008OA"),
            ("payment_type", "paypal"),
            ("auth_exp", "N/A"),
            ("invoice_usd_amount", "10.25"),
            ("invoice_list_amount", "N/A"),
            ("ship_status", "shipped"),
            ("item_name_1", "Test"),
            ("item_type_1", "N/A"),
            ("item_duration_1", "1"),
            ("item_recurrence_1", "N/A"),
            ("item_rec_list_amount_1", "N/A"),
            ("item_rec_status_1", "N/A"),
            ("item_rec_date_next_1", "N/A"),
            ("item_rec_install_billed_1", "0"),
            ("item_usd_amount_1", "49.00"),
            ("timestamp", "N/A"),
        ];
        let n = notification(&entry(&fields));
        assert_eq!(n.message_description, "Test Message");
        let invoice = n.invoice.unwrap();
        assert_eq!(
            (invoice.auth_exp.as_str(), invoice.list_amount.as_str(), invoice.usd_amount.as_str()),
            ("", "", "10.25")
        );
        let item = &n.items[0];
        assert_eq!((item.item_type(), item.vendor_item_type.as_str()), (BillingStatus::Unspecified, "N/A"));
        assert_eq!(
            (item.recurrence.as_str(), item.recurring_list_amount.as_str(), item.recurring_date_next.as_str()),
            ("", "", "")
        );
        assert_eq!(
            (item.recurring_status(), item.vendor_recurring_status.as_str()),
            (RecurringStatus::Unspecified, "N/A")
        );
        assert_eq!((item.duration.as_str(), item.usd_amount.as_str()), ("1", "49.00"));
        let timestamp = n.timestamp.unwrap();
        assert_eq!((timestamp.vendor_text.as_str(), timestamp.time), ("N/A", None));
        assert!(n.sale_date_placed.is_none(), "not posted");
    }

    #[test]
    fn an_unknown_type_is_unspecified_with_the_vendors_text_and_no_invoice() {
        let n = notification(&entry(&[("message_type", "CHARGEBACK_OPENED"), ("invoice_status", "approved")]));
        assert_eq!(
            (n.message_type(), n.vendor_message_type.as_str()),
            (NotificationType::Unspecified, "CHARGEBACK_OPENED")
        );
        assert!(n.invoice.is_none());
        assert!(notification(&entry(&[])).items.is_empty(), "an empty form reads, it does not fail");
    }

    #[test]
    fn hostile_forms_read_without_panicking_and_items_stay_bounded() {
        let fields = [
            ("item_name_99999999999999999999999", "x"),
            ("item_name_0", "zero is no item"),
            ("item__", ""),
            ("item_", "_"),
            ("item_name_1001", "past the bound"),
            ("item_name_3", "é\u{0}\u{202e}"),
            ("item_rec_install_billed_3", "99999999999"),
            ("item_count", "18446744073709551616"),
            ("timestamp", "9999-12-31 23:59:59"),
            ("sale_date_placed", "2024-03-10 02:30:00 EDT"),
            ("recurring", "yes"),
        ];
        let n = notification(&entry(&fields));
        assert_eq!(n.items.len(), 1, "only item 3 has fields within 1..=1000");
        assert_eq!((n.items[0].name.as_str(), n.items[0].installments_billed), ("é\u{0}\u{202e}", 0));
        assert!(n.timestamp.unwrap().time.is_some());
        assert!(n.sale_date_placed.unwrap().time.is_some(), "an explicit EDT needs no DST rule");
        assert!(!n.recurring);
    }

    #[test]
    fn amounts_are_decimal_text_or_empty() {
        let read = |text: &str| amount(&RawForm::new(vec![("a".into(), text.into())]), "a");
        for good in ["0.20", "250", "-5.00", "1234567.891"] {
            assert_eq!(read(good), good);
        }
        for bad in ["", "N/A", "1e3", "0x10", " 1.00", "1.", ".5", "1,00", "--1", "NaN", &"9".repeat(33)] {
            assert_eq!(read(bad), "", "{bad:?}");
        }
    }

    #[test]
    fn eastern_times_cross_daylight_saving_without_panicking() {
        let utc = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp();
        let seconds = |text: &str| vendor_time(text).time.map(|t| t.seconds);
        // Winter is EST (UTC-5), summer EDT (UTC-4).
        assert_eq!(seconds("2024-01-15 12:00:00"), Some(utc("2024-01-15T17:00:00Z")));
        assert_eq!(seconds("2024-07-15 12:00:00"), Some(utc("2024-07-15T16:00:00Z")));
        // 10 March 2024: 02:00 EST jumps to 03:00 EDT; 02:30 never happened.
        assert_eq!(seconds("2024-03-10 01:59:59"), Some(utc("2024-03-10T06:59:59Z")));
        assert_eq!(seconds("2024-03-10 02:30:00"), None);
        assert_eq!(seconds("2024-03-10 03:00:00"), Some(utc("2024-03-10T07:00:00Z")));
        // 3 November 2024: 01:30 happened twice; the first is EDT.
        let twice = vendor_time("2024-11-03 01:30:00");
        assert!(twice.ambiguous);
        assert_eq!(twice.time.map(|t| t.seconds), Some(utc("2024-11-03T05:30:00Z")));
        // An explicit zone says which.
        assert_eq!(seconds("2024-11-03 01:30:00 EST"), Some(utc("2024-11-03T06:30:00Z")));
        assert!(!vendor_time("2024-11-03 01:30:00 EST").ambiguous);
        for bad in ["", "N/A", "2012-06-28", "2024-02-30 10:00:00", "2024-01-01 25:00:00", "2024-01-01 10:00:00 PST"] {
            let time = vendor_time(bad);
            assert_eq!((time.vendor_text.as_str(), time.time), (bad, None), "{bad:?}");
            assert_eq!(time.time_zone, "America/New_York");
        }
    }
}
