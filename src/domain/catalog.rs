//! The account's catalog as the gateway models it: products, the options
//! that products carry, and coupons; the commands that change them; and the
//! ports they are served through (`products/*` of the Admin API).
//!
//! Read values are tolerant (the vendor's own text where eras disagree, such
//! as a coupon's `percentage_off`); command values are strict (a value of
//! [`CatalogWrite`] satisfies the documented rules, so nothing invalid reaches
//! 2Checkout). Facts and disagreements: `shared/reference/CATALOG-ACCOUNT-NOTES.md`.

use std::{fmt, future::Future, str::FromStr};

use chrono::NaiveDate;

use super::{
    Amount, CallContext, CategoryId, Error, InvalidValue, OptionId, OptionValueId, PageRequest, ProductId, RequestId,
    SortDirection, Text,
};

/// The longest product name, description or URL the gateway sends (the
/// vendor documents none; its sale and line-item names are shorter).
pub const MAX_PRODUCT_TEXT_CHARS: usize = 255;
/// The longest long description the gateway sends.
pub const MAX_LONG_DESCRIPTION_CHARS: usize = 5000;
/// The longest option or option value name the gateway sends.
pub const MAX_OPTION_TEXT_CHARS: usize = 255;

/// A coupon code: 1 to 64 characters, ASCII letters, digits, `-` and `_`
/// (the vendor's generated codes are 7 upper-case letters and digits;
/// sellers' own codes seen are words and Unix times). Case is kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CouponCode(String);

impl CouponCode {
    /// The longest code accepted.
    pub const MAX_CHARS: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CouponCode {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(InvalidValue("must not be empty".into()));
        }
        if s.len() > Self::MAX_CHARS {
            return Err(InvalidValue(format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(InvalidValue("must be ASCII letters, digits, - and _ only".into()));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an affiliate commission is expressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CommissionType {
    Amount,
    Percentage,
}

impl CommissionType {
    /// The vendor's parameter value.
    pub fn as_vendor_str(self) -> &'static str {
        match self {
            Self::Amount => "amount",
            Self::Percentage => "percentage",
        }
    }
}

/// A product image.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductImage {
    pub image_id: String,
    pub image_number: String,
}

/// A category a product is listed in.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductCategory {
    pub category_id: String,
    pub name: Option<String>,
    pub parent_id: Option<String>,
    pub parent_name: Option<String>,
    pub description: Option<String>,
}

/// One value of an option, with what it adds to the price.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OptionValue {
    pub value_id: OptionValueId,
    pub name: String,
    /// May be negative (a cheaper variant) as far as reading goes.
    pub surcharge: Amount,
}

/// A product option (`list_options`, `detail_option`, and nested in products).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductOption {
    pub option_id: OptionId,
    pub name: String,
    pub values: Vec<OptionValue>,
}

/// A product as `detail_product` and `list_products` show it. Text the vendor
/// sends as null (or the string "null") is `None`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Product {
    pub product_id: ProductId,
    /// The seller's 2CO product number ("2CO ID"), a per-seller counter.
    pub assigned_product_id: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_product_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub long_description: Option<String>,
    pub price: Amount,
    pub tangible: bool,
    /// A two-decimal quantity (not money), read with the money rules.
    pub weight: Option<Amount>,
    pub handling: Option<Amount>,
    pub recurring: bool,
    /// `<n> Week|Month|Year`, verbatim.
    pub recurrence: Option<String>,
    /// `Forever` or `<n> Week|Month|Year`, verbatim.
    pub duration: Option<String>,
    /// May be negative (a discount on the first installment).
    pub startup_fee: Option<Amount>,
    pub pending_url: Option<String>,
    pub approved_url: Option<String>,
    pub commission: bool,
    pub commission_type: Option<CommissionType>,
    pub commission_amount: Option<Amount>,
    pub images: Vec<ProductImage>,
    pub categories: Vec<ProductCategory>,
    pub options: Vec<ProductOption>,
}

