//! `products/list_options`, `detail_option`, `create_option`, `update_option` and
//! `delete_option`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::store::{CatalogData, CatalogStore, OptionRecord, OptionValueRecord};
use super::{
    MAX_TEXT_CHARS, Paging, contains_ignoring_case, id_list, ok, option_json, parse_amount, required_id, text_param,
};
use crate::params::Params;
use crate::records::Money;
use crate::render::{ApiError, ErrorItem};

/// The Java suite's expected refusal, verbatim (typo included).
const FOREIGN_VALUE_MESSAGE: &str = "Specified option_value_id does not belong to specifed option_id.";

/// PARAMETER_INVALID `option_value_id` with the vendor's own message rather than the generic one.
fn foreign_value() -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        errors: vec![ErrorItem {
            code: "PARAMETER_INVALID",
            message: FOREIGN_VALUE_MESSAGE.to_owned(),
            parameter: Some("option_value_id".to_owned()),
        }],
    }
}

/// `products/list_options`: a page of the seller's options.
pub fn list_options(store: &CatalogStore, params: &Params, origin: &str) -> Result<Value, ApiError> {
    let option_name = params.get("option_name");
    let option_value_name = params.get("option_value_name");
    let paging = Paging::parse(params)?;
    let by_name = match params.get("sort_col") {
        None => false,
        Some(value) if value.eq_ignore_ascii_case("option_id") => false,
        Some(value) if value.eq_ignore_ascii_case("option_name") => true,
        Some(_) => return Err(ApiError::parameter_invalid("sort_col")),
    };
    let paging = paging.with_direction(params)?;
    store.read(|data| {
        let mut rows: Vec<&OptionRecord> = data
            .own_options()
            .filter(|option| option_name.is_none_or(|wanted| contains_ignoring_case(&option.name, wanted)))
            .filter(|option| {
                option_value_name
                    .is_none_or(|wanted| option.values.iter().any(|value| contains_ignoring_case(&value.name, wanted)))
            })
            .collect();
        rows.sort_by(|a, b| {
            let names =
                if by_name { a.name.to_lowercase().cmp(&b.name.to_lowercase()) } else { std::cmp::Ordering::Equal };
            let ascending = names.then_with(|| a.option_id.cmp(&b.option_id));
            if paging.descending == Some(true) { ascending.reverse() } else { ascending }
        });
        let (rows, page_info) = paging.page(rows, origin, "products/list_options", params)?;
        let options: Vec<Value> = rows.into_iter().map(option_json).collect();
        Ok(ok("Option information retrieved successfully.", json!({ "options": options, "page_info": page_info })))
    })
}

/// The own option `option_id` names: RECORD_NOT_FOUND when none has it, FORBIDDEN when it is
/// another seller's.
fn own_option_position(data: &CatalogData, option_id: u64) -> Result<usize, ApiError> {
    let index =
        data.options.iter().position(|option| option.option_id == option_id).ok_or_else(ApiError::record_not_found)?;
    if data.options[index].vendor_id != data.own_vendor_id {
        return Err(ApiError::rule("FORBIDDEN", "Access denied to option."));
    }
    Ok(index)
}

/// `products/detail_option`: the option as an array of one under `option`, as every client
/// reads it (`option[0]`).
pub fn detail_option(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let option_id = required_id(params, "option_id")?;
    store.read(|data| {
        let index = own_option_position(data, option_id)?;
        let option = option_json(&data.options[index]);
        Ok(ok("Option detail retrieved successfully.", json!({ "option": [option] })))
    })
}

/// The repeated `option_value_name` / `option_value_surcharge` of a request, paired by position.
struct ValueInputs {
    names: Vec<String>,
    surcharges: Vec<Money>,
}

impl ValueInputs {
    fn parse(params: &Params) -> Result<ValueInputs, ApiError> {
        let names = params.get_all("option_value_name");
        if names.iter().any(|name| name.chars().count() > MAX_TEXT_CHARS) {
            return Err(ApiError::parameter_invalid("option_value_name"));
        }
        let surcharges = params
            .get_all("option_value_surcharge")
            .into_iter()
            .map(|text| parse_amount(text, true).ok_or_else(|| ApiError::parameter_invalid("option_value_surcharge")))
            .collect::<Result<Vec<Money>, ApiError>>()?;
        Ok(ValueInputs { names: names.into_iter().map(str::to_owned).collect(), surcharges })
    }

