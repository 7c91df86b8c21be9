//! A time limit on reading a request body, so that a client sending a few
//! bytes a second cannot hold a connection and a handler for ever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

/// The error a request body returns once its time limit has passed.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within {} s", .0.as_secs())]
pub struct BodyTimedOut(pub Duration);

/// A body that fails with [`BodyTimedOut`] when it is not read to the end
/// before its deadline.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            let error = axum::Error::new(BodyTimedOut(this.limit));
            return Poll::Ready(Some(Err(error)));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Gives the request body `limit` from now to arrive in full.
pub async fn limit_body_time(limit: Duration, request: Request, next: Next) -> Response {
    let request = request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        })
    });
    next.run(request).await
}

/// Returns the time limit when `error` or one of its sources is a body
/// read that timed out.
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(BodyTimedOut(limit)) = error.downcast_ref::<BodyTimedOut>() {
            return Some(*limit);
        }
        current = error.source();
    }
    None
}
