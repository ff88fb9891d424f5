//! Sessions and rotating refresh tokens: the issuing half of the layer.
//!
//! The layer checks short-lived access tokens; this module hands them out,
//! so that short access tokens, long sessions and revocation work together
//! ("stay signed in for a week, but let me kill a stolen session now"):
//!
//! - [`TokenIssuer`] mints access tokens (`typ` `at+jwt`, `iss`, `aud`,
//!   `sub`, `iat`, `nbf`, `exp`, `jti`, `ver`, `sid` and your claims), with a
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
//! - Rotation is atomic in every store: of many concurrent refreshes with one
//!   token exactly one rotates; the others are reuse (or, within the
//!   optional [grace window](SessionsBuilder::danger_reuse_grace), answered
//!   with an access token and no new refresh token).
//!
//! Stores: [`MemorySessionStore`] (one process), `RedisSessionStore`
//! (feature `redis`) and `PostgresSessionStore` (feature `postgres`), whose
//! storage layouts are public contracts (see their docs). [`connect`] opens
//! one from a URL.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::{MemoryStore, RevocationCache};
//! use auth_layer::session::{MemorySessionStore, Sessions, SessionErrorKind, SigningKey, TokenIssuer};
//! use http::{Request, Response, StatusCode};
//! use serde_json::json;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
//! let revocation = RevocationCache::builder(MemoryStore::new()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET)?)
//!     .issuer("https://auth.example")
//!     .audience("orders-api")
//!     .build()?;
//! let sessions = Sessions::builder(issuer, MemorySessionStore::new(), revocation.clone()).build()?;
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
//! // The first refresh token again: reuse. The session is gone, and so is its access token.
//! let reused = sessions.refresh(first.refresh_token().as_str()).await.unwrap_err();
//! assert_eq!(reused.kind(), SessionErrorKind::RefreshReused);
//! assert_eq!(call(second.access_token().as_str()).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::ConfigError;
pub use crate::revocation::BoxFuture;

mod access_token;
mod builder;
mod error;
mod issuer;
mod lifetime;
mod memory;
mod outcome;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod rotation;
mod sessions;
mod signing;
mod token;

pub use access_token::{AccessToken, TokenRequest};
pub use builder::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_SESSION_LIFETIME, DEFAULT_STORE_TIMEOUT, MAX_REUSE_GRACE,
    SessionsBuilder,
};
pub use error::{SessionError, SessionErrorKind};
pub use issuer::{IssueError, TokenIssuer, TokenIssuerBuilder};
pub use lifetime::{DEFAULT_ACCESS_LIFETIME, LifetimePolicy};
pub use memory::MemorySessionStore;
pub use outcome::{Refreshed, SessionEvent, TokenPair};
#[cfg(feature = "postgres")]
pub use postgres::PostgresSessionStore;
#[cfg(feature = "redis")]
pub use redis::RedisSessionStore;
pub use sessions::Sessions;
pub use signing::SigningKey;
pub use token::{RefreshToken, TokenHash};

/// How long a store keeps a session after its absolute expiry, so that a
/// late refresh is told `session_expired` (and a late reuse is still
/// recognised) rather than `refresh_invalid`. After that the session and
/// its tokens are deleted.
pub const RETENTION_AFTER_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

/// Where sessions and refresh-token hashes live. Object-safe;
/// implementations are cheap-to-clone handles.
///
/// Every method is one atomic step in the store: in particular
/// [`rotate`](Self::rotate) decides and writes in one step (a Lua script in
/// Redis, one transaction holding the session row in PostgreSQL), so two
/// concurrent rotations with one token cannot both succeed. Times are Unix
/// seconds from the caller's clock, never the store's.
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new, live session whose current refresh token hashes to `token`.
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), SessionStoreError>>;

    /// The session `sid`, if the store still holds it.
    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>>;

    /// Atomically: finds the presented token in session `rotation.sid` and
    /// decides as [`RotateOutcome`] documents. Only
    /// [`Rotated`](RotateOutcome::Rotated) (the presented token becomes spent,
    /// `next` becomes current, `last_used_at` becomes `now`) and a first
    /// [`Reused`](RotateOutcome::Reused) (the session is ended with
    /// [`EndReason::Reuse`]) write anything.
    fn rotate<'a>(
        &'a self,
        rotation: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, SessionStoreError>>;

    /// Ends the session `sid` for `reason` (a session already ended keeps its
    /// first reason) and returns it as it now is; `None` if unknown.
    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>>;

    /// Ends every live session of `subject` for `reason` and returns their ids.
    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, SessionStoreError>>;
}

