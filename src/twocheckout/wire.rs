//! The Admin API's wire shapes, private to this adapter, and their conversion
//! into domain values.
//!
//! The vendor is loose: scalars are usually strings but sometimes numbers,
//! many are `null`, XML cannot tell a one-element list from an object, and new
//! fields appear. So every scalar is a [`Text`] (string, number or null, with
//! `""` read as absent, exactly as XML's empty element), every list is a
//! [`Many`], and unknown fields are ignored. Strictness lives in the
//! conversion to domain types, which names the path of any bad value.

use std::{fmt, marker::PhantomData, str::FromStr};

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer},
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

    fn owned(&self) -> Option<String> {
        self.0.clone()
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
#[serde(default)]
pub struct DetailSaleBody {
    pub sale: Option<WireSale>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireSale {
    sale_id: Text,
    date_placed: Text,
    ip_address: Text,
    ip_country: Text,
    recurring_decline: Text,
    detail_ip: Option<WireIpDetail>,
    customer: Option<WireCustomer>,
    invoices: Many<WireInvoice>,
    comments: Many<WireComment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireIpDetail {
    address: Text,
    city: Text,
    region: Text,
    country_code: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireCustomer {
    customer_id: Text,
    prefix: Text,
    first_name: Text,
    middle_initial: Text,
    last_name: Text,
    cardholder_name: Text,
    email_address: Text,
    phone: Text,
    phone_ext: Text,
    lang: Text,
    #[serde(flatten)]
    address: WireAddress,
    pay_method: Option<WirePayMethod>,
}

/// An address, flattened into its owner: the customer (billing) and the
/// shipping record name the same fields, but shipping says `country` where
/// the customer says `country_name`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAddress {
    address_id: Text,
    address_1: Text,
    address_2: Text,
    city: Text,
    state: Text,
    postal_code: Text,
    country_code: Text,
    #[serde(alias = "country")]
    country_name: Text,
}

impl WireAddress {
    fn into_domain(self) -> Address {
        Address {
            address_id: self.address_id.owned(),
            address_1: self.address_1.owned(),
            address_2: self.address_2.owned(),
            city: self.city.owned(),
            state: self.state.owned(),
            postal_code: self.postal_code.owned(),
            country_code: self.country_code.owned(),
            country_name: self.country_name.owned(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WirePayMethod {
    method: Text,
    first_six_digits: Text,
    last_two_digits: Text,
    avs: Text,
    cvv: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireInvoice {
    invoice_id: Text,
    sale_id: Text,
    status: Text,
    usd_total: Text,
    vendor_total: Text,
    customer_total: Text,
    fees_2co: Text,
    recurring: Text,
    date_placed: Text,
    date_shipped: Text,
    date_vendor_paid: Text,
    referrer: Text,
    vendor_order_id: Text,
    vendor_id: Text,
    lineitems: Many<WireLineItem>,
    shipping: Option<WireShipping>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireLineItem {
    lineitem_id: Text,
    invoice_id: Text,
    sale_id: Text,
    product_id: Text,
    vendor_product_id: Text,
    product_name: Text,
    product_description: Text,
    product_price: Text,
    product_handling: Text,
    product_startup_fee: Text,
    product_recurrence: Text,
    product_duration: Text,
    product_tangible: Text,
    product_is_cart: Text,
    installment: Text,
    #[serde(rename = "type")]
    line_type: Text,
    status: Text,
    usd_amount: Text,
    vendor_amount: Text,
    customer_amount: Text,
    linked_id: Text,
    affiliate_vendor_id: Text,
    options: Many<WireOption>,
    billing: Option<WireBilling>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireOption {
    lineitem_option_id: Text,
    option_name: Text,
    option_value: Text,
    usd_surcharge: Text,
    vendor_surcharge: Text,
    customer_surcharge: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireBilling {
    billing_id: Text,
    usd_amount: Text,
    vendor_amount: Text,
    customer_amount: Text,
    customer_id: Text,
    bill_method: Text,
    date_next: Text,
    date_start: Text,
    date_end: Text,
    date_fail: Text,
    date_pending: Text,
    date_deposited: Text,
    recurring_status: Text,
    status: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireShipping {
    shipping_id: Text,
    date_shipped: Text,
    tracking_number: Text,
    tracking_url: Text,
    shipping_method_id: Text,
    shipping_method: Text,
    shipping_name: Text,
    #[serde(flatten)]
    address: WireAddress,
}

/// The reference names the fields `ip`/`comment_text`; the documented example
/// sends `changed_by_ip`/`comment`. Both are accepted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireComment {
    username: Text,
    timestamp: Text,
    #[serde(alias = "ip")]
    changed_by_ip: Text,
    #[serde(alias = "comment_text")]
    comment: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListSalesBody {
    page_info: Option<WirePageInfo>,
    sale_summary: Many<WireSummary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WirePageInfo {
    cur_page: Text,
    pagesize: Text,
    last_page: Text,
    total_entries: Text,
    first_entry: Text,
    last_entry: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireSummary {
    sale_id: Text,
    date_placed: Text,
    customer_name: Text,
    recurring: Text,
    recurring_declined: Text,
    decline_code: Text,
    usd_total: Text,
}

/// The answer to a write: `{"response_code": "OK", "response_message": "…"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WriteBody {
    response_code: Text,
    response_message: Text,
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

fn bad(path: impl fmt::Display, problem: impl fmt::Display) -> BadValue {
    BadValue { path: path.to_string(), problem: problem.to_string() }
}

fn required<T: FromStr>(text: &Text, path: &str) -> Result<T, BadValue>
where
    T::Err: fmt::Display,
{
    let raw = text.get().ok_or_else(|| bad(path, "missing"))?;
    raw.parse().map_err(|e| bad(path, e))
}

fn amount(text: &Text, path: impl fmt::Display) -> Result<Option<Amount>, BadValue> {
    text.get().map(|raw| raw.parse::<Amount>().map_err(|e| bad(&path, e))).transpose()
}

fn flag(text: &Text, path: impl fmt::Display) -> Result<bool, BadValue> {
    match text.get().map(str::trim) {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(_) => Err(bad(path, "must be 0 or 1")),
    }
}

fn count(text: &Text, path: &str) -> Result<u32, BadValue> {
    match text.get() {
        None => Ok(0),
        Some(raw) => raw.trim().parse().map_err(|_| bad(path, "must be a whole number")),
    }
}

impl WireSale {
    pub fn into_domain(self) -> Result<domain::Sale, BadValue> {
        let invoices = self
            .invoices
            .0
            .into_iter()
            .enumerate()
            .map(|(i, invoice)| invoice.into_domain(&format!("sale.invoices[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(domain::Sale {
            sale_id: required(&self.sale_id, "sale.sale_id")?,
            date_placed: self.date_placed.owned(),
            ip_address: self.ip_address.owned(),
            ip_country: self.ip_country.owned(),
            recurring_decline: self.recurring_decline.owned(),
            ip_detail: self.detail_ip.map(|ip| IpDetail {
                address: ip.address.owned(),
                city: ip.city.owned(),
                region: ip.region.owned(),
                country_code: ip.country_code.owned(),
            }),
            customer: self.customer.map(WireCustomer::into_domain),
            invoices,
            comments: self
                .comments
                .0
                .into_iter()
                .map(|c| Comment {
                    username: c.username.owned(),
                    timestamp: c.timestamp.owned(),
                    ip_address: c.changed_by_ip.owned(),
                    text: c.comment.owned(),
                })
                .collect(),
        })
    }
}

impl WireCustomer {
    fn into_domain(self) -> Customer {
        Customer {
            customer_id: self.customer_id.owned(),
            prefix: self.prefix.owned(),
            first_name: self.first_name.owned(),
            middle_initial: self.middle_initial.owned(),
            last_name: self.last_name.owned(),
            cardholder_name: self.cardholder_name.owned(),
            email_address: self.email_address.owned(),
            phone: self.phone.owned(),
            phone_extension: self.phone_ext.owned(),
            language: self.lang.owned(),
            billing_address: self.address.into_domain(),
            pay_method: self.pay_method.map(|p| PayMethod {
                method: VendorValue::parse(p.method.owned(), PaymentMethod::recognise),
                first_six_digits: p.first_six_digits.owned(),
                last_two_digits: p.last_two_digits.owned(),
                avs: p.avs.owned(),
                cvv: p.cvv.owned(),
            }),
        }
    }
}

impl WireInvoice {
    fn into_domain(self, path: &str) -> Result<Invoice, BadValue> {
        let line_items = self
            .lineitems
            .0
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.into_domain(&format!("{path}.lineitems[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Invoice {
            invoice_id: required(&self.invoice_id, &format!("{path}.invoice_id"))?,
            sale_id: self.sale_id.owned(),
            status: VendorValue::parse(self.status.owned(), InvoiceStatus::recognise),
            usd_total: amount(&self.usd_total, format_args!("{path}.usd_total"))?,
            vendor_total: amount(&self.vendor_total, format_args!("{path}.vendor_total"))?,
            customer_total: amount(&self.customer_total, format_args!("{path}.customer_total"))?,
            fees_2co: amount(&self.fees_2co, format_args!("{path}.fees_2co"))?,
            recurring: flag(&self.recurring, format_args!("{path}.recurring"))?,
            date_placed: self.date_placed.owned(),
            date_shipped: self.date_shipped.owned(),
            date_vendor_paid: self.date_vendor_paid.owned(),
            referrer: self.referrer.owned(),
            vendor_order_id: self.vendor_order_id.owned(),
            vendor_id: self.vendor_id.owned(),
            line_items,
            shipping: self.shipping.map(|s| Shipping {
                shipping_id: s.shipping_id.owned(),
                date_shipped: s.date_shipped.owned(),
                tracking_number: s.tracking_number.owned(),
                tracking_url: s.tracking_url.owned(),
                shipping_method_id: s.shipping_method_id.owned(),
                shipping_method: s.shipping_method.owned(),
                recipient_name: s.shipping_name.owned(),
                address: s.address.into_domain(),
            }),
        })
    }
}

impl WireLineItem {
    fn into_domain(self, path: &str) -> Result<LineItem, BadValue> {
        let options = self
            .options
            .0
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let path = format!("{path}.options[{i}]");
                Ok(LineItemOption {
                    line_item_option_id: o.lineitem_option_id.owned(),
                    option_name: o.option_name.owned(),
                    option_value: o.option_value.owned(),
                    usd_surcharge: amount(&o.usd_surcharge, format_args!("{path}.usd_surcharge"))?,
                    vendor_surcharge: amount(&o.vendor_surcharge, format_args!("{path}.vendor_surcharge"))?,
                    customer_surcharge: amount(&o.customer_surcharge, format_args!("{path}.customer_surcharge"))?,
                })
            })
            .collect::<Result<_, BadValue>>()?;
        let billing = self.billing.map(|b| b.into_domain(&format!("{path}.billing"))).transpose()?;
        Ok(LineItem {
            line_item_id: self
                .lineitem_id
                .get()
                .ok_or_else(|| bad(format_args!("{path}.lineitem_id"), "missing"))?
                .to_owned(),
            invoice_id: self.invoice_id.owned(),
            sale_id: self.sale_id.owned(),
            product_id: self.product_id.owned(),
            vendor_product_id: self.vendor_product_id.owned(),
            product_name: self.product_name.owned(),
            product_description: self.product_description.owned(),
            product_price: amount(&self.product_price, format_args!("{path}.product_price"))?,
            product_handling: amount(&self.product_handling, format_args!("{path}.product_handling"))?,
            product_startup_fee: amount(&self.product_startup_fee, format_args!("{path}.product_startup_fee"))?,
            product_recurrence: self.product_recurrence.owned(),
            product_duration: self.product_duration.owned(),
            product_tangible: flag(&self.product_tangible, format_args!("{path}.product_tangible"))?,
            product_is_cart: self.product_is_cart.owned(),
            installment: self.installment.owned(),
            line_type: LineItemType::from_vendor(self.line_type.owned()),
            status: VendorValue::parse(self.status.owned(), BillingStatus::recognise),
            usd_amount: amount(&self.usd_amount, format_args!("{path}.usd_amount"))?,
            vendor_amount: amount(&self.vendor_amount, format_args!("{path}.vendor_amount"))?,
            customer_amount: amount(&self.customer_amount, format_args!("{path}.customer_amount"))?,
            linked_id: self.linked_id.owned(),
            affiliate_vendor_id: self.affiliate_vendor_id.owned(),
            options,
            billing,
        })
    }
}

impl WireBilling {
    fn into_domain(self, path: &str) -> Result<Billing, BadValue> {
        Ok(Billing {
            billing_id: self.billing_id.owned(),
            usd_amount: amount(&self.usd_amount, format_args!("{path}.usd_amount"))?,
            vendor_amount: amount(&self.vendor_amount, format_args!("{path}.vendor_amount"))?,
            customer_amount: amount(&self.customer_amount, format_args!("{path}.customer_amount"))?,
            customer_id: self.customer_id.owned(),
            bill_method: self.bill_method.owned(),
            date_next: self.date_next.owned(),
            date_start: self.date_start.owned(),
            date_end: self.date_end.owned(),
            date_fail: self.date_fail.owned(),
            date_pending: self.date_pending.owned(),
            date_deposited: self.date_deposited.owned(),
            recurring_status: VendorValue::parse(self.recurring_status.owned(), RecurringStatus::recognise),
            status: VendorValue::parse(self.status.owned(), BillingStatus::recognise),
        })
    }
}

impl ListSalesBody {
    /// The page, given the page that was asked for (the vendor's page_info
    /// fills in the rest, and the asked-for values stand in where it is silent).
    pub fn into_domain(self, asked: domain::PageRequest) -> Result<SalesPage, BadValue> {
        let sales: Vec<SaleSummary> = self
            .sale_summary
            .0
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let path = format!("sale_summary[{i}]");
                Ok(SaleSummary {
                    sale_id: required(&row.sale_id, &format!("{path}.sale_id"))?,
                    date_placed: row.date_placed.owned(),
                    customer_name: row.customer_name.owned(),
                    recurring: flag(&row.recurring, format_args!("{path}.recurring"))?,
                    recurring_declined: row.recurring_declined.owned(),
                    decline_code: row.decline_code.owned(),
                    usd_total: amount(&row.usd_total, format_args!("{path}.usd_total"))?,
                })
            })
            .collect::<Result<_, BadValue>>()?;
        let info = self.page_info.unwrap_or_default();
        let or = |value: u32, fallback: u32| if value == 0 { fallback } else { value };
        let rows = u32::try_from(sales.len()).unwrap_or(u32::MAX);
        Ok(SalesPage {
            page: or(count(&info.cur_page, "page_info.cur_page")?, asked.page),
            page_size: or(count(&info.pagesize, "page_info.pagesize")?, asked.page_size),
            last_page: or(count(&info.last_page, "page_info.last_page")?, asked.page),
            total_entries: or(count(&info.total_entries, "page_info.total_entries")?, rows),
            first_entry: count(&info.first_entry, "page_info.first_entry")?,
            last_entry: count(&info.last_entry, "page_info.last_entry")?,
            sales,
        })
    }
}
