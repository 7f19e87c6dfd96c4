//! CatalogService requests into validated domain values (`TryFrom`), failing
//! with INVALID_ARGUMENT naming the proto field, before anything is sent.
//!
//! Creates treat an empty field as "not sent"; updates send exactly the
//! fields that are set (proto3 `optional` presence), so a set field must hold
//! a value: an empty one is refused rather than read as "leave alone", which
//! the caller says by not setting it.

use std::str::FromStr;

use chrono::NaiveDate;

use super::super::{amount, optional_text, page_request, period, proto, required_text};
use crate::domain::{
    self, Amount, CatalogWrite, CatalogWriteRequest, CommissionType, CouponCode, CouponProducts, CouponType,
    CouponUpdate, Discount, Error, InvalidValue, ListOptionsQuery, ListProductsQuery, MAX_LONG_DESCRIPTION_CHARS,
    MAX_OPTION_TEXT_CHARS, MAX_PRODUCT_TEXT_CHARS, NewCoupon, NewOption, NewProduct, OptionSortColumn, PageRequest,
    ProductFields, ProductId, ProductSortColumn, RequestId, Sign, SortDirection, Text, TextRules,
};

/// A product's name, short description, seller's id or URL: one line.
const PRODUCT_TEXT: TextRules = TextRules::line(MAX_PRODUCT_TEXT_CHARS);
/// A long description may span lines.
const LONG_DESCRIPTION: TextRules =
    TextRules { max_chars: MAX_LONG_DESCRIPTION_CHARS, forbid_angle_brackets: false, line_breaks: true };
/// An option's or option value's name.
const OPTION_TEXT: TextRules = TextRules::line(MAX_OPTION_TEXT_CHARS);
/// A free-text filter: one line, at most 255 characters, like the sales filters.
const FILTER: TextRules = TextRules::line(255);

fn id<T: FromStr<Err = InvalidValue>>(field: &str, raw: &str) -> Result<T, Error> {
    if raw.is_empty() {
        return Err(Error::invalid_field(field, "is required"));
    }
    raw.parse().map_err(|e| Error::invalid_field(field, e))
}

/// Repeated ids; `field` is the repeated field's path, each id is named by its index.
fn ids<T: FromStr<Err = InvalidValue>>(field: &str, raw: &[String]) -> Result<Vec<T>, Error> {
    raw.iter().enumerate().map(|(i, raw)| id(&format!("{field}[{i}]"), raw)).collect()
}

fn request_id(raw: &str) -> Result<RequestId, Error> {
    raw.parse().map_err(|e| Error::invalid_field("request_id", e))
}

fn coupon_code(field: &str, raw: &str) -> Result<CouponCode, Error> {
    if raw.is_empty() {
        return Err(Error::invalid_field(field, "is required"));
    }
    raw.parse().map_err(|e| Error::invalid_field(field, e))
}

/// A calendar date written `YYYY-MM-DD`, and a real one (no 2025-02-30).
fn date(field: &str, raw: &str) -> Result<NaiveDate, Error> {
    let shaped = raw.len() == 10 && raw.bytes().enumerate().all(|(i, b)| (i == 4 || i == 7) == (b == b'-'));
    let parsed = shaped.then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()).flatten();
    parsed.ok_or_else(|| Error::invalid_field(field, "must be a real date written YYYY-MM-DD, like 2030-12-31"))
}

/// An optional amount (empty: not sent).
fn optional_amount(field: &str, raw: &str, sign: Sign) -> Result<Option<Amount>, Error> {
    if raw.is_empty() { Ok(None) } else { amount(field, raw, sign).map(Some) }
}

const SET_BUT_EMPTY: &str = "must not be empty when set (leave it unset to keep the current value)";

/// An update's text field: unset is "leave alone", set must be a value.
fn set_text(field: &str, raw: Option<&String>, rules: TextRules) -> Result<Option<Text>, Error> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.is_empty() => Err(Error::invalid_field(field, SET_BUT_EMPTY)),
        Some(raw) => required_text(field, raw, rules).map(Some),
    }
}

/// An update's amount field: unset is "leave alone".
fn set_amount(field: &str, raw: Option<&String>, sign: Sign) -> Result<Option<Amount>, Error> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.is_empty() => Err(Error::invalid_field(field, SET_BUT_EMPTY)),
        Some(raw) => amount(field, raw, sign).map(Some),
    }
}

/// A recurrence or duration as domain text.
fn period_text(field: &str, raw: &str, forever: bool) -> Result<Text, Error> {
    let value = period(field, raw, forever)?;
    required_text(field, &value, PRODUCT_TEXT)
}

fn optional_period(field: &str, raw: &str, forever: bool) -> Result<Option<Text>, Error> {
    if raw.is_empty() { Ok(None) } else { period_text(field, raw, forever).map(Some) }
}

