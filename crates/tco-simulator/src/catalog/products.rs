//! `products/list_products`, `detail_product`, `create_product`, `update_product` and
//! `delete_product`.

use serde_json::{Value, json};

use super::store::{CatalogData, CatalogStore, CouponProducts, ProductRecord};
use super::{
    MAX_LONG_TEXT_CHARS, MAX_TEXT_CHARS, Paging, amount_param, contains_ignoring_case, flag_param, id_list, id_param,
    ok, product_json, required_id, text_param,
};
use crate::params::Params;
use crate::records::Money;
use crate::render::ApiError;

/// list_products' `sort_col` values, as documented (matched in any case).
const SORT_COLUMNS: [&str; 19] = [
    "product_id",
    "name",
    "description",
    "option_id",
    "price",
    "vendor_product_id",
    "assigned_product_id",
    "tangible",
    "weight",
    "handling",
    "long_description",
    "pending_url",
    "approved_url",
    "startup_fee",
    "recurrence",
    "duration",
    "category_id",
    "commission_amount",
    "commission_type",
];

/// What a sort column compares; one column always yields one variant. `None` (an unset field)
/// orders first, like SQL NULLs in ascending order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(u64),
    Cents(i64),
    Text(String),
}

fn sort_key(product: &ProductRecord, column: &str) -> Option<SortKey> {
    let text = |value: &Option<String>| value.as_ref().map(|text| SortKey::Text(text.to_lowercase()));
    let cents = |value: Option<Money>| value.map(|money| SortKey::Cents(money.cents()));
    match column {
        "name" => Some(SortKey::Text(product.name.to_lowercase())),
        "description" => text(&product.description),
        "option_id" => product.option_ids.first().copied().map(SortKey::Number),
        "price" => cents(Some(product.price)),
        "vendor_product_id" => text(&product.vendor_product_id),
        "assigned_product_id" => Some(SortKey::Number(product.assigned_product_id)),
        "tangible" => Some(SortKey::Number(u64::from(product.tangible))),
        "weight" => cents(product.weight),
        "handling" => cents(product.handling),
        "long_description" => text(&product.long_description),
        "pending_url" => text(&product.pending_url),
        "approved_url" => text(&product.approved_url),
        "startup_fee" => cents(product.startup_fee),
        "recurrence" => text(&product.recurrence),
        "duration" => text(&product.duration),
        "category_id" => product.category_ids.first().copied().map(SortKey::Number),
        "commission_amount" => cents(product.commission_amount),
        "commission_type" => text(&product.commission_type),
        // product_id: the tie-breaker alone decides.
        _ => None,
    }
}

/// `products/list_products`: a page of the seller's products.
pub fn list_products(store: &CatalogStore, params: &Params, origin: &str) -> Result<Value, ApiError> {
    let assigned_product_id = id_param(params, "assigned_product_id")?;
    let vendor_product_id = params.get("vendor_product_id");
    let name = params.get("name");
    let paging = Paging::parse(params)?;
    let column = match params.get("sort_col") {
        None => "product_id",
        Some(value) => SORT_COLUMNS
            .into_iter()
            .find(|column| column.eq_ignore_ascii_case(value))
            .ok_or_else(|| ApiError::parameter_invalid("sort_col"))?,
    };
    let paging = paging.with_direction(params)?;
    store.read(|data| {
        let mut rows: Vec<&ProductRecord> = data
            .own_products()
            .filter(|product| assigned_product_id.is_none_or(|id| product.assigned_product_id == id))
            .filter(|product| {
                vendor_product_id
                    .is_none_or(|wanted| product.vendor_product_id.as_deref().is_some_and(|id| id.contains(wanted)))
            })
            .filter(|product| name.is_none_or(|wanted| contains_ignoring_case(&product.name, wanted)))
            .collect();
        rows.sort_by(|a, b| {
            let ascending = sort_key(a, column).cmp(&sort_key(b, column)).then_with(|| a.product_id.cmp(&b.product_id));
            if paging.descending == Some(true) { ascending.reverse() } else { ascending }
        });
        let (rows, page_info) = paging.page(rows, origin, "products/list_products", params)?;
        let products: Vec<Value> = rows.into_iter().map(|product| product_json(data, product)).collect();
        Ok(ok("Product information retrieved successfully.", json!({ "page_info": page_info, "products": products })))
    })
}

