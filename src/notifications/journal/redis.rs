//! The shared journal: one Redis stream every replica appends to and reads,
//! so a notification received by any replica is seen by a watch on every
//! replica, and survives a gateway restart (and a Redis restart, with the
//! persistence Redis is run with).
//!
//! # Layout (format version 1)
//! - `tco:ins:{journal}`: the stream. Each entry is `v` `1` (the format
//!   version) followed by the verified form's fields as stream field/value
//!   pairs, in posted order. A stream entry keeps its pairs in order and
//!   allows a field name twice, so the form is stored verbatim with no
//!   encoding of our own, and `XRANGE` in `redis-cli` shows it readably to
//!   whoever audits it. The leading version pair also makes an empty form a
//!   valid entry (`XADD` needs one pair). The entry id is the cursor.
//! - `tco:ins:{journal}:seen:<key>`: the first entry's id for a dedupe key,
//!   expiring after the retention.
//! - `tco:ins:{journal}:trimmed`: the id of the newest entry trimmed so far
//!   (absent: none yet). Redis keeps no such thing itself (`XINFO STREAM`'s
//!   `max-deleted-entry-id` counts `XDEL` only, not trimming), and it is what
//!   tells a reader whether entries after its cursor are gone: trimming
//!   removes oldest first, so they are exactly when this is after the cursor.
//!
//! The keys share the `{journal}` hash tag so one script may touch them all
//! on a cluster too.
//!
//! # Appending
//! One Lua script, atomic: if the key was seen, the first id (a duplicate);
//! otherwise it records the newest entry about to be trimmed, `XADD`s with an
//! exact `MINID` of (Redis's clock - retention) and remembers the key. The
//! trim is exact, not `~`: notifications come a few per sale, so trimming the
//! one or two entries that aged out costs nothing, and the journal then keeps
//! exactly the retention, like its dedupe keys and the in-memory journal.
//! Entries are trimmed only when something is appended: a quiet journal may
//! show entries a little older than the retention.
//!
//! # Following
//! [`RedisJournal::follow`] starts (once per journal) a task that blocks in
//! `XREAD` on a connection of its own: a blocking read on the multiplexed
//! connection would stall every command sharing it. Each time entries arrive,
//! from this replica or any other, the task publishes the newest id; if Redis
//! goes away it reconnects with backoff and resumes from the newest id it
//! knows. The task ends when the journal is dropped.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use secrecy::{ExposeSecret as _, SecretString};
use tokio::{sync::watch, task::AbortHandle};

use crate::{
    domain::{Appended, Cursor, JournalEntry, JournalError, JournalRead, NotificationJournal, RawForm},
    shared_state::{COMMAND_TIMEOUT, SharedConnection},
};

/// The version of the layout above; an entry of another version is never
/// guessed at (the read fails, naming it).
pub const FORMAT_VERSION: &str = "1";

const STREAM: &str = "tco:ins:{journal}";
const TRIMMED: &str = "tco:ins:{journal}:trimmed";

/// Most pairs one `XADD` from a script can take: Lua's `unpack` gives up near
/// 8000 values. A form this large is refused (the receiver's `ins.max_fields`
/// is far below).
const MAX_FIELDS: usize = super::MAX_FORM_FIELDS as usize;

/// Appends unless the key was seen. KEYS: stream, seen key, trimmed.
/// ARGV: retention ms, then the entry's field/value pairs.
const APPEND: &str = r"
local seen = redis.call('GET', KEYS[2])
if seen then return {'duplicate', seen} end
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local min_ms = now_ms - tonumber(ARGV[1])
if min_ms < 0 then min_ms = 0 end
local min_id = string.format('%.0f-0', min_ms)
if min_ms > 0 then
  -- Only when the oldest entry is about to go: a reverse range that starts below every
  -- entry walks the whole stream (0.5 ms at 10,000 entries), one with an entry below is cheap.
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #oldest > 0 and tonumber(string.match(oldest[1][1], '^(%d+)-')) < min_ms then
    local gone = redis.call('XREVRANGE', KEYS[1], '(' .. min_id, '-', 'COUNT', 1)
    if #gone > 0 then redis.call('SET', KEYS[3], gone[1][1]) end
  end
end
local id = redis.call('XADD', KEYS[1], 'MINID', min_id, '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {'new', id}
";

/// Reads a batch and the newest trimmed id in one snapshot (so a trim between
/// the two cannot report a gap for entries this read returned).
/// KEYS: stream, trimmed. ARGV: first id to return (inclusive), count.
const READ: &str = r"
local trimmed = redis.call('GET', KEYS[2]) or ''
if tonumber(ARGV[2]) == 0 then return {trimmed, {}} end
return {trimmed, redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])}
";

/// How long the follower's `XREAD` blocks: also how soon it notices a Redis
/// that went silent without closing the connection.
const TAIL_BLOCK: Duration = Duration::from_secs(5);

