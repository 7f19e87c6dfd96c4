//! The `tco-gateway` binary's command line (`--help`, `--version`, `--config`) and its
//! start-up: load settings, start telemetry, build, serve until a signal, flush.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;

use crate::{
    app::{Application, shutdown_signal},
    config::Settings,
    telemetry::Telemetry,
};

/// The command line. Everything else is configured by `TCO_*` variables or the file.
#[derive(Debug, Parser)]
#[command(
    name = "tco-gateway",
    version,
    about = "A gRPC facade (twocheckout.v1) over the legacy 2Checkout Admin and Payment APIs.",
    after_help = "\
Settings come from built-in defaults, then the TOML file (--config, TCO_CONFIG_FILE, or
./tco-gateway.toml if present), then TCO_* environment variables (sections separated by
two underscores), for example:
  TCO_SERVER__LISTEN_ADDR     gRPC listen address [default: 127.0.0.1:50051]
  TCO_UPSTREAM__MODE          twocheckout or simulator [default: simulator only when no
                              2Checkout credential at all is configured]
  TCO_ADMIN_API__USERNAME, TCO_ADMIN_API__PASSWORD
                              the 2Checkout Admin API credentials
  TCO_SIMULATOR__LISTEN_ADDR  the built-in simulator's address, in builds that have one
                              [default: 127.0.0.1:50052]
  TCO_REDIS__URL              the Redis every replica shares (redis:// or rediss://): request
                              ids run exactly once across replicas and restarts, and writes
                              evict the sale from every replica's cache [default: per process]
  RUST_LOG                    log filter [default: info]
OTEL_* variables configure traces and metrics. The README lists every setting."
)]
pub struct Cli {
    /// A TOML configuration file (instead of TCO_CONFIG_FILE); it must exist.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs the gateway as the command line asks; `--help` and `--version` print and exit 0
/// before anything is loaded or bound.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load_with_file(cli.config) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("tco-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match Telemetry::init(&settings.log).await {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("tco-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match Application::build(settings).await {
        Ok(app) => app.run_until(shutdown_signal()).await,
        Err(e) => Err(e),
    };
    // Last, so the spans of the calls that finished while draining go out too.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tco-gateway stopped");
            ExitCode::FAILURE
        }
    }
}