/// The own product `product_id` names: RECORD_NOT_FOUND when none has it, FORBIDDEN when it
/// is another seller's.
fn own_product_position(data: &CatalogData, product_id: u64) -> Result<usize, ApiError> {
    let index = data
        .products
        .iter()
        .position(|product| product.product_id == product_id)
        .ok_or_else(ApiError::record_not_found)?;
    if data.products[index].vendor_id != data.own_vendor_id {
        return Err(ApiError::rule("FORBIDDEN", "Access denied to product."));
    }
    Ok(index)
}

/// `products/detail_product`.
pub fn detail_product(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let product_id = required_id(params, "product_id")?;
    store.read(|data| {
        let index = own_product_position(data, product_id)?;
        let product = product_json(data, &data.products[index]);
        Ok(ok("Product detail information retrieved successfully", json!({ "product": product })))
    })
}

/// The fields create_product and update_product take, validated in the reference's order.
struct ProductFields {
    name: Option<String>,
    price: Option<Money>,
    vendor_product_id: Option<String>,
    description: Option<String>,
    long_description: Option<String>,
    pending_url: Option<String>,
    approved_url: Option<String>,
    tangible: Option<bool>,
    weight: Option<Money>,
    handling: Option<Money>,
    recurring: Option<bool>,
    startup_fee: Option<Money>,
    recurrence: Option<String>,
    duration: Option<String>,
    commission: Option<bool>,
    commission_type: Option<String>,
    commission_amount: Option<Money>,
    option_ids: Option<Vec<u64>>,
    category_ids: Option<Vec<u64>>,
}

/// `# Week`, `# Month` or `# Year` (a count of at least 1).
fn is_period(text: &str) -> bool {
    text.split_once(' ').is_some_and(|(count, unit)| {
        super::all_digits(count)
            && count.parse::<u32>().is_ok_and(|count| count >= 1)
            && matches!(unit, "Week" | "Month" | "Year")
    })
}

impl ProductFields {
    /// `required`: create_product's name and price.
    fn parse(params: &Params, required: bool) -> Result<ProductFields, ApiError> {
        let name = text_param(params, "name", MAX_TEXT_CHARS)?;
        if required && name.is_none() {
            return Err(ApiError::parameter_missing("name"));
        }
        let price = amount_param(params, "price", false)?;
        if required && price.is_none() {
            return Err(ApiError::parameter_missing("price"));
        }
        let url = |name: &str| -> Result<Option<String>, ApiError> {
            match text_param(params, name, MAX_TEXT_CHARS)? {
                Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                    Err(ApiError::parameter_invalid(name))
                }
                other => Ok(other),
            }
        };
        let period = |name: &str, forever: bool| -> Result<Option<String>, ApiError> {
            match params.get(name) {
                Some(value) if is_period(value) || (forever && value == "Forever") => Ok(Some(value.to_owned())),
                Some(_) => Err(ApiError::parameter_invalid(name)),
                None => Ok(None),
            }
        };
        Ok(ProductFields {
            name,
            price,
            vendor_product_id: text_param(params, "vendor_product_id", MAX_TEXT_CHARS)?,
            description: text_param(params, "description", MAX_TEXT_CHARS)?,
            long_description: text_param(params, "long_description", MAX_LONG_TEXT_CHARS)?,
            pending_url: url("pending_url")?,
            approved_url: url("approved_url")?,
            tangible: flag_param(params, "tangible")?,
            weight: amount_param(params, "weight", false)?,
            handling: amount_param(params, "handling", false)?,
            recurring: flag_param(params, "recurring")?,
            startup_fee: amount_param(params, "startup_fee", true)?,
            recurrence: period("recurrence", false)?,
            duration: period("duration", true)?,
            commission: flag_param(params, "commission")?,
            commission_type: match params.get("commission_type") {
                Some(kind @ ("amount" | "percentage")) => Some(kind.to_owned()),
                Some(_) => return Err(ApiError::parameter_invalid("commission_type")),
                None => None,
            },
            commission_amount: amount_param(params, "commission_amount", false)?,
            option_ids: id_list(params, "option_id")?,
            category_ids: id_list(params, "category_id")?,
        })
    }

    /// Writes the fields given into `product`, then checks what the product as a whole needs.
    fn apply(self, data: &CatalogData, product: &mut ProductRecord) -> Result<(), ApiError> {
        if let Some(option_ids) = &self.option_ids {
            let known = |id: &u64| data.own_options().any(|option| option.option_id == *id);
            if !option_ids.iter().all(known) {
                return Err(ApiError::parameter_invalid("option_id"));
            }
        }
        if let Some(category_ids) = &self.category_ids
            && !category_ids.iter().all(|&id| data.category(id).is_some())
        {
            return Err(ApiError::parameter_invalid("category_id"));
        }
        let set = |target: &mut Option<String>, value: Option<String>| {
            if value.is_some() {
                *target = value;
            }
        };
        let set_money = |target: &mut Option<Money>, value: Option<Money>| {
            if value.is_some() {
                *target = value;
            }
        };
        if let Some(name) = self.name {
            product.name = name;
        }
        if let Some(price) = self.price {
            product.price = price;
        }
        set(&mut product.vendor_product_id, self.vendor_product_id);
        set(&mut product.description, self.description);
        set(&mut product.long_description, self.long_description);
        set(&mut product.pending_url, self.pending_url);
        set(&mut product.approved_url, self.approved_url);
        product.tangible = self.tangible.unwrap_or(product.tangible);
        set_money(&mut product.weight, self.weight);
        set_money(&mut product.handling, self.handling);
        product.recurring = self.recurring.unwrap_or(product.recurring);
        set_money(&mut product.startup_fee, self.startup_fee);
        set(&mut product.recurrence, self.recurrence);
        set(&mut product.duration, self.duration);
        product.commission = self.commission.unwrap_or(product.commission);
        set(&mut product.commission_type, self.commission_type);
        set_money(&mut product.commission_amount, self.commission_amount);
        if let Some(option_ids) = self.option_ids {
            product.option_ids = dedup(option_ids);
        }
        if let Some(category_ids) = self.category_ids {
            product.category_ids = dedup(category_ids);
        }
        // The reference marks these "required for recurring" / "for affiliate products".
        if product.recurring && product.recurrence.is_none() {
            return Err(ApiError::parameter_missing("recurrence"));
        }
        if product.recurring && product.duration.is_none() {
            return Err(ApiError::parameter_missing("duration"));
        }
        if product.commission && product.commission_type.is_none() {
            return Err(ApiError::parameter_missing("commission_type"));
        }
        if product.commission && product.commission_amount.is_none() {
            return Err(ApiError::parameter_missing("commission_amount"));
        }
        Ok(())
    }
}

