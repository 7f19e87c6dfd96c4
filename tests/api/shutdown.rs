//! The real binary during a rollout: on SIGTERM health turns NOT_SERVING, a
//! call in flight still completes, and the process exits 0 within its deadline.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use tco_gateway::{
    grpc::proto::{GetSaleRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient},
    simulator::{DOCUMENTED_SALE_ID, Endpoint, Fault, SimulatorConfig},
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{connect, spawn_simulator};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn health(channel: tonic::transport::Channel) -> ServingStatus {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.unwrap();
    response.into_inner().status()
}

#[tokio::test]
async fn sigterm_drains_then_lets_the_call_in_flight_finish_and_exits_zero() {
    let simulator = spawn_simulator().await;
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_millis(1500)));
    let defaults = SimulatorConfig::default();
    let port = free_port();
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_tco-gateway"))
        .env("TCO_SERVER__LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("TCO_SERVER__DRAIN_PERIOD", "800ms")
        .env("TCO_SERVER__SHUTDOWN_TIMEOUT", "5s")
        .env("TCO_ADMIN_API__BASE_URL", simulator.admin_api_base_url())
        .env("TCO_ADMIN_API__USERNAME", &defaults.api_username)
        .env("TCO_ADMIN_API__PASSWORD", &defaults.api_password)
        .env("TCO_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");

    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the gateway never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let channel = connect(addr).await;
    assert_eq!(health(channel.clone()).await, ServingStatus::Serving);

    let mut sales = SalesServiceClient::new(channel.clone());
    let slow_call = tokio::spawn(async move {
        let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false };
        sales.get_sale(request).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    let kill = Command::new("kill").args(["-TERM", &gateway.id().to_string()]).status().unwrap();
    assert!(kill.success());

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(health(channel).await, ServingStatus::NotServing, "health turns NOT_SERVING during the drain");

    let sale = slow_call.await.unwrap().expect("the call in flight completes").into_inner().sale.unwrap();
    assert_eq!(sale.sale_id, DOCUMENTED_SALE_ID);

    let status = loop {
        if let Some(status) = gateway.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "the gateway did not exit within its deadline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() >= Duration::from_millis(800), "it kept serving for the drain period");
}
