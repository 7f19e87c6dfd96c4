//! Instant notifications (2Checkout's INS) as the gateway keeps them: the
//! verified form exactly as posted, in a journal ordered by [`Cursor`], and
//! the two ports around it: [`NotificationJournal`] (where accepted
//! notifications are stored durably and read back in order) and
//! [`SaleEviction`] (how an accepted notification evicts its sale from every
//! replica's cache).
//!
//! The journal stores the raw form, not a typed value: the form is what
//! 2Checkout signed and what an auditor wants to see, and the typed view
//! (`grpc::notifications`) is derived from it on every read, so a better
//! reading of a field never needs a migration of stored data.

use std::{fmt, future::Future, str::FromStr, sync::Arc};

use super::{InvalidValue, InvoiceId, SaleId};

/// Where an entry sits in the journal, shaped like a Redis stream id:
/// `<milliseconds since the epoch when it was stored>-<sequence within that
/// millisecond>`. Cursors order entries totally; a caller sees it as an
/// opaque string and hands it back to resume right after that entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    millis: u64,
    seq: u64,
}

impl Cursor {
    /// Before every entry any journal can hold (a Redis stream never hands out `0-0`).
    pub const ORIGIN: Cursor = Cursor { millis: 0, seq: 0 };

    /// The cursor of the entry stored `seq`-th in millisecond `millis`.
    pub fn new(millis: u64, seq: u64) -> Self {
        Self { millis, seq }
    }

    /// When the entry was stored, in milliseconds since the Unix epoch.
    pub fn millis(self) -> u64 {
        self.millis
    }

    /// Its place among the entries stored in the same millisecond.
    pub fn seq(self) -> u64 {
        self.seq
    }

    /// Just before every entry stored at or after `millis`: reading after it
    /// answers "everything received since".
    pub fn before_millis(millis: u64) -> Self {
        match millis.checked_sub(1) {
            Some(previous) => Self { millis: previous, seq: u64::MAX },
            None => Self::ORIGIN,
        }
    }

    /// The cursor right after this one (for exclusive range reads).
    pub fn successor(self) -> Option<Self> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(Self { millis: self.millis, seq }),
            None => self.millis.checked_add(1).map(|millis| Self { millis, seq: 0 }),
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.millis, self.seq)
    }
}

impl FromStr for Cursor {
    type Err = InvalidValue;

    /// `<digits>-<digits>`, each fitting 64 bits; nothing else.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidValue("must be a cursor this gateway returned, like 1733030000000-0".into());
        let (millis, seq) = text.split_once('-').ok_or_else(invalid)?;
        let number = |part: &str| {
            if part.is_empty() || part.len() > 20 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u64>().map_err(|_| invalid())
        };
        Ok(Self { millis: number(millis)?, seq: number(seq)? })
    }
}

/// A notification's form fields exactly as 2Checkout posted them, in posted
/// order, after its hash was verified. Values are kept verbatim (never
/// trimmed or re-encoded): this is the audit copy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawForm(Vec<(String, String)>);

impl RawForm {
    /// The form as posted.
    pub fn new(fields: Vec<(String, String)>) -> Self {
        Self(fields)
    }

    /// Every field, in posted order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value posted under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// How many fields were posted.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was posted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One accepted notification in the journal. When it was received is its
/// cursor's milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub cursor: Cursor,
    pub form: Arc<RawForm>,
}

/// What [`NotificationJournal::append`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, at this cursor.
    New(Cursor),
    /// A notification with the same key is already kept (2Checkout resent
    /// it): nothing was stored; the first one's cursor.
    Duplicate(Cursor),
}

impl Appended {
    /// Where the notification is, new or not.
    pub fn cursor(self) -> Cursor {
        match self {
            Appended::New(cursor) | Appended::Duplicate(cursor) => cursor,
        }
    }
}

/// A batch read from the journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalRead {
    /// Entries strictly after the cursor asked for, oldest first.
    pub entries: Vec<JournalEntry>,
    /// Entries after that cursor were trimmed (older than the retention)
    /// before they could be read: the reader has missed some.
    pub gap: bool,
}

/// Why the journal could not answer.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The store cannot be reached or refused the command (the text names
    /// what failed, never a URL or a secret).
    #[error("the notification journal is unavailable: {0}")]
    Unavailable(String),
}

/// Where accepted notifications are kept, in one total order, for every
/// reader of every replica that shares it.
pub trait NotificationJournal: Send + Sync + 'static {
    /// Stores `form` under `key` (the dedupe key: vendor and message id),
    /// unless an entry with the same key is still kept. When it returns `Ok`
    /// the entry is as durable as the backend makes anything (Redis: written
    /// to the shared server; memory: until the process ends), so the
    /// receiver may answer 2Checkout 2xx.
    fn append(&self, key: &str, form: RawForm) -> impl Future<Output = Result<Appended, JournalError>> + Send;

    /// Up to `limit` entries strictly after `after`, oldest first.
    fn read_after(&self, after: Cursor, limit: usize)
    -> impl Future<Output = Result<JournalRead, JournalError>> + Send;

    /// The newest entry's cursor ([`Cursor::ORIGIN`] when empty): where a
    /// watch "from now" starts.
    fn head(&self) -> impl Future<Output = Result<Cursor, JournalError>> + Send;

    /// Changes whenever this process learns of a newer entry (stored by it
    /// or, for a shared journal, by any replica); the value is the newest
    /// cursor known. Readers mark it seen, read after their cursor, and wait
    /// for the next change only when that read came back empty.
    fn follow(&self) -> tokio::sync::watch::Receiver<Cursor>;
}

/// Evicts a sale from the cache of every replica (what an accepted
/// notification does, so the next GetSale reflects the event).
pub trait SaleEviction: Send + Sync + 'static {
    /// Evicts every cached form of the sale and of the invoice.
    fn evict_sale(&self, sale_id: &SaleId, invoice_id: &InvoiceId) -> impl Future<Output = ()> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_print_and_parse_like_redis_stream_ids() {
        let cursor: Cursor = "1733030000000-7".parse().unwrap();
        assert_eq!(cursor, Cursor::new(1_733_030_000_000, 7));
        assert_eq!(cursor.to_string(), "1733030000000-7");
        for bad in ["", "-", "1-", "-1", "1", "a-1", "1-1-1", "+1-1", " 1-1", "99999999999999999999999-0"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cursors_order_by_time_then_sequence() {
        assert!(Cursor::new(1, 9) < Cursor::new(2, 0));
        assert!(Cursor::before_millis(2) < Cursor::new(2, 0));
        assert!(Cursor::before_millis(2) > Cursor::new(1, 9));
        assert_eq!(Cursor::before_millis(0), Cursor::ORIGIN);
        assert_eq!(Cursor::new(1, u64::MAX).successor(), Some(Cursor::new(2, 0)));
        assert_eq!(Cursor::new(u64::MAX, u64::MAX).successor(), None);
    }
}
