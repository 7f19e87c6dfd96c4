//! The gateway binary: load config, init telemetry, build, run until a signal.

use std::process::ExitCode;

use tco_gateway::{
    app::{Application, shutdown_signal},
    config::Settings,
    telemetry,
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
    telemetry::init(&settings.log);
    let result = match Application::build(settings).await {
        Ok(app) => app.run_until(shutdown_signal()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tco-gateway stopped");
            ExitCode::FAILURE
        }
    }
}
