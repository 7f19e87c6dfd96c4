//! Hostile answer bodies: a real HTTP stand-in for 2Checkout in front of the
//! simulator answers with bodies over the configured cap (declared by a
//! `Content-Length`, streamed without one, or without end), with bodies
//! nested 16,000 levels (and a whole megabyte) deep, and with floods of tiny
//! objects, in JSON and XML. The gateway runs as its own process, configured
//! by environment variables.
//!
//! The specs: an answer over the cap is never decoded, even when it is a
//! perfectly good confirmation (a read fails with UPSTREAM_RESPONSE_INVALID, a
//! write or an authorization is OUTCOME_UNKNOWN); an answer nested past the
//! depth limit or holding more objects than the limit is refused the same way;
//! and either way the gateway stays up, keeps serving, never panics and never
//! logs the body.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, header},
    response::Response,
};
use tco_gateway::grpc::proto::{
    GetSaleRequest, authorization_service_client::AuthorizationServiceClient, get_sale_request::Lookup,
    sales_service_client::SalesServiceClient,
};
use tco_simulator::{
    APPROVING_CARD, DOCUMENTED_SALE_ID, Endpoint, REFUNDABLE_SALE_ID, REFUNDABLE_SALE_PLACED, RunningSimulator,
};
use tonic::{Code, Status};

use crate::{
    authorize::{authorize_total, token},
    helpers::{GatewayProcess, expect_error, set_clock_after, spawn_gateway_process, spawn_simulator},
    stand_in::{self, last_segment, respond, serve},
    writes::refund_of,
};

/// The caps the gateway under test is configured with (small, so that the specs move little data).
const ADMIN_CAP: usize = 256 * 1024;
const PAYMENT_CAP: usize = 64 * 1024;

/// What fills a padded answer: it must never reach the gateway's output.
const PADDING: &str = "SECRET-PADDING-";

/// What the stand-in does with a request to one endpoint.
#[derive(Clone, Debug)]
enum Answer {
    /// Passes the request on (the upstream acts) and answers the upstream's own
    /// JSON answer, grown to exactly `bytes` bytes by a padding field: a valid,
    /// positive answer, only larger. With `content_length`, the length is
    /// declared; without, the body is streamed in chunks and no length is given.
    Padded { bytes: usize, content_length: bool },
    /// Passes the request on, then streams a JSON answer that never ends.
    Endless,
    /// Answers this without passing the request on.
    Instead { content_type: &'static str, body: Arc<String> },
}

struct StandIn {
    upstream: SocketAddr,
    lies: Mutex<HashMap<&'static str, Answer>>,
    http: reqwest::Client,
}

/// A running stand-in for 2Checkout.
struct HostileBodies {
    addr: SocketAddr,
    state: Arc<StandIn>,
}

impl HostileBodies {
    async fn start(simulator: &RunningSimulator) -> Self {
        let state = Arc::new(StandIn {
            upstream: simulator.local_addr(),
            lies: Mutex::new(HashMap::new()),
            http: reqwest::Client::new(),
        });
        let addr = serve(Router::new().fallback(answer).with_state(Arc::clone(&state))).await;
        Self { addr, state }
    }

    fn lie(&self, endpoint: Endpoint, answer: Answer) {
        self.state.lies.lock().unwrap().insert(last_segment(endpoint), answer);
    }

    fn tell_the_truth(&self) {
        self.state.lies.lock().unwrap().clear();
    }

