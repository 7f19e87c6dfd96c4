//! The wire shapes of the Admin API's catalog (`products/*`) and account
//! (`acct/*`) answers, private to this adapter, and their conversion into
//! domain values.
//!
//! The same rules as `wire.rs`: every scalar is a [`Scalar`] (string, number
//! or null, `""` read as absent), every list a [`Many`] (an array, a lone
//! object, or nothing: XML cannot tell a one-element list from an object),
//! unknown fields are skipped unbuilt, and strictness lives in the conversion,
//! which names the path of any bad value (`products[3].price`). On top of
//! those, these answers spell "absent" one more way: the **string** `"null"`
//! (detail_contact_info's documented `customer_service_phone_ext`), read as
//! absent everywhere here, since no id, amount, flag or name is ever the word
//! "null".
//!
//! The company info answer carries the account's INS `secret_word`:
//! [`WireCompanyInfo`] has no such field, so the value is skipped while
//! reading and never held, converted, cached or logged.
//! Facts: `shared/reference/CATALOG-ACCOUNT-NOTES.md`.

use std::{borrow::Cow, fmt, str::FromStr};

use serde::{Deserialize, de::IgnoredAny};

use super::wire::{BadValue, Many, PagePosition, Scalar, WirePageInfo, answer, bad};
use crate::domain::{
    AccountPayment, Amount, CatalogPage, CatalogReceipt, CatalogWrite, CommissionType, CompanyInfo, ContactInfo,
    Coupon, CouponCode, CouponType, OptionValue, PageRequest, PayoutTotals, PendingPayment, Product, ProductCategory,
    ProductId, ProductImage, ProductOption,
};

answer!(
    ListProductsBody<'a>,
    DetailProductBody<'a>,
    ListOptionsBody<'a>,
    DetailOptionBody<'a>,
    CouponsBody<'a>,
    CatalogWriteBody<'a>,
    CompanyInfoBody<'a>,
    ContactInfoBody<'a>,
    PendingPaymentBody<'a>,
    ListPaymentsBody<'a>
);

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct ListProductsBody<'a> {
    page_info: Option<WirePageInfo<'a>>,
    products: Many<WireProduct<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct DetailProductBody<'a> {
    product: Option<WireProduct<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireProduct<'a> {
    product_id: Scalar<'a>,
    assigned_product_id: Scalar<'a>,
    vendor_id: Scalar<'a>,
    vendor_product_id: Scalar<'a>,
    name: Scalar<'a>,
    description: Scalar<'a>,
    long_description: Scalar<'a>,
    price: Scalar<'a>,
    tangible: Scalar<'a>,
    weight: Scalar<'a>,
    handling: Scalar<'a>,
    recurring: Scalar<'a>,
    recurrence: Scalar<'a>,
    duration: Scalar<'a>,
    startup_fee: Scalar<'a>,
    pending_url: Scalar<'a>,
    approved_url: Scalar<'a>,
    commission: Scalar<'a>,
    commission_type: Scalar<'a>,
    commission_amount: Scalar<'a>,
    images: Many<WireImage<'a>>,
    categories: Many<WireCategory<'a>>,
    options: Many<WireOption<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireImage<'a> {
    image_id: Scalar<'a>,
    image_number: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireCategory<'a> {
    category_id: Scalar<'a>,
    name: Scalar<'a>,
    parent_id: Scalar<'a>,
    parent_name: Scalar<'a>,
    description: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct ListOptionsBody<'a> {
    page_info: Option<WirePageInfo<'a>>,
    options: Many<WireOption<'a>>,
    errors: Option<IgnoredAny>,
}

/// detail_option answers `option` as an array holding the one option (every
/// official client reads element 0).
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct DetailOptionBody<'a> {
    option: Many<WireOption<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireOption<'a> {
    option_id: Scalar<'a>,
    option_name: Scalar<'a>,
    option_values: Many<WireOptionValue<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireOptionValue<'a> {
    option_value_id: Scalar<'a>,
    option_value_name: Scalar<'a>,
    option_value_surcharge: Scalar<'a>,
}

