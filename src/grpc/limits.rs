//! The size limits of a call, answered as gRPC statuses on that call: a tower
//! layer around every service that refuses metadata over the gateway's
//! budget with RESOURCE_EXHAUSTED (`REQUEST_TOO_LARGE`, before any handler
//! runs), and turns tonic's OUT_OF_RANGE for a message over
//! `max_decoding_message_size` into the same status (and tonic's INTERNAL for
//! request framing it cannot read into MALFORMED_REQUEST, see
//! `unreadable_framing`).
//!
//! Three limits, from the inside out (`app.rs` sets them, the README lists
//! them):
//! - the message limit (`server.max_message_bytes`): tonic checks a message's
//!   length prefix before buffering it, and answers OUT_OF_RANGE; no row of
//!   the error table answers OUT_OF_RANGE, so this layer can tell it apart
//!   and say RESOURCE_EXHAUSTED, gRPC's code for "larger than the receiver
//!   accepts";
//! - the metadata budget (`server.max_metadata_bytes`): checked here, on the
//!   headers as HTTP/2 counts them (name + value + 32 bytes each);
//! - the HTTP/2 header-list limit ([`http2_max_header_list_bytes`]), far above
//!   the budget, so that metadata between the two gets this layer's clean
//!   status instead of h2's bare HTTP 431.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::domain::Error;

/// The HTTP/2 header-list limit (`SETTINGS_MAX_HEADER_LIST_SIZE`) for a
/// metadata budget: 1 MiB, or twice the budget when that is more.
///
/// Why so far above the budget: up to this size h2 hands the headers over and
/// this layer answers RESOURCE_EXHAUSTED on the call. Above it h2 answers by
/// itself with HTTP 431 and a reset of that one stream (the caller sees
/// UNKNOWN or similar, the connection stays up) until about 1.25 times the
/// limit, where h2's guard against CONTINUATION floods closes the whole
/// connection with GOAWAY; that guard is not configurable. Memory stays
/// bounded: one header block per connection is decoded at a time, and an
/// over-budget call is refused as soon as its headers are complete.
pub fn http2_max_header_list_bytes(max_metadata_bytes: u32) -> u32 {
    const FLOOR: u32 = 1024 * 1024;
    max_metadata_bytes.saturating_mul(2).max(FLOOR)
}

/// The size of `headers` as HTTP/2 counts a header list (RFC 9113, 6.5.2).
pub fn metadata_bytes(headers: &http::HeaderMap) -> u64 {
    headers.iter().map(|(name, value)| (name.as_str().len() + value.len() + 32) as u64).sum()
}

/// Refuses over-budget metadata and names an over-size message; see the module docs.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimitsLayer {
    /// The metadata budget in bytes.
    pub max_metadata_bytes: u32,
    /// The message limit in bytes, as tonic enforces it.
    pub max_message_bytes: u32,
}

impl<S> Layer<S> for RequestLimitsLayer {
    type Service = RequestLimits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLimits { inner, limits: *self }
    }
}

/// The service [`RequestLimitsLayer`] makes.
#[derive(Clone, Debug)]
pub struct RequestLimits<S> {
    inner: S,
    limits: RequestLimitsLayer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RequestLimits<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = LimitedFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if metadata_bytes(request.headers()) > u64::from(self.limits.max_metadata_bytes) {
            let refusal = too_large("metadata", self.limits.max_metadata_bytes);
            return LimitedFuture::Refused { response: Some(refusal) };
        }
        LimitedFuture::Called { inner: self.inner.call(request), max_message_bytes: self.limits.max_message_bytes }
    }
}

/// The trailers-only answer for a request part over its limit.
fn too_large<B: Default>(part: &str, limit: u32) -> http::Response<B> {
    tonic::Status::from(Error::RequestTooLarge { part: part.to_owned(), limit_bytes: u64::from(limit) }).into_http()
}

/// tonic's INTERNAL for request framing it cannot read: a message cut short
/// by the end of the stream, or a compression flag other than 0 and 1. The
/// caller's bytes are malformed, so it is MALFORMED_REQUEST like invalid
/// protobuf (`codec.rs`). Recognised by tonic's own words and by carrying no
/// details (every status the gateway makes carries an ErrorInfo); a tonic
/// release that rewords them fails the caller-input spec. A compressed flag
/// without `grpc-encoding` stays INTERNAL, as the gRPC compression spec requires.
fn unreadable_framing(headers: &http::HeaderMap) -> Option<String> {
    const TONIC_FRAMING_ERRORS: [&str; 2] =
        ["Unexpected EOF decoding stream", "protocol error: received message with invalid compression flag"];
    if headers.contains_key("grpc-status-details-bin") {
        return None;
    }
    let status = tonic::Status::from_header_map(headers)?;
    TONIC_FRAMING_ERRORS.iter().any(|words| status.message().starts_with(words)).then(|| status.message().to_owned())
}

/// The trailers-only answer for unreadable request framing.
fn malformed<B: Default>(detail: String) -> http::Response<B> {
    tonic::Status::from(Error::MalformedRequest { detail }).into_http()
}

pin_project! {
    /// The refusal, ready at once, or the call, with an over-size message renamed.
    #[project = LimitedProjection]
    pub enum LimitedFuture<F, B> {
        Refused { response: Option<http::Response<B>> },
        Called { #[pin] inner: F, max_message_bytes: u32 },
    }
}

impl<F, B, E> Future for LimitedFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Default,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            // Polled again after Ready only by a broken executor; an empty answer beats a panic.
            LimitedProjection::Refused { response } => Poll::Ready(Ok(response.take().unwrap_or_default())),
            LimitedProjection::Called { inner, max_message_bytes } => {
                let response = ready!(inner.poll(cx))?;
                Poll::Ready(Ok(match response.headers().get("grpc-status").map(http::HeaderValue::as_bytes) {
                    // OUT_OF_RANGE comes only from tonic's message limit: no row of the error table uses it.
                    Some(b"11") => too_large("message", *max_message_bytes),
                    Some(b"13") => unreadable_framing(response.headers()).map_or(response, malformed),
                    _ => response,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_are_measured_as_http2_counts_them() {
        let mut headers = http::HeaderMap::new();
        headers.insert("te", http::HeaderValue::from_static("trailers"));
        headers.insert("x-big", http::HeaderValue::from_static("0123456789"));
        assert_eq!(metadata_bytes(&headers), (2 + 8 + 32) + (5 + 10 + 32));
    }

    #[test]
    fn the_http2_limit_stays_well_above_the_metadata_budget() {
        assert_eq!(http2_max_header_list_bytes(8 * 1024), 1024 * 1024);
        assert_eq!(http2_max_header_list_bytes(4 * 1024 * 1024), 8 * 1024 * 1024);
        assert_eq!(http2_max_header_list_bytes(u32::MAX), u32::MAX);
    }
}
