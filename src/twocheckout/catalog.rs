//! The catalog calls of the Admin API (`products/*`): [`AdminApiClient`] as
//! the domain's [`CatalogPort`] and [`CatalogWritePort`].
//!
//! Every call goes through [`AdminApiClient::call`], so the rules of
//! `admin.rs` hold here unchanged: reads are GETs with a query and writes form
//! POSTs that are never retried; redirects are refused; an `errors` element is
//! an error whatever the status; a write succeeds only on `response_code` OK
//! (`interpret_write`), anything else is OUTCOME_UNKNOWN; both formats are
//! decoded straight into the wire types of `catalog_wire.rs` within the same
//! limits; and an undecodable answer is UPSTREAM_RESPONSE_INVALID naming the
//! path of the bad value, never quoting the body.
//!
//! What is particular to the catalog:
//! - multi-valued inputs go as the same form key repeated (`option_id`,
//!   `category_id`, a coupon's `product_id`, an option's `option_value_name` /
//!   `option_value_surcharge` pairs), flags as `1`/`0`, money as its decimal
//!   string, dates as `YYYY-MM-DD`; an empty list sends nothing (the form
//!   cannot say "none" with a repeated key);
//! - list_products, list_options and list_coupons answer "nothing" with HTTP
//!   400 RECORD_NOT_FOUND: that is an empty page (list), as for list_sales;
//! - detail_option answers `option` as an array of one: element 0 is the
//!   option. An OK answer with an empty (or no) `option` is neither the
//!   option nor the vendor's refusal (an unknown option is refused with an
//!   `errors` element, RECORD_NOT_FOUND or FORBIDDEN): it is an answer of a
//!   shape the gateway does not know, UPSTREAM_RESPONSE_INVALID, rather than a
//!   NOT_FOUND the vendor never said. The same holds for detail_product
//!   without `product` and detail_coupon without `coupon`;
//! - a confirmed write whose answer lacks the id it creates (`product_id`,
//!   `option_id`, `coupon_code`), or carries one that is not an id, was
//!   probably done, but what it made is unknown: OUTCOME_UNKNOWN, which the
//!   idempotency decorator reconciles by looking for it.

use reqwest::StatusCode;

use super::{
    admin::{AdminApiClient, CallKind, interpret, interpret_write},
    catalog_wire::{
        CatalogWriteBody, CouponsBody, DetailOptionBody, DetailProductBody, ListOptionsBody, ListProductsBody,
    },
    wire::BadValue,
};
use crate::domain::{
    AdminCode, CallContext, CatalogPage, CatalogPort, CatalogReceipt, CatalogWrite, CatalogWritePort,
    CatalogWriteRequest, Coupon, CouponCode, CouponProducts, Discount, Error, ListOptionsQuery, ListProductsQuery,
    OptionId, OptionValueChange, PageRequest, Product, ProductFields, ProductId, ProductOption, SortDirection,
};

const LIST_PRODUCTS: &str = "products/list_products";
const DETAIL_PRODUCT: &str = "products/detail_product";
const LIST_OPTIONS: &str = "products/list_options";
const DETAIL_OPTION: &str = "products/detail_option";
const LIST_COUPONS: &str = "products/list_coupons";
const DETAIL_COUPON: &str = "products/detail_coupon";

impl CatalogPort for AdminApiClient {
    async fn list_products(&self, ctx: CallContext, query: &ListProductsQuery) -> Result<CatalogPage<Product>, Error> {
        let params = list_products_params(query);
        self.call(ctx, CallKind::Read, LIST_PRODUCTS, &params, |status, content_type, body| {
            decode_list_products(status, content_type, body, query.page)
        })
        .await
    }

    async fn get_product(&self, ctx: CallContext, id: &ProductId) -> Result<Product, Error> {
        let params = [("product_id", id.to_string())];
        self.call(ctx, CallKind::Read, DETAIL_PRODUCT, &params, decode_detail_product).await
    }

    async fn list_options(
        &self,
        ctx: CallContext,
        query: &ListOptionsQuery,
    ) -> Result<CatalogPage<ProductOption>, Error> {
        let params = list_options_params(query);
        self.call(ctx, CallKind::Read, LIST_OPTIONS, &params, |status, content_type, body| {
            decode_list_options(status, content_type, body, query.page)
        })
        .await
    }

    async fn get_option(&self, ctx: CallContext, id: &OptionId) -> Result<ProductOption, Error> {
        let params = [("option_id", id.to_string())];
        self.call(ctx, CallKind::Read, DETAIL_OPTION, &params, decode_detail_option).await
    }

    async fn list_coupons(&self, ctx: CallContext) -> Result<Vec<Coupon>, Error> {
        self.call(ctx, CallKind::Read, LIST_COUPONS, &[], decode_list_coupons).await
    }

    async fn get_coupon(&self, ctx: CallContext, code: &CouponCode) -> Result<Coupon, Error> {
        let params = [("coupon_code", code.to_string())];
        self.call(ctx, CallKind::Read, DETAIL_COUPON, &params, decode_detail_coupon).await
    }
}

impl CatalogWritePort for AdminApiClient {
    async fn write_catalog(&self, ctx: CallContext, request: &CatalogWriteRequest) -> Result<CatalogReceipt, Error> {
        let (endpoint, params) = write_params(&request.write);
        self.call(ctx, CallKind::Write, endpoint, &params, |status, content_type, body| {
            decode_write(endpoint, &request.write, status, content_type, body)
        })
        .await
    }
}

/// The decoders the calls above hand to `call`, reachable from `untrusted.rs` (the fuzz
/// oracles and property tests) through the public client type, the one way out of this
/// private module: what is fuzzed is exactly what the calls run.
impl AdminApiClient {
    pub(crate) fn decode_list_products(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
        asked: PageRequest,
    ) -> Result<CatalogPage<Product>, Error> {
        decode_list_products(status, content_type, body, asked)
    }

