//! Bearer tokens: JWTs signed with RS256, ES256 or EdDSA, verified against the
//! keys of a JWKS file (`auth.jwks_file`), with issuer, audience, expiry and
//! not-before checked; the caller's identity is the token's `sub`.

use std::{collections::HashMap, fmt, path::Path};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};
use serde::Deserialize;

use super::Identity;

/// The clock skew allowed on `exp` and `nbf`, in seconds. Issuers and the
/// gateway run on different machines whose clocks drift by seconds, and a
/// freshly issued token often carries `nbf` = now; without leeway such a
/// token could be refused for a moment. 30 s is half jsonwebtoken's default
/// (60 s): tokens such as Kubernetes' projected ones live an hour or more, so
/// 30 s extra is negligible, and it stays well under a minute.
pub const CLOCK_LEEWAY_SECONDS: u64 = 30;

/// The signature algorithms accepted. Symmetric ones (HS*) are refused: the
/// JWKS is public material, and a shared secret in it would let anyone who
/// can read it mint tokens; `none` is not an algorithm jsonwebtoken parses.
const ACCEPTED: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// One verification key of the set, with the one algorithm it verifies.
struct VerifyingKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The usable keys of a JWKS file, by `kid`.
pub struct Jwks {
    keys: HashMap<String, VerifyingKey>,
    /// Why each key the gateway cannot use was left out (e.g. an encryption key).
    skipped: Vec<String>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public keys, but long and useless in a log: their ids say enough.
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("Jwks").field("kids", &kids).finish()
    }
}

/// Why a JWKS file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct JwksError {
    pub file: String,
    pub reason: String,
}

#[derive(Deserialize)]
struct JwksFile {
    keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// Parses a JWKS document (`{"keys": [...]}`); `file` names it in errors.
    ///
    /// A key is used when it has a `kid` and verifies signatures with an
    /// accepted algorithm (RSA, EC P-256, OKP Ed25519; `alg`, when present,
    /// must agree; `use`, when present, must be `sig`). Other keys are left
    /// out, each with the reason ([`Jwks::skipped`]): issuers publish
    /// encryption keys in the same set (Keycloak does by default). A set with
    /// no usable key, or two usable keys with one `kid`, is an error, so an
    /// operator who mounts the wrong set hears about it at once.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Self, JwksError> {
        let error = |reason: String| JwksError { file: file.display().to_string(), reason };
        let document: JwksFile = serde_json::from_slice(bytes)
            .map_err(|e| error(format!("not a JWKS document ({{\"keys\": [...]}}): {e}")))?;
        let (mut keys, mut skipped) = (HashMap::with_capacity(document.keys.len()), Vec::new());
        for (index, value) in document.keys.into_iter().enumerate() {
            let jwk: Jwk = match serde_json::from_value(value) {
                Ok(jwk) => jwk,
                Err(e) => {
                    skipped.push(format!("keys[{index}] is not a JWK the gateway understands: {e}"));
                    continue;
                }
            };
            let Some(kid) = jwk.common.key_id.clone() else {
                skipped.push(format!("keys[{index}] has no \"kid\""));
                continue;
            };
            match verifying_key(&jwk) {
                Ok(key) => {
                    if keys.insert(kid.clone(), key).is_some() {
                        return Err(error(format!("kid {kid:?} appears more than once")));
                    }
                }
                Err(reason) => skipped.push(format!("keys[{index}] (kid {kid:?}) {reason}")),
            }
        }
        if keys.is_empty() {
            let why = if skipped.is_empty() { String::new() } else { format!(": {}", skipped.join("; ")) };
            return Err(error(format!("has no key the gateway can verify tokens with{why}")));
        }
        Ok(Self { keys, skipped })
    }

    /// Why each key left out of the set was (none when every key is usable).
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The key and its one algorithm, or why the JWK cannot verify accepted tokens.
fn verifying_key(jwk: &Jwk) -> Result<VerifyingKey, String> {
    if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
        return Err("is not a signature key (\"use\" is not \"sig\")".into());
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => {
            return Err("is a symmetric key (kty \"oct\"): only RS256, ES256 and EdDSA are accepted".into());
        }
        AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::OctetKeyPair(_) => {
            return Err("is on a curve other than P-256 (ES256) or Ed25519 (EdDSA)".into());
        }
    };
    let declared = jwk.common.key_algorithm;
    let agrees = match declared {
        None => true,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => algorithm == Algorithm::EdDSA,
        Some(_) => false,
    };
    if !agrees {
        return Err(format!(
            "declares \"alg\" {} but only RS256 (RSA), ES256 (P-256) and EdDSA (Ed25519) are accepted",
            declared.map(|a| a.to_string()).unwrap_or_default()
        ));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("cannot be read as a public key: {e}"))?;
    Ok(VerifyingKey { algorithm, key })
}

