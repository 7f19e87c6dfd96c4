//! The per-process journal: accepted notifications in memory, bounded by a
//! number of entries and by age, for a single gateway without Redis. It is
//! lost when the process ends (2Checkout's resends cannot bring back what was
//! already answered 2xx), which is why a replicated deployment uses the Redis
//! journal.
//!
//! Entries are trimmed oldest first, so what is kept is always a suffix of
//! what was appended; the newest trimmed cursor is remembered, and a reader
//! whose cursor is before it has missed entries (`gap`). Dedupe keys live
//! exactly as long as their entry: a resend after its entry was trimmed is
//! stored again (the Redis journal forgets keys after the retention too).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::watch;

use crate::domain::{Appended, Cursor, JournalEntry, JournalError, JournalRead, NotificationJournal, RawForm};

/// The wall clock, in milliseconds since the Unix epoch; a clock set before
/// the epoch reads as the epoch (cursors still increase, see `next_cursor`).
fn wall_clock_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// One kept entry and the key it was stored under (to forget the key with it).
struct Kept {
    key: String,
    entry: JournalEntry,
}

struct State {
    /// Oldest first; cursors strictly increasing.
    kept: VecDeque<Kept>,
    /// The cursor of each kept entry, by dedupe key.
    keys: HashMap<String, Cursor>,
    /// The newest cursor ever handed out (kept or trimmed since).
    last: Cursor,
    /// The newest cursor trimmed so far ([`Cursor::ORIGIN`]: none yet).
    newest_trimmed: Cursor,
}

impl State {
    /// The cursor for an entry stored at `now`: the clock's millisecond, or,
    /// if the clock has not moved past the last cursor's (same millisecond, or
    /// set back), the last cursor's successor, so cursors only ever increase.
    fn next_cursor(&self, now: u64) -> Option<Cursor> {
        if now > self.last.millis() { Some(Cursor::new(now, 0)) } else { self.last.successor() }
    }

    /// Drops entries older than `retention` at `now`, then the oldest while
    /// more than `capacity` are kept.
    fn trim(&mut self, now: u64, retention_ms: u64, capacity: usize) {
        // Like the Redis journal's `XADD MINID`: entries stored before this millisecond go.
        let oldest_kept_millis = now.saturating_sub(retention_ms);
        while let Some(front) = self.kept.front() {
            let too_old = front.entry.cursor.millis() < oldest_kept_millis;
            if !too_old && self.kept.len() <= capacity {
                break;
            }
            if let Some(gone) = self.kept.pop_front() {
                self.keys.remove(&gone.key);
                self.newest_trimmed = gone.entry.cursor;
            }
        }
    }
}

/// The bounded in-memory journal (see the module doc).
pub struct MemoryJournal {
    state: Mutex<State>,
    capacity: usize,
    retention_ms: u64,
    clock: fn() -> u64,
    newest: watch::Sender<Cursor>,
}

impl MemoryJournal {
    /// A journal keeping at most `capacity` entries (at least one), none
    /// older than `retention`, with cursors from the wall clock.
    pub fn new(capacity: usize, retention: Duration) -> Self {
        Self::with_clock(capacity, retention, wall_clock_millis)
    }

    /// The same, reading the time in milliseconds since the epoch from `clock`.
    pub fn with_clock(capacity: usize, retention: Duration, clock: fn() -> u64) -> Self {
        Self {
            state: Mutex::new(State {
                kept: VecDeque::new(),
                keys: HashMap::new(),
                last: Cursor::ORIGIN,
                newest_trimmed: Cursor::ORIGIN,
            }),
            capacity: capacity.max(1),
            retention_ms: u64::try_from(retention.as_millis()).unwrap_or(u64::MAX),
            clock,
            newest: watch::channel(Cursor::ORIGIN).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the state is still consistent
        // between statements that matter (each trim step removes an entry and its key together).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append_at(&self, now: u64, key: &str, form: RawForm) -> Result<Appended, JournalError> {
        let cursor = {
            let mut state = self.lock();
            state.trim(now, self.retention_ms, self.capacity);
            if let Some(first) = state.keys.get(key) {
                return Ok(Appended::Duplicate(*first));
            }
            let cursor = state
                .next_cursor(now)
                .ok_or_else(|| JournalError::Unavailable("append: the journal's cursors are exhausted".into()))?;
            state.kept.push_back(Kept { key: key.to_owned(), entry: JournalEntry { cursor, form: Arc::new(form) } });
            state.keys.insert(key.to_owned(), cursor);
            state.last = cursor;
            state.trim(now, self.retention_ms, self.capacity);
            cursor
        };
        // Outside the lock; cursors only increase, but appends race to here, so keep the newest.
        self.newest.send_if_modified(|newest| {
            let newer = cursor > *newest;
            if newer {
                *newest = cursor;
            }
            newer
        });
        Ok(Appended::New(cursor))
    }

    fn read_after_at(&self, now: u64, after: Cursor, limit: usize) -> JournalRead {
        let mut state = self.lock();
        // Trimming by age on reads too: a quiet journal still forgets on time.
        state.trim(now, self.retention_ms, self.capacity);
        let start = state.kept.partition_point(|kept| kept.entry.cursor <= after);
        let entries = state.kept.range(start..).take(limit).map(|kept| kept.entry.clone()).collect();
        JournalRead { entries, gap: state.newest_trimmed > after }
    }
}

impl NotificationJournal for MemoryJournal {
    async fn append(&self, key: &str, form: RawForm) -> Result<Appended, JournalError> {
        self.append_at((self.clock)(), key, form)
    }