fn set_period(field: &str, raw: Option<&String>, forever: bool) -> Result<Option<Text>, Error> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.is_empty() => Err(Error::invalid_field(field, SET_BUT_EMPTY)),
        Some(raw) => period_text(field, raw, forever).map(Some),
    }
}

fn commission_type(raw: i32) -> Result<Option<CommissionType>, Error> {
    use proto::CommissionType as P;
    let field = "commission_type";
    Ok(match P::try_from(raw).map_err(|_| Error::invalid_field(field, format!("{raw} is not a CommissionType")))? {
        P::Unspecified => None,
        P::Amount => Some(CommissionType::Amount),
        P::Percentage => Some(CommissionType::Percentage),
    })
}

fn sort_direction(raw: i32) -> Result<Option<SortDirection>, Error> {
    use proto::SortDirection as P;
    let field = "sort_direction";
    Ok(match P::try_from(raw).map_err(|_| Error::invalid_field(field, format!("{raw} is not a SortDirection")))? {
        P::Unspecified => None,
        P::Ascending => Some(SortDirection::Ascending),
        P::Descending => Some(SortDirection::Descending),
    })
}

/// A filter's text: empty is no filter; whitespace alone would filter on
/// nothing visible, so it is refused.
fn filter_text(name: &str, raw: &str) -> Result<Option<String>, Error> {
    if raw.is_empty() {
        return Ok(None);
    }
    let field = format!("filter.{name}");
    match optional_text(&field, raw, FILTER)? {
        Some(text) => Ok(Some(text.into_string())),
        None => Err(Error::invalid_field(field, "must not be only whitespace")),
    }
}

impl TryFrom<&proto::ListProductsRequest> for ListProductsQuery {
    type Error = Error;

    fn try_from(r: &proto::ListProductsRequest) -> Result<Self, Error> {
        use proto::ProductSortColumn as P;
        let filter = r.filter.clone().unwrap_or_default();
        let assigned_product_id = match filter.assigned_product_id.as_str() {
            "" => None,
            raw => Some(id::<ProductId>("filter.assigned_product_id", raw)?.to_string()),
        };
        let raw = r.sort_column;
        let sort_column = match P::try_from(raw)
            .map_err(|_| Error::invalid_field("sort_column", format!("{raw} is not a ProductSortColumn")))?
        {
            P::Unspecified => None,
            P::ProductId => Some(ProductSortColumn::ProductId),
            P::Name => Some(ProductSortColumn::Name),
            P::Description => Some(ProductSortColumn::Description),
            P::Price => Some(ProductSortColumn::Price),
            P::VendorProductId => Some(ProductSortColumn::VendorProductId),
            P::AssignedProductId => Some(ProductSortColumn::AssignedProductId),
            P::Tangible => Some(ProductSortColumn::Tangible),
            P::Weight => Some(ProductSortColumn::Weight),
            P::Handling => Some(ProductSortColumn::Handling),
            P::Recurrence => Some(ProductSortColumn::Recurrence),
            P::Duration => Some(ProductSortColumn::Duration),
            P::StartupFee => Some(ProductSortColumn::StartupFee),
            P::CommissionAmount => Some(ProductSortColumn::CommissionAmount),
        };
        Ok(Self {
            assigned_product_id,
            vendor_product_id: filter_text("vendor_product_id", &filter.vendor_product_id)?,
            name: filter_text("name", &filter.name)?,
            page: page_request(r.page, r.page_size, PageRequest::DEFAULT_PAGE_SIZE)?,
            sort_column,
            sort_direction: sort_direction(r.sort_direction)?,
        })
    }
}

impl TryFrom<&proto::ListOptionsRequest> for ListOptionsQuery {
    type Error = Error;

    fn try_from(r: &proto::ListOptionsRequest) -> Result<Self, Error> {
        use proto::OptionSortColumn as P;
        let filter = r.filter.clone().unwrap_or_default();
        let raw = r.sort_column;
        let sort_column = match P::try_from(raw)
            .map_err(|_| Error::invalid_field("sort_column", format!("{raw} is not an OptionSortColumn")))?
        {
            P::Unspecified => None,
            P::OptionId => Some(OptionSortColumn::OptionId),
            P::OptionName => Some(OptionSortColumn::OptionName),
        };
        Ok(Self {
            option_name: filter_text("option_name", &filter.option_name)?,
            option_value_name: filter_text("option_value_name", &filter.option_value_name)?,
            page: page_request(r.page, r.page_size, PageRequest::DEFAULT_PAGE_SIZE)?,
            sort_column,
            sort_direction: sort_direction(r.sort_direction)?,
        })
    }
}

/// The product a GetProduct asks for.
pub fn product_id(r: &proto::GetProductRequest) -> Result<ProductId, Error> {
    id("product_id", &r.product_id)
}

