//! The account section `acct/*`: `detail_company_info`, `detail_contact_info`,
//! `detail_pending_payment` and `list_payments`, all reads without parameters (any given are
//! ignored), answered as `serde_json::Value`s for the renderer.
//!
//! Company and contact details are fixed (the documentation's example account, with the
//! simulator's own seller id and INS secret word). Payouts are seeded ([`PAYOUTS`]: dates,
//! ids, one voided and reissued), but their money comes from the store: each payout covers a
//! period of days, and its totals are what the own vendor's sales brought and gave back in that
//! period ([`Store::payout_totals`]); the pending payout covers everything since the last one,
//! so a refund or a captured Payment API sale made now shows in it at once. What the store does
//! not model (adjustments, commissions, chargeback fees, balance forward, released reserve, the
//! payment fee) is `"0.00"`. Which value is derived and which seeded, and why, is listed in the
//! simulator's "Fidelity decisions".

use serde_json::{Value, json};

use super::records::Money;
use super::render::ApiError;
use super::store::{PayoutTotals, Store};

/// The share of a payout's sales held back as reserve, in percent: the documentation's pending
/// payment example holds 14.19 of 283.86 in sales, 5 % to the cent.
pub const RESERVE_PERCENT: i64 = 5;
/// The pending payment's `release_level`, as the sandbox accounts answer (2014-2019 and 2020
/// suites; the live 2013 account answered "100", the documentation "15").
pub const RELEASE_LEVEL: &str = "300";
/// How the seeded account is paid out (the documentation's list example).
pub const PAYMENT_METHOD: &str = "wire";
/// The `2co_account_level_id` the documentation's contact example carries (undocumented key).
pub const ACCOUNT_LEVEL_ID: &str = "3";

/// One seeded payout: the days of sales it paid out (inclusive), when, and whether it was voided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payout {
    pub payment_id: &'static str,
    pub first_day: &'static str,
    pub last_day: &'static str,
    /// `YYYY-MM-DD HH:MM:SS` (the documentation's "MM:HH:SS" is a typo).
    pub date_paid: &'static str,
    pub date_voided: Option<&'static str>,
}

/// The account's payouts, oldest first: monthly wires on the 16th for the month before,
/// the February one voided two days later and reissued for the same period.
pub const PAYOUTS: [Payout; 5] = [
    Payout {
        payment_id: "9200000001",
        first_day: "2025-11-16",
        last_day: "2025-12-15",
        date_paid: "2025-12-16 14:00:00",
        date_voided: None,
    },
    Payout {
        payment_id: "9200000002",
        first_day: "2025-12-16",
        last_day: "2026-01-15",
        date_paid: "2026-01-16 14:00:00",
        date_voided: None,
    },
    Payout {
        payment_id: "9200000003",
        first_day: "2026-01-16",
        last_day: "2026-02-15",
        date_paid: "2026-02-16 14:00:00",
        date_voided: Some("2026-02-18 09:30:00"),
    },
    Payout {
        payment_id: "9200000004",
        first_day: "2026-01-16",
        last_day: "2026-02-15",
        date_paid: "2026-02-19 14:00:00",
        date_voided: None,
    },
    Payout {
        payment_id: "9200000005",
        first_day: "2026-02-16",
        last_day: "2026-03-15",
        date_paid: "2026-03-16 14:00:00",
        date_voided: None,
    },
];
/// The payout being accumulated.
pub const PENDING_PAYMENT_ID: &str = "9200000006";
/// The pending payout covers the days from this one on (the day after the last payout's period).
pub const PENDING_FIRST_DAY: &str = "2026-03-16";

/// The seller's account as `acct/*` shows it. `Debug` never shows the secret word.
pub struct Account {
    seller_id: String,
    secret_word: String,
    /// No payouts at all (`SimulatorConfig::empty_catalog`).
    empty: bool,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("seller_id", &self.seller_id)
            .field("secret_word", &"<redacted>")
            .field("empty", &self.empty)
            .finish()
    }
}

impl Account {
    pub fn new(seller_id: &str, secret_word: &str, empty: bool) -> Self {
        Account { seller_id: seller_id.to_owned(), secret_word: secret_word.to_owned(), empty }
    }
}

/// `acct/detail_company_info`. Carries the INS secret word, as the live API does (an
/// e-commerce gateway configures itself from it).
pub fn detail_company_info(account: &Account) -> Result<Value, ApiError> {
    Ok(json!({
        "response_code": "OK",
        "response_message": "company info retrieved",
        "vendor_company_info": {
            "affiliate_url": "http://www.fake-company.com",
            "currency_code": "USD",
            "currency_name": "US Dollars",
            "currency_symbol": "$",
            "demo": "P",
            "pending_return_url": "",
            "return_method": "1",
            "return_url": "",
            "secret_word": account.secret_word,
            "site_category": "Computer Software",
            "site_description": "Software and services sold through the 2Checkout simulator",
            "site_title": "Fake Company",
            "soft_descriptor": "FAKECO",
            "url": "http://www.fake-company.com",
            "vendor_id": account.seller_id,
            "vendor_name": "Fake Company",
        },
    }))
}

