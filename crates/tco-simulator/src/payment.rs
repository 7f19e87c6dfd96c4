//! The Payment API: the token service standing in for 2co.js and the authorization
//! (`authService`) that charges a token and creates a sale.
//!
//! Both take a JSON object body (whatever the `Content-Type` says, or without one) and answer
//! JSON: `{"validationErrors":null,"exception":null,"response":{…}}` on success,
//! `{"validationErrors":null,"response":null,"exception":{"errorMsg","httpStatus","exception":false,
//! "errorCode"}}` on failure, with `errorCode` and `httpStatus` as strings and the HTTP status
//! equal to `httpStatus`. The checks run in a fixed order and the first failure is answered; the
//! order, the card table and every decision where the reference is silent are listed in the
//! simulator's module documentation.
//!
//! An approved authorization creates a sale in the [`Store`] (the same records the Admin API
//! reads and writes) before the answer is sent, so a fault's delay after processing cannot undo
//! it. Card numbers, CVVs, tokens and keys never appear in logs or answers: only the masked
//! number, the first six and last two digits reach the sale, as the Admin API shows them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Months, NaiveDateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::cards;
use super::http::constant_time_eq;
use super::records::{
    Authorization, BillStatus, Billing, Comment, Customer, DATE_FORMAT, DetailIp, Extra, Invoice, InvoiceStatus,
    LineItem, LineItemOption, Money, PayMethod, RecurringStatus, Sale, Shipping, TIMESTAMP_FORMAT,
};
use super::seed;
use super::store::{IdSource, Store};
use super::tokens::{CardDetails, RedeemError, TokenVault};

/// The comment a demo order's sale carries.
pub const DEMO_COMMENT: &str = "Demo order: no funds were captured.";
/// The `payout_status` of a Payment API sale's invoice: not paid out to the seller yet (the
/// value is inferred; a real capture shows the key, not its values).
pub const PAYOUT_PENDING: &str = "pending";
/// The reference: "The authorization will capture and deposit automatically within 48 hours".
pub const CAPTURE_AFTER_HOURS: i64 = 48;
/// The highest amount the reference's `0.00-99999999.99` format allows, in cents.
const MAX_AMOUNT_CENTS: i64 = 9_999_999_999;
/// The reference's currency list for `currency` (the longer of its two lists, which contains
/// the other).
const CURRENCIES: &[&str] = &[
    "AFN", "ALL", "DZD", "ARS", "AUD", "AZN", "BSD", "BDT", "BBD", "BZD", "BMD", "BOB", "BWP", "BRL", "GBP", "BND",
    "BGN", "CAD", "CLP", "CNY", "COP", "CRC", "CZK", "DKK", "DOP", "XCD", "EGP", "EUR", "FJD", "GTQ", "HKD", "HNL",
    "HUF", "INR", "IDR", "ILS", "JMD", "JPY", "KZT", "KES", "LAK", "MMK", "LBP", "LRD", "MOP", "MYR", "MVR", "MRO",
    "MUR", "MXN", "MAD", "NPR", "TWD", "NZD", "NIO", "NOK", "PKR", "PGK", "PEN", "PHP", "PLN", "QAR", "RON", "RUB",
    "WST", "SAR", "SCR", "SGD", "SBD", "ZAR", "KRW", "LKR", "SEK", "CHF", "SYP", "THB", "TOP", "TTD", "TRY", "UAH",
    "AED", "USD", "VUV", "VND", "XOF", "YER",
];
/// Countries whose addresses need `state` and `zipCode` (the reference's list).
const STATE_AND_ZIP_COUNTRIES: [&str; 29] = [
    "ARG", "AUS", "BGR", "CAN", "CHN", "CYP", "EGY", "FRA", "IND", "IDN", "ITA", "JPN", "MYS", "MEX", "NLD", "PAN",
    "PHL", "POL", "ROU", "RUS", "SRB", "SGP", "ZAF", "ESP", "SWE", "THA", "TUR", "GBR", "USA",
];
/// Countries whose addresses need `addrLine2` (the reference's list).
const ADDRESS_LINE_2_COUNTRIES: [&str; 3] = ["CHN", "JPN", "RUS"];
/// `(ISO 3166 alpha-3, alpha-2, name)` of the countries the simulator can name in a sale; an
/// address in another country keeps the text the client sent as both code and name.
pub(crate) const COUNTRIES: [(&str, &str, &str); 24] = [
    ("USA", "US", "United States"),
    ("CAN", "CA", "Canada"),
    ("GBR", "GB", "United Kingdom"),
    ("IRL", "IE", "Ireland"),
    ("DEU", "DE", "Germany"),
    ("FRA", "FR", "France"),
    ("ITA", "IT", "Italy"),
    ("ESP", "ES", "Spain"),
    ("NLD", "NL", "Netherlands"),
    ("BEL", "BE", "Belgium"),
    ("CHE", "CH", "Switzerland"),
    ("AUT", "AT", "Austria"),
    ("SWE", "SE", "Sweden"),
    ("NOR", "NO", "Norway"),
    ("DNK", "DK", "Denmark"),
    ("POL", "PL", "Poland"),
    ("ROU", "RO", "Romania"),
    ("JPN", "JP", "Japan"),
    ("CHN", "CN", "China"),
    ("IND", "IN", "India"),
    ("AUS", "AU", "Australia"),
    ("NZL", "NZ", "New Zealand"),
    ("BRA", "BR", "Brazil"),
    ("MEX", "MX", "Mexico"),
];

