//! Small validated values: vendor identifiers, money and free text.
//! Constructing one is the validation, so code holding a value never
//! re-checks it, and each rule is written once for every service.

use std::{fmt, str::FromStr};

/// Why a value was refused; the caller adds which field it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// The largest id the gateway accepts: `i64::MAX`. 2Checkout ids are 10
/// digits today; the vendor stores them as signed 64-bit integers (its PHP
/// and MySQL `BIGINT`), and every language's 64-bit integer holds them, so a
/// larger number cannot name anything the vendor holds.
pub const MAX_ID: i64 = i64::MAX;

/// How many characters of an offending value an error message quotes.
pub const MAX_ECHOED_CHARS: usize = 64;

/// `value` as an error message quotes it: in quotes, escaped, and at most
/// [`MAX_ECHOED_CHARS`] characters of it (cut on a character boundary, with
/// an ellipsis after the quote when cut), so a caller sending a megabyte of
/// junk does not get a megabyte back in every log line and status.
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

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

/// A vendor id: a positive decimal number from 1 to [`MAX_ID`], written
/// canonically (digits only: no sign, no spaces, no leading zeros), so one id
/// has one spelling in cache keys and request fingerprints.
fn parse_numeric_id(s: &str) -> Result<&str, InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue("must not be empty".into()));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue("must be a positive whole number in decimal digits (no sign or spaces)".into()));
    }
    if s.starts_with('0') {
        return Err(InvalidValue("must be 1 or more, without leading zeros".into()));
    }
    // All digits and no leading zero: the parse fails only above the range.
    if s.parse::<i64>().is_err() {
        return Err(InvalidValue(format!("must be at most {MAX_ID}")));
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
numeric_id!(
    /// A product id (`product_id`; not the per-seller `assigned_product_id`).
    ProductId
);
numeric_id!(
    /// A product option id.
    OptionId
);
numeric_id!(
    /// One value of a product option.
    OptionValueId
);
numeric_id!(
    /// A product category id (from 2Checkout's category list).
    CategoryId
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

/// Free text that satisfies its field's [`TextRules`]: within its length,
/// without control characters (line breaks only where allowed), without
/// invisible format characters, and with at least one visible character.
///
/// Invisible characters are refused, never stripped: the gateway sends
/// exactly what the caller wrote (a refund comment is matched again in
/// reconciliation and fingerprinted for idempotency, so a silent rewrite
/// would make two different requests look alike), and a caller's bug, such
/// as a byte order mark read from a file, shows instead of landing at the
/// vendor. Refused: every Unicode format character (category Cf: zero-width
/// space, joiners, word joiner, BOM, bidi controls, tags, ...) and, where
/// line breaks are not allowed, U+2028 and U+2029.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text(String);

impl Text {
    /// The text, or `None` when `value` is blank: empty, or without a
    /// visible character (only whitespace and blank-looking fillers).
    pub fn parse(value: &str, rules: TextRules) -> Result<Option<Self>, InvalidValue> {
        if value.is_empty() {
            return Ok(None);
        }
        // Counting stops just past the limit: a megabyte costs no more than the limit.
        if value.chars().nth(rules.max_chars).is_some() {
            return Err(InvalidValue(format!("must be at most {} characters", rules.max_chars)));
        }
        if rules.forbid_angle_brackets && value.contains(['<', '>']) {
            return Err(InvalidValue("must not contain < or >".into()));
        }
        let line_break = |c: char| matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}');
        if value.chars().any(|c| (c.is_control() || line_break(c)) && !(rules.line_breaks && line_break(c))) {
            return Err(InvalidValue("must not contain control characters".into()));
        }
        if value.chars().any(is_format_character) {
            return Err(InvalidValue(
                "must not contain invisible characters (zero-width spaces or joiners, a byte order mark, bidi controls)"
                    .into(),
            ));
        }
        if !value.chars().any(is_visible) {
            return Ok(None);
        }
        Ok(Some(Self(value.to_owned())))
    }

    /// The text; empty is refused ("is required"), and so is text without a visible character.
    pub fn required(value: &str, rules: TextRules) -> Result<Self, InvalidValue> {
        if value.is_empty() {
            return Err(InvalidValue("is required".into()));
        }
        Self::parse(value, rules)?
            .ok_or_else(|| InvalidValue("must contain a visible character (not only whitespace)".into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Whether `c` is a Unicode format character (general category Cf, Unicode
/// 16): invisible, yet it changes how the text around it reads or compares.
fn is_format_character(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{890}'..='\u{891}'
            | '\u{8E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Whether `c` shows as something: not whitespace, not a control or format
/// character, and not one of the letters that render as blank space (the
/// Hangul fillers, the blank Braille pattern).
fn is_visible(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || is_format_character(c)
        || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'))
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
    fn ids_are_positive_canonical_decimals_within_64_bits() {
        let parse = |text: &str| text.parse::<InvoiceId>().map(|id| id.to_string()).map_err(|e| e.0);
        assert_eq!(parse("1"), Ok("1".into()));
        assert_eq!(parse("9223372036854775807"), Ok("9223372036854775807".into()));
        assert_eq!(parse("9223372036854775808"), Err("must be at most 9223372036854775807".into()));
        assert_eq!(parse(&"9".repeat(1 << 20)), Err("must be at most 9223372036854775807".into()));
        assert_eq!(parse("18446744073709551616"), Err("must be at most 9223372036854775807".into()));
        for zero in ["0", "00", "0123"] {
            assert_eq!(parse(zero), Err("must be 1 or more, without leading zeros".into()), "{zero:?}");
        }
        for signed in ["+1", "-1", "1 ", "١٢", "1_000", "0x1f"] {
            assert_eq!(
                parse(signed),
                Err("must be a positive whole number in decimal digits (no sign or spaces)".into()),
                "{signed:?}"
            );
        }
    }

    #[test]
    fn echoed_values_keep_at_most_64_characters() {
        assert_eq!(echo("short"), "\"short\"");
        assert_eq!(echo(&"é".repeat(64)), format!("{:?}", "é".repeat(64)));
        assert_eq!(echo(&"é".repeat(65)), format!("{:?}…", "é".repeat(64)));
        assert_eq!(echo(&"x".repeat(1 << 20)), format!("{:?}…", "x".repeat(64)));
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
        assert_eq!(Text::required("", comment).map_err(|e| e.0), Err("is required".into()));
        let blank = Err("must contain a visible character (not only whitespace)".to_owned());
        assert_eq!(Text::required(" ", comment).map(Text::into_string).map_err(|e| e.0), blank);
        // Blank-looking letters and non-breaking or ideographic spaces are not visible either.
        assert_eq!(
            Text::required("\u{a0}\u{3000}\u{3164}\u{2800}", comment).map(Text::into_string).map_err(|e| e.0),
            blank
        );
    }

    #[test]
    fn invisible_characters_are_refused_wherever_they_are() {
        let comment = TextRules { max_chars: 50, forbid_angle_brackets: true, line_breaks: true };
        let invisible =
            "must not contain invisible characters (zero-width spaces or joiners, a byte order mark, bidi controls)";
        let refusal = |value: &str, rules| Text::parse(value, rules).err().map(|e| e.0);
        for sneaky in ["\u{200B}", "\u{FEFF}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{202E}", "\u{AD}", "\u{E0041}"] {
            assert_eq!(Text::required(sneaky, comment).err().map(|e| e.0).as_deref(), Some(invisible), "{sneaky:?}");
            assert_eq!(refusal(&format!("Refund{sneaky} approved"), comment).as_deref(), Some(invisible));
            assert_eq!(refusal(&format!("{sneaky}  "), TextRules::line(5)).as_deref(), Some(invisible));
        }
        // Line and paragraph separators are line breaks: only where line breaks are allowed.
        assert!(Text::parse("a\u{2028}b", comment).unwrap().is_some());
        let control = Err("must not contain control characters".to_owned());
        assert_eq!(
            Text::parse("a\u{2029}b", TextRules::line(5)).map(|t| t.map(Text::into_string)).map_err(|e| e.0),
            control
        );
        // Visible text in any script stays as written.
        assert_eq!(Text::required("Rückerstattung 退款 ✓", comment).unwrap().as_str(), "Rückerstattung 退款 ✓");
    }

    #[test]
    fn an_overlong_text_is_refused_without_counting_all_of_it() {
        let long = "x".repeat(1 << 20);
        assert_eq!(Text::parse(&long, TextRules::line(5)).map_err(|e| e.0), Err("must be at most 5 characters".into()));
    }
}
