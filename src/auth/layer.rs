//! The auth tower layer: before any handler runs, it identifies the caller
//! (its client certificate, else its bearer token), checks the policy, takes
//! a token from the caller's rate-limit bucket, and puts the [`Caller`] (and
//! its [`RefundCeiling`]) in the request's extensions; or answers the call
//! itself with UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED
//! (trailers-only, like `grpc/limits.rs`).
//!
//! Always open, whoever calls: `grpc.health.v1.Health` (probes cannot present
//! credentials) and server reflection. Reflection describes only the public
//! contract (the same .proto files the clients ship with), so it needs no
//! identity; an operator who wants it hidden switches it off
//! (`server.reflection = false`) and then it is not served at all.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use pin_project_lite::pin_project;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use super::{
    Caller, Identity, Proof, RefundCeiling,
    jwt::{Jwks, JwksError, TokenError, TokenVerifier},
    policy::Policy,
};
use crate::{
    config::AuthSettings,
    grpc::status::ERROR_DOMAIN,
    reload::{LoadError, Reloading},
    transport::ConnectionInfo,
};

/// The `ErrorInfo.reason`s this layer answers with.
pub mod reason {
    /// UNAUTHENTICATED: no identity, or one the policy does not know.
    pub const UNAUTHENTICATED_CALLER: &str = "UNAUTHENTICATED_CALLER";
    /// UNAUTHENTICATED: a bearer token that does not verify (expired, wrong audience, ...).
    pub const INVALID_TOKEN: &str = "INVALID_TOKEN";
    /// PERMISSION_DENIED: the caller is known but the policy does not allow the method.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// RESOURCE_EXHAUSTED: the caller is over its `rate_limit`.
    pub const CALLER_RATE_LIMITED: &str = "CALLER_RATE_LIMITED";
}

/// Services every caller may call, identified or not (see the module docs).
const OPEN_SERVICES: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/// Where bearer tokens are checked: the current keys, and the issuer and audience.
#[derive(Clone)]
pub struct BearerTokens {
    pub keys: Reloading<Jwks>,
    pub verifier: TokenVerifier,
}

/// What the layer enforces when a policy is configured.
struct Enforcer {
    policy: Reloading<Policy>,
    tokens: Option<BearerTokens>,
    limiter: super::rate::RateLimiter,
}

/// The layer; see the module docs.
#[derive(Clone)]
pub struct AuthLayer {
    /// `None`: no policy (zero-setup mode), every call is allowed as [`Caller::anonymous`].
    enforcer: Option<Arc<Enforcer>>,
}

impl AuthLayer {
    /// No policy: every caller may call everything, unidentified.
    pub fn allow_all() -> Self {
        Self { enforcer: None }
    }

    /// Enforces `policy`, with bearer tokens checked when `tokens` is set.
    pub fn enforcing(policy: Reloading<Policy>, tokens: Option<BearerTokens>) -> Self {
        let limiter = super::rate::RateLimiter::default();
        Self { enforcer: Some(Arc::new(Enforcer { policy, tokens, limiter })) }
    }
}

