//! What exporting telemetry costs: cached GetSale throughput of the real
//! binary with OTLP export off versus exporting every span and metric to a
//! collector, in one run.
//!
//! Two gateway processes (each with its embedded simulator) take turns under
//! the same load, round after round, so drift on this shared machine hits
//! both alike; the figure is the ratio of their median throughputs. The
//! collector runs in this process, on the same two cores, so the cost it
//! shows includes receiving the exports: an upper bound.
//! Run with `cargo bench --bench telemetry`.

// Test code: a failed unwrap is a failed spec, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tco_gateway::grpc::proto::{GetSaleRequest, get_sale_request::Lookup};
use tco_simulator::DOCUMENTED_SALE_ID;

// The end-to-end specs' collector; the bench uses only part of its API.
#[allow(dead_code)]
#[path = "../tests/api/collector.rs"]
mod collector;
#[path = "support/gateway.rs"]
mod gateway;
mod support;

const CONCURRENT_CALLERS: usize = 32;
const WINDOW: Duration = Duration::from_secs(3);
const ROUNDS: usize = 5;

fn request() -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false }
}

/// Cached GetSale calls per second with `CONCURRENT_CALLERS` callers for `WINDOW`.
async fn throughput(gateway: &gateway::BenchGateway) -> f64 {
    support::throughput(&gateway.client, request, CONCURRENT_CALLERS, WINDOW).await
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
    let collector = collector::Collector::start().await;
    let off = gateway::start(&[], request, gateway::plaintext).await;
    let exporting = gateway::start(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), collector.endpoint()),
            // The SDK defaults: batches every 5 s (up to 512 spans), metrics every 60 s.
        ],
        request,
        gateway::plaintext,
    )
    .await;

    let (mut off_rounds, mut exporting_rounds) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        off_rounds.push(throughput(&off).await);
        exporting_rounds.push(throughput(&exporting).await);
        println!(
            "round {round}: off {:>8.0} calls/s   exporting {:>8.0} calls/s",
            off_rounds[round - 1],
            exporting_rounds[round - 1]
        );
    }
    let (off_median, exporting_median) = (median(off_rounds), median(exporting_rounds));
    let spans = collector.spans().len();
    println!("cached GetSale, {CONCURRENT_CALLERS} callers, {ROUNDS} rounds of {WINDOW:?} each (medians):");
    println!("  telemetry export off : {off_median:>8.0} calls/s");
    println!("  exporting over OTLP  : {exporting_median:>8.0} calls/s ({spans} spans received)");
    println!(
        "  ratio exporting/off  : {:.3}  (cost {:.1}%)",
        exporting_median / off_median,
        (1.0 - exporting_median / off_median) * 100.0
    );
}
