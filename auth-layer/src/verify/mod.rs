//! The verifier: every check a token goes through, in order, without I/O.
//!
//! size cap -> three segments -> header (JSON, `alg`, `crit`, `typ`) -> key by
//! `kid` and algorithm family -> signature -> claims (JSON, required, `exp`,
//! `nbf`, `iat`, `iss`, `aud`) -> your claims type. A token verified before
//! comes from the verified-token cache, with `exp` and `nbf` checked again.
//!
//! ```
//! use auth_layer::{ErrorKind, JwtAuth};
//! use http::{Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! // Outside HTTP (a WebSocket message, a queue), the verifier alone:
//! let err = auth.verifier().verify("not.a.jwt").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Malformed);
//!
//! // In the layer, the same rule is a 401 naming it.
//! let svc = auth.layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//! }));
//! let req = Request::builder().header("authorization", "Bearer not.a.jwt").body(()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
//! # }
//! ```

mod hot;
mod jws;
mod logout;
mod logout_claims;
mod memo;
mod rules;
pub(crate) mod strict_json;
mod token_cache;
mod verifier;

pub(crate) use jws::text;
pub(crate) use logout::{Accepted, Refusal};
pub(crate) use logout_claims::LogoutRules;
pub(crate) use rules::Rules;
pub use rules::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, MAX_LEEWAY, RequiredClaim};
pub use token_cache::{DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_MAX_AGE};
pub use verifier::Verifier;
