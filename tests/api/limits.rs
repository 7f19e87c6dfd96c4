//! The gateway's load limits, against the real simulator (behind a stand-in
//! that holds requests when a spec needs calls in flight): load shedding past
//! `server.max_concurrent_calls`, the default deadline, the bounds of a
//! StreamSales, and the cap on concurrent requests to 2Checkout.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{ConnectInfo, State},
    http::{HeaderMap, Method, Uri},
    response::Response,
};
use tco_gateway::grpc::proto::{
    GetSaleRequest, ListSalesRequest, StreamSalesRequest, get_sale_request::Lookup,
    sales_service_client::SalesServiceClient,
};
use tco_simulator::{Endpoint, Fault, REFUNDABLE_SALE_ID, RunningSimulator, SimulatorConfig};
use tokio::sync::watch;
use tokio_stream::StreamExt as _;
use tonic::{Code, Status};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::{
    helpers::{
        GENEROUS_DEADLINE, NEVER, PATIENCE, TestApp, connect_with_window, eventually, expect_error, idle_holders,
        set_clock_after, spawn_gateway, spawn_simulator, spawn_simulator_with, until_the_walk_ends, with_deadline,
    },
    stand_in::{pass_on, respond},
    writes::refund_of,
};

/// A stand-in for 2Checkout that holds every request while it is closed and
/// passes it on to the simulator once opened, counting what it sees.
struct HeldUpstream {
    addr: SocketAddr,
    state: Arc<Held>,
}

struct Held {
    simulator: SocketAddr,
    http: reqwest::Client,
    open: watch::Sender<bool>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    list_sales: AtomicUsize,
    connections: Mutex<HashSet<SocketAddr>>,
}

/// Decrements the in-flight count however the request ends (answered or abandoned).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn hold(
    State(held): State<Arc<Held>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    held.connections.lock().unwrap().insert(peer);
    if uri.path().ends_with("list_sales") {
        held.list_sales.fetch_add(1, Ordering::SeqCst);
    }
    let now = held.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    held.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(&held.in_flight);
    let mut open = held.open.subscribe();
    let _ = open.wait_for(|open| *open).await;
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str()).to_owned();
    let (status, content_type, text) = pass_on(&held.http, held.simulator, method, &path, headers, body).await;
    respond(status, &content_type, Body::from(text))
}

impl HeldUpstream {
    /// Starts closed: every request waits until [`HeldUpstream::open`].
    async fn start(simulator: &RunningSimulator) -> Self {
        let state = Arc::new(Held {
            simulator: simulator.local_addr(),
            http: reqwest::Client::new(),
            open: watch::channel(false).0,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            list_sales: AtomicUsize::new(0),
            connections: Mutex::new(HashSet::new()),
        });
        let router = Router::new().fallback(hold).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap()
        });
        Self { addr, state }
    }

    fn open(&self) {
        self.state.open.send_replace(true);
    }

    fn close(&self) {
        self.state.open.send_replace(false);
    }

    fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    fn most_in_flight(&self) -> usize {
        self.state.most_in_flight.load(Ordering::SeqCst)
    }

    fn connections(&self) -> usize {
        self.state.connections.lock().unwrap().len()
    }

    /// A gateway whose Admin API is this stand-in, with extra settings.
    async fn gateway(&self, simulator: &Arc<RunningSimulator>, overrides: &[(&str, &str)]) -> TestApp {
        let base_url =
            simulator.admin_api_base_url().replace(&simulator.local_addr().to_string(), &self.addr.to_string());
        let mut settings = vec![("admin_api.base_url", base_url.as_str())];
        settings.extend_from_slice(overrides);
        spawn_gateway(simulator, &settings).await
    }
}

fn by_sale(sale_id: &str) -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(sale_id.into())), fresh: false }
}

/// The ids of `count` sales of the simulator, in one listing.
async fn sale_ids(app: &TestApp, count: usize) -> Vec<String> {
    let request = ListSalesRequest { page_size: i32::try_from(count).unwrap(), ..Default::default() };
    let page = app.sales.clone().list_sales(request).await.unwrap().into_inner();
    page.sales.into_iter().map(|sale| sale.sale_id).collect()
}

