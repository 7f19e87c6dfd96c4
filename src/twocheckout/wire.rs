//! The Admin API's wire shapes, private to this adapter, and their conversion
//! into domain values.
//!
//! The vendor is loose: scalars are usually strings but sometimes numbers,
//! many are `null`, XML cannot tell a one-element list from an object, and new
//! fields appear. So every scalar is a [`Text`] (string, number or null, with
//! `""` read as absent, exactly as XML's empty element), every list is a
//! [`Many`], and unknown fields are ignored. Strictness lives in the
//! conversion to domain types, which names the path of any bad value.

use std::{borrow::Cow, fmt, marker::PhantomData, str::FromStr};

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer},
};

use crate::domain::{
    self, Address, Amount, Billing, BillingStatus, Comment, Customer, Invoice, InvoiceStatus, IpDetail, LineItem,
    LineItemOption, LineItemType, PayMethod, PaymentMethod, RecurringStatus, SaleSummary, SalesPage, Shipping,
    VendorValue,
};

/// A vendor scalar: a string, a number or null. Empty means absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text(pub Option<String>);

impl Text {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text((!v.is_empty()).then(|| v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text((!v.is_empty()).then_some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(if v { "1" } else { "0" }.to_owned())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                Text::deserialize(d)
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// A vendor scalar of an answer decoded into domain values: like [`Text`], but borrowed
/// from the body where the text needs no unescaping, so that values only parsed (amounts,
/// flags, ids) or skipped cost no allocation, and a kept one is allocated once, by the
/// conversion (the domain owns its strings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scalar<'a>(pub Option<Cow<'a, str>>);

impl Scalar<'_> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    fn into_owned(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar((!v.is_empty()).then_some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar((!v.is_empty()).then(|| Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar((!v.is_empty()).then_some(Cow::Owned(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Borrowed(if v { "1" } else { "0" }))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Scalar::deserialize(d)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// An address's fields, inlined in their owner (the customer's billing address and the
/// shipping record name the same fields; shipping says `country` where the customer says
/// `country_name`). Inlined rather than `#[serde(flatten)]`, which buffers every other
/// field of the owner in a generic tree before decoding it.
macro_rules! address {
    ($owner:expr) => {
        Address {
            address_id: $owner.address_id.into_owned(),
            address_1: $owner.address_1.into_owned(),
            address_2: $owner.address_2.into_owned(),
            city: $owner.city.into_owned(),
            state: $owner.state.into_owned(),
            postal_code: $owner.postal_code.into_owned(),
            country_code: $owner.country_code.into_owned(),
            country_name: $owner.country_name.into_owned(),
        }
    };
}

/// A vendor list: an array, a lone object (XML's one-element list), or null /
/// empty for none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Many<T>(pub Vec<T>);

impl<T> Default for Many<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ManyVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ManyVisitor<T> {
            type Value = Many<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list, a single object or null")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Many<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Many(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Many<T>, A::Error> {
                Ok(Many(vec![T::deserialize(MapAccessDeserializer::new(map))?]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Many<T>, E> {
                Ok(Many::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Many<T>, E> {
                Ok(Many::default())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Many<T>, E> {
                if v.trim().is_empty() {
                    Ok(Many::default())
                } else {
                    Err(E::invalid_type(de::Unexpected::Other("text"), &self))
                }
            }
        }
        deserializer.deserialize_any(ManyVisitor(PhantomData))
    }
}

/// A success body as a wire type: decoded first as if it were one, it says whether it
/// carried an `errors` element after all (the answer is then read as a failure).
pub trait Answer<'a>: Deserialize<'a> {
    /// Whether the body had an `errors` member that is not null (nor an empty element).
    fn carries_errors(&self) -> bool;
}

/// Implements [`Answer`] for wire bodies with an `errors: Option<IgnoredAny>` field.
macro_rules! answer {
    ($($body:ty),*) => {$(
        impl<'a> $crate::twocheckout::wire::Answer<'a> for $body {
            fn carries_errors(&self) -> bool {
                self.errors.is_some()
            }
        }
    )*};
}

pub(super) use answer;

answer!(DetailSaleBody<'a>, ListSalesBody<'a>, WriteBody);

/// The `errors` element of a failed call.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorsBody {
    pub errors: Many<WireError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireError {
    pub code: Text,
    pub message: Text,
    pub parameter: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct DetailSaleBody<'a> {
    pub sale: Option<WireSale<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct WireSale<'a> {
    sale_id: Scalar<'a>,
    date_placed: Scalar<'a>,
    ip_address: Scalar<'a>,
    ip_country: Scalar<'a>,
    recurring_decline: Scalar<'a>,
    detail_ip: Option<WireIpDetail<'a>>,
    customer: Option<WireCustomer<'a>>,
    invoices: Many<WireInvoice<'a>>,
    comments: Many<WireComment<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireIpDetail<'a> {
    address: Scalar<'a>,
    city: Scalar<'a>,
    region: Scalar<'a>,
    country_code: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireCustomer<'a> {
    customer_id: Scalar<'a>,
    prefix: Scalar<'a>,
    first_name: Scalar<'a>,
    middle_initial: Scalar<'a>,
    last_name: Scalar<'a>,
    cardholder_name: Scalar<'a>,
    email_address: Scalar<'a>,
    phone: Scalar<'a>,
    phone_ext: Scalar<'a>,
    lang: Scalar<'a>,
    address_id: Scalar<'a>,
    address_1: Scalar<'a>,
    address_2: Scalar<'a>,
    city: Scalar<'a>,
    state: Scalar<'a>,
    postal_code: Scalar<'a>,
    country_code: Scalar<'a>,
    #[serde(alias = "country")]
    country_name: Scalar<'a>,
    pay_method: Option<WirePayMethod<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WirePayMethod<'a> {
    method: Scalar<'a>,
    first_six_digits: Scalar<'a>,
    last_two_digits: Scalar<'a>,
    avs: Scalar<'a>,
    cvv: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireInvoice<'a> {
    invoice_id: Scalar<'a>,
    sale_id: Scalar<'a>,
    status: Scalar<'a>,
    usd_total: Scalar<'a>,
    vendor_total: Scalar<'a>,
    customer_total: Scalar<'a>,
    fees_2co: Scalar<'a>,
    recurring: Scalar<'a>,
    date_placed: Scalar<'a>,
    date_shipped: Scalar<'a>,
    date_vendor_paid: Scalar<'a>,
    referrer: Scalar<'a>,
    vendor_order_id: Scalar<'a>,
    vendor_id: Scalar<'a>,
    lineitems: Many<WireLineItem<'a>>,
    shipping: Option<WireShipping<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireLineItem<'a> {
    lineitem_id: Scalar<'a>,
    invoice_id: Scalar<'a>,
    sale_id: Scalar<'a>,
    product_id: Scalar<'a>,
    vendor_product_id: Scalar<'a>,
    product_name: Scalar<'a>,
    product_description: Scalar<'a>,
    product_price: Scalar<'a>,
    product_handling: Scalar<'a>,
    product_startup_fee: Scalar<'a>,
    product_recurrence: Scalar<'a>,
    product_duration: Scalar<'a>,
    product_tangible: Scalar<'a>,
    product_is_cart: Scalar<'a>,
    installment: Scalar<'a>,
    #[serde(rename = "type")]
    line_type: Scalar<'a>,
    status: Scalar<'a>,
    usd_amount: Scalar<'a>,
    vendor_amount: Scalar<'a>,
    customer_amount: Scalar<'a>,
    linked_id: Scalar<'a>,
    affiliate_vendor_id: Scalar<'a>,
    options: Many<WireOption<'a>>,
    billing: Option<WireBilling<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireOption<'a> {
    lineitem_option_id: Scalar<'a>,
    option_name: Scalar<'a>,
    option_value: Scalar<'a>,
    usd_surcharge: Scalar<'a>,
    vendor_surcharge: Scalar<'a>,
    customer_surcharge: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireBilling<'a> {
    billing_id: Scalar<'a>,
    usd_amount: Scalar<'a>,
    vendor_amount: Scalar<'a>,
    customer_amount: Scalar<'a>,
    customer_id: Scalar<'a>,
    bill_method: Scalar<'a>,
    date_next: Scalar<'a>,
    date_start: Scalar<'a>,
    date_end: Scalar<'a>,
    date_fail: Scalar<'a>,
    date_pending: Scalar<'a>,
    date_deposited: Scalar<'a>,
    recurring_status: Scalar<'a>,
    status: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireShipping<'a> {
    shipping_id: Scalar<'a>,
    date_shipped: Scalar<'a>,
    tracking_number: Scalar<'a>,
    tracking_url: Scalar<'a>,
    shipping_method_id: Scalar<'a>,
    shipping_method: Scalar<'a>,
    shipping_name: Scalar<'a>,
    address_id: Scalar<'a>,
    address_1: Scalar<'a>,
    address_2: Scalar<'a>,
    city: Scalar<'a>,
    state: Scalar<'a>,
    postal_code: Scalar<'a>,
    country_code: Scalar<'a>,
    #[serde(alias = "country")]
    country_name: Scalar<'a>,
}

/// The reference names the fields `ip`/`comment_text`; the documented example
/// sends `changed_by_ip`/`comment`. Both are accepted.
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireComment<'a> {
    username: Scalar<'a>,
    timestamp: Scalar<'a>,
    #[serde(alias = "ip")]
    changed_by_ip: Scalar<'a>,
    #[serde(alias = "comment_text")]
    comment: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct ListSalesBody<'a> {
    page_info: Option<WirePageInfo<'a>>,
    sale_summary: Many<WireSummary<'a>>,
    errors: Option<IgnoredAny>,
}

/// `page_info`, as every listing answers it: numbers or strings alike.
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct WirePageInfo<'a> {
    cur_page: Scalar<'a>,
    pagesize: Scalar<'a>,
    last_page: Scalar<'a>,
    total_entries: Scalar<'a>,
    first_entry: Scalar<'a>,
    last_entry: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireSummary<'a> {
    sale_id: Scalar<'a>,
    date_placed: Scalar<'a>,
    customer_name: Scalar<'a>,
    recurring: Scalar<'a>,
    recurring_declined: Scalar<'a>,
    decline_code: Scalar<'a>,
    usd_total: Scalar<'a>,
}

/// The answer to a write: `{"response_code": "OK", "response_message": "…"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WriteBody {
    response_code: Text,
    response_message: Text,
    errors: Option<IgnoredAny>,
}

impl WriteBody {
    /// Whether the body positively confirms the write: `response_code` is `OK`.
    pub fn confirms(&self) -> bool {
        self.response_code.get().map(str::trim) == Some("OK")
    }

    /// The vendor's confirmation message; a confirmed write without one still succeeded.
    pub fn into_message(self) -> String {
        self.response_message.0.unwrap_or_else(|| "OK".to_owned())
    }
}

/// A value the vendor sent that the domain cannot accept, with where it was.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct BadValue {
    pub path: String,
    pub problem: String,
}

pub(super) fn bad(path: impl fmt::Display, problem: impl fmt::Display) -> BadValue {
    BadValue { path: path.to_string(), problem: problem.to_string() }
}

fn required<T: FromStr>(text: &Scalar<'_>, path: impl fmt::Display) -> Result<T, BadValue>
where
    T::Err: fmt::Display,
{
    let raw = text.get().ok_or_else(|| bad(&path, "missing"))?;
    raw.parse().map_err(|e| bad(&path, e))
}

fn amount(text: &Scalar<'_>, path: impl fmt::Display) -> Result<Option<Amount>, BadValue> {
    text.get().map(|raw| raw.parse::<Amount>().map_err(|e| bad(&path, e))).transpose()
}

/// `0`/`1` in the documented sale; a real sandbox capture of a Payment API sale writes a
/// line's `product_tangible` as `N`/`Y`.
fn flag(text: &Scalar<'_>, path: impl fmt::Display) -> Result<bool, BadValue> {
    match text.get().map(str::trim) {
        None | Some("0") | Some("false") | Some("N") | Some("n") => Ok(false),
        Some("1") | Some("true") | Some("Y") | Some("y") => Ok(true),
        Some(_) => Err(bad(path, "must be 0 or 1 (or N or Y)")),
    }
}

fn count(text: &Scalar<'_>, path: &str) -> Result<u32, BadValue> {
    match text.get() {
        None => Ok(0),
        Some(raw) => raw.trim().parse().map_err(|_| bad(path, "must be a whole number")),
    }
}

/// Where a page stands in its listing: the vendor's `page_info`, with the page asked for
/// standing in where it is silent (0 or absent), for every paged listing alike.
pub struct PagePosition {
    pub page: u32,
    pub page_size: u32,
    pub last_page: u32,
    pub total_entries: u32,
    pub first_entry: u32,
    pub last_entry: u32,
}

impl PagePosition {
    /// `count` reads one number of `page_info` (absent is 0) in the caller's spelling rules.
    pub fn read(
        info: Option<WirePageInfo<'_>>,
        asked: domain::PageRequest,
        rows: usize,
        count: impl Fn(&Scalar<'_>, &str) -> Result<u32, BadValue>,
    ) -> Result<Self, BadValue> {
        let info = info.unwrap_or_default();
        let or = |value: u32, fallback: u32| if value == 0 { fallback } else { value };
        let rows = u32::try_from(rows).unwrap_or(u32::MAX);
        Ok(Self {
            page: or(count(&info.cur_page, "page_info.cur_page")?, asked.page),
            page_size: or(count(&info.pagesize, "page_info.pagesize")?, asked.page_size),
            last_page: or(count(&info.last_page, "page_info.last_page")?, asked.page),
            total_entries: or(count(&info.total_entries, "page_info.total_entries")?, rows),
            first_entry: count(&info.first_entry, "page_info.first_entry")?,
            last_entry: count(&info.last_entry, "page_info.last_entry")?,
        })
    }
}

impl WireSale<'_> {
    pub fn into_domain(self) -> Result<domain::Sale, BadValue> {
        let invoices = self
            .invoices
            .0
            .into_iter()
            .enumerate()
            .map(|(i, invoice)| invoice.into_domain(&format_args!("sale.invoices[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(domain::Sale {
            sale_id: required(&self.sale_id, "sale.sale_id")?,
            date_placed: self.date_placed.into_owned(),
            ip_address: self.ip_address.into_owned(),
            ip_country: self.ip_country.into_owned(),
            recurring_decline: self.recurring_decline.into_owned(),
            ip_detail: self.detail_ip.map(|ip| IpDetail {
                address: ip.address.into_owned(),
                city: ip.city.into_owned(),
                region: ip.region.into_owned(),
                country_code: ip.country_code.into_owned(),
            }),
            customer: self.customer.map(WireCustomer::into_domain),
            invoices,
            comments: self
                .comments
                .0
                .into_iter()
                .map(|c| Comment {
                    username: c.username.into_owned(),
                    timestamp: c.timestamp.into_owned(),
                    ip_address: c.changed_by_ip.into_owned(),
                    text: c.comment.into_owned(),
                })
                .collect(),
        })
    }
}

impl WireCustomer<'_> {
    fn into_domain(self) -> Customer {
        Customer {
            customer_id: self.customer_id.into_owned(),
            prefix: self.prefix.into_owned(),
            first_name: self.first_name.into_owned(),
            middle_initial: self.middle_initial.into_owned(),
            last_name: self.last_name.into_owned(),
            cardholder_name: self.cardholder_name.into_owned(),
            email_address: self.email_address.into_owned(),
            phone: self.phone.into_owned(),
            phone_extension: self.phone_ext.into_owned(),
            language: self.lang.into_owned(),
            billing_address: address!(self),
            pay_method: self.pay_method.map(|p| PayMethod {
                method: VendorValue::parse(p.method.into_owned(), PaymentMethod::recognise),
                first_six_digits: p.first_six_digits.into_owned(),
                last_two_digits: p.last_two_digits.into_owned(),
                avs: p.avs.into_owned(),
                cvv: p.cvv.into_owned(),
            }),
        }
    }
}

impl WireInvoice<'_> {
    /// `path` is formatted only when a value is bad: the good answer allocates no path.
    fn into_domain(self, path: &dyn fmt::Display) -> Result<Invoice, BadValue> {
        let line_items = self
            .lineitems
            .0
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.into_domain(&format_args!("{path}.lineitems[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Invoice {
            invoice_id: required(&self.invoice_id, format_args!("{path}.invoice_id"))?,
            sale_id: self.sale_id.into_owned(),
            status: VendorValue::parse(self.status.into_owned(), InvoiceStatus::recognise),
            usd_total: amount(&self.usd_total, format_args!("{path}.usd_total"))?,
            vendor_total: amount(&self.vendor_total, format_args!("{path}.vendor_total"))?,
            customer_total: amount(&self.customer_total, format_args!("{path}.customer_total"))?,
            fees_2co: amount(&self.fees_2co, format_args!("{path}.fees_2co"))?,
            recurring: flag(&self.recurring, format_args!("{path}.recurring"))?,
            date_placed: self.date_placed.into_owned(),
            date_shipped: self.date_shipped.into_owned(),
            date_vendor_paid: self.date_vendor_paid.into_owned(),
            referrer: self.referrer.into_owned(),
            vendor_order_id: self.vendor_order_id.into_owned(),
            vendor_id: self.vendor_id.into_owned(),
            line_items,
            shipping: self.shipping.map(|s| Shipping {
                shipping_id: s.shipping_id.into_owned(),
                date_shipped: s.date_shipped.into_owned(),
                tracking_number: s.tracking_number.into_owned(),
                tracking_url: s.tracking_url.into_owned(),
                shipping_method_id: s.shipping_method_id.into_owned(),
                shipping_method: s.shipping_method.into_owned(),
                recipient_name: s.shipping_name.into_owned(),
                address: address!(s),
            }),
        })
    }
}

impl WireLineItem<'_> {
    fn into_domain(self, path: &dyn fmt::Display) -> Result<LineItem, BadValue> {
        let options = self
            .options
            .0
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let path = format_args!("{path}.options[{i}]");
                Ok(LineItemOption {
                    line_item_option_id: o.lineitem_option_id.into_owned(),
                    option_name: o.option_name.into_owned(),
                    option_value: o.option_value.into_owned(),
                    usd_surcharge: amount(&o.usd_surcharge, format_args!("{path}.usd_surcharge"))?,
                    vendor_surcharge: amount(&o.vendor_surcharge, format_args!("{path}.vendor_surcharge"))?,
                    customer_surcharge: amount(&o.customer_surcharge, format_args!("{path}.customer_surcharge"))?,
                })
            })
            .collect::<Result<_, BadValue>>()?;
        let billing = self.billing.map(|b| b.into_domain(&format_args!("{path}.billing"))).transpose()?;
        Ok(LineItem {
            line_item_id: self
                .lineitem_id
                .get()
                .ok_or_else(|| bad(format_args!("{path}.lineitem_id"), "missing"))?
                .to_owned(),
            invoice_id: self.invoice_id.into_owned(),
            sale_id: self.sale_id.into_owned(),
            product_id: self.product_id.into_owned(),
            vendor_product_id: self.vendor_product_id.into_owned(),
            product_name: self.product_name.into_owned(),
            product_description: self.product_description.into_owned(),
            product_price: amount(&self.product_price, format_args!("{path}.product_price"))?,
            product_handling: amount(&self.product_handling, format_args!("{path}.product_handling"))?,
            product_startup_fee: amount(&self.product_startup_fee, format_args!("{path}.product_startup_fee"))?,
            product_recurrence: self.product_recurrence.into_owned(),
            product_duration: self.product_duration.into_owned(),
            product_tangible: flag(&self.product_tangible, format_args!("{path}.product_tangible"))?,
            product_is_cart: self.product_is_cart.into_owned(),
            installment: self.installment.into_owned(),
            line_type: LineItemType::from_vendor(self.line_type.into_owned()),
            status: VendorValue::parse(self.status.into_owned(), BillingStatus::recognise),
            usd_amount: amount(&self.usd_amount, format_args!("{path}.usd_amount"))?,
            vendor_amount: amount(&self.vendor_amount, format_args!("{path}.vendor_amount"))?,
            customer_amount: amount(&self.customer_amount, format_args!("{path}.customer_amount"))?,
            linked_id: self.linked_id.into_owned(),
            affiliate_vendor_id: self.affiliate_vendor_id.into_owned(),
            options,
            billing,
        })
    }
}

impl WireBilling<'_> {
    fn into_domain(self, path: &dyn fmt::Display) -> Result<Billing, BadValue> {
        Ok(Billing {
            billing_id: self.billing_id.into_owned(),
            usd_amount: amount(&self.usd_amount, format_args!("{path}.usd_amount"))?,
            vendor_amount: amount(&self.vendor_amount, format_args!("{path}.vendor_amount"))?,
            customer_amount: amount(&self.customer_amount, format_args!("{path}.customer_amount"))?,
            customer_id: self.customer_id.into_owned(),
            bill_method: self.bill_method.into_owned(),
            date_next: self.date_next.into_owned(),
            date_start: self.date_start.into_owned(),
            date_end: self.date_end.into_owned(),
            date_fail: self.date_fail.into_owned(),
            date_pending: self.date_pending.into_owned(),
            date_deposited: self.date_deposited.into_owned(),
            recurring_status: VendorValue::parse(self.recurring_status.into_owned(), RecurringStatus::recognise),
            status: VendorValue::parse(self.status.into_owned(), BillingStatus::recognise),
        })
    }
}

