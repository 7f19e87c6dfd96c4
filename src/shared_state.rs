//! The connection to the Redis all replicas share: the idempotency records
//! (and the cache coherence) of every replica live there when `redis.url` is
//! set. One multiplexed, self-reconnecting connection per process.

use std::time::Duration;

use secrecy::ExposeSecret as _;

use crate::config::RedisSettings;

/// The connection every user of the shared state clones (cheap: one multiplexed connection).
pub type SharedConnection = redis::aio::ConnectionManager;

/// How long one Redis command may take before the caller gets an error: a hung Redis must never
/// hang a call. Generous for a same-cluster Redis (sub-millisecond), short for a caller.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// How long connecting to Redis may take, per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the shared state cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SharedStateError {
    /// The URL cannot be parsed (its text is not shown: it may carry a password).
    #[error("redis.url (TCO_REDIS__URL) is not a valid redis:// or rediss:// URL: {0}")]
    InvalidUrl(String),
}

/// Connects when `settings.url` is set; `Ok(None)` when it is not.
///
/// The connection is made lazily and re-made in the background whenever it breaks, so the
/// gateway starts and serves reads while Redis is down; every call that needs Redis fails
/// (closed) until it is back.
pub async fn connect(settings: &RedisSettings) -> Result<Option<SharedConnection>, SharedStateError> {
    let Some(url) = &settings.url else { return Ok(None) };
    // The error's own text may quote the URL: only its kind is kept.
    let client = redis::Client::open(url.expose_secret())
        .map_err(|error| SharedStateError::InvalidUrl(format!("{:?}", error.kind())))?;
    let server = client.get_connection_info().addr().to_string();
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        // Reconnect quickly after a Redis restart; a caller never waits on this (its command fails).
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(1));
    let connection = redis::aio::ConnectionManager::new_lazy_with_config(client, config)
        .map_err(|error| SharedStateError::InvalidUrl(format!("{:?}", error.kind())))?;
    tracing::info!(redis = %server, "shared state on Redis: idempotency records are shared by every replica");
    Ok(Some(connection))
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn settings(url: Option<&str>) -> RedisSettings {
        RedisSettings { url: url.map(|url| SecretString::from(url.to_owned())) }
    }

    #[tokio::test]
    async fn no_url_means_per_process_state() {
        assert!(connect(&settings(None)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_without_showing_its_password() {
        let error = connect(&settings(Some("http://user:hunter2@127.0.0.1:6379"))).await.unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("TCO_REDIS__URL") && !shown.contains("hunter2"), "{shown}");
    }

    #[tokio::test]
    async fn plain_and_tls_urls_connect_lazily_so_the_gateway_starts_with_redis_down() {
        for url in ["redis://127.0.0.1:1", "rediss://user:secret@127.0.0.1:1/0"] {
            assert!(connect(&settings(Some(url))).await.unwrap().is_some(), "{url}");
        }
    }
}
