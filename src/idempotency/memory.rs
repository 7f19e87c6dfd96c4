//! The per-process idempotency store: records in memory for the retention
//! window, within a byte budget that refuses new records instead of evicting
//! live ones (forgetting a request id inside its retention would let a retry
//! run the write twice).

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;

use super::{Claim, Finish, IdempotencyStore, Owner};
use crate::domain::{Error, RequestId};

/// Settings of the in-memory store.
#[derive(Clone, Copy, Debug)]
pub struct MemoryStoreSettings {
    /// How long an outcome is remembered.
    pub retention: Duration,
    /// The memory budget for records, in approximate bytes.
    pub max_bytes: u64,
}

enum State<T, U> {
    Running,
    Settled(Result<T, Error>),
    Unknown(U),
}

struct Record<T, U> {
    fingerprint: String,
    state: Mutex<State<T, U>>,
    changed: watch::Sender<()>,
}

/// Per-replica records in a moka cache that expires them after the
/// retention window. moka is given no capacity, so it never evicts for room;
/// the byte budget is kept here, and a claim that would exceed it is refused
/// (RESOURCE_EXHAUSTED) before anything goes upstream.
pub struct MemoryIdempotencyStore<T, U> {
    records: moka::sync::Cache<RequestId, Arc<Record<T, U>>>,
    /// Approximate bytes of the records held; kept by the eviction listener.
    used_bytes: Arc<AtomicU64>,
    max_bytes: u64,
}

/// What one record costs beside its key and fingerprint: the state, an
/// outcome, the channel. What an unknown outcome keeps (rare) is not counted.
const RECORD_OVERHEAD_BYTES: u64 = 512;

fn weight(id: &RequestId, fingerprint: &str) -> u64 {
    u64::try_from(id.as_str().len() + fingerprint.len()).unwrap_or(u64::MAX).saturating_add(RECORD_OVERHEAD_BYTES)
}

impl<T: Send + Sync + 'static, U: Send + Sync + 'static> MemoryIdempotencyStore<T, U> {
    pub fn new(settings: MemoryStoreSettings) -> Self {
        let used_bytes = Arc::new(AtomicU64::new(0));
        let released = Arc::clone(&used_bytes);
        let records = moka::sync::Cache::builder()
            .time_to_live(settings.retention)
            // Expired or forgotten (NotExecuted): its room is free again.
            .eviction_listener(move |id: Arc<RequestId>, record: Arc<Record<T, U>>, _cause| {
                released.fetch_sub(weight(&id, &record.fingerprint), Ordering::Relaxed);
            })
            .build();
        Self { records, used_bytes, max_bytes: settings.max_bytes }
    }

    /// Whether a new record of `bytes` fits the budget, after dropping what has expired.
    fn has_room_for(&self, bytes: u64) -> bool {
        let fits = || self.used_bytes.load(Ordering::Relaxed).saturating_add(bytes) <= self.max_bytes;
        if fits() {
            return true;
        }
        self.records.run_pending_tasks();
        fits()
    }
}