/// How a coupon's discount applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CouponType {
    Sale,
    Product,
    Shipping,
    /// A type the gateway does not know, as the vendor wrote it (reads only).
    Other(String),
}

impl CouponType {
    /// The vendor's parameter value.
    pub fn as_vendor_str(&self) -> &str {
        match self {
            Self::Sale => "sale",
            Self::Product => "product",
            Self::Shipping => "shipping",
            Self::Other(text) => text,
        }
    }

    /// The type named by the vendor's text (`Other` for anything else).
    pub fn parse(text: &str) -> Self {
        match text {
            "sale" => Self::Sale,
            "product" => Self::Product,
            "shipping" => Self::Shipping,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A coupon as `detail_coupon` and `list_coupons` show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coupon {
    pub code: CouponCode,
    /// `YYYY-MM-DD`, verbatim.
    pub date_expire: String,
    pub coupon_type: CouponType,
    pub minimum_purchase: Option<Amount>,
    /// Verbatim: the vendor's examples disagree on the form (`0.05` in a
    /// list, `"5"` in a detail of the same coupon).
    pub percentage_off: Option<String>,
    pub value_off: Option<Amount>,
    /// The products it is tied to; `None` when the answer did not say (list
    /// entries carry no `product`), empty when it is tied to none (the
    /// vendor's `product_id` "0").
    pub product_ids: Option<Vec<ProductId>>,
}

/// The product fields a create or update sends; `None` sends nothing for
/// that field. For a create, `name` and `price` are required (enforced by
/// [`CatalogWrite::CreateProduct`]'s constructor, [`NewProduct::new`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProductFields {
    pub name: Option<Text>,
    pub price: Option<Amount>,
    pub vendor_product_id: Option<Text>,
    pub description: Option<Text>,
    pub long_description: Option<Text>,
    pub pending_url: Option<Text>,
    pub approved_url: Option<Text>,
    pub tangible: Option<bool>,
    pub weight: Option<Amount>,
    pub handling: Option<Amount>,
    pub recurring: Option<bool>,
    pub startup_fee: Option<Amount>,
    /// `<n> Week|Month|Year` (validated at the edge).
    pub recurrence: Option<Text>,
    /// `Forever` or `<n> Week|Month|Year` (validated at the edge).
    pub duration: Option<Text>,
    pub commission: Option<bool>,
    pub commission_type: Option<CommissionType>,
    pub commission_amount: Option<Amount>,
    /// Options to assign (repeated `option_id`); `None` leaves them alone.
    pub option_ids: Option<Vec<OptionId>>,
    /// Categories to list it in (repeated `category_id`); `None` leaves them alone.
    pub category_ids: Option<Vec<CategoryId>>,
}

/// A product to create: name and price are present.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NewProduct(ProductFields);

impl NewProduct {
    /// `Err` names the first missing required field (`name`, then `price`).
    pub fn new(fields: ProductFields) -> Result<Self, &'static str> {
        if fields.name.is_none() {
            return Err("name");
        }
        if fields.price.is_none() {
            return Err("price");
        }
        Ok(Self(fields))
    }

    pub fn fields(&self) -> &ProductFields {
        &self.0
    }
}

/// A value of a new option, or one added to an option.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NewOptionValue {
    pub name: Text,
    pub surcharge: Amount,
}

/// An option to create: a name and at least one value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NewOption {
    pub name: Text,
    /// Never empty (the vendor requires at least one value).
    pub values: Vec<NewOptionValue>,
}

/// What an option update does besides (re)naming it. One change per call:
/// the vendor pairs repeated `option_value_*` keys by position, which is
/// ambiguous when ids and new values are mixed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OptionValueChange {
    /// Adds a value (`option_value_name` + `option_value_surcharge`).
    Add(NewOptionValue),
    /// Changes an existing value (`option_value_id` with its new name and surcharge).
    Change { value_id: OptionValueId, name: Text, surcharge: Amount },
}

