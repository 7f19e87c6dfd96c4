//! Builds the store's initial sales: the documented example, `generated_sales` deterministic
//! sales and the foreign-vendor sale.
//!
//! The rules (also summarised in the module documentation of `simulator`):
//! - Generated sale `i` (0-based) has sale id `9100000000 + 1000 * i`; every other id of that sale
//!   (customer, address, invoices, line items, billings, options, shipments) is allocated from
//!   `sale id + 3, + 6, ...` in creation order, so ids never collide with each other, with the
//!   documented sale (`46…`) or the foreign one (`80…`), whatever the seed.
//! - The first ten generated sales have a fixed profile whatever the seed (see [`Profile`]);
//!   the others draw theirs from the generator. Sales 1 and 6 to 9 also pin their products and
//!   placement, so their line item ids and dates are known (see the simulator's constants).
//! - Dates are drawn between 2012-01-01 and 2026-03-31; later installments of recurring sales
//!   stay inside that range (the installment count shrinks if needed).
//! - Amounts are integer cents: line item = price + option surcharges + handling (+ startup fee
//!   on the first installment); invoice totals are the sums of their billed line items;
//!   `fees_2co` = 5.5 % (rounded half up) + 0.45. Customer amounts equal the USD ones unless the
//!   profile sets a customer currency rate.

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, TimeDelta};

use super::prng::SplitMix64;
use super::records::{
    Authorization, BillStatus, Billing, Comment, Customer, DetailIp, Extra, Invoice, InvoiceStatus, LineItem,
    LineItemOption, Money, PayMethod, RecurringDecline, RecurringStatus, Sale, Shipping,
};

/// The vendor the simulator's API user belongs to (the documented sale's).
pub const OWN_VENDOR_ID: &str = "532001";
pub const FOREIGN_VENDOR_ID: &str = "901234";
pub const FOREIGN_SALE_ID: &str = "8000000008";
pub const FOREIGN_INVOICE_ID: &str = "8000000017";

pub const FIRST_GENERATED_SALE_ID: u64 = 9_100_000_000;
pub const GENERATED_SALE_ID_STEP: u64 = 1_000;

/// Placement of the pinned fixed-profile sales 1 and 6 to 9 (UTC).
pub const ACTIVE_RECURRING_SALE_PLACED: &str = "2025-09-10 08:00:00";
pub const REFUNDABLE_SALE_PLACED: &str = "2025-11-14 10:30:00";
pub const REAUTHORIZABLE_SALE_PLACED: &str = "2026-02-02 09:00:00";
pub const REAUTH_FAILING_SALE_PLACED: &str = "2026-01-10 15:45:00";
pub const UNSHIPPED_TANGIBLE_SALE_PLACED: &str = "2026-03-20 14:00:00";
// The same instants in seconds since the epoch; `pinned_placements_match_their_text` checks them.
const ACTIVE_RECURRING_SALE_INSTANT: i64 = 1_757_491_200;
const REFUNDABLE_SALE_INSTANT: i64 = 1_763_116_200;
const REAUTHORIZABLE_SALE_INSTANT: i64 = 1_770_022_800;
const REAUTH_FAILING_SALE_INSTANT: i64 = 1_768_059_900;
const UNSHIPPED_TANGIBLE_SALE_INSTANT: i64 = 1_774_015_200;
/// The refundable sale's buyer pays in another currency: customer amounts are 92 % of USD.
const REFUNDABLE_CUSTOMER_RATE_PER_MILLE: i64 = 920;

const DOCUMENTED_SALE_JSON: &str = include_str!("fixtures/detail_sale_4647892238.json");

/// Dates are generated within this range (inclusive), as seconds since the Unix epoch.
const FIRST_SALE_INSTANT: i64 = 1_325_376_000; // 2012-01-01 00:00:00 UTC
const LAST_SALE_INSTANT: i64 = 1_774_997_999; // 2026-03-31 22:59:59 UTC, an hour before SEEDED_DATA_AS_OF
/// Sales whose recurring decline must fall inside the range are placed before this instant.
const LAST_DECLINABLE_SALE_INSTANT: i64 = 1_735_689_599; // 2024-12-31 23:59:59 UTC

