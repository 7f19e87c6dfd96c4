//! What 1,000 StreamSales callers that stop reading cost: the real gateway
//! binary in front of the real simulator binary (3,000 sales, so a walk is 31
//! pages), its `VmRSS` from `/proc/<pid>/status` and the list_sales requests the
//! simulator logged
//! - before: after one warm-up stream read to its end;
//! - during: once the 1,000 streams (read up to their first row, then left
//!   unread on 10 connections with 100 streams each) stop driving the upstream;
//! - stalled: after `stream_sales.stall_timeout`, callers still connected;
//! - after: the callers cancelled and closed their connections;
//! - a second round of the same in the same process, to tell a leak (the
//!   second round grows the process again) from memory the allocator keeps
//!   for reuse (it does not).
//!
//! Scenarios: this build with its defaults (`server.max_concurrent_calls`
//! sheds what is over 512), the same with the shedding limit raised above
//! 1,000 (like for like with a build without it), and, for a build on glibc's
//! malloc (`TCO_GATEWAY_BIN`; this one allocates with jemalloc, which ignores
//! both), the same again with glibc told to give freed memory back promptly
//! (`MALLOC_ARENA_MAX=2`, `MALLOC_TRIM_THRESHOLD_=131072`) and with Debian's
//! `libjemalloc2` preloaded in its place (when installed): together they tell
//! memory the gateway still holds from memory the allocator keeps.
//!
//! Run with `cargo bench --bench stuck_streams` after `cargo build --release -p
//! tco-simulator` (Linux only). `TCO_GATEWAY_BIN=/path/to/tco-gateway` measures
//! another build (e.g. main's, for the figures before these limits);
//! `TCO_STUCK_STREAMS=1000` sets the number of callers, and
//! `TCO_STUCK_STREAMS_ONLY=jemalloc` runs only the scenarios whose label has that word.

// Test code: a failed unwrap is a failed measurement, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Each bench uses a part of what the support modules offer.
#[allow(dead_code)]
#[path = "support/processes.rs"]
mod processes;
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use processes::{Gateway, Simulator};
use tco_gateway::grpc::proto::{StreamSalesRequest, StreamSalesResponse, sales_service_client::SalesServiceClient};
use tokio_stream::StreamExt as _;
use tonic::{Streaming, transport::Channel};

const CONNECTIONS: usize = 10;

/// Waits until `figure` has not changed for `quiet` (at most `limit` in all).
async fn settled(figure: impl Fn() -> u64, quiet: Duration, limit: Duration) -> u64 {
    let started = Instant::now();
    let mut last = figure();
    let mut since = Instant::now();
    while started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = figure();
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    last
}

async fn channels(gateway: &Gateway) -> Vec<Channel> {
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(Channel::from_shared(gateway.url()).unwrap().connect().await.unwrap());
    }
    channels
}

/// Opens `callers` streams, reads each one's first row, and returns the open ones
/// with how many were refused (and why).
async fn stuck_streams(channels: &[Channel], callers: usize) -> (Vec<Streaming<StreamSalesResponse>>, usize, String) {
    let mut opening = tokio::task::JoinSet::new();
    for caller in 0..callers {
        let mut client = SalesServiceClient::new(channels[caller % channels.len()].clone());
        opening.spawn(async move {
            let mut stream = client.stream_sales(StreamSalesRequest::default()).await?.into_inner();
            match stream.next().await {
                Some(Ok(_)) => Ok(stream),
                Some(Err(status)) => Err(status),
                None => Err(tonic::Status::unknown("empty stream")),
            }
        });
    }
    let (mut open, mut refused, mut why) = (Vec::new(), 0, String::new());
    while let Some(result) = opening.join_next().await {
        match result.unwrap() {
            Ok(stream) => open.push(stream),
            Err(status) => {
                refused += 1;
                why = format!("{:?}", status.code());
            }
        }
    }
    (open, refused, why)
}

