//! Builds the catalog a seeded simulator starts with: products, options and coupons like a real
//! account's, deterministic from the configuration's seed (the same seed, the same catalog).
//!
//! Ids are 10-digit, like the live API's of 2012–2014 (not the sandbox's 13-digit `90…`): the
//! seeded sales already sell the 13 products of their catalogue under 10-digit product ids
//! (`9000000101` …), which the catalog lists with the same ids, vendor product ids, names and
//! prices, and the live PHP suite's fixtures (product `4774387610`, option `4774404362`, coupon
//! `7EBHJFP`) can be served as they are.
//!
//! Fixed records (whatever the seed): the documented product [`DOCUMENTED_PRODUCT_ID`] "Test
//! Product"; the 13 products the seeded sales sell; [`API_PRODUCT_ID`] "API product" (the
//! Node wiki's example, 10.00, with the options "extra benefit" and "decibels"); the options
//! [`DOCUMENTED_OPTION_ID`] "Size" (S, M, L at 0.00, XL at 2.00: what the seeded T-shirt sales
//! carry, assigned to both T-shirts), `4688355343` "decibels" and `4688550010` "Volume" (the
//! documentation's examples, value ids as documented or counted up by 3 where not), and
//! `4023756741` "extra benefit"; the four coupons [`SEEDED_COUPON_CODES`] (the Ruby wiki's three
//! and the PHP suite's `7EBHJFP`); another vendor's product [`FOREIGN_PRODUCT_ID`] and option
//! [`FOREIGN_OPTION_ID`]. Drawn from the seed: eight more products (ids `9000000115` …: price,
//! category, options) and sixteen more options (ids `9000000301` + 10 k: values and
//! surcharges).

use crate::catalog::store::{
    CatalogData, Category, CouponKind, CouponProducts, CouponRecord, OptionRecord, OptionValueRecord, ProductRecord,
};
use crate::prng::SplitMix64;
use crate::records::Money;
use crate::seed::{FOREIGN_VENDOR_ID, OWN_VENDOR_ID};

/// The product the vendor's .NET documentation lists first and the live PHP suite reads back.
pub const DOCUMENTED_PRODUCT_ID: &str = "4774387610";
/// "API product" (the Node wiki's example), with the options "extra benefit" and "decibels".
pub const API_PRODUCT_ID: &str = "9000000114";
/// The option the live PHP suite reads back ("Size", on both T-shirts).
pub const DOCUMENTED_OPTION_ID: &str = "4774404362";
/// Another vendor's product: FORBIDDEN "Access denied to product.", never listed.
pub const FOREIGN_PRODUCT_ID: &str = "8000000101";
/// Another vendor's option: FORBIDDEN "Access denied to option.", never listed.
pub const FOREIGN_OPTION_ID: &str = "8000000301";
/// The seeded coupons, in code order (the order list_coupons answers).
pub const SEEDED_COUPON_CODES: [&str; 4] = ["7EBHJFP", "COUPON", "FREESHIPPING", "SAVEJUNE"];

/// Salts the seed so the catalog's draws never disturb (nor depend on) the sales' draws.
const CATALOG_SEED_SALT: u64 = 0xCA7A_1060_0000_0019;
/// Salts the seed of the generated coupon codes.
const COUPON_CODE_SEED_SALT: u64 = 0xC0DE_0000_0000_0019;

const FIRST_GENERATED_PRODUCT_ID: u64 = 9_000_000_115;
const FIRST_GENERATED_OPTION_ID: u64 = 9_000_000_301;
const GENERATED_OPTION_ID_STEP: u64 = 10;

/// The vendor's category list (the API cannot change it): the documented "Advice & Instruction"
/// under "Business Solutions & Office Products", and a few more of the same form.
pub const CATEGORIES: &[Category] = &[
    Category { category_id: 2, name: "Business Solutions & Office Products", parent_id: None, description: None },
    Category { category_id: 21, name: "Advice & Instruction", parent_id: Some(2), description: None },
    Category { category_id: 5, name: "Books & Magazines", parent_id: None, description: None },
    Category { category_id: 51, name: "E-books", parent_id: Some(5), description: None },
    Category { category_id: 7, name: "Clothing & Accessories", parent_id: None, description: None },
    Category { category_id: 9, name: "Software", parent_id: None, description: None },
    Category { category_id: 91, name: "Web Hosting", parent_id: Some(9), description: None },
];

