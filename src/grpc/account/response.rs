//! Domain answers into AccountService messages (`From`, infallible): absent
//! values become proto defaults, money decimal strings. There is no secret
//! word to leave out: the domain's `CompanyInfo` never holds it.

use super::super::proto;
use crate::domain::{self, Amount};

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn money(value: Option<Amount>) -> String {
    value.map(|a| a.to_string()).unwrap_or_default()
}

impl From<domain::CompanyInfo> for proto::CompanyInfo {
    fn from(c: domain::CompanyInfo) -> Self {
        Self {
            vendor_id: c.vendor_id,
            vendor_name: text(&c.vendor_name),
            site_title: text(&c.site_title),
            site_description: text(&c.site_description),
            site_category: text(&c.site_category),
            soft_descriptor: text(&c.soft_descriptor),
            url: text(&c.url),
            return_url: text(&c.return_url),
            pending_return_url: text(&c.pending_return_url),
            affiliate_url: text(&c.affiliate_url),
            return_method: text(&c.return_method),
            currency_symbol: text(&c.currency_symbol),
            currency_code: text(&c.currency_code),
            currency_name: text(&c.currency_name),
            demo: text(&c.demo),
        }
    }
}

impl From<domain::ContactInfo> for proto::ContactInfo {
    fn from(c: domain::ContactInfo) -> Self {
        Self {
            vendor_id: c.vendor_id,
            mailing_address_id: text(&c.mailing_address_id),
            mailing_address_1: text(&c.mailing_address_1),
            mailing_address_2: text(&c.mailing_address_2),
            mailing_city: text(&c.mailing_city),
            mailing_state: text(&c.mailing_state),
            mailing_postal_code: text(&c.mailing_postal_code),
            mailing_country_code: text(&c.mailing_country_code),
            physical_address_id: text(&c.physical_address_id),
            physical_address_1: text(&c.physical_address_1),
            physical_address_2: text(&c.physical_address_2),
            physical_city: text(&c.physical_city),
            physical_state: text(&c.physical_state),
            physical_postal_code: text(&c.physical_postal_code),
            physical_country_code: text(&c.physical_country_code),
            office_phone: text(&c.office_phone),
            office_phone_ext: text(&c.office_phone_ext),
            office_email: text(&c.office_email),
            customer_service_phone: text(&c.customer_service_phone),
            customer_service_phone_ext: text(&c.customer_service_phone_ext),
            customer_service_email: text(&c.customer_service_email),
        }
    }
}

impl From<domain::PayoutTotals> for proto::PayoutTotals {
    fn from(t: domain::PayoutTotals) -> Self {
        Self {
            total_sales: money(t.total_sales),
            total_fees: money(t.total_fees),
            total_refunds: money(t.total_refunds),
            total_chargeback_fees: money(t.total_chargeback_fees),
            total_adjustments: money(t.total_adjustments),
            total_commissions: money(t.total_commissions),
            total_outgoing_commissions: money(t.total_outgoing_commissions),
            total_balance_forward: money(t.total_balance_forward),
            total_reserve_released: money(t.total_reserve_released),
        }
    }
}

impl From<domain::PendingPayment> for proto::PendingPayment {
    fn from(p: domain::PendingPayment) -> Self {
        Self {
            payment_id: text(&p.payment_id),
            amount: money(p.amount),
            payment_fee: money(p.payment_fee),
            payment_method: text(&p.payment_method),
            release_level: text(&p.release_level),
            reserve_held: money(p.reserve_held),
            totals: Some(p.totals.into()),
        }
    }
}

impl From<domain::AccountPayment> for proto::AccountPayment {
    fn from(p: domain::AccountPayment) -> Self {
        Self {
            payment_id: p.payment_id,
            payment_identifier: text(&p.payment_identifier),
            date_paid: text(&p.date_paid),
            amount: money(p.amount),
            payment_type: text(&p.payment_type),
            reserve_held: money(p.reserve_held),
            date_reserve_released: text(&p.date_reserve_released),
            voided: p.voided,
            date_voided: text(&p.date_voided),
            totals: Some(p.totals.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_payment_keeps_its_money_as_decimal_strings() {
        let pending = domain::PendingPayment {
            payment_id: Some("2436561667".into()),
            amount: Some(Amount::from_minor_units(99_999)),
            release_level: Some("300".into()),
            totals: domain::PayoutTotals {
                total_refunds: Some(Amount::from_minor_units(27_536)),
                ..Default::default()
            },
            ..Default::default()
        };
        let p: proto::PendingPayment = pending.into();
        assert_eq!((p.amount.as_str(), p.payment_fee.as_str(), p.release_level.as_str()), ("999.99", "", "300"));
        assert_eq!(p.totals.unwrap().total_refunds, "275.36");
    }

    #[test]
    fn a_voided_payout_says_so() {
        let payout = domain::AccountPayment {
            payment_id: "4681565342".into(),
            voided: true,
            amount: Some(Amount::from_minor_units(5_024_051)),
            ..Default::default()
        };
        let p: proto::AccountPayment = payout.into();
        assert_eq!((p.voided, p.amount.as_str(), p.date_paid.as_str()), (true, "50240.51", ""));
    }
}