async fn round(gateway: &Gateway, simulator: &Simulator, callers: usize, stall_timeout: Duration, label: &str) {
    let channels = channels(gateway).await;
    let before = (gateway.process.rss_mib(), simulator.list_sales_calls());
    let (open, refused, why) = stuck_streams(&channels, callers).await;
    let calls = settled(|| simulator.list_sales_calls(), Duration::from_secs(2), Duration::from_secs(60)).await;
    let during = (gateway.process.rss_mib(), calls - before.1);
    let stall_started = Instant::now();
    tokio::time::sleep(stall_timeout + Duration::from_secs(2)).await;
    let stalled = (gateway.process.rss_mib(), simulator.list_sales_calls() - before.1);
    drop(open);
    drop(channels);
    let _ =
        settled(|| (gateway.process.rss_mib() * 1024.0) as u64, Duration::from_secs(2), Duration::from_secs(30)).await;
    let after = (gateway.process.rss_mib(), simulator.list_sales_calls() - before.1);
    println!(
        "{label:<44} open {:>4} (refused {refused} {why}) | RSS MiB before {:>6.1}  during {:>6.1}  stalled(+{:.0}s) {:>6.1}  after {:>6.1} | list_sales during {:>5}  by the stall {:>5}  in all {:>5}",
        callers - refused,
        before.0,
        during.0,
        stall_started.elapsed().as_secs_f64(),
        stalled.0,
        after.0,
        during.1,
        stalled.1,
        after.1,
    );
}

async fn scenario(label: &str, env: &[(&str, &str)], callers: usize, stall_timeout: Duration) {
    if std::env::var("TCO_STUCK_STREAMS_ONLY").is_ok_and(|only| !label.contains(&only)) {
        return;
    }
    let simulator = Simulator::start(3000);
    let gateway = Gateway::start(&simulator, env);
    // Warm-up: one stream read to its end.
    let mut client = SalesServiceClient::new(Channel::from_shared(gateway.url()).unwrap().connect().await.unwrap());
    let mut warm = client.stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    while let Some(row) = warm.next().await {
        if row.is_err() {
            break;
        }
    }
    round(&gateway, &simulator, callers, stall_timeout, &format!("{label}, round 1")).await;
    round(&gateway, &simulator, callers, stall_timeout, &format!("{label}, round 2")).await;
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    let callers: usize = std::env::var("TCO_STUCK_STREAMS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    println!("gateway binary: {}", processes::gateway_binary().display());
    // The default stall timeout (30 s) would make each round half a minute longer; 5 s
    // shows the same, and a build without the setting ignores it.
    let stall = ("TCO_STREAM_SALES__STALL_TIMEOUT", "5s");
    let stall_timeout = Duration::from_secs(5);
    scenario("defaults (sheds past 512)", &[stall], callers, stall_timeout).await;
    let unshed = ("TCO_SERVER__MAX_CONCURRENT_CALLS", "100000");
    scenario("no shedding", &[stall, unshed], callers, stall_timeout).await;
    let glibc = [("MALLOC_ARENA_MAX", "2"), ("MALLOC_TRIM_THRESHOLD_", "131072")];
    scenario("no shedding, glibc trimming", &[stall, unshed, glibc[0], glibc[1]], callers, stall_timeout).await;
    // The same process with jemalloc in place of glibc's malloc (preloaded, so the binary is
    // unchanged): whether the memory left behind is the allocator's or the gateway's.
    if std::path::Path::new(JEMALLOC).is_file() {
        let jemalloc = [("LD_PRELOAD", JEMALLOC), ("MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")];
        scenario(
            "no shedding, jemalloc (preloaded)",
            &[stall, unshed, jemalloc[0], jemalloc[1]],
            callers,
            stall_timeout,
        )
        .await;
    }
}

/// Debian's jemalloc (`libjemalloc2`), for the allocator comparison when it is installed.
const JEMALLOC: &str = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
