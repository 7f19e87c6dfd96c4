//! `tco-simulator`: the legacy 2Checkout simulator (Admin API and Payment API) on its own, until
//! Ctrl-C or SIGTERM, for any client. Configured by `TCO_SIM_*` variables (see `--help`).

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use clap::Parser;
use tco_simulator::{ClockStart, RunningSimulator, SEEDED_DATA_AS_OF, SimulatorConfig, StartError};
use tracing_subscriber::EnvFilter;

const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The command line: `--notify-url` (overriding `TCO_SIM_NOTIFY_URL`), `--help` and `--version`;
/// everything else is configured by the environment.
#[derive(Parser)]
#[command(
    version,
    about = "A simulator of the legacy 2Checkout Admin API (sales) and Payment API, with seeded data.",
    after_help = "\
Environment (every variable optional):
  TCO_SIM_ADDR             listen address [default: 127.0.0.1:8080]; port 0 picks a free port
                           (the address bound is logged as listen_addr=...)
  TCO_SIM_NOW              the simulated clock's start, an RFC 3339 instant such as
                           2026-04-01T00:00:00Z [default: where the seeded data ends,
                           2026-04-01T00:00:00Z]; it runs in real time from there
  TCO_SIM_USERNAME         Admin API user (HTTP Basic) [default: sim-api-user]
  TCO_SIM_PASSWORD         Admin API password [default: sim-api-pass]
  TCO_SIM_SALES            sales generated besides the documented one [default: 300]
  TCO_SIM_SEED             seed of the generated data [default: 42]
  TCO_SIM_SELLER_ID        Payment API seller id [default: 901248156]
  TCO_SIM_PRIVATE_KEY      Payment API private key [default: the reference's example key]
  TCO_SIM_PUBLISHABLE_KEY  Payment API publishable key [default: a fixed example key]
  TCO_SIM_NOTIFY_URL       where Instant Notifications (INS) are POSTed [default: none, no INS
                           sent]; --notify-url overrides it
  TCO_SIM_SECRET_WORD      INS secret word signing md5_hash [default: tango]
  TCO_SIM_EMPTY_CATALOG    1: an account with nothing listed (list_products, list_options,
                           list_coupons and list_payments answer 400 RECORD_NOT_FOUND, as
                           the live API does for an empty account) [default: 0]
  RUST_LOG                 log filter [default: info]

Admin API at http://ADDR/api/, Payment API at http://ADDR/checkout/api/1/.
The password, the private key and the secret word are never logged. An invalid variable exits
with status 2."
)]
struct Cli {
    /// Where Instant Notifications are POSTed (overrides TCO_SIM_NOTIFY_URL).
    #[arg(long, value_name = "URL")]
    notify_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    let config = match config_from_env(cli.notify_url) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("tco-simulator: {message}");
            return ExitCode::from(2);
        }
    };
    let simulator = match RunningSimulator::start(config).await {
        Ok(simulator) => simulator,
        Err(StartError::Bind { addr, source }) => {
            eprintln!("tco-simulator: cannot listen on {addr} (TCO_SIM_ADDR): {source}");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("tco-simulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("simulator ready; Ctrl-C to stop");

    stopped().await;
    tracing::info!("stopping");
    simulator.shutdown().await;
    ExitCode::SUCCESS
}

/// Completes on Ctrl-C or SIGTERM (how a container or a test harness stops it).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::error!(%error, "cannot listen for Ctrl-C; stopping");
    }
}

fn config_from_env(flag_url: Option<String>) -> Result<SimulatorConfig, String> {
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
        clock_start: clock_start()?,
        notify_url: notify_url(flag_url)?,
        secret_word: text_var("TCO_SIM_SECRET_WORD")?.unwrap_or(defaults.secret_word),
        notify_retry: defaults.notify_retry,
        empty_catalog: flag_var("TCO_SIM_EMPTY_CATALOG")?.unwrap_or(defaults.empty_catalog),
    })
}

/// `TCO_SIM_NOW`, else where the seeded data ends: a simulator started today would otherwise
/// refuse every refund of a seeded sale as too old.
fn clock_start() -> Result<ClockStart, String> {
    match text_var("TCO_SIM_NOW")? {
        None => Ok(ClockStart::SeededDataEnd),
        Some(value) => {
            DateTime::parse_from_rfc3339(value.trim()).map(|at| ClockStart::At(at.with_timezone(&Utc))).map_err(|_| {
                format!(
                    "TCO_SIM_NOW must be an RFC 3339 instant such as 2026-04-01T00:00:00Z \
                     (unset: where the seeded data ends, {SEEDED_DATA_AS_OF} UTC)"
                )
            })
        }
    }
}

/// `--notify-url`, else `TCO_SIM_NOTIFY_URL`: an http(s) URL, checked now rather than failing
/// every delivery later.
fn notify_url(flag_url: Option<String>) -> Result<Option<String>, String> {
    let Some(url) = flag_url.map_or_else(|| text_var("TCO_SIM_NOTIFY_URL"), |url| Ok(Some(url)))? else {
        return Ok(None);
    };
    match reqwest::Url::parse(url.trim()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(Some(url.trim().to_owned())),
        // The value stays out of the message: a URL may carry credentials.
        _ => Err("TCO_SIM_NOTIFY_URL (or --notify-url) must be an http:// or https:// URL".to_owned()),
    }
}

/// `1`/`true`/`yes` or `0`/`false`/`no` (any case).
fn flag_var(name: &str) -> Result<Option<bool>, String> {
    text_var(name)?
        .map(|value| match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" | "" => Ok(false),
            _ => Err(format!("{name} must be 1 or 0")),
        })
        .transpose()
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
