//! JWT access-token authentication as a tower [`Layer`](tower_layer::Layer).
//!
//! [`JwtAuth`] verifies the bearer token of every request (signature,
//! algorithm pinned to the key, `exp`/`nbf`/`iat`/`iss`/`aud`/`typ`) and puts
//! a [`VerifiedToken<C>`] into the request extensions. Rejections follow RFC
//! 6750: 401 with a `WWW-Authenticate: Bearer` challenge naming the reason,
//! 400 for ambiguous requests; a machine-readable [`ErrorKind::code`] tells
//! clients to refresh (`token_expired`) rather than log in again.
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
mod claims;
pub mod clock;
mod config;
mod error;
pub mod future;
mod grants;
mod guard;
mod issuer;
#[cfg(feature = "jwks")]
pub mod jwks;
mod keys;
mod layer;
pub mod observe;
mod response;
pub mod revocation;
mod service;
pub mod session;
mod source;
pub mod store;
mod token_cache;
mod verify;

pub use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, JwtAuthBuilder, MAX_LEEWAY};
pub use claims::{Audience, DefaultClaims, RegisteredClaims, Unauthenticated, VerifiedToken};
pub use config::AuthConfig;
pub use error::{AuthError, ConfigError, ErrorKind};
pub use grants::{ClaimList, Grants};
pub use guard::Requirement;
pub use issuer::TrustedIssuer;
pub use jsonwebtoken::{Algorithm, AlgorithmFamily};
pub use keys::{Key, MIN_HMAC_SECRET_BYTES, MIN_RSA_BITS, algorithm_name};
pub use layer::JwtAuth;
pub use response::{DefaultResponder, JsonResponder, Rejection, Responder};
pub use service::JwtAuthService;
pub use source::TokenSource;
pub use token_cache::{DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_MAX_AGE};
pub use verify::{RequiredClaim, Verifier};

/// Re-exported so `Key::jwk` callers need no direct dependency.
pub use jsonwebtoken::jwk;
