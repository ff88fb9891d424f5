//! Sessions and rotating refresh tokens: the issuing half of the layer.
//!
//! The layer checks short-lived access tokens; this module hands them out,
//! so that short access tokens, long sessions and revocation work together
//! ("stay signed in for a week, but let me kill a stolen session now"):
//!
//! - [`TokenIssuer`] mints access tokens (`typ` `at+jwt`, `iss`, `aud`,
//!   `sub`, `iat`, `nbf`, `exp`, `jti`, `ver`, `sid`, `cnf.jkt` when bound
//!   to a DPoP key, and your claims), with a
//!   lifetime from a [`LifetimePolicy`]: 15 minutes unless a role, client or
//!   scope says otherwise.
//! - [`Sessions`] composes the issuer, a [`SessionStore`] and the
//!   [`RevocationCache`](crate::revocation::RevocationCache) the layer
//!   checks. [`login`](Sessions::login) starts a session (`sid`) and returns
//!   an access token plus an opaque [`RefreshToken`] (256 random bits, kept
//!   by the store only as a SHA-256 [`TokenHash`]).
//!   [`refresh`](Sessions::refresh) rotates: the presented token is spent
//!   and a new pair returned. Presenting a spent token again is **reuse**:
//!   the whole session is ended, its `sid` revoked (its live access tokens
//!   get 401 `token_revoked` from the layer) and a
//!   [`SessionEvent::ReuseDetected`] emitted.
//! - A session lasts at most its absolute lifetime (7 days by default) and
//!   dies after its idle timeout (24 hours without a refresh). A subject
//!   whose token version was bumped ([`logout_all`](Sessions::logout_all),
//!   or any service writing the revocation store) or who was flagged with
//!   [`require_reauth`](Sessions::require_reauth) cannot refresh and must
//!   log in again.
//! - A lost answer is not reuse: within the
//!   [retry window](SessionsBuilder::retry_window) (5 s by default) the
//!   token just rotated, presented again while its successor is unused, gets
//!   that rotation's refresh token again and a fresh access token. The
//!   successor is derived from the presented token (HMAC-SHA256 under a
//!   per-deployment key), so nothing is stored in clear and every instance
//!   answers alike. After the window, or once the successor was used, it
//!   is reuse as above.
//! - Rotation is atomic in every store: of many concurrent refreshes with one
//!   token exactly one rotates; within the retry window the others get its
//!   result, outside it they are reuse (or, within the optional
//!   [grace window](SessionsBuilder::danger_reuse_grace), answered with an
//!   access token and no new refresh token).
//! - Claims can follow the user: an
//!   [`on_refresh`](SessionsBuilder::on_refresh) hook re-reads roles and
//!   scopes at each refresh (stored with the rotation) or refuses it.
//! - Stores stay bounded: a session keeps its [`SPENT_TOKENS_KEPT`] most
//!   recently spent hashes, and a revoked `sid` is forgotten once none of
//!   its access tokens can pass: the longest access-token lifetime plus the
//!   300 s leeway cap after the revocation, or after the session's absolute
//!   end when that comes first. This assumes every instance has the same
//!   [`LifetimePolicy`] and that the verifiers' leeway and clock skew stay
//!   within that cap.
//! - Refresh tokens can be bound to the client's DPoP key (RFC 9449
//!   section 5): a login with a verified proof
//!   ([`login_with_proof`](Sessions::login_with_proof)) binds the session,
//!   its access tokens carry `cnf.jkt`, and each refresh must come with a
//!   proof by that key ([`refresh_with_proof`](Sessions::refresh_with_proof));
//!   without one it is refused and nothing is spent.
//! - Subjects appear in `tracing` events only with
//!   [`log_subjects`](SessionsBuilder::log_subjects); tokens never do.
//!
//! Stores: every store in [`store`](crate::store) (memory for one process,
//! Redis and PostgreSQL for many) implements [`SessionStore`] and
//! [`RevocationStore`](crate::revocation::RevocationStore) on one
//! connection, so one store, built once from one URL, serves the sessions
//! and the revocation cache alike.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::session::{Sessions, SessionErrorKind, SigningKey, TokenIssuer};
//! use auth_layer::store::MemoryStore;
//! use http::{Request, Response, StatusCode};
//! use serde_json::json;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
//! let store = MemoryStore::new();
//! let revocation = RevocationCache::builder(store.clone()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET)?)
//!     .issuer("https://auth.example")
//!     .audience("orders-api")
//!     .build()?;
//! let sessions = Sessions::builder(issuer, store, revocation.clone()).build()?;
//! let auth = JwtAuth::builder()
//!     .hmac_secret(SECRET)
//!     .issuer("https://auth.example")
//!     .audience("orders-api")
//!     .token_type("at+jwt")
//!     .revocation(revocation)
//!     .build()?;
//! let api = auth.layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//! }));
//! let call = |token: &str| {
//!     let req = Request::builder().header("authorization", format!("Bearer {token}")).body(());
//!     api.clone().oneshot(req.unwrap())
//! };
//!
//! let first = sessions.login("alice", json!({ "roles": ["reader"] })).await?;
//! let second = sessions.refresh(first.refresh_token().as_str()).await?.into_pair().unwrap();
//! assert_eq!(call(second.access_token().as_str()).await?.status(), StatusCode::OK);
//!
//! // The first refresh token again, right away: a retry, answered with the same new token.
//! let retried = sessions.refresh(first.refresh_token().as_str()).await?;
//! assert_eq!(retried.refresh_token(), Some(second.refresh_token()));
//! let third = sessions.refresh(second.refresh_token().as_str()).await?;
//!
//! // The first refresh token again, now that its successor was used: reuse.
//! // The session is gone, and so is its access token.
//! let reused = sessions.refresh(first.refresh_token().as_str()).await.unwrap_err();
//! assert_eq!(reused.kind(), SessionErrorKind::RefreshReused);
//! assert_eq!(call(third.access_token().as_str()).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```

mod access_token;
mod answers;
mod binding;
mod builder;
mod calls;
mod endpoint;
mod error;
mod issuer;
mod issuer_builder;
mod lifetime;
mod outcome;
mod refresh;
pub(crate) mod rotation;
mod sessions;
mod signing;
mod store;
mod token;

pub use access_token::{AccessToken, TokenRequest};
pub use answers::TokenResponse;
pub use builder::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_RETRY_WINDOW, DEFAULT_SESSION_LIFETIME, MAX_RETRY_WINDOW,
    MAX_REUSE_GRACE, SessionsBuilder,
};
pub use endpoint::TokenEndpoint;
pub use error::{SessionError, SessionErrorKind};
pub use issuer::{IssueError, TokenIssuer};
pub use issuer_builder::TokenIssuerBuilder;
pub use lifetime::{DEFAULT_ACCESS_LIFETIME, LifetimePolicy};
pub use outcome::{Refreshed, SessionEvent, TokenPair};
pub use sessions::Sessions;
pub use signing::SigningKey;
pub use store::{
    EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SPENT_TOKENS_KEPT, SessionRecord,
    SessionStore,
};
pub use token::{RefreshToken, TokenHash};