fn lock<T, U>(record: &Record<T, U>) -> std::sync::MutexGuard<'_, State<T, U>> {
    // A panic while holding the lock cannot leave State half-written: take it as is.
    record.state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Clone + Send + Sync + 'static, U: Send + Sync + 'static> IdempotencyStore<T, U>
    for MemoryIdempotencyStore<T, U>
{
    async fn claim(&self, id: &RequestId, fingerprint: &str) -> Result<Claim<T, U>, Error> {
        let bytes = weight(id, fingerprint);
        // Checked before inserting, so concurrent new ids may overshoot the budget by a few
        // records: the budget is approximate, and no live record is ever dropped for it.
        if !self.records.contains_key(id) && !self.has_room_for(bytes) {
            tracing::warn!(max_bytes = self.max_bytes, "the idempotency store is full: refusing a new request id");
            return Err(Error::IdempotencyStoreFull { store: "memory".into() });
        }
        let entry = self.records.entry(id.clone()).or_insert_with(|| {
            self.used_bytes.fetch_add(bytes, Ordering::Relaxed);
            Arc::new(Record {
                fingerprint: fingerprint.to_owned(),
                state: Mutex::new(State::Running),
                changed: watch::channel(()).0,
            })
        });
        if entry.is_fresh() {
            return Ok(Claim::Run { unknown: None, owner: Owner::local() });
        }
        let record = entry.into_value();
        if record.fingerprint != fingerprint {
            return Ok(Claim::Conflict);
        }
        let mut state = lock(&record);
        Ok(match &*state {
            State::Running => Claim::Wait,
            State::Settled(outcome) => Claim::Settled(outcome.clone()),
            State::Unknown(_) => match std::mem::replace(&mut *state, State::Running) {
                State::Unknown(left) => Claim::Run { unknown: Some(left), owner: Owner::local() },
                _ => unreachable!("matched Unknown above"),
            },
        })
    }

    async fn checkpoint(&self, _id: &RequestId, _owner: &Owner, _left: &U) -> Result<(), Error> {
        // A process that dies takes its records with it: nothing to persist.
        Ok(())
    }

    async fn finish(&self, id: &RequestId, _owner: &Owner, finish: Finish<T, U>) {
        let Some(record) = self.records.get(id) else { return };
        match finish {
            Finish::NotExecuted => self.records.invalidate(id),
            Finish::Settled(outcome) => *lock(&record) = State::Settled(outcome),
            Finish::Unknown(left) => *lock(&record) = State::Unknown(left),
        }
        record.changed.send_replace(());
    }

    async fn changed(&self, id: &RequestId, _waited: u32) {
        let Some(record) = self.records.get(id) else { return };
        // Subscribe before looking, so a finish between the two is not missed.
        let mut changes = record.changed.subscribe();
        if !matches!(*lock(&record), State::Running) {
            return;
        }
        let _ = changes.changed().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Store = MemoryIdempotencyStore<String, ()>;

    fn id(n: u32) -> RequestId {
        format!("00000000-0000-4000-8000-{n:012}").parse().unwrap()
    }

    /// A store with room for exactly `records` records of [`id`] with fingerprint "f".
    fn store_for(records: u64) -> Store {
        let max_bytes = records * weight(&id(0), "f");
        MemoryIdempotencyStore::new(MemoryStoreSettings { retention: Duration::from_secs(3600), max_bytes })
    }

    async fn settle(store: &Store, n: u32) {
        let Ok(Claim::Run { owner, .. }) = store.claim(&id(n), "f").await else { panic!("claim {n}") };
        store.finish(&id(n), &owner, Finish::Settled(Ok(format!("outcome {n}")))).await;
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_ids_and_keeps_every_live_record() {
        let store = store_for(3);
        for n in 0..3 {
            settle(&store, n).await;
        }
        let refused = store.claim(&id(3), "f").await;
        assert!(matches!(refused, Err(Error::IdempotencyStoreFull { .. })), "{:?}", refused.err());
        store.records.run_pending_tasks();
        for n in 0..3 {
            match store.claim(&id(n), "f").await {
                Ok(Claim::Settled(Ok(outcome))) => assert_eq!(outcome, format!("outcome {n}")),
                other => panic!("record {n} was forgotten: {:?}", other.err()),
            }
        }
    }

    #[tokio::test]
    async fn a_forgotten_attempt_gives_its_room_back() {
        let store = store_for(1);
        let Ok(Claim::Run { owner, .. }) = store.claim(&id(0), "f").await else { panic!("claim") };
        assert!(matches!(store.claim(&id(1), "f").await, Err(Error::IdempotencyStoreFull { .. })));
        store.finish(&id(0), &owner, Finish::NotExecuted).await;
        assert!(matches!(store.claim(&id(1), "f").await, Ok(Claim::Run { .. })));
    }
}