macro_rules! forward_store {
    ($ty:ty) => {
        impl SessionStore for $ty {
            fn create<'a>(
                &'a self,
                session: &'a SessionRecord,
                token: TokenHash,
            ) -> BoxFuture<'a, Result<(), SessionStoreError>> {
                (**self).create(session, token)
            }
            fn session<'a>(
                &'a self,
                sid: &'a str,
            ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
                (**self).session(sid)
            }
            fn rotate<'a>(
                &'a self,
                rotation: &'a Rotation<'a>,
            ) -> BoxFuture<'a, Result<RotateOutcome, SessionStoreError>> {
                (**self).rotate(rotation)
            }
            fn end<'a>(
                &'a self,
                sid: &'a str,
                reason: EndReason,
                now: i64,
            ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
                (**self).end(sid, reason, now)
            }
            fn end_all<'a>(
                &'a self,
                subject: &'a str,
                reason: EndReason,
                now: i64,
            ) -> BoxFuture<'a, Result<Vec<String>, SessionStoreError>> {
                (**self).end_all(subject, reason, now)
            }
        }
    };
}

forward_store!(Box<dyn SessionStore>);
forward_store!(Arc<dyn SessionStore>);

/// Opens the session store a URL names: `memory:` (or an empty string) for
/// a [`MemorySessionStore`], `redis://` / `rediss://` for a
/// `RedisSessionStore` (feature `redis`), `postgres://` / `postgresql://`
/// for a `PostgresSessionStore` (feature `postgres`), as
/// [`revocation::connect`](crate::revocation::connect) does for revocation.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = auth_layer::session::connect("memory:").await.unwrap();
/// assert!(store.session("no-such-session").await.unwrap().is_none());
/// assert!(auth_layer::session::connect("ftp://x").await.is_err());
/// # }
/// ```
///
/// # Errors
/// An unknown scheme, a scheme whose feature is off, or a store that
/// cannot be reached.
pub async fn connect(url: &str) -> Result<Box<dyn SessionStore>, ConfigError> {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "" | "memory" => Ok(Box::new(MemorySessionStore::new())),
        "redis" | "rediss" => {
            #[cfg(feature = "redis")]
            return Ok(Box::new(
                RedisSessionStore::connect(url).await.map_err(unreachable)?,
            ));
            #[cfg(not(feature = "redis"))]
            return Err(feature_off("redis"));
        }
        "postgres" | "postgresql" => {
            #[cfg(feature = "postgres")]
            return Ok(Box::new(
                PostgresSessionStore::connect(url)
                    .await
                    .map_err(unreachable)?,
            ));
            #[cfg(not(feature = "postgres"))]
            return Err(feature_off("postgres"));
        }
        _ => Err(ConfigError::setting(
            "session store",
            "unknown scheme; use memory:, redis://host:port or postgres://user@host/db",
        )),
    }
}

#[cfg(any(feature = "redis", feature = "postgres"))]
fn unreachable(e: SessionStoreError) -> ConfigError {
    let cause = StdError::source(&e)
        .map(ToString::to_string)
        .unwrap_or_default();
    ConfigError::setting("session store", format!("{e}: {cause}"))
}

#[cfg(any(not(feature = "redis"), not(feature = "postgres")))]
fn feature_off(feature: &str) -> ConfigError {
    ConfigError::setting(
        "session store",
        format!("this URL needs the `{feature}` feature of auth-layer"),
    )
}

/// A session as stored: who, with which claims, since when, until when.
///
/// Holds no token: the store keeps refresh tokens only as [`TokenHash`]es.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id: access tokens carry it as `sid`.
    pub sid: String,
    /// The subject (`sub`) the session belongs to.
    pub subject: String,
    /// The caller's claims given at login, put into every access token of
    /// the session.
    pub claims: Map<String, Value>,
    /// The subject's token version at login (`ver` in its access tokens);
    /// once the subject's current version is higher, the session cannot
    /// refresh.
    pub version: u64,
    /// When the session started (Unix seconds).
    pub created_at: i64,
    /// The absolute end of the session (Unix seconds): no refresh from then on.
    pub expires_at: i64,
    /// The login or the last rotation (Unix seconds); the idle timeout
    /// counts from here.
    pub last_used_at: i64,
    /// Why the session ended; `None` while it is live.
    pub ended: Option<EndReason>,
}