impl AuthLayer {
    /// The layer the settings describe: with `auth.policy_file`, the policy (and with
    /// `auth.jwks_file`, bearer tokens), both loaded now (a bad file is the error, naming
    /// its line when it has one) and re-read every `reload_interval`; without, every call
    /// allowed, with a WARN.
    pub async fn from_settings(settings: &AuthSettings, reload_interval: Duration) -> Result<Self, LoadError> {
        let Some(policy_file) = settings.policy_file.clone() else {
            tracing::warn!(
                "no auth.policy_file: every caller may call every method, unidentified (zero-setup mode); \
                 set auth.policy_file (TCO_AUTH__POLICY_FILE) to say who may move money"
            );
            return Ok(Self::allow_all());
        };
        let file = policy_file.clone();
        let policy = Reloading::start(
            "the policy file (auth.policy_file)",
            vec![policy_file],
            reload_interval,
            move |contents: &[Vec<u8>]| Policy::from_bytes(first(contents), &file),
        )
        .await?;
        let tokens = match &settings.jwks_file {
            None => None,
            Some(jwks_file) => {
                let file = jwks_file.clone();
                let keys = Reloading::start(
                    "the JWKS file (auth.jwks_file)",
                    vec![jwks_file.clone()],
                    reload_interval,
                    move |contents: &[Vec<u8>]| {
                        let keys = Jwks::parse(first(contents), &file)?;
                        for reason in keys.skipped() {
                            tracing::info!(file = %file.display(), "JWKS key left out: {reason}");
                        }
                        Ok::<_, JwksError>(keys)
                    },
                )
                .await?;
                let verifier = TokenVerifier::new(
                    settings.issuer.clone().unwrap_or_default(),
                    settings.audience.clone().unwrap_or_default(),
                );
                Some(BearerTokens { keys, verifier })
            }
        };
        let current = policy.current();
        tracing::info!(
            callers = current.len(),
            bearer_tokens = tokens.is_some(),
            "enforcing the caller policy: unknown callers are UNAUTHENTICATED"
        );
        Ok(Self::enforcing(policy, tokens))
    }
}

/// The one file's contents ([`Reloading`] hands over one per file).
fn first(contents: &[Vec<u8>]) -> &[u8] {
    contents.first().map(Vec::as_slice).unwrap_or_default()
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth { inner, enforcer: self.enforcer.clone() }
    }
}

/// The service [`AuthLayer`] makes.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    enforcer: Option<Arc<Enforcer>>,
}

/// What an admitted call carries into the handlers.
#[derive(Debug, PartialEq, Eq)]
struct Admission {
    caller: Caller,
    ceiling: Option<RefundCeiling>,
}

/// A refused call: the status, and the caller as far as it was established (for the audit trail).
#[derive(Debug)]
struct Refusal {
    caller: Option<Caller>,
    status: tonic::Status,
}

impl Refusal {
    fn anonymous(status: tonic::Status) -> Self {
        Self { caller: None, status }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Auth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        let method = path.trim_start_matches('/');
        let decision = match &self.enforcer {
            None => Ok(Some(Admission { caller: Caller::anonymous(), ceiling: None })),
            Some(enforcer) => enforcer.decide(method, request.headers(), request.extensions()),
        };
        match decision {
            Ok(Some(Admission { caller, ceiling })) => {
                request.extensions_mut().insert(caller);
                if let Some(ceiling) = ceiling {
                    request.extensions_mut().insert(ceiling);
                }
            }
            Ok(None) => {}
            Err(Refusal { caller, status }) => {
                // Inside the telemetry layer's span (it calls this layer in scope): the record
                // carries the call's trace id.
                crate::audit::record_denied(caller.as_ref(), path, &status);
                return AuthFuture::Refused { response: Some(status.into_http()) };
            }
        }
        AuthFuture::Called { inner: self.inner.call(request) }
    }
}

