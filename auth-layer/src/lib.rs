//! JWT access-token authentication as a tower [`Layer`](tower_layer::Layer).
//!
//! [`JwtAuth`] verifies the bearer token of every request (signature,
//! algorithm pinned to the key, `exp`/`nbf`/`iat`/`iss`/`aud`/`typ`) and puts
//! a [`VerifiedToken<C>`] into the request extensions. Rejections follow RFC
//! 6750: 401 with a `WWW-Authenticate: Bearer` challenge naming the reason,
//! 400 for ambiguous requests; a machine-readable [`ErrorKind::code`] tells
//! clients to refresh (`token_expired`) rather than log in again.
//!
//! The crate root holds the paved path: [`JwtAuth`] and its
//! [`JwtAuthBuilder`], [`JwtAuthService`], [`VerifiedToken`] and the errors.
//! Everything else has one home in a module: [`keys`], [`claims`],
//! [`verify`], [`source`], [`response`], [`require`] (scope and role
//! guards), [`config`], [`observe`], [`clock`], [`future`],
//! [`revocation`], [`session`], [`store`] (memory, Redis, PostgreSQL),
//! [`logout`] (OpenID Connect Back-Channel Logout), and `jwks` (feature
//! `jwks`).
//!
//! ```
//! use auth_layer::JwtAuth;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceExt, Layer, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let svc = auth.layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//! }));
//! let req = Request::builder().header("authorization", "Bearer not-a-jwt").body(()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod builder;
pub mod claims;
pub mod clock;
pub mod config;
mod decide;
pub mod dpop;
mod error;
pub mod future;
#[cfg(feature = "jwks")]
pub mod jwks;
pub mod keys;
mod layer;
pub mod logout;
mod mac;
pub mod metadata;
pub mod observe;
pub mod require;
pub mod response;
pub mod revocation;
mod service;
pub mod session;
pub mod source;
pub mod store;
pub mod verify;

pub use builder::JwtAuthBuilder;
pub use claims::verified::VerifiedToken;
pub use error::{AuthError, ConfigError, ErrorKind};
pub use layer::JwtAuth;
pub use service::JwtAuthService;
