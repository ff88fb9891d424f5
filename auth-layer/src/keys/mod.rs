//! Verification keys, each pinned to its algorithm family, and the issuers
//! they belong to.
//!
//! A [`Key`] is built from an HMAC secret, a public key (PEM, DER or JWK) and
//! optionally named with a `kid`. Its family is fixed by the constructor, so an
//! HMAC secret never verifies an RSA/EC/EdDSA token and a public key never acts
//! as an HMAC secret, whatever the token's header says.
//!
//! Every key signs for one issuer only, so that whoever holds one issuer's
//! keys cannot mint another's tokens:
//!
//! - a [`TrustedIssuer`] has keys of its own, which verify only its tokens;
//! - a key source found by OpenID discovery belongs to its issuer;
//! - keys and key sources given to the builder belong to the builder's
//!   [`issuer`](crate::JwtAuthBuilder::issuer), or, with no issuer named and
//!   no other issuer configured, verify every token (`iss` unchecked).
//!
//! `build()` refuses two accepted issuers sharing the builder's keys, and
//! keys of the builder that would verify any issuer besides bound ones: give
//! each issuer its keys with a [`TrustedIssuer`] (the same [`Key`] or key
//! source may be given to several issuers, on purpose and by name).
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::keys::{Algorithm, Key};
//! use http::{Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // 64 bytes: long enough for every HMAC hash (RFC 7518 section 3.2).
//! let secret = "a-secret-of-sixty-four-bytes-long-enough-for-hs512-and-the-rest!";
//! let hmac = Key::hmac(secret).unwrap();
//! assert_eq!(hmac.algorithms(), [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]);
//!
//! let pinned = Key::hmac(secret)
//!     .unwrap()
//!     .with_kid("2026-11")
//!     .with_algorithms([Algorithm::HS256]);
//! assert_eq!(pinned.kid(), Some("2026-11"));
//!
//! // An HS384 token is refused by a key pinned to HS256.
//! let auth = JwtAuth::builder().key(pinned).build().unwrap();
//! let token = jsonwebtoken::encode(
//!     &jsonwebtoken::Header::new(Algorithm::HS384),
//!     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64 }),
//!     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
//! )
//! .unwrap();
//! let svc = auth.layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//! }));
//! let req = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```

mod algorithm;
mod issuer;
mod key;
mod read;
mod scoping;
mod set;

pub use algorithm::{algorithm_name, min_hmac_bytes};

pub(crate) use algorithm::parse_algorithm;
pub(crate) use issuer::IssuerKeys;
pub use issuer::TrustedIssuer;
pub use key::Key;
pub use read::{MIN_HMAC_SECRET_BYTES, MIN_RSA_BITS};
pub(crate) use scoping::{KeyConfig, default_algorithms};
#[cfg(feature = "jwks")]
pub(crate) use set::KeySet;

/// Re-exported so `Key::jwk` callers need no direct dependency.
pub use jsonwebtoken::jwk;
pub use jsonwebtoken::{Algorithm, AlgorithmFamily};
