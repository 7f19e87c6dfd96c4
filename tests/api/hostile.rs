//! A hostile stand-in for 2Checkout: a real HTTP server in front of the
//! simulator that passes every request through, except on the endpoints a
//! spec tells it to lie about (a redirect to a "thief" server on another
//! loopback port that records everything it receives, `{}`, `FAIL`, HTML,
//! garbage). The gateway under test knows only the hostile server's address.
//!
//! The specs: credentials never leave the configured hosts (no redirect is
//! followed), and a write or an authorization succeeds only on positive
//! evidence (anything else is OUTCOME_UNKNOWN, never OK nor INTERNAL).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    response::Response,
};
use tco_gateway::grpc::proto::{
    AuthorizeRequest, GetSaleRequest, authorization_service_client::AuthorizationServiceClient,
    get_sale_request::Lookup,
};
use tco_simulator::{
    APPROVING_CARD, DEFAULT_PRIVATE_KEY, DOCUMENTED_SALE_ID, Endpoint, REFUNDABLE_LINEITEM_IDS, REFUNDABLE_SALE_ID,
    REFUNDABLE_SALE_PLACED, RunningSimulator,
};
use tonic::{Code, Status};

use crate::{
    authorize::{authorize_total, token},
    helpers::{TestApp, expect_error, refund_lines, set_clock_after, spawn_gateway, spawn_simulator},
    stand_in::{self, last_segment, respond, serve},
    writes::{refund_line, refund_of, sale},
};