    async fn read_after(&self, after: Cursor, limit: usize) -> Result<JournalRead, JournalError> {
        Ok(self.read_after_at((self.clock)(), after, limit))
    }

    /// The newest cursor handed out, even if its entry has been trimmed since
    /// (a watch "from now" must not replay what it would report as a gap).
    async fn head(&self) -> Result<Cursor, JournalError> {
        Ok(self.lock().last)
    }

    fn follow(&self) -> watch::Receiver<Cursor> {
        self.newest.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);
    const T0: u64 = 1_733_030_000_000;

    fn form(message_id: &str) -> RawForm {
        RawForm::new(vec![
            ("message_id".into(), message_id.into()),
            ("message_type".into(), "FRAUD_STATUS_CHANGED".into()),
        ])
    }

    fn journal(capacity: usize, retention: Duration) -> MemoryJournal {
        // A clock that must not be read: every test passes its own `now`.
        MemoryJournal::with_clock(capacity, retention, || panic!("the tests pass the time explicitly"))
    }

    fn ids(read: &JournalRead) -> Vec<&str> {
        read.entries.iter().map(|entry| entry.form.get("message_id").unwrap_or_default()).collect()
    }

    #[test]
    fn entries_read_back_in_order_with_their_forms_verbatim() {
        let journal = journal(10, DAY);
        let posted = RawForm::new(vec![
            ("b".into(), " spaced value ".into()),
            ("a".into(), "x&y=z".into()),
            ("b".into(), "again".into()),
        ]);
        journal.append_at(T0, "v:1", posted.clone()).unwrap();
        journal.append_at(T0 + 5, "v:2", form("2")).unwrap();
        let read = journal.read_after_at(T0 + 5, Cursor::ORIGIN, 10);
        assert_eq!(read.entries.len(), 2);
        assert_eq!(*read.entries[0].form, posted);
        assert_eq!(ids(&read)[1], "2");
        assert!(!read.gap);
    }

    #[test]
    fn a_reader_gets_only_what_is_after_its_cursor_up_to_the_limit() {
        let journal = journal(10, DAY);
        let cursors: Vec<Cursor> = (0..5)
            .map(|i| journal.append_at(T0 + i, &format!("v:{i}"), form(&i.to_string())).unwrap().cursor())
            .collect();
        let read = journal.read_after_at(T0 + 5, cursors[1], 2);
        assert_eq!(ids(&read), ["2", "3"]);
        assert!(journal.read_after_at(T0 + 5, cursors[4], 10).entries.is_empty());
        assert!(journal.read_after_at(T0 + 5, cursors[0], 0).entries.is_empty());
    }

    #[test]
    fn a_resent_notification_is_a_duplicate_with_the_first_cursor_and_stores_nothing() {
        let journal = journal(10, DAY);
        let first = journal.append_at(T0, "v:1", form("1")).unwrap();
        let again = journal.append_at(T0 + 1, "v:1", form("1 resent")).unwrap();
        assert!(matches!(first, Appended::New(_)));
        assert_eq!(again, Appended::Duplicate(first.cursor()));
        let read = journal.read_after_at(T0 + 1, Cursor::ORIGIN, 10);
        assert_eq!(ids(&read), ["1"]);
    }

