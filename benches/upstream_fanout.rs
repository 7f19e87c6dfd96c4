//! How many connections the gateway opens to 2Checkout under a burst of cold
//! lookups: the real gateway binary in front of the real simulator binary
//! (1,000 sales), 1,000 concurrent GetSale calls each for a different sale
//! (so neither the cache nor its single-flight merges any), sampling every
//! 5 ms the established connections to the simulator's port (`/proc/net/tcp`;
//! the gateway is its only client) and reporting the peak, the connections
//! left open afterwards, the detail_sale requests the simulator logged, and
//! the burst's wall time.
//!
//! Scenarios: `admin_api.max_concurrent_requests` at its default (64), and
//! raised to 100,000 (no cap, as before it existed). Shedding
//! (`server.max_concurrent_calls`) is raised above 1,000 in both, so every call
//! reaches the upstream path.
//!
//! Run with `cargo bench --bench upstream_fanout` after `cargo build --release
//! -p tco-simulator` (Linux only). `TCO_GATEWAY_BIN` measures another build.

// Test code: a failed unwrap is a failed measurement, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Each bench uses a part of what the support modules offer.
#[allow(dead_code)]
#[path = "support/processes.rs"]
mod processes;
#[allow(dead_code)]
mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use processes::{Gateway, Simulator};
use tco_gateway::grpc::proto::{
    GetSaleRequest, ListSalesRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient,
};
use tonic::transport::Channel;

const CALLS: usize = 1000;

async fn sale_ids(client: &mut SalesServiceClient<Channel>) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 1..=(CALLS / 100) {
        let request = ListSalesRequest { page: i32::try_from(page).unwrap(), page_size: 100, ..Default::default() };
        let listing = client.list_sales(request).await.unwrap().into_inner();
        ids.extend(listing.sales.into_iter().map(|sale| sale.sale_id));
    }
    ids
}

async fn scenario(label: &str, env: &[(&str, &str)]) {
    let simulator = Arc::new(Simulator::start(CALLS));
    let mut env = env.to_vec();
    env.push(("TCO_SERVER__MAX_CONCURRENT_CALLS", "100000"));
    let gateway = Gateway::start(&simulator, &env);
    // Callers spread over 10 connections, as a few client pods would be.
    let mut clients = Vec::new();
    for _ in 0..10 {
        clients.push(SalesServiceClient::new(Channel::from_shared(gateway.url()).unwrap().connect().await.unwrap()));
    }
    let ids = sale_ids(&mut clients[0]).await;
    let (before_connections, before_calls) = (simulator.established_connections(), simulator.detail_sale_calls());

    let peak = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = std::thread::spawn({
        let (peak, running, simulator) = (Arc::clone(&peak), Arc::clone(&running), Arc::clone(&simulator));
        move || {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max(simulator.established_connections(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for (n, id) in ids.into_iter().enumerate() {
        let mut client = clients[n % clients.len()].clone();
        let mut request = tonic::Request::new(GetSaleRequest { lookup: Some(Lookup::SaleId(id)), fresh: false });
        request.set_timeout(Duration::from_secs(30));
        calls.spawn(async move { client.get_sale(request).await.map(drop).map_err(|status| status.code()) });
    }
    let (mut ok, mut failed) = (0, std::collections::BTreeMap::new());
    while let Some(result) = calls.join_next().await {
        match result.unwrap() {
            Ok(()) => ok += 1,
            Err(code) => *failed.entry(format!("{code:?}")).or_insert(0) += 1,
        }
    }
    let elapsed = started.elapsed();
    running.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    println!(
        "{label:<34} peak connections {:>4} (before {before_connections}, after {:>4}) | detail_sale {:>4} | ok {ok:>4} failed {failed:?} | {:>6.0} ms",
        peak.load(Ordering::Relaxed),
        simulator.established_connections(),
        simulator.detail_sale_calls() - before_calls,
        elapsed.as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    println!("gateway binary: {}", processes::gateway_binary().display());
    scenario("cap at its default (64)", &[]).await;
    scenario("no cap (100000)", &[("TCO_ADMIN_API__MAX_CONCURRENT_REQUESTS", "100000")]).await;
}
