//! The audit trail end to end: the real binary logs JSON with the log level
//! turned down to WARN (the trail is logged whatever the filter says, unless
//! `log.audit` is off), the specs make real gRPC calls and read the records
//! it printed: one per write and per authorization, with the caller,
//! the method, the ids, the money, the outcome the caller got, the trace id,
//! and never a secret, a card token or buyer data.

use serde_json::Value;
use tco_gateway::grpc::proto::{
    CreateCommentRequest, MarkShippedRequest, ReauthorizeRequest, RefundInvoiceRequest, StopLineItemRecurringRequest,
    authorization_service_client::AuthorizationServiceClient, sales_service_client::SalesServiceClient,
};
use tco_simulator::{
    APPROVING_CARD, DECLINING_CARD, DEFAULT_PRIVATE_KEY, DOCUMENTED_SALE_ID, Endpoint, Fault, REFUNDABLE_INVOICE_ID,
    REFUNDABLE_LINEITEM_IDS, REFUNDABLE_SALE_ID, REFUNDABLE_SALE_PLACED, SimulatorConfig,
};
use tonic::{Code, Status, metadata::MetadataValue, transport::Channel};
use tonic_types::StatusExt;

use crate::{
    authorize::{authorize_total, billing, token},
    collector::{AttrValue, Collector},
    helpers::{
        GatewayProcess, NEVER, PATIENCE, eventually, new_request_id, set_clock_after, spawn_gateway_process,
        spawn_simulator,
    },
    writes::{refund_line, refund_of},
};

const AUDIT_TARGET: &str = "tco_gateway::audit";

/// JSON logs, at WARN: the audit trail passes anyway.
fn audited() -> Vec<(&'static str, String)> {
    vec![("TCO_LOG__FORMAT", "json".into()), ("TCO_LOG__FILTER", "warn".into())]
}

fn sales(gateway: &GatewayProcess) -> SalesServiceClient<Channel> {
    SalesServiceClient::new(gateway.channel.clone())
}

/// Every audit record the process printed so far.
fn records(gateway: &GatewayProcess) -> Vec<Value> {
    gateway
        .output()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == AUDIT_TARGET)
        .collect()
}

fn records_of(gateway: &GatewayProcess, request_id: &str) -> Vec<Value> {
    records(gateway).into_iter().filter(|r| r["request_id"] == request_id).collect()
}

/// Waits for the record of `request_id`, then makes one more audited call and
/// waits for its record too: whatever the first call printed has been printed
/// by then (the marker started after it ended), so exactly one is exactly one.
async fn the_record_of(gateway: &GatewayProcess, request_id: &str) -> Value {
    eventually(&format!("the audit record of {request_id}"), || !records_of(gateway, request_id).is_empty()).await;
    let marker = new_request_id();
    let invalid = CreateCommentRequest { request_id: marker.clone(), sale_id: "x".into(), ..Default::default() };
    sales(gateway).create_comment(invalid).await.unwrap_err();
    eventually("the marker's audit record", || !records_of(gateway, &marker).is_empty()).await;
    let mut found = records_of(gateway, request_id);
    assert_eq!(found.len(), 1, "one record per call: {found:#?}");
    found.remove(0)
}

/// The code name and ErrorInfo reason the caller got, as a record shows them.
fn outcome_of(status: &Status) -> (String, Value) {
    let reason = status.get_error_details().error_info().map(|info| Value::from(info.reason.clone()));
    (tco_gateway::grpc::status::code_name(status.code()).to_owned(), reason.unwrap_or(Value::Null))
}

fn assert_outcome(record: &Value, status: &Status, effect: &str) {
    let (code, reason) = outcome_of(status);
    assert_eq!(record["code"], code.as_str(), "{record}");
    assert_eq!(record["reason"], reason, "{record}");
    assert_eq!(record["effect"], effect, "{record}");
}

fn assert_anonymous_and_traced(record: &Value) {
    assert_eq!(record["identity"], "anonymous", "zero-setup mode: no policy, no identity: {record}");
    assert_eq!(record["proof"], "none", "{record}");
    let trace_id = record["trace_id"].as_str().unwrap_or_else(|| panic!("no trace id: {record}"));
    assert!(trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()), "{record}");
    assert_eq!(record["message"], "audit");
}