/// The seller's Payment API credentials. `Debug` never shows the private key.
#[derive(Clone)]
pub struct PaymentKeys {
    pub seller_id: String,
    pub private_key: String,
    pub publishable_key: String,
}

impl std::fmt::Debug for PaymentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentKeys")
            .field("seller_id", &self.seller_id)
            .field("private_key", &"<redacted>")
            .field("publishable_key", &self.publishable_key)
            .finish()
    }
}

/// What a Payment API request runs with.
pub struct PaymentContext<'a> {
    /// The simulator clock's reading for this request.
    pub now: DateTime<Utc>,
    /// The client's IP address (the TCP peer): the sale records it.
    pub client_ip: &'a str,
    /// The `{sellerId}` segment of the request's path.
    pub path_seller_id: &'a str,
    pub keys: &'a PaymentKeys,
}

/// A refused call: one of the documented error codes and the HTTP status sent with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentError {
    code: u16,
    status: StatusCode,
}

impl PaymentError {
    /// `code` with its documented HTTP status (401 for 300, else 400).
    pub fn new(code: u16) -> Self {
        let status = StatusCode::from_u16(cards::http_status(code)).unwrap_or(StatusCode::BAD_REQUEST);
        PaymentError { code, status }
    }

    /// A verb other than POST: "Unable to process the request" with HTTP 405.
    pub fn method_not_allowed() -> Self {
        PaymentError { code: 200, status: StatusCode::METHOD_NOT_ALLOWED }
    }

    /// Shutdown during a fault's delay: "Request failed." (the token service's "Payment API
    /// error") with HTTP 503.
    pub fn service_unavailable() -> Self {
        PaymentError { code: 500, status: StatusCode::SERVICE_UNAVAILABLE }
    }

    fn body(self) -> Value {
        json!({
            "validationErrors": null,
            "response": null,
            "exception": {
                "errorMsg": cards::error_message(self.code),
                "httpStatus": self.status.as_u16().to_string(),
                "exception": false,
                "errorCode": self.code.to_string(),
            },
        })
    }
}

/// An endpoint's answer: the success body's `response` object, or the refusal.
pub type PaymentOutcome = Result<Value, PaymentError>;

/// The HTTP response: always JSON, whatever the client accepts (the API knows no other format).
pub fn respond(outcome: PaymentOutcome) -> Response {
    let (status, body) = match outcome {
        Ok(response) => (StatusCode::OK, json!({ "validationErrors": null, "exception": null, "response": response })),
        Err(error) => (error.status, error.body()),
    };
    let mut answer = (status, body.to_string()).into_response();
    answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        answer.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    answer
}

// ---------------------------------------------------------------- token service

/// `tokenService`: what 2co.js does in the buyer's browser. Checks, in order: a JSON object
/// (200), seller id and publishable key (300), every card field present (401), every card field
/// well formed (400).
pub fn create_token(vault: &TokenVault, body: &[u8], context: &PaymentContext<'_>) -> PaymentOutcome {
    let request = json_object(body)?;
    check_seller(&request, context)?;
    let key = scalar(&request, "publishableKey").ok().flatten().unwrap_or_default();
    if !constant_time_eq(key.as_bytes(), context.keys.publishable_key.as_bytes()) {
        return Err(PaymentError::new(300));
    }
    let fields = ["ccNo", "expMonth", "expYear", "cvv"].map(|name| scalar(&request, name));
    if fields.iter().any(|field| matches!(field, Ok(None))) {
        return Err(PaymentError::new(401));
    }
    // Present but of the wrong JSON type: not a card detail either.
    let [number, month, year, cvv] = fields.map(|field| field.ok().flatten().unwrap_or_default().trim().to_owned());
    let card = parse_card(&number, &month, &year, &cvv).ok_or(PaymentError::new(400))?;
    let payment_method = json!({
        "cardNum": card.masked(),
        "expMonth": format!("{:02}", card.exp_month),
        "expYear": card.exp_year.to_string(),
        "cardType": cards::card_type(&card.number),
    });
    let token = vault.issue(card, context.now);
    Ok(json!({
        "type": "TokenResponse",
        "token": { "token": token, "dateCreated": context.now.format(TIMESTAMP_FORMAT).to_string() },
        "paymentMethod": payment_method,
        "errors": null,
    }))
}

