//! The catalog's typed records (products, options, coupons) and their store.
//!
//! Everything sits behind one lock. A write runs on a copy of the whole catalog and the copy
//! replaces it only when the endpoint's rule succeeds, like the sales store does per sale: a
//! refused write leaves nothing behind, and two writes never interleave. The catalog is small
//! (tens of records, plus what a test creates), so copying it is cheaper than reasoning about
//! partial updates across products, options and coupons that refer to each other.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::prng::SplitMix64;
use crate::records::Money;

/// A product as the vendor keeps it; options and categories are referred to by id, so a change
/// to an option shows in every product it is assigned to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRecord {
    pub product_id: u64,
    /// The seller's own counter ("2CO ID"), 1, 2, … in creation order.
    pub assigned_product_id: u64,
    pub vendor_id: String,
    pub vendor_product_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub long_description: Option<String>,
    pub price: Money,
    pub tangible: bool,
    pub weight: Option<Money>,
    pub handling: Option<Money>,
    pub recurring: bool,
    pub recurrence: Option<String>,
    pub duration: Option<String>,
    pub startup_fee: Option<Money>,
    pub pending_url: Option<String>,
    pub approved_url: Option<String>,
    pub commission: bool,
    pub commission_type: Option<String>,
    pub commission_amount: Option<Money>,
    pub category_ids: Vec<u64>,
    pub option_ids: Vec<u64>,
}

impl ProductRecord {
    /// A product with only its ids, seller, name and price: every optional field unset, every
    /// flag off, no options or categories (what create_product starts from, and the seed too).
    pub fn bare(product_id: u64, assigned_product_id: u64, vendor_id: String, name: String, price: Money) -> Self {
        ProductRecord {
            product_id,
            assigned_product_id,
            vendor_id,
            vendor_product_id: None,
            name,
            description: None,
            long_description: None,
            price,
            tangible: false,
            weight: None,
            handling: None,
            recurring: false,
            recurrence: None,
            duration: None,
            startup_fee: None,
            pending_url: None,
            approved_url: None,
            commission: false,
            commission_type: None,
            commission_amount: None,
            category_ids: Vec::new(),
            option_ids: Vec::new(),
        }
    }
}

/// A product option with its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionRecord {
    pub option_id: u64,
    pub vendor_id: String,
    pub name: String,
    pub values: Vec<OptionValueRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionValueRecord {
    pub option_value_id: u64,
    pub name: String,
    pub surcharge: Money,
}

/// One of the vendor's product categories (a fixed list: the API cannot create them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Category {
    pub category_id: u64,
    pub name: &'static str,
    pub parent_id: Option<u64>,
    pub description: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponKind {
    Sale,
    Product,
    Shipping,
}

impl CouponKind {
    pub fn parse(text: &str) -> Option<CouponKind> {
        match text.to_ascii_lowercase().as_str() {
            "sale" => Some(CouponKind::Sale),
            "product" => Some(CouponKind::Product),
            "shipping" => Some(CouponKind::Shipping),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CouponKind::Sale => "sale",
            CouponKind::Product => "product",
            CouponKind::Shipping => "shipping",
        }
    }
}

/// Which products a coupon is tied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CouponProducts {
    /// `select_all=1`: every product of the seller, as the catalog stands when it is read.
    All,
    /// These products (none: the vendor's `product_id` "0").
    Listed(Vec<u64>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CouponRecord {
    pub coupon_code: String,
    /// `YYYY-MM-DD`.
    pub date_expire: String,
    pub kind: CouponKind,
    pub minimum_purchase: Money,
    /// Whole percent, 1 to 100.
    pub percentage_off: Option<u8>,
    pub value_off: Option<Money>,
    pub products: CouponProducts,
}

/// Everything the catalog holds; endpoints read and change it through [`CatalogStore`].
#[derive(Clone, Debug)]
pub struct CatalogData {
    /// The vendor the API user belongs to; other vendors' records are FORBIDDEN and unlisted.
    pub own_vendor_id: String,
    pub products: Vec<ProductRecord>,
    pub options: Vec<OptionRecord>,
    pub coupons: Vec<CouponRecord>,
    pub categories: &'static [Category],
    /// The next product, option or option value id a write hands out.
    pub next_id: u64,
    /// The next `assigned_product_id`.
    pub next_assigned_product_id: u64,
    /// Draws the codes of coupons created without one (seeded: the same run, the same codes).
    pub code_rng: SplitMix64,
}

impl CatalogData {
    pub fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    pub fn own_products(&self) -> impl Iterator<Item = &ProductRecord> {
        self.products.iter().filter(|product| product.vendor_id == self.own_vendor_id)
    }

    pub fn own_options(&self) -> impl Iterator<Item = &OptionRecord> {
        self.options.iter().filter(|option| option.vendor_id == self.own_vendor_id)
    }

    pub fn option(&self, option_id: u64) -> Option<&OptionRecord> {
        self.options.iter().find(|option| option.option_id == option_id)
    }

    pub fn category(&self, category_id: u64) -> Option<&Category> {
        self.categories.iter().find(|category| category.category_id == category_id)
    }

    pub fn coupon_position(&self, code: &str) -> Option<usize> {
        self.coupons.iter().position(|coupon| coupon.coupon_code == code)
    }
}

pub struct CatalogStore {
    data: RwLock<CatalogData>,
}

impl CatalogStore {
    pub fn new(data: CatalogData) -> Self {
        CatalogStore { data: RwLock::new(data) }
    }

    /// Runs `read` on the catalog as it stands.
    pub fn read<T>(&self, read: impl FnOnce(&CatalogData) -> T) -> T {
        read(&self.read_lock())
    }

    /// Runs `rule` on a copy of the catalog, which replaces it only if the rule succeeds.
    pub fn write<T, E>(&self, rule: impl FnOnce(&mut CatalogData) -> Result<T, E>) -> Result<T, E> {
        let mut data = self.write_lock();
        let mut draft = data.clone();
        let outcome = rule(&mut draft)?;
        *data = draft;
        Ok(outcome)
    }

    fn read_lock(&self) -> RwLockReadGuard<'_, CatalogData> {
        // A rule works on a copy, so a panic in one leaves the catalog intact: keep serving it.
        self.data.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, CatalogData> {
        self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
