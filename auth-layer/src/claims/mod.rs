//! What a verified token carries: the registered claims, your claims type,
//! and what the token grants.
//!
//! The layer deserialises the claims once, into your type `C`, and stores a
//! [`VerifiedToken<C>`](crate::VerifiedToken) in the request extensions.
//! Cloning it clones an `Arc`. The registered claims (`iss`, `sub`, `aud`,
//! `exp`, `nbf`, `iat`, `jti`) are always on the token
//! ([`VerifiedToken::registered`](crate::VerifiedToken::registered)), kept
//! once; [`DefaultClaims`] holds the others; [`Grants`] the scopes and
//! roles, whatever `C` is.
//!
//! ```
//! use auth_layer::{JwtAuth, VerifiedToken};
//! use auth_layer::claims::DefaultClaims;
//! use http::{Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! let claims: DefaultClaims =
//!     serde_json::from_str(r#"{"sub":"alice","exp":1700000000,"scope":"read"}"#).unwrap();
//! assert_eq!(claims.get("scope"), Some(serde_json::json!("read")));
//! assert_eq!(claims.get("sub"), None, "registered claims are on the VerifiedToken");
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let token = jsonwebtoken::encode(
//!     &jsonwebtoken::Header::default(),
//!     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "tenant": 7 }),
//!     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
//! )
//! .unwrap();
//! let svc = auth.layer(service_fn(|req: Request<()>| async move {
//!     let token = req.extensions().get::<VerifiedToken<DefaultClaims>>().unwrap();
//!     let tenant = token.claims().get_as::<u64>("tenant");
//!     Ok::<_, std::convert::Infallible>(Response::new(format!("{:?} {tenant:?}", token.subject())))
//! }));
//! let req = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.body(), "Some(\"alice\") Some(7)");
//! # }
//! ```

mod audience;
mod borrowed;
mod default;
mod grants;
mod heap;
mod interner;
mod lists;
mod names;
mod parse;
mod registered;
mod skip;
mod sources;
pub(crate) mod verified;

pub use audience::Audience;
pub use default::DefaultClaims;
pub use grants::{ClaimList, Grants};
pub(crate) use heap::{SharedStr, heap_chunk, shared_str, shared_str_bytes};
pub(crate) use interner::Interner;
pub(crate) use names::{ClaimNames, READ_OTHERWISE, REGISTERED};
pub(crate) use parse::parse_registered;
pub use registered::RegisteredClaims;
pub use sources::{ClaimPath, GrantClaims, IntoClaimPath};
pub use verified::Unauthenticated;
pub(crate) use verified::{CacheFacts, VerifiedToken, VersionAndGrants};