/// How a fixed product is described: `(id, vendor product id, name, description, price cents,
/// handling cents (tangible when set), recurrence, duration, startup fee cents, category)`.
type FixedProduct = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<i64>,
    Option<&'static str>,
    Option<&'static str>,
    Option<i64>,
    Option<u64>,
);

/// The seeded sales' catalogue (seed.rs), as the catalog lists it.
const SOLD_PRODUCTS: [FixedProduct; 13] = [
    (
        9_000_000_101,
        "EBOOK-RUST-01",
        "Rust in Practice (e-book)",
        "PDF and EPUB editions",
        1999,
        None,
        None,
        None,
        None,
        Some(51),
    ),
    (9_000_000_102, "EBOOK-GO-02", "Go Patterns (e-book)", "PDF edition", 1499, None, None, None, None, Some(51)),
    (9_000_000_103, "TEE-BLK-M", "Logo T-shirt, black", "Cotton T-shirt", 2200, Some(350), None, None, None, Some(7)),
    (9_000_000_104, "TEE-WHT-L", "Logo T-shirt, white", "Cotton T-shirt", 2200, Some(350), None, None, None, Some(7)),
    (9_000_000_105, "MUG-CERAMIC-01", "Ceramic mug", "350 ml mug", 1250, Some(500), None, None, None, None),
    (
        9_000_000_106,
        "SAAS-BASIC-M",
        "Hosting Basic (monthly)",
        "1 site, 10 GB",
        900,
        None,
        Some("1 Month"),
        Some("Forever"),
        None,
        Some(91),
    ),
    (
        9_000_000_107,
        "SAAS-PRO-M",
        "Hosting Pro (monthly)",
        "10 sites, 100 GB",
        2900,
        None,
        Some("1 Month"),
        Some("Forever"),
        Some(1000),
        Some(91),
    ),
    (
        9_000_000_108,
        "SAAS-PRO-Y",
        "Hosting Pro (yearly)",
        "10 sites, 100 GB",
        29900,
        None,
        Some("1 Year"),
        Some("Forever"),
        None,
        Some(91),
    ),
    (
        9_000_000_109,
        "NEWS-WEEKLY",
        "Weekly newsletter",
        "Premium issues",
        199,
        None,
        Some("1 Week"),
        Some("1 Year"),
        None,
        Some(5),
    ),
    (
        9_000_000_110,
        "SUPPORT-PLAN-Q",
        "Support & updates (quarterly)",
        "E-mail support & updates",
        4900,
        None,
        Some("3 Month"),
        Some("Forever"),
        None,
        Some(21),
    ),
    (
        9_000_000_111,
        "LIC-DESKTOP-01",
        "Desktop license <single seat>",
        "Perpetual license",
        4999,
        None,
        None,
        None,
        None,
        Some(9),
    ),
    (9_000_000_112, "BOX-SET-DVD", "Documentary box set (DVD)", "4 discs", 3999, Some(600), None, None, None, Some(5)),
    (
        9_000_000_113,
        "SAAS-BASIC-Y",
        "Hosting Basic (yearly)",
        "1 site, 10 GB",
        9900,
        None,
        Some("1 Year"),
        Some("Forever"),
        None,
        Some(91),
    ),
];

/// The drawn products: `(vendor product id, name, description, tangible)`.
const GENERATED_PRODUCTS: [(&str, &str, &str, bool); 8] = [
    ("PLUGIN-PACK", "Editor plugin pack", "Twelve editor plugins", false),
    ("THEME-DARK", "Dark theme", "A dark colour theme", false),
    ("COURSE-SQL", "SQL course (video)", "Eight hours of video", false),
    ("POSTER-A2", "Poster, A2", "Printed on matte paper", true),
    ("STICKERS-10", "Sticker sheet", "Ten vinyl stickers", true),
    ("GIFT-CARD-25", "Gift card", "Redeemable on any product", false),
    ("CONSULT-1H", "Consulting hour", "One hour by video call", false),
    ("FONT-FAMILY", "Font family", "Six weights, desktop and web", false),
];

