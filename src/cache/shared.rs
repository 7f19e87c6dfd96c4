//! Invalidation stamps in the Redis all replicas share: what makes a write
//! through one replica evict its sale from every replica's cache.
//!
//! A write stamps its tags with a new epoch (one script: `INCR` the epoch,
//! `SET` each tag to it) before its caller gets the answer. A fetch reads the
//! epoch before it goes upstream; a hit reads its sale's tags (one `MGET`) and
//! counts only if none was stamped after that. Checked on every hit, a version
//! has nothing to lose, where a broadcast invalidation can be dropped and
//! leave a replica serving the old sale for a whole TTL.
//!
//! Every failure errs towards a miss: an unreadable epoch reads as 0 (the
//! fetch counts as older than every stamp), unreadable tags make the hit a
//! miss, and each call is bounded by a timeout so a stalled Redis costs a hit
//! that much, not a hang.

use std::time::Duration;

use super::Tag;
use crate::shared_state::SharedConnection;

/// The latest epoch handed out.
const EPOCH_KEY: &str = "tco:cache:epoch";

/// How long a hit or a fetch waits for Redis before it treats the stamps as
/// unknown (a miss): well above a healthy round trip, far below a deadline.
const READ_TIMEOUT: Duration = Duration::from_millis(250);

/// How long a write waits for its stamp to land before it answers anyway
/// (logged: other replicas may then serve the old sale until the TTL).
const STAMP_TIMEOUT: Duration = Duration::from_secs(1);

/// How many times a write tries to stamp within [`STAMP_TIMEOUT`].
const STAMP_ATTEMPTS: usize = 3;

/// Stamps tags atomically with one epoch later than every epoch read so far.
/// The epoch never falls below Redis's clock in microseconds, so stamps after
/// Redis lost its data (a restart without persistence, a failover to a replica
/// behind) are still later than the epochs entries recorded before.
const STAMP_SCRIPT: &str = r"
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000000 + tonumber(time[2])
local epoch = redis.call('INCR', KEYS[1])
if epoch < clock then
  epoch = clock
  redis.call('SET', KEYS[1], string.format('%d', epoch))
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], string.format('%d', epoch), 'EX', ARGV[1])
end
return epoch
";

/// The replicas' shared invalidation stamps.
pub struct SharedTags {
    connection: SharedConnection,
    stamp: redis::Script,
    /// How long a tag's stamp is kept, in seconds.
    retention_secs: u64,
}

impl SharedTags {
    /// Stamps kept for `cache_ttl` plus `longest_fetch` (and a minute of
    /// margin): an entry whose fetch began before a stamp is stored at most
    /// `longest_fetch` after it and lives `cache_ttl` more, and the stamp
    /// must outlive it. Older stamps expire, so Redis holds only the sales
    /// written lately.
    pub fn new(connection: SharedConnection, cache_ttl: Duration, longest_fetch: Duration) -> Self {
        let retention = cache_ttl + longest_fetch + Duration::from_secs(60);
        Self {
            connection,
            stamp: redis::Script::new(STAMP_SCRIPT),
            retention_secs: retention.as_secs() + u64::from(retention.subsec_nanos() > 0),
        }
    }

    /// The latest epoch, read before a fetch goes upstream; 0 when Redis
    /// cannot be read.
    pub(super) async fn epoch(&self) -> u64 {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("GET");
        let read = command.arg(EPOCH_KEY).query_async::<Option<u64>>(&mut connection);
        match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(epoch)) => epoch.unwrap_or(0),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "cannot read the shared cache epoch: this fetch counts as older than every write");
                0
            }
            Err(_) => {
                tracing::debug!(timeout = ?READ_TIMEOUT, "no shared cache epoch in time: this fetch counts as older than every write");
                0
            }
        }
    }

    /// Whether any of `tags` was stamped after `epoch`; `None` when Redis
    /// cannot tell in time.
    pub(super) async fn stamped_after(&self, tags: &[Tag], epoch: u64) -> Option<bool> {
        let mut connection = self.connection.clone();
        let keys: Vec<String> = tags.iter().map(key).collect();
        let mut command = redis::cmd("MGET");
        let read = command.arg(&keys).query_async::<Vec<Option<u64>>>(&mut connection);
        match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(stamps)) => Some(stamps.into_iter().flatten().any(|stamp| stamp > epoch)),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "cannot read the shared cache stamps: served from upstream");
                None
            }
            Err(_) => {
                tracing::debug!(timeout = ?READ_TIMEOUT, "no shared cache stamps in time: served from upstream");
                None
            }
        }
    }

    /// Stamps `tags` with a new epoch; a failure is logged, not returned: the
    /// write happened, and its caller must hear so.
    ///
    /// Tried again on an error: the first command on a connection Redis
    /// dropped (a restart, a failover) fails and makes the connection manager
    /// reconnect, and a write must not lose its stamp to that.
    pub(super) async fn stamp(&self, tags: &[Tag]) {
        let mut invocation = self.stamp.key(EPOCH_KEY);
        for tag in tags {
            invocation.key(key(tag));
        }
        invocation.arg(self.retention_secs);
        let attempts = async {
            let mut connection = self.connection.clone();
            let mut failure = None;
            for _ in 0..STAMP_ATTEMPTS {
                match invocation.invoke_async::<u64>(&mut connection).await {
                    Ok(_) => return Ok(()),
                    Err(e) => failure = Some(e),
                }
            }
            Err(failure)
        };
        match tokio::time::timeout(STAMP_TIMEOUT, attempts).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(
                error = %e.map(|e| e.to_string()).unwrap_or_default(),
                "cannot stamp a write in the shared cache: other replicas may serve the sale as it was until the cache TTL"
            ),
            Err(_) => tracing::warn!(
                timeout = ?STAMP_TIMEOUT,
                "no shared cache stamp in time: other replicas may serve the sale as it was until the cache TTL"
            ),
        }
    }
}

/// A tag's key in Redis.
fn key(tag: &Tag) -> String {
    match tag {
        Tag::Sale(id) => format!("tco:cache:sale:{id}"),
        Tag::Invoice(id) => format!("tco:cache:invoice:{id}"),
        Tag::Catalog(name) => format!("tco:cache:catalog:{name}"),
    }
}