/// list_coupons and detail_coupon both answer under the singular key
/// `coupon`: an array for the list (in XML, `<coupon>` repeated), an object
/// for the detail. Read as a [`Many`] for both, so either shape is taken.
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct CouponsBody<'a> {
    coupon: Many<WireCoupon<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireCoupon<'a> {
    coupon_code: Scalar<'a>,
    date_expire: Scalar<'a>,
    #[serde(rename = "type")]
    coupon_type: Scalar<'a>,
    minimum_purchase: Scalar<'a>,
    percentage_off: Scalar<'a>,
    value_off: Scalar<'a>,
    /// Absent (list entries) is "not said"; present is the products it is tied to.
    product: Option<Many<WireCouponProduct<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireCouponProduct<'a> {
    product_id: Scalar<'a>,
}

/// The answer to a catalog write, for the ids some writes answer (its
/// confirmation, `response_code`, is read by `interpret_write` first).
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct CatalogWriteBody<'a> {
    product_id: Scalar<'a>,
    assigned_product_id: Scalar<'a>,
    option_id: Scalar<'a>,
    coupon_code: Scalar<'a>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct CompanyInfoBody<'a> {
    vendor_company_info: Option<WireCompanyInfo<'a>>,
    errors: Option<IgnoredAny>,
}

/// `vendor_company_info` **without** `secret_word`: the field is deliberately
/// not named, so the reader skips its value (JSON and XML alike) and nothing
/// built from the answer can carry it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireCompanyInfo<'a> {
    vendor_id: Scalar<'a>,
    vendor_name: Scalar<'a>,
    site_title: Scalar<'a>,
    site_description: Scalar<'a>,
    site_category: Scalar<'a>,
    soft_descriptor: Scalar<'a>,
    url: Scalar<'a>,
    return_url: Scalar<'a>,
    pending_return_url: Scalar<'a>,
    affiliate_url: Scalar<'a>,
    return_method: Scalar<'a>,
    currency_symbol: Scalar<'a>,
    currency_code: Scalar<'a>,
    currency_name: Scalar<'a>,
    demo: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct ContactInfoBody<'a> {
    vendor_contact_info: Option<WireContactInfo<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WireContactInfo<'a> {
    vendor_id: Scalar<'a>,
    mailing_address_id: Scalar<'a>,
    mailing_address_1: Scalar<'a>,
    mailing_address_2: Scalar<'a>,
    mailing_city: Scalar<'a>,
    mailing_state: Scalar<'a>,
    mailing_postal_code: Scalar<'a>,
    mailing_country_code: Scalar<'a>,
    physical_address_id: Scalar<'a>,
    physical_address_1: Scalar<'a>,
    physical_address_2: Scalar<'a>,
    physical_city: Scalar<'a>,
    physical_state: Scalar<'a>,
    physical_postal_code: Scalar<'a>,
    physical_country_code: Scalar<'a>,
    office_phone: Scalar<'a>,
    office_phone_ext: Scalar<'a>,
    office_email: Scalar<'a>,
    customer_service_phone: Scalar<'a>,
    customer_service_phone_ext: Scalar<'a>,
    customer_service_email: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct PendingPaymentBody<'a> {
    payment: Option<WirePayment<'a>>,
    errors: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
pub struct ListPaymentsBody<'a> {
    payments: Many<WirePayment<'a>>,
    errors: Option<IgnoredAny>,
}

/// A payout statement: the pending one (`payment`) or a past one (`payments[]`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WirePayment<'a> {
    payment_id: Scalar<'a>,
    payment_identifier: Scalar<'a>,
    amount: Scalar<'a>,
    payment_fee: Scalar<'a>,
    payment_method: Scalar<'a>,
    payment_type: Scalar<'a>,
    release_level: Scalar<'a>,
    reserve_held: Scalar<'a>,
    date_paid: Scalar<'a>,
    date_reserve_released: Scalar<'a>,
    void: Scalar<'a>,
    date_voided: Scalar<'a>,
    total_sales: Scalar<'a>,
    total_fees: Scalar<'a>,
    total_refunds: Scalar<'a>,
    total_chargeback_fees: Scalar<'a>,
    total_adjustments: Scalar<'a>,
    total_commissions: Scalar<'a>,
    total_outgoing_commissions: Scalar<'a>,
    total_balance_forward: Scalar<'a>,
    /// The .NET client's name for it; the documented example's is `total_reserve_released`.
    #[serde(alias = "reserve_released")]
    total_reserve_released: Scalar<'a>,
}

// ---- conversion helpers: "absent" is null, "" or the string "null" ----

/// The value, unless it is absent in any of the vendor's spellings.
fn present<'s>(scalar: &'s Scalar<'_>) -> Option<&'s str> {
    scalar.get().filter(|value| *value != "null")
}

