//! The shared idempotency store: one Redis hash per request id, which every
//! replica claims, checkpoints and settles with atomic Lua scripts.
//!
//! # Record layout (format version 1)
//! `tco:idem:{namespace}:{<request id>}` is a hash with
//! - `v`: the format version ([`FORMAT_VERSION`]); a record of another
//!   version is never guessed at: the call fails closed (UNAVAILABLE);
//! - `fp`: the request's fingerprint (a different request is REQUEST_ID_REUSED);
//! - `state`: `fresh` (claimed, nothing sent), `sent` (baseline persisted, the
//!   write may have been sent: an outcome unknown until reconciled), or
//!   `settled`;
//! - `owner`: who holds the claim; `left`: the JSON of what a takeover
//!   reconciles against (the baseline); `outcome`: the JSON of the settled
//!   `Result` (a receipt, or the vendor's error).
//!
//! The hash expires after the retention window. Beside it,
//! `tco:idem:{namespace}:{<request id>}:lease` holds the owner for the lease:
//! while it exists, duplicates wait; once it expired without an outcome, the
//! next claim takes over (a `sent` record as outcome unknown, a `fresh` one
//! afresh). Both keys share a hash tag, so they live on one cluster slot.
//!
//! # The lease
//! A lease covers one upstream request of the attempt plus the store calls
//! around it: `admin_api.request_timeout` + two store timeouts + 1 s. It is
//! taken at the claim (covering the baseline read) and renewed by the
//! checkpoint (covering the write), so it outlives any attempt whose process
//! is alive; a holder whose lease was taken over anyway is fenced off by
//! `owner` (its checkpoint and outcome are ignored).

use std::{marker::PhantomData, time::Duration};

use serde::{Serialize, de::DeserializeOwned};

use super::{Claim, Finish, IdempotencyStore, Owner};
use crate::{
    domain::{Error, RequestId},
    shared_state::{COMMAND_TIMEOUT, SharedConnection},
};

/// The version of the record layout above. Bump it whenever the layout or
/// the JSON of an outcome or baseline changes meaning.
pub const FORMAT_VERSION: &str = "1";

/// What the store is called in errors (ErrorInfo metadata `store`).
const STORE: &str = "redis";

/// Claims an id: creates the record, or reports what it holds, or takes an
/// abandoned claim over. KEYS: record, lease. ARGV: fingerprint, owner,
/// lease ms, retention ms, format version.
const CLAIM: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'v', ARGV[5], 'fp', ARGV[1], 'state', 'fresh', 'owner', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return {'run'}
end
local version = redis.call('HGET', KEYS[1], 'v')
if version ~= ARGV[5] then return {'version', tostring(version)} end
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return {'conflict'} end
if state == 'settled' then return {'settled', redis.call('HGET', KEYS[1], 'outcome')} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'wait'} end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if state == 'sent' then return {'unknown', redis.call('HGET', KEYS[1], 'left')} end
return {'run'}
";

/// Persists the baseline and renews the lease, if the caller still owns the
/// claim. KEYS: record, lease. ARGV: owner, left (JSON), lease ms.
const CHECKPOINT: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'sent', 'left', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return 1
";

/// Records how an attempt ended, if the caller still owns the claim, and
/// releases the lease. KEYS: record, lease. ARGV: owner, how (`settled`,
/// `unknown`, `forget`), outcome or left (JSON), retention ms.
///
/// It deletes before it writes: Redis refuses a script's memory-growing
/// command at `maxmemory` only when it is the script's first write, so an
/// outcome is still recorded in a full Redis (and dropping the baseline makes
/// the record smaller than it was).
const FINISH: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if ARGV[2] == 'settled' then
  redis.call('HDEL', KEYS[1], 'left')
  redis.call('HSET', KEYS[1], 'state', 'settled', 'outcome', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
elseif ARGV[2] == 'unknown' then
  redis.call('HSET', KEYS[1], 'state', 'sent', 'left', ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
";

/// How often a waiting duplicate looks again, at first and at most.
const FIRST_POLL: Duration = Duration::from_millis(10);
const MAX_POLL: Duration = Duration::from_millis(250);

/// Records in the Redis every replica shares.
pub struct RedisIdempotencyStore<T, U> {
    connection: SharedConnection,
    namespace: &'static str,
    lease: Duration,
    retention: Duration,
    claim: redis::Script,
    checkpoint: redis::Script,
    finish: redis::Script,
    types: PhantomData<fn() -> (T, U)>,
}

impl<T, U> RedisIdempotencyStore<T, U> {
    /// A store of the records in `namespace` (writes and authorizations keep
    /// theirs apart), kept for `retention`, whose attempts send requests
    /// bounded by `request_timeout`.
    pub fn new(
        connection: SharedConnection,
        namespace: &'static str,
        retention: Duration,
        request_timeout: Duration,
    ) -> Self {
        Self {
            connection,
            namespace,
            lease: lease_for(request_timeout),
            retention,
            claim: redis::Script::new(CLAIM),
            checkpoint: redis::Script::new(CHECKPOINT),
            finish: redis::Script::new(FINISH),
            types: PhantomData,
        }
    }

    fn keys(&self, id: &RequestId) -> (String, String) {
        let record = format!("tco:idem:{}:{{{}}}", self.namespace, id.as_str());
        let lease = format!("{record}:lease");
        (record, lease)
    }

    /// Runs one script invocation, bounded by the store timeout.
    async fn invoke<R: redis::FromRedisValue>(&self, invocation: redis::ScriptInvocation<'_>) -> Result<R, Error> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(COMMAND_TIMEOUT, invocation.invoke_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if error.code() == Some("OOM") => {
                tracing::warn!(store = STORE, "the idempotency store is full (Redis maxmemory): refusing a new write");
                Err(Error::IdempotencyStoreFull { store: STORE.into() })
            }
            Ok(Err(error)) => Err(unavailable(error.to_string())),
            Err(_) => Err(unavailable(format!("no answer within {COMMAND_TIMEOUT:?}"))),
        }
    }
}