/// Which products a coupon applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CouponProducts {
    /// `select_all=1`.
    All,
    /// `select_all=0`.
    None,
    /// Repeated `product_id`.
    Listed(Vec<ProductId>),
}

/// A coupon's discount: a percentage or a fixed amount, never both.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Discount {
    /// Whole percent, 1 to 100, sent as such (`percentage_off=5`).
    PercentageOff(u8),
    /// At least 0.01.
    ValueOff(Amount),
}

/// A coupon to create.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NewCoupon {
    /// `None` lets the vendor generate one.
    pub code: Option<CouponCode>,
    pub date_expire: NaiveDate,
    /// Never [`CouponType::Other`].
    pub coupon_type: CouponType,
    /// Only for sale and product coupons.
    pub discount: Option<Discount>,
    pub minimum_purchase: Option<Amount>,
    /// Only for product coupons; `None` sends neither `product_id` nor `select_all`.
    pub products: Option<CouponProducts>,
}

/// A coupon update; `None` sends nothing for that field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CouponUpdate {
    pub code: CouponCode,
    pub new_code: Option<CouponCode>,
    pub date_expire: Option<NaiveDate>,
    pub coupon_type: Option<CouponType>,
    pub discount: Option<Discount>,
    pub minimum_purchase: Option<Amount>,
    pub products: Option<CouponProducts>,
}

/// One write on the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CatalogWrite {
    CreateProduct(NewProduct),
    UpdateProduct { product_id: ProductId, fields: ProductFields },
    DeleteProduct { product_id: ProductId },
    CreateOption(NewOption),
    UpdateOption { option_id: OptionId, name: Text, change: Option<OptionValueChange> },
    DeleteOption { option_id: OptionId },
    CreateCoupon(NewCoupon),
    UpdateCoupon(CouponUpdate),
    DeleteCoupon { code: CouponCode },
}

/// What a cached read a write makes stale is about, for the cache decorator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CatalogEntity {
    Product(ProductId),
    Option(OptionId),
    Coupon(CouponCode),
}

/// A catalog write with the caller's request id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CatalogWriteRequest {
    pub request_id: RequestId,
    pub write: CatalogWrite,
}

/// 2Checkout's confirmation of a catalog write, with the ids it answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogReceipt {
    /// The vendor's `response_message`, verbatim.
    pub message: String,
    /// create_product, update_product.
    pub product_id: Option<ProductId>,
    /// create_product (when answered), update_product.
    pub assigned_product_id: Option<String>,
    /// create_option.
    pub option_id: Option<OptionId>,
    /// create_coupon, update_coupon (when answered).
    pub coupon_code: Option<CouponCode>,
}

/// Columns list_products sorts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProductSortColumn {
    ProductId,
    Name,
    Description,
    Price,
    VendorProductId,
    AssignedProductId,
    Tangible,
    Weight,
    Handling,
    Recurrence,
    Duration,
    StartupFee,
    CommissionAmount,
}

impl ProductSortColumn {
    /// The vendor's `sort_col` value.
    pub fn as_vendor_str(self) -> &'static str {
        match self {
            Self::ProductId => "product_id",
            Self::Name => "name",
            Self::Description => "description",
            Self::Price => "price",
            Self::VendorProductId => "vendor_product_id",
            Self::AssignedProductId => "assigned_product_id",
            Self::Tangible => "tangible",
            Self::Weight => "weight",
            Self::Handling => "handling",
            Self::Recurrence => "recurrence",
            Self::Duration => "duration",
            Self::StartupFee => "startup_fee",
            Self::CommissionAmount => "commission_amount",
        }
    }
}

/// Columns list_options sorts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionSortColumn {
    OptionId,
    OptionName,
}

impl OptionSortColumn {
    /// The vendor's `sort_col` value.
    pub fn as_vendor_str(self) -> &'static str {
        match self {
            Self::OptionId => "option_id",
            Self::OptionName => "option_name",
        }
    }
}

