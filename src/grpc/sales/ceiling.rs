//! Refund ceilings: whether one refund fits the caller's `max_refund`
//! ([`RefundCeiling`], put in the request's extensions by the auth layer),
//! decided before anything is sent.
//!
//! A refund is asked in USD, in the vendor's or in the buyer's currency, or
//! without an amount (the whole remaining balance). The ceiling is compared
//! with the refund's amount in the ceiling's currency:
//! - a USD refund against a USD ceiling: the request says it;
//! - a refund in the vendor's or the buyer's currency against a USD ceiling:
//!   converted at the rate the sale itself shows (the target's USD amount
//!   over its amount in that currency, as 2Checkout converts refunds),
//!   rounded up to the cent, so rounding never lets a refund slip under;
//! - a full refund: what remains of the target in USD, as the sale shows it.
//!
//! The last two need the sale, read fresh (past the cache) before the write.
//! When the amount in the ceiling's currency cannot be established, the
//! refund is refused (REFUND_AMOUNT_UNVERIFIABLE, PERMISSION_DENIED): a ceiling
//! that cannot be checked must not be a ceiling that does not hold. That is
//! always the case for a ceiling in another currency than USD: 2Checkout's
//! sale record gives amounts in USD, the vendor's and the buyer's currencies
//! without naming the latter two.

use crate::{
    auth::RefundCeiling,
    domain::{Amount, Error, Refund, RefundAmount, RefundCurrency, Refundable},
};

/// The one currency whose amounts a sale record names as such.
const USD: &str = "USD";

/// What checking a refund against a ceiling needs besides the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The request alone decides.
    Nothing,
    /// The refund's target as the sale shows it now.
    Sale,
}

/// Whether `refund` can be checked against `ceiling` from the request alone.
pub fn needs(ceiling: &RefundCeiling, refund: &Refund) -> Needs {
    match refund.amount {
        _ if !is_usd(ceiling) => Needs::Nothing,
        Some(RefundAmount { currency: RefundCurrency::Usd, .. }) => Needs::Nothing,
        Some(_) | None => Needs::Sale,
    }
}

/// Checks `refund` against `ceiling`: `Ok` when it is at most the ceiling,
/// otherwise the error the caller gets. `target` is the refunded invoice or
/// line as the sale shows it (`None`: not read, or not found in the sale).
pub fn check(ceiling: &RefundCeiling, refund: &Refund, target: Option<&Refundable>) -> Result<(), Error> {
    let limit = format!("{} {}", ceiling.amount, ceiling.currency);
    let unverifiable =
        |detail: &str| Error::RefundAmountUnverifiable { limit: limit.clone(), detail: detail.to_owned() };
    if !is_usd(ceiling) {
        return Err(unverifiable(
            "only a USD limit can be checked: 2Checkout's sale record does not name the vendor's or the buyer's currency",
        ));
    }
    let in_usd = match (refund.amount, target) {
        (Some(RefundAmount { amount, currency: RefundCurrency::Usd }), _) => amount,
        (Some(RefundAmount { amount, currency }), Some(target)) => {
            let rate = (target.charged.usd, target.charged.get(currency));
            match rate {
                (Some(usd), Some(other)) if other.minor_units() > 0 => convert_rounding_up(amount, usd, other)
                    .ok_or_else(|| unverifiable("its amount in USD is too large to compute"))?,
                _ => return Err(unverifiable("the sale does not show the USD rate of the refunded amount")),
            }
        }
        (None, Some(target)) => {
            target.remaining.usd.ok_or_else(|| unverifiable("the sale does not show what remains to refund in USD"))?
        }
        (_, None) => {
            return Err(unverifiable(
                "the sale does not show the refunded invoice or line (name the invoice when the sale has several)",
            ));
        }
    };
    if in_usd <= ceiling.amount {
        Ok(())
    } else {
        Err(Error::RefundOverCeiling { limit, asked: format!("{in_usd} {USD}") })
    }
}

fn is_usd(ceiling: &RefundCeiling) -> bool {
    ceiling.currency.eq_ignore_ascii_case(USD)
}