/// Free text, verbatim.
fn text(scalar: Scalar<'_>) -> Option<String> {
    match scalar.0 {
        Some(value) if value != "null" => Some(Cow::into_owned(value)),
        _ => None,
    }
}

/// A value the domain cannot do without (an id, a name, a price).
fn required<T: FromStr>(scalar: &Scalar<'_>, path: impl fmt::Display) -> Result<T, BadValue>
where
    T::Err: fmt::Display,
{
    let raw = present(scalar).ok_or_else(|| bad(&path, "missing"))?;
    raw.parse().map_err(|e| bad(&path, e))
}

/// Money the domain cannot do without (a price, a surcharge), read like [`amount`].
fn required_amount(scalar: &Scalar<'_>, path: impl fmt::Display) -> Result<Amount, BadValue> {
    amount(scalar, &path)?.ok_or_else(|| bad(&path, "missing"))
}

/// Money (or a two-decimal quantity): absent is `None`, anything else must be an amount; the
/// blanks around it are the vendor's padding, not part of it.
fn amount(scalar: &Scalar<'_>, path: impl fmt::Display) -> Result<Option<Amount>, BadValue> {
    present(scalar).map(|raw| raw.trim().parse::<Amount>().map_err(|e| bad(&path, e))).transpose()
}

/// A `0`/`1` flag (a string or a number); absent is off.
fn flag(scalar: &Scalar<'_>, path: impl fmt::Display) -> Result<bool, BadValue> {
    match present(scalar).map(str::trim) {
        None | Some("0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(_) => Err(bad(path, "must be 0 or 1")),
    }
}

fn count(scalar: &Scalar<'_>, path: &str) -> Result<u32, BadValue> {
    match present(scalar) {
        None => Ok(0),
        Some(raw) => raw.trim().parse().map_err(|_| bad(path, "must be a whole number")),
    }
}

/// The page, given the page asked for (see [`PagePosition`]).
fn page<T>(info: Option<WirePageInfo<'_>>, asked: PageRequest, rows: Vec<T>) -> Result<CatalogPage<T>, BadValue> {
    let at = PagePosition::read(info, asked, rows.len(), count)?;
    Ok(CatalogPage {
        page: at.page,
        page_size: at.page_size,
        last_page: at.last_page,
        total_entries: at.total_entries,
        first_entry: at.first_entry,
        last_entry: at.last_entry,
        rows,
    })
}

// ---- products and options ----

impl ListProductsBody<'_> {
    pub fn into_domain(self, asked: PageRequest) -> Result<CatalogPage<Product>, BadValue> {
        let rows = self
            .products
            .0
            .into_iter()
            .enumerate()
            .map(|(i, product)| product.into_domain(&format_args!("products[{i}]")))
            .collect::<Result<_, _>>()?;
        page(self.page_info, asked, rows)
    }
}

impl DetailProductBody<'_> {
    /// The product; `Ok(None)` when the answer has none.
    pub fn into_domain(self) -> Result<Option<Product>, BadValue> {
        self.product.map(|product| product.into_domain(&"product")).transpose()
    }
}

