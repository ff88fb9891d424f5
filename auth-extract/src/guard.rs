//! Scope and role guards: [`Require`] as a tower layer (axum, tonic) or an
//! actix-web middleware, and [`WithScope`] / [`WithRole`] as extractors.
//!
//! Both read the [`Grants`](auth_layer::claims::Grants) the `JwtAuth` layer parsed
//! from the token (`scope`/`scp`, `roles`) and decide with
//! [`auth_layer::require::Requirement::check`]; neither verifies anything. A token
//! without the grant gets 403 `insufficient_scope` with the `scope`
//! attribute (or code `insufficient_role`); a gRPC call gets `grpc-status` 7.
//!
//! ```
//! use auth_extract::{Claims, Require, ScopeName, WithScope};
//! use auth_layer::JwtAuth;
//! use axum::{Router, routing::{get, post}};
//!
//! struct OrdersRead;
//! impl ScopeName for OrdersRead {
//!     const NAME: &'static str = "orders:read";
//! }
//!
//! async fn list(claims: WithScope<OrdersRead>) -> String {
//!     format!("orders of {:?}", claims.subject())
//! }
//! async fn create(claims: Claims) -> String {
//!     format!("created by {:?}", claims.subject())
//! }
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/orders", get(list))
//!     .route("/orders", post(create).route_layer(Require::scope(&auth, "orders:write")))
//!     .layer(auth);
//! # let _ = app;
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth_layer::claims::{DefaultClaims, Grants, Unauthenticated};
use auth_layer::require::Requirement;
use auth_layer::response::{DefaultResponder, Rejection, Responder};
use auth_layer::{AuthError, JwtAuth};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Claims, ClaimsRejection, grants_or_missing_layer};

/// A guard that lets a request through only if its token grants a scope
/// (or a role); built from the `JwtAuth` whose realm and responder it
/// answers with.
///
/// A tower [`Layer`] (axum's `route_layer`/`layer`, tonic's
/// `Server::layer`) and, with feature `actix`, an actix-web middleware
/// (`.wrap(...)` on an `App`, a scope or a resource). It must run after the
/// `JwtAuth` layer: inside it in tower, wrapped before it in actix-web.
///
/// | request | answer |
/// |---|---|
/// | token grants it | passes |
/// | token lacks it | 403, `insufficient_scope` (`scope="…"` for scopes), code `insufficient_scope` / `insufficient_role` |
/// | optional mode, no token | 401 with the realm's bare challenge |
/// | no `JwtAuth` ran | 500, and a log line naming the fix |
pub struct Require<C = DefaultClaims, R = DefaultResponder> {
    requirement: Requirement,
    auth: JwtAuth<C, R>,
}

impl<C, R: Clone> Require<C, R> {
    /// Requires `scope` in the token's `scope` or `scp` claim.
    pub fn scope(auth: &JwtAuth<C, R>, scope: impl Into<Cow<'static, str>>) -> Self {
        Self::new(auth, Requirement::scope(scope))
    }

    /// Requires `role` in the token's `roles` claim.
    pub fn role(auth: &JwtAuth<C, R>, role: impl Into<Cow<'static, str>>) -> Self {
        Self::new(auth, Requirement::role(role))
    }

    /// Requires `requirement`.
    pub fn new(auth: &JwtAuth<C, R>, requirement: Requirement) -> Self {
        Self {
            requirement,
            auth: auth.clone(),
        }
    }
}

impl<C, R> Require<C, R> {
    /// What this guard requires.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// Decides for a request whose extensions hold `grants` (and the
    /// "no token" marker when `unauthenticated`): `Ok(())` to pass,
    /// `Err(Some(error))` to reject, `Err(None)` when no layer ran.
    pub(crate) fn decide(
        &self,
        grants: Option<&Grants>,
        unauthenticated: bool,
    ) -> Result<(), Option<AuthError>> {
        let grants = grants_or_missing_layer(grants, unauthenticated, self).map_err(|_| None)?;
        self.requirement.check(grants).map_err(Some)
    }