#[tokio::test]
async fn each_write_yields_one_record_with_the_caller_method_ids_money_and_outcome() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let gateway = spawn_gateway_process(&simulator, &audited()).await;

    // A partial refund of an invoice: applied.
    let refund =
        RefundInvoiceRequest { invoice_id: REFUNDABLE_INVOICE_ID.into(), ..refund_of(REFUNDABLE_SALE_ID, "5.00") };
    sales(&gateway).refund_invoice(refund.clone()).await.unwrap();
    let record = the_record_of(&gateway, &refund.request_id).await;
    assert_anonymous_and_traced(&record);
    assert_eq!(record["audit"], "write");
    assert_eq!(record["method"], "twocheckout.v1.SalesService/RefundInvoice");
    assert_eq!(record["sale_id"], REFUNDABLE_SALE_ID);
    assert_eq!(record["invoice_id"], REFUNDABLE_INVOICE_ID);
    assert_eq!(
        (&record["amount"], &record["currency"], &record["full_refund"]),
        (&"5.00".into(), &"usd".into(), &false.into())
    );
    assert_eq!(record["category"], refund.category);
    assert_eq!(record["comment_chars"], refund.comment.chars().count());
    assert_eq!(
        (&record["code"], &record["reason"], &record["effect"]),
        (&"OK".into(), &Value::Null, &"applied".into())
    );
    assert_eq!(record["replayed"], false);

    // A full refund of a line item: applied, no amount.
    let line = refund_line(REFUNDABLE_LINEITEM_IDS[1], "");
    sales(&gateway).refund_line_item(line.clone()).await.unwrap();
    let record = the_record_of(&gateway, &line.request_id).await;
    assert_eq!(record["method"], "twocheckout.v1.SalesService/RefundLineItem");
    assert_eq!(
        (&record["sale_id"], &record["line_item_id"]),
        (&REFUNDABLE_SALE_ID.into(), &REFUNDABLE_LINEITEM_IDS[1].into())
    );
    assert_eq!((&record["amount"], &record["full_refund"]), (&Value::Null, &true.into()));

    // A comment with buyer data in it: only its length is recorded.
    let text = "Jane Roe (jane.roe@example.com, +1 555 0100) asked for a call back";
    let comment = CreateCommentRequest {
        request_id: new_request_id(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        comment: text.into(),
        ..Default::default()
    };
    sales(&gateway).create_comment(comment.clone()).await.unwrap();
    let record = the_record_of(&gateway, &comment.request_id).await;
    assert_eq!(record["method"], "twocheckout.v1.SalesService/CreateComment");
    assert_eq!(record["comment_chars"], text.chars().count());
    assert_eq!(record["effect"], "applied");

    // Vendor refusals: the code and reason the caller got, nothing applied.
    let reauthorize = ReauthorizeRequest { request_id: new_request_id(), sale_id: DOCUMENTED_SALE_ID.into() };
    let status = sales(&gateway).reauthorize(reauthorize.clone()).await.unwrap_err();
    let record = the_record_of(&gateway, &reauthorize.request_id).await;
    assert_eq!(
        (&record["method"], &record["sale_id"]),
        (&"twocheckout.v1.SalesService/Reauthorize".into(), &DOCUMENTED_SALE_ID.into())
    );
    assert_outcome(&record, &status, "not_applied");
    let ship = MarkShippedRequest {
        request_id: new_request_id(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        tracking_number: "1Z999AA10123456784".into(),
        ..Default::default()
    };
    let status = sales(&gateway).mark_shipped(ship.clone()).await.unwrap_err();
    let record = the_record_of(&gateway, &ship.request_id).await;
    assert_eq!(record["method"], "twocheckout.v1.SalesService/MarkShipped");
    assert_outcome(&record, &status, "not_applied");

    // Refused at validation: the attempt is recorded, with its request id but no ids.
    let stop = StopLineItemRecurringRequest {
        request_id: new_request_id(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        line_item_id: "not-a-number".into(),
    };
    let status = sales(&gateway).stop_line_item_recurring(stop.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let record = the_record_of(&gateway, &stop.request_id).await;
    assert_eq!(record["method"], "twocheckout.v1.SalesService/StopLineItemRecurring");
    assert_outcome(&record, &status, "not_applied");
    assert_eq!(record["reason"], "INVALID_FIELD");
    assert_eq!((&record["sale_id"], &record["line_item_id"]), (&Value::Null, &Value::Null), "nothing validated");

    let logged = gateway.output();
    assert!(!logged.contains(text) && !logged.contains("jane.roe@example.com"), "the comment's text was logged");
    assert!(!logged.contains(&ship.tracking_number), "the tracking number was logged");
}

#[tokio::test]
async fn an_unknown_outcome_is_recorded_as_unknown_and_a_retry_answered_from_the_store_as_a_replay() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let gateway = spawn_gateway_process(&simulator, &audited()).await;
    let refund = refund_of(REFUNDABLE_SALE_ID, "7.00");

    // The answer is lost (a 502 after sending): the caller gets OUTCOME_UNKNOWN.
    simulator.inject_fault(Endpoint::RefundInvoice, Fault::respond(502, "text/html", "<h1>Bad Gateway</h1>").times(1));
    let status = sales(&gateway).refund_invoice(refund.clone()).await.unwrap_err();
    assert_eq!(outcome_of(&status).1, "OUTCOME_UNKNOWN");
    let record = the_record_of(&gateway, &refund.request_id).await;
    assert_outcome(&record, &status, "unknown");
    assert_eq!(record["replayed"], false);

    // The retry reconciles and sends: applied, not a replay.
    sales(&gateway).refund_invoice(refund.clone()).await.unwrap();
    eventually("the retry's record", || records_of(&gateway, &refund.request_id).len() == 2).await;
    let retry = &records_of(&gateway, &refund.request_id)[1];
    assert_eq!((&retry["effect"], &retry["replayed"]), (&"applied".into(), &false.into()), "{retry}");

    // Another retry is answered from the idempotency store: a replay of an applied refund.
    sales(&gateway).refund_invoice(refund.clone()).await.unwrap();
    eventually("the replay's record", || records_of(&gateway, &refund.request_id).len() == 3).await;
    let replay = &records_of(&gateway, &refund.request_id)[2];
    assert_eq!(
        (&replay["code"], &replay["effect"], &replay["replayed"]),
        (&"OK".into(), &"applied".into(), &true.into())
    );
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 2, "the replay sent nothing");
}

#[tokio::test]
async fn a_write_whose_caller_hangs_up_is_recorded_as_cancelled_with_an_unknown_effect() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let gateway = spawn_gateway_process(&simulator, &audited()).await;
    // 2Checkout takes the refund and never answers.
    simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay_after_processing(NEVER));
    let refund = refund_of(REFUNDABLE_SALE_ID, "3.00");
    let mut client = sales(&gateway);
    let call = tokio::spawn({
        let refund = refund.clone();
        async move { client.refund_invoice(refund).await }
    });
    eventually("the refund reaching 2Checkout", || simulator.request_count(Endpoint::RefundInvoice) == 1).await;
    call.abort();

    let record = the_record_of(&gateway, &refund.request_id).await;
    assert_eq!((&record["code"], &record["reason"]), (&"CANCELLED".into(), &Value::Null), "{record}");
    assert_eq!(record["effect"], "unknown", "the write goes on in its own task: {record}");
    assert_eq!(record["amount"], "3.00", "what the call asked is kept: {record}");
    assert_anonymous_and_traced(&record);
}