impl WireProduct<'_> {
    /// `path` is formatted only when a value is bad.
    fn into_domain(self, path: &dyn fmt::Display) -> Result<Product, BadValue> {
        let options = self
            .options
            .0
            .into_iter()
            .enumerate()
            .map(|(i, option)| option.into_domain(&format_args!("{path}.options[{i}]")))
            .collect::<Result<_, _>>()?;
        let categories = self
            .categories
            .0
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(ProductCategory {
                    category_id: present(&c.category_id)
                        .ok_or_else(|| bad(format_args!("{path}.categories[{i}].category_id"), "missing"))?
                        .to_owned(),
                    name: text(c.name),
                    parent_id: text(c.parent_id),
                    parent_name: text(c.parent_name),
                    description: text(c.description),
                })
            })
            .collect::<Result<_, BadValue>>()?;
        let commission_type = match present(&self.commission_type).map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("amount") => Some(CommissionType::Amount),
            Some("percentage") => Some(CommissionType::Percentage),
            Some(_) => return Err(bad(format_args!("{path}.commission_type"), "must be amount or percentage")),
        };
        Ok(Product {
            product_id: required(&self.product_id, format_args!("{path}.product_id"))?,
            name: present(&self.name).ok_or_else(|| bad(format_args!("{path}.name"), "missing"))?.to_owned(),
            price: required_amount(&self.price, format_args!("{path}.price"))?,
            tangible: flag(&self.tangible, format_args!("{path}.tangible"))?,
            weight: amount(&self.weight, format_args!("{path}.weight"))?,
            handling: amount(&self.handling, format_args!("{path}.handling"))?,
            recurring: flag(&self.recurring, format_args!("{path}.recurring"))?,
            startup_fee: amount(&self.startup_fee, format_args!("{path}.startup_fee"))?,
            commission: flag(&self.commission, format_args!("{path}.commission"))?,
            commission_type,
            commission_amount: amount(&self.commission_amount, format_args!("{path}.commission_amount"))?,
            assigned_product_id: text(self.assigned_product_id),
            vendor_id: text(self.vendor_id),
            vendor_product_id: text(self.vendor_product_id),
            description: text(self.description),
            long_description: text(self.long_description),
            recurrence: text(self.recurrence),
            duration: text(self.duration),
            pending_url: text(self.pending_url),
            approved_url: text(self.approved_url),
            images: self
                .images
                .0
                .into_iter()
                .map(|image| ProductImage {
                    image_id: text(image.image_id).unwrap_or_default(),
                    image_number: text(image.image_number).unwrap_or_default(),
                })
                .collect(),
            categories,
            options,
        })
    }
}

impl ListOptionsBody<'_> {
    pub fn into_domain(self, asked: PageRequest) -> Result<CatalogPage<ProductOption>, BadValue> {
        let rows = self
            .options
            .0
            .into_iter()
            .enumerate()
            .map(|(i, option)| option.into_domain(&format_args!("options[{i}]")))
            .collect::<Result<_, _>>()?;
        page(self.page_info, asked, rows)
    }
}

impl DetailOptionBody<'_> {
    /// Element 0 of `option`, as every official client reads it; `Ok(None)` when the
    /// array is empty or absent.
    pub fn into_domain(self) -> Result<Option<ProductOption>, BadValue> {
        self.option.0.into_iter().next().map(|option| option.into_domain(&"option[0]")).transpose()
    }
}

impl WireOption<'_> {
    fn into_domain(self, path: &dyn fmt::Display) -> Result<ProductOption, BadValue> {
        let values = self
            .option_values
            .0
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                let path = format_args!("{path}.option_values[{i}]");
                Ok(OptionValue {
                    value_id: required(&value.option_value_id, format_args!("{path}.option_value_id"))?,
                    name: present(&value.option_value_name)
                        .ok_or_else(|| bad(format_args!("{path}.option_value_name"), "missing"))?
                        .to_owned(),
                    surcharge: required_amount(
                        &value.option_value_surcharge,
                        format_args!("{path}.option_value_surcharge"),
                    )?,
                })
            })
            .collect::<Result<_, BadValue>>()?;
        Ok(ProductOption {
            option_id: required(&self.option_id, format_args!("{path}.option_id"))?,
            name: present(&self.option_name)
                .ok_or_else(|| bad(format_args!("{path}.option_name"), "missing"))?
                .to_owned(),
            values,
        })
    }
}

// ---- coupons ----

impl CouponsBody<'_> {
    /// Every coupon of a list_coupons answer.
    pub fn into_list(self) -> Result<Vec<Coupon>, BadValue> {
        self.coupon
            .0
            .into_iter()
            .enumerate()
            .map(|(i, coupon)| coupon.into_domain(&format_args!("coupon[{i}]")))
            .collect()
    }

    /// The coupon of a detail_coupon answer (the first, should it be a list); `Ok(None)`
    /// when the answer has none.
    pub fn into_detail(self) -> Result<Option<Coupon>, BadValue> {
        self.coupon.0.into_iter().next().map(|coupon| coupon.into_domain(&"coupon")).transpose()
    }
}

