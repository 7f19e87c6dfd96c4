//! What a full detail_sale cache costs in resident memory against its byte
//! budget (`cache.max_bytes`): the real gateway binary in front of the real
//! simulator binary, its cache filled with distinct sales (GetSale by sale id,
//! each id once) until it reports evictions for size (`tco_cache_evictions`
//! on the Prometheus endpoint), then as many calls again as it took to fill,
//! so that evictions have churned it. Prints, for each budget of 16, 64 and
//! 128 MiB, the entries held, the weight the cache reports, `VmRSS` from
//! `/proc/<pid>/status` after one call (the process without a cache), when
//! full, and after jemalloc's decay time (12 s), and
//! RSS − 1.05 × budget against the goal of at most 12 MiB (issue #16).
//!
//! Run with `cargo bench --bench cache_rss` after `cargo build --release -p
//! tco-simulator` (Linux only). `TCO_GATEWAY_BIN=/path/to/tco-gateway`
//! measures another build (e.g. main's, for the figures before);
//! `TCO_CACHE_RSS_SALES` sets the simulator's sales (default 80,000: more
//! than a 128 MiB budget holds) and `TCO_CACHE_RSS_BUDGETS=16,64` the budgets
//! in MiB.

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
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use processes::{Gateway, Simulator};
use tco_gateway::grpc::proto::{GetSaleRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient};
use tonic::transport::Channel;

/// The simulator's generated sales have these ids (`tco_simulator`'s seed).
const FIRST_GENERATED_SALE_ID: u64 = 9_100_000_000;
const GENERATED_SALE_ID_STEP: u64 = 1_000;

/// Calls in flight while filling: enough to keep both processes busy.
const CALLERS: usize = 16;

/// The goal: RSS ≤ FIXED + FACTOR × budget.
const GOAL_FIXED_MIB: f64 = 12.0;
const GOAL_FACTOR: f64 = 1.05;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A free loopback port for the Prometheus endpoint (the gateway does not report the one it binds).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The cache's figures from the Prometheus endpoint.
#[derive(Clone, Copy, Debug, Default)]
struct CacheFigures {
    entries: u64,
    bytes: u64,
    size_evictions: u64,
}

async fn scrape(http: &reqwest::Client, port: u16) -> CacheFigures {
    let text = http.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |line: &str| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) as u64;
    let mut figures = CacheFigures::default();
    for line in text.lines().filter(|l| l.starts_with("tco_cache_")) {
        if line.starts_with("tco_cache_evictions") && line.contains("reason=\"size\"") {
            figures.size_evictions = value(line);
        } else if line.starts_with("tco_cache_entries") {
            figures.entries = value(line);
        } else if line.starts_with("tco_cache_size") {
            figures.bytes = value(line);
        }
    }
    figures
}

/// Looks up the sales numbered `from..to` once each, `CALLERS` at a time.
async fn look_up(client: &SalesServiceClient<Channel>, from: u64, to: u64) {
    let next = Arc::new(AtomicU64::new(from));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (mut client, next) = (client.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= to {
                        return;
                    }
                    let id = FIRST_GENERATED_SALE_ID + GENERATED_SALE_ID_STEP * index;
                    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(id.to_string())), fresh: false };
                    client.get_sale(request).await.expect("a GetSale answer");
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
}

struct Measurement {
    budget_mib: f64,
    figures: CacheFigures,
    calls: u64,
    empty_mib: f64,
    full_mib: f64,
    decayed_mib: f64,
}

async fn measure(simulator: &Simulator, sales: u64, budget_mib: u64) -> Option<Measurement> {
    let metrics_port = free_port();
    let budget = (budget_mib << 20).to_string();
    let metrics_port_text = metrics_port.to_string();
    let gateway = Gateway::start(
        simulator,
        &[
            ("TCO_CACHE__MAX_BYTES", &budget),
            ("TCO_CACHE__TTL", "1h"),
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1"),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", &metrics_port_text),
        ],
    );
    let channel = Channel::from_shared(gateway.url()).unwrap().connect().await.unwrap();
    let client = SalesServiceClient::new(channel);
    let http = reqwest::Client::new();
    // The process before the cache holds anything: one call's worth of connections and tables.
    look_up(&client, sales - 1, sales).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let empty_mib = gateway.process.rss_mib();
    const BATCH: u64 = 1_000;
    let mut looked_up = 0;
    while scrape(&http, metrics_port).await.size_evictions == 0 {
        if looked_up >= sales {
            eprintln!("{budget_mib} MiB: {sales} sales did not fill the cache; raise TCO_CACHE_RSS_SALES");
            return None;
        }
        let to = (looked_up + BATCH).min(sales);
        look_up(&client, looked_up, to).await;
        looked_up = to;
        // The cache counts evictions in its housekeeping, which runs at least once a second.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // As many again (as far as the sales go): the cache now turns over.
    let churned_to = (2 * looked_up).min(sales);
    look_up(&client, looked_up, churned_to).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let figures = scrape(&http, metrics_port).await;
    let full_mib = gateway.process.rss_mib();
    // jemalloc's background thread returns freed pages after its decay time (10 s).
    let decay_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(12).saturating_sub(decay_started.elapsed())).await;
    let decayed_mib = gateway.process.rss_mib();
    Some(Measurement { budget_mib: budget_mib as f64, figures, calls: churned_to, empty_mib, full_mib, decayed_mib })
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    let sales: u64 = env_or("TCO_CACHE_RSS_SALES", 80_000);
    let budgets: Vec<u64> = std::env::var("TCO_CACHE_RSS_BUDGETS")
        .map(|list| list.split(',').filter_map(|b| b.trim().parse().ok()).collect())
        .unwrap_or_else(|_| vec![16, 64, 128]);
    let started = Instant::now();
    let simulator = Simulator::start(usize::try_from(sales).unwrap());
    eprintln!("simulator with {sales} sales ready in {:.1} s", started.elapsed().as_secs_f64());
    println!("gateway: {}", processes::gateway_binary().display());
    println!(
        "{:>7} {:>8} {:>10} {:>7} {:>10} {:>9} {:>10} {:>7} {:>14} {:>6}",
        "budget", "entries", "weight", "calls", "RSS empty", "RSS full", "RSS +12 s", "÷budget", "−1.05×budget", "goal"
    );
    for budget_mib in budgets {
        let Some(m) = measure(&simulator, sales, budget_mib).await else { continue };
        let over = m.full_mib.max(m.decayed_mib) - GOAL_FACTOR * m.budget_mib;
        println!(
            "{:>3} MiB {:>8} {:>6.1} MiB {:>7} {:>6.1} MiB {:>5.1} MiB {:>6.1} MiB {:>7.2} {:>10.1} MiB {:>6}",
            budget_mib,
            m.figures.entries,
            m.figures.bytes as f64 / f64::from(1 << 20),
            m.calls,
            m.empty_mib,
            m.full_mib,
            m.decayed_mib,
            m.full_mib / m.budget_mib,
            over,
            if over <= GOAL_FIXED_MIB { "met" } else { "MISSED" },
        );
    }
}