/// What the hostile server does with a request to one endpoint.
#[derive(Clone, Debug)]
enum Answer {
    /// Redirects (with this 3xx) to the same path on the thief, query string and all.
    RedirectToThief(u16),
    /// Answers this without passing the request on: the upstream never acted.
    Instead { status: u16, content_type: &'static str, body: String },
    /// Passes the request on (the upstream acts), then answers this instead of its answer.
    AfterActing { status: u16, content_type: &'static str, body: String },
}

/// One request as a server received it.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    uri: String,
    headers: String,
    body: String,
}

/// The hostile server's state: where it passes requests on, and its lies by endpoint path.
struct Hostile {
    upstream: SocketAddr,
    thief: SocketAddr,
    lies: Mutex<HashMap<&'static str, Answer>>,
    received: Mutex<Vec<Received>>,
    http: reqwest::Client,
}

/// A running hostile stand-in and the thief it redirects to.
struct HostileUpstream {
    addr: SocketAddr,
    state: Arc<Hostile>,
    thief: Arc<Mutex<Vec<Received>>>,
}

impl HostileUpstream {
    /// Starts the thief and the hostile server in front of `simulator`.
    async fn start(simulator: &RunningSimulator) -> Self {
        let thief = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&thief);
        let thief_addr = serve(Router::new().fallback(move |request: Request| {
            let recorded = Arc::clone(&recorded);
            async move {
                let received = record(request).await;
                recorded.lock().unwrap().push(received);
                // What a thief would answer: a fake approval, for the gateway to trust.
                Response::new(Body::from(r#"{"response_code":"OK","response":{"responseCode":"APPROVED"}}"#))
            }
        }))
        .await;
        let state = Arc::new(Hostile {
            upstream: simulator.local_addr(),
            thief: thief_addr,
            lies: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        });
        let addr = serve(Router::new().fallback(hostile_answer).with_state(Arc::clone(&state))).await;
        Self { addr, state, thief }
    }

    /// From now on, answers requests to `endpoint` with `answer`.
    fn lie(&self, endpoint: Endpoint, answer: Answer) {
        self.state.lies.lock().unwrap().insert(last_segment(endpoint), answer);
    }

    /// From now on, passes every request through.
    fn tell_the_truth(&self) {
        self.state.lies.lock().unwrap().clear();
    }

    /// How many requests to `endpoint` the hostile server received.
    fn received(&self, endpoint: Endpoint) -> usize {
        let path = |uri: &str| uri.split('?').next().unwrap_or("").to_owned();
        self.state.received.lock().unwrap().iter().filter(|r| path(&r.uri).ends_with(last_segment(endpoint))).count()
    }

    /// Everything the thief received, whatever it was.
    fn stolen(&self) -> Vec<Received> {
        self.thief.lock().unwrap().clone()
    }

    /// A gateway whose both APIs are this server (with the simulator's credentials).
    async fn gateway(&self, simulator: &Arc<RunningSimulator>) -> TestApp {
        let swap = |url: String| url.replace(&simulator.local_addr().to_string(), &self.addr.to_string());
        let admin = swap(simulator.admin_api_base_url());
        let payment = swap(simulator.payment_api_base_url());
        spawn_gateway(simulator, &[("admin_api.base_url", &admin), ("payment_api.base_url", &payment)]).await
    }
}

async fn record(request: Request) -> Received {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap();
    Received {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: format!("{:?}", parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn hostile_answer(State(hostile): State<Arc<Hostile>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let lie = hostile.lies.lock().unwrap().iter().find(|(p, _)| path.ends_with(*p)).map(|(_, a)| a.clone());
    let headers = request.headers().clone();
    let received = record(request).await;
    hostile.received.lock().unwrap().push(received.clone());
    match lie {
        Some(Answer::RedirectToThief(status)) => {
            let mut response = respond(status, "text/html", Body::from("<a>moved</a>"));
            let location = format!("http://{}{}", hostile.thief, received.uri);
            response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).unwrap());
            response
        }
        Some(Answer::Instead { status, content_type, body }) => respond(status, content_type, Body::from(body)),
        Some(Answer::AfterActing { status, content_type, body }) => {
            pass_on(&hostile, &received, headers).await;
            respond(status, content_type, Body::from(body))
        }
        None => {
            let (status, content_type, body) = pass_on(&hostile, &received, headers).await;
            respond(status, &content_type, Body::from(body))
        }
    }
}

/// Sends `request` on to the simulator and returns its answer.
async fn pass_on(hostile: &Hostile, request: &Received, headers: header::HeaderMap) -> (u16, String, String) {
    let method = Method::from_bytes(request.method.as_bytes()).unwrap();
    let body = Bytes::from(request.body.clone());
    stand_in::pass_on(&hostile.http, hostile.upstream, method, &request.uri, headers, body).await
}

/// The redirects a spec tries: the two that keep method and body, and the common one that does not.
const REDIRECTS: [u16; 3] = [307, 308, 302];

/// Answers that are not a positive confirmation of an Admin API write.
fn unconfirming_write_answers() -> Vec<(u16, &'static str, String)> {
    vec![
        (200, "application/json", "{}".into()),
        (200, "application/json", r#"{"response_code":"FAIL","response_message":"refund added to invoice"}"#.into()),
        (200, "application/xml", "<response><response_code>FAIL</response_code></response>".into()),
        (200, "text/html", "<html><body>Refund queued</body></html>".into()),
        (200, "application/json", "\u{0}\u{1}garbage{".into()),
        (404, "text/plain", "not here".into()),
    ]
}

/// Answers that are not a positive confirmation of an authorization.
fn unconfirming_authorize_answers() -> Vec<(u16, &'static str, String)> {
    vec![
        (200, "application/json", "{}".into()),
        (200, "application/json", r#"{"response":{"responseCode":"FAIL","orderNumber":"9093717691800"}}"#.into()),
        (200, "application/json", r#"{"response":{"responseCode":"APPROVED"}}"#.into()),
        (200, "text/html", "<html><body>Approved!</body></html>".into()),
        (200, "application/json", "\u{0}\u{1}garbage{".into()),
    ]
}

fn payments(app: &TestApp) -> AuthorizationServiceClient<tonic::transport::Channel> {
    AuthorizationServiceClient::new(app.channel.clone())
}

async fn authorize(app: &TestApp, request: AuthorizeRequest) -> Result<(), Status> {
    payments(app).authorize(request).await.map(drop)
}

/// A simulator whose clock allows refunds of the refundable sale, and the hostile server in front of it.
async fn hostile_setup() -> (Arc<RunningSimulator>, HostileUpstream, TestApp) {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let hostile = HostileUpstream::start(&simulator).await;
    let app = hostile.gateway(&simulator).await;
    (simulator, hostile, app)
}

fn assert_nothing_stolen(hostile: &HostileUpstream) {
    let stolen = hostile.stolen();
    let secrets = stolen
        .iter()
        .filter(|r| r.body.contains(DEFAULT_PRIVATE_KEY) || r.headers.to_ascii_lowercase().contains("authorization"))
        .count();
    assert!(
        stolen.is_empty(),
        "the redirect target received {} request(s), {secrets} with a private key or credentials: {stolen:#?}",
        stolen.len()
    );
}

#[tokio::test]
async fn a_redirected_authorize_sends_nothing_to_the_redirect_target_and_is_outcome_unknown() {
    let (simulator, hostile, app) = hostile_setup().await;
    for status in REDIRECTS {
        hostile.lie(Endpoint::Authorize, Answer::RedirectToThief(status));
        let request = authorize_total(token(&simulator, APPROVING_CARD).await, "25.00");
        let outcome = authorize(&app, request).await;
        // The gateway answered only after it was done with the redirect: had it followed it,
        // the thief would have recorded the request before answering.
        assert_nothing_stolen(&hostile);
        let refused = outcome.unwrap_err();
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
        assert!(refused.message().contains(&status.to_string()), "{refused:?}");
        assert!(!refused.message().contains(DEFAULT_PRIVATE_KEY));
    }
    assert_eq!(hostile.received(Endpoint::Authorize), REDIRECTS.len(), "each call reached the configured host");
    assert_eq!(simulator.request_count(Endpoint::Authorize), 0);
}

#[tokio::test]
async fn a_redirected_refund_sends_nothing_to_the_redirect_target_and_is_outcome_unknown() {
    let (simulator, hostile, app) = hostile_setup().await;
    for status in REDIRECTS {
        hostile.lie(Endpoint::RefundInvoice, Answer::RedirectToThief(status));
        let outcome = app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "1.00")).await;
        assert_nothing_stolen(&hostile);
        expect_error(&outcome.unwrap_err(), Code::Unavailable, "OUTCOME_UNKNOWN");
    }
    assert_eq!(hostile.received(Endpoint::RefundInvoice), REDIRECTS.len());
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0);
}

#[tokio::test]
async fn a_redirected_get_sale_sends_nothing_to_the_redirect_target_and_is_unavailable() {
    let (_simulator, hostile, app) = hostile_setup().await;
    for status in REDIRECTS {
        hostile.lie(Endpoint::DetailSale, Answer::RedirectToThief(status));
        let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: true };
        let outcome = app.sales.clone().get_sale(request).await;
        assert_nothing_stolen(&hostile);
        let refused = outcome.unwrap_err();
        let details = expect_error(&refused, Code::Unavailable, "UPSTREAM_UNAVAILABLE");
        assert!(details.retry_info().is_some(), "a redirect to a read is transient: {refused:?}");
    }
    assert_eq!(hostile.received(Endpoint::DetailSale), REDIRECTS.len());
}

#[tokio::test]
async fn a_refund_answered_without_response_code_ok_is_outcome_unknown_never_ok_nor_internal() {
    let (simulator, hostile, app) = hostile_setup().await;
    for (status, content_type, body) in unconfirming_write_answers() {
        hostile.lie(Endpoint::RefundInvoice, Answer::Instead { status, content_type, body: body.clone() });
        let outcome = app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "1.00")).await;
        let refused = outcome.map(|ok| ok.into_inner().message).expect_err(&body);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    }
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0, "the hostile server never passed one on");
}

