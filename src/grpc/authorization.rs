//! Authorize at the edge: the request converted into a validated
//! [`AuthorizationRequest`] (every documented Payment API attribute rule,
//! each failure naming its proto field), the answer converted back, and the
//! AuthorizationService over any [`PaymentPort`].

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::{self, authorization_service_server::AuthorizationService};
use crate::{
    domain::{
        Amount, Authorization, AuthorizationRequest, BillingContact, CardToken, OrderAmount, OrderLine,
        OrderLineOption, OrderLineType, PaymentPort, PostalAddress, Recurrence, RequestId,
    },
    error::Error,
};

/// The largest price or total the Payment API accepts: 99999999.99.
const MAX_MINOR_UNITS: i64 = 9_999_999_999;
/// The longest merchant order id and product id the gateway sends.
const MAX_ID_CHARS: usize = 64;
/// The longest card token the gateway sends: real ones are far shorter.
const MAX_TOKEN_CHARS: usize = 512;

/// Countries (ISO 3166-1 alpha-3) whose addresses need a state and a zip code.
const STATE_AND_ZIP_REQUIRED: &[&str] = &[
    "ARG", "AUS", "BGR", "CAN", "CHN", "CYP", "EGY", "FRA", "IND", "IDN", "ITA", "JPN", "MYS", "MEX", "NLD", "PAN",
    "PHL", "POL", "ROU", "RUS", "SRB", "SGP", "ZAF", "ESP", "SWE", "THA", "TUR", "GBR", "USA",
];
/// Countries whose addresses need a second address line.
const ADDRESS_LINE_2_REQUIRED: &[&str] = &["CHN", "JPN", "RUS"];

/// AuthorizationService over a payment port.
#[derive(Debug)]
pub struct AuthorizationApi<P> {
    port: Arc<P>,
}

impl<P> AuthorizationApi<P> {
    pub fn new(port: Arc<P>) -> Self {
        Self { port }
    }
}

#[tonic::async_trait]
impl<P: PaymentPort> AuthorizationService for AuthorizationApi<P> {
    async fn authorize(
        &self,
        request: Request<proto::AuthorizeRequest>,
    ) -> Result<Response<proto::AuthorizeResponse>, Status> {
        let ctx = super::call_context(&request);
        let authorization = AuthorizationRequest::try_from(request.get_ref())?;
        let approved = self.port.authorize(ctx, &authorization).await?;
        Ok(Response::new(approved.into()))
    }
}

/// Checks free text against a length and the vendor's character rules.
fn text(
    field: &str,
    value: &str,
    required: bool,
    max_chars: usize,
    no_angle_brackets: bool,
) -> Result<Option<String>, Error> {
    if value.trim().is_empty() {
        return if required { Err(Error::invalid_field(field, "is required")) } else { Ok(None) };
    }
    if value.chars().count() > max_chars {
        return Err(Error::invalid_field(field, format!("must be at most {max_chars} characters")));
    }
    if no_angle_brackets && value.contains(['<', '>']) {
        return Err(Error::invalid_field(field, "must not contain < or >"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_field(field, "must not contain control characters"));
    }
    Ok(Some(value.to_owned()))
}

fn required(field: &str, value: &str, max_chars: usize) -> Result<String, Error> {
    Ok(text(field, value, true, max_chars, false)?.unwrap_or_default())
}

/// A price or total: "0.00" to "99999999.99", at most two decimals.
fn money(field: &str, value: &str, allow_negative: bool) -> Result<Amount, Error> {
    if value.is_empty() {
        return Err(Error::invalid_field(field, "is required"));
    }
    let amount: Amount = value.parse().map_err(|e| Error::invalid_field(field, e))?;
    if !allow_negative && amount.minor_units() < 0 {
        return Err(Error::invalid_field(field, "must not be negative"));
    }
    if amount.minor_units().abs() > MAX_MINOR_UNITS {
        return Err(Error::invalid_field(field, "must be at most 99999999.99"));
    }
    Ok(amount)
}

/// "<n> Week|Month|Year" (and "Forever" when `forever` is allowed).
fn period(field: &str, value: &str, forever: bool) -> Result<String, Error> {
    if forever && value.eq_ignore_ascii_case("forever") {
        return Ok("Forever".to_owned());
    }
    let valid = value.split_once(' ').is_some_and(|(n, unit)| {
        !n.is_empty()
            && n.len() <= 3
            && n.bytes().all(|b| b.is_ascii_digit())
            && n.parse::<u32>().is_ok_and(|n| n > 0)
            && ["week", "month", "year"].contains(&unit.to_ascii_lowercase().as_str())
    });
    if !valid {
        let expected = if forever { "\"Forever\" or \"<n> Week|Month|Year\"" } else { "\"<n> Week|Month|Year\"" };
        return Err(Error::invalid_field(field, format!("must be {expected}, like \"1 Month\"")));
    }
    Ok(value.to_owned())
}

fn country_code(country: Option<&str>) -> String {
    country.unwrap_or_default().trim().to_ascii_uppercase()
}

/// The address fields both proto addresses share, borrowed.
struct AddressFields<'a> {
    name: &'a str,
    line_1: &'a str,
    line_2: &'a str,
    city: &'a str,
    state: &'a str,
    zip: &'a str,
    country: &'a str,
}

