//! A caller's ceiling on what one refund may move, from the policy file.

use crate::domain::Amount;

/// The most one refund call of this caller may move, in a stated currency
/// (ISO 4217 code, upper case: "USD"). The auth layer puts it in the request's
/// extensions when the caller's policy entry sets `max_refund`; the refund
/// handlers enforce it (PERMISSION_DENIED naming the limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundCeiling {
    pub amount: Amount,
    pub currency: String,
}