/// Why a session ended. Stored as the string of [`as_str`](Self::as_str).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// `logout`: the user logged out of this session.
    Logout,
    /// `logout_all`: the user logged out everywhere (the token version was bumped).
    LogoutAll,
    /// `reuse`: a spent refresh token of the session was presented again.
    Reuse,
    /// `reauth`: the subject must authenticate again.
    Reauth,
    /// `revoked`: ended by someone else (an administrator, another
    /// service); also how any other stored value reads.
    Revoked,
}

impl EndReason {
    /// The stored form: `logout`, `logout_all`, `reuse`, `reauth` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Reuse => "reuse",
            Self::Reauth => "reauth",
            Self::Revoked => "revoked",
        }
    }

    /// Reads a stored reason; anything unknown is [`Revoked`](Self::Revoked).
    pub fn parse(stored: &str) -> Self {
        match stored {
            "logout" => Self::Logout,
            "logout_all" => Self::LogoutAll,
            "reuse" => Self::Reuse,
            "reauth" => Self::Reauth,
            _ => Self::Revoked,
        }
    }
}

/// One refresh, as [`SessionStore::rotate`] receives it.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The session the presented token names.
    pub sid: &'a str,
    /// The hash of the presented token.
    pub presented: TokenHash,
    /// The hash of the token that replaces it.
    pub next: TokenHash,
    /// The caller's time (Unix seconds).
    pub now: i64,
    /// Seconds without a rotation after which the session is idle.
    pub idle_timeout: i64,
    /// Seconds after a rotation during which the token it spent is answered
    /// as a duplicate rather than reuse; 0 turns the window off.
    pub grace: i64,
    /// The subject's current token version: a session with a lower version
    /// cannot refresh.
    pub min_version: u64,
}

/// What [`SessionStore::rotate`] decided. Every variant but `Unknown` holds
/// the session as it is after the call.
///
/// The decision, in order:
/// 1. the session or the presented token is not in the store → `Unknown`;
/// 2. the token is spent: within the grace window after its rotation, if
///    it is the most recently spent token and the session is live and
///    otherwise refreshable → `Duplicate` (nothing written); otherwise
///    → `Reused` (a live session is ended with [`EndReason::Reuse`]);
/// 3. the token is current: session ended → `Ended`; `now >= expires_at`
///    → `Expired`; `now >= last_used_at + idle_timeout` → `Idle`; session
///    version below `min_version` → `VersionBumped`; otherwise → `Rotated`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The presented token is spent, `next` is current.
    Rotated(SessionRecord),
    /// A racing duplicate within the grace window: nothing changed.
    Duplicate(SessionRecord),
    /// The presented token was already spent.
    Reused(SessionRecord),
    /// The session had ended (see its `ended`).
    Ended(SessionRecord),
    /// The session is past its absolute lifetime.
    Expired(SessionRecord),
    /// The session went unused longer than the idle timeout.
    Idle(SessionRecord),
    /// The subject's token version was bumped after the session started.
    VersionBumped(SessionRecord),
    /// No such session or token.
    Unknown,
}

/// A session store that could not answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SessionStoreError {
    /// The store is unreachable, failed, or holds something unreadable.
    #[error("session store unavailable")]
    Unavailable(#[source] Arc<dyn StdError + Send + Sync>),
    /// The store did not answer in time.
    #[error("session store did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
}

impl SessionStoreError {
    /// Wraps a backend error.
    pub fn unavailable(error: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Arc::new(error))
    }

    /// A stored value that does not follow the storage contract.
    pub fn corrupt(what: &str) -> Self {
        Self::unavailable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("malformed session record: {what}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_reasons_round_trip_and_unknown_reads_as_revoked() {
        for reason in [
            EndReason::Logout,
            EndReason::LogoutAll,
            EndReason::Reuse,
            EndReason::Reauth,
            EndReason::Revoked,
        ] {
            assert_eq!(EndReason::parse(reason.as_str()), reason);
        }
        assert_eq!(EndReason::parse("banned-by-admin"), EndReason::Revoked);
    }
}