/// Keeps the first of repeated ids, in the order sent.
fn dedup(ids: Vec<u64>) -> Vec<u64> {
    let mut kept = Vec::with_capacity(ids.len());
    for id in ids {
        if !kept.contains(&id) {
            kept.push(id);
        }
    }
    kept
}

fn receipt(message: &str, product: &ProductRecord) -> Value {
    ok(
        message,
        json!({
            "assigned_product_id": product.assigned_product_id.to_string(),
            "product_id": product.product_id.to_string(),
        }),
    )
}

/// `products/create_product` (the 2020 suites' message, with its period).
pub fn create_product(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let fields = ProductFields::parse(params, true)?;
    store.write(|data| {
        let mut product = ProductRecord::bare(0, 0, data.own_vendor_id.clone(), String::new(), Money::ZERO);
        fields.apply(data, &mut product)?;
        product.product_id = data.allocate_id();
        product.assigned_product_id = data.next_assigned_product_id;
        data.next_assigned_product_id = data.next_assigned_product_id.saturating_add(1);
        let answer = receipt("Product successfully created.", &product);
        data.products.push(product);
        Ok(answer)
    })
}

/// `products/update_product`: any field, partial updates accepted (as the suites send them).
pub fn update_product(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let product_id = required_id(params, "product_id")?;
    let fields = ProductFields::parse(params, false)?;
    store.write(|data| {
        let index = own_product_position(data, product_id)?;
        let mut product = data.products[index].clone();
        fields.apply(data, &mut product)?;
        let answer = receipt("Product successfully updated", &product);
        data.products[index] = product;
        Ok(answer)
    })
}

/// `products/delete_product`; coupons tied to the product lose it.
pub fn delete_product(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let product_id = required_id(params, "product_id")?;
    store.write(|data| {
        let index = own_product_position(data, product_id)?;
        data.products.remove(index);
        for coupon in &mut data.coupons {
            if let CouponProducts::Listed(ids) = &mut coupon.products {
                ids.retain(|&id| id != product_id);
            }
        }
        Ok(ok("Product successfully deleted.", json!({})))
    })
}
