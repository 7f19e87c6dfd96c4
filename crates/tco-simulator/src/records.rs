//! Typed sale records, serialised in exactly the shape `sales/detail_sale` answers.
//!
//! Every struct lists its fields in alphabetical order (the vendor sorts keys that way, and the
//! order then survives even if `serde_json`'s `preserve_order` feature gets switched on by some
//! other dependency), declares every key the documented example carries (nullable ones as
//! `Option`, serialised as `null`), and refuses unknown keys, so that the documented example
//! round-trips byte for byte through these types. Money is held in integer cents ([`Money`]) and
//! written as the vendor's two-decimal strings.
//!
//! The write endpoints (`writes`) mutate these records: a refund adds a line item whose `status` is
//! `refund` and whose `linked_id` points at the refunded one, exactly as the documented sale shows.
//! State the vendor keeps but `detail_sale` does not show (the latest recurring decline, the
//! payment authorisation, a Payment API sale's demo flag and pending capture) lives in
//! `#[serde(skip)]` fields.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in integer cents, written as `"12.34"` on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    cents: i64,
}

impl Money {
    pub const ZERO: Money = Money { cents: 0 };

    pub const fn from_cents(cents: i64) -> Self {
        Money { cents }
    }

    pub const fn cents(self) -> i64 {
        self.cents
    }

    /// Saturates instead of overflowing: amounts come from our own data, but a sum must never panic.
    pub fn saturating_add(self, other: Money) -> Money {
        Money::from_cents(self.cents.saturating_add(other.cents))
    }

    /// Saturates like [`Money::saturating_add`].
    pub fn saturating_sub(self, other: Money) -> Money {
        Money::from_cents(self.cents.saturating_sub(other.cents))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Money::saturating_add)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let magnitude = self.cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

/// The text was not a two-decimal amount such as `"1.53"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a two-decimal amount: {0:?}")]
pub struct InvalidMoney(String);

impl FromStr for Money {
    type Err = InvalidMoney;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidMoney(text.to_owned());
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (units, fraction) = unsigned.split_once('.').ok_or_else(invalid)?;
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(units) || fraction.len() != 2 || !all_digits(fraction) {
            return Err(invalid());
        }
        let units: i64 = units.parse().map_err(|_| invalid())?;
        let fraction: i64 = fraction.parse().map_err(|_| invalid())?;
        let cents = units.checked_mul(100).and_then(|c| c.checked_add(fraction)).ok_or_else(invalid)?;
        Ok(Money::from_cents(if negative { -cents } else { cents }))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A key only sales created through the Payment API carry: a real sandbox capture of such a
/// sale has it, the documented (older) example does not. Left out of the answer when
/// [`Extra::Absent`] (seeded sales, so the documented sale still round-trips byte for byte),
/// else written as `null` or the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Extra<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Extra<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Extra::Absent)
    }
}

impl<T: Serialize> Serialize for Extra<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Never reached for `Absent`: the fields skip it.
            Extra::Absent | Extra::Null => serializer.serialize_none(),
            Extra::Value(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Extra<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Extra::Null, Extra::Value))
    }
}

/// Whether a billing line charged the buyer or gave money back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillStatus {
    Bill,
    Refund,
}

/// State of a recurring line item's billing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecurringStatus {
    Active,
    Stopped,
    Completed,
}

/// Invoice status values listed by the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Deposited,
    Approved,
    Declined,
    Pending,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sale {
    pub comments: Vec<Comment>,
    pub customer: Customer,
    pub date_placed: String,
    pub detail_ip: DetailIp,
    pub invoices: Vec<Invoice>,
    pub ip_address: String,
    pub ip_country: String,
    /// The vendor's sale-level decline marker: "1" after a declined recurring rebill, else
    /// null. The reference documents the invoice-level field as 1/0/NULL and shows only null
    /// here, so the simulator keeps it a scalar; the date and code live in `latest_decline`.
    pub recurring_decline: Option<String>,
    pub sale_id: String,
    /// The most recent declined rebill, which `list_sales` reports; not part of detail_sale.
    #[serde(skip)]
    pub latest_decline: Option<RecurringDecline>,
    /// The payment authorisation `sales/reauth` renews; not part of detail_sale.
    #[serde(skip)]
    pub authorization: Authorization,
    /// A test order placed through the Payment API with `"demo": true`: no funds were captured
    /// (and never will be). Not part of detail_sale, which shows the sale's comment instead.
    #[serde(skip)]
    pub demo: bool,
    /// When the Payment API's automatic capture turns this sale's `approved` invoice into
    /// `deposited` (48 hours after placement); `None` for seeded sales, demo orders and once done.
    #[serde(skip)]
    pub capture_at: Option<NaiveDateTime>,
}

