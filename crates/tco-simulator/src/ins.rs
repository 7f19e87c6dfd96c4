//! The Instant Notification Service's messages (legacy INS revision 1.1): which fields, at which
//! level, their values taken from a sale record, the `md5_hash`, `key_count` and US Eastern
//! times.
//!
//! A [`SaleEvent`] says what happened to which sale (a snapshot of the record right after the
//! write, so a later write cannot change what an earlier message says); [`render`] turns it into
//! the form fields posted, in specification order. Invoice-level messages carry the 15 header
//! fields, the 6 invoice-level fields, the 22 buyer and address fields, `item_count` and 12
//! fields per item of the invoice; item-level messages drop the 6 invoice-level fields and carry
//! only the item concerned. `key_count` is counted from the fields actually rendered, never
//! written down.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};
use md5::{Digest, Md5};

use super::payment::COUNTRIES;
use super::records::{
    AUTHORIZATION_DAYS, DATE_FORMAT, Invoice, InvoiceStatus, LineItem, RecurringStatus, Sale, Shipping,
    TIMESTAMP_FORMAT,
};

/// The ten message types of INS revision 1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    OrderCreated,
    FraudStatusChanged,
    ShipStatusChanged,
    InvoiceStatusChanged,
    RefundIssued,
    RecurringInstallmentSuccess,
    RecurringInstallmentFailed,
    RecurringStopped,
    RecurringComplete,
    RecurringRestarted,
}

impl MessageType {
    /// The `message_type` value.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::OrderCreated => "ORDER_CREATED",
            MessageType::FraudStatusChanged => "FRAUD_STATUS_CHANGED",
            MessageType::ShipStatusChanged => "SHIP_STATUS_CHANGED",
            MessageType::InvoiceStatusChanged => "INVOICE_STATUS_CHANGED",
            MessageType::RefundIssued => "REFUND_ISSUED",
            MessageType::RecurringInstallmentSuccess => "RECURRING_INSTALLMENT_SUCCESS",
            MessageType::RecurringInstallmentFailed => "RECURRING_INSTALLMENT_FAILED",
            MessageType::RecurringStopped => "RECURRING_STOPPED",
            MessageType::RecurringComplete => "RECURRING_COMPLETE",
            MessageType::RecurringRestarted => "RECURRING_RESTARTED",
        }
    }

    /// The documentation's `message_description` text.
    pub fn description(self) -> &'static str {
        match self {
            MessageType::OrderCreated => "New order created",
            MessageType::FraudStatusChanged => "Order fraud status changed",
            MessageType::ShipStatusChanged => "Order ship status changed",
            MessageType::InvoiceStatusChanged => "Invoice status changed",
            MessageType::RefundIssued => "Refund issued",
            MessageType::RecurringInstallmentSuccess => "Recurring installment successfully billed",
            MessageType::RecurringInstallmentFailed => "Recurring installment failed to bill",
            MessageType::RecurringStopped => "Recurring order stopped",
            MessageType::RecurringComplete => "All installments billed",
            MessageType::RecurringRestarted => "Recurring order restarted",
        }
    }

    /// Item-level messages are sent once per item and carry only that item.
    pub fn is_item_level(self) -> bool {
        !matches!(
            self,
            MessageType::OrderCreated
                | MessageType::FraudStatusChanged
                | MessageType::ShipStatusChanged
                | MessageType::InvoiceStatusChanged
        )
    }
}

/// Something that happened to a sale, with the sale as it stood right after.
#[derive(Clone, Debug)]
pub struct SaleEvent {
    pub message_type: MessageType,
    pub sale: Sale,
    /// The invoice the message is about.
    pub invoice_id: String,
    /// The item of an item-level message.
    pub lineitem_id: Option<String>,
    /// When it happened (the simulator clock), sent as `timestamp` in Eastern time.
    pub at: DateTime<Utc>,
}

impl SaleEvent {
    /// An invoice-level event about `invoice_id`.
    pub fn invoice(message_type: MessageType, sale: &Sale, invoice_id: &str, at: DateTime<Utc>) -> SaleEvent {
        SaleEvent { message_type, sale: sale.clone(), invoice_id: invoice_id.to_owned(), lineitem_id: None, at }
    }

    /// An item-level event about line `lineitem_id` (its invoice is found in the sale).
    pub fn item(message_type: MessageType, sale: &Sale, lineitem_id: &str, at: DateTime<Utc>) -> Option<SaleEvent> {
        let invoice =
            sale.invoices.iter().find(|invoice| invoice.lineitems.iter().any(|i| i.lineitem_id == lineitem_id))?;
        Some(SaleEvent {
            message_type,
            sale: sale.clone(),
            invoice_id: invoice.invoice_id.clone(),
            lineitem_id: Some(lineitem_id.to_owned()),
            at,
        })
    }
}

