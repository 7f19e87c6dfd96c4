//! The client side of every 2Checkout request: a client span (a child of the
//! call's server span) with the OpenTelemetry HTTP attributes, the
//! `traceparent` header that carries the trace upstream, and the request's
//! duration and vendor error code as metrics.
//!
//! Only what cannot carry a secret or personal data is recorded: the method,
//! host and port, the URL's path (never its query string, which holds sale
//! ids, nor user info), the HTTP status, the error reason and a bounded
//! vendor code.

use std::time::Instant;

use opentelemetry::{KeyValue, global};
use opentelemetry_http::HeaderInjector;
use reqwest::{Method, StatusCode, Url};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{metrics::instruments, rpc::bounded_code};
use crate::domain::Error;

/// One upstream request in flight; see the module docs.
pub(crate) struct UpstreamCall {
    span: Span,
    started: Instant,
    method: &'static str,
    endpoint: &'static str,
    server_address: String,
    http_status: Option<u16>,
}

impl UpstreamCall {
    /// Opens the client span of a request to `url`, which the gateway calls `endpoint`.
    pub fn start(method: &Method, url: &Url, endpoint: &'static str) -> Self {
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            _ => "_OTHER",
        };
        let server_address = url.host_str().unwrap_or_default().to_owned();
        let span = tracing::info_span!(
            "upstream",
            otel.name = %format_args!("{method} {endpoint}"),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            server.address = %server_address,
            server.port = url.port_or_known_default().map(i64::from),
            url.path = url.path(),
            tco.upstream.endpoint = endpoint,
            http.response.status_code = Empty,
            error.type = Empty,
            tco.vendor.code = Empty,
        );
        Self { span, started: Instant::now(), method, endpoint, server_address, http_status: None }
    }

    /// The span to run the request in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The headers that carry the trace upstream (`traceparent`, `tracestate`).
    pub fn trace_headers(&self) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        let context = self.span.context();
        global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(&mut headers)));
        headers
    }

    /// Notes the answer's HTTP status as soon as it is known.
    pub fn record_status(&mut self, status: StatusCode) {
        self.http_status = Some(status.as_u16());
        self.span.record("http.response.status_code", i64::from(status.as_u16()));
    }

    /// Ends the request with its outcome and records its metrics.
    pub fn finish<T>(self, outcome: &Result<T, Error>) {
        let mut attributes = vec![
            KeyValue::new("http.request.method", self.method),
            KeyValue::new("server.address", self.server_address),
            KeyValue::new("tco.upstream.endpoint", self.endpoint),
        ];
        if let Some(status) = self.http_status {
            attributes.push(KeyValue::new("http.response.status_code", i64::from(status)));
        }
        if let Err(error) = outcome {
            let reason = bounded_code(error.reason()).to_owned();
            self.span.record("error.type", reason.as_str());
            self.span.record("otel.status_code", "ERROR");
            attributes.push(KeyValue::new("error.type", reason));
            if let Some(code) = error.vendor_code().map(bounded_code) {
                self.span.record("tco.vendor.code", code);
                instruments().vendor_errors.add(
                    1,
                    &[
                        KeyValue::new("tco.vendor.code", code.to_owned()),
                        KeyValue::new("tco.upstream.endpoint", self.endpoint),
                    ],
                );
            }
        }
        instruments().upstream_duration.record(self.started.elapsed().as_secs_f64(), &attributes);
    }
}
