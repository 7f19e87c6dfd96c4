//! The read endpoints `sales/detail_sale` and `sales/list_sales`: parameter validation and the
//! answer bodies, as `serde_json::Value`s for the renderer.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::params::Params;
use super::render::ApiError;
use super::store::{LookupError, SaleFilter, SaleLookup, SaleSummary, SortColumn, SortDirection, SortOrder, Store};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// `sales/detail_sale`: one sale by `sale_id` (all invoices) or `invoice_id` (that invoice only,
/// and the sale then carries `invoice_id`). A `sale_id` that names no sale but an invoice is
/// looked up as that invoice (see "Fidelity decisions").
pub fn detail_sale(store: &Store, params: &Params) -> Result<Value, ApiError> {
    let sale_id = numeric_id(params, "sale_id")?;
    let invoice_id = numeric_id(params, "invoice_id")?;
    let lookup = match (sale_id, invoice_id) {
        (None, None) => return Err(ApiError::parameter_missing("sale_or_invoice_id")),
        (Some(sale_id), None) => SaleLookup::Sale(sale_id),
        (None, Some(invoice_id)) => SaleLookup::Invoice(invoice_id),
        (Some(sale_id), Some(invoice_id)) => SaleLookup::SaleAndInvoice { sale_id, invoice_id },
    };
    let (found, invoice_id) = match (store.detail_sale(lookup), sale_id, invoice_id) {
        // The 2020 PHP suite passes an invoice id as `sale_id` and gets the invoice's sale.
        (Err(LookupError::NotFound), Some(sale_id), None) => {
            (store.detail_sale(SaleLookup::Invoice(sale_id)), Some(sale_id))
        }
        (found, _, invoice_id) => (found, invoice_id),
    };
    let sale = found.map_err(|error| match error {
        LookupError::NotFound => ApiError::record_not_found(),
        LookupError::Forbidden => ApiError::access_denied_to_sale(),
    })?;
    let mut sale = serde_json::to_value(sale).map_err(|_| ApiError::internal())?;
    if let (Some(invoice_id), Some(members)) = (invoice_id, sale.as_object_mut()) {
        // The Ruby suites read `invoice_id` off a sale found by invoice. `serde_json`'s map keeps
        // keys sorted, so it lands in the vendor's alphabetical place.
        members.insert("invoice_id".to_owned(), json!(invoice_id));
    }
    Ok(json!({
        "response_code": "OK",
        "response_message": "Sale detail retrieved",
        "sale": sale,
    }))
}

/// `sales/list_sales`: a page of sale summaries. `origin` (`http://host:port`) prefixes the
/// page and sale URLs.
pub fn list_sales(store: &Store, params: &Params, origin: &str) -> Result<Value, ApiError> {
    let request = ListRequest::parse(params)?;
    let rows = store.list_sales(&request.filter, request.order);
    let total_entries = rows.len() as u64;
    let last_page = total_entries.div_ceil(request.page_size);
    // The live API answers an empty result, or a page past the end, with RECORD_NOT_FOUND.
    if total_entries == 0 || request.cur_page > last_page {
        return Err(ApiError::record_not_found());
    }
    // cur_page <= last_page here, so these products stay within the row count.
    let first_index = (request.cur_page - 1) * request.page_size;
    let last_entry = total_entries.min(request.cur_page * request.page_size);
    let page_url = |page: u64| list_page_url(origin, params, page);

    let summaries: Vec<Value> = rows
        .iter()
        .skip(first_index as usize)
        .take(request.page_size as usize)
        .map(|row| summary_json(row, origin))
        .collect();
    Ok(json!({
        "page_info": {
            "cur_page": request.cur_page.to_string(),
            "first_entry": first_index + 1,
            "first_page": 1,
            "first_page_url": page_url(1),
            "last_entry": last_entry.to_string(),
            "last_page": last_page,
            "last_page_url": page_url(last_page),
            "next_page": (request.cur_page < last_page).then(|| page_url(request.cur_page + 1)),
            "pagesize": request.page_size.to_string(),
            "previous_page": (request.cur_page > 1).then(|| page_url(request.cur_page - 1)),
            "total_entries": total_entries.to_string(),
        },
        "response_code": "OK",
        "response_message": "Sales summaries retrieved successfully.",
        "sale_summary": summaries,
    }))
}

fn summary_json(row: &SaleSummary, origin: &str) -> Value {
    json!({
        "customer_name": row.customer_name,
        "date_placed": row.date_placed.get(..10).unwrap_or(&row.date_placed),
        "decline_code": row.decline_code,
        "recurring": if row.recurring { "1" } else { "0" },
        "recurring_declined": row.recurring_declined,
        "sale_id": row.sale_id,
        "sale_url": format!("{origin}/api/sales/detail_sale?sale_id={}", row.sale_id),
        "usd_total": row.usd_total.to_string(),
    })
}