/// `UPPER(hex(MD5(sale_id + vendor_id + invoice_id + secret_word)))`.
pub fn md5_hash(sale_id: &str, vendor_id: &str, invoice_id: &str, secret_word: &str) -> String {
    let mut hasher = Md5::new();
    for part in [sale_id, vendor_id, invoice_id, secret_word] {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02X}")).collect()
}

/// The form fields of the message, in specification order; `None` when the sale no longer
/// holds the invoice or item the event names (never the case for events the simulator makes).
pub fn render(event: &SaleEvent, message_id: u64, vendor_id: &str, secret_word: &str) -> Option<Vec<(String, String)>> {
    let sale = &event.sale;
    let invoice = sale.invoices.iter().find(|invoice| invoice.invoice_id == event.invoice_id)?;
    let items: Vec<&LineItem> = match (&event.lineitem_id, event.message_type.is_item_level()) {
        (Some(lineitem_id), true) => {
            vec![invoice.lineitems.iter().find(|item| item.lineitem_id == *lineitem_id)?]
        }
        (None, true) => return None,
        (_, false) => invoice.lineitems.iter().collect(),
    };
    let customer = &sale.customer;
    let mut fields = Fields::default();
    // Header: message_type first, as every documentation example lists it.
    let kind = event.message_type;
    fields.push("message_type", kind.name());
    fields.push("message_description", kind.description());
    fields.push("timestamp", eastern(event.at.naive_utc()).format(TIMESTAMP_FORMAT).to_string());
    fields.push("md5_hash", md5_hash(&sale.sale_id, vendor_id, &invoice.invoice_id, secret_word));
    fields.push("message_id", message_id.to_string());
    // Filled in once every field is known.
    fields.push("key_count", String::new());
    fields.push("vendor_id", vendor_id);
    fields.push("sale_id", sale.sale_id.as_str());
    fields.push("sale_date_placed", eastern_text(&sale.date_placed));
    fields.push("vendor_order_id", invoice.vendor_order_id.clone().unwrap_or_default());
    fields.push("invoice_id", invoice.invoice_id.as_str());
    fields.push("recurring", if invoice.recurring == "1" { "1" } else { "0" });
    fields.push("payment_type", payment_type(&customer.pay_method.method));
    // The simulator keeps amounts in one currency that counts 1:1 as USD (see the crate docs).
    fields.push("list_currency", "USD");
    fields.push("cust_currency", "USD");
    if !kind.is_item_level() {
        fields.push("auth_exp", auth_exp(sale, invoice));
        fields.push("invoice_status", invoice_status(invoice.status));
        // The simulated fraud review passes every order (no fraud test data is documented).
        fields.push("fraud_status", "pass");
        fields.push("invoice_list_amount", invoice.vendor_total.to_string());
        fields.push("invoice_usd_amount", invoice.usd_total.to_string());
        fields.push("invoice_cust_amount", invoice.customer_total.to_string());
    }
    fields.push("customer_first_name", customer.first_name.as_str());
    fields.push("customer_last_name", customer.last_name.as_str());
    fields.push("customer_name", customer.cardholder_name.as_str());
    fields.push("customer_email", customer.email_address.as_str());
    fields.push("customer_phone", customer.phone.chars().filter(char::is_ascii_digit).collect::<String>());
    fields.push("customer_ip", sale.ip_address.as_str());
    fields.push("customer_ip_country", sale.ip_country.as_str());
    fields.push("bill_street_address", customer.address_1.as_str());
    fields.push("bill_street_address2", customer.address_2.clone().unwrap_or_default());
    fields.push("bill_city", customer.city.as_str());
    fields.push("bill_state", customer.state.as_str());
    fields.push("bill_postal_code", customer.postal_code.as_str());
    fields.push("bill_country", alpha3(&customer.country_code));
    let tangible = invoice.lineitems.iter().any(|item| !item.is_refund() && item.is_tangible());
    let ship_status = match (tangible, invoice.date_shipped.is_some()) {
        (false, _) => "",
        (true, false) => "not_shipped",
        (true, true) => "shipped",
    };
    fields.push("ship_status", ship_status);
    let shipping = invoice.shipping.as_ref();
    let ship = |get: fn(&Shipping) -> String| shipping.map(get).unwrap_or_default();
    fields.push("ship_tracking_number", ship(|s| s.tracking_number.clone().unwrap_or_default()));
    fields.push("ship_name", ship(|s| s.shipping_name.clone()));
    fields.push("ship_street_address", ship(|s| s.address_1.clone()));
    fields.push("ship_street_address2", ship(|s| s.address_2.clone().unwrap_or_default()));
    fields.push("ship_city", ship(|s| s.city.clone()));
    fields.push("ship_state", ship(|s| s.state.clone()));
    fields.push("ship_postal_code", ship(|s| s.postal_code.clone()));
    fields.push("ship_country", ship(|s| alpha3(&s.country_code)));
    fields.push("item_count", items.len().to_string());
    for (index, item) in items.iter().enumerate() {
        push_item(&mut fields, index + 1, item);
    }
    let key_count = fields.0.len().to_string();
    if let Some(slot) = fields.0.iter_mut().find(|(name, _)| name == "key_count") {
        slot.1 = key_count;
    }
    Some(fields.0)
}

