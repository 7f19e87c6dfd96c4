//! Card authorization (the Payment API), as validated commands: a value of
//! [`AuthorizationRequest`] satisfies every documented attribute rule, so
//! nothing invalid ever reaches 2Checkout. The card token is a secret: it
//! never prints.

use std::{
    fmt,
    hash::{Hash, Hasher},
};

use secrecy::{ExposeSecret, SecretString};

use super::{Amount, RequestId};

/// A single-use card token from 2co.js. `Debug` never shows it.
#[derive(Clone)]
pub struct CardToken(SecretString);

impl CardToken {
    pub fn new(token: String) -> Self {
        Self(SecretString::from(token))
    }

    /// The token, for the one place that sends it upstream.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardToken([REDACTED])")
    }
}

impl PartialEq for CardToken {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for CardToken {}

impl Hash for CardToken {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.expose().hash(state);
    }
}

/// What an order line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderLineType {
    Product,
    Shipping,
    Tax,
    Coupon,
}

impl OrderLineType {
    /// The vendor's (lower-case) type.
    pub fn as_vendor_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Shipping => "shipping",
            Self::Tax => "tax",
            Self::Coupon => "coupon",
        }
    }

    /// Recognises the vendor's type.
    pub fn from_vendor(raw: &str) -> Option<Self> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "product" => Self::Product,
            "shipping" => Self::Shipping,
            "tax" => Self::Tax,
            "coupon" => Self::Coupon,
            _ => return None,
        })
    }
}

/// An option chosen on an order line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderLineOption {
    pub name: String,
    pub value: String,
    pub surcharge: Amount,
}

/// How a recurring line bills: both parts, always together.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Recurrence {
    /// "<n> Week|Month|Year".
    pub every: String,
    /// "Forever" or "<n> Week|Month|Year".
    pub duration: String,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderLine {
    pub line_type: OrderLineType,
    pub name: String,
    pub quantity: u16,
    pub price: Amount,
    pub tangible: Option<bool>,
    pub product_id: Option<String>,
    pub recurrence: Option<Recurrence>,
    pub startup_fee: Option<Amount>,
    pub options: Vec<OrderLineOption>,
}

/// The amount of an order: a bare total, or lines the vendor totals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderAmount {
    Total(Amount),
    Lines(Vec<OrderLine>),
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PostalAddress {
    pub name: String,
    pub line_1: String,
    pub line_2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub zip_code: Option<String>,
    pub country: Option<String>,
}

/// The card holder: billing address and contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BillingContact {
    pub address: PostalAddress,
    pub email: String,
    pub phone_number: String,
    pub phone_extension: Option<String>,
}

/// One authorization, validated.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthorizationRequest {
    pub request_id: RequestId,
    pub merchant_order_id: String,
    pub token: CardToken,
    /// ISO 4217 code, one of the documented list.
    pub currency: &'static str,
    pub amount: OrderAmount,
    pub billing: BillingContact,
    pub shipping: Option<PostalAddress>,
    pub demo: bool,
}

/// An approved authorization, as the vendor recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The sale id.
    pub order_number: String,
    /// The invoice id.
    pub transaction_id: String,
    pub merchant_order_id: String,
    pub response_code: String,
    pub response_message: String,
    pub total: Option<Amount>,
    pub currency: String,
    pub lines: Vec<OrderLine>,
    pub billing: Option<BillingContact>,
    pub shipping: Option<PostalAddress>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_token_never_prints() {
        let token = CardToken::new("tok_secret_123".into());
        assert!(!format!("{token:?}").contains("tok_secret_123"));
        assert_eq!(token, CardToken::new("tok_secret_123".into()));
        assert_ne!(token, CardToken::new("tok_other".into()));
    }
}