    #[test]
    fn cursors_strictly_increase_within_a_millisecond_and_when_the_clock_goes_back() {
        let journal = journal(10, DAY);
        let a = journal.append_at(T0, "v:1", form("1")).unwrap().cursor();
        let b = journal.append_at(T0, "v:2", form("2")).unwrap().cursor();
        let c = journal.append_at(T0 - 1000, "v:3", form("3")).unwrap().cursor();
        let d = journal.append_at(T0 + 1, "v:4", form("4")).unwrap().cursor();
        assert_eq!([a, b, c, d], [Cursor::new(T0, 0), Cursor::new(T0, 1), Cursor::new(T0, 2), Cursor::new(T0 + 1, 0)]);
    }

    #[test]
    fn the_first_entry_at_the_epoch_still_comes_after_the_origin() {
        let journal = journal(10, DAY);
        let first = journal.append_at(0, "v:1", form("1")).unwrap().cursor();
        assert!(first > Cursor::ORIGIN);
        assert_eq!(ids(&journal.read_after_at(0, Cursor::ORIGIN, 10)), ["1"]);
    }

    #[test]
    fn beyond_capacity_the_oldest_go_and_a_reader_before_them_sees_a_gap() {
        let journal = journal(3, DAY);
        let cursors: Vec<Cursor> = (0..5)
            .map(|i| journal.append_at(T0 + i, &format!("v:{i}"), form(&i.to_string())).unwrap().cursor())
            .collect();
        let from_origin = journal.read_after_at(T0 + 5, Cursor::ORIGIN, 10);
        assert_eq!(ids(&from_origin), ["2", "3", "4"]);
        assert!(from_origin.gap);
        let before_trimmed = journal.read_after_at(T0 + 5, cursors[0], 10);
        assert!(before_trimmed.gap, "entry 1 was trimmed after this cursor");
        let at_last_trimmed = journal.read_after_at(T0 + 5, cursors[1], 10);
        assert_eq!(ids(&at_last_trimmed), ["2", "3", "4"]);
        assert!(!at_last_trimmed.gap, "nothing after this cursor was trimmed");
    }

    #[test]
    fn entries_older_than_the_retention_go_with_their_keys() {
        let journal = journal(10, Duration::from_secs(60));
        let old = journal.append_at(T0, "v:1", form("1")).unwrap().cursor();
        let kept = journal.append_at(T0 + 30_000, "v:2", form("2")).unwrap().cursor();
        // Exactly at the retention the first entry is still kept; a millisecond later it is not.
        assert!(!journal.read_after_at(T0 + 60_000, Cursor::ORIGIN, 10).gap);
        let read = journal.read_after_at(T0 + 60_001, Cursor::ORIGIN, 10);
        assert_eq!(ids(&read), ["2"]);
        assert!(read.gap);
        assert!(!journal.read_after_at(T0 + 60_001, old, 10).gap);
        // Its key is forgotten too: a resend now is a new entry, after every other.
        let resent = journal.append_at(T0 + 60_002, "v:1", form("1")).unwrap();
        assert!(matches!(resent, Appended::New(cursor) if cursor > kept));
    }

    #[tokio::test]
    async fn followers_learn_of_every_new_entry_and_not_of_duplicates() {
        let journal = journal(10, DAY);
        let mut follower = journal.follow();
        assert_eq!(*follower.borrow_and_update(), Cursor::ORIGIN);
        let first = journal.append_at(T0, "v:1", form("1")).unwrap().cursor();
        assert!(follower.has_changed().unwrap());
        assert_eq!(*follower.borrow_and_update(), first);
        journal.append_at(T0 + 1, "v:1", form("1")).unwrap();
        assert!(!follower.has_changed().unwrap(), "a duplicate stores nothing new");
        assert_eq!(journal.head().await.unwrap(), first);
    }

    #[tokio::test]
    async fn the_wall_clock_journal_answers_through_the_trait() {
        let journal = MemoryJournal::new(10, DAY);
        assert_eq!(journal.head().await.unwrap(), Cursor::ORIGIN);
        let stored = journal.append("v:1", form("1")).await.unwrap().cursor();
        assert_eq!(journal.head().await.unwrap(), stored);
        let read = journal.read_after(Cursor::ORIGIN, 10).await.unwrap();
        assert_eq!(read.entries.len(), 1);
        assert!(stored.millis() > T0, "cursors come from the wall clock");
    }
}
