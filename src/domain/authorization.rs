//! Card authorization (the Payment API), as validated commands: a value of
//! [`AuthorizationRequest`] satisfies every documented attribute rule, so
//! nothing invalid ever reaches 2Checkout. The card token is a secret: it
//! never prints.

use std::{
    fmt,
    hash::{Hash, Hasher},
};

use secrecy::{ExposeSecret, SecretString};

use super::{
    Amount, RequestId,
    fingerprint::{Fingerprint, digest},
};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OrderLineOption {
    pub name: String,
    pub value: String,
    pub surcharge: Amount,
}

/// How a recurring line bills: both parts, always together.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Recurrence {
    /// "<n> Week|Month|Year".
    pub every: String,
    /// "Forever" or "<n> Week|Month|Year".
    pub duration: String,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OrderAmount {
    Total(Amount),
    Lines(Vec<OrderLine>),
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

impl AuthorizationRequest {
    /// The canonical encoding of this authorization, every field included
    /// (see `domain::fingerprint`); the card token only as a digest, so the
    /// fingerprint holds no secret. The request id is the store's key, not
    /// part of the request.
    pub fn fingerprint(&self) -> String {
        let mut f = Fingerprint::new("authorize")
            .text("merchant_order_id", &self.merchant_order_id)
            .text("token_digest", &digest(self.token.expose()))
            .text("currency", self.currency);
        f = match &self.amount {
            OrderAmount::Total(total) => f.text("total", &total.to_string()),
            OrderAmount::Lines(lines) => lines.iter().fold(f.number("lines", lines.len()), order_line),
        };
        f = postal_address(f, &self.billing.address)
            .text("email", &self.billing.email)
            .text("phone_number", &self.billing.phone_number)
            .optional("phone_extension", self.billing.phone_extension.as_deref());
        f = match &self.shipping {
            Some(shipping) => postal_address(f.flag("shipping", true), shipping),
            None => f.flag("shipping", false),
        };
        f.flag("demo", self.demo).finish()
    }
}

fn order_line(f: Fingerprint, line: &OrderLine) -> Fingerprint {
    let f = f
        .text("type", line.line_type.as_vendor_str())
        .text("name", &line.name)
        .number("quantity", line.quantity)
        .text("price", &line.price.to_string())
        .optional("tangible", line.tangible.map(|t| if t { "1" } else { "0" }))
        .optional("product_id", line.product_id.as_deref())
        .optional("recurrence", line.recurrence.as_ref().map(|r| r.every.as_str()))
        .optional("duration", line.recurrence.as_ref().map(|r| r.duration.as_str()))
        .optional("startup_fee", line.startup_fee.map(|fee| fee.to_string()).as_deref())
        .number("options", line.options.len());
    line.options.iter().fold(f, |f, option| {
        f.text("option_name", &option.name)
            .text("option_value", &option.value)
            .text("option_surcharge", &option.surcharge.to_string())
    })
}

fn postal_address(f: Fingerprint, address: &PostalAddress) -> Fingerprint {
    f.text("name", &address.name)
        .text("line_1", &address.line_1)
        .optional("line_2", address.line_2.as_deref())
        .text("city", &address.city)
        .optional("state", address.state.as_deref())
        .optional("zip_code", address.zip_code.as_deref())
        .optional("country", address.country.as_deref())
}

/// An approved authorization, as the vendor recorded it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

    fn request() -> AuthorizationRequest {
        AuthorizationRequest {
            request_id: "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".parse().unwrap(),
            merchant_order_id: "order-1".into(),
            token: CardToken::new("tok_secret_123".into()),
            currency: "USD",
            amount: OrderAmount::Total("10.00".parse().unwrap()),
            billing: BillingContact {
                address: PostalAddress {
                    name: "Jane Doe".into(),
                    line_1: "1 Main St".into(),
                    city: "Columbus".into(),
                    country: Some("USA".into()),
                    ..Default::default()
                },
                email: "jane@example.com".into(),
                phone_number: "5555555555".into(),
                phone_extension: None,
            },
            shipping: None,
            demo: true,
        }
    }

    #[test]
    fn equal_authorizations_have_equal_fingerprints_without_the_token() {
        let fingerprint = request().fingerprint();
        assert_eq!(fingerprint, request().fingerprint());
        assert!(!fingerprint.contains("tok_secret_123"));
    }

    #[test]
    fn any_change_changes_the_authorization_fingerprint() {
        let base = request().fingerprint();
        let changed: [fn(&mut AuthorizationRequest); 7] = [
            |r| r.token = CardToken::new("tok_other".into()),
            |r| r.merchant_order_id.push('2'),
            |r| r.currency = "EUR",
            |r| r.amount = OrderAmount::Total("10.01".parse().unwrap()),
            |r| r.billing.address.line_2 = Some(String::new()),
            |r| r.shipping = Some(PostalAddress::default()),
            |r| r.demo = false,
        ];
        for change in changed {
            let mut other = request();
            change(&mut other);
            assert_ne!(other.fingerprint(), base);
        }
        let mut other = request();
        other.request_id = "7f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".parse().unwrap();
        assert_eq!(other.fingerprint(), base, "the request id is the key, not part of the request");
    }

    #[test]
    fn the_authorization_fingerprint_format_is_stable() {
        assert_eq!(
            request().fingerprint(),
            "kind=9:authorize;merchant_order_id=7:order-1;token_digest=16:8dde63409172b85d;currency=3:USD;total=5:10.00;\
             name=8:Jane Doe;line_1=9:1 Main St;line_2-;city=8:Columbus;state-;zip_code-;country=3:USA;\
             email=16:jane@example.com;phone_number=10:5555555555;phone_extension-;shipping=1:0;demo=1:1;"
        );
    }
}
