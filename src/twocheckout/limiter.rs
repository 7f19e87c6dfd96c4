//! The cap on concurrent requests to one 2Checkout API
//! (`admin_api.max_concurrent_requests`, `payment_api.max_concurrent_requests`).
//!
//! Every request takes a slot before it is sent and holds it until its answer
//! is read. A caller beyond the cap waits for a slot within its own time (what
//! the request itself would have been given: the deadline less the margin, at
//! most the request timeout); when none comes free it gets UNAVAILABLE
//! (`UPSTREAM_BUSY`, RetryInfo). Such a request was never sent, so a write
//! that gets it is a plain failure, never OUTCOME_UNKNOWN, and a retry with the
//! same request_id runs it.
//!
//! Why: without a cap the connection pool grows with caller concurrency (a
//! thousand cold lookups at once opened a thousand connections, a thousand
//! TLS handshakes against the real API), and 2Checkout sees the gateway's
//! whole burst. The pool keeps at most as many idle connections as the cap
//! (`pool_max_idle_per_host`), so connections never outnumber the slots.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::admin::time_budget;
use crate::domain::{CallContext, Error};

/// The slots of one API; cheap to clone (clones share the slots).
#[derive(Clone, Debug)]
pub(crate) struct UpstreamLimiter {
    slots: Arc<Semaphore>,
    api: &'static str,
    limit: u32,
}

impl UpstreamLimiter {
    /// `limit` slots (at least one) for the API named `api` in errors.
    pub(crate) fn new(api: &'static str, limit: u32) -> Self {
        let limit = limit.max(1);
        let permits = usize::try_from(limit).unwrap_or(Semaphore::MAX_PERMITS).min(Semaphore::MAX_PERMITS);
        Self { slots: Arc::new(Semaphore::new(permits)), api, limit }
    }

    /// The most idle connections worth keeping: one per slot.
    pub(crate) fn pool_size(&self) -> usize {
        usize::try_from(self.limit).unwrap_or(usize::MAX)
    }

    /// A slot, at once or within the caller's time; UPSTREAM_BUSY when none came free,
    /// UPSTREAM_TIMEOUT when the caller had no time left to wait at all.
    pub(crate) async fn acquire(&self, ctx: CallContext, request_timeout: Duration) -> Result<Slot, Error> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(Slot(Some(permit)));
        }
        let wait = time_budget(ctx, request_timeout)?;
        match tokio::time::timeout(wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Slot(Some(permit))),
            // The semaphore is never closed; a closed one would mean no slot ever.
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(api = self.api, limit = self.limit, "no upstream request slot came free in time");
                Err(Error::UpstreamBusy { api: self.api.to_owned(), limit: self.limit })
            }
        }
    }
}

/// A request's slot. Dropped, it comes free a moment later: the connection
/// of the request that just ended goes back to the pool in a task of hyper's
/// own, woken as the answer's last bytes arrive, and a request that found no
/// idle connection would start a new one (hyper's pool keeps both). Letting
/// that task run first keeps the connections near the number of slots.
#[derive(Debug)]
pub(crate) struct Slot(Option<OwnedSemaphorePermit>);

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(permit) = self.0.take() else { return };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for _ in 0..RELEASE_YIELDS {
                    tokio::task::yield_now().await;
                }
                drop(permit);
            });
        }
    }
}

/// How many times a freed slot lets other tasks run before it comes free.
const RELEASE_YIELDS: usize = 3;

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn within(time: Duration) -> CallContext {
        CallContext { deadline: Instant::now().checked_add(time), fresh: false }
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_beyond_the_cap_waits_for_a_slot_within_its_deadline() {
        let limiter = UpstreamLimiter::new("Admin API", 1);
        let held = limiter.acquire(within(Duration::from_secs(5)), Duration::from_secs(15)).await.unwrap();
        let waiting = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire(within(Duration::from_secs(5)), Duration::from_secs(15)).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiting.is_finished(), "it waits while the slot is held");
        drop(held);
        assert_eq!(waiting.await.unwrap(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_whose_deadline_would_pass_gets_upstream_busy_before_it() {
        let limiter = UpstreamLimiter::new("Admin API", 1);
        let _held = limiter.acquire(within(Duration::from_secs(5)), Duration::from_secs(15)).await.unwrap();
        let started = tokio::time::Instant::now();
        let error = limiter.acquire(within(Duration::from_secs(2)), Duration::from_secs(15)).await.unwrap_err();
        assert_eq!(error, Error::UpstreamBusy { api: "Admin API".into(), limit: 1 });
        // 2 s less the margin (a tenth, at least 50 ms): the caller still has time to hear it.
        assert_eq!(started.elapsed(), Duration::from_millis(1800));
    }
}
