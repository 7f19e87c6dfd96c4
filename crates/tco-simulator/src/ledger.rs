//! The money arithmetic of refunds: amounts in the three currencies of an invoice, remaining
//! balances, and the conversion of a refund given in one currency into the other two.
//!
//! Everything is integer cents. An invoice carries its totals in USD, in the vendor's currency
//! and in the buyer's; a refund asked in one of them is converted into the other two by the
//! invoice's own ratios (`amount × total_other / total_given`), rounded half up to the cent. The
//! refund that takes the remaining balance to zero in the currency asked takes it to zero in all
//! three, so rounding never leaves a stray cent behind.

use super::records::{Invoice, LineItem, Money};

/// The currency a refund amount is given in (`currency` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Currency {
    Usd,
    Vendor,
    Customer,
}

impl Currency {
    const ALL: [Currency; 3] = [Currency::Usd, Currency::Vendor, Currency::Customer];

    /// `usd`, `vendor` or `customer`, in any case.
    pub fn parse(text: &str) -> Option<Currency> {
        match text.to_ascii_lowercase().as_str() {
            "usd" => Some(Currency::Usd),
            "vendor" => Some(Currency::Vendor),
            "customer" => Some(Currency::Customer),
            _ => None,
        }
    }
}

/// One amount in each of an invoice's three currencies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    pub usd: Money,
    pub vendor: Money,
    pub customer: Money,
}

impl Amounts {
    pub fn of_line(item: &LineItem) -> Amounts {
        Amounts { usd: item.usd_amount, vendor: item.vendor_amount, customer: item.customer_amount }
    }

    pub fn invoice_total(invoice: &Invoice) -> Amounts {
        Amounts { usd: invoice.usd_total, vendor: invoice.vendor_total, customer: invoice.customer_total }
    }

    pub fn get(self, currency: Currency) -> Money {
        match currency {
            Currency::Usd => self.usd,
            Currency::Vendor => self.vendor,
            Currency::Customer => self.customer,
        }
    }

    fn with(mut self, currency: Currency, value: Money) -> Amounts {
        match currency {
            Currency::Usd => self.usd = value,
            Currency::Vendor => self.vendor = value,
            Currency::Customer => self.customer = value,
        }
        self
    }

    fn zip(self, other: Amounts, f: impl Fn(Money, Money) -> Money) -> Amounts {
        Amounts {
            usd: f(self.usd, other.usd),
            vendor: f(self.vendor, other.vendor),
            customer: f(self.customer, other.customer),
        }
    }

    fn plus(self, other: Amounts) -> Amounts {
        self.zip(other, Money::saturating_add)
    }

    /// `self − other`, never below zero: a balance cannot be negative (an invoice-wide refund is
    /// linked to the first line, and may exceed that line's own amount).
    pub fn minus_floored(self, other: Amounts) -> Amounts {
        self.zip(other, |a, b| a.saturating_sub(b).max(Money::ZERO))
    }

    /// The smaller amount in each currency.
    pub fn min(self, other: Amounts) -> Amounts {
        self.zip(other, Money::min)
    }

    pub fn is_zero(self) -> bool {
        Currency::ALL.iter().all(|&currency| self.get(currency) <= Money::ZERO)
    }
}

fn sum<'a>(lines: impl Iterator<Item = &'a LineItem>) -> Amounts {
    lines.fold(Amounts::default(), |total, item| total.plus(Amounts::of_line(item)))
}

/// What is left to refund on an invoice: its totals (the amounts charged) minus its refund lines.
pub fn invoice_remaining(invoice: &Invoice) -> Amounts {
    let refunds = sum(invoice.lineitems.iter().filter(|item| item.is_refund()));
    Amounts::invoice_total(invoice).minus_floored(refunds)
}

/// What is left to refund on one billed line: its amounts minus the refund lines linked to it.
pub fn line_remaining(invoice: &Invoice, line: &LineItem) -> Amounts {
    let refunds = sum(invoice
        .lineitems
        .iter()
        .filter(|item| item.is_refund() && item.linked_id.as_deref() == Some(line.lineitem_id.as_str())));
    Amounts::of_line(line).minus_floored(refunds)
}

/// The refund to record when the client asks for `requested` (or, with `None`, everything that
/// is left) out of `remaining`, converting by the ratios of `base`. `None` when the amount asked
/// exceeds what remains in its currency.
pub fn refund_portion(requested: Option<(Currency, Money)>, remaining: Amounts, base: Amounts) -> Option<Amounts> {
    let Some((currency, amount)) = requested else {
        return Some(remaining);
    };
    let left = remaining.get(currency);
    if amount > left {
        return None;
    }
    if amount == left {
        // The last refund in one currency clears all three: no stray cents from rounding.
        return Some(remaining);
    }
    let mut portion = Amounts::default().with(currency, amount);
    for other in Currency::ALL.into_iter().filter(|&other| other != currency) {
        let converted = convert(amount, base.get(currency), base.get(other));
        // Rounding up must never take more than is left in the other currency.
        portion = portion.with(other, converted.min(remaining.get(other)));
    }
    Some(portion)
}

/// `amount × to / from`, rounded half up to the cent (amounts are never negative here).
fn convert(amount: Money, from: Money, to: Money) -> Money {
    if from.cents() <= 0 {
        return Money::ZERO;
    }
    let numerator = i128::from(amount.cents()) * i128::from(to.cents());
    let denominator = i128::from(from.cents());
    let rounded = (2 * numerator + denominator) / (2 * denominator);
    Money::from_cents(i64::try_from(rounded).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::{Amounts, Currency, convert, refund_portion};
    use crate::records::Money;

    fn amounts(usd: i64, vendor: i64, customer: i64) -> Amounts {
        Amounts {
            usd: Money::from_cents(usd),
            vendor: Money::from_cents(vendor),
            customer: Money::from_cents(customer),
        }
    }

    #[test]
    fn conversion_rounds_half_up_to_the_cent() {
        // 10.00 USD on an invoice of 34.98 USD / 32.18 EUR: 9.1995… → 9.20.
        assert_eq!(convert(Money::from_cents(1000), Money::from_cents(3498), Money::from_cents(3218)).cents(), 920);
        // Exactly half a cent rounds up: 1 × 3 / 2 = 1.5 → 2.
        assert_eq!(convert(Money::from_cents(1), Money::from_cents(2), Money::from_cents(3)).cents(), 2);
        assert_eq!(convert(Money::from_cents(5), Money::ZERO, Money::from_cents(3)).cents(), 0);
    }

    #[test]
    fn the_refund_that_empties_one_currency_empties_all_three() {
        let remaining = amounts(1954, 1954, 1797);
        let base = amounts(3498, 3498, 3218);
        let portion = refund_portion(Some((Currency::Customer, Money::from_cents(1797))), remaining, base);
        assert_eq!(portion, Some(remaining));
        assert_eq!(refund_portion(Some((Currency::Usd, Money::from_cents(1955))), remaining, base), None);
        assert_eq!(refund_portion(None, remaining, base), Some(remaining));
    }

    #[test]
    fn a_converted_amount_never_exceeds_what_is_left_in_that_currency() {
        let remaining = amounts(100, 100, 1);
        let portion = refund_portion(Some((Currency::Usd, Money::from_cents(50))), remaining, amounts(100, 100, 100));
        assert_eq!(portion, Some(amounts(50, 50, 1)));
    }
}
