//! The connection to the Redis all replicas share (idempotency records, cache
//! coherence), when `redis.url` is set. Its URL may carry a password, so only
//! its host and port are ever logged or shown in an error.

use std::time::Duration;

use secrecy::ExposeSecret;

use crate::config::RedisSettings;

/// One multiplexed connection that reconnects by itself; clones share it.
pub type SharedConnection = redis::aio::ConnectionManager;

/// Why the shared Redis cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SharedStateError {
    #[error("invalid setting redis.url (TCO_REDIS__URL): {0}")]
    InvalidUrl(String),
    #[error("cannot connect to Redis at {host} (redis.url): {reason}")]
    Connect { host: String, reason: String },
}

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects when `settings.url` is set; `Ok(None)` when it is not.
pub async fn connect(settings: &RedisSettings) -> Result<Option<SharedConnection>, SharedStateError> {
    let Some(url) = &settings.url else { return Ok(None) };
    let host = host_of(url.expose_secret());
    let client = redis::Client::open(url.expose_secret())
        .map_err(|e| SharedStateError::InvalidUrl(format!("not a redis:// or rediss:// URL ({:?})", e.kind())))?;
    let config = redis::aio::ConnectionManagerConfig::new().set_connection_timeout(Some(CONNECT_TIMEOUT));
    let connection = redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|e| SharedStateError::Connect { host: host.clone(), reason: format!("{:?}", e.kind()) })?;
    tracing::info!(redis = %host, "shared state on Redis");
    Ok(Some(connection))
}

/// `host:port` of a Redis URL, without its credentials.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => format!("{}:{}", url.host_str().unwrap_or("?"), url.port().unwrap_or(6379)),
        Err(_) => "an unparsable URL".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_shown_never_carries_the_password() {
        assert_eq!(host_of("redis://user:hunter2@cache.internal:6380/0"), "cache.internal:6380");
        assert_eq!(host_of("rediss://:hunter2@cache.internal"), "cache.internal:6379");
    }
}