    /// The gateway binary with both APIs pointed here, the specs' caps, and `env`.
    async fn gateway(&self, simulator: &RunningSimulator, env: &[(&str, String)]) -> GatewayProcess {
        let swap = |url: String| url.replace(&simulator.local_addr().to_string(), &self.addr.to_string());
        let mut settings = vec![
            ("TCO_ADMIN_API__BASE_URL", swap(simulator.admin_api_base_url())),
            ("TCO_PAYMENT_API__BASE_URL", swap(simulator.payment_api_base_url())),
            ("TCO_ADMIN_API__MAX_BODY_BYTES", ADMIN_CAP.to_string()),
            ("TCO_PAYMENT_API__MAX_BODY_BYTES", PAYMENT_CAP.to_string()),
        ];
        settings.extend(env.iter().cloned());
        spawn_gateway_process(simulator, &settings).await
    }
}

async fn answer(State(stand_in): State<Arc<StandIn>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let lie = stand_in.lies.lock().unwrap().iter().find(|(p, _)| path.ends_with(*p)).map(|(_, a)| a.clone());
    match lie {
        Some(Answer::Instead { content_type, body }) => {
            respond(200, content_type, Body::from(body.as_str().to_owned()))
        }
        Some(Answer::Padded { bytes, content_length }) => {
            let (status, _, upstream) = pass_on(&stand_in, request).await;
            let padded = pad(&upstream, bytes);
            let body = if content_length { Body::from(padded) } else { chunked(padded.into_bytes()) };
            respond(status, "application/json", body)
        }
        Some(Answer::Endless) => {
            let (status, _, _) = pass_on(&stand_in, request).await;
            let start = format!(r#"{{"response_code":"OK","padding":"{PADDING}"#).into_bytes();
            let filler = PADDING.repeat(1024).into_bytes();
            let endless = std::iter::once(start).chain(std::iter::repeat(filler));
            respond(status, "application/json", Body::from_stream(tokio_stream::iter(endless.map(Ok::<_, Infallible>))))
        }
        None => {
            let (status, content_type, body) = pass_on(&stand_in, request).await;
            respond(status, &content_type, Body::from(body))
        }
    }
}

/// `body` in 16 KiB chunks, with no `Content-Length`.
fn chunked(body: Vec<u8>) -> Body {
    let chunks: Vec<Vec<u8>> = body.chunks(16 * 1024).map(<[u8]>::to_vec).collect();
    Body::from_stream(tokio_stream::iter(chunks.into_iter().map(Ok::<_, Infallible>)))
}

/// A JSON object answer grown to exactly `bytes` bytes by a leading `padding` field.
fn pad(answer: &str, bytes: usize) -> String {
    let rest = answer.trim().strip_prefix('{').expect("a JSON object answer");
    let frame = r#"{"padding":"","#.len() + rest.len();
    let filler: String = PADDING.chars().cycle().take(bytes.checked_sub(frame).expect("room for the answer")).collect();
    let padded = format!(r#"{{"padding":"{filler}",{rest}"#);
    assert_eq!(padded.len(), bytes);
    padded
}

/// Sends `request` on to the simulator and returns its answer.
async fn pass_on(stand_in: &StandIn, request: Request) -> (u16, String, String) {
    let (mut parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap();
    // The padding goes into JSON: ask for JSON whatever the gateway asked for.
    parts.headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let uri = parts.uri.to_string();
    stand_in::pass_on(&stand_in.http, stand_in.upstream, parts.method, &uri, parts.headers, body).await
}

fn sales(gateway: &GatewayProcess) -> SalesServiceClient<tonic::transport::Channel> {
    SalesServiceClient::new(gateway.channel.clone())
}

async fn get_sale(gateway: &GatewayProcess) -> Result<(), Status> {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: true };
    sales(gateway).get_sale(request).await.map(drop)
}

async fn refund(gateway: &GatewayProcess) -> Result<(), Status> {
    sales(gateway).refund_invoice(refund_of(REFUNDABLE_SALE_ID, "1.00")).await.map(drop)
}

async fn authorize(gateway: &GatewayProcess, simulator: &RunningSimulator) -> Result<(), Status> {
    let request = authorize_total(token(simulator, APPROVING_CARD).await, "25.00");
    AuthorizationServiceClient::new(gateway.channel.clone()).authorize(request).await.map(drop)
}

/// A simulator whose clock allows refunds of the refundable sale, the stand-in in front of it, and a gateway.
async fn setup(env: &[(&str, String)]) -> (Arc<RunningSimulator>, HostileBodies, GatewayProcess) {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let hostile = HostileBodies::start(&simulator).await;
    let gateway = hostile.gateway(&simulator, env).await;
    (simulator, hostile, gateway)
}

/// The gateway answers a plain read once the stand-in tells the truth, and has
/// neither panicked nor logged any hostile body.
async fn assert_still_serving(hostile: &HostileBodies, gateway: &mut GatewayProcess) {
    hostile.tell_the_truth();
    get_sale(gateway).await.expect("the gateway still serves");
    assert!(gateway.child.try_wait().unwrap().is_none(), "the gateway exited:\n{}", gateway.output());
    let output = gateway.output();
    assert!(!output.contains("panicked"), "the gateway panicked:\n{output}");
    assert!(!output.contains(PADDING), "a hostile body reached the log:\n{output}");
}

/// The three ways of going over the cap: declared, streamed, and without end.
fn over_cap(cap: usize) -> [(&'static str, Answer); 3] {
    [
        ("declared", Answer::Padded { bytes: cap + 1, content_length: true }),
        ("streamed", Answer::Padded { bytes: cap + 1, content_length: false }),
        ("endless", Answer::Endless),
    ]
}

#[tokio::test]
async fn answers_just_under_the_caps_are_read_and_decoded() {
    let (simulator, hostile, mut gateway) = setup(&[]).await;
    hostile.lie(Endpoint::DetailSale, Answer::Padded { bytes: ADMIN_CAP, content_length: false });
    hostile.lie(Endpoint::RefundInvoice, Answer::Padded { bytes: ADMIN_CAP, content_length: true });
    hostile.lie(Endpoint::Authorize, Answer::Padded { bytes: PAYMENT_CAP, content_length: false });
    get_sale(&gateway).await.expect("a detail_sale of exactly the cap");
    refund(&gateway).await.expect("a refund confirmation of exactly the cap");
    authorize(&gateway, &simulator).await.expect("an approval of exactly the cap");
    assert_still_serving(&hostile, &mut gateway).await;
}

#[tokio::test]
async fn a_read_answered_over_the_cap_is_upstream_response_invalid_and_never_decoded() {
    let (_simulator, hostile, mut gateway) = setup(&[]).await;
    for (how, answer) in over_cap(ADMIN_CAP) {
        hostile.lie(Endpoint::DetailSale, answer);
        let refused = get_sale(&gateway).await.expect_err(how);
        expect_error(&refused, Code::Internal, "UPSTREAM_RESPONSE_INVALID");
        assert!(refused.message().contains(&format!("over the {ADMIN_CAP}-byte cap")), "{how}: {refused:?}");
    }
    let logged = gateway.wait_for_line("larger than the body cap").await;
    assert!(logged.contains("sales/detail_sale") && logged.contains(&ADMIN_CAP.to_string()), "{logged}");
    assert_still_serving(&hostile, &mut gateway).await;
}

#[tokio::test]
async fn a_refund_confirmed_over_the_cap_is_outcome_unknown_never_ok() {
    let (simulator, hostile, mut gateway) = setup(&[]).await;
    for (how, answer) in over_cap(ADMIN_CAP) {
        hostile.lie(Endpoint::RefundInvoice, answer);
        let refused = refund(&gateway).await.expect_err(how);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    }
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 3, "each refund did land upstream");
    assert_still_serving(&hostile, &mut gateway).await;
}

#[tokio::test]
async fn an_authorization_approved_over_the_cap_is_outcome_unknown_never_ok() {
    let (simulator, hostile, mut gateway) = setup(&[]).await;
    for (how, answer) in over_cap(PAYMENT_CAP) {
        hostile.lie(Endpoint::Authorize, answer);
        let refused = authorize(&gateway, &simulator).await.expect_err(how);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
        assert!(refused.message().contains(&format!("over the {PAYMENT_CAP}-byte cap")), "{how}: {refused:?}");
    }
    assert_still_serving(&hostile, &mut gateway).await;
}

/// `levels` nested arrays (JSON) or elements (XML) inside an otherwise positive answer.
fn nested(levels: usize) -> [(&'static str, Arc<String>); 2] {
    let json = format!(r#"{{"response_code":"OK","x":{}{}}}"#, "[".repeat(levels), "]".repeat(levels));
    let xml = format!(
        "<response><response_code>OK</response_code>{}{}</response>",
        "<x>".repeat(levels),
        "</x>".repeat(levels)
    );
    [("application/json", Arc::new(json)), ("application/xml", Arc::new(xml))]
}

/// 16,000 levels (about 112 KB of XML, which used to overflow the stack) and a
/// whole megabyte of nesting (under the default cap, so the depth limit is what refuses it).
fn deep_answers() -> Vec<(&'static str, Arc<String>)> {
    let megabyte_of_json = 1_000_000 / 2;
    let megabyte_of_xml = 1_000_000 / "<x></x>".len();
    let mut answers = nested(16_000).to_vec();
    answers.push(nested(megabyte_of_json)[0].clone());
    answers.push(nested(megabyte_of_xml)[1].clone());
    answers
}

/// The default caps, so that a megabyte of nesting reaches the decoder.
fn default_caps() -> Vec<(&'static str, String)> {
    vec![
        ("TCO_ADMIN_API__MAX_BODY_BYTES", (1024 * 1024).to_string()),
        ("TCO_PAYMENT_API__MAX_BODY_BYTES", (1024 * 1024).to_string()),
    ]
}

#[tokio::test]
async fn a_read_answered_with_deep_nesting_is_upstream_response_invalid_and_the_gateway_survives() {
    let (_simulator, hostile, mut gateway) = setup(&default_caps()).await;
    for (content_type, body) in deep_answers() {
        let shape = format!("{content_type}, {} bytes", body.len());
        hostile.lie(Endpoint::DetailSale, Answer::Instead { content_type, body });
        let refused = get_sale(&gateway).await.expect_err(&shape);
        expect_error(&refused, Code::Internal, "UPSTREAM_RESPONSE_INVALID");
        assert!(refused.message().contains("nested deeper than 64 levels"), "{shape}: {refused:?}");
    }
    assert_still_serving(&hostile, &mut gateway).await;
}

#[tokio::test]
async fn a_write_answered_with_deep_nesting_is_outcome_unknown_and_the_gateway_survives() {
    let (_simulator, hostile, mut gateway) = setup(&default_caps()).await;
    for (content_type, body) in deep_answers() {
        let shape = format!("{content_type}, {} bytes", body.len());
        hostile.lie(Endpoint::RefundInvoice, Answer::Instead { content_type, body });
        let refused = refund(&gateway).await.expect_err(&shape);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    }
    assert_still_serving(&hostile, &mut gateway).await;
}

#[tokio::test]
async fn an_authorization_answered_with_deep_nesting_is_outcome_unknown_and_the_gateway_survives() {
    let (simulator, hostile, mut gateway) = setup(&default_caps()).await;
    for (content_type, body) in deep_answers().into_iter().filter(|(content_type, _)| content_type.ends_with("json")) {
        let shape = format!("{} bytes", body.len());
        hostile.lie(Endpoint::Authorize, Answer::Instead { content_type, body });
        let refused = authorize(&gateway, &simulator).await.expect_err(&shape);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
        assert!(refused.message().contains("nested deeper than 64 levels"), "{shape}: {refused:?}");
    }
    assert_still_serving(&hostile, &mut gateway).await;
}

/// Within the cap but made of tiny objects, each of which would decode into a
/// whole invoice or line (1 MiB of `{}` took 250 MB to decode), in JSON and XML.
fn floods() -> [(&'static str, Arc<String>); 2] {
    let json = format!(r#"{{"response_code":"OK","sale":{{"invoices":[{}]}}}}"#, vec!["{}"; 100_000].join(","));
    let xml = format!(
        "<response><response_code>OK</response_code><sale>{}</sale></response>",
        "<invoices><x/></invoices>".repeat(20_000)
    );
    [("application/json", Arc::new(json)), ("application/xml", Arc::new(xml))]
}

#[tokio::test]
async fn answers_of_more_objects_than_any_real_answer_are_refused_before_decoding() {
    let (_simulator, hostile, mut gateway) = setup(&default_caps()).await;
    for (content_type, body) in floods() {
        hostile.lie(Endpoint::DetailSale, Answer::Instead { content_type, body: Arc::clone(&body) });
        let refused = get_sale(&gateway).await.expect_err(content_type);
        expect_error(&refused, Code::Internal, "UPSTREAM_RESPONSE_INVALID");
        assert!(refused.message().contains("more than"), "{content_type}: {refused:?}");
        hostile.tell_the_truth();
        hostile.lie(Endpoint::RefundInvoice, Answer::Instead { content_type, body });
        let refused = refund(&gateway).await.expect_err(content_type);
        expect_error(&refused, Code::Unavailable, "OUTCOME_UNKNOWN");
    }
    assert_still_serving(&hostile, &mut gateway).await;
}
