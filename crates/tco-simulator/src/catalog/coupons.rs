//! `products/list_coupons`, `detail_coupon`, `create_coupon`, `update_coupon` and
//! `delete_coupon`.

use serde_json::{Value, json};

use super::store::{CatalogData, CatalogStore, CouponKind, CouponProducts, CouponRecord};
use super::{amount_param, date_param, flag_param, id_list, money_or_null, ok};
use crate::params::Params;
use crate::records::Money;
use crate::render::ApiError;

/// The longest coupon code accepted.
const MAX_CODE_CHARS: usize = 64;
/// Generated codes: 7 characters of these, like the vendor's `7G2NCGX` and `7EBHJFP`.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const GENERATED_CODE_CHARS: usize = 7;

fn access_denied() -> ApiError {
    ApiError::rule("FORBIDDEN", "Access denied to coupon.")
}

/// A list entry: no `product` member (detail adds it).
fn entry_json(coupon: &CouponRecord) -> Value {
    json!({
        "coupon_code": coupon.coupon_code,
        "date_expire": coupon.date_expire,
        "minimum_purchase": coupon.minimum_purchase.to_string(),
        "percentage_off": coupon.percentage_off.map(|percent| percent.to_string()),
        "type": coupon.kind.name(),
        "value_off": money_or_null(coupon.value_off),
    })
}

/// `products/list_coupons`: every coupon, by code, under the singular key `coupon`. The
/// reference documents no parameters (clients' `pagesize` is ignored) and no `page_info`.
pub fn list_coupons(store: &CatalogStore) -> Result<Value, ApiError> {
    store.read(|data| {
        let mut coupons: Vec<&CouponRecord> = data.coupons.iter().collect();
        if coupons.is_empty() {
            return Err(ApiError::record_not_found());
        }
        coupons.sort_by(|a, b| a.coupon_code.cmp(&b.coupon_code));
        let coupons: Vec<Value> = coupons.into_iter().map(entry_json).collect();
        Ok(ok("Coupon information retrieved successfully.", json!({ "coupon": coupons })))
    })
}

/// The code a request names; an unknown one is FORBIDDEN, as the live API answers.
fn coupon_position(data: &CatalogData, code: &str) -> Result<usize, ApiError> {
    data.coupon_position(code).ok_or_else(access_denied)
}

fn required_code(params: &Params) -> Result<&str, ApiError> {
    params.get("coupon_code").ok_or_else(|| ApiError::parameter_missing("coupon_code"))
}

/// `products/detail_coupon`: the list entry plus `product`, `[{product_id, product_url}]`, with
/// product "0" when the coupon is tied to none.
pub fn detail_coupon(store: &CatalogStore, params: &Params, origin: &str) -> Result<Value, ApiError> {
    let code = required_code(params)?;
    store.read(|data| {
        let coupon = &data.coupons[coupon_position(data, code)?];
        let product_ids: Vec<u64> = match &coupon.products {
            CouponProducts::All => data.own_products().map(|product| product.product_id).collect(),
            CouponProducts::Listed(ids) => ids.clone(),
        };
        let product_ids = if product_ids.is_empty() { vec![0] } else { product_ids };
        let products: Vec<Value> = product_ids
            .into_iter()
            .map(|id| {
                json!({
                    "product_id": id.to_string(),
                    "product_url": format!("{origin}/api/products/detail_product?product_id={id}"),
                })
            })
            .collect();
        let mut coupon = entry_json(coupon);
        coupon["product"] = json!(products);
        Ok(ok("Coupon detail retrieved successfully.", json!({ "coupon": coupon })))
    })
}

/// A code the seller chooses: 1 to 64 ASCII letters, digits, `-` and `_`.
fn code_param(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(code)
            if code.len() <= MAX_CODE_CHARS
                && code.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') =>
        {
            Ok(Some(code.to_owned()))
        }
        Some(_) => Err(ApiError::parameter_invalid(name)),
    }
}

