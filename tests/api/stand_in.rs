//! The pieces every hostile stand-in for 2Checkout shares: a real HTTP server
//! on a fresh loopback port that passes requests on to the simulator, and
//! answers by endpoint. What each stand-in lies about stays in its spec file
//! (`hostile.rs`: redirects and false confirmations; `hostile_bodies.rs`:
//! oversized and deeply nested bodies).

use std::net::SocketAddr;

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use tco_simulator::Endpoint;

/// Serves `router` on a fresh loopback port.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// The last segment of an endpoint's path (`refund_invoice`, `authService`): the Payment
/// API's paths hold the seller id before it.
pub fn last_segment(endpoint: Endpoint) -> &'static str {
    endpoint.path().rsplit('/').next().unwrap_or_default()
}

/// An answer with this status, content type (none when empty) and body.
pub fn respond(status: u16, content_type: &str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if !content_type.is_empty() {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    }
    response
}

/// Sends a request on to the simulator at `upstream` and returns its status, content type and body.
pub async fn pass_on(
    http: &reqwest::Client,
    upstream: SocketAddr,
    method: Method,
    uri: &str,
    mut headers: HeaderMap,
    body: Bytes,
) -> (u16, String, String) {
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    let answer =
        http.request(method, format!("http://{upstream}{uri}")).headers(headers).body(body).send().await.unwrap();
    let status = answer.status().as_u16();
    let content_type =
        answer.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, content_type, answer.text().await.unwrap())
}
