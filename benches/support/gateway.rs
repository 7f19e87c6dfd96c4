//! The real gateway binary as the throughput benches start it: with its
//! embedded simulator, logging only warnings, its cache warmed, killed when
//! dropped. Included (`#[path]`) by the benches that compare two of them.

use std::{
    future::Future,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tco_gateway::grpc::proto::{GetSaleRequest, sales_service_client::SalesServiceClient};
use tonic::transport::Channel;

/// A started gateway and a client on one connection to it.
pub struct BenchGateway {
    child: Child,
    pub client: SalesServiceClient<Channel>,
}

impl Drop for BenchGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `env` on a free port, connects with `connect` once it
/// listens, and makes the `warm` call once so that what is measured next is cached.
pub async fn start<F, Fut>(env: &[(String, String)], warm: fn() -> GetSaleRequest, connect: F) -> BenchGateway
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = Option<Channel>>,
{
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tco-gateway"));
    command
        .env_clear()
        .env("TCO_SERVER__LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("TCO_SIMULATOR__LISTEN_ADDR", "127.0.0.1:0")
        .env("TCO_INS__LISTEN_ADDR", "127.0.0.1:0")
        .env("TCO_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command.spawn().expect("the gateway binary starts");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let channel = loop {
        match connect(addr).await {
            Some(channel) => break channel,
            None if started.elapsed() < Duration::from_secs(20) => tokio::time::sleep(Duration::from_millis(50)).await,
            None => panic!("the gateway never listened on {addr}"),
        }
    };
    let mut client = SalesServiceClient::new(channel);
    client.get_sale(warm()).await.expect("warm the cache");
    BenchGateway { child, client }
}

/// A plaintext connection to `addr`, once something listens there.
pub async fn plaintext(addr: SocketAddr) -> Option<Channel> {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.ok()
}