/// The card details 2co.js accepts: 12 to 19 digits (spaces and dashes as typed are dropped),
/// month 1 to 12, a two- or four-digit year (two digits mean 20YY), a 3- or 4-digit CVV. An
/// expiry in the past is accepted here; the authorization refuses it (601).
fn parse_card(number: &str, month: &str, year: &str, cvv: &str) -> Option<CardDetails> {
    let number: String = number.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let digits = |text: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit())
    };
    if !digits(&number, 12..=19) || !digits(month, 1..=2) || !digits(cvv, 3..=4) {
        return None;
    }
    let exp_month: u32 = month.parse().ok().filter(|month| (1..=12).contains(month))?;
    let exp_year: i32 = match year.len() {
        2 if digits(year, 2..=2) => 2000 + year.parse::<i32>().ok()?,
        4 if digits(year, 4..=4) => year.parse().ok()?,
        _ => return None,
    };
    Some(CardDetails { number, exp_month, exp_year, cvv: cvv.to_owned() })
}

// ---------------------------------------------------------------- authorization

/// `authService`: charges a token. Checks, in order: a JSON object (200); seller id and private
/// key (300); the request's attributes (400 when missing or invalid, 200 when of the wrong JSON
/// type); the token (unknown 400, used or expired 300; from here on it is used up); the card's
/// expiry (601); the network's answer for the card number. Approval creates the sale, which
/// comes back beside the answer (for the notifications).
pub fn authorize(
    store: &Store,
    vault: &TokenVault,
    body: &[u8],
    context: &PaymentContext<'_>,
) -> Result<(Value, Sale), PaymentError> {
    let request = json_object(body)?;
    check_seller(&request, context)?;
    let key = scalar(&request, "privateKey").ok().flatten().unwrap_or_default();
    if !constant_time_eq(key.as_bytes(), context.keys.private_key.as_bytes()) {
        return Err(PaymentError::new(300));
    }
    let order = Order::parse(&request)?;
    let card = vault.redeem(&order.token, context.now).map_err(|error| match error {
        RedeemError::Unknown => PaymentError::new(400),
        // Real clients observed "Unauthorized" for a reused or expired token.
        RedeemError::Used | RedeemError::Expired => PaymentError::new(300),
    })?;
    let today = context.now.date_naive();
    if (card.exp_year, card.exp_month) < (today.year(), today.month()) {
        return Err(PaymentError::new(601));
    }
    cards::network_answer(&card.number).map_err(PaymentError::new)?;
    let sale = store.insert(|ids| build_sale(&order, &card, context, ids));
    tracing::debug!(sale_id = %sale.sale_id, demo = order.demo, "authorization approved");
    Ok((auth_response(&order, &sale), sale))
}

/// A validated authorization request.
struct Order {
    merchant_order_id: String,
    token: String,
    currency: String,
    /// The request's line items; empty when it gave a bare total.
    lines: Vec<OrderLine>,
    total: Money,
    billing: Address,
    shipping: Option<Address>,
    demo: bool,
}

struct OrderLine {
    kind: LineKind,
    name: String,
    quantity: i64,
    price: Money,
    tangible: bool,
    product_id: String,
    description: String,
    recurrence: Option<Period>,
    duration: Option<String>,
    startup_fee: Option<Money>,
    options: Vec<OrderOption>,
}

struct OrderOption {
    name: String,
    value: String,
    surcharge: Money,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Product,
    Shipping,
    Tax,
    Coupon,
}

impl LineKind {
    fn parse(text: &str) -> Option<LineKind> {
        match text {
            "product" => Some(LineKind::Product),
            "shipping" => Some(LineKind::Shipping),
            "tax" => Some(LineKind::Tax),
            "coupon" => Some(LineKind::Coupon),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            LineKind::Product => "product",
            LineKind::Shipping => "shipping",
            LineKind::Tax => "tax",
            LineKind::Coupon => "coupon",
        }
    }

    /// The default `name`: the capitalized type.
    fn default_name(self) -> &'static str {
        match self {
            LineKind::Product => "Product",
            LineKind::Shipping => "Shipping",
            LineKind::Tax => "Tax",
            LineKind::Coupon => "Coupon",
        }
    }

    /// The Admin API's line item `type`: the request's, as a real sandbox capture of a Payment
    /// API sale shows (`"product"`; the documented, older example has null for products).
    fn admin_type(self) -> Option<String> {
        Some(self.name().to_owned())
    }
}

/// `# Week`, `# Month` or `# Year` (as given, for the echo) and its length.
struct Period {
    text: String,
    count: u32,
    unit: PeriodUnit,
}

#[derive(Clone, Copy)]
enum PeriodUnit {
    Week,
    Month,
    Year,
}

impl Period {
    /// A positive count, one space, then Week, Month or Year (any case, an `s` allowed).
    fn parse(text: &str) -> Option<Period> {
        let (count, unit) = text.split_once(' ')?;
        let count: u32 = count.parse().ok().filter(|count| (1..=999).contains(count))?;
        let unit = match unit.to_ascii_lowercase().trim_end_matches('s') {
            "week" => PeriodUnit::Week,
            "month" => PeriodUnit::Month,
            "year" => PeriodUnit::Year,
            _ => return None,
        };
        Some(Period { text: text.to_owned(), count, unit })
    }

