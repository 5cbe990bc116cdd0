//! The two body wrappers: a request body that must arrive before a deadline, and a response body
//! that keeps its request counted as in flight until it is finished or dropped.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::activity::RequestGuard;

/// Why reading a request body failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyReadError {
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(Duration),
    #[error("reading the request body failed: {0}")]
    Connection(#[source] hyper::Error),
}

/// A request body that fails with [`BodyReadError::TimedOut`] when it is not complete by its
/// deadline (counted from the moment the request head was parsed). The handler reading it sees
/// the error (axum answers 400) and the connection, its body unread, is closed.
pub struct TimedRequestBody {
    inner: hyper::body::Incoming,
    deadline: Instant,
    limit: Duration,
    /// Created on the first wait only: most bodies arrive with their head.
    timer: Option<Pin<Box<Sleep>>>,
}

impl TimedRequestBody {
    pub fn new(inner: hyper::body::Incoming, limit: Duration) -> Self {
        Self {
            inner,
            deadline: Instant::now() + limit,
            limit,
            timer: None,
        }
    }
}

impl HttpBody for TimedRequestBody {
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(BodyReadError::Connection)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyReadError::TimedOut(this.limit)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body holding its request's [`RequestGuard`].
pub struct TrackedResponseBody {
    inner: Body,
    _request: RequestGuard,
}

impl TrackedResponseBody {
    pub fn new(inner: Body, request: RequestGuard) -> Self {
        Self {
            inner,
            _request: request,
        }
    }
}

impl HttpBody for TrackedResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
