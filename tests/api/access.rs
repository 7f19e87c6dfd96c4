//! Who may move money, end to end over real mTLS: the real binary with TLS, a
//! client CA, a policy and a JWKS, called by real gRPC clients that present
//! client certificates or bearer tokens. One spec walks every allow and deny
//! row; one holds refunds to the caller's ceiling (a full refund by what
//! remains). Both read the audit records the binary printed for them.

use rcgen::SanType;
use serde_json::{Value, json};
use tco_gateway::grpc::proto::{
    GetSaleRequest, ListSalesRequest, RefundInvoiceRequest, get_sale_request::Lookup,
    sales_service_client::SalesServiceClient,
};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, REFUNDABLE_SALE_ID, REFUNDABLE_SALE_PLACED, RunningSimulator};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt as _;

use crate::{
    auth::{AUDIENCE, Files, ISSUER, Signer, claims, jwks_of, now},
    certs::{Issued, TestCa, TlsDir, tls_channel},
    helpers::{GatewayProcess, eventually, expect_error, set_clock_after, spawn_gateway_process, spawn_simulator},
    writes::refund_of,
};

const GET_SALE: &str = "twocheckout.v1.SalesService/GetSale";
const LIST_SALES: &str = "twocheckout.v1.SalesService/ListSales";
const REFUND_INVOICE: &str = "twocheckout.v1.SalesService/RefundInvoice";
const SUPPORT_TOOL: &str = "spiffe://payments.internal/support-tool";
const CAUTIOUS_TOOL: &str = "cautious-tool.payments.internal";
const REPORTING_JOB: &str = "reporting-job";
const BATCH_JOB: &str = "svc-batch";

/// A support tool that may refund up to 100.00 USD (known by its SPIFFE ID), a cautious
/// one up to 30.00 USD (by its DNS name), a reporting job that may only list (by its CN)
/// and a batch job that may look sales up (by its token's `sub`).
fn policy() -> String {
    format!(
        r#"[[caller]]
identity = "{SUPPORT_TOOL}"
methods = ["{GET_SALE}", "{REFUND_INVOICE}"]
max_refund = {{ amount = "100.00", currency = "USD" }}

[[caller]]
identity = "{CAUTIOUS_TOOL}"
methods = ["{REFUND_INVOICE}"]
max_refund = {{ amount = "30.00", currency = "USD" }}

[[caller]]
identity = "{REPORTING_JOB}"
methods = ["{LIST_SALES}"]

[[caller]]
identity = "{BATCH_JOB}"
methods = ["{GET_SALE}"]
"#
    )
}

/// The gateway's certificate authority, the certificates it issued, and the token signer.
struct Credentials {
    ca: TestCa,
    support_tool: Issued,
    cautious_tool: Issued,
    reporting_job: Issued,
    signer: Signer,
}

impl Credentials {
    fn new() -> Self {
        let ca = TestCa::new("payments CA");
        let dns = |name: &str| SanType::DnsName(name.try_into().unwrap());
        // A SPIFFE ID wins over a DNS name and the CN; a DNS name over the CN.
        let spiffe = SanType::URI(SUPPORT_TOOL.try_into().unwrap());
        let support_tool = ca.client("support", vec![dns("support.payments.internal"), spiffe]);
        let cautious_tool = ca.client("cautious", vec![dns(CAUTIOUS_TOOL)]);
        let reporting_job = ca.client(REPORTING_JOB, vec![]);
        Self { ca, support_tool, cautious_tool, reporting_job, signer: Signer::es256("payments-issuer-1") }
    }
}