#[tokio::test]
async fn a_call_past_max_concurrent_calls_is_shed_with_retry_info_and_health_still_answers() {
    let simulator = spawn_simulator().await;
    let held = HeldUpstream::start(&simulator).await;
    let app = held.gateway(&simulator, &[("server.max_concurrent_calls", "2")]).await;
    held.open();
    let ids = sale_ids(&app, 3).await;
    held.close();

    let in_flight: Vec<_> = ids[..2]
        .iter()
        .map(|id| {
            let mut sales = app.sales.clone();
            let request = by_sale(id);
            tokio::spawn(async move { sales.get_sale(request).await })
        })
        .collect();
    eventually("both calls to reach the upstream", || held.in_flight() == 2).await;

    let status = app.sales.clone().get_sale(by_sale(&ids[2])).await.unwrap_err();
    let details = expect_error(&status, Code::Unavailable, "OVERLOADED");
    assert!(details.retry_info().is_some(), "a shed call says when to retry");
    assert_eq!(details.error_info().unwrap().metadata["limit"], "2");
    assert_eq!(held.most_in_flight(), 2, "the shed call did no work");

    let mut health = HealthClient::new(app.channel.clone());
    let answer = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    assert_eq!(answer.status(), ServingStatus::Serving, "health is never shed");

    held.open();
    for call in in_flight {
        call.await.unwrap().unwrap();
    }
    app.sales.clone().get_sale(by_sale(&ids[2])).await.expect("a finished call frees its slot");
}

#[tokio::test]
async fn an_open_stream_holds_its_slot_until_it_ends() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("server.max_concurrent_calls", "1")]).await;
    let mut stream = app.sales.clone().stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    stream.next().await.unwrap().unwrap();

    let status = app.sales.clone().list_sales(ListSalesRequest::default()).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "OVERLOADED");

    drop(stream);
    // The slot comes free once the gateway hears of the cancel: a fresh call until one is admitted.
    let started = std::time::Instant::now();
    while let Err(status) = app.sales.clone().list_sales(ListSalesRequest::default()).await {
        expect_error(&status, Code::Unavailable, "OVERLOADED");
        assert!(started.elapsed() < PATIENCE, "the cancelled stream never freed its slot");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_stream_whose_reader_stalled_gives_its_slot_back_though_its_caller_stays() {
    let simulator = spawn_simulator_with(SimulatorConfig { generated_sales: 3000, ..Default::default() }).await;
    let app =
        spawn_gateway(&simulator, &[("server.max_concurrent_calls", "1"), ("stream_sales.stall_timeout", "300ms")])
            .await;
    let idle = idle_holders(&app).await;
    let mut sales = SalesServiceClient::new(connect_with_window(app.addr, Some(4096)).await);
    let mut stream = sales.stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    stream.next().await.unwrap().unwrap();
    let status = app.sales.clone().list_sales(ListSalesRequest::default()).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "OVERLOADED");

    until_the_walk_ends(&app, idle).await;
    app.sales.clone().list_sales(ListSalesRequest::default()).await.expect("the stalled stream's slot is free");
    drop(stream);
}

#[tokio::test]
async fn a_call_without_a_deadline_gets_the_default_deadline_against_a_hung_upstream() {
    let simulator = spawn_simulator().await;
    // No request timeout cuts the hung request: only the default deadline can.
    let app =
        spawn_gateway(&simulator, &[("server.default_deadline", "1s"), ("admin_api.request_timeout", "600s")]).await;
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(NEVER));
    let mut sales = app.sales.clone();
    let call = sales.get_sale(by_sale(REFUNDABLE_SALE_ID));
    let status = tokio::time::timeout(PATIENCE, call).await.expect("the default deadline ends the call").unwrap_err();
    expect_error(&status, Code::DeadlineExceeded, "UPSTREAM_TIMEOUT");
}

#[tokio::test]
async fn a_callers_own_deadline_wins_over_the_default() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("server.default_deadline", "1s")]).await;
    // Slower than the default deadline, well within the caller's own.
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_secs(2)));
    let request = with_deadline(by_sale(REFUNDABLE_SALE_ID), GENEROUS_DEADLINE);
    app.sales.clone().get_sale(request).await.expect("the caller's 5 s deadline, not the default 1 s");
}