impl WireCoupon<'_> {
    fn into_domain(self, path: &dyn fmt::Display) -> Result<Coupon, BadValue> {
        // product_id "0" is the vendor's "tied to no product".
        let product_ids = self
            .product
            .map(|products| {
                products
                    .0
                    .into_iter()
                    .enumerate()
                    .filter(|(_, p)| present(&p.product_id).is_some_and(|id| id.trim() != "0"))
                    .map(|(i, p)| required::<ProductId>(&p.product_id, format_args!("{path}.product[{i}].product_id")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Coupon {
            code: required::<CouponCode>(&self.coupon_code, format_args!("{path}.coupon_code"))?,
            date_expire: present(&self.date_expire)
                .ok_or_else(|| bad(format_args!("{path}.date_expire"), "missing"))?
                .to_owned(),
            coupon_type: CouponType::parse(
                present(&self.coupon_type).ok_or_else(|| bad(format_args!("{path}.type"), "missing"))?,
            ),
            minimum_purchase: amount(&self.minimum_purchase, format_args!("{path}.minimum_purchase"))?,
            value_off: amount(&self.value_off, format_args!("{path}.value_off"))?,
            percentage_off: text(self.percentage_off),
            product_ids,
        })
    }
}

// ---- writes ----

impl CatalogWriteBody<'_> {
    /// The receipt of a confirmed write (`message` is its `response_message`), with the
    /// ids the vendor answers to that kind of write: the create calls' new id is
    /// required, the update calls' echo optional, and an id that is present but not
    /// an id is a bad value. Other members are not looked at.
    pub fn into_receipt(self, message: String, write: &CatalogWrite) -> Result<CatalogReceipt, BadValue> {
        let mut receipt = CatalogReceipt { message, ..CatalogReceipt::default() };
        match write {
            CatalogWrite::CreateProduct(_) => {
                receipt.product_id = Some(required(&self.product_id, "product_id")?);
                receipt.assigned_product_id = text(self.assigned_product_id);
            }
            CatalogWrite::UpdateProduct { .. } => {
                receipt.product_id = optional(&self.product_id, "product_id")?;
                receipt.assigned_product_id = text(self.assigned_product_id);
            }
            CatalogWrite::CreateOption(_) => receipt.option_id = Some(required(&self.option_id, "option_id")?),
            CatalogWrite::CreateCoupon(_) => receipt.coupon_code = Some(required(&self.coupon_code, "coupon_code")?),
            CatalogWrite::UpdateCoupon(_) => receipt.coupon_code = optional(&self.coupon_code, "coupon_code")?,
            CatalogWrite::DeleteProduct { .. }
            | CatalogWrite::UpdateOption { .. }
            | CatalogWrite::DeleteOption { .. }
            | CatalogWrite::DeleteCoupon { .. } => {}
        }
        Ok(receipt)
    }
}

/// A value that may be absent, but must be valid when present.
fn optional<T: FromStr>(scalar: &Scalar<'_>, path: &str) -> Result<Option<T>, BadValue>
where
    T::Err: fmt::Display,
{
    present(scalar).map(|_| required(scalar, path)).transpose()
}

// ---- account ----

impl CompanyInfoBody<'_> {
    pub fn into_domain(self) -> Result<Option<CompanyInfo>, BadValue> {
        let Some(c) = self.vendor_company_info else { return Ok(None) };
        Ok(Some(CompanyInfo {
            vendor_id: present(&c.vendor_id).ok_or_else(|| bad("vendor_company_info.vendor_id", "missing"))?.to_owned(),
            vendor_name: text(c.vendor_name),
            site_title: text(c.site_title),
            site_description: text(c.site_description),
            site_category: text(c.site_category),
            soft_descriptor: text(c.soft_descriptor),
            url: text(c.url),
            return_url: text(c.return_url),
            pending_return_url: text(c.pending_return_url),
            affiliate_url: text(c.affiliate_url),
            return_method: text(c.return_method),
            currency_symbol: text(c.currency_symbol),
            currency_code: text(c.currency_code),
            currency_name: text(c.currency_name),
            demo: text(c.demo),
        }))
    }
}

impl ContactInfoBody<'_> {
    pub fn into_domain(self) -> Result<Option<ContactInfo>, BadValue> {
        let Some(c) = self.vendor_contact_info else { return Ok(None) };
        Ok(Some(ContactInfo {
            vendor_id: present(&c.vendor_id).ok_or_else(|| bad("vendor_contact_info.vendor_id", "missing"))?.to_owned(),
            mailing_address_id: text(c.mailing_address_id),
            mailing_address_1: text(c.mailing_address_1),
            mailing_address_2: text(c.mailing_address_2),
            mailing_city: text(c.mailing_city),
            mailing_state: text(c.mailing_state),
            mailing_postal_code: text(c.mailing_postal_code),
            mailing_country_code: text(c.mailing_country_code),
            physical_address_id: text(c.physical_address_id),
            physical_address_1: text(c.physical_address_1),
            physical_address_2: text(c.physical_address_2),
            physical_city: text(c.physical_city),
            physical_state: text(c.physical_state),
            physical_postal_code: text(c.physical_postal_code),
            physical_country_code: text(c.physical_country_code),
            office_phone: text(c.office_phone),
            office_phone_ext: text(c.office_phone_ext),
            office_email: text(c.office_email),
            customer_service_phone: text(c.customer_service_phone),
            customer_service_phone_ext: text(c.customer_service_phone_ext),
            customer_service_email: text(c.customer_service_email),
        }))
    }
}

