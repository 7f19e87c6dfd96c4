//! The gRPC listener's connections: plaintext or TLS (mTLS with a client CA),
//! and what a connection proved about its peer.
//!
//! - [`incoming`]: the accept loop (TLS handshakes on tasks of their own, bounded
//!   in time and number) and the connection type tonic serves, whose
//!   `ConnectInfo` is a [`ConnectionInfo`];
//! - [`tls`]: the rustls configuration from PEM files, and the caller's identity
//!   from a client certificate;
//! - [`idle`]: the idle-connection timeout and the layer that counts calls.

pub mod idle;
pub mod incoming;
pub mod tls;

use std::{net::SocketAddr, sync::Arc};

use self::idle::{ConnectionActivity, OpenCall};
use crate::auth::Identity;

/// What the listener knows about one accepted connection. It is the
/// connection's tonic `ConnectInfo`, so tonic puts a copy in the extensions of
/// every request on it (`request.extensions().get::<ConnectionInfo>()`).
#[derive(Clone, Debug, Default)]
pub struct ConnectionInfo {
    remote_addr: Option<SocketAddr>,
    certificate_identity: Option<Identity>,
    /// The connection's open calls, for its idle timeout (`None` outside the listener).
    activity: Option<Arc<ConnectionActivity>>,
}

impl ConnectionInfo {
    pub fn new(remote_addr: Option<SocketAddr>, certificate_identity: Option<Identity>) -> Self {
        Self { remote_addr, certificate_identity, activity: None }
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The identity in the peer's client certificate (SPIFFE URI SAN, else DNS
    /// SAN, else CN), when it presented one that the client CA signed.
    pub fn certificate_identity(&self) -> Option<&Identity> {
        self.certificate_identity.as_ref()
    }

    pub(crate) fn with_activity(mut self, activity: Arc<ConnectionActivity>) -> Self {
        self.activity = Some(activity);
        self
    }

    /// Counts a call as open on this connection until the result is dropped.
    pub(crate) fn call_started(&self) -> Option<OpenCall> {
        self.activity.as_ref().map(ConnectionActivity::call_started)
    }
}
