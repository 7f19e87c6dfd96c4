//! Telemetry specs: the real binary, configured only by the standard `OTEL_*`
//! variables, exports to an in-process OTLP collector; the specs read what
//! arrives (spans, their links, metrics), what the simulator received
//! (`traceparent`) and what the process logged.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tco_gateway::grpc::proto::{
    GetSaleRequest, Sale, StreamSalesRequest, authorization_service_client::AuthorizationServiceClient,
    get_sale_request::Lookup, sales_service_client::SalesServiceClient,
};
use tco_simulator::{
    APPROVING_CARD, DEFAULT_PRIVATE_KEY, DOCUMENTED_SALE_ID, Endpoint, RunningSimulator, SimulatorConfig,
};
use tonic::{Code, metadata::MetadataValue, transport::Channel};

use crate::{
    authorize::{authorize_total, billing, full_refund, token},
    collector::{AttrValue, CollectedSpan, Collector, PointValue, SpanKind},
    helpers::{GatewayProcess, eventually, loopback_addr_in, refusing_addr, spawn_gateway_process, spawn_simulator},
};

/// How long an export may take to arrive: batches go out every 100 ms here.
const EXPORT_WAIT: Duration = Duration::from_secs(15);

/// A caller's W3C trace context, as an instrumented client sends it.
const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

fn caller_traceparent() -> String {
    format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01")
}

/// Exports to `collector` quickly, and logs JSON down to the gateway's debug lines.
fn exporting_to(collector: &Collector) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        ("OTEL_SERVICE_NAME", "tco-gateway-under-test".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200".into()),
        ("TCO_LOG__FORMAT", "json".into()),
        ("TCO_LOG__FILTER", "info,tco_gateway=debug".into()),
    ]
}

fn get_sale(sale_id: &str) -> tonic::Request<GetSaleRequest> {
    tonic::Request::new(GetSaleRequest { lookup: Some(Lookup::SaleId(sale_id.into())), fresh: false })
}

fn with_traceparent<T>(mut request: tonic::Request<T>) -> tonic::Request<T> {
    let traceparent = MetadataValue::try_from(caller_traceparent()).unwrap();
    request.metadata_mut().insert("traceparent", traceparent);
    request
}

fn sales(gateway: &GatewayProcess) -> SalesServiceClient<Channel> {
    SalesServiceClient::new(gateway.channel.clone())
}

fn named<'a>(spans: &'a [CollectedSpan], name: &str) -> Vec<&'a CollectedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test]
async fn a_call_continues_the_callers_trace_with_a_server_span_and_a_client_span_per_upstream_request() {
    let (simulator, collector) = (spawn_simulator().await, Collector::start().await);
    let gateway = spawn_gateway_process(&simulator, &exporting_to(&collector)).await;

    sales(&gateway).get_sale(with_traceparent(get_sale(DOCUMENTED_SALE_ID))).await.unwrap();

    let spans = collector
        .wait_for_spans(
            |spans| {
                !named(spans, "twocheckout.v1.SalesService/GetSale").is_empty()
                    && !named(spans, "GET sales/detail_sale").is_empty()
            },
            EXPORT_WAIT,
        )
        .await;
    let server = named(&spans, "twocheckout.v1.SalesService/GetSale")[0];
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.trace_id, CALLER_TRACE_ID, "the caller's trace continues");
    assert_eq!(server.parent_span_id, CALLER_SPAN_ID, "the caller's span is the parent");
    assert_eq!(server.str("rpc.system"), Some("grpc"));
    assert_eq!(server.str("rpc.service"), Some("twocheckout.v1.SalesService"));
    assert_eq!(server.str("rpc.method"), Some("GetSale"));
    assert_eq!(server.int("rpc.grpc.status_code"), Some(0));
    assert_eq!(server.bool("tco.cache.hit"), Some(false));
    assert_eq!(server.resource.get("service.name"), Some(&AttrValue::Str("tco-gateway-under-test".into())));

    let client = named(&spans, "GET sales/detail_sale")[0];
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(client.trace_id, CALLER_TRACE_ID);
    assert_eq!(client.parent_span_id, server.span_id, "the upstream request is a child of the call");
    assert_eq!(client.str("http.request.method"), Some("GET"));
    assert_eq!(client.str("server.address"), Some("127.0.0.1"));
    assert_eq!(client.int("server.port"), Some(i64::from(simulator.local_addr().port())));
    assert_eq!(client.str("url.path"), Some("/api/sales/detail_sale"), "no query string");
    assert_eq!(client.int("http.response.status_code"), Some(200));

    assert_eq!(
        simulator.traceparents(Endpoint::DetailSale),
        [format!("00-{CALLER_TRACE_ID}-{}-01", client.span_id)],
        "2Checkout received the trace, with the client span as parent"
    );
    let logged = gateway.output();
    let answered = logged.lines().find(|l| l.contains("2Checkout answered")).expect("the debug line of the request");
    let line: serde_json::Value = serde_json::from_str(answered).expect("a JSON log line");
    assert_eq!(line["trace_id"], CALLER_TRACE_ID, "{answered}");
    assert_eq!(line["span_id"], client.span_id.as_str(), "{answered}");
}

