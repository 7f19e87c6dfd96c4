//! Telemetry: logs, traces and metrics, set up once at start and flushed at exit.
//!
//! # Design
//!
//! Everything is instrumented through `tracing` (spans, log events) and the
//! OpenTelemetry metrics API; this module decides where it goes.
//! - **Spans** are `tracing` spans turned into OpenTelemetry spans by
//!   `tracing-opentelemetry`. Only the gateway's own spans are (the layer is
//!   filtered to `tco_gateway` at INFO, never the embedded simulator nor
//!   tonic/hyper internals), so traces hold exactly one server span per call
//!   ([`rpc`]) and one client span per upstream request ([`upstream`]).
//! - The OpenTelemetry layer is installed whether or not spans are exported:
//!   calls then always continue the caller's W3C trace, pass `traceparent`
//!   upstream, and stamp their log lines with trace and span ids.
//! - **Export** is configured by the standard `OTEL_*` variables
//!   ([`OtelSettings`]) and off by default. Spans are batched (the SDK's
//!   batch processor, `OTEL_BSP_*`), metrics read periodically
//!   (`OTEL_METRIC_EXPORT_INTERVAL`), both over OTLP/gRPC; metrics can also
//!   be scraped in the Prometheus format on a port of their own.
//! - **Quiet**: exporting never blocks a call (batches are sent from the
//!   SDK's own thread), and OpenTelemetry's complaints about an unreachable
//!   collector are throttled to one line a minute per kind. A call's span
//!   costs the log layer nothing when the filter leaves its level out (the
//!   layer never sees it), and nothing with JSON logs, which print no span
//!   fields ([`NoSpanFields`]); the text format prints them, so it formats
//!   them when the span opens.
//! - **Redaction** is by construction: spans and metrics carry only names the
//!   gateway chooses (methods, endpoints, codes, paths without query
//!   strings), never request or response fields; log lines never print
//!   credentials, tokens or upstream bodies. A spec in `tests/api/telemetry.rs`
//!   scans everything exported and logged in a full scenario.

mod logs;
mod metrics;
mod otel_env;
mod rpc;
mod upstream;

use std::{io::IsTerminal as _, net::SocketAddr, sync::Arc};

use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    propagation::TraceContextPropagator,
    trace::SdkTracerProvider,
};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{self, FilterExt as _},
    fmt,
    prelude::*,
};

pub use logs::{JsonWithTraceIds, NoSpanFields, OTEL_COMPLAINT_INTERVAL, OtelComplaintThrottle};
pub use metrics::{CacheStatsSnapshot, observe_cache, record_idempotency_refusal, record_ins_post};
pub use otel_env::{OtelEnvError, OtelSettings};
pub use rpc::{RpcTelemetry, RpcTelemetryLayer, record_cache_hit};
pub(crate) use upstream::UpstreamCall;

use crate::config::{LogFormat, LogSettings};

/// The name the gateway reports unless `OTEL_SERVICE_NAME` (or
/// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "tco-gateway";

