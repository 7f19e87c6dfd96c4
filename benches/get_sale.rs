//! GetSale through the real gateway on loopback: served from the cache,
//! served from the simulator (`fresh`, so every call goes upstream), and a
//! bare tonic server answering the same response from memory, the floor a
//! cache hit is measured against.
//!
//! Prints p50/p99 latency of sequential calls and throughput of concurrent
//! callers for each. Run with `cargo bench --bench get_sale`.

// Test code: a failed unwrap is a failed spec, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use figment::{Figment, providers::Serialized};
use tco_gateway::{
    app::{Application, Sales},
    config::Settings,
    domain::{CallContext, SaleLookup, SalesPort},
    grpc::proto::{
        self, GetSaleRequest, GetSaleResponse,
        get_sale_request::Lookup,
        sales_service_client::SalesServiceClient,
        sales_service_server::{SalesService, SalesServiceServer},
    },
};
use tco_simulator::{DOCUMENTED_SALE_ID, RunningSimulator, SimulatorConfig};
use tokio_stream::Stream;
use tonic::{Request, Response, Status, transport::Channel};

mod support;

const SEQUENTIAL_CALLS: usize = 5_000;
const UNCACHED_SEQUENTIAL_CALLS: usize = 1_000;
const CONCURRENT_CALLERS: usize = 32;
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(3);

/// Answers GetSale with a canned response; everything else is unimplemented.
struct BareSales(GetSaleResponse);

type Rows = Pin<Box<dyn Stream<Item = Result<proto::StreamSalesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl SalesService for BareSales {
    async fn get_sale(&self, _: Request<GetSaleRequest>) -> Result<Response<GetSaleResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }
    async fn list_sales(
        &self,
        _: Request<proto::ListSalesRequest>,
    ) -> Result<Response<proto::ListSalesResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
    type StreamSalesStream = Rows;
    async fn stream_sales(&self, _: Request<proto::StreamSalesRequest>) -> Result<Response<Rows>, Status> {
        Err(Status::unimplemented("bench"))
    }
    async fn refund_invoice(
        &self,
        _: Request<proto::RefundInvoiceRequest>,
    ) -> Result<Response<proto::RefundInvoiceResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
    async fn refund_line_item(
        &self,
        _: Request<proto::RefundLineItemRequest>,
    ) -> Result<Response<proto::RefundLineItemResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
    async fn reauthorize(
        &self,
        _: Request<proto::ReauthorizeRequest>,
    ) -> Result<Response<proto::ReauthorizeResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
    async fn stop_line_item_recurring(
        &self,
        _: Request<proto::StopLineItemRecurringRequest>,
    ) -> Result<Response<proto::StopLineItemRecurringResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
    async fn mark_shipped(
        &self,
        _: Request<proto::MarkShippedRequest>,
    ) -> Result<Response<proto::MarkShippedResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
    async fn create_comment(
        &self,
        _: Request<proto::CreateCommentRequest>,
    ) -> Result<Response<proto::CreateCommentResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }
}

fn request(fresh: bool) -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh }
}

async fn connect(addr: std::net::SocketAddr) -> SalesServiceClient<Channel> {
    SalesServiceClient::new(Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap())
}

struct Figures {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

async fn measure(client: &SalesServiceClient<Channel>, fresh: bool, sequential: usize) -> Figures {
    let mut latencies = Vec::with_capacity(sequential);
    let mut sequential_client = client.clone();
    for _ in 0..100 {
        sequential_client.get_sale(request(fresh)).await.unwrap();
    }
    for _ in 0..sequential {
        let started = Instant::now();
        sequential_client.get_sale(request(fresh)).await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];

    let next_request: fn() -> GetSaleRequest = if fresh { || request(true) } else { || request(false) };
    let per_second = support::throughput(client, next_request, CONCURRENT_CALLERS, THROUGHPUT_WINDOW).await;
    Figures { p50: at(0.50), p99: at(0.99), per_second }
}

/// What a cache hit adds inside the handler, without the network's noise: the
/// port lookup plus the domain-to-proto conversion, against what a bare
/// handler does (clone a canned response).
async fn handler_cost(ports: &Sales, canned: &GetSaleResponse) {
    const HITS: u32 = 200_000;
    let lookup = SaleLookup::BySale(DOCUMENTED_SALE_ID.parse().unwrap());
    let ctx = CallContext::default();
    let started = Instant::now();
    for _ in 0..HITS {
        let sale = ports.get_sale(ctx, &lookup).await.unwrap();
        std::hint::black_box(GetSaleResponse { sale: Some(proto::Sale::from(sale)) });
    }
    let hit = started.elapsed() / HITS;
    let started = Instant::now();
    for _ in 0..HITS {
        std::hint::black_box(canned.clone());
    }
    let bare = started.elapsed() / HITS;
    println!(
        "in the handler: cache hit + conversion {:.2} µs, bare handler (clone) {:.2} µs: a hit adds {:.2} µs",
        hit.as_secs_f64() * 1e6,
        bare.as_secs_f64() * 1e6,
        (hit.as_secs_f64() - bare.as_secs_f64()) * 1e6
    );
}

fn print(name: &str, f: &Figures) {
    println!(
        "{name:<28} p50 {:>9.1} µs   p99 {:>9.1} µs   {:>9.0} calls/s ({CONCURRENT_CALLERS} callers)",
        f.p50.as_secs_f64() * 1e6,
        f.p99.as_secs_f64() * 1e6,
        f.per_second
    );
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    let simulator = Arc::new(RunningSimulator::start(SimulatorConfig::default()).await.unwrap());
    let defaults = SimulatorConfig::default();
    let figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("admin_api.base_url", simulator.admin_api_base_url()))
        .merge(Serialized::global("admin_api.username", defaults.api_username.clone()))
        .merge(Serialized::global("admin_api.password", defaults.api_password.clone()))
        .merge(Serialized::global("cache.ttl", "1h"));
    let app = Application::build(Settings::from_figment(figment).unwrap()).await.unwrap();
    let ports = app.sales();
    let gateway_addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let gateway = connect(gateway_addr).await;

    let canned = gateway.clone().get_sale(request(false)).await.unwrap().into_inner();
    let response_bytes = prost::Message::encoded_len(&canned);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(SalesServiceServer::new(BareSales(canned.clone())))
            .serve_with_incoming(tco_gateway::app::incoming(listener)),
    );
    let bare = connect(bare_addr).await;

    println!("GetSale of the documented sale ({response_bytes} bytes encoded), release build");
    handler_cost(&ports, &canned).await;
    println!("through gRPC on loopback:");
    let bare_figures = measure(&bare, false, SEQUENTIAL_CALLS).await;
    print("bare tonic unary", &bare_figures);
    let cached = measure(&gateway, false, SEQUENTIAL_CALLS).await;
    print("gateway, cache hit", &cached);
    let uncached = measure(&gateway, true, UNCACHED_SEQUENTIAL_CALLS).await;
    print("gateway, uncached (fresh)", &uncached);
    println!(
        "cache hit over bare tonic: p50 {:+.1} µs, p99 {:+.1} µs; cache hit is {:.1}x the uncached throughput",
        (cached.p50.as_secs_f64() - bare_figures.p50.as_secs_f64()) * 1e6,
        (cached.p99.as_secs_f64() - bare_figures.p99.as_secs_f64()) * 1e6,
        cached.per_second / uncached.per_second
    );
}
