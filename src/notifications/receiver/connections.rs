//! The receiver's connections, bounded: the INS port faces the internet (2Checkout
//! posts from addresses nobody can list), and axum's server has no header or idle
//! timeout of its own, so a client that opens connections and sends nothing (or a
//! byte a minute) would hold sockets and tasks for ever.
//!
//! At most [`MAX_CONNECTIONS`] are open at once (beyond, accepting waits and the
//! kernel queues the rest), and each is closed [`CONNECTION_LIFETIME`] after it was
//! accepted, whatever it is doing: 2Checkout posts one small form per connection or
//! a few over a keep-alive one, well within it, and a post cut short is one
//! 2Checkout resends.

use std::{
    future::Future as _,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::connect_info::Connected, serve::IncomingStream};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Sleep,
};

/// Connections open at once: far more than 2Checkout's one post at a time per event,
/// and a bound on what a flood of idle ones costs (a socket and a small task each).
pub const MAX_CONNECTIONS: usize = 256;

/// The longest a connection lives: the headers, a body within the receiver's own
/// body timeout, the journal append, the answer, with room to spare.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// How long accepting pauses after an error that is not one connection's (out of
/// file descriptors, say): retrying at once would spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The receiver's listener (see the module docs).
pub struct BoundedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    lifetime: Duration,
}

impl BoundedListener {
    pub fn new(listener: TcpListener) -> Self {
        Self::with_bounds(listener, MAX_CONNECTIONS, CONNECTION_LIFETIME)
    }

    /// With other bounds (the specs use small ones).
    pub fn with_bounds(listener: TcpListener, max_connections: usize, lifetime: Duration) -> Self {
        Self { listener, slots: Arc::new(Semaphore::new(max_connections.max(1))), lifetime }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // The semaphore is never closed; should it be, accepting stops rather than spins.
            let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await else {
                std::future::pending::<()>().await;
                continue;
            };
            match self.listener.accept().await {
                Ok((stream, addr)) => {
                    // One small answer per request: never wait for the client's delayed ACK.
                    let _ = stream.set_nodelay(true);
                    let closes = Box::pin(tokio::time::sleep(self.lifetime));
                    let io = BoundedStream { stream, closes, _slot: slot };
                    return (io, addr);
                }
                Err(error) => {
                    tracing::warn!(%error, "the INS receiver cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// The address of the sender's end of the connection (behind a load balancer or an
/// ingress: theirs), for log lines.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, BoundedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, BoundedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// A connection that fails every read and write once its lifetime is over
/// (hyper then closes it), and gives its slot back when dropped.
pub struct BoundedStream {
    stream: TcpStream,
    /// Boxed so the stream is `Unpin`, as axum's listener wants.
    closes: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl BoundedStream {
    /// Whether the lifetime is over; polling registers the wake-up for when it is.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.closes.as_mut().poll(cx).is_ready()
    }
}

fn lifetime_over() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the INS connection's lifetime is over")
}

impl AsyncRead for BoundedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.expired(cx) {
            return Poll::Ready(Err(lifetime_over()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.expired(cx) {
            return Poll::Ready(Err(lifetime_over()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::notifications::receiver::INS_PATH;

    async fn serve(max_connections: usize, lifetime: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener = BoundedListener::with_bounds(listener, max_connections, lifetime);
        let addr = axum::serve::Listener::local_addr(&listener).unwrap();
        let router = axum::Router::new().route(INS_PATH, axum::routing::post(|| async { "OK\n" }));
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr
    }

    /// Sends a post on a fresh connection and reads until the server closes it.
    async fn post_once(addr: SocketAddr) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /ins HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_closed_after_its_lifetime_and_frees_its_slot() {
        let addr = serve(1, Duration::from_millis(200)).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        // The one slot is taken until the silent connection is closed by the server...
        let mut rest = Vec::new();
        // Only a guard against a hang: the wait ends when the server closes the connection.
        let closed = tokio::time::timeout(Duration::from_secs(20), silent.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the silent connection was never closed");
        assert!(rest.is_empty(), "closed without an answer");
        // ...and then serves the next one.
        assert!(post_once(addr).await.starts_with("HTTP/1.1 200"));
    }
}