/// The option a GetOption asks for.
pub fn option_id(r: &proto::GetOptionRequest) -> Result<domain::OptionId, Error> {
    id("option_id", &r.option_id)
}

/// The coupon a GetCoupon asks for.
pub fn get_coupon_code(r: &proto::GetCouponRequest) -> Result<CouponCode, Error> {
    coupon_code("coupon_code", &r.coupon_code)
}

/// The page a ListCoupons asks for.
pub fn coupons_page(r: &proto::ListCouponsRequest) -> Result<PageRequest, Error> {
    page_request(r.page, r.page_size, PageRequest::DEFAULT_PAGE_SIZE)
}

impl TryFrom<&proto::CreateProductRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::CreateProductRequest) -> Result<Self, Error> {
        let request_id = request_id(&r.request_id)?;
        let fields = ProductFields {
            name: Some(required_text("name", &r.name, PRODUCT_TEXT)?),
            price: Some(amount("price", &r.price, Sign::NotNegative)?),
            vendor_product_id: optional_text("vendor_product_id", &r.vendor_product_id, PRODUCT_TEXT)?,
            description: optional_text("description", &r.description, PRODUCT_TEXT)?,
            long_description: optional_text("long_description", &r.long_description, LONG_DESCRIPTION)?,
            pending_url: optional_text("pending_url", &r.pending_url, PRODUCT_TEXT)?,
            approved_url: optional_text("approved_url", &r.approved_url, PRODUCT_TEXT)?,
            tangible: r.tangible,
            weight: optional_amount("weight", &r.weight, Sign::NotNegative)?,
            handling: optional_amount("handling", &r.handling, Sign::NotNegative)?,
            recurring: r.recurring,
            startup_fee: optional_amount("startup_fee", &r.startup_fee, Sign::Any)?,
            recurrence: optional_period("recurrence", &r.recurrence, false)?,
            duration: optional_period("duration", &r.duration, true)?,
            commission: r.commission,
            commission_type: commission_type(r.commission_type)?,
            commission_amount: optional_amount("commission_amount", &r.commission_amount, Sign::NotNegative)?,
            // Nothing listed sends nothing: a new product has no options or categories anyway.
            option_ids: Some(ids("option_ids", &r.option_ids)?).filter(|ids: &Vec<_>| !ids.is_empty()),
            category_ids: Some(ids("category_ids", &r.category_ids)?).filter(|ids: &Vec<_>| !ids.is_empty()),
        };
        // Name and price were just checked; the constructor's own check names the same fields.
        let product = NewProduct::new(fields).map_err(|field| Error::invalid_field(field, "is required"))?;
        Ok(Self { request_id, write: CatalogWrite::CreateProduct(product) })
    }
}

/// An update's id list: not set leaves them alone, set (even empty) replaces them.
fn id_list<T: FromStr<Err = InvalidValue>>(field: &str, list: &Option<proto::IdList>) -> Result<Option<Vec<T>>, Error> {
    match list {
        None => Ok(None),
        Some(list) => ids(&format!("{field}.ids"), &list.ids).map(Some),
    }
}

impl TryFrom<&proto::UpdateProductRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::UpdateProductRequest) -> Result<Self, Error> {
        let request_id = request_id(&r.request_id)?;
        let product_id = id("product_id", &r.product_id)?;
        let fields = ProductFields {
            name: set_text("name", r.name.as_ref(), PRODUCT_TEXT)?,
            price: set_amount("price", r.price.as_ref(), Sign::NotNegative)?,
            vendor_product_id: set_text("vendor_product_id", r.vendor_product_id.as_ref(), PRODUCT_TEXT)?,
            description: set_text("description", r.description.as_ref(), PRODUCT_TEXT)?,
            long_description: set_text("long_description", r.long_description.as_ref(), LONG_DESCRIPTION)?,
            pending_url: set_text("pending_url", r.pending_url.as_ref(), PRODUCT_TEXT)?,
            approved_url: set_text("approved_url", r.approved_url.as_ref(), PRODUCT_TEXT)?,
            tangible: r.tangible,
            weight: set_amount("weight", r.weight.as_ref(), Sign::NotNegative)?,
            handling: set_amount("handling", r.handling.as_ref(), Sign::NotNegative)?,
            recurring: r.recurring,
            startup_fee: set_amount("startup_fee", r.startup_fee.as_ref(), Sign::Any)?,
            recurrence: set_period("recurrence", r.recurrence.as_ref(), false)?,
            duration: set_period("duration", r.duration.as_ref(), true)?,
            commission: r.commission,
            commission_type: commission_type(r.commission_type)?,
            commission_amount: set_amount("commission_amount", r.commission_amount.as_ref(), Sign::NotNegative)?,
            option_ids: id_list("option_ids", &r.option_ids)?,
            category_ids: id_list("category_ids", &r.category_ids)?,
        };
        Ok(Self { request_id, write: CatalogWrite::UpdateProduct { product_id, fields } })
    }
}

