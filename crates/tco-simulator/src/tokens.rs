//! The token vault standing in for 2co.js: card details in, an opaque single-use token out.
//!
//! A token looks like the reference's (`OWRhYjVhNDUt…`, the base64 of a UUID-shaped text); the
//! UUID comes from the simulator's own PRNG seeded with the configuration seed, so a test run
//! always hands out the same tokens in the same order. A token is good for one authorization
//! attempt and for [`TOKEN_LIFETIME_MINUTES`] after creation on the simulator clock. Used and
//! expired tokens stay in the vault, so a second use answers "Unauthorized" (as real clients
//! observed) rather than "unknown token"; the vault only grows, which is fine for a test double.
//!
//! The vault is the only holder of card numbers and CVVs: nothing prints them (`Debug` is
//! redacted), and nothing outside the authorization ever reads them.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};

use super::prng::SplitMix64;

/// How long a token stays usable after creation.
pub const TOKEN_LIFETIME_MINUTES: i64 = 30;

/// Mixed into the configuration seed so the token stream differs from the seeded data's.
const TOKEN_SEED_SALT: u64 = 0x746F_6B65_6E73_2121;

/// What a token stands for. `Debug` shows only the last four digits.
#[derive(Clone, PartialEq, Eq)]
pub struct CardDetails {
    /// Digits only.
    pub number: String,
    /// 1 to 12.
    pub exp_month: u32,
    /// Four digits.
    pub exp_year: i32,
    /// Kept because the real tokenizer keeps it; the simulated network never looks at it.
    pub cvv: String,
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDetails")
            .field("number", &"<redacted>")
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .field("cvv", &"<redacted>")
            .finish()
    }
}

impl CardDetails {
    pub fn first_six(&self) -> String {
        self.number.chars().take(6).collect()
    }

    pub fn last_two(&self) -> String {
        self.last(2)
    }

    /// `XXXX-XXXX-XXXX-0002`, as 2co.js shows the card.
    pub fn masked(&self) -> String {
        format!("XXXX-XXXX-XXXX-{}", self.last(4))
    }

    fn last(&self, count: usize) -> String {
        let skip = self.number.len().saturating_sub(count);
        self.number.chars().skip(skip).collect()
    }
}

/// Why a token cannot pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedeemError {
    /// Never issued.
    Unknown,
    /// Already used by an earlier authorization attempt.
    Used,
    /// Older than [`TOKEN_LIFETIME_MINUTES`].
    Expired,
}

struct StoredToken {
    card: CardDetails,
    created_at: DateTime<Utc>,
    used: bool,
}

struct VaultState {
    rng: SplitMix64,
    tokens: HashMap<String, StoredToken>,
}

/// Issued tokens and what they stand for.
pub struct TokenVault {
    state: Mutex<VaultState>,
}

impl std::fmt::Debug for TokenVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither tokens nor cards: only how many there are.
        f.debug_struct("TokenVault").field("tokens", &self.lock().tokens.len()).finish()
    }
}

impl TokenVault {
    pub fn new(seed: u64) -> Self {
        TokenVault {
            state: Mutex::new(VaultState { rng: SplitMix64::new(seed ^ TOKEN_SEED_SALT), tokens: HashMap::new() }),
        }
    }

    /// Stores `card` under a fresh token, created `now`.
    pub fn issue(&self, card: CardDetails, now: DateTime<Utc>) -> String {
        let mut state = self.lock();
        let token = loop {
            let candidate = opaque_token(&mut state.rng);
            // 122 random bits never collide in practice; the loop makes it certain.
            if !state.tokens.contains_key(&candidate) {
                break candidate;
            }
        };
        state.tokens.insert(token.clone(), StoredToken { card, created_at: now, used: false });
        token
    }

    /// The card behind `token`, which is used up by this call whatever the authorization's
    /// outcome (a declined attempt consumes it too).
    pub fn redeem(&self, token: &str, now: DateTime<Utc>) -> Result<CardDetails, RedeemError> {
        let mut state = self.lock();
        let stored = state.tokens.get_mut(token).ok_or(RedeemError::Unknown)?;
        if stored.used {
            return Err(RedeemError::Used);
        }
        stored.used = true;
        if now.signed_duration_since(stored.created_at) > TimeDelta::minutes(TOKEN_LIFETIME_MINUTES) {
            return Err(RedeemError::Expired);
        }
        Ok(stored.card.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VaultState> {
        // Every update is a single insert or flag change: a panic elsewhere leaves it consistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The base64 of a version-4 UUID text, the shape the reference's tokens have.
fn opaque_token(rng: &mut SplitMix64) -> String {
    let high = rng.next_u64();
    let low = rng.next_u64();
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0x0FFF,
        ((low >> 48) & 0x3FFF) | 0x8000,
        low & 0xFFFF_FFFF_FFFF
    );
    STANDARD.encode(uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardDetails {
        CardDetails { number: "4000000000000002".to_owned(), exp_month: 12, exp_year: 2030, cvv: "123".to_owned() }
    }

    #[test]
    fn tokens_are_deterministic_per_seed_opaque_and_single_use() {
        let now = Utc::now();
        let (first, second) = (TokenVault::new(42), TokenVault::new(42));
        let token = first.issue(card(), now);
        assert_eq!(token, second.issue(card(), now));
        assert_ne!(token, first.issue(card(), now));
        assert_eq!(token.len(), 48, "base64 of a 36-character UUID text");
        assert!(!token.contains("4000000000000002"));
        assert_eq!(first.redeem(&token, now), Ok(card()));
        assert_eq!(first.redeem(&token, now), Err(RedeemError::Used));
        assert_eq!(first.redeem("nope", now), Err(RedeemError::Unknown));
    }

    #[test]
    fn a_token_expires_thirty_minutes_after_creation() {
        let now = Utc::now();
        let vault = TokenVault::new(1);
        let fresh = vault.issue(card(), now);
        let stale = vault.issue(card(), now);
        assert!(vault.redeem(&fresh, now + TimeDelta::minutes(30)).is_ok());
        assert_eq!(vault.redeem(&stale, now + TimeDelta::minutes(31)), Err(RedeemError::Expired));
    }

    #[test]
    fn debug_never_shows_the_card_number_or_cvv() {
        let shown = format!("{:?}", card());
        assert!(!shown.contains("4000000000000002") && !shown.contains("123"));
        assert_eq!(card().masked(), "XXXX-XXXX-XXXX-0002");
        assert_eq!((card().first_six(), card().last_two()), ("400000".to_owned(), "02".to_owned()));
    }
}
