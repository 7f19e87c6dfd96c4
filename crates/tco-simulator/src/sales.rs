//! The read endpoints `sales/detail_sale` and `sales/list_sales`: parameter validation and the
//! answer bodies, as `serde_json::Value`s for the renderer.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::paging::Paging;
use super::params::Params;
use super::render::ApiError;
use super::store::{LookupError, SaleFilter, SaleLookup, SaleSummary, SortColumn, SortDirection, SortOrder, Store};

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
    // The live API answers an empty result, or a page past the end, with RECORD_NOT_FOUND.
    let (rows, page_info) = request.paging.page(rows, origin, "sales/list_sales", params)?;
    let summaries: Vec<Value> = rows.iter().map(|row| summary_json(row, origin)).collect();
    Ok(json!({
        "page_info": page_info,
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

struct ListRequest {
    filter: SaleFilter,
    order: SortOrder,
    paging: Paging,
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
        let paging = Paging::parse(params)?;
        let column = match params.get("sort_col") {
            None => SortOrder::default().column,
            Some(value) => SortColumn::ALL
                .into_iter()
                .find(|column| column.name().eq_ignore_ascii_case(value))
                .ok_or_else(|| ApiError::parameter_invalid("sort_col"))?,
        };
        let paging = paging.with_direction(params)?;
        let direction = match paging.descending {
            None => SortOrder::default().direction,
            Some(false) => SortDirection::Ascending,
            Some(true) => SortDirection::Descending,
        };
        Ok(ListRequest { filter, order: SortOrder { column, direction }, paging })
    }
}

pub(super) fn all_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit())
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