impl WirePayment<'_> {
    fn totals(&self, path: &dyn fmt::Display) -> Result<PayoutTotals, BadValue> {
        let total = |scalar: &Scalar<'_>, name: &str| amount(scalar, format_args!("{path}.{name}"));
        Ok(PayoutTotals {
            total_sales: total(&self.total_sales, "total_sales")?,
            total_fees: total(&self.total_fees, "total_fees")?,
            total_refunds: total(&self.total_refunds, "total_refunds")?,
            total_chargeback_fees: total(&self.total_chargeback_fees, "total_chargeback_fees")?,
            total_adjustments: total(&self.total_adjustments, "total_adjustments")?,
            total_commissions: total(&self.total_commissions, "total_commissions")?,
            total_outgoing_commissions: total(&self.total_outgoing_commissions, "total_outgoing_commissions")?,
            total_balance_forward: total(&self.total_balance_forward, "total_balance_forward")?,
            total_reserve_released: total(&self.total_reserve_released, "total_reserve_released")?,
        })
    }
}

impl PendingPaymentBody<'_> {
    pub fn into_domain(self) -> Result<Option<PendingPayment>, BadValue> {
        let Some(p) = self.payment else { return Ok(None) };
        let path = "payment";
        Ok(Some(PendingPayment {
            totals: p.totals(&path)?,
            amount: amount(&p.amount, "payment.amount")?,
            payment_fee: amount(&p.payment_fee, "payment.payment_fee")?,
            reserve_held: amount(&p.reserve_held, "payment.reserve_held")?,
            payment_id: text(p.payment_id),
            payment_method: text(p.payment_method),
            release_level: text(p.release_level),
        }))
    }
}

impl ListPaymentsBody<'_> {
    pub fn into_domain(self) -> Result<Vec<AccountPayment>, BadValue> {
        self.payments
            .0
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let path = format_args!("payments[{i}]");
                Ok(AccountPayment {
                    payment_id: present(&p.payment_id)
                        .ok_or_else(|| bad(format_args!("{path}.payment_id"), "missing"))?
                        .to_owned(),
                    totals: p.totals(&path)?,
                    amount: amount(&p.amount, format_args!("{path}.amount"))?,
                    reserve_held: amount(&p.reserve_held, format_args!("{path}.reserve_held"))?,
                    voided: flag(&p.void, format_args!("{path}.void"))?,
                    payment_identifier: text(p.payment_identifier),
                    date_paid: text(p.date_paid),
                    payment_type: text(p.payment_type),
                    date_reserve_released: text(p.date_reserve_released),
                    date_voided: text(p.date_voided),
                })
            })
            .collect()
    }
}

/// The XML the simulator (and, as far as the evidence goes, the live API)
/// sends for a JSON answer: one `<response>` root, keys as child elements in
/// order, an array as its element repeated with no wrapper (an empty one as
/// nothing), `null` as an empty element, text escaped. For the unit tests,
/// which give every example answer in both formats.
#[cfg(test)]
pub(super) fn xml_of(body: &serde_json::Value) -> String {
    use serde_json::Value;
    fn element(out: &mut String, name: &str, value: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| element(out, name, item)),
            Value::Null => out.push_str(&format!("<{name}/>")),
            Value::Object(members) => {
                out.push_str(&format!("<{name}>"));
                members.iter().for_each(|(key, value)| element(out, key, value));
                out.push_str(&format!("</{name}>"));
            }
            Value::String(text) => {
                out.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(text.as_str())))
            }
            scalar => out.push_str(&format!("<{name}>{scalar}</{name}>")),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>");
    if let Value::Object(members) = body {
        members.iter().for_each(|(key, value)| element(&mut out, key, value));
    }
    out.push_str("</response>\n");
    out
}