/// Both proto addresses name these fields alike.
macro_rules! address_fields_from {
    ($($address:ident),+) => {$(
        impl<'a> From<&'a proto::$address> for AddressFields<'a> {
            fn from(a: &'a proto::$address) -> Self {
                Self {
                    name: &a.name,
                    line_1: &a.address_line_1,
                    line_2: &a.address_line_2,
                    city: &a.city,
                    state: &a.state,
                    zip: &a.zip_code,
                    country: &a.country,
                }
            }
        }
    )+};
}

address_fields_from!(BillingAddress, ShippingAddress);

/// Validates an address; `prefix` is its request field ("billing_address").
fn postal_address(prefix: &str, a: AddressFields<'_>, country_required: bool) -> Result<PostalAddress, Error> {
    let field = |f: &str| format!("{prefix}.{f}");
    let country = text(&field("country"), a.country, country_required, 64, false)?;
    let code = country_code(country.as_deref());
    let needs_state_and_zip = STATE_AND_ZIP_REQUIRED.contains(&code.as_str());
    let needs_line_2 = ADDRESS_LINE_2_REQUIRED.contains(&code.as_str());
    Ok(PostalAddress {
        name: required(&field("name"), a.name, 128)?,
        line_1: required(&field("address_line_1"), a.line_1, 64)?,
        line_2: text(&field("address_line_2"), a.line_2, needs_line_2, 64, false)?,
        city: required(&field("city"), a.city, 64)?,
        state: text(&field("state"), a.state, needs_state_and_zip, 64, false)?,
        zip_code: text(&field("zip_code"), a.zip, needs_state_and_zip, 16, false)?,
        country,
    })
}

