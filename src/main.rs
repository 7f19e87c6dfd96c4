//! The gateway binary: load config, init telemetry, build, run until a signal.

use std::process::ExitCode;

use tco_gateway::{
    app::{Application, shutdown_signal},
    config::Settings,
    telemetry::Telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
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
