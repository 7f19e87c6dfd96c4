//! The gateway binary: everything happens in [`tco_gateway::cli::run`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tco_gateway::cli::run().await
}
