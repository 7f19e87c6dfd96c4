//! A canonical encoding of a validated request, field by field, for the
//! idempotency store to tell "the same request again" from "another request
//! under the same request id". Every field is written as `name=len:value;`
//! (absent: `name-;`) in a fixed order per request kind, so the encoding is
//! stable across releases and two different requests never encode alike.

use std::fmt::Write as _;

/// Builds one fingerprint; see the module docs.
#[derive(Debug)]
pub(crate) struct Fingerprint(String);

impl Fingerprint {
    /// Starts the fingerprint of a request of `kind`.
    pub(crate) fn new(kind: &str) -> Self {
        Self(String::new()).text("kind", kind)
    }

    pub(crate) fn text(mut self, name: &str, value: &str) -> Self {
        // Writing to a String cannot fail.
        let _ = write!(self.0, "{name}={}:{value};", value.len());
        self
    }

    pub(crate) fn optional(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => {
                let _ = write!(self.0, "{name}-;");
                self
            }
        }
    }

    pub(crate) fn flag(self, name: &str, value: bool) -> Self {
        self.text(name, if value { "1" } else { "0" })
    }

    pub(crate) fn number(self, name: &str, value: impl std::fmt::Display) -> Self {
        self.text(name, &value.to_string())
    }

    pub(crate) fn finish(self) -> String {
        self.0
    }
}

/// A stable 64-bit digest (FNV-1a) of a secret, so a fingerprint can tell
/// two secrets apart without holding either. Not a protection against
/// guessing: it is applied only to single-use random card tokens.
pub(crate) fn digest(secret: &str) -> String {
    let hash = secret
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_spill_into_the_next_field() {
        let a = Fingerprint::new("k").text("a", "x;b=1:y").finish();
        let b = Fingerprint::new("k").text("a", "x").text("b", "y").finish();
        assert_ne!(a, b);
        assert_ne!(
            Fingerprint::new("k").optional("a", None).finish(),
            Fingerprint::new("k").optional("a", Some("")).finish()
        );
    }

    #[test]
    fn the_digest_is_stable() {
        assert_eq!(digest(""), "cbf29ce484222325");
        assert_eq!(digest("a"), "af63dc4c8601ec8c");
    }
}
