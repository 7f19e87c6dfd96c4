//! Callers and policy: bearer tokens (RS256, ES256, EdDSA) verified against a
//! JWKS file, the policy file's methods and rate limits, health and reflection,
//! and both files reloaded under a running gateway. Real gateway, real
//! simulator, real gRPC (plaintext here; the TLS rows live with the listener).
//!
//! The signing keys are throwaway: ES256 and EdDSA keys are made here, the
//! RSA one is `tests/fixtures/auth/rsa-2048-pkcs1.der` (ring cannot generate
//! RSA keys), used by nothing else.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use figment::{Figment, providers::Serialized};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair},
};
use serde_json::{Value, json};
use tco_gateway::{app::Application, config::Settings, grpc::proto::*};
use tco_simulator::{DOCUMENTED_SALE_ID, RunningSimulator, SimulatorConfig};
use tonic::{Code, Request, Status};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::helpers::{PATIENCE, TestApp, expect_error, spawn_gateway, spawn_gateway_process, spawn_simulator};

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "tco-gateway";
const GET_SALE: &str = "twocheckout.v1.SalesService/GetSale";
const LIST_SALES: &str = "twocheckout.v1.SalesService/ListSales";

/// A signing key and its public JWK.
pub struct Signer {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Signer {
    pub fn rs256(kid: &str) -> Self {
        let der = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth/rsa-2048-pkcs1.der"))
            .unwrap();
        let pair = ring::rsa::KeyPair::from_der(&der).unwrap();
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        let jwk =
            json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(&public.n), "e": b64(&public.e)});
        Self { kid: kid.into(), algorithm: Algorithm::RS256, key: EncodingKey::from_rsa_der(&der), jwk }
    }

    pub fn es256(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let (x, y) = pair.public_key().as_ref()[1..].split_at(32);
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(x), "y": b64(y)});
        Self { kid: kid.into(), algorithm: Algorithm::ES256, key: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk }
    }

    pub fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())});
        Self { kid: kid.into(), algorithm: Algorithm::EdDSA, key: EncodingKey::from_ed_der(pkcs8.as_ref()), jwk }
    }

    /// A token for `sub` with the gateway's issuer and audience, valid for ten minutes.
    pub fn token(&self, sub: &str) -> String {
        self.token_with(claims(sub))
    }

    pub fn token_with(&self, claims: Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

pub fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

pub fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "nbf": now(), "exp": now() + 600})
}

