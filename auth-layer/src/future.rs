//! The response future of [`JwtAuthService`](crate::JwtAuthService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::backend::BoxFuture;
use crate::claims::VerifiedToken;
use crate::error::AuthError;
use crate::layer::JwtAuth;
use crate::response::Responder;

pin_project! {
    /// The layer's answer: the inner service's future, the layer's own
    /// rejection, or (only when the revocation cache missed, a key fetch is
    /// under way, or a DPoP proof is recorded in a shared store) a wait
    /// first. Nothing is boxed unless something must be awaited.
    ///
    /// # Panics
    /// When polled again after it completed, as tower-http's futures do.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, Service, ServiceExt, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .build()
    ///     .unwrap();
    /// let mut svc = auth.layer(service_fn(|_req: Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
    /// }));
    /// // The layer decides in `call`; the future hands the answer out.
    /// let future = svc.ready().await.unwrap().call(Request::new(()));
    /// assert_eq!(future.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    /// # }
    /// ```
    pub struct ResponseFuture<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, C, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        Checking {
            check: BoxFuture<'static, Result<(), AuthError>>,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
            auth: JwtAuth<C, R>,
        },
        Waiting {
            verdict: BoxFuture<'static, Result<VerifiedToken<C>, AuthError>>,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
            auth: JwtAuth<C, R>,
        },
        Inner { #[pin] future: S::Future },
        Rejected { response: Option<S::Response> },
    }
}

impl<S, ReqBody, C, R> ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn waiting(
        verdict: BoxFuture<'static, Result<VerifiedToken<C>, AuthError>>,
        request: Request<ReqBody>,
        inner: S,
        auth: JwtAuth<C, R>,
    ) -> Self {
        Self {
            state: State::Waiting {
                verdict,
                request: Some(request),
                inner: Some(inner),
                auth,
            },
        }
    }

    pub(crate) fn checking(
        check: BoxFuture<'static, Result<(), AuthError>>,
        request: Request<ReqBody>,
        inner: S,
        auth: JwtAuth<C, R>,
    ) -> Self {
        Self {
            state: State::Checking {
                check,
                request: Some(request),
                inner: Some(inner),
                auth,
            },
        }
    }
}

impl<S, ReqBody, ResBody, C, R> Future for ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: Send + Sync + 'static,
    R: Responder<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Checking {
                    check,
                    request,
                    inner,
                    auth,
                } => {
                    let verdict = ready!(check.as_mut().poll(cx));
                    let (Some(request), Some(mut inner)) = (request.take(), inner.take()) else {
                        #[expect(
                            clippy::panic,
                            reason = "the state is left right after these are taken"
                        )]
                        {
                            panic!("ResponseFuture polled after completion")
                        }
                    };
                    match verdict {
                        Ok(()) => state.set(State::Inner {
                            future: inner.call(request),
                        }),
                        Err(error) => {
                            let response = auth
                                .responder()
                                .respond(auth.rejection(&error, request.headers()));
                            state.set(State::Rejected {
                                response: Some(response),
                            });
                        }
                    }
                }
                StateProj::Waiting {
                    verdict,
                    request,
                    inner,
                    auth,
                } => {
                    let verdict = ready!(verdict.as_mut().poll(cx));
                    let (Some(mut request), Some(mut inner)) = (request.take(), inner.take())
                    else {
                        #[expect(
                            clippy::panic,
                            reason = "the state is left right after these are taken"
                        )]
                        {
                            panic!("ResponseFuture polled after completion")
                        }
                    };
                    match verdict {
                        Ok(token) => {
                            request.extensions_mut().insert(token);
                            state.set(State::Inner {
                                future: inner.call(request),
                            });
                        }
                        Err(error) => {
                            let response = auth
                                .responder()
                                .respond(auth.rejection(&error, request.headers()));
                            state.set(State::Rejected {
                                response: Some(response),
                            });
                        }
                    }
                }
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Rejected { response } => {
                    #[expect(
                        clippy::expect_used,
                        reason = "a future is not polled after it completed"
                    )]
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<S, ReqBody, C, R> fmt::Debug for ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