#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }
}

fn push_item(fields: &mut Fields, n: usize, item: &LineItem) {
    fields.push(format!("item_name_{n}"), item.product_name.as_str());
    fields.push(format!("item_id_{n}"), item.vendor_product_id.as_str());
    fields.push(format!("item_list_amount_{n}"), item.vendor_amount.to_string());
    fields.push(format!("item_usd_amount_{n}"), item.usd_amount.to_string());
    fields.push(format!("item_cust_amount_{n}"), item.customer_amount.to_string());
    fields.push(format!("item_type_{n}"), if item.is_refund() { "refund" } else { "bill" });
    // The documented refund item leaves the recurrence fields empty, like a one-off item.
    let recurrence = item.product_recurrence.as_ref().filter(|_| !item.is_refund());
    let billing = &item.billing;
    let (duration, recurrence, rec_amount, status, next, billed) = match recurrence {
        Some(recurrence) => (
            item.product_duration.clone().unwrap_or_default(),
            recurrence.clone(),
            item.product_price.to_string(),
            billing.recurring_status.map(rec_status).unwrap_or_default().to_owned(),
            billing.date_next.clone().unwrap_or_default(),
            item.installment.clone().unwrap_or_default(),
        ),
        None => Default::default(),
    };
    fields.push(format!("item_duration_{n}"), duration);
    fields.push(format!("item_recurrence_{n}"), recurrence);
    fields.push(format!("item_rec_list_amount_{n}"), rec_amount);
    fields.push(format!("item_rec_status_{n}"), status);
    fields.push(format!("item_rec_date_next_{n}"), next);
    fields.push(format!("item_rec_install_billed_{n}"), billed);
}

fn rec_status(status: RecurringStatus) -> &'static str {
    match status {
        RecurringStatus::Active => "live",
        RecurringStatus::Stopped => "canceled",
        RecurringStatus::Completed => "completed",
    }
}

fn invoice_status(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Approved => "approved",
        InvoiceStatus::Pending => "pending",
        InvoiceStatus::Deposited => "deposited",
        InvoiceStatus::Declined => "declined",
    }
}

/// INS knows `credit card`, `online check`, `paypal ec` and `paypal pay later`; the records'
/// `amex` is a credit card.
fn payment_type(method: &str) -> &str {
    if method.starts_with("paypal") { method } else { "credit card" }
}

/// The day the sale's payment authorisation ends (Eastern): 7 days after the invoice was placed
/// or the last reauthorisation, whichever is later.
fn auth_exp(sale: &Sale, invoice: &Invoice) -> String {
    [sale.authorization.renewed_at, invoice.placed_at()]
        .into_iter()
        .flatten()
        .max()
        .map(|from| eastern(from + TimeDelta::days(AUTHORIZATION_DAYS)).format(DATE_FORMAT).to_string())
        .unwrap_or_default()
}

/// ISO alpha-3 for the alpha-2 codes the records may hold; anything else as it is.
fn alpha3(code: &str) -> String {
    COUNTRIES
        .iter()
        .find(|(_, alpha2, _)| alpha2.eq_ignore_ascii_case(code))
        .map_or_else(|| code.to_owned(), |(alpha3, _, _)| (*alpha3).to_owned())
}

/// A record's UTC `YYYY-MM-DD HH:MM:SS` in Eastern time; anything unparsable as it is.
fn eastern_text(utc: &str) -> String {
    NaiveDateTime::parse_from_str(utc, TIMESTAMP_FORMAT)
        .map_or_else(|_| utc.to_owned(), |at| eastern(at).format(TIMESTAMP_FORMAT).to_string())
}