    fn after(&self, at: NaiveDateTime) -> NaiveDateTime {
        let months = |count: u32| at.checked_add_months(Months::new(count)).unwrap_or(at);
        match self.unit {
            PeriodUnit::Week => at + TimeDelta::weeks(i64::from(self.count)),
            PeriodUnit::Month => months(self.count),
            PeriodUnit::Year => months(self.count.saturating_mul(12)),
        }
    }
}

/// A billing or shipping address, as given (validated).
struct Address {
    name: String,
    addr_line1: String,
    addr_line2: Option<String>,
    city: String,
    state: Option<String>,
    zip_code: Option<String>,
    country: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    phone_ext: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AddressKind {
    Billing,
    Shipping,
}

impl Order {
    fn parse(request: &Map<String, Value>) -> Result<Order, PaymentError> {
        let merchant_order_id = required(request, "merchantOrderId")?;
        let token = required(request, "token")?;
        let currency = required(request, "currency")?.to_ascii_uppercase();
        if !CURRENCIES.contains(&currency.as_str()) {
            return Err(PaymentError::new(400));
        }
        let billing = match request.get("billingAddr") {
            None | Some(Value::Null) => return Err(PaymentError::new(400)),
            Some(value) => Address::parse(value, AddressKind::Billing)?,
        };
        let lines = match request.get("lineItems") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(OrderLine::parse).collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(PaymentError::new(200)),
        };
        let total = if lines.is_empty() {
            match scalar(request, "total") {
                Ok(None) => return Err(PaymentError::new(400)),
                // The reference: "defaults to 0 if … incorrectly formatted, no negatives".
                Ok(Some(text)) => parse_amount(&text, false).unwrap_or(Money::ZERO),
                Err(_) => return Err(PaymentError::new(200)),
            }
        } else {
            // With line items the total is theirs; a `total` sent as well is ignored (the
            // reference: "Only use if you are not passing in lineItems").
            let cents = lines.iter().try_fold(0_i64, |sum, line| sum.checked_add(line.amount().cents()));
            match cents {
                Some(cents) if (0..=MAX_AMOUNT_CENTS).contains(&cents) => Money::from_cents(cents),
                _ => return Err(PaymentError::new(400)),
            }
        };
        let shipping = match request.get("shippingAddr") {
            None | Some(Value::Null) => None,
            Some(value) => Some(Address::parse(value, AddressKind::Shipping)?),
        };
        // The reference: a shipping address is "only required if a shipping lineitem is passed".
        if shipping.is_none() && lines.iter().any(|line| line.kind == LineKind::Shipping) {
            return Err(PaymentError::new(400));
        }
        Ok(Order {
            merchant_order_id,
            token,
            currency,
            lines,
            total,
            billing,
            shipping,
            demo: is_demo(request.get("demo")),
        })
    }
}

