//! Domain answers into CatalogService messages (`From`, infallible): absent
//! values become proto defaults, and a coupon type the gateway does not know
//! keeps its raw text beside UNSPECIFIED.

use super::super::proto;
use crate::domain::{self, Amount, CatalogReceipt, CommissionType, CouponType};

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn money(value: Option<Amount>) -> String {
    value.map(|a| a.to_string()).unwrap_or_default()
}

impl From<domain::OptionValue> for proto::OptionValue {
    fn from(v: domain::OptionValue) -> Self {
        Self { option_value_id: v.value_id.to_string(), name: v.name, surcharge: v.surcharge.to_string() }
    }
}

impl From<domain::ProductOption> for proto::ProductOption {
    fn from(o: domain::ProductOption) -> Self {
        Self {
            option_id: o.option_id.to_string(),
            name: o.name,
            values: o.values.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<domain::Product> for proto::Product {
    fn from(p: domain::Product) -> Self {
        Self {
            product_id: p.product_id.to_string(),
            assigned_product_id: text(&p.assigned_product_id),
            vendor_id: text(&p.vendor_id),
            vendor_product_id: text(&p.vendor_product_id),
            name: p.name,
            description: text(&p.description),
            long_description: text(&p.long_description),
            price: p.price.to_string(),
            tangible: p.tangible,
            weight: money(p.weight),
            handling: money(p.handling),
            recurring: p.recurring,
            recurrence: text(&p.recurrence),
            duration: text(&p.duration),
            startup_fee: money(p.startup_fee),
            pending_url: text(&p.pending_url),
            approved_url: text(&p.approved_url),
            commission: p.commission,
            commission_type: match p.commission_type {
                None => proto::CommissionType::Unspecified,
                Some(CommissionType::Amount) => proto::CommissionType::Amount,
                Some(CommissionType::Percentage) => proto::CommissionType::Percentage,
            }
            .into(),
            commission_amount: money(p.commission_amount),
            images: p
                .images
                .into_iter()
                .map(|i| proto::ProductImage { image_id: i.image_id, image_number: i.image_number })
                .collect(),
            categories: p
                .categories
                .into_iter()
                .map(|c| proto::ProductCategory {
                    category_id: c.category_id,
                    name: text(&c.name),
                    parent_id: text(&c.parent_id),
                    parent_name: text(&c.parent_name),
                    description: text(&c.description),
                })
                .collect(),
            options: p.options.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<domain::Coupon> for proto::Coupon {
    fn from(c: domain::Coupon) -> Self {
        let coupon_type = match &c.coupon_type {
            CouponType::Sale => proto::CouponType::Sale,
            CouponType::Product => proto::CouponType::Product,
            CouponType::Shipping => proto::CouponType::Shipping,
            CouponType::Other(_) => proto::CouponType::Unspecified,
        };
        Self {
            coupon_code: c.code.to_string(),
            date_expire: c.date_expire,
            r#type: coupon_type.into(),
            vendor_type: c.coupon_type.as_vendor_str().to_owned(),
            minimum_purchase: money(c.minimum_purchase),
            percentage_off: text(&c.percentage_off),
            value_off: money(c.value_off),
            products: c
                .product_ids
                .map(|ids| proto::CouponProductIds { product_ids: ids.iter().map(ToString::to_string).collect() }),
        }
    }
}

/// The ids a receipt carries, as strings (empty when 2Checkout did not answer one).
pub struct ReceiptIds {
    pub product_id: String,
    pub assigned_product_id: String,
    pub option_id: String,
    pub coupon_code: String,
}

impl From<&CatalogReceipt> for ReceiptIds {
    fn from(r: &CatalogReceipt) -> Self {
        Self {
            product_id: r.product_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            assigned_product_id: text(&r.assigned_product_id),
            option_id: r.option_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            coupon_code: r.coupon_code.as_ref().map(ToString::to_string).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon(coupon_type: CouponType, product_ids: Option<Vec<&str>>) -> domain::Coupon {
        domain::Coupon {
            code: "SAVEJUNE".parse().unwrap(),
            date_expire: "2013-03-31".into(),
            coupon_type,
            minimum_purchase: Some(Amount::from_minor_units(299_999)),
            percentage_off: None,
            value_off: Some(Amount::from_minor_units(10_000)),
            product_ids: product_ids.map(|ids| ids.into_iter().map(|id| id.parse().unwrap()).collect()),
        }
    }

    #[test]
    fn a_coupon_keeps_its_money_as_decimal_strings_and_an_unknown_type_verbatim() {
        let known: proto::Coupon = coupon(CouponType::Product, None).into();
        assert_eq!((known.r#type(), known.vendor_type.as_str()), (proto::CouponType::Product, "product"));
        assert_eq!((known.minimum_purchase.as_str(), known.value_off.as_str()), ("2999.99", "100.00"));
        assert_eq!(known.percentage_off, "");
        assert_eq!(known.products, None, "a listing row does not say which products");
        let odd: proto::Coupon = coupon(CouponType::Other("bundle".into()), Some(vec![])).into();
        assert_eq!((odd.r#type(), odd.vendor_type.as_str()), (proto::CouponType::Unspecified, "bundle"));
        assert_eq!(odd.products, Some(proto::CouponProductIds { product_ids: vec![] }), "tied to no product");
    }

    #[test]
    fn a_product_with_nested_options_converts_whole() {
        let product = domain::Product {
            product_id: "4635212971".parse().unwrap(),
            assigned_product_id: Some("2559".into()),
            vendor_id: Some("1817037".into()),
            vendor_product_id: None,
            name: "API product".into(),
            description: Some("An API created product".into()),
            long_description: None,
            price: Amount::from_minor_units(1000),
            tangible: false,
            weight: None,
            handling: None,
            recurring: false,
            recurrence: None,
            duration: None,
            startup_fee: Some(Amount::from_minor_units(-50)),
            pending_url: None,
            approved_url: None,
            commission: false,
            commission_type: None,
            commission_amount: None,
            images: vec![],
            categories: vec![],
            options: vec![domain::ProductOption {
                option_id: "4023756741".parse().unwrap(),
                name: "extra benefit".into(),
                values: vec![domain::OptionValue {
                    value_id: "4023756744".parse().unwrap(),
                    name: "fast".into(),
                    surcharge: Amount::from_minor_units(50),
                }],
            }],
        };
        let p: proto::Product = product.into();
        assert_eq!((p.price.as_str(), p.startup_fee.as_str(), p.weight.as_str()), ("10.00", "-0.50", ""));
        assert_eq!(p.options[0].values[0].surcharge, "0.50");
        assert_eq!(p.options[0].values[0].option_value_id, "4023756744");
        assert_eq!(p.commission_type(), proto::CommissionType::Unspecified);
    }
}
