//! Small validated values: vendor identifiers, money and free text.
//! Constructing one is the validation, so code holding a value never
//! re-checks it, and each rule is written once for every service.

use std::{fmt, str::FromStr};

/// Why a value was refused; the caller adds which field it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// The longest identifier the gateway accepts: 2Checkout ids are 10 digits
/// today, and 19 digits still fit every language's 64-bit integer.
const MAX_ID_DIGITS: usize = 19;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as the vendor writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_numeric_id(s).map(|s| Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn parse_numeric_id(s: &str) -> Result<&str, InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue("must not be empty".into()));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue("must contain digits only".into()));
    }
    if s.len() > MAX_ID_DIGITS {
        return Err(InvalidValue(format!("must be at most {MAX_ID_DIGITS} digits")));
    }
    Ok(s)
}

numeric_id!(
    /// A sale id (order number).
    SaleId
);
numeric_id!(
    /// An invoice id.
    InvoiceId
);
numeric_id!(
    /// A line item id.
    LineItemId
);

/// An amount of money in minor units (cents) of some currency, parsed from and
/// written as a decimal string with two decimals. Never a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Amount {
    minor_units: i64,
}

impl Amount {
    /// The amount in minor units (1.53 -> 153).
    pub fn minor_units(self) -> i64 {
        self.minor_units
    }

    /// An amount of `minor_units` cents.
    pub fn from_minor_units(minor_units: i64) -> Self {
        Self { minor_units }
    }
}

/// Which amounts a field accepts besides the vendor's ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// At least 0.01 (refunds).
    Positive,
    /// Zero or more (prices, totals, surcharges).
    NotNegative,
    /// Negative too (a startup fee may be a discount).
    Any,
}

impl Amount {
    /// The largest price, total or refund 2Checkout documents: 99999999.99.
    pub const MAX_MINOR_UNITS: i64 = 9_999_999_999;

    /// An amount a caller sent: required, two decimals at most, of the
    /// given sign, and within the vendor's ceiling.
    pub fn parse(text: &str, sign: Sign) -> Result<Self, InvalidValue> {
        if text.is_empty() {
            return Err(InvalidValue("is required".into()));
        }
        let amount: Self = text.parse()?;
        match sign {
            Sign::Positive if amount.minor_units < 1 => return Err(InvalidValue("must be at least 0.01".into())),
            Sign::NotNegative if amount.minor_units < 0 => return Err(InvalidValue("must not be negative".into())),
            Sign::Positive | Sign::NotNegative | Sign::Any => {}
        }
        if amount.minor_units.unsigned_abs() > Self::MAX_MINOR_UNITS.unsigned_abs() {
            return Err(InvalidValue("must be at most 99999999.99".into()));
        }
        Ok(amount)
    }
}

impl FromStr for Amount {
    type Err = InvalidValue;

    /// Accepts `-?digits(.d{1,2})?`: "1", "1.5", "1.53", "-0.50".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The value itself stays out of the message: it may come from the upstream body.
        let invalid = || InvalidValue("must be a decimal amount with at most two decimals, like 12.34".into());
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
            return Err(invalid());
        }
        if unsigned.ends_with('.') {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
        let minor = whole.checked_mul(100).and_then(|w| w.checked_add(fraction)).ok_or_else(invalid)?;
        Ok(Self { minor_units: if negative { -minor } else { minor } })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// The rules of one free-text field sent to 2Checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextRules {
    /// The most characters (not bytes) accepted.
    pub max_chars: usize,
    /// Whether `<` and `>` are refused (the vendor refuses them in refund
    /// comments, tracking numbers and order line names).
    pub forbid_angle_brackets: bool,
    /// Whether line breaks and tabs are accepted (comments may span lines;
    /// names and addresses may not).
    pub line_breaks: bool,
}

impl TextRules {
    /// One line of text of at most `max_chars`, angle brackets allowed.
    pub const fn line(max_chars: usize) -> Self {
        Self { max_chars, forbid_angle_brackets: false, line_breaks: false }
    }

    /// These rules, refusing `<` and `>` as well.
    pub const fn without_angle_brackets(self) -> Self {
        Self { forbid_angle_brackets: true, ..self }
    }
}

/// Free text that satisfies its field's [`TextRules`]: not blank, within its
/// length, without control characters (line breaks only where allowed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text(String);