#[tokio::test]
async fn a_cache_hit_is_marked_and_makes_no_upstream_request() {
    let (simulator, collector) = (spawn_simulator().await, Collector::start().await);
    let gateway = spawn_gateway_process(&simulator, &exporting_to(&collector)).await;

    sales(&gateway).get_sale(get_sale(DOCUMENTED_SALE_ID)).await.unwrap();
    sales(&gateway).get_sale(get_sale(DOCUMENTED_SALE_ID)).await.unwrap();

    let spans = collector
        .wait_for_spans(|spans| named(spans, "twocheckout.v1.SalesService/GetSale").len() == 2, EXPORT_WAIT)
        .await;
    let hits: Vec<_> =
        named(&spans, "twocheckout.v1.SalesService/GetSale").iter().map(|s| s.bool("tco.cache.hit")).collect();
    assert_eq!(hits, [Some(false), Some(true)]);
    assert_eq!(named(&spans, "GET sales/detail_sale").len(), 1, "one upstream request for two calls");
    assert_ne!(spans[0].trace_id, spans.last().unwrap().trace_id, "without a caller's context each call is a trace");
}

#[tokio::test]
async fn a_vendor_error_is_on_both_spans_and_counted_by_its_code() {
    let (simulator, collector) = (spawn_simulator().await, Collector::start().await);
    let gateway = spawn_gateway_process(&simulator, &exporting_to(&collector)).await;

    let status = sales(&gateway).get_sale(get_sale("1")).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let spans = collector
        .wait_for_spans(|spans| !named(spans, "twocheckout.v1.SalesService/GetSale").is_empty(), EXPORT_WAIT)
        .await;
    let server = named(&spans, "twocheckout.v1.SalesService/GetSale")[0];
    assert_eq!(server.int("rpc.grpc.status_code"), Some(Code::NotFound as i64));
    assert_eq!(server.str("error.type"), Some("RECORD_NOT_FOUND"));
    assert_eq!(server.str("tco.vendor.code"), Some("RECORD_NOT_FOUND"));
    assert_eq!(server.status_code, 0, "NOT_FOUND is the caller's problem, not a server error");
    let client = named(&spans, "GET sales/detail_sale")[0];
    assert_eq!(client.int("http.response.status_code"), Some(400));
    assert_eq!(client.str("tco.vendor.code"), Some("RECORD_NOT_FOUND"));
    assert_eq!(client.status_code, 2, "a refused upstream request is an error span");

    let errors = collector.wait_for_metric("tco.vendor.errors", EXPORT_WAIT).await;
    let counted = errors.points_with("tco.vendor.code", "RECORD_NOT_FOUND");
    assert_eq!(counted.len(), 1, "{errors:?}");
    assert_eq!(counted[0].value, PointValue::Int(1));
}

