//! Where accepted notifications are kept: the [`NotificationJournal`] port's
//! two backends, chosen at start-up like the idempotency store.
//!
//! - [`MemoryJournal`]: per process, bounded by `ins.memory_capacity` entries
//!   and by `ins.retention`; lost on restart. For a single gateway without
//!   Redis.
//! - [`RedisJournal`]: one Redis stream every replica shares (`redis.url`),
//!   trimmed by `ins.retention`, deduplicated in the same atomic script that
//!   appends, and followed by every replica so a watch on any of them sees
//!   what any of them received.
//!
//! Both hand out cursors shaped like Redis stream ids (`<ms>-<seq>`), strictly
//! increasing, and report a gap when entries after a reader's cursor were
//! trimmed before it read them.

mod memory;
mod redis;

pub use self::memory::MemoryJournal;

/// The most fields one journal entry holds: Lua's `unpack` in the Redis
/// append script gives out near 8,000 values (two per field), so the shared
/// journal refuses more, and `ins.max_fields` may not allow more.
pub const MAX_FORM_FIELDS: u32 = 3_900;
pub use self::redis::{FORMAT_VERSION, RedisJournal, follower_client};

use tokio::sync::watch;

use crate::domain::{Appended, Cursor, JournalError, JournalRead, NotificationJournal, RawForm};

/// The journal the gateway was configured with.
// One per process, behind an `Arc`: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum JournalBackend {
    Memory(MemoryJournal),
    Redis(RedisJournal),
}

impl NotificationJournal for JournalBackend {
    async fn append(&self, key: &str, form: RawForm) -> Result<Appended, JournalError> {
        match self {
            Self::Memory(journal) => journal.append(key, form).await,
            Self::Redis(journal) => journal.append(key, form).await,
        }
    }

    async fn read_after(&self, after: Cursor, limit: usize) -> Result<JournalRead, JournalError> {
        match self {
            Self::Memory(journal) => journal.read_after(after, limit).await,
            Self::Redis(journal) => journal.read_after(after, limit).await,
        }
    }

    async fn head(&self) -> Result<Cursor, JournalError> {
        match self {
            Self::Memory(journal) => journal.head().await,
            Self::Redis(journal) => journal.head().await,
        }
    }

    fn follow(&self) -> watch::Receiver<Cursor> {
        match self {
            Self::Memory(journal) => journal.follow(),
            Self::Redis(journal) => journal.follow(),
        }
    }
}
