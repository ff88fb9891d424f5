//! Guard extractors: [`WithScope`] and [`WithRole`] are [`Claims<C>`] of a
//! token that grants a scope or role known at compile time, [`Guarded`] of
//! one that meets any [`Requirement`] (sets of scopes or roles, step-up);
//! otherwise the extraction fails with [`GrantRejection`].
//!
//! They read the [`Grants`](auth_layer::claims::Grants) the `JwtAuth`
//! layer parsed from the token (scopes, roles, `acr`, `auth_time`) and
//! decide with [`Requirement::check`]; none verifies anything. A token
//! without the grant gets 403 `insufficient_scope` (code
//! `insufficient_role` for a role), one whose login falls short of a
//! step-up rule 401 `insufficient_user_authentication`; a gRPC call gets
//! `grpc-status` 7 or 16. The challenge is the layer's (its realm, DPoP
//! challenge and `resource_metadata`). For a whole route answered through
//! the layer's own responder, use [`auth_layer::require::Require`].
//!
//! ```
//! use auth_extract::{Claims, ScopeName, WithScope};
//! use auth_layer::JwtAuth;
//! use auth_layer::require::Require;
//! use axum::{Router, body::Body, routing::{get, post}};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
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
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/orders", get(list))
//!     .route("/orders", post(create).route_layer(Require::scope(&auth, "orders:write")))
//!     .layer(auth);
//! let token = jsonwebtoken::encode(
//!     &jsonwebtoken::Header::default(),
//!     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:write" }),
//!     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
//! )
//! .unwrap();
//! let request = |method: &str| {
//!     Request::builder()
//!         .method(method)
//!         .uri("/orders")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(Body::empty())
//!         .unwrap()
//! };
//! assert_eq!(app.clone().oneshot(request("POST")).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(app.oneshot(request("GET")).await.unwrap().status(), StatusCode::FORBIDDEN);
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_layer::AuthError;
use auth_layer::claims::DefaultClaims;
use auth_layer::observe::Reporter;
use auth_layer::require::Requirement;
use auth_layer::response::{Challenge, JsonResponder, Rejection, Responder};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::claims::{Claims, ClaimsRejection};

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
/// The rejection carries the layer's challenge (realm, DPoP,
/// `resource_metadata`) and a JSON body, whatever responder the layer
/// has; use [`Require`](auth_layer::require::Require) for an answer through
/// the layer's own responder.
pub struct WithScope<S, C = DefaultClaims> {
    claims: Claims<C>,
    _scope: PhantomData<fn() -> S>,
}

/// [`Claims<C>`] of a token that grants the role `R`; otherwise the
/// extraction fails with 403 (code `insufficient_role`). Dereferences to `C`.
///
/// ```
/// use auth_extract::{RoleName, WithRole};
/// use auth_layer::JwtAuth;
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// struct Admin;
/// impl RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let app: Router = Router::new()
///     .route("/audit", get(|admin: WithRole<Admin>| async move { format!("{:?}", admin.subject()) }))
///     .layer(auth);
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "roles": ["reader"] }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let request = Request::builder()
///     .uri("/audit")
///     .header("authorization", format!("Bearer {token}"))
///     .body(Body::empty())
///     .unwrap();
/// let res = app.oneshot(request).await.unwrap();
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// # }
/// ```
pub struct WithRole<R, C = DefaultClaims> {
    claims: Claims<C>,
    _role: PhantomData<fn() -> R>,
}

/// A route's requirement known at compile time, for the [`Guarded`]
/// extractor: any [`Requirement`], such as a set of roles (all of them, or
/// any one) or a step-up rule.
///
/// ```
/// use auth_extract::Guard;
/// use auth_layer::require::{Requirement, StepUp};
/// use std::time::Duration;
///
/// struct Approver;
/// impl Guard for Approver {
///     fn requirement() -> Requirement {
///         Requirement::any_role(["payments-approver", "payments-admin"])
///     }
/// }
///
/// struct RecentMfa;
/// impl Guard for RecentMfa {
///     fn requirement() -> Requirement {
///         Requirement::step_up(StepUp::acr(["mfa"]).max_age(Duration::from_secs(300)))
///     }
/// }
/// ```
pub trait Guard: Send + Sync + 'static {
    /// What the token must grant or show (built per extraction).
    fn requirement() -> Requirement;
}

