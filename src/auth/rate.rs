//! Per-caller rate limits: one token bucket per identity whose policy entry
//! sets `rate_limit`, on `tokio::time::Instant` (so tests can pause time).
//!
//! Hand-written rather than a crate (governor): twenty lines of integer
//! arithmetic, deterministic under tokio's paused clock, and the buckets are
//! keyed by the policy's identities, so their number is bounded by the file.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

use super::{Identity, policy::RateLimit};

/// Tokens are counted in billionths, so refill per nanosecond is an integer.
const SCALE: u128 = 1_000_000_000;

/// One caller's bucket: holds up to `burst` calls, refilled at `per_second`.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    /// Available tokens, in billionths.
    available: u128,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self { limit, available: u128::from(limit.burst) * SCALE, refilled_at: now }
    }

    /// Takes one token, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.refilled_at).as_nanos();
        let capacity = u128::from(self.limit.burst) * SCALE;
        let per_second = u128::from(self.limit.per_second);
        self.available = self.available.saturating_add(elapsed.saturating_mul(per_second)).min(capacity);
        self.refilled_at = now;
        if self.available >= SCALE {
            self.available -= SCALE;
            return Ok(());
        }
        let missing = SCALE - self.available;
        let nanos = missing.div_ceil(per_second.max(1));
        Err(Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
    }
}

/// The buckets of all rate-limited callers.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Identity, TokenBucket>>,
}

impl RateLimiter {
    /// Takes a token from `identity`'s bucket for `limit`, or says when to retry. A
    /// changed limit (a reloaded policy) starts a fresh, full bucket; whenever a bucket is
    /// made, those of callers the current policy no longer limits (`still_limited` says
    /// which are) are dropped, so the buckets stay bounded by the policy file.
    pub fn check(
        &self,
        identity: &Identity,
        limit: RateLimit,
        mut still_limited: impl FnMut(&Identity, RateLimit) -> bool,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        // A panic while holding the lock cannot leave a bucket half-updated in a harmful way.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        match buckets.get_mut(identity) {
            Some(bucket) if bucket.limit == limit => bucket.try_take(now),
            _ => {
                buckets.retain(|identity, bucket| still_limited(identity, bucket.limit));
                let mut bucket = TokenBucket::new(limit, now);
                let taken = bucket.try_take(now);
                buckets.insert(identity.clone(), bucket);
                taken
            }
        }
    }

    /// How many callers have a bucket.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &Identity, _: RateLimit) -> bool {
        true
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_sustained_rate_with_the_wait_until_the_next_token() {
        let limit = RateLimit { per_second: 4, burst: 2 };
        let limiter = RateLimiter::default();
        let caller = Identity::parse("batch").unwrap();
        assert_eq!(limiter.check(&caller, limit, any), Ok(()));
        assert_eq!(limiter.check(&caller, limit, any), Ok(()));
        assert_eq!(limiter.check(&caller, limit, any), Err(Duration::from_millis(250)));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(limiter.check(&caller, limit, any), Err(Duration::from_millis(150)));
        tokio::time::advance(Duration::from_millis(150)).await;
        assert_eq!(limiter.check(&caller, limit, any), Ok(()), "recovered after the delay it named");
        assert_eq!(limiter.check(&caller, limit, any), Err(Duration::from_millis(250)));
        // A long quiet period refills only up to the burst.
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..2 {
            assert_eq!(limiter.check(&caller, limit, any), Ok(()));
        }
        assert!(limiter.check(&caller, limit, any).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn callers_have_their_own_buckets_and_a_new_limit_starts_full() {
        let limit = RateLimit { per_second: 1, burst: 1 };
        let limiter = RateLimiter::default();
        let (a, b) = (Identity::parse("a").unwrap(), Identity::parse("b").unwrap());
        assert_eq!(limiter.check(&a, limit, any), Ok(()));
        assert_eq!(limiter.check(&a, limit, any), Err(Duration::from_secs(1)));
        assert_eq!(limiter.check(&b, limit, any), Ok(()));
        let raised = RateLimit { per_second: 10, burst: 10 };
        assert_eq!(limiter.check(&a, raised, any), Ok(()));
        assert_eq!(limiter.len(), 2);
        // A new bucket drops those the policy no longer limits.
        let c = Identity::parse("c").unwrap();
        assert_eq!(limiter.check(&c, limit, |identity, _| identity != &b), Ok(()));
        assert_eq!(limiter.len(), 2, "a and c");
    }
}
