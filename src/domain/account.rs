//! The seller account as `acct/*` of the Admin API shows it: company and
//! contact details, the payout being accumulated, and past payouts
//! (2Checkout calls them "payments").
//!
//! The company info answer carries the account's INS secret word; the
//! gateway never reads it into these types, so it cannot reach a caller, a
//! cache or a log.

use std::future::Future;

use super::{Amount, CallContext, Error};

/// `acct/detail_company_info` (`vendor_company_info`), without `secret_word`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompanyInfo {
    pub vendor_id: String,
    pub vendor_name: Option<String>,
    pub site_title: Option<String>,
    pub site_description: Option<String>,
    pub site_category: Option<String>,
    pub soft_descriptor: Option<String>,
    pub url: Option<String>,
    pub return_url: Option<String>,
    pub pending_return_url: Option<String>,
    pub affiliate_url: Option<String>,
    /// `0` links back, `1` returns immediately, or a header redirect; verbatim.
    pub return_method: Option<String>,
    pub currency_symbol: Option<String>,
    pub currency_code: Option<String>,
    pub currency_name: Option<String>,
    /// `Y`, `N` or `P` (per parameter); verbatim.
    pub demo: Option<String>,
}

/// `acct/detail_contact_info` (`vendor_contact_info`). The vendor's string
/// "null" is read as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactInfo {
    pub vendor_id: String,
    pub mailing_address_id: Option<String>,
    pub mailing_address_1: Option<String>,
    pub mailing_address_2: Option<String>,
    pub mailing_city: Option<String>,
    pub mailing_state: Option<String>,
    pub mailing_postal_code: Option<String>,
    pub mailing_country_code: Option<String>,
    pub physical_address_id: Option<String>,
    pub physical_address_1: Option<String>,
    pub physical_address_2: Option<String>,
    pub physical_city: Option<String>,
    pub physical_state: Option<String>,
    pub physical_postal_code: Option<String>,
    pub physical_country_code: Option<String>,
    pub office_phone: Option<String>,
    pub office_phone_ext: Option<String>,
    pub office_email: Option<String>,
    pub customer_service_phone: Option<String>,
    pub customer_service_phone_ext: Option<String>,
    pub customer_service_email: Option<String>,
}

/// The totals every payout statement carries.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PayoutTotals {
    pub total_sales: Option<Amount>,
    pub total_fees: Option<Amount>,
    pub total_refunds: Option<Amount>,
    pub total_chargeback_fees: Option<Amount>,
    pub total_adjustments: Option<Amount>,
    pub total_commissions: Option<Amount>,
    pub total_outgoing_commissions: Option<Amount>,
    pub total_balance_forward: Option<Amount>,
    pub total_reserve_released: Option<Amount>,
}

/// `acct/detail_pending_payment` (`payment`): the payout being accumulated.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingPayment {
    pub payment_id: Option<String>,
    pub amount: Option<Amount>,
    pub payment_fee: Option<Amount>,
    pub payment_method: Option<String>,
    /// The account's release level (`"300"` on sandbox accounts); verbatim.
    pub release_level: Option<String>,
    pub reserve_held: Option<Amount>,
    pub totals: PayoutTotals,
}

/// One `acct/list_payments` entry: a payout made (or voided).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountPayment {
    pub payment_id: String,
    pub payment_identifier: Option<String>,
    /// Verbatim (documented as `YYYY-MM-DD MM:HH:SS`, sic).
    pub date_paid: Option<String>,
    pub amount: Option<Amount>,
    pub payment_type: Option<String>,
    pub reserve_held: Option<Amount>,
    pub date_reserve_released: Option<String>,
    pub voided: bool,
    pub date_voided: Option<String>,
    pub totals: PayoutTotals,
}

/// Read access to the seller account. `list_payments` with no payouts is an
/// empty list, whatever the vendor answered (HTTP 400 RECORD_NOT_FOUND on
/// some accounts).
pub trait AccountPort: Send + Sync + 'static {
    fn company_info(&self, ctx: CallContext) -> impl Future<Output = Result<CompanyInfo, Error>> + Send;
    fn contact_info(&self, ctx: CallContext) -> impl Future<Output = Result<ContactInfo, Error>> + Send;
    fn pending_payment(&self, ctx: CallContext) -> impl Future<Output = Result<PendingPayment, Error>> + Send;
    fn list_payments(&self, ctx: CallContext) -> impl Future<Output = Result<Vec<AccountPayment>, Error>> + Send;
}