/// The same listing at another page: `cur_page` first, then the client's other parameters in
/// the order it sent them.
fn list_page_url(origin: &str, params: &Params, page: u64) -> String {
    let page = page.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![("cur_page", page.as_str())];
    pairs.extend(
        params
            .pairs()
            .iter()
            .filter(|(name, _)| name != "cur_page")
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{origin}/api/sales/list_sales?{query}")
}

struct ListRequest {
    filter: SaleFilter,
    order: SortOrder,
    cur_page: u64,
    page_size: u64,
}

impl ListRequest {
    /// Validates in the order the reference lists the parameters; the first problem is reported.
    fn parse(params: &Params) -> Result<ListRequest, ApiError> {
        let text = |name: &str| params.get(name).map(str::to_owned);
        let sale_id = numeric_id(params, "sale_id")?.map(str::to_owned);
        let invoice_id = numeric_id(params, "invoice_id")?.map(str::to_owned);
        let customer_name = text("customer_name");
        if customer_name.as_ref().is_some_and(|name| name.chars().count() < 3) {
            return Err(ApiError::parameter_invalid("customer_name"));
        }
        let filter = SaleFilter {
            sale_id,
            invoice_id,
            customer_name,
            customer_email: text("customer_email"),
            customer_phone: text("customer_phone"),
            vendor_product_id: text("vendor_product_id"),
            ccard_first6: digits_of_length(params, "ccard_first6", 6)?,
            ccard_last2: digits_of_length(params, "ccard_last2", 2)?,
            date_begin: date(params, "sale_date_begin")?,
            date_end: date(params, "sale_date_end")?,
            declined_recurrings: flag(params, "declined_recurrings")?,
            active_recurrings: flag(params, "active_recurrings")?,
            refunded: flag(params, "refunded")?,
        };
        let cur_page = match params.get("cur_page") {
            None => 1,
            Some(value) => match page_number(value) {
                Some(page) if page >= 1 => page,
                _ => return Err(ApiError::parameter_invalid("cur_page")),
            },
        };
        let page_size = match params.get("pagesize") {
            None => DEFAULT_PAGE_SIZE,
            Some(value) => match page_number(value) {
                Some(size) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
                _ => return Err(ApiError::parameter_invalid("pagesize")),
            },
        };
        let column = match params.get("sort_col") {
            None => SortOrder::default().column,
            Some(value) => SortColumn::ALL
                .into_iter()
                .find(|column| column.name().eq_ignore_ascii_case(value))
                .ok_or_else(|| ApiError::parameter_invalid("sort_col"))?,
        };
        let direction = match params.get("sort_dir") {
            None => SortOrder::default().direction,
            Some(value) if value.eq_ignore_ascii_case("asc") => SortDirection::Ascending,
            Some(value) if value.eq_ignore_ascii_case("desc") => SortDirection::Descending,
            Some(_) => return Err(ApiError::parameter_invalid("sort_dir")),
        };
        Ok(ListRequest { filter, order: SortOrder { column, direction }, cur_page, page_size })
    }
}

pub(super) fn all_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit())
}

/// A page number or size: digits only; a number too large for `u64` saturates (such a page is
/// simply past the end).
fn page_number(value: &str) -> Option<u64> {
    all_digits(value).then(|| value.parse().unwrap_or(u64::MAX))
}

pub(super) fn numeric_id<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, ApiError> {
    match params.get(name) {
        Some(value) if !all_digits(value) => Err(ApiError::parameter_invalid(name)),
        other => Ok(other),
    }
}

fn digits_of_length(params: &Params, name: &str, length: usize) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        Some(value) if value.len() != length || !all_digits(value) => Err(ApiError::parameter_invalid(name)),
        other => Ok(other.map(str::to_owned)),
    }
}

/// A `YYYY-MM-DD` calendar date, zero-padded.
fn date(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = params.get(name) else {
        return Ok(None);
    };
    let valid = value.len() == 10
        && NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .is_ok_and(|parsed| parsed.format("%Y-%m-%d").to_string() == value);
    if valid { Ok(Some(value.to_owned())) } else { Err(ApiError::parameter_invalid(name)) }
}

/// A truthy value filters; a falsy or empty one does not; anything else is refused.
pub(super) fn flag(params: &Params, name: &str) -> Result<bool, ApiError> {
    let Some(value) = params.get(name) else {
        return Ok(false);
    };
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(ApiError::parameter_invalid(name)),
    }
}
