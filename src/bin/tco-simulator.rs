//! Runs the legacy 2Checkout simulator (Admin API and Payment API) on its own until Ctrl-C.
//!
//! Configuration comes from the environment (every variable optional):
//! `TCO_SIM_ADDR` (listen address, default `127.0.0.1:8080`), `TCO_SIM_USERNAME` and
//! `TCO_SIM_PASSWORD` (the API user, default `sim-api-user` / `sim-api-pass`), `TCO_SIM_SALES`
//! (generated sales, default 300), `TCO_SIM_SEED` (default 42), and for the Payment API
//! `TCO_SIM_SELLER_ID`, `TCO_SIM_PRIVATE_KEY` and `TCO_SIM_PUBLISHABLE_KEY` (defaults: the
//! simulator's `DEFAULT_SELLER_ID`, `DEFAULT_PRIVATE_KEY`, `DEFAULT_PUBLISHABLE_KEY`). Logging
//! follows `RUST_LOG` (default `info`). The password and the private key are never logged.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;

use tco_gateway::simulator::{RunningSimulator, SimulatorConfig};
use tracing_subscriber::EnvFilter;

const DEFAULT_ADDR: &str = "127.0.0.1:8080";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    let config = match config_from_env() {
        Ok(config) => config,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    };
    let sales = config.generated_sales;
    let seed = config.seed;
    let simulator = match RunningSimulator::start(config).await {
        Ok(simulator) => simulator,
        Err(error) => {
            tracing::error!(%error, "cannot start the simulator");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        base_url = %simulator.admin_api_base_url(),
        payment_base_url = %simulator.payment_api_base_url(),
        generated_sales = sales,
        seed,
        "simulator ready; Ctrl-C to stop"
    );

    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::error!(%error, "cannot listen for Ctrl-C; stopping");
    }
    tracing::info!("stopping");
    simulator.shutdown().await;
    ExitCode::SUCCESS
}

fn config_from_env() -> Result<SimulatorConfig, String> {
    let defaults = SimulatorConfig::default();
    Ok(SimulatorConfig {
        listen_addr: parsed_var("TCO_SIM_ADDR")?
            .unwrap_or_else(|| SocketAddr::from_str(DEFAULT_ADDR).unwrap_or(defaults.listen_addr)),
        api_username: text_var("TCO_SIM_USERNAME")?.unwrap_or(defaults.api_username),
        api_password: text_var("TCO_SIM_PASSWORD")?.unwrap_or(defaults.api_password),
        generated_sales: parsed_var("TCO_SIM_SALES")?.unwrap_or(defaults.generated_sales),
        seed: parsed_var("TCO_SIM_SEED")?.unwrap_or(defaults.seed),
        seller_id: text_var("TCO_SIM_SELLER_ID")?.unwrap_or(defaults.seller_id),
        private_key: text_var("TCO_SIM_PRIVATE_KEY")?.unwrap_or(defaults.private_key),
        publishable_key: text_var("TCO_SIM_PUBLISHABLE_KEY")?.unwrap_or(defaults.publishable_key),
    })
}

fn text_var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

fn parsed_var<T: FromStr>(name: &str) -> Result<Option<T>, String> {
    // Only the variable's name goes into the message: the value could be a misplaced secret.
    text_var(name)?.map(|value| value.trim().parse().map_err(|_| format!("{name} has an invalid value"))).transpose()
}