/// The state of a sale's payment authorisation, as `sales/reauth` needs it.
///
/// An authorisation lasts [`AUTHORIZATION_DAYS`] from the latest invoice's placement or from the
/// last successful reauthorisation, whichever is later.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authorization {
    /// When the last successful reauthorisation happened (UTC); `None`: never reauthorised.
    pub renewed_at: Option<NaiveDateTime>,
    /// The UTC calendar day of the last attempt that reached the processor (success or failure):
    /// the vendor allows one a day.
    pub last_attempt_day: Option<NaiveDate>,
    /// The processor refuses every reauthorisation of this sale (seeded).
    pub fails: bool,
}

/// How long a payment authorisation stays valid.
pub const AUTHORIZATION_DAYS: i64 = 7;

/// The `YYYY-MM-DD HH:MM:SS` (UTC) layout of every timestamp in the records.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The `YYYY-MM-DD` layout of every date in the records.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub changed_by_ip: String,
    pub comment: String,
    pub timestamp: String,
    pub username: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub address_1: String,
    pub address_2: Option<String>,
    pub address_id: String,
    pub cardholder_name: String,
    pub city: String,
    pub country_code: String,
    /// Payment API sales only: the ISO alpha-2 code of `country_code`.
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub country_code_2: Extra<String>,
    pub country_name: String,
    pub customer_id: String,
    pub email_address: String,
    pub first_name: String,
    pub lang: String,
    pub last_name: String,
    pub middle_initial: Option<String>,
    pub pay_method: PayMethod,
    pub phone: String,
    pub phone_ext: String,
    pub postal_code: String,
    pub prefix: Option<String>,
    pub state: String,
    /// Payment API sales only: `null` as in the real capture.
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub state_2: Extra<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayMethod {
    pub avs: Option<String>,
    pub cvv: Option<String>,
    pub first_six_digits: Option<String>,
    pub last_two_digits: Option<String>,
    pub method: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailIp {
    pub address: String,
    /// One of the few values the vendor sends as a JSON number.
    pub area_code: u32,
    pub city: String,
    pub country: String,
    pub country_code: String,
    pub region: String,
    pub zip: String,
}

/// The most recent failed recurring rebill: the two facts `list_sales` reports about it (its
/// `recurring_declined` date and `decline_code`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurringDecline {
    pub date_declined: String,
    pub decline_code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// Payment API sales only (meaning undocumented; see "Fidelity decisions").
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub change_id: Extra<String>,
    /// Payment API sales only: the cardholder name.
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub customer_name: Extra<String>,
    /// Payment API sales only: `null` as in the real capture.
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub customer_snapshot_id: Extra<String>,
    pub customer_total: Money,
    pub date_placed: String,
    pub date_shipped: Option<String>,
    pub date_vendor_paid: Option<String>,
    pub fees_2co: Money,
    pub invoice_id: String,
    pub lineitems: Vec<LineItem>,
    /// Payment API sales only (meaning undocumented; see "Fidelity decisions").
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub new_customer_quote_id: Extra<String>,
    /// Payment API sales only (meaning undocumented; see "Fidelity decisions").
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub new_vendor_quote_id: Extra<String>,
    /// Payment API sales only: whether the invoice was paid out to the seller yet.
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub payout_status: Extra<String>,
    pub recurring: String,
    pub referrer: Option<String>,
    pub sale_id: String,
    pub shipping: Option<Shipping>,
    pub status: InvoiceStatus,
    /// Payment API sales only: when the invoice last changed status (`YYYY-MM-DD HH:MM:SS`).
    #[serde(default, skip_serializing_if = "Extra::is_absent")]
    pub timestamp: Extra<String>,
    pub usd_total: Money,
    pub vendor_id: String,
    pub vendor_order_id: Option<String>,
    pub vendor_total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub affiliate_vendor_id: Option<String>,
    pub billing: Billing,
    pub commission: Option<Money>,
    pub commission_affiliate_vendor_id: Option<String>,
    pub commission_flat_rate: Option<Money>,
    pub commission_percentage: Option<String>,
    pub commission_type: Option<String>,
    pub commission_usd_amount: Option<Money>,
    pub customer_amount: Money,
    pub flat_rate: Option<Money>,
    pub installment: Option<String>,
    pub invoice_id: String,
    pub lc_affiliate_vendor_id: Option<String>,
    pub lc_usd_amount: Option<Money>,
    pub lineitem_id: String,
    pub linked_id: Option<String>,
    pub options: Vec<LineItemOption>,
    pub percentage: Option<String>,
    pub product_description: String,
    pub product_duration: Option<String>,
    pub product_handling: Money,
    pub product_id: String,
    pub product_is_cart: String,
    pub product_name: String,
    pub product_price: Money,
    pub product_recurrence: Option<String>,
    pub product_startup_fee: Option<Money>,
    pub product_tangible: String,
    pub sale_id: String,
    pub status: BillStatus,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub usd_amount: Money,
    pub usd_commission: Option<Money>,
    pub vendor_amount: Money,
    pub vendor_product_id: String,
    /// The recurring price `update_lineitem_recurring` set; not part of detail_sale.
    #[serde(skip)]
    pub recurring_price: Option<Money>,
}

