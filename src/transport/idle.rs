//! The idle-connection timeout (`server.idle_timeout`): a connection with no
//! call open for that long is closed, and one that never sends a byte is closed
//! after the (shorter) handshake timeout.
//!
//! Each connection has a [`ConnectionActivity`] (calls open, idle since when);
//! [`ConnectionActivityLayer`] counts every call from the moment the server
//! accepts its stream until its response body ends, and [`IdleTimer`], polled
//! by the connection's reads, fails the connection once it is idle too long.
//! HTTP/2 pings do not count as activity: a client's keepalive does not keep
//! an unused connection (and its file descriptor) forever.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use super::ConnectionInfo;
use crate::held_body::{HeldBody, HoldInBody};

/// The calls open on one connection, and since when it has had none.
#[derive(Debug)]
pub struct ConnectionActivity {
    open_calls: AtomicUsize,
    /// When the last call ended (or the connection was accepted), in nanoseconds since `accepted`.
    idle_since: AtomicU64,
    accepted: Instant,
}

impl ConnectionActivity {
    pub(crate) fn new() -> Self {
        Self { open_calls: AtomicUsize::new(0), idle_since: AtomicU64::new(0), accepted: Instant::now() }
    }

    /// Counts a call as open until the guard is dropped.
    pub(crate) fn call_started(self: &Arc<Self>) -> OpenCall {
        self.open_calls.fetch_add(1, Ordering::SeqCst);
        OpenCall(Arc::clone(self))
    }

    /// When the connection will have been idle for `timeout`, or `None` while a call is open.
    fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.open_calls.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let idle_since = self.accepted + Duration::from_nanos(self.idle_since.load(Ordering::SeqCst));
        Some(idle_since + timeout)
    }
}

/// One open call; dropping it ends the call.
#[derive(Debug)]
pub struct OpenCall(Arc<ConnectionActivity>);

impl Drop for OpenCall {
    fn drop(&mut self) {
        let activity = &self.0;
        // The idle clock starts before the count drops, so a timer that sees no call open
        // also sees when the last one ended.
        let since = u64::try_from(activity.accepted.elapsed().as_nanos()).unwrap_or(u64::MAX);
        activity.idle_since.fetch_max(since, Ordering::SeqCst);
        activity.open_calls.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Decides when an idle connection is closed; polled from the connection's reads.
#[derive(Debug)]
pub(crate) struct IdleTimer {
    activity: Arc<ConnectionActivity>,
    idle_timeout: Duration,
    /// Until the peer sends its first byte: the latest it may (accept + handshake timeout).
    first_byte_deadline: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    /// `first_byte_timeout`: how long after accept the peer may send nothing at all (`None`
    /// once it has: a completed TLS handshake).
    pub(crate) fn new(
        activity: Arc<ConnectionActivity>,
        idle_timeout: Duration,
        first_byte_timeout: Option<Duration>,
    ) -> Self {
        let first_byte_deadline = first_byte_timeout.map(|timeout| activity.accepted + timeout);
        let first_check = activity.accepted + first_byte_timeout.map_or(idle_timeout, |t| t.min(idle_timeout));
        Self { activity, idle_timeout, first_byte_deadline, sleep: Box::pin(tokio::time::sleep_until(first_check)) }
    }

    /// The peer sent something: the first-byte deadline no longer applies.
    pub(crate) fn bytes_received(&mut self) {
        self.first_byte_deadline = None;
    }

    /// Ready when the connection must be closed; otherwise arms the timer to look again.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            if self.first_byte_deadline.is_some_and(|deadline| deadline <= now) {
                return Poll::Ready(());
            }
            let next = match self.activity.idle_deadline(self.idle_timeout) {
                Some(deadline) if deadline <= now => return Poll::Ready(()),
                Some(deadline) => deadline,
                // A call is open: look again later (its end moves the deadline anyway).
                None => now + self.idle_timeout,
            };
            let next = self.first_byte_deadline.map_or(next, |first_byte| first_byte.min(next));
            self.sleep.as_mut().reset(next);
        }
    }
}

/// Counts each call on its connection's [`ConnectionActivity`] from the moment the
/// server accepts its stream (the layer's `call`, run by the connection as it reads the
/// request's headers) until its response body is finished or dropped (`crate::held_body`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectionActivityLayer;

impl<S> Layer<S> for ConnectionActivityLayer {
    type Service = ConnectionActivityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConnectionActivityService { inner }
    }
}

/// The service of [`ConnectionActivityLayer`].
#[derive(Clone, Debug)]
pub struct ConnectionActivityService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ConnectionActivityService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<HeldBody<ResBody, OpenCall>>;
    type Error = S::Error;
    type Future = HoldInBody<S::Future, OpenCall>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = request.extensions().get::<ConnectionInfo>().and_then(ConnectionInfo::call_started);
        HoldInBody::new(self.inner.call(request), call)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    const IDLE: Duration = Duration::from_secs(60);

    async fn expires(timer: &mut IdleTimer) {
        poll_fn(|cx| timer.poll_expired(cx)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_unused_connection_expires_after_the_idle_timeout() {
        let activity = Arc::new(ConnectionActivity::new());
        let mut timer = IdleTimer::new(Arc::clone(&activity), IDLE, None);
        let start = Instant::now();
        expires(&mut timer).await;
        assert_eq!(start.elapsed(), IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_expires_at_the_first_byte_deadline_and_a_talking_one_does_not() {
        let activity = Arc::new(ConnectionActivity::new());
        let mut silent = IdleTimer::new(Arc::clone(&activity), IDLE, Some(Duration::from_secs(10)));
        let start = Instant::now();
        expires(&mut silent).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));

        let activity = Arc::new(ConnectionActivity::new());
        let start = Instant::now();
        let mut talking = IdleTimer::new(Arc::clone(&activity), IDLE, Some(Duration::from_secs(10)));
        talking.bytes_received();
        expires(&mut talking).await;
        assert_eq!(start.elapsed(), IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_call_keeps_the_connection_and_its_end_restarts_the_clock() {
        let activity = Arc::new(ConnectionActivity::new());
        let mut timer = IdleTimer::new(Arc::clone(&activity), IDLE, None);
        let start = Instant::now();
        let call = activity.call_started();
        let open = tokio::time::timeout(IDLE * 5, expires(&mut timer)).await;
        assert!(open.is_err(), "expired with a call open");
        drop(call);
        expires(&mut timer).await;
        assert_eq!(start.elapsed(), IDLE * 6);
    }
}
