//! The gRPC listener's connections: plaintext or TLS (mTLS with a client CA),
//! and what a connection proved about its peer.

use std::net::SocketAddr;

use crate::auth::Identity;

/// What the listener knows about one accepted connection. It is the
/// connection's tonic `ConnectInfo`, so tonic puts a copy in the extensions of
/// every request on it (`request.extensions().get::<ConnectionInfo>()`).
#[derive(Clone, Debug, Default)]
pub struct ConnectionInfo {
    remote_addr: Option<SocketAddr>,
    certificate_identity: Option<Identity>,
}

impl ConnectionInfo {
    pub fn new(remote_addr: Option<SocketAddr>, certificate_identity: Option<Identity>) -> Self {
        Self { remote_addr, certificate_identity }
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
}