/// The terms create_coupon and update_coupon take, all optional here; validated in the
/// reference's order.
struct CouponTerms {
    date_expire: Option<String>,
    kind: Option<CouponKind>,
    percentage_off: Option<u8>,
    value_off: Option<Money>,
    minimum_purchase: Option<Money>,
    /// `product_id` repeated; `0` alone (tied to none, as detail_coupon writes it) is empty.
    product_ids: Option<Vec<u64>>,
    select_all: Option<bool>,
}

impl CouponTerms {
    /// `required`: create_coupon's `date_expire` and `type`.
    fn parse(params: &Params, required: bool) -> Result<CouponTerms, ApiError> {
        let date_expire = date_param(params, "date_expire")?;
        if required && date_expire.is_none() {
            return Err(ApiError::parameter_missing("date_expire"));
        }
        let kind = match params.get("type") {
            None if required => return Err(ApiError::parameter_missing("type")),
            None => None,
            Some(text) => Some(CouponKind::parse(text).ok_or_else(|| ApiError::parameter_invalid("type"))?),
        };
        let percentage_off = match params.get("percentage_off") {
            None => None,
            Some(text) => match text.parse::<u8>() {
                Ok(percent) if (1..=100).contains(&percent) && super::all_digits(text) => Some(percent),
                _ => return Err(ApiError::parameter_invalid("percentage_off")),
            },
        };
        let value_off = amount_param(params, "value_off", false)?;
        if value_off.is_some_and(|amount| amount < Money::from_cents(1)) {
            return Err(ApiError::parameter_invalid("value_off"));
        }
        if percentage_off.is_some() && value_off.is_some() {
            // Exclusive: the second one named is the one refused.
            return Err(ApiError::parameter_invalid("value_off"));
        }
        let minimum_purchase = amount_param(params, "minimum_purchase", false)?;
        let product_ids = id_list(params, "product_id")?.map(|ids| {
            let mut kept: Vec<u64> = Vec::new();
            for id in ids.into_iter().filter(|&id| id != 0) {
                if !kept.contains(&id) {
                    kept.push(id);
                }
            }
            kept
        });
        let select_all = flag_param(params, "select_all")?;
        Ok(CouponTerms { date_expire, kind, percentage_off, value_off, minimum_purchase, product_ids, select_all })
    }

    /// Writes the terms into `coupon`, then checks what its type needs. `creating`: a product
    /// coupon must name its products (or `select_all`).
    fn apply(self, data: &CatalogData, coupon: &mut CouponRecord, creating: bool) -> Result<(), ApiError> {
        if let Some(date_expire) = self.date_expire {
            coupon.date_expire = date_expire;
        }
        if let Some(kind) = self.kind {
            coupon.kind = kind;
        }
        let discount_given = if self.percentage_off.is_some() {
            Some("percentage_off")
        } else {
            self.value_off.is_some().then_some("value_off")
        };
        if self.percentage_off.is_some() || self.value_off.is_some() {
            coupon.percentage_off = self.percentage_off;
            coupon.value_off = self.value_off;
        }
        if let Some(minimum_purchase) = self.minimum_purchase {
            coupon.minimum_purchase = minimum_purchase;
        }
        let has_discount = coupon.percentage_off.is_some() || coupon.value_off.is_some();
        let names_products = self.product_ids.as_ref().is_some_and(|ids| !ids.is_empty());
        match coupon.kind {
            CouponKind::Shipping | CouponKind::Sale => {
                if coupon.kind == CouponKind::Shipping {
                    // A shipping coupon takes no discount (the reference: "only for sale/product").
                    if let Some(name) = discount_given {
                        return Err(ApiError::parameter_invalid(name));
                    }
                    coupon.percentage_off = None;
                    coupon.value_off = None;
                } else if !has_discount {
                    return Err(ApiError::parameter_missing("percentage_off_or_value_off"));
                }
                if names_products {
                    return Err(ApiError::parameter_invalid("product_id"));
                }
                if self.select_all == Some(true) {
                    return Err(ApiError::parameter_invalid("select_all"));
                }
                coupon.products = CouponProducts::Listed(Vec::new());
            }
            CouponKind::Product => {
                if !has_discount {
                    return Err(ApiError::parameter_missing("percentage_off_or_value_off"));
                }
                coupon.products = match (self.product_ids, self.select_all) {
                    (Some(ids), Some(true)) if !ids.is_empty() => {
                        return Err(ApiError::parameter_invalid("select_all"));
                    }
                    (_, Some(true)) => CouponProducts::All,
                    (Some(ids), _) if !ids.is_empty() => {
                        let known = |id: &u64| data.own_products().any(|product| product.product_id == *id);
                        if !ids.iter().all(known) {
                            return Err(ApiError::parameter_invalid("product_id"));
                        }
                        CouponProducts::Listed(ids)
                    }
                    // `product_id=0` or `select_all=0`: tied to none.
                    (Some(_), _) | (None, Some(false)) => CouponProducts::Listed(Vec::new()),
                    (None, None) if creating => return Err(ApiError::parameter_missing("product_id")),
                    (None, None) => coupon.products.clone(),
                };
            }
        }
        Ok(())
    }
}

