//! Load shedding: a tower layer that admits at most `server.max_concurrent_calls`
//! calls at once and refuses the next one at once with UNAVAILABLE
//! (`OVERLOADED`, RetryInfo), before any work and without queueing.
//!
//! Why refuse rather than queue: a queued call still holds its connection,
//! its request and a task, so a queue moves the memory problem instead of
//! solving it, and its wait only adds latency a caller's deadline then turns
//! into DEADLINE_EXCEEDED anyway. Refusing at once tells a client (or a load
//! balancer) to go elsewhere while this replica finishes what it has.
//!
//! A call holds its slot until its response body is done or dropped
//! (`crate::held_body`), so a server stream (StreamSales) counts for as long
//! as it is open, unless the handler
//! gives it back earlier through the [`CallSlot`] in the request's extensions
//! (StreamSales does when it ends a stream whose caller stopped reading: the
//! stream's work is over, though its body stays until the caller reads or
//! leaves, and a caller that never reads must not keep a slot). Health checks are
//! never counted nor refused, so probes keep answering while the gateway is
//! saturated: a saturated replica is busy, not dead.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use crate::{
    domain::Error,
    held_body::{HeldBody, HoldInBody},
};

/// The path prefix of the standard health service, which is never shed.
const HEALTH_PATH_PREFIX: &str = "/grpc.health.v1.Health/";

/// A call's slot among the admitted calls, in its request's extensions: freed
/// when every copy is dropped (the response body holds one), or at once by
/// [`CallSlot::release`].
#[derive(Clone, Debug)]
pub struct CallSlot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl CallSlot {
    fn new(permit: Option<OwnedSemaphorePermit>) -> Self {
        Self(Arc::new(Mutex::new(permit)))
    }

    /// Gives the slot back now: the call's work is over, whatever its body still holds.
    pub fn release(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

/// Admits at most `limit` calls at once; see the module docs.
#[derive(Clone, Debug)]
pub struct OverloadLayer {
    slots: Arc<Semaphore>,
    limit: u32,
}

impl OverloadLayer {
    /// A layer admitting `max_concurrent_calls` calls at once (at least one).
    pub fn new(max_concurrent_calls: u32) -> Self {
        let limit = max_concurrent_calls.max(1);
        let permits = usize::try_from(limit).unwrap_or(Semaphore::MAX_PERMITS).min(Semaphore::MAX_PERMITS);
        Self { slots: Arc::new(Semaphore::new(permits)), limit }
    }

    /// How many calls are in progress now (health excluded).
    pub fn in_progress(&self) -> usize {
        usize::try_from(self.limit).unwrap_or(usize::MAX).saturating_sub(self.slots.available_permits())
    }
}

impl<S> Layer<S> for OverloadLayer {
    type Service = Overload<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Overload { inner, layer: self.clone() }
    }
}

/// The service [`OverloadLayer`] makes.
#[derive(Clone, Debug)]
pub struct Overload<S> {
    inner: S,
    layer: OverloadLayer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Overload<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<HeldBody<ResBody, CallSlot>>;
    type Error = S::Error;
    type Future = OverloadFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        if request.uri().path().starts_with(HEALTH_PATH_PREFIX) {
            return OverloadFuture::Admitted { inner: HoldInBody::new(self.inner.call(request), None) };
        }
        match Arc::clone(&self.layer.slots).try_acquire_owned() {
            Ok(permit) => {
                let slot = CallSlot::new(Some(permit));
                request.extensions_mut().insert(slot.clone());
                OverloadFuture::Admitted { inner: HoldInBody::new(self.inner.call(request), Some(slot)) }
            }
            Err(_) => {
                tracing::debug!(limit = self.layer.limit, "shedding a call: server.max_concurrent_calls reached");
                let refusal = tonic::Status::from(Error::Overloaded { limit: self.layer.limit }).into_http();
                OverloadFuture::Shed { response: Some(refusal) }
            }
        }
    }
}

pin_project! {
    /// The refusal, ready at once, or the admitted call, whose body holds its slot.
    #[project = OverloadProjection]
    pub enum OverloadFuture<F, B> {
        Shed { response: Option<http::Response<B>> },
        Admitted { #[pin] inner: HoldInBody<F, CallSlot> },
    }
}

impl<F, B, E> Future for OverloadFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Default,
{
    type Output = Result<http::Response<HeldBody<B, CallSlot>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            // Polled again after Ready only by a broken executor; an empty answer beats a panic.
            OverloadProjection::Shed { response } => {
                let response = response.take().unwrap_or_default();
                Poll::Ready(Ok(response.map(|body| HeldBody::new(body, None))))
            }
            OverloadProjection::Admitted { inner } => inner.poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tonic::Code;
    use tower::ServiceExt as _;

    use super::*;

    /// A service answering OK with an empty body, as a handler would.
    fn ok_service() -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = Infallible,
        Future = std::future::Ready<Result<http::Response<String>, Infallible>>,
    > + Clone {
        tower::service_fn(|_request: http::Request<()>| std::future::ready(Ok(http::Response::new(String::new()))))
    }

    fn call_to(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    fn status_of<B>(response: &http::Response<B>) -> Code {
        tonic::Status::from_header_map(response.headers()).map_or(Code::Ok, |status| status.code())
    }

    #[tokio::test]
    async fn the_call_over_the_limit_is_shed_at_once_and_a_finished_call_frees_its_slot() {
        let layer = OverloadLayer::new(2);
        let service = layer.layer(ok_service());
        let first = service.clone().oneshot(call_to("/twocheckout.v1.SalesService/GetSale")).await.unwrap();
        let second = service.clone().oneshot(call_to("/twocheckout.v1.SalesService/GetSale")).await.unwrap();
        assert_eq!(layer.in_progress(), 2, "open bodies hold their slots");

        let shed = service.clone().oneshot(call_to("/twocheckout.v1.SalesService/GetSale")).await.unwrap();
        assert_eq!(status_of(&shed), Code::Unavailable);
        let status = tonic::Status::from_header_map(shed.headers()).unwrap();
        let details = tonic_types::StatusExt::get_error_details(&status);
        assert_eq!(details.error_info().unwrap().reason, "OVERLOADED");
        assert!(details.retry_info().is_some());

        let health = service.clone().oneshot(call_to("/grpc.health.v1.Health/Check")).await.unwrap();
        assert_eq!(status_of(&health), Code::Ok, "health is never shed");

        drop((first, shed, health));
        assert_eq!(layer.in_progress(), 1);
        let admitted = service.oneshot(call_to("/twocheckout.v1.SalesService/GetSale")).await.unwrap();
        assert_eq!(status_of(&admitted), Code::Ok);
        drop(second);
    }

    #[tokio::test]
    async fn a_handler_may_give_its_slot_back_before_its_body_ends() {
        let layer = OverloadLayer::new(1);
        let releasing = tower::service_fn(|request: http::Request<()>| {
            request.extensions().get::<CallSlot>().expect("the call's slot").release();
            std::future::ready(Ok::<_, Infallible>(http::Response::new(String::new())))
        });
        let open_body = layer.layer(releasing).oneshot(call_to("/twocheckout.v1.SalesService/StreamSales")).await;
        assert_eq!(layer.in_progress(), 0, "released while its body is still open");
        let admitted = layer.layer(ok_service()).oneshot(call_to("/twocheckout.v1.SalesService/GetSale")).await;
        assert_eq!(status_of(&admitted.unwrap()), Code::Ok);
        drop(open_body);
    }
}