/// The follower's reconnection backoff, first and at most.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A `redis::Client` for the follower's own connection, from `redis.url`
/// (the error shows only its kind: the URL may carry a password).
pub fn follower_client(url: &SecretString) -> Result<redis::Client, JournalError> {
    redis::Client::open(url.expose_secret())
        .map_err(|error| JournalError::Unavailable(format!("open redis.url: {:?}", error.kind())))
}

/// The journal in the Redis every replica shares (see the module doc).
pub struct RedisJournal {
    connection: SharedConnection,
    client: redis::Client,
    retention_ms: u64,
    append: redis::Script,
    read: redis::Script,
    newest: Arc<watch::Sender<Cursor>>,
    follower: Mutex<Option<AbortHandle>>,
}

impl RedisJournal {
    /// A journal on `connection` (the shared multiplexed one), keeping entries
    /// and dedupe keys for `retention`; `client` opens the follower's own
    /// connection (see [`follower_client`]).
    pub fn new(connection: SharedConnection, client: redis::Client, retention: Duration) -> Self {
        Self {
            connection,
            client,
            retention_ms: u64::try_from(retention.as_millis()).unwrap_or(u64::MAX).clamp(1, MAX_RETENTION_MS),
            append: redis::Script::new(APPEND),
            read: redis::Script::new(READ),
            newest: Arc::new(watch::channel(Cursor::ORIGIN).0),
            follower: Mutex::new(None),
        }
    }

    /// Runs one command (or script) on the shared connection, bounded by the timeout.
    async fn bounded<T>(
        &self,
        operation: &str,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, JournalError> {
        match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(unavailable(operation, &error)),
            Err(_) => Err(JournalError::Unavailable(format!("{operation}: no answer within {COMMAND_TIMEOUT:?}"))),
        }
    }
}

/// Ten years: a longer retention is not meant, and Lua's numbers stay exact.
const MAX_RETENTION_MS: u64 = 10 * 366 * 24 * 3600 * 1000;

fn unavailable(operation: &str, error: &redis::RedisError) -> JournalError {
    // The error's text names the failure (connection refused, a script error), never the URL.
    JournalError::Unavailable(format!("{operation}: {error}"))
}

fn cursor(operation: &str, id: &str) -> Result<Cursor, JournalError> {
    id.parse().map_err(|_| JournalError::Unavailable(format!("{operation}: Redis answered the entry id {id:?}")))
}

/// The form stored in an entry's pairs, after its version pair.
fn form(id: &str, pairs: Vec<String>) -> Result<RawForm, JournalError> {
    let bad = |what: &str| JournalError::Unavailable(format!("read: entry {id} {what}"));
    if !pairs.len().is_multiple_of(2) {
        return Err(bad("has an odd number of values"));
    }
    let mut values = pairs.into_iter();
    match (values.next(), values.next()) {
        (Some(v), Some(version)) if v == "v" && version == FORMAT_VERSION => {}
        (Some(v), Some(version)) if v == "v" => {
            return Err(bad(&format!("has format {version}, this gateway reads {FORMAT_VERSION}")));
        }
        _ => return Err(bad("has no format version")),
    }
    let mut fields = Vec::with_capacity(values.len() / 2);
    while let (Some(name), Some(value)) = (values.next(), values.next()) {
        fields.push((name, value));
    }
    Ok(RawForm::new(fields))
}

/// Publishes `cursor` if it is newer than what followers were last told.
fn publish(newest: &watch::Sender<Cursor>, cursor: Cursor) {
    newest.send_if_modified(|known| {
        let newer = cursor > *known;
        if newer {
            *known = cursor;
        }
        newer
    });
}

impl NotificationJournal for RedisJournal {
    async fn append(&self, key: &str, form: RawForm) -> Result<Appended, JournalError> {
        if form.len() > MAX_FIELDS {
            return Err(JournalError::Unavailable(format!(
                "append: a form of {} fields is more than the journal stores ({MAX_FIELDS})",
                form.len()
            )));
        }
        let seen = format!("{STREAM}:seen:{key}");
        let mut invocation = self.append.key(STREAM);
        invocation.key(&seen).key(TRIMMED).arg(self.retention_ms).arg("v").arg(FORMAT_VERSION);
        for (name, value) in form.fields() {
            invocation.arg(name).arg(value);
        }
        let mut connection = self.connection.clone();
        let (how, id): (String, String) = self.bounded("append", invocation.invoke_async(&mut connection)).await?;
        let stored = cursor("append", &id)?;
        match how.as_str() {
            "new" => {
                publish(&self.newest, stored);
                Ok(Appended::New(stored))
            }
            "duplicate" => Ok(Appended::Duplicate(stored)),
            other => Err(JournalError::Unavailable(format!("append: unexpected answer {other:?}"))),
        }
    }