#[tokio::test]
async fn authorizations_are_recorded_with_total_currency_and_ids_never_the_card_or_the_buyer() {
    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_process(&simulator, &audited()).await;
    let mut payments = AuthorizationServiceClient::new(gateway.channel.clone());

    let approving_token = token(&simulator, APPROVING_CARD).await;
    let approved_request = authorize_total(approving_token.clone(), "19.99");
    let approved = payments.authorize(approved_request.clone()).await.unwrap().into_inner();
    let record = the_record_of(&gateway, &approved_request.request_id).await;
    assert_anonymous_and_traced(&record);
    assert_eq!(record["audit"], "authorization");
    assert_eq!(record["method"], "twocheckout.v1.AuthorizationService/Authorize");
    assert_eq!((&record["amount"], &record["currency"]), (&"19.99".into(), &"USD".into()));
    assert_eq!(
        (&record["sale_id"], &record["invoice_id"]),
        (&approved.order_number.as_str().into(), &approved.transaction_id.as_str().into())
    );
    assert_eq!((&record["code"], &record["effect"]), (&"OK".into(), &"applied".into()));

    let declining_token = token(&simulator, DECLINING_CARD).await;
    let declined_request = authorize_total(declining_token.clone(), "5.00");
    let status = payments.authorize(declined_request.clone()).await.unwrap_err();
    let record = the_record_of(&gateway, &declined_request.request_id).await;
    assert_outcome(&record, &status, "not_applied");
    assert_eq!(record["sale_id"], Value::Null);

    let defaults = SimulatorConfig::default();
    let buyer = billing();
    let secrets = [
        ("API password", defaults.api_password.clone()),
        ("private key", DEFAULT_PRIVATE_KEY.to_owned()),
        ("approving card token", approving_token),
        ("declining card token", declining_token),
        ("card number", APPROVING_CARD.to_owned()),
        ("buyer's name", buyer.name.clone()),
        ("buyer's e-mail", buyer.email.clone()),
        ("buyer's street", buyer.address_line_1.clone()),
        ("buyer's phone", buyer.phone_number.clone()),
    ];
    let trail: String = records(&gateway).iter().map(|r| format!("{r}\n")).collect();
    assert_eq!(trail.lines().count(), 4, "two authorizations and their markers:\n{trail}");
    let logged = gateway.output();
    for (what, secret) in secrets {
        assert!(!trail.contains(&secret), "the {what} is in the audit trail");
        assert!(!logged.contains(&secret), "the {what} was logged");
    }
}