/// [`Claims<C>`] of a token that meets the [`Guard`] `G`'s requirement;
/// otherwise the extraction fails as the layer would fail it: 403 for
/// scopes and roles, 401 `insufficient_user_authentication` with
/// `acr_values` / `max_age` for a step-up rule (RFC 9470), with the
/// layer's realm in the challenge. Step-up ages are measured by the system
/// clock. Dereferences to `C`.
///
/// ```
/// use auth_extract::{Guard, Guarded};
/// use auth_layer::JwtAuth;
/// use auth_layer::require::{Requirement, StepUp};
/// use axum::{Router, body::Body, routing::post};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// struct RecentMfa;
/// impl Guard for RecentMfa {
///     fn requirement() -> Requirement {
///         Requirement::step_up(StepUp::acr(["mfa"]))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let app: Router = Router::new()
///     .route("/payouts", post(|_: Guarded<RecentMfa>| async { "sent" }))
///     .layer(auth);
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "acr": "pwd" }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let request = Request::post("/payouts")
///     .header("authorization", format!("Bearer {token}"))
///     .body(Body::empty())
///     .unwrap();
/// let res = app.oneshot(request).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(
///     res.headers()["www-authenticate"],
///     r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="mfa""#
/// );
/// # }
/// ```
pub struct Guarded<G, C = DefaultClaims> {
    claims: Claims<C>,
    _guard: PhantomData<fn() -> G>,
}

macro_rules! guarded_claims {
    ($name:ident, $param:ident, $field:ident, $trait:ident, $requirement:expr) => {
        impl<$param: $trait, C> $name<$param, C> {
            /// Checks `claims` against the compile-time requirement.
            pub(crate) fn check(
                claims: Option<Claims<C>>,
                request_headers: &HeaderMap,
                anonymous: Option<&Challenge>,
            ) -> Result<Self, GrantRejection> {
                let grants = claims.as_ref().map(|c| c.token().grants());
                match ($requirement.check(grants), claims) {
                    (Ok(()), Some(claims)) => Ok(Self {
                        claims,
                        $field: PhantomData,
                    }),
                    // Optional mode let a request without a token through.
                    (_, None) => Err(GrantRejection::Claims(ClaimsRejection::unauthenticated(
                        anonymous,
                    ))),
                    (Err(error), Some(claims)) => Err(GrantRejection::denied(
                        error,
                        request_headers,
                        claims.token().challenge(),
                    )),
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

            /// The `sub` claim (see [`Claims::subject`]).
            pub fn subject(&self) -> &str {
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

guarded_claims!(WithScope, S, _scope, ScopeName, Requirement::scope(S::NAME));
guarded_claims!(WithRole, R, _role, RoleName, Requirement::role(R::NAME));
guarded_claims!(Guarded, G, _guard, Guard, G::requirement());

/// Marks a request whose guard refusal was reported, so that two guard
/// extractors refusing one request report it once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RefusalReported;

/// Reports a refusal (403) of `rejection` through the layer's `reporter`,
/// as the layer reports its own rejections, unless this request's was
/// reported already; `true` when it reported (mark the request then).
pub(crate) fn report_refusal<C>(
    rejection: &GrantRejection,
    reporter: Option<&Reporter>,
    token: Option<&auth_layer::VerifiedToken<C>>,
    already: bool,
) -> bool {
    match rejection {
        GrantRejection::Denied { error, .. }
            if !already && error.kind().status() == StatusCode::FORBIDDEN =>
        {
            Reporter::forbidden(reporter, error, token);
            true
        }
        _ => false,
    }
}

/// Why [`WithScope`] or [`WithRole`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GrantRejection {
    /// No claims: no layer (500) or optional mode without a token (401).
    Claims(ClaimsRejection),
    /// The token lacks the scope or role (403), or a step-up rule's login
    /// (401 `insufficient_user_authentication`).
    Denied {
        /// Why, with the required scopes, roles or `acr` values.
        error: AuthError,
        /// Whether the request was a gRPC call (answered with `grpc-status`
        /// 7, or 16 for a step-up refusal).
        grpc: bool,
        /// The challenge settings of the layer that verified the token.
        challenge: Option<Challenge>,
    },
}

impl GrantRejection {
    fn denied(
        error: AuthError,
        request_headers: &HeaderMap,
        challenge: Option<&Challenge>,
    ) -> Self {
        let grpc = Rejection::without_realm(&error, request_headers).is_grpc();
        Self::Denied {
            error,
            grpc,
            challenge: challenge.cloned(),
        }
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
    /// (its realm, DPoP challenge and `resource_metadata` when the token
    /// carries them) and a JSON body (empty for gRPC).
    pub(crate) fn denied_response(
        error: &AuthError,
        grpc: bool,
        challenge: Option<&Challenge>,
    ) -> Response<String> {
        let mut headers = HeaderMap::new();
        if grpc {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            );
        }
        JsonResponder.respond(match challenge {
            Some(challenge) => challenge.rejection(error, &headers),
            None => Rejection::without_realm(error, &headers),
        })
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
        assert_send_sync::<WithScope<Scope>>();
        assert_send_sync::<GrantRejection>();
    }
}