/// US Eastern local time of a UTC instant: UTC−5, or UTC−4 while daylight saving time is on.
///
/// A hand rule rather than a time zone database: one zone is needed, its rules are fixed by US
/// law (Energy Policy Act of 2005 from 2007: second Sunday of March 02:00 EST to first Sunday of
/// November 02:00 EDT; 1987–2006: first Sunday of April to last Sunday of October), and it keeps
/// the simulator's reading independent of whatever the gateway uses. Earlier years use the
/// 1987 rule (the seeded data starts in 2012).
pub fn eastern(utc: NaiveDateTime) -> NaiveDateTime {
    let year = utc.year();
    let sunday = |month: u32, n: u8| NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n);
    let (start, end) = if year >= 2007 {
        (sunday(3, 2), sunday(11, 1))
    } else {
        (sunday(4, 1), sunday(10, 5).or_else(|| sunday(10, 4)))
    };
    // 02:00 EST is 07:00 UTC; 02:00 EDT is 06:00 UTC.
    let start = start.and_then(|day| day.and_hms_opt(7, 0, 0));
    let end = end.and_then(|day| day.and_hms_opt(6, 0, 0));
    let daylight = matches!((start, end), (Some(start), Some(end)) if start <= utc && utc < end);
    utc - TimeDelta::hours(if daylight { 4 } else { 5 })
}

#[cfg(test)]
mod tests {
    use super::{eastern, md5_hash};
    use chrono::NaiveDateTime;

    #[test]
    fn md5_hash_matches_every_published_vector() {
        let vectors = [
            ("4774380224", "1817037", "4774380233", "tango", "566C45D68B75357AD43F9010CFFE8CF5"),
            ("4632527448", "1817037", "4632527490", "tango", "4FB7CD1CD57BBEFCCA462F3DE823C50A"),
            ("4789848870", "1817037", "4789848879", "tango", "827220324C722873694758F38D8D3624"),
            ("4819138002", "1817037", "4343434343", "tango", "A152B3D993B4F97E2E2A41552A4769A8"),
            ("4742525399", "532001", "4759791636", "tango", "2DAE8544FA29CE313DB20582D540F133"),
            (
                "9093727242912",
                "901290261",
                "9093727242921",
                "MzBjODg5YTUtNzcwMS00N2NlLWFkODMtNzQ2YzllZWRjMzBj",
                "F6F69F6039DBF8CC26A5388157685931",
            ),
            ("1", "532001", "1", "tango", "F8A2BBE63476DD04A5EDF4A551AC2AF3"),
        ];
        for (sale, vendor, invoice, secret, expected) in vectors {
            assert_eq!(md5_hash(sale, vendor, invoice, secret), expected, "sale {sale}");
        }
        // The Java suite's negative case: one character off never matches.
        assert_ne!(md5_hash("4819138002", "1817037", "4343434343", "tango"), "A152B3D993B4F97E2E2A41552A4769A7");
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn eastern_time_follows_us_daylight_saving_transitions() {
        let cases = [
            // Winter: EST, UTC-5.
            ("2026-01-15 12:00:00", "2026-01-15 07:00:00"),
            // 2026: DST from Sunday 8 March 07:00 UTC to Sunday 1 November 06:00 UTC.
            ("2026-03-08 06:59:59", "2026-03-08 01:59:59"),
            ("2026-03-08 07:00:00", "2026-03-08 03:00:00"),
            ("2026-07-01 00:30:00", "2026-06-30 20:30:00"),
            ("2026-11-01 05:59:59", "2026-11-01 01:59:59"),
            ("2026-11-01 06:00:00", "2026-11-01 01:00:00"),
            // The 2012 live post's sale: 2012-06-29 02:14:23 UTC was 22:14:23 EDT the day before.
            ("2012-06-29 02:14:23", "2012-06-28 22:14:23"),
            // 2006, the old rule: DST began on the first Sunday of April (2 April).
            ("2006-03-20 12:00:00", "2006-03-20 07:00:00"),
            ("2006-04-02 07:00:00", "2006-04-02 03:00:00"),
            ("2006-10-29 05:59:59", "2006-10-29 01:59:59"),
            ("2006-10-29 06:00:00", "2006-10-29 01:00:00"),
        ];
        for (utc, expected) in cases {
            assert_eq!(eastern(at(utc)), at(expected), "{utc}");
        }
    }
}