impl TryFrom<&proto::DeleteProductRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::DeleteProductRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: CatalogWrite::DeleteProduct { product_id: id("product_id", &r.product_id)? },
        })
    }
}

fn option_value(field: &str, value: &proto::NewOptionValue) -> Result<domain::NewOptionValue, Error> {
    Ok(domain::NewOptionValue {
        name: required_text(&format!("{field}.name"), &value.name, OPTION_TEXT)?,
        surcharge: amount(&format!("{field}.surcharge"), &value.surcharge, Sign::NotNegative)?,
    })
}

impl TryFrom<&proto::CreateOptionRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::CreateOptionRequest) -> Result<Self, Error> {
        let request_id = request_id(&r.request_id)?;
        let name = required_text("name", &r.name, OPTION_TEXT)?;
        if r.values.is_empty() {
            return Err(Error::invalid_field("values", "must hold at least one value"));
        }
        let values = r
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| option_value(&format!("values[{i}]"), v))
            .collect::<Result<_, _>>()?;
        Ok(Self { request_id, write: CatalogWrite::CreateOption(NewOption { name, values }) })
    }
}

impl TryFrom<&proto::UpdateOptionRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::UpdateOptionRequest) -> Result<Self, Error> {
        use proto::update_option_request::ValueChange;
        let request_id = request_id(&r.request_id)?;
        let option_id = id("option_id", &r.option_id)?;
        let name = required_text("name", &r.name, OPTION_TEXT)?;
        let change = match &r.value_change {
            None => None,
            Some(ValueChange::AddValue(value)) => {
                Some(domain::OptionValueChange::Add(option_value("add_value", value)?))
            }
            Some(ValueChange::ChangeValue(change)) => Some(domain::OptionValueChange::Change {
                value_id: id("change_value.option_value_id", &change.option_value_id)?,
                name: required_text("change_value.name", &change.name, OPTION_TEXT)?,
                surcharge: amount("change_value.surcharge", &change.surcharge, Sign::NotNegative)?,
            }),
        };
        Ok(Self { request_id, write: CatalogWrite::UpdateOption { option_id, name, change } })
    }
}

impl TryFrom<&proto::DeleteOptionRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::DeleteOptionRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: CatalogWrite::DeleteOption { option_id: id("option_id", &r.option_id)? },
        })
    }
}

/// A coupon type a write may set: `None` for UNSPECIFIED.
fn coupon_type(raw: i32) -> Result<Option<CouponType>, Error> {
    use proto::CouponType as P;
    Ok(match P::try_from(raw).map_err(|_| Error::invalid_field("type", format!("{raw} is not a CouponType")))? {
        P::Unspecified => None,
        P::Sale => Some(CouponType::Sale),
        P::Product => Some(CouponType::Product),
        P::Shipping => Some(CouponType::Shipping),
    })
}

/// The two discount forms, from either request's oneof.
enum RawDiscount<'a> {
    Percentage(i32),
    Value(&'a str),
}

fn discount(raw: Option<RawDiscount<'_>>) -> Result<Option<Discount>, Error> {
    match raw {
        None => Ok(None),
        Some(RawDiscount::Percentage(percent)) => match u8::try_from(percent) {
            Ok(percent @ 1..=100) => Ok(Some(Discount::PercentageOff(percent))),
            _ => Err(Error::invalid_field("percentage_off", "must be a whole percent from 1 to 100")),
        },
        Some(RawDiscount::Value(value)) => Ok(Some(Discount::ValueOff(amount("value_off", value, Sign::Positive)?))),
    }
}

/// Which products a coupon applies to: listed ids or `select_all`, never both.
fn coupon_products(product_ids: &[String], select_all: Option<bool>) -> Result<Option<CouponProducts>, Error> {
    match (product_ids.is_empty(), select_all) {
        (true, None) => Ok(None),
        (true, Some(true)) => Ok(Some(CouponProducts::All)),
        (true, Some(false)) => Ok(Some(CouponProducts::None)),
        (false, None) => Ok(Some(CouponProducts::Listed(ids("product_ids", product_ids)?))),
        (false, Some(_)) => Err(Error::invalid_field("select_all", "must not be set together with product_ids")),
    }
}

/// A discount and a product list only make sense for some types (when the type is known).
fn check_coupon_shape(
    coupon_type: Option<&CouponType>,
    discount: Option<&Discount>,
    products: Option<&CouponProducts>,
) -> Result<(), Error> {
    if let (Some(CouponType::Shipping), Some(discount)) = (coupon_type, discount) {
        let field = match discount {
            Discount::PercentageOff(_) => "percentage_off",
            Discount::ValueOff(_) => "value_off",
        };
        return Err(Error::invalid_field(field, "only sale and product coupons take a discount"));
    }
    if let (Some(CouponType::Sale | CouponType::Shipping), Some(products)) = (coupon_type, products) {
        let field = match products {
            CouponProducts::Listed(_) => "product_ids",
            CouponProducts::All | CouponProducts::None => "select_all",
        };
        return Err(Error::invalid_field(field, "only product coupons apply to chosen products"));
    }
    Ok(())
}