/// One list_products call; filters combine with AND.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListProductsQuery {
    pub assigned_product_id: Option<String>,
    pub vendor_product_id: Option<String>,
    pub name: Option<String>,
    pub page: PageRequest,
    pub sort_column: Option<ProductSortColumn>,
    pub sort_direction: Option<SortDirection>,
}

/// One list_options call; filters combine with AND.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListOptionsQuery {
    pub option_name: Option<String>,
    pub option_value_name: Option<String>,
    pub page: PageRequest,
    pub sort_column: Option<OptionSortColumn>,
    pub sort_direction: Option<SortDirection>,
}

/// A page of a catalog listing (the vendor's `page_info`), like [`super::SalesPage`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogPage<T> {
    pub rows: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    /// 0 when nothing matched.
    pub last_page: u32,
    pub total_entries: u32,
    /// 1-based position of the first row; 0 for an empty page.
    pub first_entry: u32,
    /// 1-based position of the last row; 0 for an empty page.
    pub last_entry: u32,
}

impl<T> CatalogPage<T> {
    /// The page the vendor answers with "no rows" (HTTP 400 RECORD_NOT_FOUND).
    pub fn empty(page: PageRequest) -> Self {
        Self {
            rows: Vec::new(),
            page: page.page,
            page_size: page.page_size,
            last_page: 0,
            total_entries: 0,
            first_entry: 0,
            last_entry: 0,
        }
    }

    /// True when a later page exists.
    pub fn has_next_page(&self) -> bool {
        self.page < self.last_page
    }
}

/// Read access to the catalog. A listing that matches nothing is an empty
/// page (or list), not an error, whatever the vendor answered.
pub trait CatalogPort: Send + Sync + 'static {
    fn list_products(
        &self,
        ctx: CallContext,
        query: &ListProductsQuery,
    ) -> impl Future<Output = Result<CatalogPage<Product>, Error>> + Send;

    fn get_product(&self, ctx: CallContext, id: &ProductId) -> impl Future<Output = Result<Product, Error>> + Send;

    fn list_options(
        &self,
        ctx: CallContext,
        query: &ListOptionsQuery,
    ) -> impl Future<Output = Result<CatalogPage<ProductOption>, Error>> + Send;

    fn get_option(&self, ctx: CallContext, id: &OptionId) -> impl Future<Output = Result<ProductOption, Error>> + Send;

    /// Every coupon (the vendor pages nothing here).
    fn list_coupons(&self, ctx: CallContext) -> impl Future<Output = Result<Vec<Coupon>, Error>> + Send;

    fn get_coupon(&self, ctx: CallContext, code: &CouponCode) -> impl Future<Output = Result<Coupon, Error>> + Send;
}

/// Writes on the catalog. The 2Checkout client ignores `request_id`; the
/// idempotency decorator makes it mean "at most once".
pub trait CatalogWritePort: Send + Sync + 'static {
    fn write_catalog(
        &self,
        ctx: CallContext,
        request: &CatalogWriteRequest,
    ) -> impl Future<Output = Result<CatalogReceipt, Error>> + Send;
}

impl CatalogWrite {
    /// The entity the write changes, when it names one (creates name none
    /// until answered); the cache evicts it, and every listing of its kind.
    pub fn entity(&self) -> Option<CatalogEntity> {
        match self {
            Self::UpdateProduct { product_id, .. } | Self::DeleteProduct { product_id } => {
                Some(CatalogEntity::Product(product_id.clone()))
            }
            Self::UpdateOption { option_id, .. } | Self::DeleteOption { option_id } => {
                Some(CatalogEntity::Option(option_id.clone()))
            }
            Self::UpdateCoupon(update) => Some(CatalogEntity::Coupon(update.code.clone())),
            Self::DeleteCoupon { code } => Some(CatalogEntity::Coupon(code.clone())),
            Self::CreateProduct(_) | Self::CreateOption(_) | Self::CreateCoupon(_) => None,
        }
    }
}
