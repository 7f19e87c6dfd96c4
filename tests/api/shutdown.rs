//! The real binary during a rollout: on SIGTERM health turns NOT_SERVING, a
//! call in flight still completes, and the process exits 0 within its deadline.

use std::time::{Duration, Instant};

use tco_gateway::grpc::proto::{GetSaleRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, Fault};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{spawn_gateway_process, spawn_simulator};

async fn health(channel: tonic::transport::Channel) -> ServingStatus {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.unwrap();
    response.into_inner().status()
}

#[tokio::test]
async fn sigterm_drains_then_lets_the_call_in_flight_finish_and_exits_zero() {
    let simulator = spawn_simulator().await;
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_millis(1500)));
    let env = [
        ("TCO_SERVER__DRAIN_PERIOD", "800ms".to_owned()),
        ("TCO_SERVER__SHUTDOWN_TIMEOUT", "5s".to_owned()),
        ("TCO_LOG__FILTER", "warn".to_owned()),
    ];
    let mut gateway = spawn_gateway_process(&simulator, &env).await;
    let channel = gateway.channel.clone();
    assert_eq!(health(channel.clone()).await, ServingStatus::Serving);

    let mut sales = SalesServiceClient::new(channel.clone());
    let slow_call = tokio::spawn(async move {
        let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false };
        sales.get_sale(request).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    gateway.terminate();

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(health(channel).await, ServingStatus::NotServing, "health turns NOT_SERVING during the drain");

    let sale = slow_call.await.unwrap().expect("the call in flight completes").into_inner().sale.unwrap();
    assert_eq!(sale.sale_id, DOCUMENTED_SALE_ID);

    let status = gateway.exit_status(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() >= Duration::from_millis(800), "it kept serving for the drain period");
}