#[tokio::test]
async fn an_authorize_answered_without_an_approval_is_outcome_unknown_never_ok_nor_internal() {
    let (simulator, hostile, app) = hostile_setup().await;
    for (status, content_type, body) in unconfirming_authorize_answers() {
        hostile.lie(Endpoint::Authorize, Answer::Instead { status, content_type, body: body.clone() });
        let request = authorize_total(token(&simulator, APPROVING_CARD).await, "25.00");
        let refused = authorize(&app, request).await.expect_err(&body);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    }
}

#[tokio::test]
async fn a_refund_that_landed_behind_an_empty_answer_is_confirmed_by_a_retry_without_resending() {
    let (simulator, hostile, app) = hostile_setup().await;
    hostile.lie(
        Endpoint::RefundInvoice,
        Answer::AfterActing { status: 200, content_type: "application/json", body: "{}".into() },
    );
    let request = refund_of(REFUNDABLE_SALE_ID, "7.00");
    let refused = app.sales.clone().refund_invoice(request.clone()).await.unwrap_err();
    expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1, "the refund did land");

    hostile.tell_the_truth();
    let retry = app.sales.clone().refund_invoice(request).await.expect("the retry finds the refund done");
    assert_eq!(retry.into_inner().message, "refund added to invoice");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1, "never sent twice");
    let sale = sale(&app, REFUNDABLE_SALE_ID).await;
    let refunds: Vec<_> = refund_lines(&sale).into_iter().map(|l| l.usd_amount.as_str()).collect();
    assert_eq!(refunds, ["7.00"], "one refund, once");
}

#[tokio::test]
async fn an_authorization_that_landed_behind_an_empty_answer_is_not_charged_again_on_retry() {
    let (simulator, hostile, app) = hostile_setup().await;
    hostile.lie(
        Endpoint::Authorize,
        Answer::AfterActing { status: 200, content_type: "application/json", body: "{}".into() },
    );
    let request = authorize_total(token(&simulator, APPROVING_CARD).await, "25.00");
    let refused = authorize(&app, request.clone()).await.unwrap_err();
    expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    assert_eq!(simulator.request_count(Endpoint::Authorize), 1, "the card was charged");

    hostile.tell_the_truth();
    let retried = authorize(&app, request).await.unwrap_err();
    expect_error(&retried, Code::Unavailable, "OUTCOME_UNKNOWN");
    assert!(retried.message().contains("merchant_order_id"), "the directions: {retried:?}");
}

