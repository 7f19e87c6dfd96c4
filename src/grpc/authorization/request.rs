//! Authorize requests into a validated [`AuthorizationRequest`]: every
//! documented Payment API attribute rule, each failure naming its proto field.

use super::super::{amount, optional_text, period, proto, required_text};
use crate::domain::{
    AuthorizationRequest, BillingContact, CardToken, Error, OrderAmount, OrderLine, OrderLineOption, OrderLineType,
    PostalAddress, Recurrence, RequestId, Sign, Text, TextRules,
};

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

/// A field required only in some cases (an address part some countries need).
fn text_if(required: bool, field: &str, value: &str, rules: TextRules) -> Result<Option<String>, Error> {
    let text = if required { required_text(field, value, rules).map(Some) } else { optional_text(field, value, rules) };
    text.map(|text| text.map(Text::into_string))
}

/// A name or address line: one line, angle brackets allowed.
fn one_line(max_chars: usize) -> TextRules {
    TextRules::line(max_chars)
}

/// An order line's or option's name: the vendor refuses `<` and `>` there.
fn label(max_chars: usize) -> TextRules {
    TextRules::line(max_chars).without_angle_brackets()
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
    let country = text_if(country_required, &field("country"), a.country, one_line(64))?;
    let code = country_code(country.as_deref());
    let needs_state_and_zip = STATE_AND_ZIP_REQUIRED.contains(&code.as_str());
    let needs_line_2 = ADDRESS_LINE_2_REQUIRED.contains(&code.as_str());
    Ok(PostalAddress {
        name: required_text(&field("name"), a.name, one_line(128))?.into_string(),
        line_1: required_text(&field("address_line_1"), a.line_1, one_line(64))?.into_string(),
        line_2: text_if(needs_line_2, &field("address_line_2"), a.line_2, one_line(64))?,
        city: required_text(&field("city"), a.city, one_line(64))?.into_string(),
        state: text_if(needs_state_and_zip, &field("state"), a.state, one_line(64))?,
        zip_code: text_if(needs_state_and_zip, &field("zip_code"), a.zip, one_line(16))?,
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
    let price = amount(&field("price"), &line.price, Sign::NotNegative)?;
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
            let fee = amount(&field("startup_fee"), fee, Sign::Any)?;
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
                name: required_text(&option("name"), &o.name, label(64))?.into_string(),
                value: required_text(&option("value"), &o.value, label(64))?.into_string(),
                surcharge: amount(&option("surcharge"), &o.surcharge, Sign::NotNegative)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(OrderLine {
        line_type,
        name: required_text(&field("name"), &line.name, label(128))?.into_string(),
        quantity,
        price,
        tangible: line.tangible,
        product_id: optional_text(&field("product_id"), &line.product_id, one_line(MAX_ID_CHARS))?
            .map(Text::into_string),
        recurrence,
        startup_fee,
        options,
    })
}

impl TryFrom<&proto::AuthorizeRequest> for AuthorizationRequest {
    type Error = Error;

    fn try_from(r: &proto::AuthorizeRequest) -> Result<Self, Error> {
        let request_id: RequestId = r.request_id.parse().map_err(|e| Error::invalid_field("request_id", e))?;
        let merchant_order_id =
            required_text("merchant_order_id", &r.merchant_order_id, one_line(MAX_ID_CHARS))?.into_string();
        if r.token.trim().is_empty() {
            return Err(Error::invalid_field("token", "is required: the card token from 2co.js"));
        }
        if r.token.len() > MAX_TOKEN_CHARS || r.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid_field("token", "is not a card token"));
        }
        let currency = currency_code(r.currency)?;
        let amount = match &r.amount {
            None => return Err(Error::invalid_field("amount", "set either total or line_items")),
            Some(proto::authorize_request::Amount::Total(total)) => {
                OrderAmount::Total(amount("total", total, Sign::NotNegative)?)
            }
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
            email: required_text("billing_address.email", &b.email, one_line(64))?.into_string(),
            phone_number: required_text("billing_address.phone_number", &b.phone_number, one_line(16))?.into_string(),
            phone_extension: optional_text("billing_address.phone_extension", &b.phone_extension, one_line(9))?
                .map(Text::into_string),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn authorize(f: impl FnOnce(&mut proto::AuthorizeRequest)) -> Result<AuthorizationRequest, Error> {
        let mut request = proto::AuthorizeRequest {
            request_id: "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".into(),
            merchant_order_id: "order-1".into(),
            token: "tok_123".into(),
            currency: proto::Currency::Eur.into(),
            amount: Some(proto::authorize_request::Amount::Total("10.00".into())),
            billing_address: Some(proto::BillingAddress {
                name: "Jane Doe".into(),
                address_line_1: "Hauptstraße 1".into(),
                city: "Berlin".into(),
                country: "DEU".into(),
                email: "jane@example.com".into(),
                phone_number: "5555555555".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        f(&mut request);
        AuthorizationRequest::try_from(&request)
    }

    fn invalid(result: Result<AuthorizationRequest, Error>) -> (String, String) {
        match result {
            Err(Error::InvalidField { field, description }) => (field, description),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    fn billing(f: fn(&mut proto::BillingAddress)) -> Result<AuthorizationRequest, Error> {
        authorize(|r| r.billing_address.as_mut().map(f).unwrap_or_default())
    }

    #[test]
    fn names_and_addresses_are_one_line() {
        assert!(authorize(|_| {}).is_ok());
        assert_eq!(
            invalid(billing(|b| b.name = "Jane\nDoe".into())),
            ("billing_address.name".into(), "must not contain control characters".into())
        );
        assert_eq!(invalid(billing(|b| b.city = "".into())), ("billing_address.city".into(), "is required".into()));
        assert_eq!(
            invalid(billing(|b| b.city = " ".into())),
            ("billing_address.city".into(), "must contain a visible character (not only whitespace)".into())
        );
        assert_eq!(invalid(billing(|b| b.name = "\u{FEFF}".into())).0, "billing_address.name");
    }

    #[test]
    fn totals_are_money_within_the_ceiling() {
        let total =
            |t: &'static str| authorize(move |r| r.amount = Some(proto::authorize_request::Amount::Total(t.into())));
        assert!(total("99999999.99").is_ok());
        assert_eq!(invalid(total("-1.00")), ("total".into(), "must not be negative".into()));
        assert_eq!(invalid(total("100000000.00")), ("total".into(), "must be at most 99999999.99".into()));
        assert_eq!(invalid(total("")), ("total".into(), "is required".into()));
    }
}
