//! Fault injection: make an endpoint slow or answer something canned, for a number of requests
//! or until cleared.
//!
//! Each endpoint has at most one active fault; injecting another replaces it. A fault applies
//! after authentication and counting (unauthenticated requests neither see nor consume it): the
//! delay first, then the canned response instead of the normal answer (or the normal answer if
//! the fault has no canned response).
//!
//! `delay_after_processing` is the other way round: the endpoint runs first (a write is applied
//! and complete), then the answer waits. A client that gives up during that wait has changed the
//! upstream without knowing it, the "outcome unknown" case a gateway must handle; dropping the
//! connection cannot undo the write. With a canned response the endpoint does not run at all, so
//! the delay after processing then simply delays the canned answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Endpoint;

/// What to do to the next requests of an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Answer this instead of the endpoint's normal answer.
    pub response: Option<CannedResponse>,
    /// `None`: every request until cleared; `Some(n)`: the next `n` requests only.
    pub times: Option<u32>,
    /// Run the endpoint normally (its write applied), then wait this long before answering.
    pub delay_after_processing: Option<Duration>,
}

/// A verbatim HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CannedResponse {
    /// HTTP status code (an invalid one is sent as 500).
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: String,
    /// The body, verbatim.
    pub body: String,
}

impl Fault {
    /// Answer normally, but only after `delay`.
    pub fn delay(delay: Duration) -> Self {
        Fault { delay: Some(delay), ..Fault::default() }
    }

    /// Answer `body` with this status and content type instead of the normal answer.
    pub fn respond(status: u16, content_type: &str, body: &str) -> Self {
        Fault {
            response: Some(CannedResponse { status, content_type: content_type.to_owned(), body: body.to_owned() }),
            ..Fault::default()
        }
    }

    /// Process the request normally (a write is applied at once), then answer after `delay`.
    pub fn delay_after_processing(delay: Duration) -> Self {
        Fault { delay_after_processing: Some(delay), ..Fault::default() }
    }

    /// Also wait `delay` after processing, before answering.
    pub fn with_delay_after_processing(self, delay: Duration) -> Self {
        Fault { delay_after_processing: Some(delay), ..self }
    }

    /// Also wait `delay` before answering (combines with [`Fault::respond`]).
    pub fn with_delay(self, delay: Duration) -> Self {
        Fault { delay: Some(delay), ..self }
    }

    /// Apply to the next `n` requests only.
    pub fn times(self, n: u32) -> Self {
        Fault { times: Some(n), ..self }
    }
}

impl CannedResponse {
    /// The HTTP response to send.
    pub(crate) fn to_response(&self) -> Response {
        // An out-of-range status is a test's typo, not a reason to fail the request.
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body.clone()).into_response();
        if let Ok(content_type) = HeaderValue::from_str(&self.content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, content_type);
        }
        response
    }
}

/// The active fault of every endpoint.
#[derive(Debug, Default)]
pub struct FaultTable {
    active: Mutex<HashMap<Endpoint, Fault>>,
}

impl FaultTable {
    pub fn inject(&self, endpoint: Endpoint, fault: Fault) {
        let mut active = self.lock();
        if fault.times == Some(0) {
            active.remove(&endpoint);
        } else {
            active.insert(endpoint, fault);
        }
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The fault this request must suffer, if any, using up one of its `times`.
    pub fn take_for_request(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut active = self.lock();
        let fault = active.get_mut(&endpoint)?;
        let applied = fault.clone();
        if let Some(remaining) = fault.times.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                active.remove(&endpoint);
            }
        }
        Some(applied)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Endpoint, Fault>> {
        self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::{Fault, FaultTable};
    use crate::Endpoint;

    #[test]
    fn a_fault_with_times_is_used_up_after_that_many_requests() {
        let table = FaultTable::default();
        table.inject(Endpoint::DetailSale, Fault::respond(500, "text/plain", "boom").times(2));
        assert!(table.take_for_request(Endpoint::ListSales).is_none());
        assert!(table.take_for_request(Endpoint::DetailSale).is_some());
        assert!(table.take_for_request(Endpoint::DetailSale).is_some());
        assert!(table.take_for_request(Endpoint::DetailSale).is_none());
    }
}