/// Why a bearer token was refused; the text is safe to show the caller (it
/// never contains the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error("the bearer token's algorithm is not accepted (only RS256, ES256 and EdDSA)")]
    AlgorithmNotAccepted,
    #[error("the bearer token has no key id (kid)")]
    NoKeyId,
    #[error("the bearer token's key id (kid) is not in the gateway's JWKS")]
    UnknownKey,
    #[error("the bearer token's algorithm does not match its key")]
    AlgorithmMismatch,
    #[error("the bearer token's signature does not verify")]
    BadSignature,
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the bearer token's issuer (iss) is not the one the gateway accepts")]
    WrongIssuer,
    #[error("the bearer token's audience (aud) does not include the gateway's")]
    WrongAudience,
    #[error("the bearer token lacks the {0} claim")]
    MissingClaim(String),
    #[error("the bearer token's subject (sub) is not a caller identity")]
    BadSubject,
}

/// The claims the gateway reads; the others are checked by jsonwebtoken.
#[derive(Deserialize)]
struct Claims {
    sub: String,
}

/// Checks tokens against an issuer and an audience (the keys come per call,
/// so a reloaded JWKS applies to the next call).
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    issuer: String,
    audience: String,
}

impl TokenVerifier {
    pub fn new(issuer: String, audience: String) -> Self {
        Self { issuer, audience }
    }

    /// The caller identity a token proves: its `sub`, once the signature (by
    /// the key its `kid` names, with that key's algorithm), `iss`, `aud`,
    /// `exp` and `nbf` check out.
    pub fn verify(&self, keys: &Jwks, token: &str) -> Result<Identity, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(TokenError::AlgorithmNotAccepted);
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = keys.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        if key.algorithm != header.alg {
            return Err(TokenError::AlgorithmMismatch);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
            ErrorKind::InvalidAlgorithm => TokenError::AlgorithmMismatch,
            _ => TokenError::Malformed,
        })?;
        Identity::parse(&data.claims.sub).map_err(|_| TokenError::BadSubject)
    }
}

