//! The Admin API's catalog section, `products/*`: products (`products`), options (`options`) and
//! coupons (`coupons`), served statefully from the [`CatalogStore`] (`store`, seeded by
//! `catalog_seed`). The rules, messages and choices are listed in the crate documentation
//! ("Catalog endpoints"); this module holds what the three share: reading parameters, paging
//! and the JSON shapes of products and options (a product nests the options assigned to it, so
//! both kinds render through here).

mod coupons;
mod options;
mod products;
pub mod store;

use chrono::NaiveDate;
use serde_json::{Value, json};

pub use coupons::{create_coupon, delete_coupon, detail_coupon, list_coupons, update_coupon};
pub use options::{create_option, delete_option, detail_option, list_options, update_option};
pub use products::{create_product, delete_product, detail_product, list_products, update_product};
pub use store::CatalogStore;

use super::paging::Paging;
use super::params::Params;
use super::records::Money;
use super::render::ApiError;
use super::sales::all_digits;
use store::{CatalogData, OptionRecord, ProductRecord};

/// The longest name, description, URL or vendor product id accepted, in characters.
const MAX_TEXT_CHARS: usize = 255;
/// The longest `long_description` accepted, in characters.
const MAX_LONG_TEXT_CHARS: usize = 5000;
/// Amounts above this (99,999,999.99) are refused: no price, surcharge or discount is that large.
const MAX_AMOUNT_CENTS: i64 = 9_999_999_999;

fn ok(message: &str, mut answer: Value) -> Value {
    answer["response_code"] = json!("OK");
    answer["response_message"] = json!(message);
    answer
}

/// An id parameter: digits (else PARAMETER_INVALID). Digits beyond `u64` name no record.
fn id_param(params: &Params, name: &str) -> Result<Option<u64>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(value) if all_digits(value) => Ok(Some(value.parse().unwrap_or(u64::MAX))),
        Some(_) => Err(ApiError::parameter_invalid(name)),
    }
}

fn required_id(params: &Params, name: &str) -> Result<u64, ApiError> {
    id_param(params, name)?.ok_or_else(|| ApiError::parameter_missing(name))
}

/// A repeated id parameter (`option_id`, `category_id`, `product_id`); `None` when absent.
fn id_list(params: &Params, name: &str) -> Result<Option<Vec<u64>>, ApiError> {
    let values = params.get_all(name);
    if values.is_empty() {
        return Ok(None);
    }
    values
        .into_iter()
        .map(|value| {
            if all_digits(value) {
                Ok(value.parse().unwrap_or(u64::MAX))
            } else {
                Err(ApiError::parameter_invalid(name))
            }
        })
        .collect::<Result<Vec<u64>, ApiError>>()
        .map(Some)
}

/// A text parameter of at most `max_chars` characters.
fn text_param(params: &Params, name: &str, max_chars: usize) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        Some(value) if value.chars().count() > max_chars => Err(ApiError::parameter_invalid(name)),
        other => Ok(other.map(str::to_owned)),
    }
}

/// `1.5`, `10`, `10.00` (at most two decimals); negative only where `signed`.
fn parse_amount(text: &str, signed: bool) -> Option<Money> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, text),
    };
    let (units, fraction) = match unsigned.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (unsigned, ""),
    };
    if !all_digits(units) || units.len() > 12 || fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let cents = units.checked_mul(100)?.checked_add(fraction)?;
    (cents <= MAX_AMOUNT_CENTS).then(|| Money::from_cents(if negative { -cents } else { cents }))
}

fn amount_param(params: &Params, name: &str, signed: bool) -> Result<Option<Money>, ApiError> {
    params
        .get(name)
        .map(|value| parse_amount(value, signed).ok_or_else(|| ApiError::parameter_invalid(name)))
        .transpose()
}

/// A `1`/`0` flag (also true/false, yes/no in any case, like the sales flags).
fn flag_param(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    match params.get(name).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes") => Ok(Some(true)),
        Some("0" | "false" | "no") => Ok(Some(false)),
        Some(_) => Err(ApiError::parameter_invalid(name)),
    }
}

/// A zero-padded `YYYY-MM-DD` calendar date.
fn date_param(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = params.get(name) else { return Ok(None) };
    let valid =
        NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok_and(|date| date.format("%Y-%m-%d").to_string() == value);
    if valid { Ok(Some(value.to_owned())) } else { Err(ApiError::parameter_invalid(name)) }
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn money_or_null(amount: Option<Money>) -> Value {
    amount.map_or(Value::Null, |amount| json!(amount.to_string()))
}

fn flag_text(flag: bool) -> &'static str {
    if flag { "1" } else { "0" }
}

/// An option as list_options, detail_option and a product's `options` show it.
fn option_json(option: &OptionRecord) -> Value {
    let values: Vec<Value> = option
        .values
        .iter()
        .map(|value| {
            json!({
                "option_value_id": value.option_value_id.to_string(),
                "option_value_name": value.name,
                "option_value_surcharge": value.surcharge.to_string(),
            })
        })
        .collect();
    json!({
        "option_id": option.option_id.to_string(),
        "option_name": option.name,
        "option_values": values,
    })
}

/// A product as list_products and detail_product show it, its options and categories as they
/// stand now.
fn product_json(data: &CatalogData, product: &ProductRecord) -> Value {
    let categories: Vec<Value> = product
        .category_ids
        .iter()
        .filter_map(|&id| data.category(id))
        .map(|category| {
            let parent = category.parent_id.and_then(|id| data.category(id));
            json!({
                "category_id": category.category_id.to_string(),
                "description": category.description,
                "name": category.name,
                "parent_id": category.parent_id.map(|id| id.to_string()),
                "parent_name": parent.map(|parent| parent.name),
            })
        })
        .collect();
    let options: Vec<Value> = product.option_ids.iter().filter_map(|&id| data.option(id)).map(option_json).collect();
    json!({
        "approved_url": product.approved_url,
        "assigned_product_id": product.assigned_product_id.to_string(),
        "categories": categories,
        "commission": u8::from(product.commission),
        "commission_amount": money_or_null(product.commission_amount),
        "commission_type": product.commission_type,
        "description": product.description,
        "duration": product.duration,
        "handling": money_or_null(product.handling),
        "images": [],
        "long_description": product.long_description,
        "name": product.name,
        "options": options,
        "pending_url": product.pending_url,
        "price": product.price.to_string(),
        "product_id": product.product_id.to_string(),
        "recurrence": product.recurrence,
        "recurrence_p": null,
        "recurring": flag_text(product.recurring),
        "startup_fee": money_or_null(product.startup_fee),
        "tangible": flag_text(product.tangible),
        "vendor_id": product.vendor_id,
        "vendor_product_id": product.vendor_product_id,
        "weight": money_or_null(product.weight),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_take_at_most_two_decimals_and_a_sign_only_where_allowed() {
        let cents = |text: &str, signed: bool| parse_amount(text, signed).map(|money| money.cents());
        assert_eq!(cents("10", false), Some(1000));
        assert_eq!(cents("1.5", false), Some(150));
        assert_eq!(cents("0.01", false), Some(1));
        assert_eq!(cents("-2.00", true), Some(-200));
        for refused in ["-2.00", "1.234", "", ".5", "1.", "1,00", "abc", "99999999999999"] {
            assert_eq!(cents(refused, false), None, "{refused}");
        }
    }
}