/// A fresh 7-character code no coupon has.
fn generate_code(data: &mut CatalogData) -> String {
    loop {
        let code: String = (0..GENERATED_CODE_CHARS).map(|_| char::from(*data.code_rng.pick(CODE_ALPHABET))).collect();
        if data.coupon_position(&code).is_none() {
            return code;
        }
    }
}

/// `products/create_coupon`: `date_expire` and `type` required; a code is generated when none
/// is given.
pub fn create_coupon(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let code = code_param(params, "coupon_code")?;
    let terms = CouponTerms::parse(params, true)?;
    store.write(|data| {
        if code.as_deref().is_some_and(|code| data.coupon_position(code).is_some()) {
            return Err(ApiError::parameter_invalid("coupon_code"));
        }
        let mut coupon = CouponRecord {
            coupon_code: String::new(),
            date_expire: String::new(),
            kind: CouponKind::Sale,
            minimum_purchase: Money::ZERO,
            percentage_off: None,
            value_off: None,
            products: CouponProducts::Listed(Vec::new()),
        };
        terms.apply(data, &mut coupon, true)?;
        coupon.coupon_code = match code {
            Some(code) => code,
            None => generate_code(data),
        };
        let answer = ok("Coupon successfully created", json!({ "coupon_code": coupon.coupon_code }));
        data.coupons.push(coupon);
        Ok(answer)
    })
}

/// `products/update_coupon`: partial updates accepted (no `type` needed, as the suites send
/// them); `new_code` renames.
pub fn update_coupon(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let code = required_code(params)?;
    let new_code = code_param(params, "new_code")?;
    let terms = CouponTerms::parse(params, false)?;
    store.write(|data| {
        let index = coupon_position(data, code)?;
        let mut coupon = data.coupons[index].clone();
        if let Some(new_code) = new_code {
            if data.coupon_position(&new_code).is_some_and(|other| other != index) {
                return Err(ApiError::parameter_invalid("new_code"));
            }
            coupon.coupon_code = new_code;
        }
        terms.apply(data, &mut coupon, false)?;
        let answer = ok("Coupon updated successfully", json!({ "coupon_code": coupon.coupon_code }));
        data.coupons[index] = coupon;
        Ok(answer)
    })
}

/// `products/delete_coupon`.
pub fn delete_coupon(store: &CatalogStore, params: &Params) -> Result<Value, ApiError> {
    let code = required_code(params)?;
    store.write(|data| {
        let index = coupon_position(data, code)?;
        data.coupons.remove(index);
        Ok(ok("Coupon successfully deleted.", json!({})))
    })
}
