//! The real binary during a rollout: on SIGTERM health turns NOT_SERVING, new
//! calls are still served for the drain period, then the listener closes, a
//! call in flight still completes, and the process exits 0 within its deadline.

use std::time::Duration;

use tco_gateway::grpc::proto::{
    GetSaleRequest, ListSalesRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient,
};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, Fault};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{PATIENCE, connect, eventually, spawn_gateway_process, spawn_simulator};

async fn health(channel: tonic::transport::Channel) -> ServingStatus {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.unwrap();
    response.into_inner().status()
}

#[tokio::test]
async fn sigterm_drains_then_lets_the_call_in_flight_finish_and_exits_zero() {
    let simulator = spawn_simulator().await;
    // Outlasts the drain, so the call is normally still in flight when the listener closes.
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_secs(5)));
    let env = [
        // Long enough for the few calls below on a loaded machine; nothing here waits it out.
        ("TCO_SERVER__DRAIN_PERIOD", "3s".to_owned()),
        ("TCO_SERVER__SHUTDOWN_TIMEOUT", "10s".to_owned()),
        ("TCO_LOG__FILTER", "warn".to_owned()),
    ];
    let mut gateway = spawn_gateway_process(&simulator, &env).await;
    let channel = gateway.channel.clone();
    let addr = gateway.addr();
    assert_eq!(health(channel.clone()).await, ServingStatus::Serving);

    let mut sales = SalesServiceClient::new(channel.clone());
    let slow_call = tokio::spawn(async move {
        let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false };
        sales.get_sale(request).await
    });
    eventually("the slow call to reach 2Checkout", || simulator.request_count(Endpoint::DetailSale) == 1).await;
    gateway.terminate();

    let started = std::time::Instant::now();
    while health(channel.clone()).await != ServingStatus::NotServing {
        assert!(started.elapsed() < PATIENCE, "health never turned NOT_SERVING");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // NOT_SERVING, yet a new caller on a new connection is still served: the drain period.
    let mut newcomer = SalesServiceClient::new(connect(addr).await);
    newcomer.list_sales(ListSalesRequest::default()).await.expect("a new call during the drain period is served");

    // Then the listener closes (and the call in flight goes on).
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(started.elapsed() < PATIENCE, "the listener never closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let sale = slow_call.await.unwrap().expect("the call in flight completes").into_inner().sale.unwrap();
    assert_eq!(sale.sale_id, DOCUMENTED_SALE_ID);

    let status = gateway.exit_status(PATIENCE).await;
    assert!(status.success(), "exit status {status:?}");
}
