//! The client side of scripts/perf-harness.sh, a process of its own (pinned by the script to a
//! core the server under test does not use), on a single-threaded runtime. Subcommands:
//!
//! - `fetch --addr HOST:PORT --response-out FILE --request-out FILE`: one GetSale of the
//!   documented sale; checks it answered with grpc-status 0, writes the encoded GetSaleResponse
//!   (what the bare servers answer) and the request as one gRPC frame (h2load's `-d` body).
//! - `check --addr HOST:PORT --response FILE`: one GetSale, grpc-status 0 and the same answer as
//!   FILE (so a throughput figure is the one of real answers, not of errors).
//! - `calls --addr HOST:PORT --count N [--fresh]`: N sequential GetSale calls (for callgrind).
//! - `uncached --gateway HOST:PORT --simulator-url URL --calls N --reps R`: sequential GetSale
//!   calls with `fresh` through the gateway and the same detail_sale as a direct HTTP call to the
//!   simulator (same URL, credentials and `Accept` as the gateway's upstream call), alternated
//!   call by call so both see the same machine; per repetition p50 and p99 of each, then the
//!   added latency (gateway − direct) as `min median max` lines the script reads.

use std::{process::ExitCode, time::Instant};

use prost::Message as _;
use tco_gateway::grpc::proto::{
    GetSaleRequest, GetSaleResponse, get_sale_request::Lookup, sales_service_client::SalesServiceClient,
};
use tco_simulator::{DOCUMENTED_SALE_ID, SimulatorConfig};
use tonic::transport::Channel;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("grpc_load: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: grpc_load fetch|check|calls|uncached [options] (see the module docs)";

async fn run(args: &[String]) -> Result<(), String> {
    let value_of = |flag: &str| -> Result<String, String> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|at| args.get(at + 1))
            .cloned()
            .ok_or_else(|| format!("missing {flag}; {USAGE}"))
    };
    let number_of =
        |flag: &str| -> Result<usize, String> { value_of(flag)?.parse().map_err(|e| format!("{flag}: {e}")) };
    match args.first().map(String::as_str) {
        Some("fetch") => {
            let answer = get_sale(&mut connect(&value_of("--addr")?).await?, false).await?;
            std::fs::write(value_of("--response-out")?, answer.encode_to_vec()).map_err(|e| e.to_string())?;
            let request = request(false).encode_to_vec();
            let length = u32::try_from(request.len()).map_err(|e| e.to_string())?;
            let mut frame = vec![0u8];
            frame.extend_from_slice(&length.to_be_bytes());
            frame.extend_from_slice(&request);
            std::fs::write(value_of("--request-out")?, frame).map_err(|e| e.to_string())?;
            println!("grpc-status 0, GetSaleResponse of {} bytes", answer.encoded_len());
            Ok(())
        }
        Some("check") => {
            let expected_file = value_of("--response")?;
            let expected = std::fs::read(&expected_file).map_err(|e| format!("{expected_file}: {e}"))?;
            let expected = GetSaleResponse::decode(expected.as_slice()).map_err(|e| e.to_string())?;
            let answer = get_sale(&mut connect(&value_of("--addr")?).await?, false).await?;
            if answer != expected {
                return Err("grpc-status 0 but not the gateway's answer".into());
            }
            println!("grpc-status 0, the gateway's answer");
            Ok(())
        }
        Some("calls") => {
            let mut client = connect(&value_of("--addr")?).await?;
            let fresh = args.iter().any(|a| a == "--fresh");
            for _ in 0..number_of("--count")? {
                get_sale(&mut client, fresh).await?;
            }
            Ok(())
        }
        Some("uncached") => {
            uncached(
                &value_of("--gateway")?,
                &value_of("--simulator-url")?,
                number_of("--calls")?,
                number_of("--reps")?,
            )
            .await
        }
        _ => Err(USAGE.into()),
    }
}

fn request(fresh: bool) -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh }
}

async fn connect(addr: &str) -> Result<SalesServiceClient<Channel>, String> {
    let channel = Channel::from_shared(format!("http://{addr}")).map_err(|e| e.to_string())?;
    Ok(SalesServiceClient::new(channel.connect().await.map_err(|e| format!("{addr}: {e}"))?))
}

async fn get_sale(client: &mut SalesServiceClient<Channel>, fresh: bool) -> Result<GetSaleResponse, String> {
    client
        .get_sale(request(fresh))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| format!("GetSale: {status}"))
}

/// Latencies in µs at the quantile `q` of sorted `latencies`.
fn at(latencies: &[f64], q: f64) -> f64 {
    let index = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
    latencies.get(index).copied().unwrap_or(f64::NAN)
}

/// `min median max` of `values`.
fn spread(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    format!("{:.1} {:.1} {:.1}", at(values, 0.0), at(values, 0.5), at(values, 1.0))
}

async fn uncached(gateway: &str, simulator_url: &str, calls: usize, reps: usize) -> Result<(), String> {
    let mut client = connect(gateway).await?;
    let defaults = SimulatorConfig::default();
    let http = reqwest::Client::new();
    let url = format!("{}/api/sales/detail_sale", simulator_url.trim_end_matches('/'));
    let direct = || async {
        let answer = http
            .get(&url)
            .query(&[("sale_id", DOCUMENTED_SALE_ID)])
            .basic_auth(&defaults.api_username, Some(&defaults.api_password))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("detail_sale: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("detail_sale: HTTP {}", answer.status()));
        }
        answer.bytes().await.map_err(|e| format!("detail_sale: {e}"))
    };
    // Warm both paths: connections open, the simulator's and the gateway's first-call costs paid.
    for _ in 0..50 {
        get_sale(&mut client, true).await?;
        direct().await?;
    }
    let (mut added_p50, mut added_p99, mut through_p50, mut direct_p50) = (vec![], vec![], vec![], vec![]);
    for rep in 1..=reps {
        let (mut via_gateway, mut straight) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
        for _ in 0..calls {
            let started = Instant::now();
            get_sale(&mut client, true).await?;
            via_gateway.push(started.elapsed().as_secs_f64() * 1e6);
            let started = Instant::now();
            direct().await?;
            straight.push(started.elapsed().as_secs_f64() * 1e6);
        }
        via_gateway.sort_by(f64::total_cmp);
        straight.sort_by(f64::total_cmp);
        let (g50, g99, d50, d99) =
            (at(&via_gateway, 0.5), at(&via_gateway, 0.99), at(&straight, 0.5), at(&straight, 0.99));
        println!(
            "  rep {rep}: gateway p50 {g50:.1} µs p99 {g99:.1} µs; direct HTTP p50 {d50:.1} µs p99 {d99:.1} µs; added p50 {:+.1} p99 {:+.1}",
            g50 - d50,
            g99 - d99
        );
        added_p50.push(g50 - d50);
        added_p99.push(g99 - d99);
        through_p50.push(g50);
        direct_p50.push(d50);
    }
    println!("uncached.gateway_p50_us {}", spread(&mut through_p50));
    println!("uncached.direct_p50_us {}", spread(&mut direct_p50));
    println!("uncached.added_p50_us {}", spread(&mut added_p50));
    println!("uncached.added_p99_us {}", spread(&mut added_p99));
    Ok(())
}