#[tokio::test]
async fn with_log_audit_off_the_trail_follows_the_log_filter() {
    let simulator = spawn_simulator().await;
    let quiet = |filter: &str| {
        let mut env = audited();
        env.extend([
            ("TCO_LOG__AUDIT", "false".to_owned()),
            ("TCO_LOG__FILTER", filter.to_owned()),
            ("TCO_SERVER__DRAIN_PERIOD", "0s".to_owned()),
        ]);
        env
    };
    // Left to the filter, a directive for the target keeps it...
    let routed = spawn_gateway_process(&simulator, &quiet(&format!("warn,{AUDIT_TARGET}=info"))).await;
    let comment = CreateCommentRequest { request_id: new_request_id(), sale_id: "x".into(), ..Default::default() };
    sales(&routed).create_comment(comment.clone()).await.unwrap_err();
    eventually("the routed record", || records_of(&routed, &comment.request_id).len() == 1).await;

    // ...and WARN alone drops it. The shutdown line (its target is always on in
    // these specs) is printed after the call's record would have been.
    let quieted = spawn_gateway_process(&simulator, &quiet("warn")).await;
    sales(&quieted).create_comment(comment.clone()).await.unwrap_err();
    quieted.terminate();
    quieted.wait_for_line("closing the listener").await;
    assert_eq!(records(&quieted), Vec::<Value>::new(), "{}", quieted.output());
}

const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn the_record_is_an_opentelemetry_event_of_the_calls_server_span_with_its_trace_id() {
    let (simulator, collector) = (spawn_simulator().await, Collector::start().await);
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let mut env = audited();
    env.extend([("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()), ("OTEL_BSP_SCHEDULE_DELAY", "100".into())]);
    let gateway = spawn_gateway_process(&simulator, &env).await;

    let refund = refund_of(REFUNDABLE_SALE_ID, "2.00");
    let mut request = tonic::Request::new(refund.clone());
    let traceparent = MetadataValue::try_from(format!("00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01")).unwrap();
    request.metadata_mut().insert("traceparent", traceparent);
    sales(&gateway).refund_invoice(request).await.unwrap();
    let record = the_record_of(&gateway, &refund.request_id).await;
    assert_eq!(record["trace_id"], CALLER_TRACE_ID, "the trace of the call: {record}");

    let name = "twocheckout.v1.SalesService/RefundInvoice";
    let spans = collector.wait_for_spans(|spans| spans.iter().any(|s| s.name == name), PATIENCE).await;
    let server = spans.iter().find(|s| s.name == name).unwrap();
    assert_eq!(server.trace_id, CALLER_TRACE_ID);
    let audits: Vec<_> =
        server.events.iter().zip(&server.event_attributes).filter(|(event, _)| *event == "audit").collect();
    assert_eq!(audits.len(), 1, "one audit event on the server span: {:?}", server.events);
    let attributes = audits[0].1;
    let text = |key: &str| attributes.get(key).and_then(AttrValue::as_str);
    assert_eq!(text("request_id"), Some(refund.request_id.as_str()));
    assert_eq!(text("method"), Some(name));
    assert_eq!(text("amount"), Some("2.00"));
    assert_eq!(text("code"), Some("OK"));
    assert_eq!(text("identity"), Some("anonymous"));
    assert_eq!(text("trace_id"), Some(CALLER_TRACE_ID));
    assert_eq!(attributes.get("replayed").and_then(AttrValue::as_bool), Some(false));
}