impl OrderLine {
    fn parse(value: &Value) -> Result<OrderLine, PaymentError> {
        let Value::Object(item) = value else {
            return Err(PaymentError::new(200));
        };
        let kind = match optional(item, "type")? {
            None => LineKind::Product,
            Some(text) => LineKind::parse(&text).ok_or(PaymentError::new(400))?,
        };
        let name = match optional(item, "name")? {
            None => kind.default_name().to_owned(),
            Some(name) => checked_text(name, 128)?,
        };
        // The reference: quantity 0-999, price 0.00-99999999.99, each defaulting (to 1 and 0)
        // when absent or incorrectly formatted.
        let quantity = optional(item, "quantity")?
            .and_then(|text| text.parse::<i64>().ok())
            .filter(|quantity| (0..=999).contains(quantity))
            .unwrap_or(1);
        let price = optional(item, "price")?.and_then(|text| parse_amount(&text, false)).unwrap_or(Money::ZERO);
        let tangible = match optional(item, "tangible")? {
            None => kind == LineKind::Shipping,
            Some(flag) if flag.eq_ignore_ascii_case("Y") => true,
            Some(flag) if flag.eq_ignore_ascii_case("N") => false,
            Some(_) => return Err(PaymentError::new(400)),
        };
        let recurrence = match optional(item, "recurrence")? {
            None => None,
            Some(text) => Some(Period::parse(&text).ok_or(PaymentError::new(400))?),
        };
        let duration = optional(item, "duration")?;
        if let Some(duration) = &duration
            && !duration.eq_ignore_ascii_case("Forever")
            && Period::parse(duration).is_none()
        {
            return Err(PaymentError::new(400));
        }
        // "Required for recurring lineitems."
        if recurrence.is_some() && duration.is_none() {
            return Err(PaymentError::new(400));
        }
        let startup_fee = match optional(item, "startupFee")? {
            None => None,
            Some(text) => {
                let fee = parse_amount(&text, true).ok_or(PaymentError::new(400))?;
                // "Can be negative … but cannot equal or surpass the product price."
                if fee.cents() < 0 && fee.cents().saturating_neg() >= price.cents() {
                    return Err(PaymentError::new(400));
                }
                Some(fee)
            }
        };
        let options = match item.get("options") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(options)) => options.iter().map(OrderOption::parse).collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(PaymentError::new(200)),
        };
        Ok(OrderLine {
            kind,
            name,
            quantity,
            price,
            tangible,
            product_id: optional(item, "productId")?.unwrap_or_default(),
            description: optional(item, "description")?.unwrap_or_default(),
            recurrence,
            duration,
            startup_fee,
            options,
        })
    }

    /// What the line adds to the total: (price + option surcharges) × quantity + startup fee,
    /// subtracted for a coupon. Integer cents; saturating, and the total's range check catches
    /// anything absurd.
    fn amount(&self) -> Money {
        let unit =
            self.options.iter().fold(self.price.cents(), |sum, option| sum.saturating_add(option.surcharge.cents()));
        let cents = unit.saturating_mul(self.quantity).saturating_add(self.startup_fee.map_or(0, Money::cents));
        Money::from_cents(if self.kind == LineKind::Coupon { cents.saturating_neg() } else { cents })
    }

    fn echo(&self) -> Value {
        let options: Vec<Value> = self
            .options
            .iter()
            .map(|option| {
                json!({ "optName": option.name, "optValue": option.value, "optSurcharge": option.surcharge.to_string() })
            })
            .collect();
        json!({
            "options": options,
            "price": self.price.to_string(),
            "quantity": self.quantity.to_string(),
            "recurrence": self.recurrence.as_ref().map(|period| period.text.clone()),
            "startupFee": self.startup_fee.map(|fee| fee.to_string()),
            "productId": self.product_id,
            "tangible": if self.tangible { "Y" } else { "N" },
            "name": self.name,
            "type": self.kind.name(),
            "description": self.description,
            "duration": self.duration,
        })
    }
}

impl OrderOption {
    fn parse(value: &Value) -> Result<OrderOption, PaymentError> {
        let Value::Object(option) = value else {
            return Err(PaymentError::new(200));
        };
        let name = checked_text(required(option, "optName")?, 64)?;
        let value = checked_text(required(option, "optValue")?, 64)?;
        let surcharge = parse_amount(&required(option, "optSurcharge")?, false).ok_or(PaymentError::new(400))?;
        Ok(OrderOption { name, value, surcharge })
    }
}

impl Address {
    /// The reference's required fields and lengths: name (128), addrLine1, city (64); country
    /// (64) for billing; state and zipCode (64, 16) for the countries it lists; addrLine2 for
    /// CHN, JPN and RUS; a billing e-mail (64, with an `@`); phone (16) and extension (9) optional.
    fn parse(value: &Value, kind: AddressKind) -> Result<Address, PaymentError> {
        let Value::Object(fields) = value else {
            return Err(PaymentError::new(200));
        };
        let limited = |name: &str, limit: usize| -> Result<Option<String>, PaymentError> {
            match optional(fields, name)? {
                Some(text) if text.chars().count() > limit => Err(PaymentError::new(400)),
                other => Ok(other),
            }
        };
        let needed = |value: Option<String>| value.ok_or(PaymentError::new(400));
        let name = needed(limited("name", 128)?)?;
        let addr_line1 = needed(limited("addrLine1", 64)?)?;
        let city = needed(limited("city", 64)?)?;
        let country = limited("country", 64)?;
        let country_code = country.as_deref().map(str::to_ascii_uppercase).unwrap_or_default();
        let mut state = limited("state", 64)?;
        let mut zip_code = limited("zipCode", 16)?;
        let mut addr_line2 = limited("addrLine2", 64)?;
        if STATE_AND_ZIP_COUNTRIES.contains(&country_code.as_str()) {
            state = Some(needed(state)?);
            zip_code = Some(needed(zip_code)?);
        }
        if ADDRESS_LINE_2_COUNTRIES.contains(&country_code.as_str()) {
            addr_line2 = Some(needed(addr_line2)?);
        }
        let email = limited("email", 64)?;
        if kind == AddressKind::Billing {
            needed(country.clone())?;
            if !needed(email.clone())?.contains('@') {
                return Err(PaymentError::new(400));
            }
        }
        let phone_number = limited("phoneNumber", 16)?;
        // The reference's request calls it phoneExt and its response phoneExtension.
        let phone_ext = match limited("phoneExt", 9)? {
            Some(ext) => Some(ext),
            None => limited("phoneExtension", 9)?,
        };
        Ok(Address { name, addr_line1, addr_line2, city, state, zip_code, country, email, phone_number, phone_ext })
    }

