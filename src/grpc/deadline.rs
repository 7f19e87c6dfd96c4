//! The default deadline (`server.default_deadline`): a tower layer marks
//! every request with it, and `call_context` uses it when the caller sent no
//! `grpc-timeout`. A caller's own deadline always wins, longer or shorter.
//!
//! Why a default: without one, a call that brings no deadline waits on a
//! hung upstream for as long as the upstream request timeout allows, for every
//! upstream request it makes, and holds its slot (`overload.rs`) meanwhile.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use tower::{Layer, Service};

/// The deadline of a call that brings none, as a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultDeadline(pub Duration);

/// Marks every request with the [`DefaultDeadline`].
#[derive(Clone, Copy, Debug)]
pub struct DefaultDeadlineLayer(pub Duration);

impl<S> Layer<S> for DefaultDeadlineLayer {
    type Service = WithDefaultDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithDefaultDeadline { inner, deadline: DefaultDeadline(self.0) }
    }
}

/// The service [`DefaultDeadlineLayer`] makes.
#[derive(Clone, Debug)]
pub struct WithDefaultDeadline<S> {
    inner: S,
    deadline: DefaultDeadline,
}

impl<S, B> Service<http::Request<B>> for WithDefaultDeadline<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.deadline);
        self.inner.call(request)
    }
}