/// Throwaway keys and tokens for the unit tests here and in the layer.
#[cfg(test)]
pub(crate) mod testing {
    use jsonwebtoken::{EncodingKey, Header};
    use ring::{
        rand::SystemRandom,
        signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair},
    };

    use super::*;

    /// A signing key and the JWK of its public half.
    pub struct TestKey {
        pub kid: String,
        pub algorithm: Algorithm,
        pub encoding: EncodingKey,
        pub jwk: serde_json::Value,
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    impl TestKey {
        pub fn es256(kid: &str) -> Self {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            let point = pair.public_key().as_ref();
            let (x, y) = point[1..].split_at(32);
            Self {
                kid: kid.into(),
                algorithm: Algorithm::ES256,
                encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
                jwk: serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(x), "y": b64(y), "alg": "ES256", "use": "sig"}),
            }
        }

        pub fn ed25519(kid: &str) -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            Self {
                kid: kid.into(),
                algorithm: Algorithm::EdDSA,
                encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
                jwk: serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())}),
            }
        }

        pub fn sign(&self, claims: &serde_json::Value) -> String {
            let mut header = Header::new(self.algorithm);
            header.kid = Some(self.kid.clone());
            jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
        }
    }

    pub fn jwks(keys: &[&TestKey]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}))
            .unwrap()
    }

    pub fn now() -> i64 {
        i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
    }

    pub fn claims(sub: &str) -> serde_json::Value {
        serde_json::json!({"sub": sub, "iss": "https://issuer.test", "aud": "tco-gateway", "exp": now() + 600, "nbf": now() - 5})
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::*, *};

    fn verifier() -> TokenVerifier {
        TokenVerifier::new("https://issuer.test".into(), "tco-gateway".into())
    }

    fn keys(of: &[&TestKey]) -> Jwks {
        Jwks::parse(&jwks(of), Path::new("jwks.json")).unwrap()
    }

    #[test]
    fn es256_and_eddsa_tokens_prove_their_subject() {
        let (ec, ed) = (TestKey::es256("ec-1"), TestKey::ed25519("ed-1"));
        let set = keys(&[&ec, &ed]);
        for key in [&ec, &ed] {
            let identity = verifier().verify(&set, &key.sign(&claims("svc-a"))).unwrap();
            assert_eq!(identity.as_str(), "svc-a");
        }
    }

    #[test]
    fn every_claim_and_the_key_are_checked() {
        let (ec, stranger) = (TestKey::es256("ec-1"), TestKey::es256("ec-1"));
        let set = keys(&[&ec]);
        let with = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut claims = claims("svc-a");
            change(&mut claims);
            verifier().verify(&set, &ec.sign(&claims))
        };
        assert_eq!(with(&|c| c["exp"] = (now() - 31).into()), Err(TokenError::Expired));
        assert!(with(&|c| c["exp"] = (now() - 5).into()).is_ok(), "within the leeway");
        assert_eq!(with(&|c| c["nbf"] = (now() + 60).into()), Err(TokenError::NotYetValid));
        assert_eq!(with(&|c| c["iss"] = "https://elsewhere.test".into()), Err(TokenError::WrongIssuer));
        assert_eq!(with(&|c| c["aud"] = "someone-else".into()), Err(TokenError::WrongAudience));
        assert!(with(&|c| c["aud"] = serde_json::json!(["x", "tco-gateway"])).is_ok());
        assert_eq!(
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            Err(TokenError::MissingClaim("exp".into()))
        );
        assert_eq!(with(&|c| c["sub"] = "two words".into()), Err(TokenError::BadSubject));
        // Same kid, another key: the signature does not verify.
        assert_eq!(verifier().verify(&set, &stranger.sign(&claims("svc-a"))), Err(TokenError::BadSignature));
        assert_eq!(
            verifier().verify(&set, &TestKey::es256("other").sign(&claims("svc-a"))),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(verifier().verify(&set, "not-a-token"), Err(TokenError::Malformed));
    }

    #[test]
    fn hmac_and_none_tokens_are_refused() {
        let set = keys(&[&TestKey::es256("ec-1")]);
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("ec-1".into());
        let hs =
            jsonwebtoken::encode(&header, &claims("svc-a"), &jsonwebtoken::EncodingKey::from_secret(b"k")).unwrap();
        assert_eq!(verifier().verify(&set, &hs), Err(TokenError::AlgorithmNotAccepted));
        // {"alg":"none","kid":"ec-1"} with an empty signature.
        let none = format!("eyJhbGciOiJub25lIiwia2lkIjoiZWMtMSJ9.{}.", hs.split('.').nth(1).unwrap());
        assert_eq!(verifier().verify(&set, &none), Err(TokenError::Malformed));
    }

    #[test]
    fn a_token_must_use_its_keys_algorithm() {
        // An EdDSA token whose kid names the P-256 key.
        let (ec, ed) = (TestKey::es256("ec-1"), TestKey::ed25519("ec-1"));
        let set = keys(&[&ec]);
        assert_eq!(verifier().verify(&set, &ed.sign(&claims("svc-a"))), Err(TokenError::AlgorithmMismatch));
    }

    #[test]
    fn unusable_key_sets_are_refused_naming_the_file() {
        let file = Path::new("jwks.json");
        let refuse =
            |doc: serde_json::Value| Jwks::parse(&serde_json::to_vec(&doc).unwrap(), file).unwrap_err().to_string();
        let ec = TestKey::es256("ec-1").jwk;
        assert!(refuse(serde_json::json!({"keys": []})).contains("has no key the gateway can verify tokens with"));
        assert!(
            refuse(serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]})).contains("symmetric")
        );
        let mut no_kid = ec.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        assert!(refuse(serde_json::json!({"keys": [no_kid]})).contains("no \"kid\""));
        assert!(refuse(serde_json::json!({"keys": [ec.clone(), ec.clone()]})).contains("more than once"));
        let mut enc = ec.clone();
        enc["use"] = "enc".into();
        assert!(refuse(serde_json::json!({"keys": [enc]})).contains("not a signature key"));
        let mut wrong_alg = ec;
        wrong_alg["alg"] = "RS256".into();
        assert!(refuse(serde_json::json!({"keys": [wrong_alg]})).contains("RS256"));
        let error = refuse(serde_json::json!({"nope": 1}));
        assert!(error.starts_with("jwks.json: not a JWKS document"), "{error}");
    }

    #[test]
    fn keys_the_gateway_cannot_use_are_left_out_beside_usable_ones() {
        let ec = TestKey::es256("ec-1");
        // Keycloak publishes an encryption key beside its signing keys.
        let encryption = serde_json::json!({"kty": "RSA", "kid": "enc-1", "use": "enc", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"});
        let document = serde_json::json!({"keys": [encryption, ec.jwk]});
        let set = Jwks::parse(&serde_json::to_vec(&document).unwrap(), Path::new("jwks.json")).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.skipped().len(), 1);
        assert!(set.skipped()[0].contains("enc-1"), "{:?}", set.skipped());
        assert_eq!(verifier().verify(&set, &ec.sign(&claims("svc-a"))).unwrap().as_str(), "svc-a");
    }
}
