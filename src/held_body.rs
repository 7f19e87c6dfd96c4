//! A response body that holds something for its call (a slot among the
//! admitted calls, the mark of an open call on its connection) until the call
//! is over: its last frame sent, or the body dropped, whichever comes first.
//! Both the overload layer (`grpc/overload.rs`) and the idle timeout
//! (`transport/idle.rs`) count a call from its request until then, so a
//! server stream counts for as long as it is open.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use http_body::{Body, Frame, SizeHint};

pin_project_lite::pin_project! {
    /// A response future that moves `held` into the response's body.
    pub struct HoldInBody<F, T> {
        #[pin]
        inner: F,
        held: Option<T>,
    }
}

impl<F, T> HoldInBody<F, T> {
    /// The response of `inner`, holding `held` (if any) until its body is done.
    pub fn new(inner: F, held: Option<T>) -> Self {
        Self { inner, held }
    }
}

impl<F, B, E, T> Future for HoldInBody<F, T>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<HeldBody<B, T>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(response.map(|body| HeldBody::new(body, this.held.take()))))
    }
}

pin_project_lite::pin_project! {
    /// A response body holding `held` until it has sent its last frame or is dropped.
    pub struct HeldBody<B, T> {
        #[pin]
        inner: B,
        held: Option<T>,
    }
}

impl<B, T> HeldBody<B, T> {
    /// `inner`, holding `held` (if any) until it is done.
    pub fn new(inner: B, held: Option<T>) -> Self {
        Self { inner, held }
    }
}

impl<B: Body, T> Body for HeldBody<B, T> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if frame.is_none() {
            // The body is done (trailers sent): the call is over, whatever keeps the body.
            this.held.take();
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