/// A refund another client made, straight at the simulator (not through the hostile server).
async fn foreign_refund(simulator: &Arc<RunningSimulator>, amount: &str) {
    let elsewhere = spawn_gateway(simulator, &[]).await;
    let mut request = refund_of(REFUNDABLE_SALE_ID, amount);
    request.comment = "Goodwill gesture from the support desk.".into();
    elsewhere.sales.clone().refund_invoice(request).await.expect("the foreign refund lands");
}

fn refund_amounts(sale: &tco_gateway::grpc::proto::Sale) -> Vec<&str> {
    let mut amounts: Vec<&str> = refund_lines(sale).into_iter().map(|l| l.usd_amount.as_str()).collect();
    amounts.sort_unstable();
    amounts
}

#[tokio::test]
async fn a_foreign_refund_while_the_answer_is_lost_keeps_the_outcome_unknown_and_sends_nothing() {
    let (simulator, hostile, app) = hostile_setup().await;
    // The refund never reaches 2Checkout, but its answer is lost all the same.
    hostile.lie(
        Endpoint::RefundInvoice,
        Answer::Instead { status: 200, content_type: "application/json", body: "{}".into() },
    );
    let request = refund_of(REFUNDABLE_SALE_ID, "7.00");
    let lost = app.sales.clone().refund_invoice(request.clone()).await.unwrap_err();
    expect_error(&lost, Code::Unavailable, "OUTCOME_UNKNOWN");
    foreign_refund(&simulator, "3.00").await;

    hostile.tell_the_truth();
    let retried = app.sales.clone().refund_invoice(request).await.map(|ok| ok.into_inner().message);
    let still_unknown = retried.expect_err("a foreign refund is not this refund");
    expect_error(&still_unknown, Code::Unavailable, "OUTCOME_UNKNOWN");
    assert!(still_unknown.message().contains("new request_id"), "directions: {still_unknown:?}");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1, "only the foreign refund reached 2Checkout");
    assert_eq!(refund_amounts(&sale(&app, REFUNDABLE_SALE_ID).await), ["3.00"]);
}

#[tokio::test]
async fn a_refund_that_landed_beside_a_foreign_one_is_confirmed_by_its_retry() {
    let (simulator, hostile, app) = hostile_setup().await;
    hostile.lie(
        Endpoint::RefundInvoice,
        Answer::AfterActing { status: 200, content_type: "application/json", body: "{}".into() },
    );
    let request = refund_of(REFUNDABLE_SALE_ID, "7.00");
    let lost = app.sales.clone().refund_invoice(request.clone()).await.unwrap_err();
    expect_error(&lost, Code::Unavailable, "OUTCOME_UNKNOWN");
    foreign_refund(&simulator, "3.00").await;

    hostile.tell_the_truth();
    let retry =
        app.sales.clone().refund_invoice(request).await.expect("the retry finds this refund among the new ones");
    assert_eq!(retry.into_inner().message, "refund added to invoice");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 2, "this refund once, the foreign one once");
    assert_eq!(refund_amounts(&sale(&app, REFUNDABLE_SALE_ID).await), ["3.00", "7.00"]);
}

#[tokio::test]
async fn full_refunds_that_landed_behind_empty_answers_are_confirmed_by_what_remained() {
    let (simulator, hostile, app) = hostile_setup().await;
    let line = REFUNDABLE_LINEITEM_IDS[0];
    app.sales.clone().refund_line_item(refund_line(line, "2.00")).await.expect("an earlier partial refund");
    let empty = || Answer::AfterActing { status: 200, content_type: "application/json", body: "{}".into() };

    // The rest of the line: the baseline shows what remained after the earlier 2.00.
    hostile.lie(Endpoint::RefundLineItem, empty());
    let rest_of_line = refund_line(line, "");
    let lost = app.sales.clone().refund_line_item(rest_of_line.clone()).await.unwrap_err();
    expect_error(&lost, Code::Unavailable, "OUTCOME_UNKNOWN");
    hostile.tell_the_truth();
    let retry = app.sales.clone().refund_line_item(rest_of_line).await.expect("the line's full refund is found");
    assert_eq!(retry.into_inner().message, "lineitem refunded");
    assert_eq!(simulator.request_count(Endpoint::RefundLineItem), 2, "the partial refund and the full one, once each");

    // The rest of the invoice.
    hostile.lie(Endpoint::RefundInvoice, empty());
    let rest_of_invoice = refund_of(REFUNDABLE_SALE_ID, "");
    let lost = app.sales.clone().refund_invoice(rest_of_invoice.clone()).await.unwrap_err();
    expect_error(&lost, Code::Unavailable, "OUTCOME_UNKNOWN");
    hostile.tell_the_truth();
    let retry = app.sales.clone().refund_invoice(rest_of_invoice).await.expect("the invoice's full refund is found");
    assert_eq!(retry.into_inner().message, "refund added to invoice");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1, "never sent twice");
}
