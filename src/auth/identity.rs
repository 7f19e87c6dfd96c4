//! The caller as the policy names it, and what proved it.

use std::fmt;

/// The most characters an identity may have: SPIFFE IDs are limited to 2,048 bytes.
const MAX_IDENTITY_CHARS: usize = 2048;

/// A caller's identity as the policy names it: a SPIFFE ID, a DNS name or a
/// common name from a client certificate, or a bearer token's `sub`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity(String);

/// Why a string is not an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a caller identity: {0}")]
pub struct InvalidIdentity(&'static str);

impl Identity {
    /// Accepts 1 to 2,048 visible characters (no whitespace, no controls): an
    /// identity ends up in logs and audit records, where anything else would be
    /// ambiguous or forge lines.
    pub fn parse(value: &str) -> Result<Self, InvalidIdentity> {
        if value.is_empty() {
            return Err(InvalidIdentity("empty"));
        }
        if value.chars().count() > MAX_IDENTITY_CHARS {
            return Err(InvalidIdentity("longer than 2048 characters"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidIdentity("contains whitespace or control characters"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// A client certificate signed by `server.tls.client_ca_file` (mTLS).
    Certificate,
    /// A JWT verified against `auth.jwks_file`.
    BearerToken,
    /// Nothing: the zero-setup mode without a policy, where every call is allowed.
    None,
}

/// The caller of one request, as the auth layer established it; it is put in
/// the request's extensions, where handlers (refund ceilings) and the audit
/// trail read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// `None` only without a policy (zero-setup mode).
    pub identity: Option<Identity>,
    pub proof: Proof,
}

impl Caller {
    /// The caller when no policy is configured: unidentified, allowed everything.
    pub fn anonymous() -> Self {
        Self { identity: None, proof: Proof::None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_visible_text_of_bounded_length() {
        assert_eq!(
            Identity::parse("spiffe://payments.internal/support-tool").unwrap().as_str(),
            "spiffe://payments.internal/support-tool"
        );
        assert!(Identity::parse("").is_err());
        assert!(Identity::parse("a b").is_err());
        assert!(Identity::parse("line\nforged").is_err());
        assert!(Identity::parse(&"x".repeat(2049)).is_err());
        assert!(Identity::parse(&"x".repeat(2048)).is_ok());
    }
}