/// The lease that outlives an attempt's upstream request and its store calls.
pub fn lease_for(request_timeout: Duration) -> Duration {
    request_timeout + 2 * COMMAND_TIMEOUT + Duration::from_secs(1)
}

fn unavailable(detail: String) -> Error {
    tracing::warn!(store = STORE, error = %detail, "the idempotency store is unavailable: failing the write closed");
    Error::IdempotencyStoreUnavailable { store: STORE.into(), detail }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn encode(value: &impl Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|error| unavailable(format!("cannot encode a record: {error}")))
}

fn decode<V: DeserializeOwned>(json: &str) -> Result<V, Error> {
    serde_json::from_str(json).map_err(|error| unavailable(format!("cannot read a record: {error}")))
}

impl<T, U> IdempotencyStore<T, U> for RedisIdempotencyStore<T, U>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    U: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn claim(&self, id: &RequestId, fingerprint: &str) -> Result<Claim<T, U>, Error> {
        let (record, lease) = self.keys(id);
        let owner = Owner::unique();
        let mut invocation = self.claim.key(&record);
        invocation
            .key(&lease)
            .arg(fingerprint)
            .arg(owner.as_str())
            .arg(millis(self.lease))
            .arg(millis(self.retention))
            .arg(FORMAT_VERSION);
        let answer: Vec<String> = self.invoke(invocation).await?;
        match answer.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["run"] => Ok(Claim::Run { unknown: None, owner }),
            ["unknown", left] => {
                tracing::warn!(request_id = %id, "taking over a request id whose owner stopped after checkpointing: outcome unknown, reconciling");
                Ok(Claim::Run { unknown: Some(decode(left)?), owner })
            }
            ["wait"] => Ok(Claim::Wait),
            ["conflict"] => Ok(Claim::Conflict),
            ["settled", outcome] => Ok(Claim::Settled(decode(outcome)?)),
            ["version", version] => {
                Err(unavailable(format!("record format {version}, this gateway reads {FORMAT_VERSION}")))
            }
            other => Err(unavailable(format!("unexpected claim answer {other:?}"))),
        }
    }

    async fn checkpoint(&self, id: &RequestId, owner: &Owner, left: &U) -> Result<(), Error> {
        let (record, lease) = self.keys(id);
        let left = encode(left)?;
        let mut invocation = self.checkpoint.key(&record);
        invocation.key(&lease).arg(owner.as_str()).arg(&left).arg(millis(self.lease));
        match self.invoke::<i64>(invocation).await? {
            1 => Ok(()),
            _ => Err(unavailable("the claim's lease expired and was taken over before the write was sent".into())),
        }
    }

    async fn finish(&self, id: &RequestId, owner: &Owner, finish: Finish<T, U>) {
        let (record, lease) = self.keys(id);
        let (how, payload) = match &finish {
            Finish::Settled(outcome) => ("settled", encode(outcome)),
            Finish::Unknown(left) => ("unknown", encode(left)),
            Finish::NotExecuted => ("forget", Ok(String::new())),
        };
        let Ok(payload) = payload else { return };
        let mut invocation = self.finish.key(&record);
        invocation.key(&lease).arg(owner.as_str()).arg(how).arg(&payload).arg(millis(self.retention));
        match self.invoke::<i64>(invocation).await {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(request_id = %id, "an attempt outlived its lease and was taken over: its outcome is not recorded")
            }
            // The lease expires and the next claim takes over from the checkpoint.
            Err(error) => tracing::error!(request_id = %id, error = %error, "cannot record an attempt's outcome"),
        }
    }

    async fn changed(&self, _id: &RequestId, waited: u32) {
        // Polling, not a notification: a lost message cannot leave a duplicate waiting.
        let backoff = FIRST_POLL.saturating_mul(2u32.saturating_pow(waited.min(8))).min(MAX_POLL);
        tokio::time::sleep(backoff).await;
    }
}