impl ListSalesBody<'_> {
    /// The page, given the page that was asked for (the vendor's page_info
    /// fills in the rest, and the asked-for values stand in where it is silent).
    pub fn into_domain(self, asked: domain::PageRequest) -> Result<SalesPage, BadValue> {
        let sales: Vec<SaleSummary> = self
            .sale_summary
            .0
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let path = format_args!("sale_summary[{i}]");
                Ok(SaleSummary {
                    sale_id: required(&row.sale_id, format_args!("{path}.sale_id"))?,
                    date_placed: row.date_placed.into_owned(),
                    customer_name: row.customer_name.into_owned(),
                    recurring: flag(&row.recurring, format_args!("{path}.recurring"))?,
                    recurring_declined: row.recurring_declined.into_owned(),
                    decline_code: row.decline_code.into_owned(),
                    usd_total: amount(&row.usd_total, format_args!("{path}.usd_total"))?,
                })
            })
            .collect::<Result<_, BadValue>>()?;
        let at = PagePosition::read(self.page_info, asked, sales.len(), count)?;
        Ok(SalesPage {
            page: at.page,
            page_size: at.page_size,
            last_page: at.last_page,
            total_entries: at.total_entries,
            first_entry: at.first_entry,
            last_entry: at.last_entry,
            sales,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_reads_the_documented_0_and_1_and_the_n_and_y_of_payment_api_sales() {
        let read = |text: &str| flag(&Scalar(Some(Cow::Borrowed(text))), "sale.product_tangible").ok();
        assert_eq!(["0", "1", "N", "Y", "false", "true"].map(read), [false, true, false, true, false, true].map(Some));
        assert_eq!(flag(&Scalar(None), "x").ok(), Some(false), "null is not tangible");
        assert_eq!(read("yes"), None, "anything else is refused, never guessed");
    }
}