/// The rows a stream gives before it ends, and the status it ends with (OK as `None`).
async fn drain(mut stream: tonic::Streaming<tco_gateway::grpc::proto::StreamSalesResponse>) -> (usize, Option<Status>) {
    let mut rows = 0;
    while let Some(row) = stream.next().await {
        match row {
            Ok(_) => rows += 1,
            Err(status) => return (rows, Some(status)),
        }
    }
    (rows, None)
}

#[tokio::test]
async fn a_stream_ends_with_resource_exhausted_after_max_pages_having_sent_their_rows() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("stream_sales.max_pages", "2")]).await;
    let request = StreamSalesRequest { page_size: 9, ..Default::default() };
    let stream = app.sales.clone().stream_sales(request).await.unwrap().into_inner();
    let (rows, end) = drain(stream).await;
    assert_eq!(rows, 18, "every row of the two pages comes first");
    let details = expect_error(&end.expect("a status, not OK"), Code::ResourceExhausted, "STREAM_PAGE_LIMIT");
    assert_eq!(details.error_info().unwrap().metadata["maxPages"], "2");
    assert_eq!(simulator.request_count(Endpoint::ListSales), 2, "no third page was fetched");
}

#[tokio::test]
async fn a_stream_ends_with_deadline_exceeded_after_max_duration_and_stops_paging() {
    let simulator = spawn_simulator().await;
    let app =
        spawn_gateway(&simulator, &[("stream_sales.max_duration", "500ms"), ("admin_api.request_timeout", "600s")])
            .await;
    let idle = idle_holders(&app).await;
    // The first page never comes: only the stream's own bound ends it.
    simulator.inject_fault(Endpoint::ListSales, Fault::delay(NEVER));
    let stream = app.sales.clone().stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    let (rows, end) = tokio::time::timeout(PATIENCE, drain(stream)).await.expect("max_duration ends the stream");
    assert_eq!(rows, 0);
    let details = expect_error(&end.expect("a status, not OK"), Code::DeadlineExceeded, "STREAM_DURATION_LIMIT");
    assert_eq!(details.error_info().unwrap().metadata["maxDurationMs"], "500");
    until_the_walk_ends(&app, idle).await;
    assert_eq!(simulator.request_count(Endpoint::ListSales), 1, "the page in flight was abandoned, no other sent");
}

#[tokio::test]
async fn a_reader_that_stops_reading_ends_its_stream_its_buffer_and_its_paging() {
    let simulator = spawn_simulator_with(SimulatorConfig { generated_sales: 3000, ..Default::default() }).await;
    let app = spawn_gateway(&simulator, &[("stream_sales.stall_timeout", "300ms")]).await;
    let idle = idle_holders(&app).await;
    // A small window makes the transport push back as soon as the client stops reading.
    let mut sales = SalesServiceClient::new(connect_with_window(app.addr, Some(4096)).await);
    let mut stream = sales.stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    stream.next().await.unwrap().unwrap();

    // The reader stops: the walk gives up on it and ends (its rows are dropped with it).
    until_the_walk_ends(&app, idle).await;
    let pages_fetched = simulator.request_count(Endpoint::ListSales);

    let (rows, end) = drain(stream).await;
    let details = expect_error(&end.expect("a status, not OK"), Code::Aborted, "STREAM_READER_STALLED");
    assert_eq!(details.error_info().unwrap().metadata["stallTimeoutMs"], "300");
    assert!(rows < 3000, "the walk did not go on without its reader ({rows} rows)");
    assert_eq!(simulator.request_count(Endpoint::ListSales), pages_fetched, "no page after the walk ended");
}