#[tokio::test]
async fn metrics_cover_calls_upstream_requests_the_cache_and_calls_in_flight() {
    let (simulator, collector) = (spawn_simulator().await, Collector::start().await);
    let gateway = spawn_gateway_process(&simulator, &exporting_to(&collector)).await;
    for _ in 0..3 {
        sales(&gateway).get_sale(get_sale(DOCUMENTED_SALE_ID)).await.unwrap();
    }
    sales(&gateway).get_sale(get_sale("1")).await.unwrap_err();

    // Cumulative figures: wait for an export that has seen all four calls.
    let started = std::time::Instant::now();
    let calls = loop {
        let calls = collector.wait_for_metric("rpc.server.call.duration", EXPORT_WAIT).await;
        if histogram_count(&calls.points_with("rpc.method", "GetSale")) == 4 {
            break calls;
        }
        assert!(started.elapsed() < EXPORT_WAIT, "no export saw the four calls: {calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(calls.unit, "s");
    let ok: Vec<_> = calls.points_with("rpc.grpc.status_code", "0");
    assert_eq!(histogram_count(&ok), 3);
    let PointValue::Histogram { sum, .. } = ok[0].value else { panic!("a histogram: {calls:?}") };
    assert!(sum > 0.0 && sum < 10.0, "three calls took {sum} s");
    assert_eq!(histogram_count(&calls.points_with("rpc.grpc.status_code", "5")), 1);

    let upstream = collector.wait_for_metric("http.client.request.duration", EXPORT_WAIT).await;
    let detail_sale = upstream.points_with("tco.upstream.endpoint", "sales/detail_sale");
    assert_eq!(histogram_count(&detail_sale), 2, "one miss and one error went upstream: {upstream:?}");
    assert_eq!(histogram_count(&upstream.points_with("error.type", "RECORD_NOT_FOUND")), 1);

    let value = |name: &str| {
        let metric = collector.metric(name).unwrap_or_else(|| panic!("no {name}"));
        match metric.points.as_slice() {
            [point] => point.value,
            points => panic!("{name}: {points:?}"),
        }
    };
    assert_eq!(value("tco.cache.hits"), PointValue::Int(2));
    assert_eq!(value("tco.cache.misses"), PointValue::Int(2));
    // The cache counts its entries in its housekeeping, which the gateway runs every second.
    let started = std::time::Instant::now();
    while value("tco.cache.entries") != PointValue::Int(1) {
        assert!(started.elapsed() < EXPORT_WAIT, "tco.cache.entries stays {:?}", value("tco.cache.entries"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let PointValue::Int(bytes) = value("tco.cache.size") else { panic!("tco.cache.size is an integer") };
    assert!(bytes > 1_000, "one sale weighs more than {bytes} bytes");
    let evictions = collector.metric("tco.cache.evictions").expect("tco.cache.evictions");
    assert_eq!(evictions.points_with("reason", "size")[0].value, PointValue::Int(0));
    let in_flight = collector.metric("rpc.server.active_requests").expect("rpc.server.active_requests");
    assert_eq!(in_flight.points_with("rpc.method", "GetSale")[0].value, PointValue::Int(0), "all calls ended");
}

fn histogram_count(points: &[&crate::collector::Point]) -> u64 {
    points
        .iter()
        .map(|p| match p.value {
            PointValue::Histogram { count, .. } => count,
            ref other => panic!("not a histogram point: {other:?}"),
        })
        .sum()
}

/// A full scenario with telemetry on: authorize a card, look the sale up,
/// refund it, and fail a lookup. Nothing secret or personal may appear in
/// anything exported or logged, even at debug level.
#[tokio::test]
async fn no_secret_or_personal_data_reaches_spans_metrics_or_logs() {
    let (simulator, collector) = (spawn_simulator().await, Collector::start().await);
    let mut env = exporting_to(&collector);
    // Only the flush at shutdown can deliver these spans: it is tested too.
    env.retain(|(key, _)| *key != "OTEL_BSP_SCHEDULE_DELAY");
    env.push(("OTEL_BSP_SCHEDULE_DELAY", "600000".into()));
    let mut gateway = spawn_gateway_process(&simulator, &env).await;

    let card_token = token(&simulator, APPROVING_CARD).await;
    let request = authorize_total(card_token.clone(), "19.99");
    let approved = AuthorizationServiceClient::new(gateway.channel.clone())
        .authorize(with_traceparent(tonic::Request::new(request)))
        .await
        .unwrap()
        .into_inner();
    let sale: Sale =
        sales(&gateway).get_sale(get_sale(&approved.order_number)).await.unwrap().into_inner().sale.unwrap();
    sales(&gateway).refund_invoice(full_refund(&approved.order_number)).await.unwrap();
    let documented = sales(&gateway).get_sale(get_sale(DOCUMENTED_SALE_ID)).await.unwrap().into_inner().sale.unwrap();
    sales(&gateway).get_sale(get_sale("1")).await.unwrap_err();
    let query = StreamSalesRequest { page_size: 20, ..Default::default() };
    let mut rows = sales(&gateway).stream_sales(query).await.unwrap().into_inner();
    for _ in 0..30 {
        rows.message().await.unwrap().expect("a row from the second page too");
    }
    drop(rows);

    gateway.terminate();
    assert!(gateway.exit_status(Duration::from_secs(30)).await.success());

    let spans = collector.spans();
    for method in ["AuthorizationService/Authorize", "SalesService/GetSale", "SalesService/RefundInvoice"] {
        let name = format!("twocheckout.v1.{method}");
        assert!(!named(&spans, &name).is_empty(), "the shutdown flush delivered {name}");
    }
    assert!(!named(&spans, "POST authService").is_empty());
    let clients: Vec<_> = spans.iter().filter(|s| s.kind == SpanKind::Client).collect();
    assert!(clients.len() >= 7, "authorize, gets, refund and its reads, two listing pages: {clients:?}");
    for client in clients {
        let parent = spans.iter().find(|s| s.span_id == client.parent_span_id);
        assert!(
            parent.is_some_and(|p| p.kind == SpanKind::Server && p.trace_id == client.trace_id),
            "{} is not a child of its call's span (writes and streams run in tasks of their own)",
            client.name
        );
    }

    let defaults = SimulatorConfig::default();
    let buyer = billing();
    let mut secrets = vec![
        ("API password", defaults.api_password.clone()),
        ("private key", DEFAULT_PRIVATE_KEY.to_owned()),
        ("card token", card_token),
        ("card number", APPROVING_CARD.to_owned()),
        ("billing e-mail", buyer.email.clone()),
        ("card holder name", buyer.name.clone()),
    ];
    for (whose, sale) in [("new sale", &sale), ("documented sale", &documented)] {
        let customer = sale.customer.as_ref().expect("a customer");
        assert!(!customer.email_address.is_empty() && !customer.first_name.is_empty());
        secrets.push((whose, customer.email_address.clone()));
        secrets.push((whose, format!("{} {}", customer.first_name, customer.last_name)));
    }
    let exported = collector.everything_exported();
    let logged = gateway.output();
    assert!(exported.len() > 1_000 && logged.lines().count() > 5, "there is something to scan");
    for (what, secret) in secrets {
        assert!(!exported.contains(&secret), "the {what} ({secret}) was exported");
        assert!(!logged.contains(&secret), "the {what} ({secret}) was logged");
    }
}

/// A collector that accepts connections and never answers, as one behind a
/// firewall that drops packets does: every export hangs until its timeout.
/// Counts the connections the gateway opened to it.
async fn black_hole_collector() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(connection);
        }
    });
    (endpoint, connections)
}

#[tokio::test]
async fn an_unreachable_collector_holds_up_no_call_and_floods_no_log() {
    let simulator = spawn_simulator().await;
    // Refused outright (the port is held, so nothing else can take it meanwhile).
    let (_held, refusing) = refusing_addr();
    calls_stay_prompt_and_the_log_quiet(&simulator, format!("http://{refusing}"), || true).await;
    // Never answering: every export hangs until its timeout.
    let (black_hole, export_attempts) = black_hole_collector().await;
    calls_stay_prompt_and_the_log_quiet(&simulator, black_hole, || export_attempts.load(Ordering::SeqCst) > 0).await;
}

/// Runs a gateway exporting to `collector` and makes calls once `exporting`
/// says an export is under way: each must answer promptly, and OpenTelemetry's
/// complaints must not fill the log.
async fn calls_stay_prompt_and_the_log_quiet(
    simulator: &RunningSimulator,
    collector: String,
    exporting: impl FnMut() -> bool,
) {
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector),
        // Far longer than a call may take: an export in a call's path would hold it up.
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "60000".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "20".into()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "50".into()),
    ];
    let gateway = spawn_gateway_process(simulator, &env).await;
    let announced = gateway.wait_for_line("telemetry export configured").await;
    assert!(announced.contains("otlp_traces") && announced.contains("true"), "export is on: {announced}");
    let mut client = sales(&gateway);
    let mut call = async || {
        let answered = tokio::time::timeout(Duration::from_secs(5), client.get_sale(get_sale(DOCUMENTED_SALE_ID)));
        answered.await.expect("calls are not held up by exporting").unwrap();
    };
    call().await;
    eventually("an export to the collector", exporting).await;
    // Every further call ends its span while exports fail or hang.
    for _ in 0..40 {
        call().await;
    }
    let logged = gateway.output();
    let complaints: Vec<_> = logged.lines().filter(|l| l.contains("opentelemetry")).collect();
    assert!(complaints.len() <= 4, "at most once per kind of failure, not once per batch:\n{}", complaints.join("\n"));
}