impl TryFrom<&proto::CreateCouponRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::CreateCouponRequest) -> Result<Self, Error> {
        use proto::create_coupon_request::Discount as D;
        let request_id = request_id(&r.request_id)?;
        let code = if r.coupon_code.is_empty() { None } else { Some(coupon_code("coupon_code", &r.coupon_code)?) };
        let date_expire = date("date_expire", &r.date_expire)?;
        let coupon_type = coupon_type(r.r#type)?.ok_or_else(|| Error::invalid_field("type", "is required"))?;
        let discount = discount(r.discount.as_ref().map(|d| match d {
            D::PercentageOff(p) => RawDiscount::Percentage(*p),
            D::ValueOff(v) => RawDiscount::Value(v),
        }))?;
        let products = coupon_products(&r.product_ids, r.select_all)?;
        check_coupon_shape(Some(&coupon_type), discount.as_ref(), products.as_ref())?;
        let coupon = NewCoupon {
            code,
            date_expire,
            coupon_type,
            discount,
            minimum_purchase: optional_amount("minimum_purchase", &r.minimum_purchase, Sign::NotNegative)?,
            products,
        };
        Ok(Self { request_id, write: CatalogWrite::CreateCoupon(coupon) })
    }
}

impl TryFrom<&proto::UpdateCouponRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::UpdateCouponRequest) -> Result<Self, Error> {
        use proto::update_coupon_request::Discount as D;
        let request_id = request_id(&r.request_id)?;
        let code = coupon_code("coupon_code", &r.coupon_code)?;
        let new_code = r.new_code.as_deref().map(|raw| coupon_code("new_code", raw)).transpose()?;
        let date_expire = r.date_expire.as_deref().map(|raw| date("date_expire", raw)).transpose()?;
        let coupon_type = coupon_type(r.r#type)?;
        let discount = discount(r.discount.as_ref().map(|d| match d {
            D::PercentageOff(p) => RawDiscount::Percentage(*p),
            D::ValueOff(v) => RawDiscount::Value(v),
        }))?;
        let products = coupon_products(&r.product_ids, r.select_all)?;
        check_coupon_shape(coupon_type.as_ref(), discount.as_ref(), products.as_ref())?;
        let update = CouponUpdate {
            code,
            new_code,
            date_expire,
            coupon_type,
            discount,
            minimum_purchase: set_amount("minimum_purchase", r.minimum_purchase.as_ref(), Sign::NotNegative)?,
            products,
        };
        Ok(Self { request_id, write: CatalogWrite::UpdateCoupon(update) })
    }
}

impl TryFrom<&proto::DeleteCouponRequest> for CatalogWriteRequest {
    type Error = Error;