/// The instrumentation scope of every span and metric.
const SCOPE: &str = "tco-gateway";

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(transparent)]
    Settings(#[from] OtelEnvError),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot build the Prometheus exporter: {0}")]
    Prometheus(String),
    #[error("cannot serve Prometheus metrics on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// The running telemetry pipeline; [`Telemetry::shutdown`] flushes it.
pub struct Telemetry {
    settings: OtelSettings,
    tracer_provider: SdkTracerProvider,
    meter_provider: Option<SdkMeterProvider>,
    prometheus: Option<metrics::PrometheusEndpoint>,
}

impl Telemetry {
    /// Installs the global `tracing` subscriber, propagator and meter provider
    /// and starts the configured exports. Call once, first thing, inside the
    /// Tokio runtime (the OTLP client and the Prometheus endpoint run on it).
    pub async fn init(log: &LogSettings) -> Result<Self, TelemetryError> {
        let settings = OtelSettings::from_env()?;
        let resource = resource();

        let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource.clone());
        if settings.otlp_traces {
            let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
            tracer_provider = tracer_provider.with_batch_exporter(exporter);
        }
        let tracer_provider = tracer_provider.build();
        global::set_text_map_propagator(TraceContextPropagator::new());

        let mut prometheus = None;
        let meter_provider = if settings.otlp_metrics || settings.prometheus.is_some() {
            let mut builder = SdkMeterProvider::builder().with_resource(resource);
            if settings.otlp_metrics {
                let exporter = opentelemetry_otlp::MetricExporter::builder().with_tonic().build()?;
                builder = builder.with_reader(PeriodicReader::builder(exporter).build());
            }
            if let Some(addr) = settings.prometheus {
                let registry = prometheus::Registry::new();
                let reader = opentelemetry_prometheus::exporter()
                    .with_registry(registry.clone())
                    .build()
                    .map_err(|e| TelemetryError::Prometheus(e.to_string()))?;
                builder = builder.with_reader(reader);
                prometheus = Some(
                    metrics::PrometheusEndpoint::serve(addr, registry)
                        .await
                        .map_err(|source| TelemetryError::Bind { addr, source })?,
                );
            }
            let provider = builder.build();
            global::set_meter_provider(provider.clone());
            Some(provider)
        } else {
            None
        };

        install_subscriber(log, &tracer_provider);
        let telemetry = Self { settings, tracer_provider, meter_provider, prometheus };
        telemetry.announce();
        Ok(telemetry)
    }

    /// Where Prometheus metrics are served, when they are.
    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        self.prometheus.as_ref().map(|p| p.local_addr)
    }

    fn announce(&self) {
        let OtelSettings { otlp_traces, otlp_metrics, .. } = self.settings;
        match self.prometheus_addr() {
            Some(addr) => tracing::info!(otlp_traces, otlp_metrics, prometheus = %addr, "telemetry export configured"),
            None => tracing::info!(otlp_traces, otlp_metrics, "telemetry export configured"),
        }
    }

    /// Exports what is still buffered (the last spans, a final metrics
    /// reading) and stops the exports. Blocks while it does, so call it from
    /// a blocking context (`spawn_blocking`) as the process's last step.
    pub fn shutdown(self) {
        if self.settings.otlp_traces
            && let Err(e) = self.tracer_provider.shutdown()
        {
            tracing::warn!(error = %e, "could not flush the last spans");
        }
        if let Some(meter_provider) = self.meter_provider
            && let Err(e) = meter_provider.shutdown()
        {
            tracing::warn!(error = %e, "could not flush the last metrics");
        }
        if let Some(prometheus) = self.prometheus {
            prometheus.stop();
        }
    }
}

/// The resource every span and metric is reported under.
fn resource() -> Resource {
    let named_by_env = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder = Resource::builder().with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if named_by_env { builder.build() } else { builder.with_service_name(DEFAULT_SERVICE_NAME).build() }
}

/// Logs to stdout through the configured filter (`RUST_LOG` wins); spans of the
/// gateway's own code to OpenTelemetry, whatever the log filter says, so
/// `RUST_LOG=warn` quiets the logs without losing traces.
fn install_subscriber(log: &LogSettings, tracer_provider: &SdkTracerProvider) {
    let env_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.filter));
    let throttle = Arc::new(OtelComplaintThrottle::default());
    // The audit trail passes whatever the filter says, unless `log.audit` is off.
    let audit_level = if log.audit { LevelFilter::INFO } else { LevelFilter::OFF };
    let audit_trail = filter::Targets::new().with_target(crate::audit::TARGET, audit_level);
    let log_filter = env_filter.and(filter::filter_fn(move |metadata| throttle.allows(metadata))).or(audit_trail);
    // Colours only for a person at a terminal: a file or a log pipeline gets plain text.
    let ansi = std::io::stdout().is_terminal();
    let log_layer = match log.format {
        LogFormat::Text => fmt::layer().with_ansi(ansi).boxed(),
        LogFormat::Json => fmt::layer().with_ansi(ansi).fmt_fields(NoSpanFields).event_format(JsonWithTraceIds).boxed(),
    };
    let span_filter = filter::Targets::new()
        .with_target("tco_simulator", LevelFilter::OFF)
        .with_target("tco_gateway", LevelFilter::INFO);
    let span_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer(SCOPE))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(span_filter);
    let result = tracing_subscriber::registry().with(log_layer.with_filter(log_filter)).with(span_layer).try_init();
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
}