    async fn read_after(&self, after: Cursor, limit: usize) -> Result<JournalRead, JournalError> {
        // An exclusive start by the successor: no entry can follow the last possible cursor.
        let Some(first) = after.successor() else { return Ok(JournalRead::default()) };
        let mut invocation = self.read.key(STREAM);
        invocation.key(TRIMMED).arg(first.to_string()).arg(limit);
        let mut connection = self.connection.clone();
        let (trimmed, entries): (String, Vec<(String, Vec<String>)>) =
            self.bounded("read", invocation.invoke_async(&mut connection)).await?;
        let gap = !trimmed.is_empty() && cursor("read", &trimmed)? > after;
        let entries = entries
            .into_iter()
            .map(|(id, pairs)| Ok(JournalEntry { cursor: cursor("read", &id)?, form: Arc::new(form(&id, pairs)?) }))
            .collect::<Result<_, JournalError>>()?;
        Ok(JournalRead { entries, gap })
    }

    async fn head(&self) -> Result<Cursor, JournalError> {
        let mut connection = self.connection.clone();
        let newest = newest_id(&mut connection, "head").await?;
        Ok(newest.unwrap_or(Cursor::ORIGIN))
    }

    fn follow(&self) -> watch::Receiver<Cursor> {
        let receiver = self.newest.subscribe();
        let mut follower = self.follower.lock().unwrap_or_else(PoisonError::into_inner);
        if follower.is_none() {
            // Started on the first follow, from a task's context (follow is called by a watch);
            // outside a runtime there is nothing to run it on, and followers see local appends only.
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let task = runtime.spawn(tail(self.client.clone(), Arc::clone(&self.newest)));
                    *follower = Some(task.abort_handle());
                }
                Err(_) => {
                    tracing::warn!("the journal follower needs a Tokio runtime: other replicas' appends go unseen")
                }
            }
        }
        receiver
    }
}

impl Drop for RedisJournal {
    fn drop(&mut self) {
        if let Some(follower) = self.follower.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            follower.abort();
        }
    }
}

/// The newest entry's id (`None`: the stream is empty or absent), bounded by the timeout.
async fn newest_id(
    connection: &mut impl redis::aio::ConnectionLike,
    operation: &str,
) -> Result<Option<Cursor>, JournalError> {
    let command = redis::cmd("XREVRANGE").arg(STREAM).arg("+").arg("-").arg("COUNT").arg(1).to_owned();
    let newest: Vec<(String, redis::Value)> =
        match tokio::time::timeout(COMMAND_TIMEOUT, command.query_async(connection)).await {
            Ok(Ok(newest)) => newest,
            Ok(Err(error)) => return Err(unavailable(operation, &error)),
            Err(_) => {
                return Err(JournalError::Unavailable(format!("{operation}: no answer within {COMMAND_TIMEOUT:?}")));
            }
        };
    newest.first().map(|(id, _)| cursor(operation, id)).transpose()
}

/// Follows the stream for as long as the journal lives, reconnecting with backoff.
async fn tail(client: redis::Client, newest: Arc<watch::Sender<Cursor>>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let error = follow_session(&client, &newest, &mut backoff).await;
        // Once per outage at warn (a session that got going reset the backoff), not every retry.
        if backoff == FIRST_BACKOFF {
            tracing::warn!(error = %error, "the notification journal follower lost Redis: reconnecting with backoff");
        } else {
            tracing::debug!(error = %error, retry_in = ?backoff, "the notification journal follower still cannot reach Redis");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's worth of following; returns why it ended.
async fn follow_session(
    client: &redis::Client,
    newest: &watch::Sender<Cursor>,
    backoff: &mut Duration,
) -> JournalError {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(TAIL_BLOCK + COMMAND_TIMEOUT));
    let connecting = client.get_multiplexed_async_connection_with_config(&config);
    let mut connection = match tokio::time::timeout(COMMAND_TIMEOUT, connecting).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => return unavailable("follow: connect", &error),
        Err(_) => return JournalError::Unavailable(format!("follow: connect: no answer within {COMMAND_TIMEOUT:?}")),
    };
    // Whatever was appended while this replica was not following (or before it started).
    let mut last = match newest_id(&mut connection, "follow").await {
        Ok(id) => id.unwrap_or(Cursor::ORIGIN),
        Err(error) => return error,
    };
    publish(newest, last);
    if *backoff != FIRST_BACKOFF {
        tracing::info!("the notification journal follower reached Redis again");
    }
    *backoff = FIRST_BACKOFF;
    let block_ms = u64::try_from(TAIL_BLOCK.as_millis()).unwrap_or(u64::MAX);
    loop {
        let read = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(STREAM)
            .arg(last.to_string())
            .to_owned();
        let arrived = match tokio::time::timeout(TAIL_BLOCK + COMMAND_TIMEOUT, read.query_async(&mut connection)).await
        {
            Ok(Ok(redis::Value::Nil)) => false,
            Ok(Ok(_)) => true,
            Ok(Err(error)) => return unavailable("follow: read", &error),
            Err(_) => return JournalError::Unavailable(format!("follow: read: no answer within {TAIL_BLOCK:?}")),
        };
        if arrived {
            // Jump to the newest entry rather than walking a backlog one by one: followers
            // only need the newest cursor and read the entries themselves.
            match newest_id(&mut connection, "follow").await {
                Ok(Some(id)) => {
                    last = last.max(id);
                    publish(newest, last);
                }
                Ok(None) => {}
                Err(error) => return error,
            }
        }
    }
}
