//! The listener's connection limits, on real sockets: the idle timeout (raw
//! sockets that never speak, TLS handshakes that never finish, HTTP/2
//! connections without a call, but never one with a call in flight), max
//! concurrent streams as advertised, max connection age, and the keepalive
//! that closes a peer which stopped answering pings.
//!
//! Durations are short settings; each spec waits on what a client observes
//! (the server closing the socket, a call's answer), never on a fixed sleep.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tco_gateway::grpc::proto::{GetSaleRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, Fault};
use tokio::{io::AsyncReadExt, net::TcpStream};
use tonic::transport::{Channel, Endpoint as ChannelEndpoint};

use crate::{
    certs::{TestCa, TlsDir, spawn_gateway_with},
    helpers::{PATIENCE, spawn_simulator},
};

fn settings(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// Waits for the server to close `socket` (end of stream or reset), failing after [`PATIENCE`].
async fn closed_by_server(mut socket: TcpStream) {
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the socket open for {PATIENCE:?}");
}

/// A plaintext channel that counts the connections it makes.
async fn counting_channel(addr: SocketAddr) -> (Channel, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let connector = tower::service_fn(move |_: http::Uri| {
        let counter = Arc::clone(&counter);
        async move {
            let tcp = TcpStream::connect(addr).await?;
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(TokioIo::new(tcp))
        }
    });
    let channel = ChannelEndpoint::from_static("http://localhost").connect_with_connector(connector).await.unwrap();
    (channel, connections)
}

fn fresh_documented_sale() -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: true }
}

/// A raw HTTP/2 connection: its handle completes when the server closes the connection.
async fn h2_connection(addr: SocketAddr) -> (h2::client::SendRequest<Bytes>, tokio::task::JoinHandle<()>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    let handle = tokio::spawn(async move {
        let _ = connection.await;
    });
    (send, handle)
}

async fn ends_within_patience(connection: tokio::task::JoinHandle<()>, what: &str) {
    let ended = tokio::time::timeout(PATIENCE, connection).await;
    assert!(ended.is_ok(), "{what}: the connection was still open after {PATIENCE:?}");
}

#[tokio::test]
async fn a_socket_that_never_sends_a_byte_is_closed_after_the_handshake_timeout() {
    let simulator = spawn_simulator().await;
    // The idle timeout is long: what closes the socket is the bound on starting.
    let gateway = spawn_gateway_with(
        &simulator,
        &settings(&[("server.tls.handshake_timeout", "200ms"), ("server.idle_timeout", "1h")]),
    )
    .await;
    closed_by_server(TcpStream::connect(gateway.addr).await.unwrap()).await;
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_closed_after_the_handshake_timeout() {
    let simulator = spawn_simulator().await;
    let ca = TestCa::new("server CA");
    let dir = TlsDir::new(&ca, &ca.server(), None);
    let mut pairs = dir.settings(false);
    pairs.extend(settings(&[("server.tls.handshake_timeout", "200ms"), ("server.idle_timeout", "1h")]));
    let gateway = spawn_gateway_with(&simulator, &pairs).await;
    closed_by_server(TcpStream::connect(gateway.addr).await.unwrap()).await;
}

#[tokio::test]
async fn an_http2_connection_without_a_call_is_closed_after_the_idle_timeout() {
    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_with(&simulator, &settings(&[("server.idle_timeout", "300ms")])).await;
    let (_send, connection) = h2_connection(gateway.addr).await;
    ends_within_patience(connection, "idle HTTP/2 connection").await;
}

#[tokio::test]
async fn a_connection_with_a_call_in_flight_outlives_the_idle_timeout() {
    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_with(&simulator, &settings(&[("server.idle_timeout", "300ms")])).await;
    // The call lasts five idle timeouts.
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_millis(1500)));
    let (channel, connections) = counting_channel(gateway.addr).await;

    SalesServiceClient::new(channel).get_sale(fresh_documented_sale()).await.expect("the slow call is answered");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "the call was answered on the connection it was made on");
}

#[tokio::test]
async fn each_connection_is_told_the_configured_max_concurrent_streams() {
    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_with(&simulator, &settings(&[("server.max_concurrent_streams", "7")])).await;
    let tcp = TcpStream::connect(gateway.addr).await.unwrap();
    let (send, mut connection) = h2::client::handshake(tcp).await.unwrap();
    // A request answered means the server's SETTINGS have been read.
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}/grpc.health.v1.Health/Check", gateway.addr))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let answered = async {
        let mut send = send.ready().await.unwrap();
        let (response, mut stream) = send.send_request(request, false).unwrap();
        stream.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), true).unwrap();
        response.await.unwrap()
    };
    tokio::select! {
        _ = &mut connection => panic!("the connection ended"),
        response = answered => assert_eq!(response.status(), 200),
    }
    assert_eq!(connection.max_concurrent_send_streams(), 7);
}

#[tokio::test]
async fn a_connection_older_than_max_connection_age_is_sent_away() {
    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_with(
        &simulator,
        &settings(&[
            ("server.max_connection_age", "300ms"),
            ("server.max_connection_age_grace", "300ms"),
            ("server.idle_timeout", "1h"),
        ]),
    )
    .await;
    let (_send, connection) = h2_connection(gateway.addr).await;
    ends_within_patience(connection, "connection past its max age").await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed() {
    use tokio::io::AsyncWriteExt;

    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_with(
        &simulator,
        &settings(&[
            ("server.http2_keepalive_interval", "200ms"),
            ("server.http2_keepalive_timeout", "200ms"),
            ("server.idle_timeout", "1h"),
        ]),
    )
    .await;
    // An HTTP/2 client that opens its connection (preface and SETTINGS), then goes deaf:
    // it never acknowledges the server's pings (the socket stays open on its side).
    let mut socket = TcpStream::connect(gateway.addr).await.unwrap();
    socket.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").await.unwrap();
    closed_by_server(socket).await;
}