    pub(crate) fn decode_detail_product(status: StatusCode, content_type: &str, body: &[u8]) -> Result<Product, Error> {
        decode_detail_product(status, content_type, body)
    }

    pub(crate) fn decode_list_options(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
        asked: PageRequest,
    ) -> Result<CatalogPage<ProductOption>, Error> {
        decode_list_options(status, content_type, body, asked)
    }

    pub(crate) fn decode_detail_option(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<ProductOption, Error> {
        decode_detail_option(status, content_type, body)
    }

    pub(crate) fn decode_list_coupons(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<Vec<Coupon>, Error> {
        decode_list_coupons(status, content_type, body)
    }

    pub(crate) fn decode_detail_coupon(status: StatusCode, content_type: &str, body: &[u8]) -> Result<Coupon, Error> {
        decode_detail_coupon(status, content_type, body)
    }

    /// The answer to `write`, read as `write_catalog` reads it (its endpoint included).
    pub(crate) fn decode_catalog_write(
        write: &CatalogWrite,
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<CatalogReceipt, Error> {
        let (endpoint, _) = write_params(write);
        decode_write(endpoint, write, status, content_type, body)
    }
}

/// A read's bad value: the answer is not what the gateway can serve.
pub(super) fn invalid(endpoint: &str, status: StatusCode, bad: BadValue) -> Error {
    Error::UpstreamResponseInvalid { detail: format!("{endpoint}: {bad}"), http_status: status.as_u16() }
}

/// An OK answer to a detail call without the record it is about (see the module docs).
pub(super) fn missing(endpoint: &str, status: StatusCode, what: &str) -> Error {
    Error::UpstreamResponseInvalid {
        detail: format!("{endpoint}: the answer has no {what}"),
        http_status: status.as_u16(),
    }
}

/// The vendor's "no rows": HTTP 400 RECORD_NOT_FOUND to a list call.
pub(super) fn is_no_rows(error: &Error) -> bool {
    matches!(error, Error::Vendor(v) if v.code == AdminCode::RecordNotFound)
}

fn decode_list_products(
    status: StatusCode,
    content_type: &str,
    body: &[u8],
    asked: PageRequest,
) -> Result<CatalogPage<Product>, Error> {
    match interpret::<ListProductsBody<'_>>(LIST_PRODUCTS, status, content_type, body) {
        Ok(answer) => answer.into_domain(asked).map_err(|e| invalid(LIST_PRODUCTS, status, e)),
        Err(e) if is_no_rows(&e) => Ok(CatalogPage::empty(asked)),
        Err(e) => Err(e),
    }
}

fn decode_detail_product(status: StatusCode, content_type: &str, body: &[u8]) -> Result<Product, Error> {
    let answer: DetailProductBody<'_> = interpret(DETAIL_PRODUCT, status, content_type, body)?;
    answer
        .into_domain()
        .map_err(|e| invalid(DETAIL_PRODUCT, status, e))?
        .ok_or_else(|| missing(DETAIL_PRODUCT, status, "product"))
}

fn decode_list_options(
    status: StatusCode,
    content_type: &str,
    body: &[u8],
    asked: PageRequest,
) -> Result<CatalogPage<ProductOption>, Error> {
    match interpret::<ListOptionsBody<'_>>(LIST_OPTIONS, status, content_type, body) {
        Ok(answer) => answer.into_domain(asked).map_err(|e| invalid(LIST_OPTIONS, status, e)),
        Err(e) if is_no_rows(&e) => Ok(CatalogPage::empty(asked)),
        Err(e) => Err(e),
    }
}

fn decode_detail_option(status: StatusCode, content_type: &str, body: &[u8]) -> Result<ProductOption, Error> {
    let answer: DetailOptionBody<'_> = interpret(DETAIL_OPTION, status, content_type, body)?;
    answer
        .into_domain()
        .map_err(|e| invalid(DETAIL_OPTION, status, e))?
        .ok_or_else(|| missing(DETAIL_OPTION, status, "option (an empty option array)"))
}

fn decode_list_coupons(status: StatusCode, content_type: &str, body: &[u8]) -> Result<Vec<Coupon>, Error> {
    match interpret::<CouponsBody<'_>>(LIST_COUPONS, status, content_type, body) {
        Ok(answer) => answer.into_list().map_err(|e| invalid(LIST_COUPONS, status, e)),
        Err(e) if is_no_rows(&e) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn decode_detail_coupon(status: StatusCode, content_type: &str, body: &[u8]) -> Result<Coupon, Error> {
    let answer: CouponsBody<'_> = interpret(DETAIL_COUPON, status, content_type, body)?;
    answer
        .into_detail()
        .map_err(|e| invalid(DETAIL_COUPON, status, e))?
        .ok_or_else(|| missing(DETAIL_COUPON, status, "coupon"))
}

/// The answer to a catalog write: first the write rules of `admin.rs`
/// (`interpret_write`: success only on `response_code` OK), then the ids it
/// answered. Once the vendor has confirmed the write, an answer whose ids
/// cannot be read leaves what it made unknown: OUTCOME_UNKNOWN, never
/// UPSTREAM_RESPONSE_INVALID (which would say nothing happened).
fn decode_write(
    endpoint: &str,
    write: &CatalogWrite,
    status: StatusCode,
    content_type: &str,
    body: &[u8],
) -> Result<CatalogReceipt, Error> {
    let message = interpret_write(endpoint, status, content_type, body)?;
    let unknown = |problem: String| Error::OutcomeUnknown {
        detail: format!(
            "{endpoint} answered response_code OK, but {problem}; the write was probably processed: look for its effect before sending it again"
        ),
        timed_out: false,
        http_status: Some(status.as_u16()),
    };
    // Confirmed, so well-formed and without errors: only a wrong shape can fail here.
    let answer: CatalogWriteBody<'_> = interpret(endpoint, status, content_type, body).map_err(|e| match e {
        Error::UpstreamResponseInvalid { detail, .. } => unknown(format!("its ids could not be read ({detail})")),
        other => unknown(format!("its ids could not be read ({})", other.reason())),
    })?;
    answer.into_receipt(message, write).map_err(|bad| unknown(bad.to_string()))
}

