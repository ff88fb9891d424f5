//! Handler-side access to the claims verified by
//! [`auth_layer::JwtAuth`]: the [`Claims<C>`] extractor for axum and (feature
//! `actix`) actix-web, the actix-web middleware built from the same
//! `JwtAuth`, and scope and role extractors ([`WithScope`], [`WithRole`])
//! for both. The scope and role guard itself, `Require`, is plain tower and
//! lives in [`auth_layer::require`]; [`actix::RequireMiddleware`] makes it
//! an actix-web middleware.
//!
//! Extractors only read what the layer stored; they never verify. A handler
//! that extracts `Claims` on a route the layer does not cover answers 500
//! and logs which layer is missing, so the mistake shows up in the first test.
//!
//! | | axum / tower / tonic | actix-web (feature `actix`) |
//! |---|---|---|
//! | verify | `.layer(auth)` | `.wrap(actix::JwtAuthMiddleware::new(auth))` |
//! | claims | `Claims<C>`, `Option<Claims<C>>` | the same types |
//! | guard | `.route_layer(Require::scope(&auth, "orders:write"))` | `.wrap(RequireMiddleware::new(Require::scope(&auth, "orders:write")))` |
//! | guard as extractor | `WithScope<S, C>`, `WithRole<R, C>` | the same types |
//!
//! ```
//! use auth_extract::Claims;
//! use auth_layer::JwtAuth;
//! use axum::{Router, routing::get};
//!
//! async fn me(claims: Claims) -> String {
//!     format!("hello {}", claims.subject())
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
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
mod axum;
mod claims;
mod grant;
#[cfg(all(doctest, feature = "axum", feature = "actix"))]
mod readme;
mod session;
mod single_use;

pub use claims::{Claims, ClaimsRejection};
pub use grant::{GrantRejection, Guard, Guarded, RoleName, ScopeName, WithRole, WithScope};
pub use session::{RefreshCookieToken, SessionRejection};
pub use single_use::{Purpose, SingleUse, SingleUseRejection};
