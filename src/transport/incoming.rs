//! The listener's accept loop and the connections it hands to tonic.
//!
//! tonic's own TLS cannot change its certificate without a restart, so the
//! gateway accepts connections itself: plaintext ones go straight to the
//! server, TLS ones after a handshake on a task of their own (bounded in time
//! by `server.tls.handshake_timeout`, and in number: at the bound, accepting
//! pauses and the kernel queues new connections). Every handshake takes the
//! TLS configuration current at that moment, so a reloaded certificate is
//! served to new connections while open ones keep theirs.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use rustls::ServerConfig;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc},
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use crate::reload::Reloading;

use super::{
    ConnectionInfo,
    idle::{ConnectionActivity, IdleTimer},
    tls::certificate_identity,
};

/// How long accepting pauses after an error that is not one connection's (out of file
/// descriptors, say): retrying at once would spin, and the condition lasts a while.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Accepted connections waiting for the server to take them.
const ACCEPTED_QUEUE: usize = 128;

/// How the listener treats its connections.
#[derive(Clone)]
pub struct ListenerSettings {
    /// TLS for every connection; `None`: plaintext.
    pub tls: Option<Reloading<ServerConfig>>,
    /// How long a TLS handshake may take (plaintext: how long until the first byte).
    pub handshake_timeout: Duration,
    /// How many TLS handshakes may be in progress at once.
    pub max_concurrent_handshakes: usize,
    /// How long a connection may have no call open (`server.idle_timeout`).
    pub idle_timeout: Duration,
}

/// The connections accepted on `listener`, ready for tonic's `serve_with_incoming*`. The
/// listener closes when the stream is dropped (when the server stops taking connections).
pub fn accept(listener: TcpListener, settings: ListenerSettings) -> ReceiverStream<io::Result<Connection>> {
    let (tx, rx) = mpsc::channel(ACCEPTED_QUEUE);
    tokio::spawn(accept_loop(listener, settings, tx));
    ReceiverStream::new(rx)
}

async fn accept_loop(listener: TcpListener, settings: ListenerSettings, tx: mpsc::Sender<io::Result<Connection>>) {
    let handshakes = Arc::new(Semaphore::new(settings.max_concurrent_handshakes));
    // A socket that never starts is bounded by the handshake timeout, however long the idle one.
    let start_timeout = settings.handshake_timeout.min(settings.idle_timeout);
    loop {
        let permit = match &settings.tls {
            Some(_) => tokio::select! {
                permit = Arc::clone(&handshakes).acquire_owned() => permit.ok(),
                () = tx.closed() => return,
            },
            None => None,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tx.closed() => return,
        };
        let (stream, remote_addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_one_connections_error(&error) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot accept connections; retrying shortly");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    () = tx.closed() => return,
                }
            }
        };
        // Without TCP_NODELAY a small unary answer can wait ~40 ms for the client's
        // delayed ACK (Nagle).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let activity = Arc::new(ConnectionActivity::new());
        match &settings.tls {
            None => {
                let info = ConnectionInfo::new(Some(remote_addr), None).with_activity(Arc::clone(&activity));
                let idle = IdleTimer::new(activity, settings.idle_timeout, Some(start_timeout));
                let connection = Connection { stream: Stream::Plain(stream), idle, info };
                if tx.send(Ok(connection)).await.is_err() {
                    return;
                }
            }
            Some(config) => {
                let acceptor = TlsAcceptor::from(config.current());
                let (tx, idle_timeout) = (tx.clone(), settings.idle_timeout);
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(start_timeout, acceptor.accept(stream)).await;
                    drop(permit);
                    let stream = match handshake {
                        Ok(Ok(stream)) => stream,
                        // Scanners and misconfigured clients do this all day: not worth a WARN each.
                        Ok(Err(error)) => {
                            tracing::debug!(peer = %remote_addr, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(peer = %remote_addr, "TLS handshake timed out (server.tls.handshake_timeout)");
                            return;
                        }
                    };
                    let info = ConnectionInfo::new(Some(remote_addr), peer_identity(&stream, remote_addr))
                        .with_activity(Arc::clone(&activity));
                    let idle = IdleTimer::new(activity, idle_timeout, None);
                    let connection = Connection { stream: Stream::Tls(Box::new(stream)), idle, info };
                    let _ = tx.send(Ok(connection)).await;
                });
            }
        }
    }
}

/// The identity in the client certificate the peer presented (the verifier has checked it
/// chains to the client CA), if it presented one.
fn peer_identity(stream: &TlsStream<TcpStream>, remote_addr: SocketAddr) -> Option<crate::auth::Identity> {
    let leaf = stream.get_ref().1.peer_certificates()?.first()?;
    let identity = certificate_identity(leaf);
    if identity.is_none() {
        tracing::warn!(
            peer = %remote_addr,
            "a client certificate signed by the client CA names no usable identity \
             (no spiffe:// URI SAN, DNS SAN or subject CN of visible characters): the connection has none"
        );
    }
    identity
}

/// Errors that concern the one connection being accepted (it was reset before we took
/// it), not the listener.
fn is_one_connections_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// One accepted connection, plaintext or TLS, closed when idle too long.
pub struct Connection {
    stream: Stream,
    idle: IdleTimer,
    info: ConnectionInfo,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Connection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // The server always has a read pending on a live connection, so this is where the
        // idle timer is polled; failing the read closes the connection.
        if this.idle.poll_expired(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "closed after server.idle_timeout without a call (or no first byte within server.tls.handshake_timeout)",
            )));
        }
        let before = buf.filled().len();
        let read = match &mut this.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        };
        if buf.filled().len() > before {
            this.idle.bytes_received();
        }
        read
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(stream) => stream.is_write_vectored(),
            Stream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