    fn try_from(r: &proto::DeleteCouponRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: CatalogWrite::DeleteCoupon { code: coupon_code("coupon_code", &r.coupon_code)? },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST_ID: &str = "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10";

    fn field_of<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
        match result {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    fn create_product(f: impl FnOnce(&mut proto::CreateProductRequest)) -> Result<CatalogWriteRequest, Error> {
        let mut r = proto::CreateProductRequest {
            request_id: REQUEST_ID.into(),
            name: "Example Product".into(),
            price: "1.00".into(),
            ..Default::default()
        };
        f(&mut r);
        CatalogWriteRequest::try_from(&r)
    }

    #[test]
    fn a_product_with_a_name_and_a_price_is_created_with_nothing_else_sent() {
        let request = create_product(|_| {}).unwrap();
        let CatalogWrite::CreateProduct(product) = request.write else { panic!("{request:?}") };
        let fields = product.fields();
        assert_eq!(fields.name.as_ref().map(Text::as_str), Some("Example Product"));
        assert_eq!(fields.price, Some(Amount::from_minor_units(100)));
        assert_eq!((fields.tangible, fields.option_ids.as_ref(), fields.category_ids.as_ref()), (None, None, None));
        assert_eq!(request.request_id.as_str(), REQUEST_ID);
    }

    #[test]
    fn a_full_product_keeps_every_field() {
        let request = create_product(|r| {
            r.tangible = Some(true);
            r.weight = "1.50".into();
            r.handling = "1.00".into();
            r.recurring = Some(true);
            r.recurrence = "1 Month".into();
            r.duration = "Forever".into();
            r.startup_fee = "-0.50".into();
            r.commission_type = proto::CommissionType::Percentage.into();
            r.option_ids = vec!["4688550010".into()];
            r.category_ids = vec!["21".into()];
            r.long_description = "Line one.\nLine two.".into();
        })
        .unwrap();
        let CatalogWrite::CreateProduct(product) = request.write else { panic!() };
        let f = product.fields();
        assert_eq!(f.startup_fee, Some(Amount::from_minor_units(-50)));
        assert_eq!(f.duration.as_ref().map(Text::as_str), Some("Forever"));
        assert_eq!(f.commission_type, Some(CommissionType::Percentage));
        assert_eq!(f.option_ids.as_ref().map(Vec::len), Some(1));
        assert_eq!(f.category_ids.as_ref().map(|ids| ids[0].to_string()), Some("21".to_owned()));
    }

    #[test]
    fn each_invalid_product_field_is_named() {
        assert_eq!(field_of(create_product(|r| r.request_id = "nope".into())), "request_id");
        assert_eq!(field_of(create_product(|r| r.request_id = String::new())), "request_id");
        assert_eq!(field_of(create_product(|r| r.name = String::new())), "name");
        assert_eq!(field_of(create_product(|r| r.name = "x".repeat(256))), "name");
        assert_eq!(field_of(create_product(|r| r.name = "a\nb".into())), "name");
        assert_eq!(field_of(create_product(|r| r.price = String::new())), "price");
        assert_eq!(field_of(create_product(|r| r.price = "-1.00".into())), "price");
        assert_eq!(field_of(create_product(|r| r.price = "1.001".into())), "price");
        assert_eq!(field_of(create_product(|r| r.price = "100000000.00".into())), "price");
        assert_eq!(field_of(create_product(|r| r.weight = "-0.01".into())), "weight");
        assert_eq!(field_of(create_product(|r| r.handling = "abc".into())), "handling");
        assert_eq!(field_of(create_product(|r| r.startup_fee = "1e2".into())), "startup_fee");
        assert_eq!(field_of(create_product(|r| r.commission_amount = "-1".into())), "commission_amount");
        assert_eq!(field_of(create_product(|r| r.recurrence = "Forever".into())), "recurrence");
        assert_eq!(field_of(create_product(|r| r.recurrence = "monthly".into())), "recurrence");
        assert_eq!(field_of(create_product(|r| r.duration = "2 Decades".into())), "duration");
        assert_eq!(field_of(create_product(|r| r.commission_type = 7)), "commission_type");
        assert_eq!(field_of(create_product(|r| r.long_description = "x".repeat(5001))), "long_description");
        assert_eq!(field_of(create_product(|r| r.description = "\u{200B}".into())), "description");
        assert_eq!(field_of(create_product(|r| r.option_ids = vec!["1".into(), "x".into()])), "option_ids[1]");
        assert_eq!(field_of(create_product(|r| r.category_ids = vec!["0".into()])), "category_ids[0]");
        assert!(create_product(|r| r.price = "0.00".into()).is_ok(), "a free product");
        assert!(create_product(|r| r.long_description = "x".repeat(5000)).is_ok());
    }

    fn update_product(f: impl FnOnce(&mut proto::UpdateProductRequest)) -> Result<CatalogWriteRequest, Error> {
        let mut r = proto::UpdateProductRequest {
            request_id: REQUEST_ID.into(),
            product_id: "4635212971".into(),
            ..Default::default()
        };
        f(&mut r);
        CatalogWriteRequest::try_from(&r)
    }

    fn update_fields(request: CatalogWriteRequest) -> ProductFields {
        match request.write {
            CatalogWrite::UpdateProduct { fields, .. } => fields,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_update_sends_only_the_fields_that_are_set() {
        let fields = update_fields(update_product(|r| r.price = Some("2.00".into())).unwrap());
        assert_eq!(fields, ProductFields { price: Some(Amount::from_minor_units(200)), ..Default::default() });
        assert_eq!(update_fields(update_product(|_| {}).unwrap()), ProductFields::default());
    }

    #[test]
    fn an_id_list_left_unset_is_left_alone_and_an_empty_one_clears() {
        assert_eq!(update_fields(update_product(|_| {}).unwrap()).option_ids, None);
        let cleared = update_fields(update_product(|r| r.option_ids = Some(proto::IdList::default())).unwrap());
        assert_eq!(cleared.option_ids, Some(vec![]));
        let set = update_fields(
            update_product(|r| r.category_ids = Some(proto::IdList { ids: vec!["21".into(), "22".into()] })).unwrap(),
        );
        assert_eq!(set.category_ids.map(|ids| ids.len()), Some(2));
    }

    #[test]
    fn a_set_but_empty_update_field_is_refused_not_read_as_leave_alone() {
        assert_eq!(field_of(update_product(|r| r.name = Some(String::new()))), "name");
        assert_eq!(field_of(update_product(|r| r.price = Some(String::new()))), "price");
        assert_eq!(field_of(update_product(|r| r.duration = Some(String::new()))), "duration");
        assert_eq!(field_of(update_product(|r| r.product_id = String::new())), "product_id");
        assert_eq!(field_of(update_product(|r| r.product_id = "01".into())), "product_id");
        assert_eq!(
            field_of(update_product(|r| r.option_ids = Some(proto::IdList { ids: vec!["x".into()] }))),
            "option_ids.ids[0]"
        );
    }

    fn create_option(f: impl FnOnce(&mut proto::CreateOptionRequest)) -> Result<CatalogWriteRequest, Error> {
        let mut r = proto::CreateOptionRequest {
            request_id: REQUEST_ID.into(),
            name: "Volume".into(),
            values: vec![proto::NewOptionValue { name: "Low".into(), surcharge: "1.00".into() }],
        };
        f(&mut r);
        CatalogWriteRequest::try_from(&r)
    }

    #[test]
    fn each_invalid_option_field_is_named() {
        assert!(create_option(|_| {}).is_ok());
        assert_eq!(field_of(create_option(|r| r.values.clear())), "values");
        assert_eq!(field_of(create_option(|r| r.name = " ".into())), "name");
        assert_eq!(
            field_of(create_option(|r| r
                .values
                .push(proto::NewOptionValue { name: "High".into(), surcharge: "-1".into() }))),
            "values[1].surcharge"
        );
        assert_eq!(field_of(create_option(|r| r.values[0].name = String::new())), "values[0].name");
        let update = |change| {
            CatalogWriteRequest::try_from(&proto::UpdateOptionRequest {
                request_id: REQUEST_ID.into(),
                option_id: "4688550010".into(),
                name: "Volume".into(),
                value_change: change,
            })
        };
        use proto::update_option_request::ValueChange;
        assert!(matches!(update(None).unwrap().write, CatalogWrite::UpdateOption { change: None, .. }));
        let change = |id: &str, surcharge: &str| {
            Some(ValueChange::ChangeValue(proto::OptionValueChange {
                option_value_id: id.into(),
                name: "Loud".into(),
                surcharge: surcharge.into(),
            }))
        };
        assert!(matches!(
            update(change("4688550013", "2.00")).unwrap().write,
            CatalogWrite::UpdateOption { change: Some(domain::OptionValueChange::Change { .. }), .. }
        ));
        assert_eq!(field_of(update(change("", "2.00"))), "change_value.option_value_id");
        assert_eq!(field_of(update(change("1", "-2.00"))), "change_value.surcharge");
        let add = Some(ValueChange::AddValue(proto::NewOptionValue { name: String::new(), surcharge: "0.00".into() }));
        assert_eq!(field_of(update(add)), "add_value.name");
    }

    fn create_coupon(f: impl FnOnce(&mut proto::CreateCouponRequest)) -> Result<CatalogWriteRequest, Error> {
        let mut r = proto::CreateCouponRequest {
            request_id: REQUEST_ID.into(),
            date_expire: "2030-01-01".into(),
            r#type: proto::CouponType::Sale.into(),
            ..Default::default()
        };
        f(&mut r);
        CatalogWriteRequest::try_from(&r)
    }

    #[test]
    fn each_invalid_coupon_field_is_named() {
        use proto::create_coupon_request::Discount as D;
        assert!(create_coupon(|_| {}).is_ok());
        assert_eq!(field_of(create_coupon(|r| r.r#type = 0)), "type");
        assert_eq!(field_of(create_coupon(|r| r.r#type = 9)), "type");
        for bad in ["", "2030-02-30", "2030-1-01", "01/01/2030", "2030-01-01T00:00:00", "+2030-01-01"] {
            assert_eq!(field_of(create_coupon(|r| r.date_expire = bad.into())), "date_expire", "{bad}");
        }
        assert_eq!(field_of(create_coupon(|r| r.coupon_code = "SAVE JUNE".into())), "coupon_code");
        assert_eq!(field_of(create_coupon(|r| r.coupon_code = "X".repeat(65))), "coupon_code");
        for bad in [0, 101, -5] {
            assert_eq!(field_of(create_coupon(|r| r.discount = Some(D::PercentageOff(bad)))), "percentage_off");
        }
        assert_eq!(field_of(create_coupon(|r| r.discount = Some(D::ValueOff("0.00".into())))), "value_off");
        assert_eq!(field_of(create_coupon(|r| r.minimum_purchase = "-1.00".into())), "minimum_purchase");
        assert_eq!(
            field_of(create_coupon(|r| {
                r.r#type = proto::CouponType::Shipping.into();
                r.discount = Some(D::PercentageOff(5));
            })),
            "percentage_off"
        );
        assert_eq!(field_of(create_coupon(|r| r.product_ids = vec!["1".into()])), "product_ids");
        assert_eq!(
            field_of(create_coupon(|r| {
                r.r#type = proto::CouponType::Product.into();
                r.product_ids = vec!["1".into()];
                r.select_all = Some(true);
            })),
            "select_all"
        );
        assert_eq!(
            field_of(create_coupon(|r| {
                r.r#type = proto::CouponType::Product.into();
                r.product_ids = vec!["abc".into()];
            })),
            "product_ids[0]"
        );
    }

    #[test]
    fn a_coupon_without_a_code_lets_the_vendor_generate_one() {
        use proto::create_coupon_request::Discount as D;
        let request = create_coupon(|r| {
            r.r#type = proto::CouponType::Product.into();
            r.discount = Some(D::PercentageOff(100));
            r.select_all = Some(false);
        })
        .unwrap();
        let CatalogWrite::CreateCoupon(coupon) = request.write else { panic!() };
        assert_eq!(coupon.code, None);
        assert_eq!(coupon.discount, Some(Discount::PercentageOff(100)));
        assert_eq!(coupon.products, Some(CouponProducts::None));
        assert_eq!(coupon.date_expire, NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
    }

    #[test]
    fn a_coupon_update_sends_only_what_is_set() {
        let update = |f: fn(&mut proto::UpdateCouponRequest)| {
            let mut r = proto::UpdateCouponRequest {
                request_id: REQUEST_ID.into(),
                coupon_code: "SAVEJUNE".into(),
                ..Default::default()
            };
            f(&mut r);
            CatalogWriteRequest::try_from(&r)
        };
        let CatalogWrite::UpdateCoupon(only_date) =
            update(|r| r.date_expire = Some("2020-01-02".into())).unwrap().write
        else {
            panic!()
        };
        assert_eq!((only_date.coupon_type, only_date.discount, only_date.products), (None, None, None));
        assert_eq!(field_of(update(|r| r.coupon_code = String::new())), "coupon_code");
        assert_eq!(field_of(update(|r| r.new_code = Some(String::new()))), "new_code");
        assert_eq!(field_of(update(|r| r.date_expire = Some("2020-13-01".into()))), "date_expire");
        assert_eq!(field_of(update(|r| r.minimum_purchase = Some(String::new()))), "minimum_purchase");
    }

    #[test]
    fn listing_filters_and_pages_are_checked() {
        let list = |f: fn(&mut proto::ListProductsRequest)| {
            let mut r = proto::ListProductsRequest::default();
            f(&mut r);
            ListProductsQuery::try_from(&r)
        };
        let defaults = list(|_| {}).unwrap();
        assert_eq!(defaults.page, PageRequest { page: 1, page_size: 20 });
        assert_eq!(field_of(list(|r| r.page_size = 101)), "page_size");
        assert_eq!(field_of(list(|r| r.page = -1)), "page");
        assert_eq!(field_of(list(|r| r.sort_column = 99)), "sort_column");
        assert_eq!(field_of(list(|r| r.sort_direction = 3)), "sort_direction");
        let filtered = |f: fn(&mut proto::ProductsFilter)| {
            list_with(|r| {
                let mut filter = proto::ProductsFilter::default();
                f(&mut filter);
                r.filter = Some(filter);
            })
        };
        fn list_with(f: impl FnOnce(&mut proto::ListProductsRequest)) -> Result<ListProductsQuery, Error> {
            let mut r = proto::ListProductsRequest::default();
            f(&mut r);
            ListProductsQuery::try_from(&r)
        }
        assert_eq!(field_of(filtered(|f| f.assigned_product_id = "x1".into())), "filter.assigned_product_id");
        assert_eq!(field_of(filtered(|f| f.name = "  ".into())), "filter.name");
        assert_eq!(field_of(filtered(|f| f.vendor_product_id = "a\tb".into())), "filter.vendor_product_id");
        let named = filtered(|f| f.name = "Example Product".into()).unwrap();
        assert_eq!(named.name.as_deref(), Some("Example Product"));
        let options = ListOptionsQuery::try_from(&proto::ListOptionsRequest {
            filter: Some(proto::OptionsFilter { option_name: "x".repeat(256), ..Default::default() }),
            ..Default::default()
        });
        assert_eq!(field_of(options), "filter.option_name");
    }

    #[test]
    fn reads_name_their_id_field() {
        assert_eq!(field_of(product_id(&proto::GetProductRequest::default())), "product_id");
        assert_eq!(field_of(option_id(&proto::GetOptionRequest { option_id: "-4".into(), fresh: false })), "option_id");
        let code = |c: &str| get_coupon_code(&proto::GetCouponRequest { coupon_code: c.into(), fresh: false });
        assert_eq!(field_of(code("")), "coupon_code");
        assert_eq!(field_of(code("Ü")), "coupon_code");
        assert_eq!(code("7G2NCGX").unwrap().as_str(), "7G2NCGX");
    }
}
