//! Log lines: the JSON format (one object a line, with the OpenTelemetry trace
//! and span ids of the call it belongs to, so a log search and a trace meet),
//! and the throttle that keeps OpenTelemetry's own complaints from flooding them.
//!
//! The JSON format names a line's span but never prints its fields, so its log
//! layer keeps none ([`NoSpanFields`]): the layer would otherwise format every
//! call's span fields into text when the span opens and again on every
//! `record`, for lines that never show them.

use std::{
    collections::HashMap,
    fmt,
    sync::Mutex,
    time::{Duration, Instant},
};

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    field::RecordFields,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

/// One JSON object a line: `timestamp`, `level`, `target`, the event's fields
/// (`message` among them), the innermost `span`'s name and, inside a traced
/// call, its `trace_id` and `span_id` in the W3C hex forms.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonWithTraceIds;

impl<S, N> FormatEvent<S, N> for JsonWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into());
        line.insert("level".into(), metadata.level().as_str().into());
        line.insert("target".into(), metadata.target().into());
        event.record(&mut JsonFields(&mut line));
        if let Some(span) = ctx.lookup_current() {
            line.insert("span".into(), span.name().into());
            let context = tracing::Span::current().context();
            let span_context = context.span().span_context().clone();
            if span_context.is_valid() {
                line.insert("trace_id".into(), span_context.trace_id().to_string().into());
                line.insert("span_id".into(), span_context.span_id().to_string().into());
            }
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// The span fields of the JSON log layer: none ([`JsonWithTraceIds`] records
/// an event's own fields itself and prints no span fields).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSpanFields;

impl<'writer> FormatFields<'writer> for NoSpanFields {
    fn format_fields<R: RecordFields>(&self, _: Writer<'writer>, _: R) -> fmt::Result {
        Ok(())
    }
}

/// Collects an event's fields as JSON values.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

/// How often one kind of OpenTelemetry complaint may reach the log.
pub const OTEL_COMPLAINT_INTERVAL: Duration = Duration::from_secs(60);

/// Lets through the first of each kind of event from the OpenTelemetry crates,
/// then at most one per [`OTEL_COMPLAINT_INTERVAL`]: with no collector
/// reachable every batch fails, and one line a minute says so as well as
/// thousands. Everything else passes untouched.
#[derive(Debug, Default)]
pub struct OtelComplaintThrottle {
    last_seen: Mutex<HashMap<&'static str, Instant>>,
}

impl OtelComplaintThrottle {
    pub fn allows(&self, metadata: &Metadata<'_>) -> bool {
        !metadata.is_event() || self.allows_at(metadata.target(), metadata.name(), Instant::now())
    }

    fn allows_at(&self, target: &str, kind: &'static str, now: Instant) -> bool {
        if !target.starts_with("opentelemetry") {
            return true;
        }
        let Ok(mut last_seen) = self.last_seen.lock() else { return true };
        match last_seen.get(kind) {
            Some(seen) if now.duration_since(*seen) < OTEL_COMPLAINT_INTERVAL => false,
            _ => {
                last_seen.insert(kind, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn each_kind_of_opentelemetry_complaint_passes_once_a_minute() {
        let throttle = OtelComplaintThrottle::default();
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        assert!(throttle.allows_at("opentelemetry_sdk", "BatchSpanProcessor.ExportError", at(0)));
        assert!(!throttle.allows_at("opentelemetry_sdk", "BatchSpanProcessor.ExportError", at(5)));
        assert!(throttle.allows_at("opentelemetry_sdk", "PeriodicReader.ExportFailed", at(5)), "another kind");
        assert!(!throttle.allows_at("opentelemetry-otlp", "BatchSpanProcessor.ExportError", at(59)));
        assert!(throttle.allows_at("opentelemetry_sdk", "BatchSpanProcessor.ExportError", at(60)));
    }

    #[test]
    fn a_json_line_names_its_span_and_prints_none_of_its_fields() {
        use tracing_subscriber::prelude::*;

        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&written);
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .fmt_fields(NoSpanFields)
            .event_format(JsonWithTraceIds)
            .with_writer(move || SharedBuffer(Arc::clone(&sink)));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("rpc", rpc.method = "GetSale", tco.cache.hit = tracing::field::Empty);
            let _entered = span.enter();
            span.record("tco.cache.hit", true);
            tracing::info!(sale = 7, "served");
        });
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(
            (line["span"].as_str(), line["message"].as_str(), line["sale"].as_i64()),
            (Some("rpc"), Some("served"), Some(7))
        );
        assert!(!text.contains("GetSale") && !text.contains("cache"), "{text}");
    }

    /// A log writer into memory.
    struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_gateways_own_lines_are_never_throttled() {
        let throttle = OtelComplaintThrottle::default();
        let now = Instant::now();
        assert!((0..10).all(|_| throttle.allows_at("tco_gateway::app", "event", now)));
    }
}