impl Text {
    /// The text, or `None` when `value` is blank (empty or only whitespace).
    pub fn parse(value: &str, rules: TextRules) -> Result<Option<Self>, InvalidValue> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        if value.chars().count() > rules.max_chars {
            return Err(InvalidValue(format!("must be at most {} characters", rules.max_chars)));
        }
        if rules.forbid_angle_brackets && value.contains(['<', '>']) {
            return Err(InvalidValue("must not contain < or >".into()));
        }
        let allowed = |c: char| rules.line_breaks && matches!(c, '\n' | '\r' | '\t');
        if value.chars().any(|c| c.is_control() && !allowed(c)) {
            return Err(InvalidValue("must not contain control characters".into()));
        }
        Ok(Some(Self(value.to_owned())))
    }

    /// The text; blank is refused ("is required").
    pub fn required(value: &str, rules: TextRules) -> Result<Self, InvalidValue> {
        Self::parse(value, rules)?.ok_or_else(|| InvalidValue("is required".into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_digits_only() {
        assert_eq!("4647892238".parse::<SaleId>().unwrap().as_str(), "4647892238");
        for bad in ["", "12a", " 1", "-1", "1.0", "12345678901234567890"] {
            assert!(bad.parse::<SaleId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn amounts_round_trip_in_minor_units() {
        for (text, minor, shown) in [
            ("1.53", 153, "1.53"),
            ("1", 100, "1.00"),
            ("1.5", 150, "1.50"),
            ("-0.50", -50, "-0.50"),
            ("0.00", 0, "0.00"),
        ] {
            let amount: Amount = text.parse().unwrap();
            assert_eq!(amount.minor_units(), minor);
            assert_eq!(amount.to_string(), shown);
        }
    }

    #[test]
    fn amounts_refuse_anything_but_a_two_decimal_number() {
        for bad in ["", ".5", "1.", "1.234", "1e3", "abc", "1,00", "--1", "99999999999999999999"] {
            assert!(bad.parse::<Amount>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parsed_amounts_keep_to_their_sign_and_the_ceiling() {
        let minor = |text, sign| Amount::parse(text, sign).map(Amount::minor_units).map_err(|e| e.0);
        assert_eq!(minor("0.01", Sign::Positive), Ok(1));
        assert_eq!(minor("0.00", Sign::Positive), Err("must be at least 0.01".into()));
        assert_eq!(minor("-1.00", Sign::Positive), Err("must be at least 0.01".into()));
        assert_eq!(minor("0.00", Sign::NotNegative), Ok(0));
        assert_eq!(minor("-0.01", Sign::NotNegative), Err("must not be negative".into()));
        assert_eq!(minor("-5.00", Sign::Any), Ok(-500));
        assert_eq!(minor("99999999.99", Sign::Positive), Ok(9_999_999_999));
        for sign in [Sign::Positive, Sign::NotNegative, Sign::Any] {
            assert_eq!(minor("100000000.00", sign), Err("must be at most 99999999.99".into()));
            assert_eq!(minor("", sign), Err("is required".into()));
            assert!(minor("1e2", sign).is_err());
        }
        assert_eq!(minor("-100000000.00", Sign::Any), Err("must be at most 99999999.99".into()));
    }

    #[test]
    fn text_keeps_to_its_rules() {
        let comment = TextRules { max_chars: 5, forbid_angle_brackets: true, line_breaks: true };
        let parse = |value, rules| Text::parse(value, rules).map(|t| t.map(Text::into_string)).map_err(|e| e.0);
        assert_eq!(parse("  ", comment), Ok(None));
        assert_eq!(parse("a\nb", comment), Ok(Some("a\nb".into())));
        assert_eq!(parse("a\nb", TextRules::line(5)), Err("must not contain control characters".into()));
        assert_eq!(parse("a\u{7}", comment), Err("must not contain control characters".into()));
        assert_eq!(parse("<b>", comment), Err("must not contain < or >".into()));
        assert_eq!(parse("<b>", TextRules::line(5)), Ok(Some("<b>".into())));
        assert_eq!(parse("éééééé", comment), Err("must be at most 5 characters".into()));
        assert_eq!(parse("ééééé", comment), Ok(Some("ééééé".into())));
        assert_eq!(Text::required(" ", comment).map_err(|e| e.0), Err("is required".into()));
    }
}