/// The real binary serving TLS with the client CA, the policy and the JWKS, logging JSON at
/// WARN (the audit trail is logged whatever the filter), in front of `simulator`.
async fn spawn_guarded(
    simulator: &RunningSimulator,
    credentials: &Credentials,
    files: &Files,
) -> (GatewayProcess, TlsDir) {
    let tls = TlsDir::new(&credentials.ca, &credentials.ca.server(), Some(&credentials.ca));
    files.write("policy.toml", &policy());
    files.write("jwks.json", &jwks_of(&[&credentials.signer]));
    let mut env: Vec<(&str, String)> = vec![
        ("TCO_AUTH__POLICY_FILE", files.path("policy.toml").display().to_string()),
        ("TCO_AUTH__JWKS_FILE", files.path("jwks.json").display().to_string()),
        ("TCO_AUTH__ISSUER", ISSUER.into()),
        ("TCO_AUTH__AUDIENCE", AUDIENCE.into()),
        ("TCO_LOG__FORMAT", "json".into()),
        ("TCO_LOG__FILTER", "warn".into()),
    ];
    for (setting, value) in tls.settings(true) {
        env.push((env_var(setting), value));
    }
    (spawn_gateway_process(simulator, &env).await, tls)
}

/// The environment variable of a setting: `server.tls.cert_file` is `TCO_SERVER__TLS__CERT_FILE`.
fn env_var(setting: &str) -> &'static str {
    format!("TCO_{}", setting.to_uppercase().replace('.', "__")).leak()
}

async fn client(gateway: &GatewayProcess, credentials: &Credentials, certificate: Option<&Issued>) -> Channel {
    tls_channel(gateway.addr(), &credentials.ca, certificate).await.expect("a TLS connection").channel
}

fn bearer<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

async fn get_sale(channel: &Channel, token: Option<&str>) -> Result<(), Status> {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: true };
    SalesServiceClient::new(channel.clone()).get_sale(bearer(request, token)).await.map(drop)
}

async fn list_sales(channel: &Channel) -> Result<(), Status> {
    let request = ListSalesRequest { page_size: 1, ..Default::default() };
    SalesServiceClient::new(channel.clone()).list_sales(request).await.map(drop)
}

async fn refund(channel: &Channel, request: RefundInvoiceRequest) -> Result<(), Status> {
    SalesServiceClient::new(channel.clone()).refund_invoice(request).await.map(drop)
}

/// Every audit record the gateway printed so far.
fn audit_records(gateway: &GatewayProcess) -> Vec<Value> {
    let output = gateway.output();
    let records = output.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok());
    records.filter(|record| record["target"] == "tco_gateway::audit").collect()
}

/// Waits until the gateway has printed the audit record `matching`, and returns it.
async fn audit_record(gateway: &GatewayProcess, what: &str, matching: impl Fn(&Value) -> bool) -> Value {
    eventually(what, || audit_records(gateway).iter().any(&matching)).await;
    audit_records(gateway).into_iter().find(|record| matching(record)).unwrap()
}

fn error_info(status: &Status) -> std::collections::HashMap<String, String> {
    status.get_error_details().error_info().map(|info| info.metadata.clone()).unwrap_or_default()
}

