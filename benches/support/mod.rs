//! What the benchmarks share: the concurrent-callers throughput loop and the
//! answer to `cargo test --benches`, which runs each bench binary with `--list`.

use std::time::{Duration, Instant};

use tco_gateway::grpc::proto::{GetSaleRequest, sales_service_client::SalesServiceClient};
use tonic::transport::Channel;

/// Whether this run only asks for the list of benchmarks (there are no libtest ones).
pub fn asked_for_list() -> bool {
    std::env::args().any(|a| a == "--list")
}

/// GetSale calls per second that `callers` concurrent callers complete within `window`.
pub async fn throughput(
    client: &SalesServiceClient<Channel>,
    request: fn() -> GetSaleRequest,
    callers: usize,
    window: Duration,
) -> f64 {
    let deadline = Instant::now() + window;
    let callers: Vec<_> = (0..callers)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let mut calls = 0u64;
                while Instant::now() < deadline {
                    client.get_sale(request()).await.expect("a GetSale answer");
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for caller in callers {
        calls += caller.await.unwrap();
    }
    calls as f64 / window.as_secs_f64()
}
