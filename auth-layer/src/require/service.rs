//! [`RequireService`], the `Service` a [`Require`] guard wraps around yours.

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{DefaultClaims, Unauthenticated, VerifiedToken};
use crate::require::future::RequireFuture;
use crate::require::layer::Require;
use crate::response::{JsonResponder, Responder};

impl<S, C, R: Clone> Layer<S> for Require<C, R> {
    type Service = RequireService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            guard: self.clone(),
        }
    }
}

/// The tower `Service` of a [`Require`] guard: calls `S` when the token
/// grants what the guard requires, answers the rejection itself otherwise.
///
/// ```
/// use auth_layer::JwtAuth;
/// use auth_layer::require::{Require, RequireService};
/// use http::{Request, Response, StatusCode};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let echo = service_fn(|_req: Request<()>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// });
/// // Without the JwtAuth layer in front, the guard has nothing to check.
/// let guarded: RequireService<_> = Require::scope(&auth, "orders:read").layer(echo);
/// let res = guarded.oneshot(Request::new(())).await.unwrap();
/// assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// # }
/// ```
pub struct RequireService<S, C = DefaultClaims, R = JsonResponder> {
    inner: S,
    guard: Require<C, R>,
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: Send + Sync + 'static,
    R: Responder<ResBody>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let decision = self.guard.check(
            req.extensions()
                .get::<VerifiedToken<C>>()
                .map(VerifiedToken::grants),
            req.extensions().get::<Unauthenticated>().is_some(),
        );
        let response = match decision {
            // Called now, on the service that was polled ready: no clone.
            Ok(()) => return RequireFuture::inner(self.inner.call(req)),
            Err(Some(error)) => {
                let auth = self.guard.auth();
                if error.kind().status() == StatusCode::FORBIDDEN {
                    let client = auth.client_addr(req.headers(), req.extensions());
                    auth.shared.observer.forbidden(
                        &error,
                        req.extensions().get::<VerifiedToken<C>>(),
                        client,
                    );
                }
                auth.responder()
                    .respond(auth.rejection(&error, req.headers()))
            }
            Err(None) => {
                let mut response = Response::new(ResBody::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        };
        RequireFuture::rejected(response)
    }
}

impl<S: Clone, C, R: Clone> Clone for RequireService<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            guard: self.guard.clone(),
        }
    }
}

impl<S: fmt::Debug, C, R: fmt::Debug> fmt::Debug for RequireService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireService")
            .field("inner", &self.inner)
            .field("guard", &self.guard)
            .finish()
    }
}