    /// The `JwtAuth` this guard answers like.
    pub(crate) fn auth(&self) -> &JwtAuth<C, R> {
        &self.auth
    }
}

impl<C, R: Clone> Clone for Require<C, R> {
    fn clone(&self) -> Self {
        Self {
            requirement: self.requirement.clone(),
            auth: self.auth.clone(),
        }
    }
}

impl<C, R> fmt::Display for Require<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.requirement {
            Requirement::Scope(scope) => write!(f, "Require::scope({scope:?})"),
            Requirement::Role(role) => write!(f, "Require::role({role:?})"),
            other => write!(f, "Require::new({other:?})"),
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for Require<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("requirement", &self.requirement)
            .field("auth", &self.auth)
            .finish()
    }
}

impl<S, C, R: Clone> Layer<S> for Require<C, R> {
    type Service = RequireService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            guard: self.clone(),
        }
    }
}

/// The tower `Service` of a [`Require`] guard.
pub struct RequireService<S, C = DefaultClaims, R = DefaultResponder> {
    inner: S,
    guard: Require<C, R>,
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
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
        let decision = self.guard.decide(
            req.extensions().get::<Grants>(),
            req.extensions().get::<Unauthenticated>().is_some(),
        );
        let response = match decision {
            Ok(()) => {
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                return RequireFuture::Inner {
                    future: inner.call(req),
                };
            }
            Err(Some(error)) => {
                let auth = self.guard.auth();
                auth.responder()
                    .respond(auth.rejection(&error, req.headers()))
            }
            Err(None) => {
                let mut response = Response::new(ResBody::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        };
        RequireFuture::Rejected {
            response: Some(response),
        }
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

pin_project! {
    /// The response future of [`RequireService`]: the inner service's, or
    /// the guard's own answer.
    #[project = RequireFutureProj]
    #[derive(Debug)]
    pub enum RequireFuture<F, B> {
        /// The request passed.
        Inner { #[pin] future: F },
        /// The guard answered.
        Rejected { response: Option<Response<B>> },
    }
}

impl<F, B, E> Future for RequireFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RequireFutureProj::Inner { future } => future.poll(cx),
            RequireFutureProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}

/// A scope known at compile time, for the [`WithScope`] extractor.
pub trait ScopeName: Send + Sync + 'static {
    /// The scope, e.g. `"orders:write"`.
    const NAME: &'static str;
}

/// A role known at compile time, for the [`WithRole`] extractor.
pub trait RoleName: Send + Sync + 'static {
    /// The role, e.g. `"admin"`.
    const NAME: &'static str;
}

/// [`Claims<C>`] of a token that grants the scope `S`; otherwise the
/// extraction fails with 403 `insufficient_scope`. Dereferences to `C`.
///
/// The rejection is built outside the layer, so its challenge has no realm
/// and its body is always JSON; use [`Require`] for the layer's exact answer.
pub struct WithScope<S, C = DefaultClaims> {
    claims: Claims<C>,
    _scope: PhantomData<fn() -> S>,
}

/// [`Claims<C>`] of a token that grants the role `R`; otherwise the
/// extraction fails with 403 (code `insufficient_role`). Dereferences to `C`.
pub struct WithRole<R, C = DefaultClaims> {
    claims: Claims<C>,
    _role: PhantomData<fn() -> R>,
}

macro_rules! guarded_claims {
    ($name:ident, $param:ident, $field:ident, $trait:ident, $requirement:ident) => {
        impl<$param: $trait, C> $name<$param, C> {
            /// Checks `claims` against the compile-time requirement.
            pub(crate) fn check(
                claims: Option<Claims<C>>,
                request_headers: &HeaderMap,
            ) -> Result<Self, GrantRejection> {
                let grants = claims.as_ref().map(|c| c.token().grants());
                match Requirement::$requirement($param::NAME).check(grants) {
                    Ok(()) => match claims {
                        Some(claims) => Ok(Self {
                            claims,
                            $field: PhantomData,
                        }),
                        None => Err(GrantRejection::Claims(ClaimsRejection::Unauthenticated)),
                    },
                    Err(error) => Err(GrantRejection::denied(error, request_headers)),
                }
            }

            /// The claims.
            pub fn claims(&self) -> &Claims<C> {
                &self.claims
            }

            /// Unwraps the claims.
            pub fn into_claims(self) -> Claims<C> {
                self.claims
            }

            /// The `sub` claim, if any.
            pub fn subject(&self) -> Option<&str> {
                self.claims.subject()
            }
        }

        impl<$param, C> Deref for $name<$param, C> {
            type Target = C;

            fn deref(&self) -> &C {
                self.claims.0.claims()
            }
        }

        impl<$param, C> Clone for $name<$param, C> {
            fn clone(&self) -> Self {
                Self {
                    claims: self.claims.clone(),
                    $field: PhantomData,
                }
            }
        }

        impl<$param, C: fmt::Debug> fmt::Debug for $name<$param, C> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.claims)
                    .finish()
            }
        }
    };
}