/// `acct/detail_contact_info`, with the documentation example's quirks: the undocumented
/// `2co_account_level_id` and `customer_service_phone_ext` as the text `"null"`.
pub fn detail_contact_info(account: &Account) -> Result<Value, ApiError> {
    Ok(json!({
        "response_code": "OK",
        "response_message": "contact info retrieved",
        "vendor_contact_info": {
            "2co_account_level_id": ACCOUNT_LEVEL_ID,
            "customer_service_email": "support@fake-company.com",
            "customer_service_phone": "555-555-5555",
            "customer_service_phone_ext": "null",
            "mailing_address_1": "855 Grandview Avenue",
            "mailing_address_2": "Suite 11",
            "mailing_address_id": "9300000001",
            "mailing_city": "Columbus",
            "mailing_country_code": "USA",
            "mailing_postal_code": "43215",
            "mailing_state": "OH",
            "office_email": "support@fake-company.com",
            "office_phone": "555-555-5555",
            "office_phone_ext": null,
            "physical_address_1": "855 Grandview Avenue",
            "physical_address_2": "Suite 11",
            "physical_address_id": "9300000002",
            "physical_city": "Columbus",
            "physical_country_code": "USA",
            "physical_postal_code": "43215",
            "physical_state": "OH",
            "vendor_id": account.seller_id,
        },
    }))
}

/// `acct/detail_pending_payment`: the payout being accumulated since the last one.
pub fn detail_pending_payment(_account: &Account, store: &Store) -> Result<Value, ApiError> {
    let money = PayoutMoney::of(store.payout_totals(PENDING_FIRST_DAY, None));
    Ok(json!({
        "payment": {
            "amount": money.amount,
            "payment_fee": Money::ZERO,
            "payment_id": PENDING_PAYMENT_ID,
            "payment_method": PAYMENT_METHOD,
            "release_level": RELEASE_LEVEL,
            "reserve_held": money.reserve_held,
            "total_adjustments": Money::ZERO,
            "total_balance_forward": Money::ZERO,
            "total_chargeback_fees": Money::ZERO,
            "total_commissions": Money::ZERO,
            "total_fees": money.totals.fees,
            "total_outgoing_commissions": Money::ZERO,
            "total_refunds": money.totals.refunds,
            "total_reserve_released": Money::ZERO,
            "total_sales": money.totals.sales,
        },
        "response_code": "OK",
        "response_message": "payment info retrieved",
    }))
}

/// `acct/list_payments`: the seeded payouts, newest first; RECORD_NOT_FOUND for an account
/// without any, as the live API answers every empty list.
pub fn list_payments(account: &Account, store: &Store) -> Result<Value, ApiError> {
    if account.empty {
        return Err(ApiError::record_not_found());
    }
    let payments: Vec<Value> = PAYOUTS
        .iter()
        .rev()
        .map(|payout| {
            let money = PayoutMoney::of(store.payout_totals(payout.first_day, Some(payout.last_day)));
            json!({
                "amount": money.amount,
                "date_paid": payout.date_paid,
                "date_reserve_released": null,
                "date_voided": payout.date_voided,
                "payment_id": payout.payment_id,
                "payment_identifier": format!("{PAYMENT_METHOD}_{}", payout.payment_id),
                "payment_type": PAYMENT_METHOD,
                "reserve_held": money.reserve_held,
                "total_adjustments": Money::ZERO,
                "total_balance_forward": Money::ZERO,
                "total_chargeback_fees": Money::ZERO,
                "total_commissions": Money::ZERO,
                "total_fees": money.totals.fees,
                "total_outgoing_commissions": Money::ZERO,
                "total_refunds": money.totals.refunds,
                "total_reserve_released": Money::ZERO,
                "total_sales": money.totals.sales,
                "void": if payout.date_voided.is_some() { "1" } else { "0" },
            })
        })
        .collect();
    Ok(json!({
        "payments": payments,
        "response_code": "OK",
        // Not captured from any source: the simulator's own, in the style of the other acct calls.
        "response_message": "payments retrieved",
    }))
}

/// A payout's money: the store's totals, the reserve held back and what is paid out.
struct PayoutMoney {
    totals: PayoutTotals,
    reserve_held: Money,
    /// Sales − refunds − fees − reserve held (the items the store does not model are zero).
    amount: Money,
}

impl PayoutMoney {
    fn of(totals: PayoutTotals) -> Self {
        let reserve_held = reserve_of(totals.sales);
        let amount =
            totals.sales.saturating_sub(totals.refunds).saturating_sub(totals.fees).saturating_sub(reserve_held);
        PayoutMoney { totals, reserve_held, amount }
    }
}

/// [`RESERVE_PERCENT`] of `sales`, rounded half up to the cent (never negative).
fn reserve_of(sales: Money) -> Money {
    let cents = sales.cents().max(0);
    Money::from_cents(cents.saturating_mul(RESERVE_PERCENT).saturating_add(50) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_five_percent_rounded_half_up_like_the_documented_example() {
        // The documentation's pending payment: 14.19 held of 283.86.
        assert_eq!(reserve_of(Money::from_cents(28386)), Money::from_cents(1419));
        assert_eq!(reserve_of(Money::from_cents(10)), Money::from_cents(1), "0.5 cent rounds up");
        assert_eq!(reserve_of(Money::from_cents(9)), Money::ZERO);
        assert_eq!(reserve_of(Money::from_cents(-500)), Money::ZERO);
    }

    #[test]
    fn the_account_debug_hides_the_secret_word() {
        let shown = format!("{:?}", Account::new("901248156", "tango", false));
        assert!(!shown.contains("tango"), "{shown}");
        assert!(shown.contains("901248156"));
    }

    #[test]
    fn payouts_are_in_order_and_the_pending_period_follows_the_last() {
        for pair in PAYOUTS.windows(2) {
            assert!(pair[0].date_paid < pair[1].date_paid);
            assert!(pair[0].first_day <= pair[1].first_day);
        }
        let last = PAYOUTS[PAYOUTS.len() - 1];
        assert!(last.last_day < PENDING_FIRST_DAY);
        assert_eq!(PAYOUTS.iter().filter(|payout| payout.date_voided.is_some()).count(), 1);
    }
}