impl Enforcer {
    /// Admits the call (`None` for the open services, which get no caller), or the status
    /// that refuses it.
    fn decide(
        &self,
        method: &str,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Option<Admission>, Refusal> {
        let service = method.split_once('/').map_or(method, |(service, _)| service);
        if OPEN_SERVICES.contains(&service) {
            return Ok(None);
        }
        let (identity, proof) = self.identify(headers, extensions).map_err(Refusal::anonymous)?;
        let caller = Caller { identity: Some(identity.clone()), proof };
        let refuse = |status| Refusal { caller: Some(caller.clone()), status };
        let policy = self.policy.current();
        let Some(entry) = policy.caller(&identity) else {
            let message = format!("caller {identity} is not in the gateway's policy");
            return Err(refuse(unauthenticated(reason::UNAUTHENTICATED_CALLER, message)));
        };
        if !entry.allows(method) {
            let mut details = ErrorDetails::new();
            details.set_error_info(
                reason::METHOD_NOT_ALLOWED,
                ERROR_DOMAIN,
                [("method".to_owned(), method.to_owned()), ("identity".to_owned(), identity.to_string())],
            );
            let message = format!("caller {identity} may not call {method}");
            return Err(refuse(tonic::Status::with_error_details(Code::PermissionDenied, message, details)));
        }
        let still_limited =
            |identity: &Identity, limit| policy.caller(identity).and_then(|c| c.rate_limit) == Some(limit);
        if let Some(limit) = entry.rate_limit
            && let Err(wait) = self.limiter.check(&identity, limit, still_limited)
        {
            return Err(refuse(rate_limited(&identity, limit, wait)));
        }
        Ok(Some(Admission { ceiling: entry.max_refund.clone(), caller }))
    }

    /// The caller's identity: its client certificate's, else its bearer token's.
    fn identify(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<(Identity, Proof), tonic::Status> {
        if let Some(identity) = extensions.get::<ConnectionInfo>().and_then(ConnectionInfo::certificate_identity) {
            return Ok((identity.clone(), Proof::Certificate));
        }
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Err(unauthenticated(
                reason::UNAUTHENTICATED_CALLER,
                "no caller identity: present a client certificate or an `authorization: Bearer <token>`".into(),
            ));
        };
        let Some(tokens) = &self.tokens else {
            return Err(unauthenticated(
                reason::UNAUTHENTICATED_CALLER,
                "bearer tokens are not accepted here (no auth.jwks_file is configured): present a client certificate"
                    .into(),
            ));
        };
        let token = bearer_token(value).map_err(|why| unauthenticated(reason::INVALID_TOKEN, why.into()))?;
        let identity = tokens
            .verifier
            .verify(&tokens.keys.current(), token)
            .map_err(|e: TokenError| unauthenticated(reason::INVALID_TOKEN, e.to_string()))?;
        Ok((identity, Proof::BearerToken))
    }
}

/// The token in `authorization: Bearer <token>` (the scheme in any case, RFC 9110).
fn bearer_token(value: &http::HeaderValue) -> Result<&str, &'static str> {
    const MALFORMED: &str = "the authorization metadata is not `Bearer <token>`";
    let text = value.to_str().map_err(|_| MALFORMED)?;
    let (scheme, token) = text.split_once(' ').ok_or(MALFORMED)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(MALFORMED);
    }
    Ok(token)
}

fn unauthenticated(reason: &str, message: String) -> tonic::Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
    tonic::Status::with_error_details(Code::Unauthenticated, message, details)
}

fn rate_limited(identity: &Identity, limit: super::policy::RateLimit, wait: Duration) -> tonic::Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        reason::CALLER_RATE_LIMITED,
        ERROR_DOMAIN,
        [
            ("identity".to_owned(), identity.to_string()),
            ("perSecond".to_owned(), limit.per_second.to_string()),
            ("burst".to_owned(), limit.burst.to_string()),
        ],
    );
    details.set_retry_info(Some(wait));
    let message = format!(
        "caller {identity} is over its rate limit ({} calls per second, bursts of {}); retry after {} ms",
        limit.per_second,
        limit.burst,
        wait.as_millis().max(1)
    );
    tonic::Status::with_error_details(Code::ResourceExhausted, message, details)
}

