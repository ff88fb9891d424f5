//! [`JwtAuthService`], the `Service` the layer wraps around yours, and the
//! `Layer` impl of [`JwtAuth`] that makes it.

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{DefaultClaims, Unauthenticated};
use crate::decide::Decision;
use crate::future::ResponseFuture;
use crate::layer::JwtAuth;
use crate::response::{JsonResponder, Responder};

impl<S, C, R: Clone> Layer<S> for JwtAuth<C, R> {
    type Service = JwtAuthService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuthService::new(inner, self.clone())
    }
}

/// The tower `Service` produced by [`JwtAuth`]: verifies, then calls `S`
/// with the [`VerifiedToken`](crate::VerifiedToken) in the request
/// extensions (its [`grants`](crate::VerifiedToken::grants) are what guards
/// check), or answers the rejection itself.
///
/// ```
/// use auth_layer::{JwtAuth, JwtAuthService};
/// use http::{Request, Response, StatusCode};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let svc: JwtAuthService<_> = auth.layer(service_fn(|_req: Request<()>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// }));
/// let req = Request::builder().header("authorization", "Basic YWxpY2U6c2VjcmV0").body(()).unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "another scheme is no bearer token");
/// # }
/// ```
pub struct JwtAuthService<S, C = DefaultClaims, R = JsonResponder> {
    inner: S,
    auth: JwtAuth<C, R>,
}

impl<S, C, R> JwtAuthService<S, C, R> {
    /// Wraps `inner`; the same as `auth.layer(inner)`.
    pub fn new(inner: S, auth: JwtAuth<C, R>) -> Self {
        Self { inner, auth }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuthService<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: DeserializeOwned + Send + Sync + 'static,
    R: Responder<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, C, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let client = self.auth.client_addr(req.headers(), req.extensions());
        let check = match self
            .auth
            .decide(req.method(), req.headers(), req.uri(), client)
        {
            Decision::Pass(Some(token)) => {
                if let Some(reporter) = self.auth.shared.observer.reporter(client) {
                    req.extensions_mut().insert(reporter);
                }
                req.extensions_mut().insert(token);
                None
            }
            Decision::Pass(None) => {
                req.extensions_mut().insert(Unauthenticated);
                req.extensions_mut().insert(self.auth.challenge().clone());
                None
            }
            Decision::Check(token) => {
                let check = self.auth.check_revocation(token.clone(), client);
                if let Some(reporter) = self.auth.shared.observer.reporter(client) {
                    req.extensions_mut().insert(reporter);
                }
                req.extensions_mut().insert(token);
                Some(check)
            }
            Decision::Reject(error) => {
                // The inner service stays ready for the next request.
                let rejection = self.auth.rejection(&error, req.headers());
                return ResponseFuture::rejected(self.auth.responder().respond(rejection));
            }
            Decision::Wait(verdict) => {
                if let Some(reporter) = self.auth.shared.observer.reporter(client) {
                    req.extensions_mut().insert(reporter);
                }
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                return ResponseFuture::waiting(verdict, req, inner, self.auth.clone());
            }
        };
        match check {
            // Called now, on the service that was polled ready: no clone.
            None => ResponseFuture::inner(self.inner.call(req)),
            Some(check) => {
                // Called later: take the service that was polled ready, and
                // keep a fresh clone for the next call.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::checking(check, req, inner, self.auth.clone())
            }
        }
    }
}

impl<S: Clone, C, R: Clone> Clone for JwtAuthService<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            auth: self.auth.clone(),
        }
    }
}

impl<S: fmt::Debug, C, R: fmt::Debug> fmt::Debug for JwtAuthService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthService")
            .field("inner", &self.inner)
            .field("auth", &self.auth)
            .finish()
    }
}