fn order_line(index: usize, line: &proto::OrderLineItem) -> Result<OrderLine, Error> {
    let field = |f: &str| format!("line_items.items[{index}].{f}");
    let line_type = match proto::OrderLineType::try_from(line.r#type)
        .map_err(|_| Error::invalid_field(field("type"), format!("{} is not an OrderLineType", line.r#type)))?
    {
        proto::OrderLineType::Unspecified | proto::OrderLineType::Product => OrderLineType::Product,
        proto::OrderLineType::Shipping => OrderLineType::Shipping,
        proto::OrderLineType::Tax => OrderLineType::Tax,
        proto::OrderLineType::Coupon => OrderLineType::Coupon,
    };
    let quantity = match line.quantity {
        None => 1,
        Some(q) if (0..=999).contains(&q) => q as u16,
        Some(_) => return Err(Error::invalid_field(field("quantity"), "must be between 0 and 999")),
    };
    let price = money(&field("price"), &line.price, false)?;
    let recurrence = match (line.recurrence.is_empty(), line.duration.is_empty()) {
        (true, true) => None,
        (false, true) => {
            return Err(Error::invalid_field(field("duration"), "is required for a recurring line (with recurrence)"));
        }
        (true, false) => {
            return Err(Error::invalid_field(field("recurrence"), "is required for a recurring line (with duration)"));
        }
        (false, false) => Some(Recurrence {
            every: period(&field("recurrence"), &line.recurrence, false)?,
            duration: period(&field("duration"), &line.duration, true)?,
        }),
    };
    let startup_fee = match line.startup_fee.as_str() {
        "" => None,
        fee => {
            let fee = money(&field("startup_fee"), fee, true)?;
            if fee >= price {
                return Err(Error::invalid_field(field("startup_fee"), "must be below the price (it may be negative)"));
            }
            Some(fee)
        }
    };
    let options = line
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let option = |f: &str| format!("line_items.items[{index}].options[{i}].{f}");
            Ok(OrderLineOption {
                name: text(&option("name"), &o.name, true, 64, true)?.unwrap_or_default(),
                value: text(&option("value"), &o.value, true, 64, true)?.unwrap_or_default(),
                surcharge: money(&option("surcharge"), &o.surcharge, false)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(OrderLine {
        line_type,
        name: text(&field("name"), &line.name, true, 128, true)?.unwrap_or_default(),
        quantity,
        price,
        tangible: line.tangible,
        product_id: text(&field("product_id"), &line.product_id, false, MAX_ID_CHARS, false)?,
        recurrence,
        startup_fee,
        options,
    })
}

impl TryFrom<&proto::AuthorizeRequest> for AuthorizationRequest {
    type Error = Error;

    fn try_from(r: &proto::AuthorizeRequest) -> Result<Self, Error> {
        let request_id: RequestId = r.request_id.parse().map_err(|e| Error::invalid_field("request_id", e))?;
        let merchant_order_id = required("merchant_order_id", &r.merchant_order_id, MAX_ID_CHARS)?;
        if r.token.trim().is_empty() {
            return Err(Error::invalid_field("token", "is required: the card token from 2co.js"));
        }
        if r.token.len() > MAX_TOKEN_CHARS || r.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid_field("token", "is not a card token"));
        }
        let currency = currency_code(r.currency)?;
        let amount = match &r.amount {
            None => return Err(Error::invalid_field("amount", "set either total or line_items")),
            Some(proto::authorize_request::Amount::Total(total)) => OrderAmount::Total(money("total", total, false)?),
            Some(proto::authorize_request::Amount::LineItems(lines)) => {
                if lines.items.is_empty() {
                    return Err(Error::invalid_field("line_items.items", "must hold at least one line"));
                }
                OrderAmount::Lines(
                    lines.items.iter().enumerate().map(|(i, l)| order_line(i, l)).collect::<Result<_, _>>()?,
                )
            }
        };
        let b = r.billing_address.as_ref().ok_or_else(|| Error::invalid_field("billing_address", "is required"))?;
        let billing = BillingContact {
            address: postal_address("billing_address", b.into(), true)?,
            email: required("billing_address.email", &b.email, 64)?,
            phone_number: required("billing_address.phone_number", &b.phone_number, 16)?,
            phone_extension: text("billing_address.phone_extension", &b.phone_extension, false, 9, false)?,
        };
        if !billing.email.contains('@') {
            return Err(Error::invalid_field("billing_address.email", "must be an e-mail address"));
        }
        let shipping =
            r.shipping_address.as_ref().map(|s| postal_address("shipping_address", s.into(), false)).transpose()?;
        let ships = matches!(&amount, OrderAmount::Lines(lines) if lines.iter().any(|l| l.line_type == OrderLineType::Shipping));
        if ships && shipping.is_none() {
            return Err(Error::invalid_field("shipping_address", "is required when a shipping line is present"));
        }
        Ok(Self {
            request_id,
            merchant_order_id,
            token: CardToken::new(r.token.clone()),
            currency,
            amount,
            billing,
            shipping,
            demo: r.demo,
        })
    }
}

fn currency_code(raw: i32) -> Result<&'static str, Error> {
    use proto::Currency as P;
    Ok(match P::try_from(raw).map_err(|_| Error::invalid_field("currency", format!("{raw} is not a Currency")))? {
        P::Unspecified => return Err(Error::invalid_field("currency", "is required")),
        P::Afn => "AFN",
        P::All => "ALL",
        P::Dzd => "DZD",
        P::Ars => "ARS",
        P::Aud => "AUD",
        P::Azn => "AZN",
        P::Bsd => "BSD",
        P::Bdt => "BDT",
        P::Bbd => "BBD",
        P::Bzd => "BZD",
        P::Bmd => "BMD",
        P::Bob => "BOB",
        P::Bwp => "BWP",
        P::Brl => "BRL",
        P::Gbp => "GBP",
        P::Bnd => "BND",
        P::Bgn => "BGN",
        P::Cad => "CAD",
        P::Clp => "CLP",
        P::Cny => "CNY",
        P::Cop => "COP",
        P::Crc => "CRC",
        P::Czk => "CZK",
        P::Dkk => "DKK",
        P::Dop => "DOP",
        P::Xcd => "XCD",
        P::Egp => "EGP",
        P::Eur => "EUR",
        P::Fjd => "FJD",
        P::Gtq => "GTQ",
        P::Hkd => "HKD",
        P::Hnl => "HNL",
        P::Huf => "HUF",
        P::Inr => "INR",
        P::Idr => "IDR",
        P::Ils => "ILS",
        P::Jmd => "JMD",
        P::Jpy => "JPY",
        P::Kzt => "KZT",
        P::Kes => "KES",
        P::Lak => "LAK",
        P::Mmk => "MMK",
        P::Lbp => "LBP",
        P::Lrd => "LRD",
        P::Mop => "MOP",
        P::Myr => "MYR",
        P::Mvr => "MVR",
        P::Mro => "MRO",
        P::Mur => "MUR",
        P::Mxn => "MXN",
        P::Mad => "MAD",
        P::Npr => "NPR",
        P::Twd => "TWD",
        P::Nzd => "NZD",
        P::Nio => "NIO",
        P::Nok => "NOK",
        P::Pkr => "PKR",
        P::Pgk => "PGK",
        P::Pen => "PEN",
        P::Php => "PHP",
        P::Pln => "PLN",
        P::Qar => "QAR",
        P::Ron => "RON",
        P::Rub => "RUB",
        P::Wst => "WST",
        P::Sar => "SAR",
        P::Scr => "SCR",
        P::Sgd => "SGD",
        P::Sbd => "SBD",
        P::Zar => "ZAR",
        P::Krw => "KRW",
        P::Lkr => "LKR",
        P::Sek => "SEK",
        P::Chf => "CHF",
        P::Syp => "SYP",
        P::Thb => "THB",
        P::Top => "TOP",
        P::Ttd => "TTD",
        P::Try => "TRY",
        P::Uah => "UAH",
        P::Aed => "AED",
        P::Usd => "USD",
        P::Vuv => "VUV",
        P::Vnd => "VND",
        P::Xof => "XOF",
        P::Yer => "YER",
    })
}

fn currency_enum(code: &str) -> proto::Currency {
    use proto::Currency as P;
    match code.to_ascii_uppercase().as_str() {
        "AFN" => P::Afn,
        "ALL" => P::All,
        "DZD" => P::Dzd,
        "ARS" => P::Ars,
        "AUD" => P::Aud,
        "AZN" => P::Azn,
        "BSD" => P::Bsd,
        "BDT" => P::Bdt,
        "BBD" => P::Bbd,
        "BZD" => P::Bzd,
        "BMD" => P::Bmd,
        "BOB" => P::Bob,
        "BWP" => P::Bwp,
        "BRL" => P::Brl,
        "GBP" => P::Gbp,
        "BND" => P::Bnd,
        "BGN" => P::Bgn,
        "CAD" => P::Cad,
        "CLP" => P::Clp,
        "CNY" => P::Cny,
        "COP" => P::Cop,
        "CRC" => P::Crc,
        "CZK" => P::Czk,
        "DKK" => P::Dkk,
        "DOP" => P::Dop,
        "XCD" => P::Xcd,
        "EGP" => P::Egp,
        "EUR" => P::Eur,
        "FJD" => P::Fjd,
        "GTQ" => P::Gtq,
        "HKD" => P::Hkd,
        "HNL" => P::Hnl,
        "HUF" => P::Huf,
        "INR" => P::Inr,
        "IDR" => P::Idr,
        "ILS" => P::Ils,
        "JMD" => P::Jmd,
        "JPY" => P::Jpy,
        "KZT" => P::Kzt,
        "KES" => P::Kes,
        "LAK" => P::Lak,
        "MMK" => P::Mmk,
        "LBP" => P::Lbp,
        "LRD" => P::Lrd,
        "MOP" => P::Mop,
        "MYR" => P::Myr,
        "MVR" => P::Mvr,
        "MRO" => P::Mro,
        "MUR" => P::Mur,
        "MXN" => P::Mxn,
        "MAD" => P::Mad,
        "NPR" => P::Npr,
        "TWD" => P::Twd,
        "NZD" => P::Nzd,
        "NIO" => P::Nio,
        "NOK" => P::Nok,
        "PKR" => P::Pkr,
        "PGK" => P::Pgk,
        "PEN" => P::Pen,
        "PHP" => P::Php,
        "PLN" => P::Pln,
        "QAR" => P::Qar,
        "RON" => P::Ron,
        "RUB" => P::Rub,
        "WST" => P::Wst,
        "SAR" => P::Sar,
        "SCR" => P::Scr,
        "SGD" => P::Sgd,
        "SBD" => P::Sbd,
        "ZAR" => P::Zar,
        "KRW" => P::Krw,
        "LKR" => P::Lkr,
        "SEK" => P::Sek,
        "CHF" => P::Chf,
        "SYP" => P::Syp,
        "THB" => P::Thb,
        "TOP" => P::Top,
        "TTD" => P::Ttd,
        "TRY" => P::Try,
        "UAH" => P::Uah,
        "AED" => P::Aed,
        "USD" => P::Usd,
        "VUV" => P::Vuv,
        "VND" => P::Vnd,
        "XOF" => P::Xof,
        "YER" => P::Yer,
        _ => P::Unspecified,
    }
}

fn line_proto(line: OrderLine) -> proto::OrderLineItem {
    proto::OrderLineItem {
        r#type: match line.line_type {
            OrderLineType::Product => proto::OrderLineType::Product,
            OrderLineType::Shipping => proto::OrderLineType::Shipping,
            OrderLineType::Tax => proto::OrderLineType::Tax,
            OrderLineType::Coupon => proto::OrderLineType::Coupon,
        }
        .into(),
        name: line.name,
        quantity: Some(i32::from(line.quantity)),
        price: line.price.to_string(),
        tangible: line.tangible,
        product_id: line.product_id.unwrap_or_default(),
        recurrence: line.recurrence.as_ref().map(|r| r.every.clone()).unwrap_or_default(),
        duration: line.recurrence.map(|r| r.duration).unwrap_or_default(),
        startup_fee: line.startup_fee.map(|f| f.to_string()).unwrap_or_default(),
        options: line
            .options
            .into_iter()
            .map(|o| proto::OrderLineOption { name: o.name, value: o.value, surcharge: o.surcharge.to_string() })
            .collect(),
    }
}

impl From<Authorization> for proto::AuthorizeResponse {
    fn from(a: Authorization) -> Self {
        Self {
            order_number: a.order_number,
            transaction_id: a.transaction_id,
            merchant_order_id: a.merchant_order_id,
            response_code: a.response_code,
            response_message: a.response_message,
            total: a.total.map(|t| t.to_string()).unwrap_or_default(),
            currency: currency_enum(&a.currency).into(),
            line_items: a.lines.into_iter().map(line_proto).collect(),
            billing_address: a.billing.map(|b| proto::BillingAddress {
                name: b.address.name,
                address_line_1: b.address.line_1,
                address_line_2: b.address.line_2.unwrap_or_default(),
                city: b.address.city,
                state: b.address.state.unwrap_or_default(),
                zip_code: b.address.zip_code.unwrap_or_default(),
                country: b.address.country.unwrap_or_default(),
                email: b.email,
                phone_number: b.phone_number,
                phone_extension: b.phone_extension.unwrap_or_default(),
            }),
            shipping_address: a.shipping.map(|s| proto::ShippingAddress {
                name: s.name,
                address_line_1: s.line_1,
                address_line_2: s.line_2.unwrap_or_default(),
                city: s.city,
                state: s.state.unwrap_or_default(),
                zip_code: s.zip_code.unwrap_or_default(),
                country: s.country.unwrap_or_default(),
            }),
        }
    }
}