guarded_claims!(WithScope, S, _scope, ScopeName, scope);
guarded_claims!(WithRole, R, _role, RoleName, role);

/// Why [`WithScope`] or [`WithRole`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GrantRejection {
    /// No claims: no layer (500) or optional mode without a token (401).
    Claims(ClaimsRejection),
    /// The token lacks the scope or role: 403.
    Denied {
        /// Why, with the required scope or role.
        error: AuthError,
        /// Whether the request was a gRPC call (answered with `grpc-status` 7).
        grpc: bool,
    },
}

impl GrantRejection {
    fn denied(error: AuthError, request_headers: &HeaderMap) -> Self {
        let grpc = Rejection::without_realm(&error, request_headers).is_grpc();
        Self::Denied { error, grpc }
    }

    /// The status to answer with (200 for a denied gRPC call).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Claims(rejection) => rejection.status(),
            Self::Denied { grpc: true, .. } => StatusCode::OK,
            Self::Denied { error, .. } => error.kind().status(),
        }
    }

    /// The denial as an `http` response: the same headers as the layer's
    /// (without a realm) and a JSON body (empty for gRPC).
    pub(crate) fn denied_response(error: &AuthError, grpc: bool) -> Response<String> {
        let mut headers = HeaderMap::new();
        if grpc {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            );
        }
        auth_layer::response::JsonResponder.respond(Rejection::without_realm(error, &headers))
    }
}

impl From<ClaimsRejection> for GrantRejection {
    fn from(rejection: ClaimsRejection) -> Self {
        Self::Claims(rejection)
    }
}

impl fmt::Display for GrantRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Claims(rejection) => rejection.fmt(f),
            Self::Denied { error, .. } => error.fmt(f),
        }
    }
}

impl std::error::Error for GrantRejection {}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    struct Scope;
    impl ScopeName for Scope {
        const NAME: &'static str = "s";
    }

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Require>();
        assert_send_sync::<Require<DefaultClaims, auth_layer::response::JsonResponder>>();
        assert_send_sync::<RequireService<()>>();
        assert_send_sync::<WithScope<Scope>>();
        assert_send_sync::<GrantRejection>();
        assert_send_sync::<RequireFuture<std::future::Ready<()>, String>>();
    }

    #[test]
    fn the_guard_names_itself_in_the_missing_layer_log() {
        let auth = JwtAuth::builder()
            .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
            .build()
            .unwrap();
        let guard = Require::scope(&auth, "orders:write");
        assert_eq!(guard.to_string(), r#"Require::scope("orders:write")"#);
        assert!(matches!(guard.decide(None, false), Err(None)));
        let denied = guard.decide(Some(&Grants::default()), false).unwrap_err();
        assert_eq!(
            denied.map(|e| e.kind()),
            Some(auth_layer::ErrorKind::InsufficientScope)
        );
        let anonymous = guard.decide(None, true).unwrap_err();
        assert_eq!(
            anonymous.map(|e| e.kind()),
            Some(auth_layer::ErrorKind::MissingToken)
        );
    }
}
