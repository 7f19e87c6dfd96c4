//! Small validated values: vendor identifiers and money. Constructing one is
//! the validation, so code holding a value never re-checks it.

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
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
}