#[tokio::test]
async fn prometheus_scrapes_the_same_metrics_on_a_port_of_their_own() {
    let simulator = spawn_simulator().await;
    let env = [
        ("OTEL_METRICS_EXPORTER", "prometheus".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "0".to_owned()),
    ];
    let gateway = spawn_gateway_process(&simulator, &env).await;
    // Port 0: the endpoint reports the port it bound in the start-up line.
    let announced = gateway.wait_for_line("telemetry export configured").await;
    let port = loopback_addr_in(&announced).unwrap_or_else(|| panic!("no Prometheus address in {announced}")).port();
    sales(&gateway).get_sale(get_sale(DOCUMENTED_SALE_ID)).await.unwrap();
    sales(&gateway).get_sale(get_sale(DOCUMENTED_SALE_ID)).await.unwrap();

    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert!(scrape.status().is_success());
    assert!(scrape.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = scrape.text().await.unwrap();
    let sample = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}… in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(sample("tco_cache_hits_total{"), "1");
    assert_eq!(sample("tco_cache_misses_total{"), "1");
    let get_sale_ok = r#"rpc_server_call_duration_seconds_count{rpc_grpc_status_code="0",rpc_method="GetSale""#;
    assert_eq!(sample(get_sale_ok), "2");
    assert!(text.contains("http_client_request_duration_seconds_count{"), "{text}");
    assert!(text.contains("rpc_server_active_requests{"), "{text}");
    let not_found = reqwest::get(format!("http://127.0.0.1:{port}/other")).await.unwrap();
    assert_eq!(not_found.status(), 404);
}