/// A product option chosen on a line item, with the fields the reference lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItemOption {
    pub customer_surcharge: Money,
    pub lineitem_id: String,
    pub lineitem_option_id: String,
    pub option_name: String,
    pub option_value: String,
    pub usd_surcharge: Money,
    pub vendor_surcharge: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Billing {
    pub amount: Money,
    pub bill_method: Option<String>,
    pub billing_id: String,
    pub customer_amount: Money,
    pub customer_id: String,
    pub date_deposited: Option<String>,
    pub date_end: Option<String>,
    pub date_fail: Option<String>,
    pub date_next: Option<String>,
    pub date_pending: Option<String>,
    pub date_start: Option<String>,
    pub lineitem_id: String,
    pub recurring_status: Option<RecurringStatus>,
    pub status: BillStatus,
    pub usd_amount: Money,
    pub vendor_amount: Money,
}

/// Shipment of a tangible invoice, with the fields the reference lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    pub address_1: String,
    pub address_2: Option<String>,
    pub city: String,
    pub country: String,
    pub country_code: String,
    pub date_shipped: Option<String>,
    pub postal_code: String,
    pub shipping_id: String,
    pub shipping_method: String,
    pub shipping_method_id: String,
    pub shipping_name: String,
    pub state: String,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
}

impl Sale {
    /// The vendor owning the sale; every invoice of a sale carries the same one.
    pub fn vendor_id(&self) -> Option<&str> {
        self.invoices.first().map(|invoice| invoice.vendor_id.as_str())
    }

    pub fn line_items(&self) -> impl Iterator<Item = &LineItem> {
        self.invoices.iter().flat_map(|invoice| invoice.lineitems.iter())
    }

    /// The calendar date (`YYYY-MM-DD`) the sale was placed on.
    pub fn date_placed_day(&self) -> &str {
        self.date_placed.get(..10).unwrap_or(&self.date_placed)
    }

    /// Sum of the invoices' `usd_total` (what the buyer was charged, before refunds).
    pub fn usd_total(&self) -> Money {
        self.invoices.iter().map(|invoice| invoice.usd_total).sum()
    }

    pub fn is_recurring(&self) -> bool {
        self.invoices.iter().any(|invoice| invoice.recurring == "1")
    }

    /// Refunded in full or partially: some line item is a refund.
    pub fn is_refunded(&self) -> bool {
        self.line_items().any(LineItem::is_refund)
    }

    pub fn has_active_recurring(&self) -> bool {
        self.line_items().any(|item| item.billing.recurring_status == Some(RecurringStatus::Active))
    }

    pub fn has_recurring_decline(&self) -> bool {
        self.latest_decline.is_some()
    }

    /// When the sale was placed, if its `date_placed` is a well-formed timestamp.
    pub fn placed_at(&self) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(&self.date_placed, TIMESTAMP_FORMAT).ok()
    }
}

impl Invoice {
    pub fn placed_at(&self) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(&self.date_placed, TIMESTAMP_FORMAT).ok()
    }
}

impl Shipping {
    /// A shipment to the customer's address, not yet shipped: how both the seed and
    /// mark_shipped (for a sale without one) start a shipment.
    pub fn unshipped_to(customer: &Customer, shipping_id: String) -> Self {
        Self {
            address_1: customer.address_1.clone(),
            address_2: customer.address_2.clone(),
            city: customer.city.clone(),
            country: customer.country_name.clone(),
            country_code: customer.country_code.clone(),
            date_shipped: None,
            postal_code: customer.postal_code.clone(),
            shipping_id,
            shipping_method: "Standard".to_owned(),
            shipping_method_id: "1".to_owned(),
            shipping_name: format!("{} {}", customer.first_name, customer.last_name),
            state: customer.state.clone(),
            tracking_number: None,
            tracking_url: None,
        }
    }
}

impl LineItem {
    /// A line that gives money back rather than charging it.
    pub fn is_refund(&self) -> bool {
        self.status == BillStatus::Refund || self.billing.status == BillStatus::Refund
    }

    /// `"1"` in the documented sale, `"Y"` in a real Payment API sale (see `payment`).
    pub fn is_tangible(&self) -> bool {
        matches!(self.product_tangible.as_str(), "1" | "Y")
    }

    /// What the line bills from its next installment on: the price `update_lineitem_recurring`
    /// lowered it to, else its product price.
    pub fn recurring_price(&self) -> Money {
        self.recurring_price.unwrap_or(self.product_price)
    }
}
