//! Values loaded from files that operators change under a running gateway
//! (TLS certificates, the caller policy, the JWKS).
//!
//! A [`Reloading`] value is loaded once at start, where a bad file stops
//! start-up, then the files are re-read every `server.reload_interval` and a
//! new value is swapped in when their contents changed and still load. A bad
//! new file keeps the old value and logs a WARN saying why (once per bad
//! version, not on every tick).
//!
//! Why polling rather than file-change notifications: Kubernetes updates a
//! mounted Secret or ConfigMap by swapping a symlink to a new directory, which
//! inotify watches on the file miss; reading a few small files every few
//! seconds sees every kind of update, and costs nothing measurable.

use std::{
    collections::hash_map::DefaultHasher,
    fmt,
    hash::{Hash, Hasher},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use tokio::sync::watch;

/// Why a value could not be loaded from its files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct LoadError {
    /// What was being loaded ("the policy file (auth.policy_file)").
    pub what: &'static str,
    /// Why, naming the file (and the line, when the loader knows it).
    pub reason: String,
}

/// A value kept up to date with the files it is loaded from.
#[derive(Debug)]
pub struct Reloading<T> {
    current: watch::Receiver<Arc<T>>,
}

impl<T> Clone for Reloading<T> {
    fn clone(&self) -> Self {
        Self { current: self.current.clone() }
    }
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Loads the value from `files` (their contents, in order, are what `load` is given) and,
    /// while any clone of the result lives, re-reads them every `interval` on a task of its own.
    ///
    /// `what` names the value and its setting for log lines and errors.
    pub async fn start<E: fmt::Display + 'static>(
        what: &'static str,
        files: Vec<PathBuf>,
        interval: Duration,
        load: impl Fn(&[Vec<u8>]) -> Result<T, E> + Send + Sync + 'static,
    ) -> Result<Self, LoadError> {
        let contents = read_all(&files).await.map_err(|reason| LoadError { what, reason })?;
        let value = load(&contents).map_err(|e| LoadError { what, reason: e.to_string() })?;
        let (tx, rx) = watch::channel(Arc::new(value));
        tokio::spawn(keep_current(what, files, interval, fingerprint(&contents), load, tx));
        Ok(Self { current: rx })
    }

    /// A value that never changes (for tests, and for callers that want the type without files).
    pub fn fixed(value: T) -> Self {
        let (_tx, rx) = watch::channel(Arc::new(value));
        Self { current: rx }
    }

    /// The value as last loaded successfully.
    pub fn current(&self) -> Arc<T> {
        Arc::clone(&self.current.borrow())
    }
}

/// Re-reads `files` every `interval` until every [`Reloading`] clone is gone, swapping in
/// each new version that loads.
async fn keep_current<T, E: fmt::Display>(
    what: &'static str,
    files: Vec<PathBuf>,
    interval: Duration,
    mut loaded: u64,
    load: impl Fn(&[Vec<u8>]) -> Result<T, E>,
    tx: watch::Sender<Arc<T>>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    // The last version that failed, so a bad file is reported once, not on every tick.
    let mut reported: Option<u64> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = tx.closed() => return,
        }
        let result = match read_all(&files).await {
            Err(reason) => Err((None, reason)),
            Ok(contents) => {
                let version = fingerprint(&contents);
                if version == loaded {
                    continue;
                }
                load(&contents).map(|value| (version, value)).map_err(|e| (Some(version), e.to_string()))
            }
        };
        match result {
            Ok((version, value)) => {
                loaded = version;
                reported = None;
                tx.send_replace(Arc::new(value));
                tracing::info!("{what}: reloaded from changed files");
            }
            Err((version, reason)) => {
                // An unreadable file has no version: report it once until it reads again.
                let version = version.unwrap_or(0);
                if reported != Some(version) {
                    reported = Some(version);
                    tracing::warn!(%reason, "{what}: keeping the previous version, the changed files do not load");
                }
            }
        }
    }
}

/// Every file's contents, or why one cannot be read (naming it).
async fn read_all(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, String> {
    let mut contents = Vec::with_capacity(files.len());
    for file in files {
        let bytes = tokio::fs::read(file).await.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        contents.push(bytes);
    }
    Ok(contents)
}

/// Tells versions of the files apart (not a security boundary: the files are the operator's).
fn fingerprint(contents: &[Vec<u8>]) -> u64 {
    let mut hasher = DefaultHasher::new();
    contents.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_number(contents: &[Vec<u8>]) -> Result<u32, String> {
        let text = std::str::from_utf8(&contents[0]).map_err(|e| e.to_string())?;
        text.trim().parse::<u32>().map_err(|e| format!("line 1: {e}"))
    }

    async fn settle() {
        // Lets the reload task run its tick (paused time advances only when every task idles).
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_file_is_swapped_in_and_a_bad_one_keeps_the_old_value() {
        let dir = std::env::temp_dir().join(format!("tco-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("number");
        std::fs::write(&file, "1").unwrap();
        let value =
            Reloading::start("the number", vec![file.clone()], Duration::from_secs(10), parse_number).await.unwrap();
        assert_eq!(*value.current(), 1);

        std::fs::write(&file, "2").unwrap();
        tokio::time::sleep(Duration::from_secs(11)).await;
        wait_for(&value, 2).await;

        std::fs::write(&file, "not a number").unwrap();
        tokio::time::sleep(Duration::from_secs(11)).await;
        settle().await;
        assert_eq!(*value.current(), 2, "a bad file keeps the previous value");

        std::fs::remove_file(&file).unwrap();
        tokio::time::sleep(Duration::from_secs(11)).await;
        settle().await;
        assert_eq!(*value.current(), 2, "a missing file keeps the previous value");

        std::fs::write(&file, "3").unwrap();
        tokio::time::sleep(Duration::from_secs(11)).await;
        wait_for(&value, 3).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    async fn wait_for(value: &Reloading<u32>, expected: u32) {
        // File reads run on the blocking pool, outside paused time: wait on the value itself.
        let mut current = value.current.clone();
        tokio::time::timeout(Duration::from_secs(60), current.wait_for(|v| **v == expected))
            .await
            .expect("the new value is swapped in")
            .unwrap();
    }

    #[tokio::test]
    async fn a_bad_file_at_start_is_an_error_naming_it() {
        let missing = std::env::temp_dir().join("tco-reload-no-such-file");
        let error =
            Reloading::start("the number", vec![missing], Duration::from_secs(10), parse_number).await.unwrap_err();
        assert!(error.to_string().contains("tco-reload-no-such-file"), "{error}");

        let dir = std::env::temp_dir().join(format!("tco-reload-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("number");
        std::fs::write(&file, "x").unwrap();
        let error =
            Reloading::start("the number", vec![file], Duration::from_secs(10), parse_number).await.unwrap_err();
        assert!(error.to_string().starts_with("the number: line 1:"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