    fn echo(&self) -> Value {
        json!({
            "addrLine1": self.addr_line1,
            "addrLine2": self.addr_line2,
            "city": self.city,
            "zipCode": self.zip_code,
            "phoneNumber": self.phone_number,
            "phoneExtension": self.phone_ext,
            "email": self.email,
            "name": self.name,
            "state": self.state,
            "country": self.country,
        })
    }

    /// `(alpha-3 code, name)` as the Admin API's customer and shipping records write them.
    fn country(&self) -> (String, String) {
        let given = self.country.clone().unwrap_or_default();
        COUNTRIES
            .iter()
            .find(|(alpha3, alpha2, name)| {
                [alpha3, alpha2, name].iter().any(|known| known.eq_ignore_ascii_case(given.trim()))
            })
            .map_or_else(
                || (given.clone(), given.clone()),
                |(alpha3, _, name)| ((*alpha3).to_owned(), (*name).to_owned()),
            )
    }

    fn country_alpha2(&self) -> String {
        let (alpha3, _) = self.country();
        COUNTRIES
            .iter()
            .find(|(known, _, _)| *known == alpha3)
            .map_or(alpha3.clone(), |(_, alpha2, _)| (*alpha2).to_owned())
    }
}

fn auth_response(order: &Order, sale: &Sale) -> Value {
    let invoice_id = sale.invoices.first().map(|invoice| invoice.invoice_id.clone()).unwrap_or_default();
    let lines: Vec<Value> = order.lines.iter().map(OrderLine::echo).collect();
    json!({
        "type": "AuthResponse",
        "lineItems": lines,
        "transactionId": invoice_id,
        "billingAddr": order.billing.echo(),
        "shippingAddr": order.shipping.as_ref().map(Address::echo),
        "merchantOrderId": order.merchant_order_id,
        "orderNumber": sale.sale_id,
        "recurrentInstallmentId": null,
        "responseMsg": "Successfully authorized the provided credit card",
        "responseCode": "APPROVED",
        "total": order.total.to_string(),
        "currencyCode": order.currency,
        "errors": null,
    })
}