/// A form or query under construction: the vendor's parameter names, in order,
/// repeated names for multi-valued inputs.
#[derive(Default)]
struct Params(Vec<(&'static str, String)>);

impl Params {
    fn push(&mut self, name: &'static str, value: impl ToString) {
        self.0.push((name, value.to_string()));
    }

    fn opt(&mut self, name: &'static str, value: Option<impl ToString>) {
        if let Some(value) = value {
            self.push(name, value);
        }
    }

    fn flag(&mut self, name: &'static str, value: Option<bool>) {
        self.opt(name, value.map(|on| if on { "1" } else { "0" }));
    }

    fn page(&mut self, page: PageRequest, sort_col: Option<&'static str>, sort_dir: Option<SortDirection>) {
        self.push("cur_page", page.page);
        self.push("pagesize", page.page_size);
        self.opt("sort_col", sort_col);
        self.opt(
            "sort_dir",
            sort_dir.map(|d| match d {
                SortDirection::Ascending => "ASC",
                SortDirection::Descending => "DESC",
            }),
        );
    }
}

fn list_products_params(query: &ListProductsQuery) -> Vec<(&'static str, String)> {
    let mut params = Params::default();
    params.opt("assigned_product_id", query.assigned_product_id.as_deref());
    params.opt("vendor_product_id", query.vendor_product_id.as_deref());
    params.opt("name", query.name.as_deref());
    params.page(query.page, query.sort_column.map(|c| c.as_vendor_str()), query.sort_direction);
    params.0
}

fn list_options_params(query: &ListOptionsQuery) -> Vec<(&'static str, String)> {
    let mut params = Params::default();
    params.opt("option_name", query.option_name.as_deref());
    params.opt("option_value_name", query.option_value_name.as_deref());
    params.page(query.page, query.sort_column.map(|c| c.as_vendor_str()), query.sort_direction);
    params.0
}

/// The product fields a create or update sends: only those set.
fn product_fields(params: &mut Params, fields: &ProductFields) {
    params.opt("name", fields.name.as_ref().map(|t| t.as_str()));
    params.opt("price", fields.price);
    params.opt("vendor_product_id", fields.vendor_product_id.as_ref().map(|t| t.as_str()));
    params.opt("description", fields.description.as_ref().map(|t| t.as_str()));
    params.opt("long_description", fields.long_description.as_ref().map(|t| t.as_str()));
    params.opt("pending_url", fields.pending_url.as_ref().map(|t| t.as_str()));
    params.opt("approved_url", fields.approved_url.as_ref().map(|t| t.as_str()));
    params.flag("tangible", fields.tangible);
    params.opt("weight", fields.weight);
    params.opt("handling", fields.handling);
    params.flag("recurring", fields.recurring);
    params.opt("startup_fee", fields.startup_fee);
    params.opt("recurrence", fields.recurrence.as_ref().map(|t| t.as_str()));
    params.opt("duration", fields.duration.as_ref().map(|t| t.as_str()));
    params.flag("commission", fields.commission);
    params.opt("commission_type", fields.commission_type.map(|c| c.as_vendor_str()));
    params.opt("commission_amount", fields.commission_amount);
    for id in fields.option_ids.iter().flatten() {
        params.push("option_id", id);
    }
    for id in fields.category_ids.iter().flatten() {
        params.push("category_id", id);
    }
}

fn discount(params: &mut Params, discount: Option<&Discount>) {
    match discount {
        Some(Discount::PercentageOff(percent)) => params.push("percentage_off", percent),
        Some(Discount::ValueOff(amount)) => params.push("value_off", amount),
        None => {}
    }
}

fn coupon_products(params: &mut Params, products: Option<&CouponProducts>) {
    match products {
        Some(CouponProducts::All) => params.push("select_all", "1"),
        Some(CouponProducts::None) => params.push("select_all", "0"),
        Some(CouponProducts::Listed(ids)) => {
            for id in ids {
                params.push("product_id", id);
            }
        }
        None => {}
    }
}

/// The endpoint and form of one catalog write.
fn write_params(write: &CatalogWrite) -> (&'static str, Vec<(&'static str, String)>) {
    let date = |d: &chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let mut params = Params::default();
    let endpoint = match write {
        CatalogWrite::CreateProduct(new) => {
            product_fields(&mut params, new.fields());
            "products/create_product"
        }
        CatalogWrite::UpdateProduct { product_id, fields } => {
            params.push("product_id", product_id);
            product_fields(&mut params, fields);
            "products/update_product"
        }
        CatalogWrite::DeleteProduct { product_id } => {
            params.push("product_id", product_id);
            "products/delete_product"
        }
        CatalogWrite::CreateOption(new) => {
            params.push("option_name", new.name.as_str());
            // Paired by position: each name right before its surcharge.
            for value in &new.values {
                params.push("option_value_name", value.name.as_str());
                params.push("option_value_surcharge", value.surcharge);
            }
            "products/create_option"
        }
        CatalogWrite::UpdateOption { option_id, name, change } => {
            params.push("option_id", option_id);
            params.push("option_name", name.as_str());
            match change {
                Some(OptionValueChange::Add(value)) => {
                    params.push("option_value_name", value.name.as_str());
                    params.push("option_value_surcharge", value.surcharge);
                }
                Some(OptionValueChange::Change { value_id, name, surcharge }) => {
                    params.push("option_value_id", value_id);
                    params.push("option_value_name", name.as_str());
                    params.push("option_value_surcharge", surcharge);
                }
                None => {}
            }
            "products/update_option"
        }
        CatalogWrite::DeleteOption { option_id } => {
            params.push("option_id", option_id);
            "products/delete_option"
        }
        CatalogWrite::CreateCoupon(new) => {
            params.opt("coupon_code", new.code.as_ref());
            params.push("date_expire", date(&new.date_expire));
            params.push("type", new.coupon_type.as_vendor_str());
            discount(&mut params, new.discount.as_ref());
            params.opt("minimum_purchase", new.minimum_purchase);
            coupon_products(&mut params, new.products.as_ref());
            "products/create_coupon"
        }
        CatalogWrite::UpdateCoupon(update) => {
            params.push("coupon_code", &update.code);
            params.opt("new_code", update.new_code.as_ref());
            params.opt("date_expire", update.date_expire.as_ref().map(date));
            params.opt("type", update.coupon_type.as_ref().map(|t| t.as_vendor_str()));
            discount(&mut params, update.discount.as_ref());
            params.opt("minimum_purchase", update.minimum_purchase);
            coupon_products(&mut params, update.products.as_ref());
            "products/update_coupon"
        }
        CatalogWrite::DeleteCoupon { code } => {
            params.push("coupon_code", code);
            "products/delete_coupon"
        }
    };
    (endpoint, params.0)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::{
        domain::{
            Amount, CouponType, CouponUpdate, NewCoupon, NewOption, NewOptionValue, NewProduct, OptionValueId,
            ProductSortColumn, Text, TextRules,
        },
        twocheckout::catalog_wire::xml_of,
    };

    const JSON: &str = "application/json";
    const XML: &str = "application/xml";

    /// The answer in both formats: (content type, body).
    fn both(body: &Value) -> [(&'static str, String); 2] {
        [(JSON, body.to_string()), (XML, xml_of(body))]
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    fn money(text: &str) -> Amount {
        text.parse().unwrap()
    }

    fn asked() -> PageRequest {
        PageRequest { page: 1, page_size: 20 }
    }

    /// The 2Checkout node wiki's product (live account 1817037, 2014), with its two options.
    fn wiki_product() -> Value {
        json!({
            "product_id": "4635212971", "assigned_product_id": "2559", "vendor_id": "1817037",
            "vendor_product_id": null, "name": "API product", "description": "An API created product",
            "long_description": null, "price": "10.00", "tangible": "0", "weight": null, "handling": null,
            "recurring": "0", "recurrence": null, "recurrence_p": null, "duration": null, "startup_fee": null,
            "pending_url": null, "approved_url": null, "commission": 0, "commission_type": null,
            "commission_amount": null, "images": [],
            "categories": [{"category_id": "21", "name": "Advice & Instruction", "parent_id": "2",
                            "description": null, "parent_name": "Business Solutions & Office Products"}],
            "options": [
                {"option_id": "4023756741", "option_name": "extra benefit", "option_values": [
                    {"option_value_id": "4023756744", "option_value_name": "one", "option_value_surcharge": "1.00"},
                    {"option_value_id": "4023756747", "option_value_name": "two", "option_value_surcharge": "0.50"},
                    {"option_value_id": "4023756750", "option_value_name": "three", "option_value_surcharge": "2.00"}]},
                {"option_id": "4688355343", "option_name": "decibels", "option_values": [
                    {"option_value_id": "4688355346", "option_value_name": "150dB", "option_value_surcharge": "11.00"}]}
            ]
        })
    }

    /// list_options' documented page_info: numbers and strings mixed.
    fn page_info(total: &str) -> Value {
        json!({"cur_page": "1", "first_entry": 1, "first_page": 1,
               "first_page_url": "https://www.2checkout.com/api/products/list_options?cur_page=1",
               "last_entry": total, "last_page": 1, "last_page_url": "https://www.2checkout.com/api/products/list_options?cur_page=1",
               "next_page": null, "pagesize": "20", "previous_page": null, "total_entries": total})
    }

    #[test]
    fn list_products_reads_the_wiki_product_and_the_page_info_in_json_and_in_xml() {
        let mut second = wiki_product();
        second["product_id"] = json!("4774387610");
        second["name"] = json!("Test Product");
        second["tangible"] = json!(1);
        second["weight"] = json!("1.50");
        second["options"] = json!([]);
        let body = json!({"response_code": "OK", "response_message": "Product information retrieved successfully.",
                          "page_info": page_info("2"), "products": [wiki_product(), second]});
        let mut pages = Vec::new();
        for (content_type, text) in both(&body) {
            let page = decode_list_products(status(200), content_type, text.as_bytes(), asked()).unwrap();
            assert_eq!(
                (page.page, page.page_size, page.last_page, page.total_entries),
                (1, 20, 1, 2),
                "{content_type}"
            );
            assert_eq!((page.first_entry, page.last_entry), (1, 2));
            let first = &page.rows[0];
            assert_eq!(first.product_id.as_str(), "4635212971");
            assert_eq!(first.assigned_product_id.as_deref(), Some("2559"));
            assert_eq!(first.name, "API product");
            assert_eq!(first.price, money("10.00"));
            assert!(!first.tangible && !first.recurring && !first.commission);
            assert_eq!((first.weight, first.vendor_product_id.as_deref(), first.commission_type), (None, None, None));
            assert_eq!(first.categories[0].name.as_deref(), Some("Advice & Instruction"));
            assert_eq!(first.options.len(), 2, "{content_type}");
            assert_eq!(first.options[0].values.len(), 3);
            assert_eq!(first.options[0].values[1].surcharge, money("0.50"));
            assert_eq!(first.options[1].values.len(), 1, "{content_type}: a one-value option");
            assert!(first.images.is_empty());
            let second = &page.rows[1];
            assert!(second.tangible && second.options.is_empty());
            assert_eq!(second.weight, Some(money("1.50")));
            pages.push(page);
        }
        assert_eq!(pages[0], pages[1], "JSON and XML decode to the same page");
    }

    #[test]
    fn detail_product_reads_the_product_in_json_and_in_xml() {
        let body = json!({"product": wiki_product(), "response_code": "OK",
                          "response_message": "Product detail information retrieved successfully"});
        let [(_, json), (_, xml)] = both(&body);
        let from_json = decode_detail_product(status(200), JSON, json.as_bytes()).unwrap();
        let from_xml = decode_detail_product(status(200), XML, xml.as_bytes()).unwrap();
        assert_eq!(from_json, from_xml);
        assert_eq!(from_json.options[1].name, "decibels");
    }

    #[test]
    fn a_list_of_one_product_in_xml_is_still_a_list() {
        let body = json!({"page_info": page_info("1"), "products": [wiki_product()], "response_code": "OK"});
        let page = decode_list_products(status(200), XML, xml_of(&body).as_bytes(), asked()).unwrap();
        assert_eq!(page.rows.len(), 1);
    }

    #[test]
    fn the_vendors_loose_values_are_read_numbers_null_the_string_null_and_empty_as_absent() {
        let mut product = wiki_product();
        product["product_id"] = json!(4635212971_u64);
        product["price"] = json!(10);
        product["tangible"] = json!(true);
        product["handling"] = json!("null");
        product["weight"] = json!("");
        product["description"] = json!("null");
        product["commission_type"] = json!("Percentage");
        let body = json!({"product": product, "response_code": "OK"});
        let read = decode_detail_product(status(200), JSON, body.to_string().as_bytes()).unwrap();
        assert_eq!(read.product_id.as_str(), "4635212971");
        assert_eq!(read.price, money("10.00"));
        assert!(read.tangible);
        assert_eq!((read.handling, read.weight, read.description), (None, None, None));
        assert_eq!(read.commission_type, Some(crate::domain::CommissionType::Percentage));
    }

    fn invalid_detail(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(Error::UpstreamResponseInvalid { detail, .. }) => detail,
            other => panic!("expected UPSTREAM_RESPONSE_INVALID, got {other:?}"),
        }
    }

    #[test]
    fn a_value_the_domain_cannot_take_is_invalid_and_named_by_its_path_in_both_formats() {
        let mut bad_price = wiki_product();
        bad_price["price"] = json!("ten dollars");
        let mut bad_value_id = wiki_product();
        bad_value_id["options"][0]["option_values"][2]["option_value_id"] = json!("x9");
        let mut no_id = wiki_product();
        no_id["product_id"] = json!(null);
        for (product, path) in [
            (bad_price, "products[1].price"),
            (bad_value_id, "products[1].options[0].option_values[2].option_value_id"),
            (no_id, "products[1].product_id: missing"),
        ] {
            let body =
                json!({"page_info": page_info("2"), "products": [wiki_product(), product], "response_code": "OK"});
            for (content_type, text) in both(&body) {
                let said = invalid_detail(decode_list_products(status(200), content_type, text.as_bytes(), asked()));
                assert!(said.starts_with("products/list_products: "), "{said}");
                assert!(said.contains(path), "{content_type}: {said}");
                assert!(!said.contains("ten dollars") && !said.contains("x9"), "the value stays out: {said}");
            }
        }
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_invalid_and_named_by_its_path() {
        let mut product = wiki_product();
        product["price"] = json!({"amount": "10.00"});
        let body = json!({"page_info": page_info("1"), "products": [product], "response_code": "OK"});
        for (content_type, text) in both(&body) {
            let said = invalid_detail(decode_list_products(status(200), content_type, text.as_bytes(), asked()));
            assert!(said.contains("products[0].price"), "{content_type}: {said}");
        }
    }

    fn no_rows() -> Value {
        json!({"errors": [{"code": "RECORD_NOT_FOUND", "message": "Unable to find record."}]})
    }

    #[test]
    fn an_empty_catalog_answered_with_400_record_not_found_is_an_empty_page_or_list() {
        for (content_type, text) in both(&no_rows()) {
            let body = text.as_bytes();
            let asked = PageRequest { page: 2, page_size: 5 };
            assert_eq!(
                decode_list_products(status(400), content_type, body, asked).unwrap(),
                CatalogPage::empty(asked)
            );
            assert_eq!(decode_list_options(status(400), content_type, body, asked).unwrap(), CatalogPage::empty(asked));
            assert_eq!(decode_list_coupons(status(400), content_type, body).unwrap(), vec![]);
        }
    }

    #[test]
    fn a_detail_of_an_unknown_record_stays_the_vendors_error() {
        for (content_type, text) in both(&no_rows()) {
            let Err(Error::Vendor(v)) = decode_detail_product(status(400), content_type, text.as_bytes()) else {
                panic!("{content_type}")
            };
            assert_eq!(v.code, AdminCode::RecordNotFound);
        }
    }

    #[test]
    fn an_unknown_coupon_is_forbidden_like_the_live_api_says_and_stays_so() {
        let body = json!({"errors": [{"code": "FORBIDDEN", "message": "Access denied to coupon."}]});
        for (content_type, text) in both(&body) {
            for code in [400, 200] {
                let Err(Error::Vendor(v)) = decode_detail_coupon(status(code), content_type, text.as_bytes()) else {
                    panic!("{content_type} {code}")
                };
                assert_eq!((v.code, v.message.as_str()), (AdminCode::Forbidden, "Access denied to coupon."));
            }
            // A refusal other than "no rows" to a list is not an empty list.
            assert!(matches!(decode_list_coupons(status(400), content_type, text.as_bytes()), Err(Error::Vendor(_))));
        }
    }

    #[test]
    fn list_options_reads_the_documented_answer_in_json_and_in_xml() {
        let body = json!({"options": [{"option_id": "4688550010", "option_name": "Volume", "option_values": [
                              {"option_value_id": "4688550013", "option_value_name": "Low", "option_value_surcharge": "1.00"}]}],
                          "page_info": page_info("1"), "response_code": "OK",
                          "response_message": "Option information retrieved successfully."});
        for (content_type, text) in both(&body) {
            let page = decode_list_options(status(200), content_type, text.as_bytes(), asked()).unwrap();
            assert_eq!(page.total_entries, 1);
            assert_eq!(
                page.rows,
                vec![ProductOption {
                    option_id: "4688550010".parse().unwrap(),
                    name: "Volume".into(),
                    values: vec![crate::domain::OptionValue {
                        value_id: "4688550013".parse().unwrap(),
                        name: "Low".into(),
                        surcharge: money("1.00"),
                    }],
                }],
                "{content_type}"
            );
        }
    }

    fn decibels() -> Value {
        json!({"option_id": "4688355343", "option_name": "decibels", "option_values": [
            {"option_value_id": "4688355346", "option_value_name": "150dB", "option_value_surcharge": "11.00"},
            {"option_value_id": "4688355349", "option_value_name": "200dB", "option_value_surcharge": "22.00"},
            {"option_value_id": "4688355352", "option_value_name": "250dB", "option_value_surcharge": "33.00"}]})
    }

    #[test]
    fn an_option_detail_is_element_zero_of_the_array_of_one_in_json_and_in_xml() {
        let body = json!({"option": [decibels()], "response_code": "OK",
                          "response_message": "Option detail retrieved successfully."});
        for (content_type, text) in both(&body) {
            let option = decode_detail_option(status(200), content_type, text.as_bytes()).unwrap();
            assert_eq!(option.option_id.as_str(), "4688355343", "{content_type}");
            assert_eq!(
                option.values.iter().map(|v| v.surcharge.to_string()).collect::<Vec<_>>(),
                ["11.00", "22.00", "33.00"]
            );
        }
        let lone = json!({"option": decibels(), "response_code": "OK"});
        assert_eq!(decode_detail_option(status(200), JSON, lone.to_string().as_bytes()).unwrap().name, "decibels");
    }

    #[test]
    fn an_option_detail_with_an_empty_array_is_an_invalid_answer_not_a_not_found_the_vendor_never_said() {
        let body =
            json!({"option": [], "response_code": "OK", "response_message": "Option detail retrieved successfully."});
        for (content_type, text) in both(&body) {
            let said = invalid_detail(decode_detail_option(status(200), content_type, text.as_bytes()));
            assert!(said.contains("the answer has no option"), "{content_type}: {said}");
        }
    }

    /// The Ruby wiki's list_coupons answer (live account).
    fn ruby_wiki_coupons() -> Value {
        json!({"coupon": [
            {"coupon_code": "COUPON", "date_expire": "3000-02-25", "minimum_purchase": "1.00",
             "percentage_off": "0.10", "type": "product", "value_off": null},
            {"coupon_code": "FREESHIPPING", "date_expire": "2013-04-13", "minimum_purchase": "0.00",
             "percentage_off": null, "type": "shipping", "value_off": null},
            {"coupon_code": "SAVEJUNE", "date_expire": "2013-03-31", "minimum_purchase": "2999.99",
             "percentage_off": null, "type": "product", "value_off": "100.00"}],
            "response_code": "OK", "response_message": "Coupon information retrieved successfully."})
    }

    #[test]
    fn list_coupons_reads_the_singular_coupon_key_as_a_list_in_json_and_in_xml() {
        for (content_type, text) in both(&ruby_wiki_coupons()) {
            let coupons = decode_list_coupons(status(200), content_type, text.as_bytes()).unwrap();
            assert_eq!(
                coupons.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
                ["COUPON", "FREESHIPPING", "SAVEJUNE"]
            );
            assert_eq!(coupons[0].percentage_off.as_deref(), Some("0.10"), "verbatim");
            assert_eq!(coupons[1].coupon_type, CouponType::Shipping);
            assert_eq!(coupons[2].value_off, Some(money("100.00")));
            assert_eq!(coupons[2].minimum_purchase, Some(money("2999.99")));
            assert!(coupons.iter().all(|c| c.product_ids.is_none()), "list entries do not say which products");
        }
    }

    #[test]
    fn a_list_of_one_coupon_sent_as_a_lone_object_is_a_list_of_one() {
        let mut body = ruby_wiki_coupons();
        body["coupon"] = body["coupon"][0].clone();
        for (content_type, text) in both(&body) {
            let coupons = decode_list_coupons(status(200), content_type, text.as_bytes()).unwrap();
            assert_eq!(coupons.len(), 1, "{content_type}");
        }
    }

    #[test]
    fn a_coupon_detail_tied_to_product_0_is_tied_to_no_product_in_json_and_in_xml() {
        let body = json!({"coupon": {"coupon_code": "APITEST002", "date_expire": "2012-12-31", "minimum_purchase": "5.00",
            "percentage_off": "5", "type": "sale", "value_off": null,
            "product": [{"product_id": "0", "product_url": "https://www.2checkout.com/api/products/detail_product?product_id=0"}]},
            "response_code": "OK", "response_message": "Coupon detail retrieved successfully."});
        for (content_type, text) in both(&body) {
            let coupon = decode_detail_coupon(status(200), content_type, text.as_bytes()).unwrap();
            assert_eq!(coupon.code.as_str(), "APITEST002");
            assert_eq!(coupon.coupon_type, CouponType::Sale);
            assert_eq!(coupon.percentage_off.as_deref(), Some("5"));
            assert_eq!(coupon.product_ids, Some(vec![]), "{content_type}");
        }
    }

    #[test]
    fn a_product_coupon_detail_lists_its_products_and_a_bad_one_is_named_by_its_path() {
        let coupon = |ids: Value| {
            json!({"coupon": {"coupon_code": "SAVEJUNE", "date_expire": "2013-03-31", "type": "product",
                              "value_off": "100.00", "product": ids}, "response_code": "OK"})
        };
        let tied = coupon(json!([{"product_id": "4635212971"}, {"product_id": 4774387610_u64}]));
        for (content_type, text) in both(&tied) {
            let read = decode_detail_coupon(status(200), content_type, text.as_bytes()).unwrap();
            let ids: Vec<_> = read.product_ids.unwrap().iter().map(|id| id.to_string()).collect();
            assert_eq!(ids, ["4635212971", "4774387610"], "{content_type}");
        }
        let bad = coupon(json!([{"product_id": "4635212971"}, {"product_id": "-4"}]));
        for (content_type, text) in both(&bad) {
            let said = invalid_detail(decode_detail_coupon(status(200), content_type, text.as_bytes()));
            assert!(said.contains("coupon.product[1].product_id"), "{content_type}: {said}");
        }
    }

    fn text(value: &str) -> Text {
        Text::required(value, TextRules::line(255)).unwrap()
    }

    fn create_product() -> CatalogWrite {
        CatalogWrite::CreateProduct(
            NewProduct::new(ProductFields {
                name: Some(text("test product")),
                price: Some(money("0.01")),
                ..ProductFields::default()
            })
            .unwrap(),
        )
    }

    fn write(write: &CatalogWrite, code: u16, content_type: &str, body: &str) -> Result<CatalogReceipt, Error> {
        let (endpoint, _) = write_params(write);
        decode_write(endpoint, write, status(code), content_type, body.as_bytes())
    }

    fn assert_unknown(outcome: Result<CatalogReceipt, Error>, what: &str) -> String {
        match outcome {
            Err(Error::OutcomeUnknown { detail, timed_out: false, .. }) => detail,
            other => panic!("{what}: expected OUTCOME_UNKNOWN, got {other:?}"),
        }
    }

    #[test]
    fn a_created_product_is_confirmed_with_the_ids_the_vendor_answered_in_json_and_in_xml() {
        let body = json!({"assigned_product_id": 445, "product_id": "4838125968", "response_code": "OK",
                          "response_message": "Product successfully created."});
        for (content_type, text) in both(&body) {
            let receipt = write(&create_product(), 200, content_type, &text).unwrap();
            assert_eq!(
                receipt,
                CatalogReceipt {
                    message: "Product successfully created.".into(),
                    product_id: Some("4838125968".parse().unwrap()),
                    assigned_product_id: Some("445".into()),
                    ..CatalogReceipt::default()
                },
                "{content_type}"
            );
        }
    }

    #[test]
    fn an_empty_object_or_any_answer_without_response_code_ok_to_a_create_is_outcome_unknown() {
        for (content_type, body) in [
            (JSON, "{}"),
            (JSON, r#"{"product_id":"4838125968","response_code":"FAIL"}"#),
            (JSON, r#"{"product_id":"4838125968"}"#),
            (XML, "<response><product_id>4838125968</product_id></response>"),
            ("text/html", "<html>Product successfully created.</html>"),
        ] {
            assert_unknown(write(&create_product(), 200, content_type, body), body);
        }
        assert_unknown(write(&create_product(), 502, JSON, r#"{"response_code":"OK"}"#), "a 5xx");
        assert_unknown(write(&create_product(), 302, JSON, r#"{"response_code":"OK"}"#), "a redirect");
    }

    #[test]
    fn a_confirmed_create_without_its_new_id_or_with_a_bad_one_is_outcome_unknown_not_success() {
        let create_option = CatalogWrite::CreateOption(NewOption {
            name: text("Volume"),
            values: vec![NewOptionValue { name: text("Low"), surcharge: money("1.00") }],
        });
        for (write_kind, body, said) in [
            (
                &create_product(),
                r#"{"response_code":"OK","response_message":"Product successfully created."}"#,
                "product_id: missing",
            ),
            (&create_product(), r#"{"product_id":"abc","response_code":"OK"}"#, "product_id: must be"),
            (&create_product(), r#"{"product_id":{"id":"1"},"response_code":"OK"}"#, "product_id"),
            (
                &create_option,
                r#"{"response_code":"OK","response_message":"Option created successfully"}"#,
                "option_id: missing",
            ),
        ] {
            let detail = assert_unknown(write(write_kind, 200, JSON, body), body);
            assert!(detail.contains(said) && detail.contains("probably processed"), "{detail}");
        }
    }

    #[test]
    fn a_refused_write_stays_the_vendors_refusal() {
        let body = json!({"errors": [{"code": "FORBIDDEN", "message": "Access denied to product."}]});
        let delete = CatalogWrite::DeleteProduct { product_id: "4838125968".parse().unwrap() };
        for (content_type, text) in both(&body) {
            let Err(Error::Vendor(v)) = write(&delete, 400, content_type, &text) else { panic!("{content_type}") };
            assert_eq!(v.code, AdminCode::Forbidden);
        }
    }

    #[test]
    fn the_other_writes_carry_the_message_and_the_ids_they_answer() {
        let coupon = CatalogWrite::CreateCoupon(NewCoupon {
            code: None,
            date_expire: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            coupon_type: CouponType::Shipping,
            discount: None,
            minimum_purchase: Some(money("1.00")),
            products: None,
        });
        let body = r#"{"coupon_code":"7G2NCGX","response_code":"OK","response_message":"Coupon successfully created"}"#;
        let receipt = write(&coupon, 200, JSON, body).unwrap();
        assert_eq!(receipt.coupon_code.map(|c| c.to_string()).as_deref(), Some("7G2NCGX"));
        let update = CatalogWrite::UpdateCoupon(CouponUpdate {
            code: "APITEST002".parse().unwrap(),
            new_code: None,
            date_expire: None,
            coupon_type: None,
            discount: None,
            minimum_purchase: None,
            products: None,
        });
        let answered =
            r#"{"coupon_code":"APIMODIFY002","response_code":"OK","response_message":"Coupon updated successfully"}"#;
        assert_eq!(write(&update, 200, JSON, answered).unwrap().coupon_code.unwrap().as_str(), "APIMODIFY002");
        let bare = "<response><response_code>OK</response_code><response_message>Coupon updated successfully</response_message></response>";
        assert_eq!(
            write(&update, 200, XML, bare).unwrap(),
            CatalogReceipt { message: "Coupon updated successfully".into(), ..CatalogReceipt::default() }
        );
        let delete = CatalogWrite::DeleteOption { option_id: "4688550010".parse().unwrap() };
        let deleted = r#"{"response_code":"OK","response_message":"Option deleted successfully"}"#;
        assert_eq!(write(&delete, 200, JSON, deleted).unwrap().message, "Option deleted successfully");
    }

    fn values<'p>(params: &'p [(&'static str, String)], name: &str) -> Vec<&'p str> {
        params.iter().filter(|(key, _)| *key == name).map(|(_, value)| value.as_str()).collect()
    }

    #[test]
    fn multi_valued_inputs_repeat_the_form_key_flags_are_1_or_0_and_money_is_its_decimal_string() {
        let fields = ProductFields {
            name: Some(text("Example Product")),
            price: Some(money("1")),
            tangible: Some(true),
            recurring: Some(false),
            weight: Some(money("1.5")),
            option_ids: Some(vec!["4023756741".parse().unwrap(), "4688355343".parse().unwrap()]),
            category_ids: Some(vec!["21".parse().unwrap(), "22".parse().unwrap()]),
            ..ProductFields::default()
        };
        let (endpoint, params) = write_params(&CatalogWrite::CreateProduct(NewProduct::new(fields).unwrap()));
        assert_eq!(endpoint, "products/create_product");
        assert_eq!(values(&params, "option_id"), ["4023756741", "4688355343"]);
        assert_eq!(values(&params, "category_id"), ["21", "22"]);
        assert_eq!((values(&params, "price"), values(&params, "weight")), (vec!["1.00"], vec!["1.50"]));
        assert_eq!((values(&params, "tangible"), values(&params, "recurring")), (vec!["1"], vec!["0"]));
        assert!(values(&params, "handling").is_empty(), "what is not set is not sent");

        let (_, params) = write_params(&CatalogWrite::CreateOption(NewOption {
            name: text("decibels"),
            values: vec![
                NewOptionValue { name: text("150dB"), surcharge: money("11") },
                NewOptionValue { name: text("200dB"), surcharge: money("22.5") },
            ],
        }));
        assert_eq!(
            params,
            [
                ("option_name", "decibels".to_owned()),
                ("option_value_name", "150dB".to_owned()),
                ("option_value_surcharge", "11.00".to_owned()),
                ("option_value_name", "200dB".to_owned()),
                ("option_value_surcharge", "22.50".to_owned()),
            ]
        );

        let (endpoint, params) = write_params(&CatalogWrite::UpdateOption {
            option_id: "4688355343".parse().unwrap(),
            name: text("decibels"),
            change: Some(OptionValueChange::Change {
                value_id: "4688355346".parse::<OptionValueId>().unwrap(),
                name: text("160dB"),
                surcharge: money("12"),
            }),
        });
        assert_eq!(endpoint, "products/update_option");
        assert_eq!(values(&params, "option_value_id"), ["4688355346"]);

        let (_, params) = write_params(&CatalogWrite::CreateCoupon(NewCoupon {
            code: Some("SAVEJUNE".parse().unwrap()),
            date_expire: chrono::NaiveDate::from_ymd_opt(2030, 6, 5).unwrap(),
            coupon_type: CouponType::Product,
            discount: Some(Discount::PercentageOff(5)),
            minimum_purchase: None,
            products: Some(CouponProducts::Listed(vec!["4635212971".parse().unwrap(), "4774387610".parse().unwrap()])),
        }));
        assert_eq!(values(&params, "date_expire"), ["2030-06-05"]);
        assert_eq!((values(&params, "type"), values(&params, "percentage_off")), (vec!["product"], vec!["5"]));
        assert_eq!(values(&params, "product_id"), ["4635212971", "4774387610"]);
        assert!(values(&params, "select_all").is_empty());

        let (_, params) = write_params(&CatalogWrite::UpdateCoupon(CouponUpdate {
            code: "SAVEJUNE".parse().unwrap(),
            new_code: Some("SAVEJULY".parse().unwrap()),
            date_expire: None,
            coupon_type: None,
            discount: Some(Discount::ValueOff(money("2"))),
            minimum_purchase: Some(money("10")),
            products: Some(CouponProducts::All),
        }));
        assert_eq!(
            params,
            [
                ("coupon_code", "SAVEJUNE".to_owned()),
                ("new_code", "SAVEJULY".to_owned()),
                ("value_off", "2.00".to_owned()),
                ("minimum_purchase", "10.00".to_owned()),
                ("select_all", "1".to_owned()),
            ],
            "a partial update sends only what changes"
        );
    }

    #[test]
    fn list_queries_send_filters_pages_and_sort_order_as_the_vendor_names_them() {
        let query = ListProductsQuery {
            assigned_product_id: None,
            vendor_product_id: Some("test".into()),
            name: Some("API product".into()),
            page: PageRequest { page: 3, page_size: 2 },
            sort_column: Some(ProductSortColumn::AssignedProductId),
            sort_direction: Some(SortDirection::Descending),
        };
        assert_eq!(
            list_products_params(&query),
            [
                ("vendor_product_id", "test".to_owned()),
                ("name", "API product".to_owned()),
                ("cur_page", "3".to_owned()),
                ("pagesize", "2".to_owned()),
                ("sort_col", "assigned_product_id".to_owned()),
                ("sort_dir", "DESC".to_owned()),
            ]
        );
    }
}