#[tokio::test]
async fn past_the_upstream_cap_callers_wait_then_get_unavailable_when_their_deadline_would_pass() {
    let simulator = spawn_simulator().await;
    let held = HeldUpstream::start(&simulator).await;
    let app = held.gateway(&simulator, &[("admin_api.max_concurrent_requests", "3")]).await;
    held.open();
    let ids = sale_ids(&app, 8).await;
    held.close();
    let connections_before = held.connections();

    // Three cold lookups take the three slots and are held upstream…
    let lookup = |id: &String, deadline: Duration| {
        let mut sales = app.sales.clone();
        let request = with_deadline(by_sale(id), deadline);
        tokio::spawn(async move { sales.get_sale(request).await })
    };
    let holders: Vec<_> = ids[..3].iter().map(|id| lookup(id, GENEROUS_DEADLINE)).collect();
    eventually("the cap's worth of requests to reach the upstream", || held.in_flight() == 3).await;
    // …so five more wait in the gateway, and end before their 1 s deadline, unsent.
    let waiting: Vec<_> = ids[3..].iter().map(|id| lookup(id, Duration::from_secs(1))).collect();
    for call in waiting {
        let status = call.await.unwrap().unwrap_err();
        assert_eq!(status.for_spec(), "UNAVAILABLE UPSTREAM_BUSY retry", "{status:?}");
    }
    assert_eq!(held.most_in_flight(), 3, "the upstream never saw more than the cap at once");

    held.open();
    for call in holders {
        call.await.unwrap().expect("the held lookups complete");
    }
    assert!(held.connections() <= connections_before.max(1) + 3, "at most the cap in new connections");
}

/// The code and reason of a status as one word pair, plus `retry` when it carries RetryInfo.
trait ForSpec {
    fn for_spec(&self) -> String;
}

impl ForSpec for Status {
    fn for_spec(&self) -> String {
        use tonic_types::StatusExt as _;
        let details = self.get_error_details();
        let reason = details.error_info().map_or("-".to_owned(), |info| info.reason.clone());
        let code = tco_gateway::grpc::status::code_name(self.code());
        let retry = if details.retry_info().is_some() { " retry" } else { "" };
        format!("{code} {reason}{retry}")
    }
}

#[tokio::test]
async fn past_the_upstream_cap_callers_wait_and_succeed_when_slots_come_free() {
    let simulator = spawn_simulator().await;
    let held = HeldUpstream::start(&simulator).await;
    let app = held.gateway(&simulator, &[("admin_api.max_concurrent_requests", "2")]).await;
    held.open();
    let ids = sale_ids(&app, 6).await;
    held.close();
    let connections_before = held.connections();

    let calls: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut sales = app.sales.clone();
            let request = with_deadline(by_sale(id), GENEROUS_DEADLINE);
            tokio::spawn(async move { sales.get_sale(request).await })
        })
        .collect();
    eventually("the cap's worth of requests to reach the upstream", || held.in_flight() == 2).await;
    held.open();
    for call in calls {
        call.await.unwrap().expect("a caller that waited for a slot succeeds");
    }
    assert!(held.most_in_flight() <= 2, "at most the cap at once: {}", held.most_in_flight());
    assert!(held.connections() <= connections_before.max(1) + 2, "at most the cap in connections");
}

#[tokio::test]
async fn a_write_that_got_no_upstream_slot_was_not_sent_and_its_retry_runs_it() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, tco_simulator::REFUNDABLE_SALE_PLACED, 10);
    let held = HeldUpstream::start(&simulator).await;
    let app = held.gateway(&simulator, &[("admin_api.max_concurrent_requests", "1")]).await;

    // One lookup holds the only slot.
    let mut sales = app.sales.clone();
    let holder = tokio::spawn(async move { sales.get_sale(by_sale("1")).await });
    eventually("the lookup to hold the slot", || held.in_flight() == 1).await;

    let refund = refund_of(REFUNDABLE_SALE_ID, "1.00");
    let status =
        app.sales.clone().refund_invoice(with_deadline(refund.clone(), Duration::from_secs(1))).await.unwrap_err();
    let details = expect_error(&status, Code::Unavailable, "UPSTREAM_BUSY");
    assert!(details.retry_info().is_some());
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0, "nothing was sent");

    held.open();
    let _ = holder.await.unwrap();
    let retried = app.sales.clone().refund_invoice(with_deadline(refund, GENEROUS_DEADLINE)).await;
    retried.expect("the same request_id runs the write: it was never sent");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);
}