    /// New values: as many names as surcharges, each pair one value.
    fn new_values(self, data: &mut CatalogData) -> Result<Vec<OptionValueRecord>, ApiError> {
        if self.surcharges.len() != self.names.len() {
            return Err(ApiError::parameter_invalid("option_value_surcharge"));
        }
        Ok(self
            .names
            .into_iter()
            .zip(self.surcharges)
            .map(|(name, surcharge)| OptionValueRecord { option_value_id: data.allocate_id(), name, surcharge })
            .collect())
    }
}

/// `products/create_option`: a name and at least one value.
pub fn create_option(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let name =
        text_param(params, "option_name", MAX_TEXT_CHARS)?.ok_or_else(|| ApiError::parameter_missing("option_name"))?;
    if params.get_all("option_value_name").is_empty() {
        return Err(ApiError::parameter_missing("option_value_name"));
    }
    let values = ValueInputs::parse(params)?;
    if values.surcharges.is_empty() {
        return Err(ApiError::parameter_missing("option_value_surcharge"));
    }
    store.write(|data| {
        let option_id = data.allocate_id();
        let values = values.new_values(data)?;
        data.options.push(OptionRecord { option_id, vendor_id: data.own_vendor_id.clone(), name, values });
        Ok(ok("Option created successfully", json!({ "option_id": option_id.to_string() })))
    })
}

/// `products/update_option`: renames the option; with `option_value_id` changes (name and/or
/// surcharge given) or deletes (neither given) those values; without, adds the values given.
pub fn update_option(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let option_id = required_id(params, "option_id")?;
    let name =
        text_param(params, "option_name", MAX_TEXT_CHARS)?.ok_or_else(|| ApiError::parameter_missing("option_name"))?;
    let value_ids = id_list(params, "option_value_id")?.unwrap_or_default();
    let values = ValueInputs::parse(params)?;
    store.write(|data| {
        let index = own_option_position(data, option_id)?;
        let mut option = data.options[index].clone();
        option.name = name;
        if value_ids.is_empty() {
            let added = values.new_values(data)?;
            option.values.extend(added);
        } else {
            if !value_ids.iter().all(|id| option.values.iter().any(|value| value.option_value_id == *id)) {
                return Err(foreign_value());
            }
            // Names and surcharges pair with the ids by position: none of a kind, or one per id.
            if !values.names.is_empty() && values.names.len() != value_ids.len() {
                return Err(ApiError::parameter_invalid("option_value_name"));
            }
            if !values.surcharges.is_empty() && values.surcharges.len() != value_ids.len() {
                return Err(ApiError::parameter_invalid("option_value_surcharge"));
            }
            let deleting = values.names.is_empty() && values.surcharges.is_empty();
            for (position, id) in value_ids.iter().enumerate() {
                if deleting {
                    option.values.retain(|value| value.option_value_id != *id);
                    continue;
                }
                if let Some(value) = option.values.iter_mut().find(|value| value.option_value_id == *id) {
                    if let Some(name) = values.names.get(position) {
                        value.name.clone_from(name);
                    }
                    if let Some(&surcharge) = values.surcharges.get(position) {
                        value.surcharge = surcharge;
                    }
                }
            }
            // create_option requires a value, so an option never has none.
            if option.values.is_empty() {
                return Err(ApiError::parameter_invalid("option_value_id"));
            }
        }
        data.options[index] = option;
        Ok(ok("Option updated successfully", json!({})))
    })
}

/// `products/delete_option`; products it was assigned to lose it.
pub fn delete_option(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let option_id = required_id(params, "option_id")?;
    store.write(|data| {
        let index = own_option_position(data, option_id)?;
        data.options.remove(index);
        for product in &mut data.products {
            product.option_ids.retain(|&id| id != option_id);
        }
        Ok(ok("Option deleted successfully", json!({})))
    })
}
