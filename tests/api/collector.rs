//! An in-process OTLP/gRPC collector: the gateway exports its spans and metrics
//! here, and the specs assert on what arrived.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use opentelemetry_proto::tonic::{
    collector::{
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::{AnyValue, KeyValue, any_value::Value},
    metrics::v1::{Metric, NumberDataPoint, metric::Data, number_data_point},
    trace::v1::{Span, span},
};
use tokio::{net::TcpListener, sync::oneshot, time::Instant};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, transport::Server};

/// How often the `wait_for_*` helpers look again.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A running collector. Clones share it; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct Collector {
    addr: SocketAddr,
    store: Store,
    /// Dropping the last sender resolves the server's shutdown signal.
    _stop: Arc<oneshot::Sender<()>>,
}

impl Collector {
    pub async fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the collector binds");
        let addr = listener.local_addr().expect("the collector's address");
        let store = Store::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = Server::builder()
            .add_service(TraceServiceServer::new(store.clone()))
            .add_service(MetricsServiceServer::new(store.clone()))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                stopped.await.ok();
            });
        tokio::spawn(async move { server.await.expect("the collector serves") });
        Collector { addr, store, _stop: Arc::new(stop) }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT` (or an exporter's `with_endpoint`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        let mut spans = Vec::new();
        for export in self.store.lock().iter() {
            let Export::Traces(request) = export else { continue };
            for resource_spans in &request.resource_spans {
                let resource = attributes(resource_spans.resource.iter().flat_map(|r| &r.attributes));
                for span in resource_spans.scope_spans.iter().flat_map(|scope| &scope.spans) {
                    spans.push(CollectedSpan::new(span, &resource));
                }
            }
        }
        spans
    }

    /// Every metric received so far, one entry per metric per export, in arrival order.
    pub fn metrics(&self) -> Vec<CollectedMetric> {
        let mut metrics = Vec::new();
        for export in self.store.lock().iter() {
            let Export::Metrics(request) = export else { continue };
            for resource_metrics in &request.resource_metrics {
                let scopes = resource_metrics.scope_metrics.iter();
                metrics.extend(scopes.flat_map(|scope| &scope.metrics).map(CollectedMetric::new));
            }
        }
        metrics
    }

    /// The latest export of `name`: with cumulative temporality, the current totals.
    pub fn metric(&self, name: &str) -> Option<CollectedMetric> {
        self.metrics().into_iter().rev().find(|metric| metric.name == name)
    }

    /// Every raw export request, spans and metrics, resources, attributes and events
    /// included, for searching for what must never leave the process. Strings appear
    /// `Debug`-escaped: a needle with quotes or backslashes would not match verbatim.
    pub fn everything_exported(&self) -> String {
        self.store.lock().iter().map(|export| format!("{export:#?}\n")).collect()
    }

    /// Polls until `pred` holds for the spans received so far and returns them.
    pub async fn wait_for_spans(
        &self,
        pred: impl Fn(&[CollectedSpan]) -> bool,
        timeout: Duration,
    ) -> Vec<CollectedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if pred(&spans) {
                return spans;
            }
            if Instant::now() >= deadline {
                panic!("the spans did not arrive within {timeout:?}; the collector holds:\n{}", describe(&spans));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Polls until a metric called `name` has arrived and returns its latest export.
    pub async fn wait_for_metric(&self, name: &str, timeout: Duration) -> CollectedMetric {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(metric) = self.metric(name) {
                return metric;
            }
            if Instant::now() >= deadline {
                let mut names: Vec<String> = self.metrics().into_iter().map(|metric| metric.name).collect();
                names.sort();
                names.dedup();
                panic!("no metric {name:?} arrived within {timeout:?}; the collector holds {names:?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Lookups on the spans a collector returns.
pub trait SpanList {
    /// The first span called `name`; panics, listing what there is, when there is none.
    fn named(&self, name: &str) -> &CollectedSpan;
    fn has_span(&self, name: &str) -> bool;
}

impl SpanList for [CollectedSpan] {
    #[track_caller]
    fn named(&self, name: &str) -> &CollectedSpan {
        match self.iter().find(|span| span.name == name) {
            Some(span) => span,
            None => panic!("no span {name:?} among:\n{}", describe(self)),
        }
    }

    fn has_span(&self, name: &str) -> bool {
        self.iter().any(|span| span.name == name)
    }
}

/// One line per span, enough to see what arrived and how it nests.
fn describe(spans: &[CollectedSpan]) -> String {
    if spans.is_empty() {
        return "  (no spans)".to_owned();
    }
    let line = |span: &CollectedSpan| {
        let parent = if span.parent_span_id.is_empty() { "none" } else { &span.parent_span_id };
        format!("  {:?} {:?} trace={} span={} parent={parent}\n", span.name, span.kind, span.trace_id, span.span_id)
    };
    spans.iter().map(line).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectedSpan {
    pub name: String,
    pub kind: SpanKind,
    /// Lowercase hex, 32 characters.
    pub trace_id: String,
    /// Lowercase hex, 16 characters.
    pub span_id: String,
    /// Lowercase hex; empty for a root span.
    pub parent_span_id: String,
    pub attributes: BTreeMap<String, AttrValue>,
    /// The exporting process's resource (`service.name`, …).
    pub resource: BTreeMap<String, AttrValue>,
    /// 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    /// Event names, in order.
    pub events: Vec<String>,
    /// Each event's attributes, in the same order as `events`.
    pub event_attributes: Vec<BTreeMap<String, AttrValue>>,
}

impl CollectedSpan {
    fn new(span: &Span, resource: &BTreeMap<String, AttrValue>) -> Self {
        CollectedSpan {
            name: span.name.clone(),
            kind: SpanKind::from(span.kind),
            trace_id: hex(&span.trace_id),
            span_id: hex(&span.span_id),
            parent_span_id: hex(&span.parent_span_id),
            attributes: attributes(&span.attributes),
            resource: resource.clone(),
            status_code: span.status.as_ref().map_or(0, |status| status.code),
            events: span.events.iter().map(|event| event.name.clone()).collect(),
            event_attributes: span.events.iter().map(|event| attributes(&event.attributes)).collect(),
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(AttrValue::as_str)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.attributes.get(key).and_then(AttrValue::as_int)
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.attributes.get(key).and_then(AttrValue::as_bool)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl From<i32> for SpanKind {
    fn from(kind: i32) -> Self {
        match span::SpanKind::try_from(kind) {
            Ok(span::SpanKind::Internal) => SpanKind::Internal,
            Ok(span::SpanKind::Server) => SpanKind::Server,
            Ok(span::SpanKind::Client) => SpanKind::Client,
            Ok(span::SpanKind::Producer) => SpanKind::Producer,
            Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
            Ok(span::SpanKind::Unspecified) | Err(_) => SpanKind::Unspecified,
        }
    }
}

/// An attribute value; arrays, maps, bytes and empty values are rendered into `Other`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    Other(String),
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(value) => Some(value),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            AttrValue::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(value) => Some(*value),
            _ => None,
        }
    }
}

impl From<Option<&AnyValue>> for AttrValue {
    fn from(value: Option<&AnyValue>) -> Self {
        match value.and_then(|value| value.value.as_ref()) {
            Some(Value::StringValue(value)) => AttrValue::Str(value.clone()),
            Some(Value::IntValue(value)) => AttrValue::Int(*value),
            Some(Value::DoubleValue(value)) => AttrValue::Double(*value),
            Some(Value::BoolValue(value)) => AttrValue::Bool(*value),
            Some(Value::ArrayValue(array)) => {
                let items: Vec<String> =
                    array.values.iter().map(|item| AttrValue::from(Some(item)).to_string()).collect();
                AttrValue::Other(format!("[{}]", items.join(", ")))
            }
            Some(Value::KvlistValue(list)) => {
                let entries: Vec<String> = list
                    .values
                    .iter()
                    .map(|entry| format!("{}: {}", entry.key, AttrValue::from(entry.value.as_ref())))
                    .collect();
                AttrValue::Other(format!("{{{}}}", entries.join(", ")))
            }
            Some(Value::BytesValue(bytes)) => AttrValue::Other(format!("0x{}", hex(bytes))),
            Some(Value::StringValueStrindex(index)) => AttrValue::Other(format!("string table #{index}")),
            None => AttrValue::Other(String::new()),
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(value) | AttrValue::Other(value) => f.write_str(value),
            AttrValue::Int(value) => write!(f, "{value}"),
            AttrValue::Double(value) => write!(f, "{value}"),
            AttrValue::Bool(value) => write!(f, "{value}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectedMetric {
    pub name: String,
    pub unit: String,
    /// One point per attribute set.
    pub points: Vec<Point>,
}

impl CollectedMetric {
    fn new(metric: &Metric) -> Self {
        let histogram_point = |attrs: &[KeyValue], count: u64, sum: f64| Point {
            attributes: attributes(attrs),
            value: PointValue::Histogram { count, sum },
        };
        let points = match &metric.data {
            Some(Data::Sum(sum)) => number_points(&metric.name, &sum.data_points),
            Some(Data::Gauge(gauge)) => number_points(&metric.name, &gauge.data_points),
            Some(Data::Histogram(histogram)) => histogram
                .data_points
                .iter()
                .map(|point| histogram_point(&point.attributes, point.count, point.sum.unwrap_or_default()))
                .collect(),
            Some(Data::ExponentialHistogram(histogram)) => histogram
                .data_points
                .iter()
                .map(|point| histogram_point(&point.attributes, point.count, point.sum.unwrap_or_default()))
                .collect(),
            // The SDK never sends summaries, but a count and a sum are all a spec reads anyway.
            Some(Data::Summary(summary)) => summary
                .data_points
                .iter()
                .map(|point| histogram_point(&point.attributes, point.count, point.sum))
                .collect(),
            None => Vec::new(),
        };
        CollectedMetric { name: metric.name.clone(), unit: metric.unit.clone(), points }
    }

    /// The points whose attribute `key` reads `value` (`"0"` matches the integer 0, as a
    /// Prometheus label would).
    pub fn points_with(&self, key: &str, value: &str) -> Vec<&Point> {
        self.points.iter().filter(|point| point.attributes.get(key).is_some_and(|v| v.to_string() == value)).collect()
    }

    /// A counter's or gauge's values added up over all attribute sets; for a
    /// histogram, the sum of everything it recorded.
    pub fn total(&self) -> f64 {
        self.points.iter().map(|point| point.value.as_f64()).sum()
    }

    /// How many measurements a histogram recorded, over all attribute sets.
    #[track_caller]
    pub fn histogram_count(&self) -> u64 {
        let mut total = 0;
        for point in &self.points {
            let PointValue::Histogram { count, .. } = point.value else {
                panic!("{} is not a histogram: {:?}", self.name, point.value);
            };
            total += count;
        }
        total
    }
}

fn number_points(metric: &str, points: &[NumberDataPoint]) -> Vec<Point> {
    let value = |point: &NumberDataPoint| match point.value {
        Some(number_data_point::Value::AsInt(value)) => PointValue::Int(value),
        Some(number_data_point::Value::AsDouble(value)) => PointValue::Double(value),
        None => panic!("metric {metric} has a point without a value: {point:?}"),
    };
    points.iter().map(|point| Point { attributes: attributes(&point.attributes), value: value(point) }).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub attributes: BTreeMap<String, AttrValue>,
    pub value: PointValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointValue {
    Int(i64),
    Double(f64),
    /// Explicit-bucket and exponential histograms alike.
    Histogram {
        count: u64,
        sum: f64,
    },
}

impl PointValue {
    /// The number, or a histogram's sum.
    pub fn as_f64(&self) -> f64 {
        match *self {
            // Counts in a spec stay far below 2^53, where this conversion is exact.
            PointValue::Int(value) => value as f64,
            PointValue::Double(value) | PointValue::Histogram { sum: value, .. } => value,
        }
    }
}

fn attributes<'a>(pairs: impl IntoIterator<Item = &'a KeyValue>) -> BTreeMap<String, AttrValue> {
    pairs.into_iter().map(|pair| (pair.key.clone(), AttrValue::from(pair.value.as_ref()))).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Raw requests, kept whole so `everything_exported` shows exactly what was sent.
#[derive(Debug)]
enum Export {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
}

#[derive(Clone, Default)]
struct Store(Arc<Mutex<Vec<Export>>>);

impl Store {
    fn lock(&self) -> MutexGuard<'_, Vec<Export>> {
        self.0.lock().expect("the collector's store is never left mid-update")
    }
}

#[tonic::async_trait]
impl TraceService for Store {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.lock().push(Export::Traces(request.into_inner()));
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Store {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.lock().push(Export::Metrics(request.into_inner()));
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tokio::test]
async fn collector_receives_what_the_otlp_exporter_sends() {
    use opentelemetry::{
        Context, KeyValue,
        metrics::MeterProvider as _,
        trace::{self, Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _},
    };
    use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig as _};
    use opentelemetry_sdk::{
        Resource,
        metrics::{PeriodicReader, SdkMeterProvider},
        trace::SdkTracerProvider,
    };

    const TIMEOUT: Duration = Duration::from_secs(10);
    let collector = Collector::start().await;
    let resource = Resource::builder().with_service_name("collector-self-test").build();
    let span_exporter =
        SpanExporter::builder().with_tonic().with_endpoint(collector.endpoint()).build().expect("span exporter");
    let tracer_provider =
        SdkTracerProvider::builder().with_resource(resource.clone()).with_batch_exporter(span_exporter).build();
    let metric_exporter =
        MetricExporter::builder().with_tonic().with_endpoint(collector.endpoint()).build().expect("metric exporter");
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(PeriodicReader::builder(metric_exporter).build())
        .build();

    let tracer = tracer_provider.tracer("collector-self-test");
    let parent = tracer
        .span_builder("authorize")
        .with_kind(trace::SpanKind::Server)
        .with_attributes([
            KeyValue::new("payment.currency", "XTS-self-test"),
            KeyValue::new("payment.attempt", 2_i64),
            KeyValue::new("payment.retried", true),
        ])
        .start(&tracer);
    let parent = Context::current_with_span(parent);
    let mut child =
        tracer.span_builder("upstream call").with_kind(trace::SpanKind::Client).start_with_context(&tracer, &parent);
    child.add_event("retrying", vec![]);
    child.set_status(trace::Status::error("upstream said no"));
    child.end();
    parent.span().end();

    let meter = meter_provider.meter("collector-self-test");
    let payments = meter.u64_counter("payments").with_unit("{payment}").build();
    payments.add(2, &[KeyValue::new("outcome", "approved")]);
    payments.add(1, &[KeyValue::new("outcome", "declined")]);
    let latency = meter.f64_histogram("latency").with_unit("s").build();
    latency.record(0.25, &[]);
    latency.record(0.5, &[]);
    meter.i64_gauge("queue.depth").build().record(7, &[]);

    // Flushing blocks until the collector answers, over a connection this runtime's
    // thread drives: so it must block some other thread.
    tokio::task::spawn_blocking(move || {
        tracer_provider.force_flush().expect("spans flush");
        meter_provider.force_flush().expect("metrics flush");
        tracer_provider.shutdown().expect("tracer provider shuts down");
        meter_provider.shutdown().expect("meter provider shuts down");
    })
    .await
    .expect("the providers flush and shut down");

    let spans =
        collector.wait_for_spans(|spans| spans.has_span("authorize") && spans.has_span("upstream call"), TIMEOUT).await;
    let (parent, child) = (spans.named("authorize"), spans.named("upstream call"));
    assert_eq!((parent.kind, child.kind), (SpanKind::Server, SpanKind::Client));
    assert_eq!(parent.str("payment.currency"), Some("XTS-self-test"));
    assert_eq!(parent.int("payment.attempt"), Some(2));
    assert_eq!(parent.bool("payment.retried"), Some(true));
    assert_eq!(parent.resource.get("service.name"), Some(&AttrValue::Str("collector-self-test".into())));
    assert_eq!(parent.parent_span_id, "");
    assert_eq!(child.parent_span_id, parent.span_id);
    assert_eq!(child.trace_id, parent.trace_id);
    let is_lower_hex = |id: &str| id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    assert!(parent.trace_id.len() == 32 && is_lower_hex(&parent.trace_id), "{}", parent.trace_id);
    assert!(parent.span_id.len() == 16 && is_lower_hex(&parent.span_id), "{}", parent.span_id);
    assert_eq!(child.status_code, 2);
    assert_eq!(child.events, ["retrying"]);

    let payments = collector.wait_for_metric("payments", TIMEOUT).await;
    assert_eq!(payments.unit, "{payment}");
    assert_eq!(payments.total(), 3.0);
    let declined = payments.points_with("outcome", "declined");
    assert_eq!(declined.iter().map(|point| point.value).collect::<Vec<_>>(), [PointValue::Int(1)]);
    let latency = collector.wait_for_metric("latency", TIMEOUT).await;
    assert_eq!((latency.unit.as_str(), latency.histogram_count(), latency.total()), ("s", 2, 0.75));
    let depth = collector.wait_for_metric("queue.depth", TIMEOUT).await;
    assert_eq!(depth.points.iter().map(|point| point.value).collect::<Vec<_>>(), [PointValue::Int(7)]);

    // Shutdown exports the metrics once more; `metric` reads the latest.
    assert!(collector.metrics().iter().filter(|metric| metric.name == "payments").count() >= 2);
    assert_eq!(collector.metric("payments").map(|metric| metric.total()), Some(3.0));
    let everything = collector.everything_exported();
    assert!(everything.contains("XTS-self-test") && everything.contains("declined"), "{everything}");
}
