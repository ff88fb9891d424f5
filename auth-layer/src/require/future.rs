//! [`RequireFuture`], the response future of a
//! [`RequireService`](crate::require::RequireService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// The response future of [`RequireService`](crate::require::RequireService):
    /// the inner service's future, or the guard's own answer.
    ///
    /// # Panics
    /// When polled again after it completed, as tower-http's futures do: a
    /// completed future has nothing left to give.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::require::Require;
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, Service, ServiceExt, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .optional()
    ///     .build()
    ///     .unwrap();
    /// let mut svc = auth.layer(Require::scope(&auth, "orders:read").layer(service_fn(
    ///     |_req: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new(String::new())) },
    /// )));
    /// // Optional mode let the request in without a token; the guard answers 401.
    /// let future = svc.ready().await.unwrap().call(Request::new(()));
    /// assert_eq!(future.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    /// # }
    /// ```
    pub struct RequireFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        /// The request passed: the inner service's future.
        Inner { #[pin] future: F },
        /// The guard answered; `None` once the answer was handed out.
        Rejected { response: Option<Response<B>> },
    }
}

impl<F, B> RequireFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for RequireFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Rejected { response } => {
                #[expect(
                    clippy::expect_used,
                    reason = "a future is not polled after it completed (tower-http panics the same way)"
                )]
                let response = response
                    .take()
                    .expect("RequireFuture polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<F, B> fmt::Debug for RequireFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Ready;
    use std::task::Waker;

    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_future_is_send_and_sync() {
        assert_send_sync::<RequireFuture<Ready<Result<Response<String>, ()>>, String>>();
    }

    /// Regression: a rejected future polled again used to return `Pending`
    /// for ever (a task that waits on it would hang without a trace).
    #[test]
    #[should_panic(expected = "RequireFuture polled after completion")]
    fn polling_after_completion_panics_instead_of_hanging() {
        let mut future = Box::pin(
            RequireFuture::<Ready<Result<Response<()>, ()>>, ()>::rejected(Response::new(())),
        );
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(Ok(_))));
        let _ = future.as_mut().poll(&mut cx);
    }
}
