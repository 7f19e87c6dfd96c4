//! What sharing state through Redis costs: two gateways on one simulator, one
//! with per-process state (no `redis.url`) and one with a real `redis-server`
//! of its own, measured in one run with their calls interleaved (A, B, A, B...)
//! so drift on this shared machine hits both alike.
//!
//! - A write (CreateComment, through the idempotency store and the cache's
//!   invalidation): p50/p99 with each store, what Redis adds, and the ratio.
//!   The figure is whatever the gateway does with `redis.url`: the idempotency
//!   store and the cross-replica cache stamps.
//! - A cached GetSale with cross-replica coherence off (per-replica cache)
//!   versus on (one MGET of the sale's stamps per hit): p50/p99 of sequential
//!   calls, throughput of concurrent callers in alternating rounds, ratios.
//!
//! Run with `cargo bench --bench shared_state`; needs `redis-server` on PATH
//! (`apt-get install -y redis-server`).

// Test code: a failed unwrap is a failed spec, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use figment::{Figment, providers::Serialized};
use tco_gateway::{
    app::Application,
    config::Settings,
    grpc::proto::{
        CreateCommentRequest, GetSaleRequest, ListSalesRequest, get_sale_request::Lookup,
        sales_service_client::SalesServiceClient,
    },
};
use tco_simulator::{DOCUMENTED_SALE_ID, RunningSimulator, SimulatorConfig};
use tonic::transport::Channel;

// The end-to-end specs' Redis; it waits on the specs' patience.
#[path = "../tests/api/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;
mod helpers {
    pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);
}
mod support;

const WRITES: usize = 1_000;
const READS: usize = 5_000;
const CONCURRENT_CALLERS: usize = 32;
const WINDOW: Duration = Duration::from_secs(2);
const ROUNDS: usize = 5;

async fn gateway(simulator: &RunningSimulator, redis_url: Option<&str>) -> SalesServiceClient<Channel> {
    let defaults = SimulatorConfig::default();
    let mut figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("admin_api.base_url", simulator.admin_api_base_url()))
        .merge(Serialized::global("admin_api.username", defaults.api_username.clone()))
        .merge(Serialized::global("admin_api.password", defaults.api_password.clone()))
        .merge(Serialized::global("cache.ttl", "1h"));
    if let Some(url) = redis_url {
        figment = figment.merge(Serialized::global("redis.url", url));
    }
    let app = Application::build(Settings::from_figment(figment).unwrap()).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    SalesServiceClient::new(channel)
}

fn read() -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false }
}

fn comment_on(sale_id: &str) -> CreateCommentRequest {
    CreateCommentRequest {
        request_id: new_request_id(),
        sale_id: sale_id.into(),
        comment: "Benchmark".into(),
        ..Default::default()
    }
}

/// A fresh request id: a version-4-shaped UUID whose low bits count.
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = u128::from(NEXT.fetch_add(1, Ordering::Relaxed));
    uuid::Uuid::from_u128(0xbe9c_0000_0000_4000_8000_0000_0000_0000 | n).to_string()
}

/// Latencies of `calls` calls made alternately through `a` and `b`.
async fn interleaved<F, Fut>(calls: usize, mut call: F) -> (Vec<Duration>, Vec<Duration>)
where
    F: FnMut(usize, bool) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (mut a, mut b) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    for i in 0..calls {
        // Which goes first alternates too, so neither always follows the other.
        for second in [i % 2 == 1, i % 2 == 0] {
            let started = Instant::now();
            call(i, second).await;
            if second { b.push(started.elapsed()) } else { a.push(started.elapsed()) }
        }
    }
    (a, b)
}

fn quantile(latencies: &mut [Duration], q: f64) -> Duration {
    latencies.sort();
    latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(what: &str, (mut off, mut on): (Vec<Duration>, Vec<Duration>), labels: (&str, &str)) {
    let (off50, off99) = (quantile(&mut off, 0.50), quantile(&mut off, 0.99));
    let (on50, on99) = (quantile(&mut on, 0.50), quantile(&mut on, 0.99));
    println!("{what}, {} interleaved calls each:", off.len());
    println!("  {:<22} p50 {:>8.1} µs   p99 {:>8.1} µs", labels.0, micros(off50), micros(off99));
    println!("  {:<22} p50 {:>8.1} µs   p99 {:>8.1} µs", labels.1, micros(on50), micros(on99));
    println!(
        "  added: p50 {:+.1} µs, p99 {:+.1} µs; ratio p50 {:.2}, p99 {:.2}",
        micros(on50) - micros(off50),
        micros(on99) - micros(off99),
        on50.as_secs_f64() / off50.as_secs_f64(),
        on99.as_secs_f64() / off99.as_secs_f64()
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    let redis = redis_server::RedisServer::start().await;
    let simulator = RunningSimulator::start(SimulatorConfig::default()).await.unwrap();
    let memory = gateway(&simulator, None).await;
    let shared = gateway(&simulator, Some(&redis.url())).await;
    println!("release build, simulator upstream on loopback, redis-server 7 on loopback (appendonly yes)");

    // Writes spread over many sales (none of them the one read below), so no
    // sale grows enough to change what a write costs.
    let page = memory.clone().list_sales(ListSalesRequest { page_size: 50, ..Default::default() }).await.unwrap();
    let sales: Vec<String> =
        page.into_inner().sales.into_iter().map(|s| s.sale_id).filter(|id| id != DOCUMENTED_SALE_ID).collect();
    for client in [&memory, &shared] {
        for sale in sales.iter().take(10) {
            client.clone().create_comment(comment_on(sale)).await.unwrap();
        }
    }
    let writes = interleaved(WRITES, |i, on| {
        let mut client = if on { shared.clone() } else { memory.clone() };
        let request = comment_on(&sales[i % sales.len()]);
        async move {
            client.create_comment(request).await.unwrap();
        }
    })
    .await;
    report("CreateComment (a write)", writes, ("no redis.url (memory)", "redis.url (Redis)"));

    for client in [&memory, &shared] {
        for _ in 0..200 {
            client.clone().get_sale(read()).await.unwrap();
        }
    }
    let reads = interleaved(READS, |_, on| {
        let mut client = if on { shared.clone() } else { memory.clone() };
        async move {
            client.get_sale(read()).await.unwrap();
        }
    })
    .await;
    report("cached GetSale", reads, ("coherence off", "coherence on (Redis)"));

    let (mut off_rounds, mut on_rounds) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        off_rounds.push(support::throughput(&memory, read, CONCURRENT_CALLERS, WINDOW).await);
        on_rounds.push(support::throughput(&shared, read, CONCURRENT_CALLERS, WINDOW).await);
    }
    let (off, on) = (median(off_rounds), median(on_rounds));
    println!("cached GetSale, {CONCURRENT_CALLERS} callers, {ROUNDS} alternating rounds of {WINDOW:?} (medians):");
    println!("  coherence off        {off:>9.0} calls/s");
    println!("  coherence on (Redis) {on:>9.0} calls/s");
    println!("  ratio on/off         {:.3}", on / off);
}
