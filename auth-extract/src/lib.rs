//! Handler-side access to the claims verified by
//! [`auth_layer::JwtAuth`]: the [`Claims<C>`] extractor for axum and (feature
//! `actix`) actix-web, the actix-web middleware built from the same
//! `JwtAuth`, and scope and role guards ([`Require`], [`WithScope`],
//! [`WithRole`]) for both.
//!
//! Extractors only read what the layer stored; they never verify. A handler
//! that extracts `Claims` on a route the layer does not cover answers 500
//! and logs which layer is missing, so the mistake shows up in the first test.
//!
//! | | axum / tower / tonic | actix-web (feature `actix`) |
//! |---|---|---|
//! | verify | `.layer(auth)` | `.wrap(actix::JwtAuthMiddleware::new(auth))` |
//! | claims | `Claims<C>`, `Option<Claims<C>>` | the same types |
//! | guard | `.route_layer(Require::scope(&auth, "orders:write"))` | `.wrap(Require::scope(&auth, "orders:write"))` |
//! | guard as extractor | `WithScope<S, C>`, `WithRole<R, C>` | the same types |
//!
//! ```
//! use auth_extract::Claims;
//! use auth_layer::JwtAuth;
//! use axum::{Router, routing::get};
//!
//! async fn me(claims: Claims) -> String {
//!     format!("hello {}", claims.subject().unwrap_or("anonymous"))
//! }
//!
//! async fn maybe(claims: Option<Claims>) -> &'static str {
//!     if claims.is_some() { "signed in" } else { "guest" }
//! }
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let optional = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .optional()
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/me", get(me).layer(auth))
//!     .route("/home", get(maybe).layer(optional));
//! # let _ = app;
//! ```
#![forbid(unsafe_code)]

use std::any::type_name;
use std::fmt;
use std::ops::Deref;

use auth_layer::VerifiedToken;
use auth_layer::claims::{DefaultClaims, Grants, RegisteredClaims};

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
mod axum;
mod guard;

pub use guard::{
    GrantRejection, Require, RequireService, RoleName, ScopeName, WithRole, WithScope,
};

/// The README's Rust snippets compile.
#[cfg(all(doctest, feature = "axum", feature = "actix"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The verified claims of the request, as stored by the layer.
///
/// Dereferences to your claims type `C`; [`Claims::registered`] and
/// [`Claims::subject`] give the registered claims, [`Claims::token`] the
/// header facts and grants too. Cloning is an `Arc` clone.
/// `Option<Claims<C>>` is `None` only when the layer runs in optional mode and
/// the request carried no token.
pub struct Claims<C = DefaultClaims>(pub VerifiedToken<C>);

impl<C> Claims<C> {
    /// The whole verified token.
    pub fn token(&self) -> &VerifiedToken<C> {
        &self.0
    }

    /// Unwraps the verified token.
    pub fn into_inner(self) -> VerifiedToken<C> {
        self.0
    }

    /// The registered claims (`iss`, `sub`, `aud`, `exp`, ...) as verified.
    pub fn registered(&self) -> &RegisteredClaims {
        self.0.registered()
    }

    /// The `sub` claim, if any.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject()
    }
}

impl<C> Deref for Claims<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.0.claims()
    }
}

impl<C> Clone for Claims<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: fmt::Debug> fmt::Debug for Claims<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(&self.0).finish()
    }
}

/// Why [`Claims`] could not be extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// No `JwtAuth` layer with this claims type ran for the request: a
    /// server configuration mistake, answered with 500.
    MissingLayer {
        /// The claims type the handler asked for.
        claims_type: &'static str,
    },
    /// The layer runs in optional mode and the request had no token, but
    /// the handler requires claims: answered with 401 and a `Bearer` challenge.
    Unauthenticated,
}

impl ClaimsRejection {
    fn missing_layer<C>() -> Self {
        let claims_type = type_name::<C>();
        tracing::error!(
            claims_type,
            "Claims<{claims_type}> extracted on a route without a JwtAuth<{claims_type}> layer: add `.layer(auth)` (or `.route_layer(auth)`) covering this route, built with `.claims::<{claims_type}>()`"
        );
        Self::MissingLayer { claims_type }
    }

    /// The status to answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::MissingLayer { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthenticated => http::StatusCode::UNAUTHORIZED,
        }
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer { claims_type } => {
                write!(
                    f,
                    "no JwtAuth layer with claims type {claims_type} covers this route"
                )
            }
            Self::Unauthenticated => f.write_str("this route requires a bearer token"),
        }
    }
}

impl std::error::Error for ClaimsRejection {}

/// What the layer stored: `Ok(Some)` verified, `Ok(None)` optional mode
/// without a token, `Err` no layer.
pub(crate) fn from_extensions<C: Send + Sync + 'static>(
    extensions: &http::Extensions,
) -> Result<Option<Claims<C>>, ClaimsRejection> {
    lookup(
        extensions.get::<VerifiedToken<C>>(),
        extensions
            .get::<auth_layer::claims::Unauthenticated>()
            .is_some(),
    )
}

/// The same decision for any framework's extensions: the token the layer
/// stored, and whether it stored the "no token" marker.
pub(crate) fn lookup<C>(
    token: Option<&VerifiedToken<C>>,
    unauthenticated: bool,
) -> Result<Option<Claims<C>>, ClaimsRejection> {
    match token {
        Some(token) => Ok(Some(Claims(token.clone()))),
        None if unauthenticated => Ok(None),
        None => Err(ClaimsRejection::missing_layer::<C>()),
    }
}

/// What the layer stored for guards: `Ok(Some)` the token's grants,
/// `Ok(None)` optional mode without a token, `Err` no layer (logged with
/// the fix, naming `guard`).
pub(crate) fn grants_or_missing_layer<'a>(
    grants: Option<&'a Grants>,
    unauthenticated: bool,
    guard: &dyn fmt::Display,
) -> Result<Option<&'a Grants>, ClaimsRejection> {
    match grants {
        Some(grants) => Ok(Some(grants)),
        None if unauthenticated => Ok(None),
        None => {
            tracing::error!(
                "{guard} runs on a route that no JwtAuth layer covers: add the JwtAuth layer (axum, tower: `.layer(auth)`; actix-web: `.wrap(JwtAuthMiddleware::new(auth))`) so that it runs before the guard"
            );
            Err(ClaimsRejection::MissingLayer {
                claims_type: type_name::<Grants>(),
            })
        }
    }
}