pin_project! {
    /// The refusal, ready at once, or the admitted call.
    #[project = AuthProjection]
    pub enum AuthFuture<F, B> {
        Refused { response: Option<http::Response<B>> },
        Called { #[pin] inner: F },
    }
}

impl<F, B, E> Future for AuthFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Default,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            // Polled again after Ready only by a broken executor; an empty answer beats a panic.
            AuthProjection::Refused { response } => Poll::Ready(Ok(response.take().unwrap_or_default())),
            AuthProjection::Called { inner } => Poll::Ready(ready!(inner.poll(cx))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::auth::jwt::testing::{TestKey, claims, jwks};

    const POLICY: &str = r#"
[[caller]]
identity = "spiffe://payments.internal/support-tool"
methods = ["twocheckout.v1.SalesService/GetSale", "twocheckout.v1.SalesService/RefundInvoice"]
max_refund = { amount = "100.00", currency = "USD" }

[[caller]]
identity = "batch"
methods = ["twocheckout.v1.SalesService/*"]
rate_limit = { per_second = 1, burst = 1 }
"#;

    fn enforcer(key: &TestKey) -> Enforcer {
        let policy = Policy::parse(POLICY, Path::new("policy.toml")).unwrap();
        let keys = Jwks::parse(&jwks(&[key]), Path::new("jwks.json")).unwrap();
        let verifier = TokenVerifier::new("https://issuer.test".into(), "tco-gateway".into());
        Enforcer {
            policy: Reloading::fixed(policy),
            tokens: Some(BearerTokens { keys: Reloading::fixed(keys), verifier }),
            limiter: Default::default(),
        }
    }

    /// A request for `method` over a connection with `certificate`, carrying `token`.
    fn request(method: &str, certificate: Option<&str>, token: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder().uri(format!("/{method}")).body(()).unwrap();
        if let Some(identity) = certificate {
            let info = ConnectionInfo::new(None, Some(Identity::parse(identity).unwrap()));
            request.extensions_mut().insert(info);
        }
        if let Some(token) = token {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        request
    }

    fn decide(enforcer: &Enforcer, request: &http::Request<()>) -> Result<Option<Admission>, tonic::Status> {
        enforcer
            .decide(request.uri().path().trim_start_matches('/'), request.headers(), request.extensions())
            .map_err(|refusal| refusal.status)
    }

    fn reason_of(status: &tonic::Status) -> String {
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.domain, ERROR_DOMAIN);
        info.reason
    }

    const GET_SALE: &str = "twocheckout.v1.SalesService/GetSale";
    const SUPPORT: &str = "spiffe://payments.internal/support-tool";

    #[test]
    fn the_certificate_identity_admits_with_its_ceiling() {
        let enforcer = enforcer(&TestKey::es256("k"));
        let admission = decide(&enforcer, &request(GET_SALE, Some(SUPPORT), None)).unwrap().unwrap();
        assert_eq!(
            admission.caller,
            Caller { identity: Some(Identity::parse(SUPPORT).unwrap()), proof: Proof::Certificate }
        );
        assert_eq!(admission.ceiling.unwrap().currency, "USD");
    }

    #[test]
    fn the_certificate_wins_over_a_token() {
        let key = TestKey::es256("k");
        let enforcer = enforcer(&key);
        let token = key.sign(&claims("batch"));
        let admission = decide(&enforcer, &request(GET_SALE, Some(SUPPORT), Some(&token))).unwrap().unwrap();
        assert_eq!(admission.caller.proof, Proof::Certificate);
        assert_eq!(admission.caller.identity.unwrap().as_str(), SUPPORT);
    }

    #[test]
    fn a_token_identifies_a_caller_without_a_certificate() {
        let key = TestKey::ed25519("k");
        let enforcer = enforcer(&key);
        let admission =
            decide(&enforcer, &request(GET_SALE, None, Some(&key.sign(&claims("batch"))))).unwrap().unwrap();
        assert_eq!(admission.caller.proof, Proof::BearerToken);
        assert_eq!(admission.ceiling, None);
    }

    #[test]
    fn unknown_or_missing_callers_are_unauthenticated_and_the_token_is_never_echoed() {
        let key = TestKey::es256("k");
        let enforcer = enforcer(&key);
        let status = decide(&enforcer, &request(GET_SALE, None, None)).unwrap_err();
        assert_eq!((status.code(), reason_of(&status).as_str()), (Code::Unauthenticated, "UNAUTHENTICATED_CALLER"));
        let status = decide(&enforcer, &request(GET_SALE, Some("stranger"), None)).unwrap_err();
        assert_eq!((status.code(), reason_of(&status).as_str()), (Code::Unauthenticated, "UNAUTHENTICATED_CALLER"));
        let mut expired = claims("batch");
        expired["exp"] = (crate::auth::jwt::testing::now() - 3600).into();
        let token = key.sign(&expired);
        let status = decide(&enforcer, &request(GET_SALE, None, Some(&token))).unwrap_err();
        assert_eq!((status.code(), reason_of(&status).as_str()), (Code::Unauthenticated, "INVALID_TOKEN"));
        assert!(status.message().contains("expired"), "{}", status.message());
        assert!(!status.message().contains(&token));
        let mut request = request(GET_SALE, None, None);
        request.headers_mut().insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        let status = decide(&enforcer, &request).unwrap_err();
        assert_eq!(reason_of(&status), "INVALID_TOKEN");
        assert!(!status.message().contains("dXNlcjpwYXNz"));
    }

    #[test]
    fn a_method_outside_the_policy_is_permission_denied_naming_it() {
        let enforcer = enforcer(&TestKey::es256("k"));
        let method = "twocheckout.v1.SalesService/RefundLineItem";
        let status = decide(&enforcer, &request(method, Some(SUPPORT), None)).unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!((info.reason.as_str(), info.metadata["method"].as_str()), ("METHOD_NOT_ALLOWED", method));
    }

    #[test]
    fn health_and_reflection_are_open_to_anyone() {
        let enforcer = enforcer(&TestKey::es256("k"));
        for method in ["grpc.health.v1.Health/Check", "grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] {
            assert_eq!(decide(&enforcer, &request(method, None, None)).unwrap(), None, "{method}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_over_its_rate_is_resource_exhausted_with_the_wait() {
        let enforcer = enforcer(&TestKey::es256("k"));
        let batch = request(GET_SALE, Some("batch"), None);
        assert!(decide(&enforcer, &batch).is_ok());
        let status = decide(&enforcer, &batch).unwrap_err();
        assert_eq!((status.code(), reason_of(&status).as_str()), (Code::ResourceExhausted, "CALLER_RATE_LIMITED"));
        let retry = status.get_error_details().retry_info().cloned().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
        // Other callers are not limited by it.
        assert!(decide(&enforcer, &request(GET_SALE, Some(SUPPORT), None)).is_ok());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(decide(&enforcer, &batch).is_ok());
    }

    #[tokio::test]
    async fn the_layer_puts_the_caller_in_the_extensions_or_answers_trailers_only() {
        use tower::ServiceExt;
        let key = TestKey::es256("k");
        let enforcer = enforcer(&key);
        let layer = AuthLayer { enforcer: Some(Arc::new(enforcer)) };
        let seen = Arc::new(std::sync::Mutex::new(None));
        let inner = {
            let seen = Arc::clone(&seen);
            tower::service_fn(move |request: http::Request<()>| {
                let seen = Arc::clone(&seen);
                async move {
                    *seen.lock().unwrap() = Some((
                        request.extensions().get::<Caller>().cloned(),
                        request.extensions().get::<RefundCeiling>().cloned(),
                    ));
                    Ok::<_, std::convert::Infallible>(http::Response::new(()))
                }
            })
        };
        let service = layer.layer(inner);
        let response = service.clone().oneshot(request(GET_SALE, Some(SUPPORT), None)).await.unwrap();
        assert!(response.headers().get("grpc-status").is_none());
        let (caller, ceiling) = seen.lock().unwrap().take().unwrap();
        assert_eq!(caller.unwrap().proof, Proof::Certificate);
        assert_eq!(ceiling.unwrap().amount, crate::domain::Amount::from_minor_units(10_000));

        let response = service.clone().oneshot(request(GET_SALE, None, None)).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers()["grpc-status"], "16");
        assert!(seen.lock().unwrap().is_none(), "the handler never ran");

        let open = AuthLayer::allow_all().layer(tower::service_fn(|request: http::Request<()>| async move {
            assert_eq!(request.extensions().get::<Caller>(), Some(&Caller::anonymous()));
            Ok::<_, std::convert::Infallible>(http::Response::new(()))
        }));
        open.oneshot(request(GET_SALE, None, None)).await.unwrap();
    }
}
