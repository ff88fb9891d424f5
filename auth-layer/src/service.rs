//! [`JwtAuthService`], the `Service` the layer wraps around yours.

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::claims::{DefaultClaims, Unauthenticated};
use crate::future::ResponseFuture;
use crate::layer::{Decision, JwtAuth};
use crate::response::{DefaultResponder, Responder};

/// The tower `Service` produced by [`JwtAuth`]: verifies, then calls `S`
/// with the [`VerifiedToken`](crate::VerifiedToken) (and its
/// [`Grants`](crate::Grants), for guards that do not know the claims type)
/// in the request extensions, or answers the rejection itself.
pub struct JwtAuthService<S, C = DefaultClaims, R = DefaultResponder> {
    inner: S,
    auth: JwtAuth<C, R>,
}

impl<S, C, R> JwtAuthService<S, C, R> {
    /// Wraps `inner`.
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
        let check = match self.auth.decide(req.headers(), req.uri(), client) {
            Decision::Pass(Some(token)) => {
                req.extensions_mut().insert(token.grants().clone());
                req.extensions_mut().insert(token);
                None
            }
            Decision::Pass(None) => {
                req.extensions_mut().insert(Unauthenticated);
                None
            }
            Decision::Check(token) => {
                let check = self.auth.check_revocation(token.clone(), client);
                req.extensions_mut().insert(token.grants().clone());
                req.extensions_mut().insert(token);
                Some(check)
            }
            Decision::Reject(error) => {
                // The inner service stays ready for the next request.
                let rejection = self.auth.rejection(&error, req.headers());
                return ResponseFuture::rejected(self.auth.responder().respond(rejection));
            }
        };
        // Take the service that was polled ready; keep a fresh clone for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        match check {
            None => ResponseFuture::inner(inner.call(req)),
            Some(check) => ResponseFuture::checking(check, req, inner, self.auth.clone()),
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