#[tokio::test]
async fn over_mtls_each_caller_may_do_exactly_what_the_policy_says() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let (credentials, files) = (Credentials::new(), Files::new("access-rows"));
    let (gateway, _tls) = spawn_guarded(&simulator, &credentials, &files).await;
    let anonymous = client(&gateway, &credentials, None).await;
    let support_tool = client(&gateway, &credentials, Some(&credentials.support_tool)).await;
    let reporting_job = client(&gateway, &credentials, Some(&credentials.reporting_job)).await;
    let token_of = |claims: Value| credentials.signer.token_with(claims);

    // Refused before anything reaches 2Checkout.
    let status = get_sale(&anonymous, None).await.unwrap_err();
    expect_error(&status, Code::Unauthenticated, "UNAUTHENTICATED_CALLER");
    let expired = token_of(claims_with(BATCH_JOB, "exp", json!(now() - 3600)));
    let status = get_sale(&anonymous, Some(&expired)).await.unwrap_err();
    expect_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
    assert!(status.message().contains("expired"), "{status:?}");
    let elsewhere = token_of(claims_with(BATCH_JOB, "aud", json!("another-service")));
    let status = get_sale(&anonymous, Some(&elsewhere)).await.unwrap_err();
    expect_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
    assert!(status.message().contains("audience"), "{status:?}");
    let status = get_sale(&reporting_job, None).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "METHOD_NOT_ALLOWED");
    assert_eq!(error_info(&status)["method"], GET_SALE);
    let over = refund_of(REFUNDABLE_SALE_ID, "100.01");
    let status = refund(&support_tool, over.clone()).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "REFUND_OVER_CEILING");
    assert_eq!(error_info(&status)["limit"], "100.00 USD");
    assert!(status.message().contains("100.00 USD"), "{status:?}");
    assert_eq!(simulator.request_count(Endpoint::DetailSale), 0, "no denied call reached 2Checkout");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0);

    // Allowed, each by its own proof: a SPIFFE ID, a CN, a token over a TLS connection
    // without a client certificate.
    get_sale(&support_tool, None).await.expect("the support tool may look a sale up");
    list_sales(&reporting_job).await.expect("the reporting job may list sales");
    get_sale(&anonymous, Some(&credentials.signer.token(BATCH_JOB))).await.expect("the batch job's token");
    let within = refund_of(REFUNDABLE_SALE_ID, "10.00");
    refund(&support_tool, within.clone()).await.expect("a refund within the ceiling");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);

    // The trail names who did what, refusals included.
    let landed = audit_record(&gateway, "the landed refund", |r| r["request_id"] == within.request_id).await;
    assert_eq!((&landed["identity"], &landed["proof"]), (&json!(SUPPORT_TOOL), &json!("certificate")), "{landed}");
    assert_eq!(
        (&landed["code"], &landed["effect"], &landed["amount"]),
        (&json!("OK"), &json!("applied"), &json!("10.00"))
    );
    let refused = audit_record(&gateway, "the refused refund", |r| r["request_id"] == over.request_id).await;
    assert_eq!((&refused["identity"], &refused["code"]), (&json!(SUPPORT_TOOL), &json!("PERMISSION_DENIED")));
    assert_eq!((&refused["reason"], &refused["effect"]), (&json!("REFUND_OVER_CEILING"), &json!("not_applied")));
    let denied = audit_record(&gateway, "the denied lookup", |r| r["identity"] == REPORTING_JOB).await;
    assert_eq!((&denied["audit"], &denied["method"]), (&json!("denied"), &json!(GET_SALE)), "{denied}");
    assert_eq!(denied["reason"], "METHOD_NOT_ALLOWED", "{denied}");
}

/// The claims of a valid token for `sub`, but for `field`.
fn claims_with(sub: &str, field: &str, value: Value) -> Value {
    let mut claims = claims(sub);
    claims[field] = value;
    claims
}

#[tokio::test]
async fn a_full_refund_is_held_to_the_ceiling_by_what_remains_on_the_invoice() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let (credentials, files) = (Credentials::new(), Files::new("access-ceiling"));
    let (gateway, _tls) = spawn_guarded(&simulator, &credentials, &files).await;
    let cautious_tool = client(&gateway, &credentials, Some(&credentials.cautious_tool)).await;

    // 34.98 USD remain on the refundable sale: over the cautious tool's 30.00.
    let whole = refund_of(REFUNDABLE_SALE_ID, "");
    let status = refund(&cautious_tool, whole.clone()).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "REFUND_OVER_CEILING");
    let info = error_info(&status);
    assert_eq!((info["amount"].as_str(), info["limit"].as_str()), ("34.98 USD", "30.00 USD"));
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0, "nothing was sent");

    // 30.00 is within it; then 4.98 remain, and the whole of that is too.
    refund(&cautious_tool, refund_of(REFUNDABLE_SALE_ID, "30.00")).await.expect("a refund at the ceiling");
    let rest = refund_of(REFUNDABLE_SALE_ID, "");
    refund(&cautious_tool, rest.clone()).await.expect("what remains is within the ceiling now");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 2);

    let refused = audit_record(&gateway, "the refused full refund", |r| r["request_id"] == whole.request_id).await;
    assert_eq!((&refused["identity"], &refused["full_refund"]), (&json!(CAUTIOUS_TOOL), &json!(true)), "{refused}");
    assert_eq!((&refused["reason"], &refused["effect"]), (&json!("REFUND_OVER_CEILING"), &json!("not_applied")));
    let landed = audit_record(&gateway, "the landed full refund", |r| r["request_id"] == rest.request_id).await;
    assert_eq!((&landed["code"], &landed["effect"]), (&json!("OK"), &json!("applied")), "{landed}");
}