#[derive(Debug, thiserror::Error)]
#[error("the embedded documented sale does not match the sale records: {0}")]
pub struct FixtureError(#[from] serde_json::Error);

/// The documented example sale, exactly as the reference prints it.
pub fn documented_sale() -> Result<Sale, FixtureError> {
    let body: serde_json::Value = serde_json::from_str(DOCUMENTED_SALE_JSON)?;
    let sale = body.get("sale").cloned().unwrap_or(serde_json::Value::Null);
    Ok(serde_json::from_value(sale)?)
}

/// All sales the store starts with, in a deterministic order.
pub fn initial_sales(seed: u64, generated_sales: usize) -> Result<Vec<Sale>, FixtureError> {
    let mut sales = vec![documented_sale()?];
    let mut rng = SplitMix64::new(seed);
    for index in 0..generated_sales {
        let profile = Profile::for_index(index, &mut rng);
        sales.push(generate_sale(index as u64, &profile, &mut rng));
    }
    sales.push(foreign_sale());
    Ok(sales)
}

pub fn generated_sale_id(index: u64) -> u64 {
    FIRST_GENERATED_SALE_ID + GENERATED_SALE_ID_STEP * index
}

/// What a generated sale must look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub recurring: Option<RecurringPlan>,
    pub refund: Option<RefundPlan>,
    pub tangible: bool,
    pub payment: PaymentKind,
    /// These products (vendor product ids), in this order; `None`: drawn.
    pub products: Option<&'static [&'static str]>,
    /// Placed at this instant (seconds since the epoch); `None`: drawn.
    pub placed: Option<i64>,
    /// The latest invoice is `approved` (authorised, not yet captured, so not shipped either)
    /// instead of pending or deposited.
    pub approved: bool,
    /// The buyer pays in another currency: customer amounts are the USD ones × this ‰, rounded
    /// half up. `None`: the same as USD.
    pub customer_rate_per_mille: Option<i64>,
    /// The payment processor refuses every reauthorisation of the sale.
    pub reauth_fails: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecurringPlan {
    pub status: RecurringStatus,
    pub declined: bool,
    pub installments: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundPlan {
    Full,
    /// Half the line item, rounded down to the cent.
    Partial,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentKind {
    Card(&'static Card),
    PayPal,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Card {
    pub first_six: &'static str,
    pub last_two: &'static str,
    pub method: &'static str,
    pub bill_method: &'static str,
}

pub const CARDS: [Card; 4] = [
    Card { first_six: "400000", last_two: "02", method: "credit card", bill_method: "credit_card" },
    Card { first_six: "411111", last_two: "11", method: "credit card", bill_method: "credit_card" },
    Card { first_six: "555555", last_two: "44", method: "credit card", bill_method: "credit_card" },
    Card { first_six: "378282", last_two: "05", method: "amex", bill_method: "amex" },
];

impl Profile {
    /// A one-off, intangible, unrefunded sale paid with `payment`, everything else drawn.
    const fn plain(payment: PaymentKind) -> Profile {
        Profile {
            recurring: None,
            refund: None,
            tangible: false,
            payment,
            products: None,
            placed: None,
            approved: false,
            customer_rate_per_mille: None,
            reauth_fails: false,
        }
    }

    /// Sales 0 to 9 are fixed so that every seed (with at least ten generated sales) offers one
    /// sale of each kind at a known id; the rest are random.
    pub fn for_index(index: usize, rng: &mut SplitMix64) -> Profile {
        let recurring = |status, declined, installments| Some(RecurringPlan { status, declined, installments });
        let card = |index: usize| PaymentKind::Card(&CARDS[index]);
        match index {
            0 => Profile { refund: Some(RefundPlan::Full), ..Profile::plain(card(0)) },
            // Pinned so that the active line (the second installment's) has a known id.
            1 => Profile {
                recurring: recurring(RecurringStatus::Active, false, 2),
                products: Some(&["SAAS-PRO-M"]),
                placed: Some(ACTIVE_RECURRING_SALE_INSTANT),
                ..Profile::plain(card(1))
            },
            2 => Profile { tangible: true, ..Profile::plain(card(2)) },
            3 => Profile { recurring: recurring(RecurringStatus::Active, true, 2), ..Profile::plain(card(0)) },
            4 => Profile {
                recurring: recurring(RecurringStatus::Stopped, false, 3),
                ..Profile::plain(PaymentKind::PayPal)
            },
            5 => Profile {
                recurring: recurring(RecurringStatus::Completed, false, 3),
                refund: Some(RefundPlan::Partial),
                ..Profile::plain(card(3))
            },
            // Refundable: one deposited invoice, two e-books, the buyer paying in another currency.
            6 => Profile {
                products: Some(&["EBOOK-RUST-01", "EBOOK-GO-02"]),
                placed: Some(REFUNDABLE_SALE_INSTANT),
                customer_rate_per_mille: Some(REFUNDABLE_CUSTOMER_RATE_PER_MILLE),
                ..Profile::plain(card(1))
            },
            // Reauthorizable: a mug, authorised (approved) and waiting to be shipped.
            7 => Profile {
                tangible: true,
                products: Some(&["MUG-CERAMIC-01"]),
                placed: Some(REAUTHORIZABLE_SALE_INSTANT),
                approved: true,
                ..Profile::plain(card(0))
            },
            // Authorised like sale 7, but the processor refuses to reauthorise it.
            8 => Profile {
                products: Some(&["LIC-DESKTOP-01"]),
                placed: Some(REAUTH_FAILING_SALE_INSTANT),
                approved: true,
                reauth_fails: true,
                ..Profile::plain(card(0))
            },
            // Unshipped tangible: placed in the last 30 days, so pending and not yet shipped.
            9 => Profile {
                tangible: true,
                products: Some(&["BOX-SET-DVD"]),
                placed: Some(UNSHIPPED_TANGIBLE_SALE_INSTANT),
                ..Profile::plain(card(2))
            },
            _ => Profile::random(rng),
        }
    }

    fn random(rng: &mut SplitMix64) -> Profile {
        let recurring = rng.percent(45).then(|| {
            let status = match rng.below(4) {
                0 | 1 => RecurringStatus::Active,
                2 => RecurringStatus::Stopped,
                _ => RecurringStatus::Completed,
            };
            let declined = status == RecurringStatus::Active && rng.percent(35);
            RecurringPlan { status, declined, installments: rng.between(1, 3) }
        });
        let refund = if rng.percent(18) {
            Some(if rng.percent(70) { RefundPlan::Full } else { RefundPlan::Partial })
        } else {
            None
        };
        let tangible = recurring.is_none() && rng.percent(35);
        let payment = if rng.percent(70) { PaymentKind::Card(rng.pick(&CARDS)) } else { PaymentKind::PayPal };
        Profile { recurring, refund, tangible, ..Profile::plain(payment) }
    }
}

struct Product {
    product_id: &'static str,
    vendor_product_id: &'static str,
    name: &'static str,
    description: &'static str,
    price_cents: i64,
    handling_cents: i64,
    startup_fee_cents: Option<i64>,
    tangible: bool,
    /// `(text, months, weeks)`: e.g. ("1 Month", 1, 0).
    recurrence: Option<(&'static str, u32, u32)>,
    duration: Option<&'static str>,
    sizes: bool,
}

const fn product(
    product_id: &'static str,
    vendor_product_id: &'static str,
    name: &'static str,
    description: &'static str,
    price_cents: i64,
) -> Product {
    Product {
        product_id,
        vendor_product_id,
        name,
        description,
        price_cents,
        handling_cents: 0,
        startup_fee_cents: None,
        tangible: false,
        recurrence: None,
        duration: None,
        sizes: false,
    }
}

const fn tangible(mut item: Product, handling_cents: i64, sizes: bool) -> Product {
    item.tangible = true;
    item.handling_cents = handling_cents;
    item.sizes = sizes;
    item
}

const fn recurring(
    mut item: Product,
    recurrence: (&'static str, u32, u32),
    duration: &'static str,
    startup_fee_cents: Option<i64>,
) -> Product {
    item.recurrence = Some(recurrence);
    item.duration = Some(duration);
    item.startup_fee_cents = startup_fee_cents;
    item
}

const MONTHLY: (&str, u32, u32) = ("1 Month", 1, 0);
const QUARTERLY: (&str, u32, u32) = ("3 Month", 3, 0);
const YEARLY: (&str, u32, u32) = ("1 Year", 12, 0);
const WEEKLY: (&str, u32, u32) = ("1 Week", 0, 1);

const PRODUCTS: [Product; 13] = [
    product("9000000101", "EBOOK-RUST-01", "Rust in Practice (e-book)", "PDF and EPUB editions", 1999),
    product("9000000102", "EBOOK-GO-02", "Go Patterns (e-book)", "PDF edition", 1499),
    tangible(product("9000000103", "TEE-BLK-M", "Logo T-shirt, black", "Cotton T-shirt", 2200), 350, true),
    tangible(product("9000000104", "TEE-WHT-L", "Logo T-shirt, white", "Cotton T-shirt", 2200), 350, true),
    tangible(product("9000000105", "MUG-CERAMIC-01", "Ceramic mug", "350 ml mug", 1250), 500, false),
    recurring(
        product("9000000106", "SAAS-BASIC-M", "Hosting Basic (monthly)", "1 site, 10 GB", 900),
        MONTHLY,
        "Forever",
        None,
    ),
    recurring(
        product("9000000107", "SAAS-PRO-M", "Hosting Pro (monthly)", "10 sites, 100 GB", 2900),
        MONTHLY,
        "Forever",
        Some(1000),
    ),
    recurring(
        product("9000000108", "SAAS-PRO-Y", "Hosting Pro (yearly)", "10 sites, 100 GB", 29900),
        YEARLY,
        "Forever",
        None,
    ),
    recurring(product("9000000109", "NEWS-WEEKLY", "Weekly newsletter", "Premium issues", 199), WEEKLY, "1 Year", None),
    recurring(
        product("9000000110", "SUPPORT-PLAN-Q", "Support & updates (quarterly)", "E-mail support & updates", 4900),
        QUARTERLY,
        "Forever",
        None,
    ),
    product("9000000111", "LIC-DESKTOP-01", "Desktop license <single seat>", "Perpetual license", 4999),
    tangible(product("9000000112", "BOX-SET-DVD", "Documentary box set (DVD)", "4 discs", 3999), 600, false),
    recurring(
        product("9000000113", "SAAS-BASIC-Y", "Hosting Basic (yearly)", "1 site, 10 GB", 9900),
        YEARLY,
        "Forever",
        None,
    ),
];

/// `(display, ascii for e-mail addresses)`.
const FIRST_NAMES: [(&str, &str); 20] = [
    ("Alice", "alice"),
    ("Bruno", "bruno"),
    ("Chloé", "chloe"),
    ("Dmitri", "dmitri"),
    ("Emma", "emma"),
    ("Farid", "farid"),
    ("Greta", "greta"),
    ("Hiroshi", "hiroshi"),
    ("Inès", "ines"),
    ("Jamal", "jamal"),
    ("Katarzyna", "katarzyna"),
    ("Liam", "liam"),
    ("María", "maria"),
    ("Noah", "noah"),
    ("Olga", "olga"),
    ("Pierre", "pierre"),
    ("Quinn", "quinn"),
    ("Rosa", "rosa"),
    ("Sven", "sven"),
    ("Zoë", "zoe"),
];

const LAST_NAMES: [(&str, &str); 20] = [
    ("Anderson", "anderson"),
    ("Becker", "becker"),
    ("Costa", "costa"),
    ("Dubois", "dubois"),
    ("Eriksson", "eriksson"),
    ("Fischer", "fischer"),
    ("García", "garcia"),
    ("Hansen", "hansen"),
    ("Ivanova", "ivanova"),
    ("Jones", "jones"),
    ("Kowalski", "kowalski"),
    ("López", "lopez"),
    ("Müller", "muller"),
    ("Nakamura", "nakamura"),
    ("O'Brien", "obrien"),
    ("Petrov", "petrov"),
    ("Rossi", "rossi"),
    ("Schmidt", "schmidt"),
    ("Tanaka", "tanaka"),
    ("Smith", "smith"),
];

const EMAIL_DOMAINS: [&str; 4] = ["example.com", "example.org", "mail.example.net", "shop.example.co.uk"];

const STREETS: [&str; 5] = ["Main St", "Oak Avenue", "High Street", "Elm Road", "Market St"];

struct Location {
    city: &'static str,
    state: &'static str,
    postal_code: &'static str,
    country_code3: &'static str,
    country_code2: &'static str,
    country_name: &'static str,
    lang: &'static str,
    /// GeoIP area code: only meaningful in the United States, 0 elsewhere.
    area_code: u32,
    phone_prefix: &'static str,
}

const LOCATIONS: [Location; 9] = [
    location("Columbus", "OH", "43215", "USA", "US", "United States", "en", 614, "614"),
    location("Galena", "OH", "43021", "USA", "US", "United States", "en", 740, "740"),
    location("New York", "NY", "10001", "USA", "US", "United States", "en", 212, "212"),
    location("San Francisco", "CA", "94103", "USA", "US", "United States", "en", 415, "415"),
    location("London", "Greater London", "EC1A 1BB", "GBR", "GB", "United Kingdom", "en", 0, "4420"),
    location("Berlin", "Berlin", "10115", "DEU", "DE", "Germany", "en", 0, "4930"),
    location("Toronto", "ON", "M5V 2T6", "CAN", "CA", "Canada", "en", 0, "1416"),
    location("Paris", "Île-de-France", "75001", "FRA", "FR", "France", "fr", 0, "331"),
    location("Tokyo", "Tokyo", "100-0001", "JPN", "JP", "Japan", "jp", 0, "813"),
];

#[allow(clippy::too_many_arguments)]
const fn location(
    city: &'static str,
    state: &'static str,
    postal_code: &'static str,
    country_code3: &'static str,
    country_code2: &'static str,
    country_name: &'static str,
    lang: &'static str,
    area_code: u32,
    phone_prefix: &'static str,
) -> Location {
    Location { city, state, postal_code, country_code3, country_code2, country_name, lang, area_code, phone_prefix }
}

/// Documentation-only networks (RFC 5737), so no generated address is a real host.
const IP_NETWORKS: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];

const DECLINE_CODES: [&str; 3] = ["05", "51", "54"];

const COMMENT_IP: &str = "192.168.0.1";
const COMMENT_USER: &str = "api_user";

/// Hands out the ids of one sale: sale id + 3, + 6, ...
struct IdAllocator {
    next: u64,
}

impl IdAllocator {
    fn allocate(&mut self) -> String {
        self.next += 3;
        self.next.to_string()
    }
}

fn format_datetime(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn format_date(at: NaiveDate) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn instant(seconds: i64) -> NaiveDateTime {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default().naive_utc()
}

fn last_instant() -> NaiveDateTime {
    instant(LAST_SALE_INSTANT)
}

fn add_recurrence(at: NaiveDateTime, recurrence: (&str, u32, u32), times: u32) -> NaiveDateTime {
    let (_, months, weeks) = recurrence;
    let after_months = at.checked_add_months(Months::new(months.saturating_mul(times))).unwrap_or(at);
    after_months + TimeDelta::weeks(i64::from(weeks.saturating_mul(times)))
}

fn days_later(at: NaiveDateTime, days: i64) -> NaiveDateTime {
    at + TimeDelta::days(days)
}

/// The vendor's fee on an invoice: 5.5 % rounded half up to the cent, plus 0.45.
pub(super) fn fees_for(total: Money) -> Money {
    Money::from_cents((total.cents() * 55 + 500) / 1000 + 45)
}

/// A USD amount in the buyer's currency: × `rate_per_mille` ‰, rounded half up.
fn customer_amount(usd: Money, rate_per_mille: Option<i64>) -> Money {
    match rate_per_mille {
        Some(rate) => Money::from_cents((usd.cents() * rate + 500) / 1000),
        None => usd,
    }
}

fn generate_sale(index: u64, profile: &Profile, rng: &mut SplitMix64) -> Sale {
    let sale_id_number = generated_sale_id(index);
    let sale_id = sale_id_number.to_string();
    let mut ids = IdAllocator { next: sale_id_number };

    let products = match profile.products {
        Some(wanted) => {
            wanted.iter().filter_map(|id| PRODUCTS.iter().find(|product| product.vendor_product_id == *id)).collect()
        }
        None => choose_products(profile, rng),
    };
    let recurring_product = products.iter().find(|p| p.recurrence.is_some()).copied();

    let latest_start = if profile.recurring.as_ref().is_some_and(|plan| plan.declined) {
        LAST_DECLINABLE_SALE_INSTANT
    } else {
        LAST_SALE_INSTANT
    };
    let placed = instant(match profile.placed {
        Some(at) => at,
        None => FIRST_SALE_INSTANT + rng.below((latest_start - FIRST_SALE_INSTANT) as u64) as i64,
    });
    let rate = profile.customer_rate_per_mille;

    let installments = match (&profile.recurring, recurring_product) {
        (Some(plan), Some(product)) => {
            let recurrence = product.recurrence.unwrap_or(MONTHLY);
            // A declined sale's failed rebill (one period after the last installment) must not
            // lie in the future either.
            let extra_period = u32::from(plan.declined);
            let mut count = plan.installments.max(1) as u32;
            while count > 1 && add_recurrence(placed, recurrence, count - 1 + extra_period) > last_instant() {
                count -= 1;
            }
            count
        }
        _ => 1,
    };

    let customer = generate_customer(&mut ids, profile, rng);
    let location_index = LOCATIONS.iter().position(|l| l.city == customer.city).unwrap_or(0);
    let location = &LOCATIONS[location_index];
    let ip_address = format!("{}.{}", rng.pick(&IP_NETWORKS), rng.between(1, 254));
    let referrer = if rng.percent(60) {
        Some(format!("http://www.example.com/buy.php?product={}&ref=newsletter", rng.between(1, 40)))
    } else {
        None
    };
    let vendor_order_id = rng.percent(50).then(|| format!("ORD-{}", rng.between(1000, 99999)));
    let bill_method = match profile.payment {
        PaymentKind::Card(card) => card.bill_method,
        PaymentKind::PayPal => "paypal_int",
    };

    let mut invoices = Vec::new();
    for installment in 0..installments {
        let invoice_placed = match recurring_product.and_then(|p| p.recurrence) {
            Some(recurrence) => add_recurrence(placed, recurrence, installment),
            None => placed,
        };
        let invoice_id = ids.allocate();
        let invoice_products: Vec<&Product> =
            if installment == 0 { products.clone() } else { recurring_product.into_iter().collect() };
        let is_last_installment = installment + 1 == installments;
        // An approved invoice is authorised only: neither pending, nor deposited, nor shipped.
        let approved = profile.approved && is_last_installment;
        let pending = !approved && invoice_placed > days_later(last_instant(), -30);
        let deposited = (!pending && !approved).then(|| format_date(days_later(invoice_placed, 2).date()));

        let mut lineitems = Vec::new();
        for product in invoice_products {
            let lineitem_id = ids.allocate();
            let options = if product.sizes {
                let size = *rng.pick(&["S", "M", "L", "XL"]);
                let surcharge = Money::from_cents(if size == "XL" { 200 } else { 0 });
                vec![LineItemOption {
                    customer_surcharge: customer_amount(surcharge, rate),
                    lineitem_id: lineitem_id.clone(),
                    lineitem_option_id: ids.allocate(),
                    option_name: "Size".to_owned(),
                    option_value: size.to_owned(),
                    usd_surcharge: surcharge,
                    vendor_surcharge: surcharge,
                }]
            } else {
                Vec::new()
            };
            let startup_fee = product.startup_fee_cents.map(Money::from_cents);
            let amount = Money::from_cents(product.price_cents + product.handling_cents)
                .saturating_add(options.iter().map(|o| o.usd_surcharge).sum())
                .saturating_add(if installment == 0 { startup_fee.unwrap_or(Money::ZERO) } else { Money::ZERO });

            let (recurring_status, date_next, date_end, date_fail) = match (&profile.recurring, product.recurrence) {
                (Some(plan), Some(recurrence)) => {
                    let next = add_recurrence(invoice_placed, recurrence, 1);
                    if !is_last_installment {
                        (Some(RecurringStatus::Completed), Some(format_date(next.date())), None, None)
                    } else {
                        match plan.status {
                            RecurringStatus::Active => (
                                Some(RecurringStatus::Active),
                                Some(format_date(next.date())),
                                None,
                                plan.declined.then(|| format_date(next.date())),
                            ),
                            RecurringStatus::Stopped => (
                                Some(RecurringStatus::Stopped),
                                None,
                                Some(format_date(days_later(invoice_placed, 10).date())),
                                None,
                            ),
                            RecurringStatus::Completed => {
                                (Some(RecurringStatus::Completed), None, Some(format_date(invoice_placed.date())), None)
                            }
                        }
                    }
                }
                _ => (None, None, None, None),
            };

            lineitems.push(LineItem {
                affiliate_vendor_id: None,
                billing: Billing {
                    amount,
                    bill_method: Some(bill_method.to_owned()),
                    billing_id: ids.allocate(),
                    customer_amount: customer_amount(amount, rate),
                    customer_id: customer.customer_id.clone(),
                    date_deposited: deposited.clone(),
                    date_end,
                    date_fail,
                    date_next,
                    date_pending: (!approved).then(|| format_date(invoice_placed.date())),
                    date_start: Some(format_date(invoice_placed.date())),
                    lineitem_id: lineitem_id.clone(),
                    recurring_status,
                    status: BillStatus::Bill,
                    usd_amount: amount,
                    vendor_amount: amount,
                },
                commission: None,
                commission_affiliate_vendor_id: None,
                commission_flat_rate: None,
                commission_percentage: None,
                commission_type: None,
                commission_usd_amount: None,
                customer_amount: customer_amount(amount, rate),
                flat_rate: None,
                installment: product.recurrence.map(|_| (installment + 1).to_string()),
                invoice_id: invoice_id.clone(),
                lc_affiliate_vendor_id: None,
                lc_usd_amount: None,
                lineitem_id,
                linked_id: None,
                options,
                percentage: None,
                product_description: product.description.to_owned(),
                product_duration: product.duration.map(str::to_owned),
                product_handling: Money::from_cents(product.handling_cents),
                product_id: product.product_id.to_owned(),
                product_is_cart: "0".to_owned(),
                product_name: product.name.to_owned(),
                product_price: Money::from_cents(product.price_cents),
                product_recurrence: product.recurrence.map(|(text, _, _)| text.to_owned()),
                product_startup_fee: startup_fee,
                product_tangible: if product.tangible { "1" } else { "0" }.to_owned(),
                sale_id: sale_id.clone(),
                status: BillStatus::Bill,
                kind: None,
                usd_amount: amount,
                usd_commission: None,
                vendor_amount: amount,
                vendor_product_id: product.vendor_product_id.to_owned(),
                recurring_price: None,
            });
        }

        let usd_total: Money = lineitems.iter().map(|item| item.usd_amount).sum();
        let customer_total: Money = lineitems.iter().map(|item| item.customer_amount).sum();
        let shipping = lineitems.iter().any(|item| item.product_tangible == "1").then(|| {
            let shipped = !pending && !approved;
            let date_shipped = shipped.then(|| format_date(days_later(invoice_placed, 2).date()));
            let tracking = shipped.then(|| format!("1Z{:016}", rng.below(10_000_000_000_000_000)));
            Shipping {
                date_shipped,
                tracking_url: tracking.as_ref().map(|number| format!("https://track.example.com/?number={number}")),
                tracking_number: tracking,
                ..Shipping::unshipped_to(&customer, ids.allocate())
            }
        });
        let recurring_flag = lineitems.iter().any(|item| item.product_recurrence.is_some());
        invoices.push(Invoice {
            change_id: Extra::Absent,
            customer_name: Extra::Absent,
            customer_snapshot_id: Extra::Absent,
            customer_total,
            date_placed: format_datetime(invoice_placed),
            date_shipped: shipping.as_ref().and_then(|s| s.date_shipped.clone()),
            date_vendor_paid: None,
            fees_2co: fees_for(usd_total),
            invoice_id,
            lineitems,
            new_customer_quote_id: Extra::Absent,
            new_vendor_quote_id: Extra::Absent,
            payout_status: Extra::Absent,
            recurring: if recurring_flag { "1" } else { "0" }.to_owned(),
            referrer: referrer.clone(),
            sale_id: sale_id.clone(),
            shipping,
            status: if approved {
                InvoiceStatus::Approved
            } else if pending {
                InvoiceStatus::Pending
            } else {
                InvoiceStatus::Deposited
            },
            timestamp: Extra::Absent,
            usd_total,
            vendor_id: OWN_VENDOR_ID.to_owned(),
            vendor_order_id: vendor_order_id.clone(),
            vendor_total: usd_total,
        });
    }

    let mut comments = Vec::new();
    if let Some(plan) = profile.refund {
        add_refund(&mut invoices, &mut comments, &mut ids, plan, rng);
    }
    if let Some(plan) = &profile.recurring
        && plan.status == RecurringStatus::Stopped
        && let Some(product) = recurring_product
    {
        let stop_date = invoices
            .last()
            .and_then(|invoice| invoice.lineitems.first())
            .and_then(|item| item.billing.date_end.clone())
            .unwrap_or_default();
        comments.push(Comment {
            changed_by_ip: COMMENT_IP.to_owned(),
            comment: format!("[* Sent: Vendor *] Recurring billing stopped for {}", product.name),
            timestamp: format!("{stop_date} 09:15:00"),
            username: COMMENT_USER.to_owned(),
        });
    }
    // Newest first, as in the documented sale.
    comments.sort_by(|a, b| b.timestamp.cmp(&a.timestamp));

    let latest_decline = match (&profile.recurring, recurring_product) {
        (Some(plan), Some(_)) if plan.declined => invoices
            .last()
            .and_then(|invoice| invoice.lineitems.first())
            .and_then(|item| item.billing.date_fail.clone())
            .map(|date_declined| RecurringDecline {
                date_declined,
                decline_code: (*rng.pick(&DECLINE_CODES)).to_owned(),
            }),
        _ => None,
    };

    Sale {
        comments,
        date_placed: format_datetime(placed),
        detail_ip: DetailIp {
            address: ip_address.clone(),
            area_code: location.area_code,
            city: location.city.to_owned(),
            country: location.country_name.to_owned(),
            country_code: location.country_code2.to_owned(),
            region: location.state.to_owned(),
            zip: location.postal_code.to_owned(),
        },
        customer,
        invoices,
        ip_address,
        ip_country: location.country_name.to_owned(),
        recurring_decline: latest_decline.as_ref().map(|_| "1".to_owned()),
        sale_id,
        latest_decline,
        authorization: Authorization { fails: profile.reauth_fails, ..Authorization::default() },
        demo: false,
        capture_at: None,
    }
}

/// One to three distinct products: exactly one recurring product for a recurring sale (so all
/// installments share one rhythm), a tangible first product for a tangible sale, and only
/// one-off intangible products otherwise.
fn choose_products(profile: &Profile, rng: &mut SplitMix64) -> Vec<&'static Product> {
    let recurring: Vec<&Product> = PRODUCTS.iter().filter(|p| p.recurrence.is_some()).collect();
    let one_off_intangible: Vec<&Product> = PRODUCTS.iter().filter(|p| p.recurrence.is_none() && !p.tangible).collect();
    let one_off_any: Vec<&Product> = PRODUCTS.iter().filter(|p| p.recurrence.is_none()).collect();
    let tangibles: Vec<&Product> = PRODUCTS.iter().filter(|p| p.tangible).collect();

    let (first, extras_pool) = if profile.recurring.is_some() {
        (*rng.pick(&recurring), one_off_intangible)
    } else if profile.tangible {
        (*rng.pick(&tangibles), one_off_any)
    } else {
        (*rng.pick(&one_off_intangible), one_off_intangible)
    };
    let mut chosen = vec![first];
    let extras = rng.below(3);
    for _ in 0..extras {
        let candidate = *rng.pick(&extras_pool);
        if !chosen.iter().any(|p| p.product_id == candidate.product_id) {
            chosen.push(candidate);
        }
    }
    chosen
}

fn generate_customer(ids: &mut IdAllocator, profile: &Profile, rng: &mut SplitMix64) -> Customer {
    let (first_name, first_ascii) = *rng.pick(&FIRST_NAMES);
    let (last_name, last_ascii) = *rng.pick(&LAST_NAMES);
    let middle_initial = rng.percent(25).then(|| char::from(b'A' + rng.below(26) as u8).to_string());
    // The vendor builds the cardholder name as "first middle last" even without a middle
    // initial, hence the documented "Testing  Tester" with two spaces.
    let cardholder_name = format!("{first_name} {} {last_name}", middle_initial.as_deref().unwrap_or(""));
    let email_number = if rng.percent(50) { rng.between(1, 99).to_string() } else { String::new() };
    let email_address = format!("{first_ascii}.{last_ascii}{email_number}@{}", rng.pick(&EMAIL_DOMAINS));
    let location = rng.pick(&LOCATIONS);
    let phone = format!("{}555{:04}", location.phone_prefix, rng.below(10_000));
    let phone_ext = if rng.percent(15) { rng.between(10, 999).to_string() } else { String::new() };
    let address_1 = format!("{} {}", rng.between(1, 999), rng.pick(&STREETS));
    let address_2 = rng.percent(25).then(|| format!("Apt {}", rng.between(1, 40)));
    let pay_method = match profile.payment {
        PaymentKind::Card(card) => PayMethod {
            avs: Some((*rng.pick(&["Y", "Z", "N"])).to_owned()),
            cvv: Some((*rng.pick(&["M", "M", "N"])).to_owned()),
            first_six_digits: Some(card.first_six.to_owned()),
            last_two_digits: Some(card.last_two.to_owned()),
            method: card.method.to_owned(),
        },
        PaymentKind::PayPal => PayMethod {
            avs: None,
            cvv: None,
            first_six_digits: None,
            last_two_digits: None,
            method: "paypal ec".to_owned(),
        },
    };
    let customer_id = ids.allocate();
    let address_id = ids.allocate();
    Customer {
        address_1,
        address_2,
        address_id,
        cardholder_name,
        city: location.city.to_owned(),
        country_code: location.country_code3.to_owned(),
        country_code_2: Extra::Absent,
        country_name: location.country_name.to_owned(),
        customer_id,
        email_address,
        first_name: first_name.to_owned(),
        lang: location.lang.to_owned(),
        last_name: last_name.to_owned(),
        middle_initial,
        pay_method,
        phone,
        phone_ext,
        postal_code: location.postal_code.to_owned(),
        prefix: None,
        state: location.state.to_owned(),
        state_2: Extra::Absent,
    }
}

/// Refunds one billed line item of the first invoice the way the documented sale shows it: a
/// new line item with status `refund`, linked to the refunded one, in the same invoice. The
/// invoice totals keep the amount charged.
fn add_refund(
    invoices: &mut [Invoice],
    comments: &mut Vec<Comment>,
    ids: &mut IdAllocator,
    plan: RefundPlan,
    rng: &mut SplitMix64,
) {
    let Some(invoice) = invoices.first_mut() else {
        return;
    };
    if invoice.lineitems.is_empty() {
        return;
    }
    let target = rng.below(invoice.lineitems.len() as u64) as usize;
    let original = invoice.lineitems[target].clone();
    let amount = match plan {
        RefundPlan::Full => original.usd_amount,
        RefundPlan::Partial => Money::from_cents(original.usd_amount.cents() / 2),
    };
    let placed = NaiveDateTime::parse_from_str(&invoice.date_placed, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|_| instant(FIRST_SALE_INSTANT));
    let refunded_at = days_later(placed, rng.between(1, 30) as i64).min(last_instant());
    let refund_day = format_date(refunded_at.date());

    let mut refund = original.clone();
    refund.lineitem_id = ids.allocate();
    refund.linked_id = Some(original.lineitem_id.clone());
    refund.status = BillStatus::Refund;
    refund.options = Vec::new();
    refund.customer_amount = amount;
    refund.usd_amount = amount;
    refund.vendor_amount = amount;
    refund.billing = Billing {
        amount,
        billing_id: ids.allocate(),
        customer_amount: amount,
        date_deposited: Some(refund_day.clone()),
        date_end: None,
        date_fail: None,
        date_next: None,
        date_pending: Some(refund_day.clone()),
        date_start: Some(refund_day.clone()),
        lineitem_id: refund.lineitem_id.clone(),
        recurring_status: None,
        status: BillStatus::Refund,
        usd_amount: amount,
        vendor_amount: amount,
        ..original.billing.clone()
    };
    invoice.lineitems.insert(target + 1, refund);
    comments.push(Comment {
        changed_by_ip: COMMENT_IP.to_owned(),
        comment: format!("[* Sent: Vendor *] Refund Issued On Sale: {}", original.product_name),
        timestamp: format_datetime(refunded_at),
        username: COMMENT_USER.to_owned(),
    });
}

/// A sale of another vendor, built from fixed values: `detail_sale` must refuse it and
/// `list_sales` must never show it. It carries the documented cardholder name, so a name search
/// for "tester" proves the foreign sale is filtered out.
pub fn foreign_sale() -> Sale {
    let amount = Money::from_cents(4_500);
    let lineitem_id = "8000000026".to_owned();
    let customer_id = "8000000011".to_owned();
    Sale {
        comments: Vec::new(),
        customer: Customer {
            address_1: "1 Other Vendor Way".to_owned(),
            address_2: None,
            address_id: "8000000014".to_owned(),
            cardholder_name: "Testing  Tester".to_owned(),
            city: "Columbus".to_owned(),
            country_code: "USA".to_owned(),
            country_code_2: Extra::Absent,
            country_name: "United States".to_owned(),
            customer_id: customer_id.clone(),
            email_address: "buyer@other-vendor.example".to_owned(),
            first_name: "Testing".to_owned(),
            lang: "en".to_owned(),
            last_name: "Tester".to_owned(),
            middle_initial: None,
            pay_method: PayMethod {
                avs: Some("Y".to_owned()),
                cvv: Some("M".to_owned()),
                first_six_digits: Some("400000".to_owned()),
                last_two_digits: Some("02".to_owned()),
                method: "credit card".to_owned(),
            },
            phone: "6145550000".to_owned(),
            phone_ext: String::new(),
            postal_code: "43215".to_owned(),
            prefix: None,
            state: "OH".to_owned(),
            state_2: Extra::Absent,
        },
        date_placed: "2020-06-15 12:00:00".to_owned(),
        detail_ip: DetailIp {
            address: "192.0.2.200".to_owned(),
            area_code: 614,
            city: "Columbus".to_owned(),
            country: "United States".to_owned(),
            country_code: "US".to_owned(),
            region: "OH".to_owned(),
            zip: "43215".to_owned(),
        },
        invoices: vec![Invoice {
            change_id: Extra::Absent,
            customer_name: Extra::Absent,
            customer_snapshot_id: Extra::Absent,
            customer_total: amount,
            date_placed: "2020-06-15 12:00:00".to_owned(),
            date_shipped: None,
            date_vendor_paid: None,
            fees_2co: fees_for(amount),
            invoice_id: FOREIGN_INVOICE_ID.to_owned(),
            lineitems: vec![LineItem {
                affiliate_vendor_id: None,
                billing: Billing {
                    amount,
                    bill_method: Some("credit_card".to_owned()),
                    billing_id: "8000000029".to_owned(),
                    customer_amount: amount,
                    customer_id,
                    date_deposited: Some("2020-06-17".to_owned()),
                    date_end: None,
                    date_fail: None,
                    date_next: None,
                    date_pending: Some("2020-06-15".to_owned()),
                    date_start: Some("2020-06-15".to_owned()),
                    lineitem_id: lineitem_id.clone(),
                    recurring_status: None,
                    status: BillStatus::Bill,
                    usd_amount: amount,
                    vendor_amount: amount,
                },
                commission: None,
                commission_affiliate_vendor_id: None,
                commission_flat_rate: None,
                commission_percentage: None,
                commission_type: None,
                commission_usd_amount: None,
                customer_amount: amount,
                flat_rate: None,
                installment: None,
                invoice_id: FOREIGN_INVOICE_ID.to_owned(),
                lc_affiliate_vendor_id: None,
                lc_usd_amount: None,
                lineitem_id,
                linked_id: None,
                options: Vec::new(),
                percentage: None,
                product_description: "Another vendor's product".to_owned(),
                product_duration: None,
                product_handling: Money::ZERO,
                product_id: "8000000100".to_owned(),
                product_is_cart: "0".to_owned(),
                product_name: "Foreign widget".to_owned(),
                product_price: amount,
                product_recurrence: None,
                product_startup_fee: None,
                product_tangible: "0".to_owned(),
                sale_id: FOREIGN_SALE_ID.to_owned(),
                status: BillStatus::Bill,
                kind: None,
                usd_amount: amount,
                usd_commission: None,
                vendor_amount: amount,
                vendor_product_id: "EBOOK-RUST-01".to_owned(),
                recurring_price: None,
            }],
            new_customer_quote_id: Extra::Absent,
            new_vendor_quote_id: Extra::Absent,
            payout_status: Extra::Absent,
            recurring: "0".to_owned(),
            referrer: None,
            sale_id: FOREIGN_SALE_ID.to_owned(),
            shipping: None,
            status: InvoiceStatus::Deposited,
            timestamp: Extra::Absent,
            usd_total: amount,
            vendor_id: FOREIGN_VENDOR_ID.to_owned(),
            vendor_order_id: None,
            vendor_total: amount,
        }],
        ip_address: "192.0.2.200".to_owned(),
        ip_country: "United States".to_owned(),
        recurring_decline: None,
        latest_decline: None,
        authorization: Authorization::default(),
        demo: false,
        capture_at: None,
        sale_id: FOREIGN_SALE_ID.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_placements_match_their_text() {
        let pinned = [
            (ACTIVE_RECURRING_SALE_INSTANT, ACTIVE_RECURRING_SALE_PLACED),
            (REFUNDABLE_SALE_INSTANT, REFUNDABLE_SALE_PLACED),
            (REAUTHORIZABLE_SALE_INSTANT, REAUTHORIZABLE_SALE_PLACED),
            (REAUTH_FAILING_SALE_INSTANT, REAUTH_FAILING_SALE_PLACED),
            (UNSHIPPED_TANGIBLE_SALE_INSTANT, UNSHIPPED_TANGIBLE_SALE_PLACED),
        ];
        for (seconds, text) in pinned {
            assert_eq!(format_datetime(instant(seconds)), text);
        }
    }
}
