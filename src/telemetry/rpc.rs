//! The server side of every call: a tower layer around the whole gRPC router
//! that opens the call's server span (continuing the caller's W3C trace),
//! counts it in flight, and when the call ends, by its `grpc-status`, records
//! the status code, the error reason and vendor code from the standard
//! `ErrorInfo` detail, and the duration.
//!
//! It reads the outcome off the wire (the trailers, or the headers of a
//! trailers-only answer) rather than from the handlers, so every way a call
//! can end is covered the same way: a handler's error, tonic's own refusals
//! (an unknown method, an undecodable message), a stream that fails midway,
//! and a caller that goes away (`CANCELLED`).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::{KeyValue, global};
use opentelemetry_http::HeaderExtractor;
use pin_project_lite::pin_project;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use tower::{Layer, Service};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::metrics::instruments;

/// Wraps the gRPC router; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RpcTelemetryLayer;

impl<S> Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTelemetry { inner }
    }
}

/// The service [`RpcTelemetryLayer`] makes.
#[derive(Clone, Debug)]
pub struct RpcTelemetry<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcTelemetry<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = RpcCall::start(&request);
        let span = call.as_ref().map_or_else(Span::none, |c| c.span.clone());
        let inner = span.in_scope(|| self.inner.call(request));
        ResponseFuture { inner, span, call }
    }
}

pin_project! {
    /// Runs the call inside its span and hands the outcome on to the body.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        call: Option<RpcCall>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<ObservedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        let mut call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A trailers-only answer (how tonic sends an error from a unary
                // handler) carries the status in its headers: the call is over.
                if response.headers().contains_key("grpc-status")
                    && let Some(mut call) = call.take()
                {
                    call.end_with(response.headers());
                }
                Ok(response.map(|inner| ObservedBody { inner, call }))
            }
            Err(error) => {
                if let Some(mut call) = call {
                    call.end(Code::Unknown, None);
                }
                Err(error)
            }
        })
    }
}

pin_project! {
    /// The response body, watched for the trailers that end the call.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        call: Option<RpcCall>,
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(call) = this.call.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        call.end_with(trailers);
                        *this.call = None;
                    }
                }
                // A body that fails or ends without trailers never told the caller a status.
                Some(Err(_)) | None => {
                    call.end(Code::Unknown, None);
                    *this.call = None;
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One call being served: its span, start time and metric attributes.
pub(crate) struct RpcCall {
    span: Span,
    started: Instant,
    attributes: [KeyValue; 3],
    ended: bool,
}

/// The gRPC services whose calls are not traced: kubelet probes health every
/// few seconds and tools reflect; neither says anything about payments.
const UNTRACED_SERVICE_PREFIXES: [&str; 2] = ["grpc.health.", "grpc.reflection."];

impl RpcCall {
    /// Opens the span of a call to `/package.Service/Method`; `None` for
    /// untraced services and paths that are not gRPC methods.
    fn start<B>(request: &http::Request<B>) -> Option<Self> {
        let name = request.uri().path().strip_prefix('/')?;
        let (service, method) = name.split_once('/')?;
        if method.is_empty() || method.contains('/') || UNTRACED_SERVICE_PREFIXES.iter().any(|p| service.starts_with(p))
        {
            return None;
        }
        let span = tracing::info_span!(
            "rpc",
            // `service/method`, as written in the path: nothing to format.
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = Empty,
            error.type = Empty,
            tco.vendor.code = Empty,
            tco.cache.hit = Empty,
        );
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        // Fails only once the span has started, which it has not: nothing to handle.
        let _ = span.set_parent(parent);
        let attributes = [
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_owned()),
            KeyValue::new("rpc.method", method.to_owned()),
        ];
        instruments().rpc_active.add(1, &attributes);
        Some(Self { span, started: Instant::now(), attributes, ended: false })
    }

    /// Ends the call with the status in `headers` (trailers, or a trailers-only answer).
    fn end_with(&mut self, headers: &http::HeaderMap) {
        match Status::from_header_map(headers) {
            Some(status) => self.end(status.code(), Some(&status)),
            None => self.end(Code::Unknown, None),
        }
    }

    fn end(&mut self, code: Code, status: Option<&Status>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.span.record("rpc.grpc.status_code", code as i64);
        if is_server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        if code != Code::Ok {
            let details = status.map(|s| s.get_error_details());
            match details.as_ref().and_then(|d| d.error_info()) {
                Some(info) => {
                    self.span.record("error.type", bounded_code(&info.reason));
                    if let Some(vendor_code) = info.metadata.get("vendorCode") {
                        self.span.record("tco.vendor.code", bounded_code(vendor_code));
                    }
                }
                None => {
                    self.span.record("error.type", crate::grpc::status::code_name(code));
                }
            }
        }
        let instruments = instruments();
        instruments.rpc_active.add(-1, &self.attributes);
        let [system, service, method] = self.attributes.clone();
        instruments.rpc_duration.record(
            self.started.elapsed().as_secs_f64(),
            &[system, service, method, KeyValue::new("rpc.grpc.status_code", code as i64)],
        );
    }
}

impl Drop for RpcCall {
    /// Dropped before its status was sent: the caller went away (or its deadline fired).
    fn drop(&mut self) {
        self.end(Code::Cancelled, None);
    }
}

/// The codes the OpenTelemetry RPC conventions count as the server's fault.
fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// A vendor code as an attribute or metric label: 2Checkout's codes are short
/// upper-case words or numbers; anything else is reported as `_OTHER`, so a
/// misbehaving upstream can neither blow up label cardinality nor put its
/// text into telemetry.
pub(super) fn bounded_code(code: &str) -> &str {
    let plausible = !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if plausible { code } else { "_OTHER" }
}

/// Marks the current call's span with whether the detail_sale cache served it.
pub fn record_cache_hit(hit: bool) {
    Span::current().record("tco.cache.hit", hit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_codes_are_kept_only_when_they_look_like_codes() {
        assert_eq!(bounded_code("RECORD_NOT_FOUND"), "RECORD_NOT_FOUND");
        assert_eq!(bounded_code("602"), "602");
        for odd in ["", "record not found", "jane@example.com", &"A".repeat(41)] {
            assert_eq!(bounded_code(odd), "_OTHER", "{odd:?}");
        }
    }

    #[test]
    fn server_errors_follow_the_rpc_conventions() {
        assert!(is_server_error(Code::Unavailable) && is_server_error(Code::DeadlineExceeded));
        assert!(!is_server_error(Code::NotFound) && !is_server_error(Code::FailedPrecondition));
        assert!(!is_server_error(Code::InvalidArgument) && !is_server_error(Code::Ok));
    }
}