/// The sale an approved authorization creates, ids drawn in the seed's order (sale, customer,
/// address, invoice, then per line: the line, its options, its billing; then the shipment).
fn build_sale(order: &Order, card: &CardDetails, context: &PaymentContext<'_>, ids: &mut IdSource) -> Sale {
    let placed = context.now.naive_utc();
    let date_placed = context.now.format(TIMESTAMP_FORMAT).to_string();
    let today = context.now.format(DATE_FORMAT).to_string();
    let sale_id = ids.allocate();
    let customer_id = ids.allocate();
    let address_id = ids.allocate();
    let invoice_id = ids.allocate();
    let (method, bill_method) = cards::admin_pay_method(&card.number);
    let billing = &order.billing;
    let (country_code, country_name) = billing.country();
    let (first_name, middle_initial, last_name) = split_name(&billing.name);

    let bare_total;
    let lines: &[OrderLine] = if order.lines.is_empty() {
        // A bare total becomes one product line, named as a line of the default type would be.
        bare_total = [OrderLine {
            kind: LineKind::Product,
            name: LineKind::Product.default_name().to_owned(),
            quantity: 1,
            price: order.total,
            tangible: false,
            product_id: String::new(),
            description: String::new(),
            recurrence: None,
            duration: None,
            startup_fee: None,
            options: Vec::new(),
        }];
        &bare_total
    } else {
        &order.lines
    };

    let lineitems: Vec<LineItem> = lines
        .iter()
        .map(|line| {
            let lineitem_id = ids.allocate();
            let options = line
                .options
                .iter()
                .map(|option| LineItemOption {
                    customer_surcharge: option.surcharge,
                    lineitem_id: lineitem_id.clone(),
                    lineitem_option_id: ids.allocate(),
                    option_name: option.name.clone(),
                    option_value: option.value.clone(),
                    usd_surcharge: option.surcharge,
                    vendor_surcharge: option.surcharge,
                })
                .collect();
            let amount = line.amount();
            let recurring = line.recurrence.is_some();
            LineItem {
                affiliate_vendor_id: None,
                billing: Billing {
                    amount,
                    bill_method: Some(bill_method.to_owned()),
                    billing_id: ids.allocate(),
                    customer_amount: amount,
                    customer_id: customer_id.clone(),
                    // Authorized, not captured: like the seeded `approved` invoices, no dates
                    // until the capture.
                    date_deposited: None,
                    date_end: None,
                    date_fail: None,
                    date_next: line
                        .recurrence
                        .as_ref()
                        .map(|period| period.after(placed).format(DATE_FORMAT).to_string()),
                    date_pending: None,
                    date_start: Some(today.clone()),
                    lineitem_id: lineitem_id.clone(),
                    recurring_status: recurring.then_some(RecurringStatus::Active),
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
                installment: recurring.then(|| "1".to_owned()),
                invoice_id: invoice_id.clone(),
                lc_affiliate_vendor_id: None,
                lc_usd_amount: None,
                lineitem_id,
                linked_id: None,
                options,
                percentage: None,
                product_description: line.description.clone(),
                product_duration: recurring.then(|| line.duration.clone()).flatten(),
                product_handling: Money::ZERO,
                // Not a catalogue product: no 2Checkout product id, no third-party cart.
                product_id: "0".to_owned(),
                product_is_cart: "0".to_owned(),
                product_name: line.name.clone(),
                product_price: line.price,
                product_recurrence: line.recurrence.as_ref().map(|period| period.text.clone()),
                product_startup_fee: line.startup_fee,
                // Real Payment API sales carry the request's Y/N (the documented example: 0/1).
                product_tangible: if line.tangible { "Y" } else { "N" }.to_owned(),
                sale_id: sale_id.clone(),
                status: BillStatus::Bill,
                kind: line.kind.admin_type(),
                usd_amount: amount,
                usd_commission: None,
                vendor_amount: amount,
                vendor_product_id: line.product_id.clone(),
                recurring_price: None,
            }
        })
        .collect();

    let shipping = order.shipping.as_ref().map(|address| {
        let (code, name) = address.country();
        Shipping {
            address_1: address.addr_line1.clone(),
            address_2: address.addr_line2.clone(),
            city: address.city.clone(),
            country: name,
            country_code: code,
            date_shipped: None,
            postal_code: address.zip_code.clone().unwrap_or_default(),
            shipping_id: ids.allocate(),
            shipping_method: "Standard".to_owned(),
            shipping_method_id: "1".to_owned(),
            shipping_name: address.name.clone(),
            state: address.state.clone().unwrap_or_default(),
            tracking_number: None,
            tracking_url: None,
        }
    });
    let recurring = lineitems.iter().any(|item| item.product_recurrence.is_some());
    // Drawn last, so the ids above stay in the seed's order.
    let change_id = ids.allocate();
    let invoice = Invoice {
        change_id: Extra::Value(change_id),
        customer_name: Extra::Value(billing.name.clone()),
        customer_snapshot_id: Extra::Null,
        customer_total: order.total,
        date_placed: date_placed.clone(),
        date_shipped: None,
        date_vendor_paid: None,
        fees_2co: seed::fees_for(order.total),
        invoice_id,
        lineitems,
        // No currency conversion quote: every currency counts 1:1 (see "Money" in the docs).
        new_customer_quote_id: Extra::Value("0".to_owned()),
        new_vendor_quote_id: Extra::Value("0".to_owned()),
        payout_status: Extra::Value(PAYOUT_PENDING.to_owned()),
        recurring: if recurring { "1" } else { "0" }.to_owned(),
        referrer: None,
        sale_id: sale_id.clone(),
        shipping,
        status: InvoiceStatus::Approved,
        timestamp: Extra::Value(date_placed.clone()),
        usd_total: order.total,
        vendor_id: seed::OWN_VENDOR_ID.to_owned(),
        vendor_order_id: Some(order.merchant_order_id.clone()),
        vendor_total: order.total,
    };
    let comments = if order.demo {
        vec![Comment {
            changed_by_ip: context.client_ip.to_owned(),
            comment: DEMO_COMMENT.to_owned(),
            timestamp: date_placed.clone(),
            // The Payment API has no API user; the seller placed the order.
            username: context.keys.seller_id.clone(),
        }]
    } else {
        Vec::new()
    };
    Sale {
        comments,
        customer: Customer {
            address_1: billing.addr_line1.clone(),
            address_2: billing.addr_line2.clone(),
            address_id,
            cardholder_name: billing.name.clone(),
            city: billing.city.clone(),
            country_code,
            country_code_2: Extra::Value(billing.country_alpha2()),
            country_name: country_name.clone(),
            customer_id,
            email_address: billing.email.clone().unwrap_or_default(),
            first_name,
            lang: "en".to_owned(),
            last_name,
            middle_initial,
            pay_method: PayMethod {
                // The simulated network matches every address and CVV it is given.
                avs: Some("Y".to_owned()),
                cvv: Some("M".to_owned()),
                first_six_digits: Some(card.first_six()),
                last_two_digits: Some(card.last_two()),
                method: method.to_owned(),
            },
            phone: billing.phone_number.clone().unwrap_or_default(),
            phone_ext: billing.phone_ext.clone().unwrap_or_default(),
            postal_code: billing.zip_code.clone().unwrap_or_default(),
            prefix: None,
            state: billing.state.clone().unwrap_or_default(),
            state_2: Extra::Null,
        },
        date_placed,
        // No GeoIP: the buyer is placed at the billing address.
        detail_ip: DetailIp {
            address: context.client_ip.to_owned(),
            area_code: 0,
            city: billing.city.clone(),
            country: country_name.clone(),
            country_code: billing.country_alpha2(),
            region: billing.state.clone().unwrap_or_default(),
            zip: billing.zip_code.clone().unwrap_or_default(),
        },
        invoices: vec![invoice],
        ip_address: context.client_ip.to_owned(),
        ip_country: country_name,
        recurring_decline: None,
        sale_id,
        latest_decline: None,
        authorization: Authorization::default(),
        demo: order.demo,
        capture_at: (!order.demo).then(|| placed + TimeDelta::hours(CAPTURE_AFTER_HOURS)),
    }
}

/// `(first, middle initial, last)`: the first word, a one-letter middle word of three, the
/// rest. The cardholder name itself is kept verbatim.
fn split_name(name: &str) -> (String, Option<String>, String) {
    let words: Vec<&str> = name.split_whitespace().collect();
    match words.as_slice() {
        [] => (String::new(), None, String::new()),
        [only] => ((*only).to_owned(), None, String::new()),
        [first, middle, last] if middle.trim_end_matches('.').chars().count() == 1 => {
            ((*first).to_owned(), Some(middle.trim_end_matches('.').to_owned()), (*last).to_owned())
        }
        [first, rest @ ..] => ((*first).to_owned(), None, rest.join(" ")),
    }
}

// ---------------------------------------------------------------- request helpers

/// The body as a JSON object; anything else is "Unable to process the request" (200).
fn json_object(body: &[u8]) -> Result<Map<String, Value>, PaymentError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(PaymentError::new(200)),
    }
}