/// The drawn options: a name and the values to draw from.
const GENERATED_OPTIONS: [(&str, &[&str]); 16] = [
    ("Color", &["Red", "Green", "Blue", "Black"]),
    ("License seats", &["1 seat", "5 seats", "10 seats", "25 seats"]),
    ("Support plan", &["Basic", "Priority", "Premium"]),
    ("Format", &["PDF", "EPUB", "MOBI", "Print"]),
    ("Language", &["English", "French", "German", "Spanish"]),
    ("Edition", &["Standard", "Deluxe", "Collector"]),
    ("Delivery", &["Standard", "Express", "Overnight"]),
    ("Warranty", &["1 year", "2 years", "3 years"]),
    ("Binding", &["Paperback", "Hardcover"]),
    ("Resolution", &["HD", "4K"]),
    ("Storage", &["10 GB", "50 GB", "100 GB", "500 GB"]),
    ("Region", &["Europe", "Americas", "Asia"]),
    ("Voltage", &["110 V", "230 V"]),
    ("Material", &["Cotton", "Linen", "Wool"]),
    ("Finish", &["Matte", "Glossy"]),
    ("Bundle", &["Single", "Pair", "Family pack"]),
];

fn cents(amount: i64) -> Money {
    Money::from_cents(amount)
}

fn product(product_id: u64, assigned_product_id: u64, name: &str, price: i64) -> ProductRecord {
    ProductRecord::bare(product_id, assigned_product_id, OWN_VENDOR_ID.to_owned(), name.to_owned(), cents(price))
}

/// An option whose value ids count up by `step` from its own id.
fn option(option_id: u64, name: &str, values: &[(&str, i64)], step: u64) -> OptionRecord {
    let values = values
        .iter()
        .zip(1..)
        .map(|(&(value, surcharge), index)| OptionValueRecord {
            option_value_id: option_id + step * index,
            name: value.to_owned(),
            surcharge: cents(surcharge),
        })
        .collect();
    OptionRecord { option_id, vendor_id: OWN_VENDOR_ID.to_owned(), name: name.to_owned(), values }
}

fn id_of(text: &str) -> u64 {
    // The constants above are digits; a typo would surface as id 0 in the tests.
    text.parse().unwrap_or(0)
}

