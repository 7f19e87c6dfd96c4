//! The server around the service: health, reflection (v1 and v1alpha), and
//! the embedded simulator mode that `cargo run` uses.

use figment::{Figment, providers::Serialized};
use prost::Message;
use tco_gateway::{
    app::Application,
    config::Settings,
    grpc::proto::{
        GetSaleRequest, RefundCategory, RefundInvoiceRequest, get_sale_request::Lookup,
        sales_service_client::SalesServiceClient,
    },
};
use tco_simulator::{DOCUMENTED_SALE_ID, REFUNDABLE_SALE_ID};
use tokio_stream::StreamExt;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{connect, new_request_id, spawn_app};

#[tokio::test]
async fn health_answers_serving_for_the_server_and_the_sales_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "",
        "twocheckout.v1.SalesService",
        "twocheckout.v1.AuthorizationService",
        "twocheckout.v1.CatalogService",
        "twocheckout.v1.AccountService",
    ] {
        let response = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

const EXPECTED_SERVICES: [&str; 8] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "twocheckout.v1.AccountService",
    "twocheckout.v1.AuthorizationService",
    "twocheckout.v1.CatalogService",
    "twocheckout.v1.NotificationService",
    "twocheckout.v1.SalesService",
];

#[tokio::test]
async fn reflection_v1_lists_the_services_and_describes_messages_with_their_comments() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let ask = |request| ServerReflectionRequest { host: String::new(), message_request: Some(request) };
    let requests = tokio_stream::iter(vec![
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol("twocheckout.v1.Sale".into())),
        // grpcurl resolves error details through reflection to print them decoded.
        ask(MessageRequest::FileContainingSymbol("google.rpc.ErrorInfo".into())),
    ]);
    let mut responses = client.server_reflection_info(requests).await.unwrap().into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) = responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list")
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, EXPECTED_SERVICES);

    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors")
    };
    let file = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
        .find(|f| f.name() == "twocheckout/v1/sale.proto")
        .expect("sale.proto is served");
    let comments: Vec<_> = file
        .source_code_info
        .expect("comments are kept for describe")
        .location
        .into_iter()
        .filter_map(|l| l.leading_comments)
        .collect();
    assert!(comments.iter().any(|c| c.contains("A sale (an order)")), "{comments:?}");

    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("google.rpc.ErrorInfo is not resolvable through reflection")
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_services_for_grpcurl_1_8() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list")
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, EXPECTED_SERVICES);
}

#[tokio::test]
async fn without_credentials_the_gateway_serves_the_built_in_simulator() {
    let figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("simulator.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("ins.listen_addr", "127.0.0.1:0"));
    let app = Application::build(Settings::from_figment(figment).unwrap()).await.unwrap();
    let simulator_addr = app.simulator().expect("the simulator runs").local_addr();
    assert!(simulator_addr.ip().is_loopback());
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));

    let mut sales = SalesServiceClient::new(connect(addr).await);
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false };
    let sale = sales.get_sale(request).await.unwrap().into_inner().sale.unwrap();
    assert_eq!(sale.invoices.len(), 2);

    // The simulated world's clock starts where its data ends: a recent sale is refundable.
    let refund = RefundInvoiceRequest {
        request_id: new_request_id(),
        sale_id: REFUNDABLE_SALE_ID.into(),
        comment: "Demo refund".into(),
        category: RefundCategory::Other.into(),
        ..Default::default()
    };
    assert_eq!(sales.refund_invoice(refund).await.unwrap().into_inner().message, "refund added to invoice");
}

#[tokio::test]
async fn with_credentials_no_simulator_is_started() {
    let figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("admin_api.username", "someone"))
        .merge(Serialized::global("admin_api.password", "something"));
    let app = Application::build(Settings::from_figment(figment).unwrap()).await.unwrap();
    assert!(app.simulator().is_none());
}