/// The body's `sellerId` must name the seller of the path, which must be the simulator's.
fn check_seller(request: &Map<String, Value>, context: &PaymentContext<'_>) -> Result<(), PaymentError> {
    let seller = scalar(request, "sellerId").ok().flatten().unwrap_or_default();
    if seller == context.path_seller_id && seller == context.keys.seller_id {
        Ok(())
    } else {
        Err(PaymentError::new(300))
    }
}

/// A string or number as text; `Ok(None)` when absent, null or blank; `Err` for another JSON
/// type.
fn scalar(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ()> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(()),
    }
}

/// An optional attribute: a wrong JSON type is "Incorrect attributes" (200).
fn optional(object: &Map<String, Value>, name: &str) -> Result<Option<String>, PaymentError> {
    scalar(object, name).map_err(|()| PaymentError::new(200))
}

/// A required attribute: absent is "Missing required attributes" (400).
fn required(object: &Map<String, Value>, name: &str) -> Result<String, PaymentError> {
    optional(object, name)?.ok_or(PaymentError::new(400))
}

/// A name or option text: at most `limit` characters, no `<` or `>`.
fn checked_text(text: String, limit: usize) -> Result<String, PaymentError> {
    if text.chars().count() > limit || text.contains(['<', '>']) {
        return Err(PaymentError::new(400));
    }
    Ok(text)
}

/// `0.00`-`99999999.99` with at most two decimals (`10`, `6.9`, `6.99`); a leading `-` only
/// when `negative_allowed`.
fn parse_amount(text: &str, negative_allowed: bool) -> Option<Money> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) if negative_allowed => (true, rest),
        Some(_) => return None,
        None => (false, text),
    };
    let (units, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if units.is_empty() || units.len() > 8 || !digits(units) || fraction.len() > 2 || !digits(fraction) {
        return None;
    }
    if unsigned.ends_with('.') {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let cents = units * 100 + fraction;
    (cents <= MAX_AMOUNT_CENTS).then(|| Money::from_cents(if negative { -cents } else { cents }))
}

/// `"demo": true` (also the strings `true`, `Y`, `1` and the number 1, which some clients send).
fn is_demo(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => ["true", "y", "yes", "1"].contains(&text.trim().to_ascii_lowercase().as_str()),
        Some(Value::Number(number)) => number.as_u64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_amount, split_name};

    #[test]
    fn amounts_have_at_most_two_decimals_and_stay_in_range() {
        let cents = |text, negative| parse_amount(text, negative).map(|money| money.cents());
        assert_eq!(cents("6.99", false), Some(699));
        assert_eq!(cents("10", false), Some(1000));
        assert_eq!(cents("6.9", false), Some(690));
        assert_eq!(cents("99999999.99", false), Some(9_999_999_999));
        assert_eq!(cents("-1.50", true), Some(-150));
        for bad in ["", "-1.00", "1.234", "1.", ".5", "abc", "100000000.00", "1e3", "+1"] {
            assert_eq!(cents(bad, false), None, "{bad:?}");
        }
    }

    #[test]
    fn names_split_into_first_middle_and_last() {
        let owned = |first: &str, middle: Option<&str>, last: &str| {
            (first.to_owned(), middle.map(str::to_owned), last.to_owned())
        };
        assert_eq!(split_name("Testing Tester"), owned("Testing", None, "Tester"));
        assert_eq!(split_name("Ada B. Lovelace"), owned("Ada", Some("B"), "Lovelace"));
        assert_eq!(split_name("Juan de la Cruz"), owned("Juan", None, "de la Cruz"));
        assert_eq!(split_name("Cher"), owned("Cher", None, ""));
    }
}