/// The catalog a default (not `empty_catalog`) simulator starts with.
pub fn seeded_catalog(seed: u64) -> CatalogData {
    let mut rng = SplitMix64::new(seed ^ CATALOG_SEED_SALT);
    let size = id_of(DOCUMENTED_OPTION_ID);
    let decibels = 4_688_355_343;
    let extra_benefit = 4_023_756_741;
    let mut options = vec![
        option(size, "Size", &[("S", 0), ("M", 0), ("L", 0), ("XL", 200)], 3),
        option(decibels, "decibels", &[("150dB", 1100), ("200dB", 2200), ("250dB", 3300)], 3),
        option(4_688_550_010, "Volume", &[("Low", 100)], 3),
        option(
            extra_benefit,
            "extra benefit",
            &[("Gift wrap", 100), ("Priority support", 50), ("Extended warranty", 200)],
            3,
        ),
    ];
    let mut generated_option_ids = Vec::new();
    for (index, (name, choices)) in (0..).zip(GENERATED_OPTIONS) {
        let option_id = FIRST_GENERATED_OPTION_ID + GENERATED_OPTION_ID_STEP * index;
        let count = rng.between(2, choices.len() as u64) as usize;
        let values: Vec<(&str, i64)> =
            choices.iter().take(count).map(|&value| (value, 25 * rng.below(21) as i64)).collect();
        options.push(option(option_id, name, &values, 1));
        generated_option_ids.push(option_id);
    }
    let mut foreign_option = option(id_of(FOREIGN_OPTION_ID), "Gift box", &[("Yes", 300)], 3);
    foreign_option.vendor_id = FOREIGN_VENDOR_ID.to_owned();
    options.push(foreign_option);

    let mut assigned = 0;
    let mut next_assigned = || {
        assigned += 1;
        assigned
    };
    let mut test_product = product(id_of(DOCUMENTED_PRODUCT_ID), next_assigned(), "Test Product", 100);
    test_product.vendor_product_id = Some("test".to_owned());
    test_product.description = Some("The documentation's example product".to_owned());
    let mut products = vec![test_product];
    for (id, vendor_product_id, name, description, price, handling, recurrence, duration, startup_fee, category) in
        SOLD_PRODUCTS
    {
        let mut record = product(id, next_assigned(), name, price);
        record.vendor_product_id = Some(vendor_product_id.to_owned());
        record.description = Some(description.to_owned());
        if let Some(handling) = handling {
            record.tangible = true;
            record.handling = Some(cents(handling));
            record.weight = Some(cents(50));
        }
        record.recurring = recurrence.is_some();
        record.recurrence = recurrence.map(str::to_owned);
        record.duration = duration.map(str::to_owned);
        record.startup_fee = startup_fee.map(cents);
        record.category_ids = category.into_iter().collect();
        if vendor_product_id.starts_with("TEE-") {
            record.option_ids = vec![size];
        }
        products.push(record);
    }
    let mut api_product = product(id_of(API_PRODUCT_ID), next_assigned(), "API product", 1000);
    api_product.description = Some("An API created product".to_owned());
    api_product.option_ids = vec![extra_benefit, decibels];
    products.push(api_product);
    for ((vendor_product_id, name, description, tangible), id) in
        GENERATED_PRODUCTS.into_iter().zip(FIRST_GENERATED_PRODUCT_ID..)
    {
        let mut record = product(id, next_assigned(), name, 100 * rng.between(2, 99) as i64 - 1);
        record.vendor_product_id = Some(vendor_product_id.to_owned());
        record.description = Some(description.to_owned());
        if tangible {
            record.tangible = true;
            record.weight = Some(cents(25 * rng.between(1, 20) as i64));
            record.handling = Some(cents(100 * rng.between(1, 5) as i64));
        }
        if rng.percent(70) {
            record.category_ids.push(rng.pick(CATEGORIES).category_id);
        }
        if rng.percent(50) {
            let first = *rng.pick(&generated_option_ids);
            let second = *rng.pick(&generated_option_ids);
            record.option_ids.push(first);
            if second != first && rng.percent(50) {
                record.option_ids.push(second);
            }
        }
        products.push(record);
    }
    let mut foreign_product = product(id_of(FOREIGN_PRODUCT_ID), 1, "Another seller's product", 500);
    foreign_product.vendor_id = FOREIGN_VENDOR_ID.to_owned();
    products.push(foreign_product);

    let coupon =
        |code: &str, date_expire: &str, kind, minimum: i64, percentage_off, value_off: Option<i64>, products| {
            CouponRecord {
                coupon_code: code.to_owned(),
                date_expire: date_expire.to_owned(),
                kind,
                minimum_purchase: cents(minimum),
                percentage_off,
                value_off: value_off.map(cents),
                products,
            }
        };
    let coupons = vec![
        // The PHP 2012 suite's fixture; its terms are the documentation's detail example's.
        coupon("7EBHJFP", "2012-12-31", CouponKind::Sale, 500, Some(5), None, CouponProducts::Listed(Vec::new())),
        // The Ruby wiki's list (its `0.10` read as 10 percent, the form typed clients expect).
        coupon(
            "COUPON",
            "3000-02-25",
            CouponKind::Product,
            100,
            Some(10),
            None,
            CouponProducts::Listed(vec![id_of(DOCUMENTED_PRODUCT_ID)]),
        ),
        coupon("FREESHIPPING", "2013-04-13", CouponKind::Shipping, 0, None, None, CouponProducts::Listed(Vec::new())),
        coupon(
            "SAVEJUNE",
            "2013-03-31",
            CouponKind::Product,
            299_999,
            None,
            Some(10_000),
            CouponProducts::Listed(vec![9_000_000_108]),
        ),
    ];

    let highest_id = products
        .iter()
        .map(|product| product.product_id)
        .chain(options.iter().flat_map(|option| {
            std::iter::once(option.option_id).chain(option.values.iter().map(|value| value.option_value_id))
        }))
        .max()
        .unwrap_or(0);
    CatalogData {
        own_vendor_id: OWN_VENDOR_ID.to_owned(),
        products,
        options,
        coupons,
        categories: CATEGORIES,
        next_id: highest_id.saturating_add(1),
        next_assigned_product_id: assigned + 1,
        code_rng: SplitMix64::new(seed ^ COUPON_CODE_SEED_SALT),
    }
}

/// The catalog of an account without products, options or coupons (`empty_catalog`).
pub fn empty_catalog(seed: u64) -> CatalogData {
    CatalogData {
        own_vendor_id: OWN_VENDOR_ID.to_owned(),
        products: Vec::new(),
        options: Vec::new(),
        coupons: Vec::new(),
        categories: CATEGORIES,
        // Where a seeded catalog's new ids start too, so ids look alike in both.
        next_id: FIRST_GENERATED_OPTION_ID + GENERATED_OPTION_ID_STEP * GENERATED_OPTIONS.len() as u64,
        next_assigned_product_id: 1,
        code_rng: SplitMix64::new(seed ^ COUPON_CODE_SEED_SALT),
    }
}