/// `amount * to / from`, rounded up to the cent, in integers.
fn convert_rounding_up(amount: Amount, to: Amount, from: Amount) -> Option<Amount> {
    let numerator = i128::from(amount.minor_units()).checked_mul(i128::from(to.minor_units()))?;
    let denominator = i128::from(from.minor_units());
    let quotient = numerator / denominator + i128::from(numerator % denominator != 0);
    i64::try_from(quotient).ok().map(Amount::from_minor_units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InEachCurrency, RefundCategory, Text, TextRules, reason};

    fn amount(text: &str) -> Amount {
        text.parse().unwrap()
    }

    fn ceiling(limit: &str, currency: &str) -> RefundCeiling {
        RefundCeiling { amount: amount(limit), currency: currency.into() }
    }

    fn refund(asked: Option<(&str, RefundCurrency)>) -> Refund {
        Refund {
            amount: asked.map(|(a, currency)| RefundAmount { amount: amount(a), currency }),
            comment: Text::required("Refund.", TextRules::line(5000)).unwrap(),
            category: RefundCategory::try_from(5).unwrap(),
        }
    }

    /// An invoice charged 200.00 USD = 100.00 in the vendor's currency = 300.00
    /// in the buyer's, of which `left_usd` USD remains.
    fn target(left_usd: &str) -> Refundable {
        Refundable {
            charged: InEachCurrency {
                usd: Some(amount("200.00")),
                vendor: Some(amount("100.00")),
                customer: Some(amount("300.00")),
            },
            remaining: InEachCurrency { usd: Some(amount(left_usd)), vendor: None, customer: None },
        }
    }

    fn reason_of(result: Result<(), Error>) -> String {
        result.map_or_else(|e| e.reason().to_owned(), |()| "OK".to_owned())
    }

    const USD: RefundCurrency = RefundCurrency::Usd;

    #[test]
    fn a_usd_refund_under_or_equal_to_a_usd_ceiling_passes_without_reading_the_sale() {
        let limit = ceiling("100.00", "USD");
        for asked in ["0.01", "99.99", "100.00"] {
            let refund = refund(Some((asked, USD)));
            assert_eq!(needs(&limit, &refund), Needs::Nothing);
            assert_eq!(check(&limit, &refund, None), Ok(()), "{asked}");
        }
    }

    #[test]
    fn a_usd_refund_over_a_usd_ceiling_is_refused_naming_limit_and_amount() {
        let error = check(&ceiling("100.00", "USD"), &refund(Some(("100.01", USD))), None).unwrap_err();
        assert_eq!(error, Error::RefundOverCeiling { limit: "100.00 USD".into(), asked: "100.01 USD".into() });
        assert!(error.to_string().contains("limit of 100.00 USD"), "{error}");
        let status = tonic::Status::from(error);
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn the_ceilings_currency_code_is_read_in_any_case() {
        assert_eq!(check(&ceiling("100.00", "usd"), &refund(Some(("50.00", USD))), None), Ok(()));
    }

    #[test]
    fn a_refund_in_another_currency_is_converted_at_the_sales_rate_rounding_up() {
        let limit = ceiling("100.00", "USD");
        // 50.00 vendor = 100.00 USD: equal passes; 50.01 vendor = 100.02 USD does not.
        let vendor = |a| refund(Some((a, RefundCurrency::Vendor)));
        assert_eq!(needs(&limit, &vendor("50.00")), Needs::Sale);
        assert_eq!(check(&limit, &vendor("50.00"), Some(&target("200.00"))), Ok(()));
        assert_eq!(
            check(&limit, &vendor("50.01"), Some(&target("200.00"))).unwrap_err(),
            Error::RefundOverCeiling { limit: "100.00 USD".into(), asked: "100.02 USD".into() }
        );
        // 150.01 customer = 100.0066… USD, rounded up to 100.01: over.
        let customer = |a| refund(Some((a, RefundCurrency::Customer)));
        assert_eq!(check(&limit, &customer("150.00"), Some(&target("200.00"))), Ok(()));
        assert_eq!(reason_of(check(&limit, &customer("150.01"), Some(&target("200.00")))), reason::REFUND_OVER_CEILING);
    }

    #[test]
    fn a_full_refund_is_what_remains_in_usd() {
        let limit = ceiling("100.00", "USD");
        assert_eq!(needs(&limit, &refund(None)), Needs::Sale);
        assert_eq!(check(&limit, &refund(None), Some(&target("100.00"))), Ok(()), "under or equal");
        assert_eq!(
            check(&limit, &refund(None), Some(&target("200.00"))).unwrap_err(),
            Error::RefundOverCeiling { limit: "100.00 USD".into(), asked: "200.00 USD".into() }
        );
    }

    #[test]
    fn an_amount_that_cannot_be_established_is_refused() {
        let limit = ceiling("100.00", "USD");
        let unverifiable = |result| assert_eq!(reason_of(result), reason::REFUND_AMOUNT_UNVERIFIABLE);
        // The target is not in the sale (or the sale was not read).
        unverifiable(check(&limit, &refund(None), None));
        unverifiable(check(&limit, &refund(Some(("1.00", RefundCurrency::Vendor))), None));
        // The sale does not show what remains, or the rate.
        let mut blind = target("1.00");
        blind.remaining.usd = None;
        unverifiable(check(&limit, &refund(None), Some(&blind)));
        blind.charged.vendor = Some(Amount::from_minor_units(0));
        unverifiable(check(&limit, &refund(Some(("1.00", RefundCurrency::Vendor))), Some(&blind)));
    }

    #[test]
    fn a_ceiling_in_another_currency_refuses_every_refund_without_reading_the_sale() {
        let limit = ceiling("100.00", "EUR");
        for asked in [Some(("1.00", USD)), Some(("1.00", RefundCurrency::Vendor)), None] {
            let refund = refund(asked);
            assert_eq!(needs(&limit, &refund), Needs::Nothing);
            let error = check(&limit, &refund, Some(&target("1.00"))).unwrap_err();
            assert_eq!(error.reason(), reason::REFUND_AMOUNT_UNVERIFIABLE);
            assert!(error.to_string().contains("100.00 EUR"), "{error}");
        }
    }
}