pub fn jwks_of(signers: &[&Signer]) -> String {
    json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// A policy entry: `identity` may call `methods`, with `extra` TOML lines.
fn caller(identity: &str, methods: &[&str], extra: &str) -> String {
    let methods: Vec<_> = methods.iter().map(|m| format!("{m:?}")).collect();
    format!("[[caller]]\nidentity = {identity:?}\nmethods = [{}]\n{extra}\n", methods.join(", "))
}

/// The usual policy: a reader of GetSale, a caller of everything in SalesService, a
/// rate-limited caller.
fn policy() -> String {
    [
        caller("svc-reader", &[GET_SALE], ""),
        caller("svc-sales", &["twocheckout.v1.SalesService/*"], ""),
        caller("svc-limited", &[GET_SALE], "rate_limit = { per_second = 1, burst = 1 }"),
    ]
    .concat()
}

/// A directory of its own for one spec's files, removed at the end.
pub struct Files {
    dir: PathBuf,
}

impl Files {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tco-auth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Replaces a file whole (write then rename), as Kubernetes swaps a mounted file: the
    /// gateway never reads half a file.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let (path, staged) = (self.path(name), self.path(&format!(".{name}.new")));
        std::fs::write(&staged, contents).unwrap();
        std::fs::rename(&staged, &path).unwrap();
        path
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The auth settings for `files`' policy.toml and jwks.json, re-read every 50 ms.
fn auth_settings(files: &Files) -> Vec<(&'static str, String)> {
    vec![
        ("auth.policy_file", files.path("policy.toml").display().to_string()),
        ("auth.jwks_file", files.path("jwks.json").display().to_string()),
        ("auth.issuer", ISSUER.into()),
        ("auth.audience", AUDIENCE.into()),
        ("server.reload_interval", "50ms".into()),
    ]
}

/// A gateway enforcing `policy`, with `signers`' keys in its JWKS.
async fn spawn_guarded(files: &Files, policy: &str, signers: &[&Signer], extra: &[(&str, &str)]) -> TestApp {
    files.write("policy.toml", policy);
    files.write("jwks.json", &jwks_of(signers));
    let settings = auth_settings(files);
    let mut overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.extend_from_slice(extra);
    spawn_gateway(&spawn_simulator().await, &overrides).await
}

fn get_sale() -> GetSaleRequest {
    GetSaleRequest { lookup: Some(get_sale_request::Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false }
}

fn list_sales() -> ListSalesRequest {
    ListSalesRequest { page_size: 1, ..Default::default() }
}

/// `message` with `authorization: Bearer <token>` when a token is given.
fn bearer<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

async fn get_sale_as(app: &TestApp, token: Option<&str>) -> Result<GetSaleResponse, Status> {
    app.sales.clone().get_sale(bearer(get_sale(), token)).await.map(tonic::Response::into_inner)
}

async fn list_sales_as(app: &TestApp, token: Option<&str>) -> Result<ListSalesResponse, Status> {
    app.sales.clone().list_sales(bearer(list_sales(), token)).await.map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_call_without_an_identity_is_unauthenticated_and_runs_nothing() {
    let files = Files::new("no-identity");
    let app = spawn_guarded(&files, &policy(), &[&Signer::es256("k1")], &[]).await;
    let status = get_sale_as(&app, None).await.unwrap_err();
    expect_error(&status, Code::Unauthenticated, "UNAUTHENTICATED_CALLER");
    assert!(status.message().contains("client certificate or"), "{}", status.message());
    assert_eq!(app.simulator.request_count(tco_simulator::Endpoint::DetailSale), 0);
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_of_a_known_caller_are_allowed() {
    let files = Files::new("allowed");
    let (rsa, ec, ed) = (Signer::rs256("rsa-1"), Signer::es256("ec-1"), Signer::ed25519("ed-1"));
    let app = spawn_guarded(&files, &policy(), &[&rsa, &ec, &ed], &[]).await;
    for signer in [&rsa, &ec, &ed] {
        let response = get_sale_as(&app, Some(&signer.token("svc-reader"))).await;
        let sale = response.unwrap_or_else(|s| panic!("{:?}: {s:?}", signer.algorithm)).sale.unwrap();
        assert_eq!(sale.sale_id, DOCUMENTED_SALE_ID);
    }
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_saying_why_without_echoing_them() {
    let files = Files::new("bad-tokens");
    let (known, stranger) = (Signer::es256("ec-1"), Signer::es256("ec-1"));
    let app = spawn_guarded(&files, &policy(), &[&known], &[]).await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims("svc-reader");
        change(&mut claims);
        known.token_with(claims)
    };
    let cases = [
        ("expired", with(&|c| c["exp"] = json!(now() - 3600)), "expired"),
        ("not yet valid", with(&|c| c["nbf"] = json!(now() + 3600)), "not valid yet"),
        ("wrong audience", with(&|c| c["aud"] = json!("another-service")), "audience"),
        ("wrong issuer", with(&|c| c["iss"] = json!("https://elsewhere.test")), "issuer"),
        ("bad signature", stranger.token("svc-reader"), "signature"),
        ("unknown kid", Signer::es256("ec-unknown").token("svc-reader"), "key id"),
        ("not a JWT", "not.a.jwt".to_owned(), "not a well-formed JWT"),
    ];
    for (case, token, why) in cases {
        let status = get_sale_as(&app, Some(&token)).await.unwrap_err();
        expect_error(&status, Code::Unauthenticated, "INVALID_TOKEN");
        assert!(status.message().contains(why), "{case}: {}", status.message());
        assert!(!status.message().contains(&token), "{case}: the token is echoed");
    }
}

#[tokio::test]
async fn a_valid_token_whose_subject_is_not_in_the_policy_is_unauthenticated() {
    let files = Files::new("stranger");
    let signer = Signer::ed25519("ed-1");
    let app = spawn_guarded(&files, &policy(), &[&signer], &[]).await;
    let status = get_sale_as(&app, Some(&signer.token("svc-stranger"))).await.unwrap_err();
    expect_error(&status, Code::Unauthenticated, "UNAUTHENTICATED_CALLER");
    assert!(status.message().contains("svc-stranger"), "{}", status.message());
}

#[tokio::test]
async fn a_method_the_policy_does_not_allow_is_permission_denied_naming_it() {
    let files = Files::new("not-allowed");
    let signer = Signer::es256("ec-1");
    let app = spawn_guarded(&files, &policy(), &[&signer], &[]).await;
    let status = list_sales_as(&app, Some(&signer.token("svc-reader"))).await.unwrap_err();
    let details = expect_error(&status, Code::PermissionDenied, "METHOD_NOT_ALLOWED");
    assert_eq!(details.error_info().unwrap().metadata["method"], LIST_SALES);
    assert!(status.message().contains(LIST_SALES), "{}", status.message());
}

#[tokio::test]
async fn a_service_wildcard_allows_each_of_its_methods() {
    let files = Files::new("wildcard");
    let signer = Signer::es256("ec-1");
    let app = spawn_guarded(&files, &policy(), &[&signer], &[]).await;
    let token = signer.token("svc-sales");
    get_sale_as(&app, Some(&token)).await.unwrap();
    list_sales_as(&app, Some(&token)).await.unwrap();
    // Not another service's methods.
    let mut payments = authorization_service_client::AuthorizationServiceClient::new(app.channel.clone());
    let status = payments.authorize(bearer(AuthorizeRequest::default(), Some(&token))).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn health_is_open_without_an_identity_and_reflection_can_be_switched_off() {
    let files = Files::new("open");
    let app = spawn_guarded(&files, &policy(), &[&Signer::es256("ec-1")], &[("server.reflection", "false")]).await;
    let mut health = HealthClient::new(app.channel.clone());
    let response = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    assert_eq!(response.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);

    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let answer = match reflection.server_reflection_info(tokio_stream::iter(vec![request])).await {
        Err(status) => status,
        Ok(response) => {
            use tokio_stream::StreamExt;
            response.into_inner().next().await.expect("an answer or an error").unwrap_err()
        }
    };
    assert_eq!(answer.code(), Code::Unimplemented, "{answer:?}");
}

#[tokio::test]
async fn a_caller_over_its_rate_limit_is_told_when_to_retry_and_then_served() {
    let files = Files::new("rate");
    let signer = Signer::es256("ec-1");
    let app = spawn_guarded(&files, &policy(), &[&signer], &[]).await;
    let token = signer.token("svc-limited");
    get_sale_as(&app, Some(&token)).await.unwrap();
    let status = get_sale_as(&app, Some(&token)).await.unwrap_err();
    let details = expect_error(&status, Code::ResourceExhausted, "CALLER_RATE_LIMITED");
    let delay = details.retry_info().expect("RetryInfo").retry_delay.expect("a delay");
    assert!(delay > Duration::ZERO && delay <= Duration::from_secs(1), "{delay:?}");
    // Other callers are not held back by it.
    get_sale_as(&app, Some(&signer.token("svc-reader"))).await.unwrap();
    // After the delay it names, the caller is served again (retrying as told, a bounded number of times).
    let mut wait = delay;
    for attempt in 0.. {
        assert!(attempt < 10, "still limited after {attempt} waits");
        tokio::time::sleep(wait).await;
        match get_sale_as(&app, Some(&token)).await {
            Ok(_) => break,
            Err(status) => {
                let details = expect_error(&status, Code::ResourceExhausted, "CALLER_RATE_LIMITED");
                wait = details.retry_info().unwrap().retry_delay.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn a_rewritten_policy_applies_without_a_restart() {
    let files = Files::new("policy-reload");
    let signer = Signer::es256("ec-1");
    let app = spawn_guarded(&files, &policy(), &[&signer], &[]).await;
    let token = signer.token("svc-reader");
    let status = list_sales_as(&app, Some(&token)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    files.write("policy.toml", &caller("svc-reader", &[GET_SALE, LIST_SALES], ""));
    wait_until_ok("ListSales allowed by the new policy", || list_sales_as(&app, Some(&token))).await;
}

#[tokio::test]
async fn a_rewritten_jwks_accepts_the_new_key_without_a_restart() {
    let files = Files::new("jwks-reload");
    let (old, new) = (Signer::es256("ec-old"), Signer::ed25519("ed-new"));
    let app = spawn_guarded(&files, &policy(), &[&old], &[]).await;
    let token = new.token("svc-reader");
    let status = get_sale_as(&app, Some(&token)).await.unwrap_err();
    expect_error(&status, Code::Unauthenticated, "INVALID_TOKEN");

    files.write("jwks.json", &jwks_of(&[&old, &new]));
    wait_until_ok("a token of the new key accepted", || get_sale_as(&app, Some(&token))).await;
    get_sale_as(&app, Some(&old.token("svc-reader"))).await.unwrap();
}

/// Calls until the call succeeds, for at most [`PATIENCE`]; the reload is observed, not timed.
async fn wait_until_ok<T, F: Future<Output = Result<T, Status>>>(what: &str, mut call: impl FnMut() -> F) {
    let started = std::time::Instant::now();
    loop {
        match call().await {
            Ok(_) => return,
            Err(status) => assert!(started.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}: {status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The auth settings of [`auth_settings`] as the binary's environment variables.
fn auth_env(files: &Files) -> Vec<(&'static str, String)> {
    auth_settings(files)
        .into_iter()
        .map(|(key, value)| match key {
            "auth.policy_file" => ("TCO_AUTH__POLICY_FILE", value),
            "auth.jwks_file" => ("TCO_AUTH__JWKS_FILE", value),
            "auth.issuer" => ("TCO_AUTH__ISSUER", value),
            "auth.audience" => ("TCO_AUTH__AUDIENCE", value),
            _ => ("TCO_SERVER__RELOAD_INTERVAL", value),
        })
        .collect()
}

#[tokio::test]
async fn a_bad_new_policy_keeps_the_old_one_and_the_warning_names_the_line() {
    let files = Files::new("bad-reload");
    let signer = Signer::es256("ec-1");
    files.write("policy.toml", &policy());
    files.write("jwks.json", &jwks_of(&[&signer]));
    let simulator = RunningSimulator::start(SimulatorConfig::default()).await.unwrap();
    let gateway = spawn_gateway_process(&simulator, &auth_env(&files)).await;
    let mut sales = sales_service_client::SalesServiceClient::new(gateway.channel.clone());
    let token = signer.token("svc-reader");
    sales.get_sale(bearer(get_sale(), Some(&token))).await.unwrap();

    // Line 3 names a method that does not exist, and would also allow ListSales.
    files.write("policy.toml", &caller("svc-other", &[LIST_SALES, "twocheckout.v1.SalesService/Nope"], ""));
    let warning = gateway.wait_for_line("keeping the previous version").await;
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("policy.toml, line 3") && warning.contains("unknown method"), "{warning}");
    sales.get_sale(bearer(get_sale(), Some(&token))).await.expect("the old policy still admits svc-reader");
}

#[tokio::test]
async fn a_bad_policy_at_start_stops_start_up_naming_the_file_and_line() {
    let files = Files::new("bad-start");
    let simulator = spawn_simulator().await;
    files.write("policy.toml", &format!("{}\n[[caller]]\nidentity = \"svc-reader\"\nmethods = []\n", policy()));
    let mut figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("admin_api.base_url", simulator.admin_api_base_url()))
        .merge(Serialized::global("admin_api.username", SimulatorConfig::default().api_username))
        .merge(Serialized::global("admin_api.password", SimulatorConfig::default().api_password));
    figment = figment.merge(Serialized::global("auth.policy_file", files.path("policy.toml")));
    let settings = Settings::from_figment(figment).unwrap();
    let Err(error) = Application::build(settings).await else { panic!("a duplicate identity must stop start-up") };
    let text = error.to_string();
    let line = policy().lines().count() + 3;
    assert!(text.contains("auth.policy_file"), "{text}");
    assert!(text.contains(&format!("policy.toml, line {line}: identity svc-reader appears more than once")), "{text}");
}

#[tokio::test]
async fn without_a_policy_every_call_is_allowed() {
    let app = spawn_gateway(&spawn_simulator().await, &[]).await;
    get_sale_as(&app, None).await.unwrap();
}

#[tokio::test]
async fn every_refusal_is_in_the_audit_trail_with_the_caller_as_far_as_known() {
    let files = Files::new("audited");
    let signer = Signer::es256("ec-1");
    files.write("policy.toml", &policy());
    files.write("jwks.json", &jwks_of(&[&signer]));
    let simulator = RunningSimulator::start(SimulatorConfig::default()).await.unwrap();
    let mut env = auth_env(&files);
    env.extend([("TCO_LOG__FORMAT", "json".to_owned()), ("TCO_LOG__FILTER", "warn".to_owned())]);
    let gateway = spawn_gateway_process(&simulator, &env).await;
    let mut sales = sales_service_client::SalesServiceClient::new(gateway.channel.clone());
    let denied = sales.list_sales(bearer(list_sales(), Some(&signer.token("svc-reader")))).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = sales.get_sale(bearer(get_sale(), None)).await.unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);

    let denials = || -> Vec<Value> {
        gateway
            .output()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["target"] == "tco_gateway::audit" && line["audit"] == "denied")
            .collect()
    };
    let started = std::time::Instant::now();
    while denials().len() < 2 {
        assert!(started.elapsed() < PATIENCE, "two denials audited:\n{}", gateway.output());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let records = denials();
    let (first, second) = (&records[0], &records[1]);
    assert_eq!(
        (&first["identity"], &first["proof"], &first["method"], &first["code"], &first["reason"]),
        (
            &json!("svc-reader"),
            &json!("bearer_token"),
            &json!(LIST_SALES),
            &json!("PERMISSION_DENIED"),
            &json!("METHOD_NOT_ALLOWED")
        ),
        "{first}"
    );
    let trace_id = first["trace_id"].as_str().unwrap_or_default();
    assert_eq!(trace_id.len(), 32, "recorded inside the call's span: {first}");
    assert_eq!(
        (&second["identity"], &second["method"], &second["code"], &second["reason"]),
        (&json!("anonymous"), &json!(GET_SALE), &json!("UNAUTHENTICATED"), &json!("UNAUTHENTICATED_CALLER")),
        "{second}"
    );
}
