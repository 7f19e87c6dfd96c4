//! What mTLS and the policy cost per call: cached GetSale on the real binary
//! over plaintext with no policy (zero-setup) versus over mTLS (a client
//! certificate from the configured client CA) with a policy the caller's
//! identity is checked against, on one reused connection each, as a ratio
//! from one run.
//!
//! Two gateway processes (each with its embedded simulator) take turns under
//! the same load, round after round, so drift on this shared machine hits
//! both alike; each round measures sequential latency (one caller: the cost
//! of one call on an idle connection) and throughput (32 callers multiplexed
//! on the one connection). The figures are medians. The handshake is not
//! counted: connections are made once and reused, as gRPC clients do.
//!
//! Run with `cargo bench --bench mtls`. Extra settings for the mTLS gateway
//! only (another policy file, say) go after `--` as `KEY=VALUE` environment
//! variables: `cargo bench --bench mtls -- TCO_AUTH__POLICY_FILE=/tmp/policy.toml`.
//! The client's certificate names `spiffe://bench.internal/client` (also its
//! DNS SAN `client.bench.internal` and CN `bench-client`); the built-in policy
//! lets that SPIFFE ID call every SalesService method.

// Test code: a failed unwrap is a failed spec, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rcgen::SanType;
use tco_gateway::grpc::proto::{GetSaleRequest, get_sale_request::Lookup};
use tco_simulator::DOCUMENTED_SALE_ID;

// The specs' throwaway CAs and TLS client; the bench uses only part of them.
#[allow(dead_code)]
#[path = "../tests/api/certs.rs"]
mod certs;
#[path = "support/gateway.rs"]
mod gateway;
#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
mod support;

const CONCURRENT_CALLERS: usize = 32;
const WINDOW: Duration = Duration::from_secs(3);
const SEQUENTIAL_CALLS: usize = 2_000;
const ROUNDS: usize = 5;

/// The identity in the benchmark client's certificate.
const CLIENT_SPIFFE_ID: &str = "spiffe://bench.internal/client";

fn request() -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false }
}

/// Microseconds per call, one call at a time.
async fn sequential_micros(gateway: &gateway::BenchGateway) -> f64 {
    let mut client = gateway.client.clone();
    let started = Instant::now();
    for _ in 0..SEQUENTIAL_CALLS {
        client.get_sale(request()).await.expect("a GetSale answer");
    }
    started.elapsed().as_secs_f64() * 1e6 / SEQUENTIAL_CALLS as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `KEY=VALUE` arguments: extra environment for the mTLS gateway.
fn extra_mtls_env() -> Vec<(String, String)> {
    std::env::args()
        .skip(1)
        .filter_map(|arg| arg.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .filter(|(key, _)| key.starts_with("TCO_") || key.starts_with("RUST_"))
        .collect()
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    let (ca, client_ca) = (certs::TestCa::new("bench server CA"), certs::TestCa::new("bench client CA"));
    let client = client_ca.client(
        "bench-client",
        vec![
            SanType::URI(CLIENT_SPIFFE_ID.try_into().unwrap()),
            SanType::DnsName("client.bench.internal".try_into().unwrap()),
        ],
    );
    let dir = certs::TlsDir::new(&ca, &ca.server(), Some(&client_ca));
    let mut mtls_env: Vec<(String, String)> = vec![
        ("TCO_SERVER__TLS__CERT_FILE".into(), dir.file("cert.pem").display().to_string()),
        ("TCO_SERVER__TLS__KEY_FILE".into(), dir.file("key.pem").display().to_string()),
        ("TCO_SERVER__TLS__CLIENT_CA_FILE".into(), dir.file("client-ca.pem").display().to_string()),
    ];
    // The policy a deployment runs with: the caller's identity checked against it on every
    // call (the plaintext side runs without one, as the zero-setup gateway does).
    let policy = dir.file("policy.toml");
    std::fs::write(
        &policy,
        format!("[[caller]]\nidentity = \"{CLIENT_SPIFFE_ID}\"\nmethods = [\"twocheckout.v1.SalesService/*\"]\n"),
    )
    .unwrap();
    mtls_env.push(("TCO_AUTH__POLICY_FILE".into(), policy.display().to_string()));
    let extra = extra_mtls_env();
    mtls_env.extend(extra.iter().cloned());

    let plaintext = gateway::start(&[], request, gateway::plaintext).await;
    let mtls = gateway::start(&mtls_env, request, |addr| {
        let (ca, client) = (&ca, &client);
        async move { certs::tls_channel(addr, ca, Some(client)).await.ok().map(|tls| tls.channel) }
    })
    .await;

    let (mut plain_latency, mut mtls_latency, mut plain_rate, mut mtls_rate) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        plain_latency.push(sequential_micros(&plaintext).await);
        mtls_latency.push(sequential_micros(&mtls).await);
        plain_rate.push(support::throughput(&plaintext.client, request, CONCURRENT_CALLERS, WINDOW).await);
        mtls_rate.push(support::throughput(&mtls.client, request, CONCURRENT_CALLERS, WINDOW).await);
        let last = round - 1;
        println!(
            "round {round}: one caller {:>6.1} us vs {:>6.1} us per call   {CONCURRENT_CALLERS} callers {:>8.0} vs {:>8.0} calls/s   (plaintext vs mTLS)",
            plain_latency[last], mtls_latency[last], plain_rate[last], mtls_rate[last]
        );
    }
    let (plain_latency, mtls_latency) = (median(plain_latency), median(mtls_latency));
    let (plain_rate, mtls_rate) = (median(plain_rate), median(mtls_rate));
    println!("cached GetSale on one reused connection, {ROUNDS} interleaved rounds (medians):");
    if !extra.is_empty() {
        println!("  mTLS gateway's extra settings: {extra:?}");
    }
    println!("  one caller       : plaintext {plain_latency:>7.1} us/call   mTLS {mtls_latency:>7.1} us/call");
    println!(
        "  {CONCURRENT_CALLERS} callers       : plaintext {plain_rate:>7.0} calls/s   mTLS {mtls_rate:>7.0} calls/s"
    );
    println!(
        "  cost per call, mTLS + policy / plaintext: {:.3} (one caller), {:.3} ({CONCURRENT_CALLERS} callers)",
        mtls_latency / plain_latency,
        plain_rate / mtls_rate
    );
}
