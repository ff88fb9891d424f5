//! Revocation: taking a JWT back before it expires.
//!
//! A token carries `ver` (the user's token version when it was issued) and
//! may carry `sid` (its session) and `jti` (its id). A [`RevocationStore`]
//! holds the current version of every subject (0 for one it has never seen),
//! the revoked sessions and, optionally, denied token ids. A token is revoked
//! when its `ver` is below the subject's current version, its `sid` is
//! revoked, or its `jti` is denied; the layer then answers 401
//! `invalid_token` with the code `token_revoked`.
//!
//! Looking the store up on every request would bring back the database hit
//! JWT avoids, so a [`RevocationCache`] (moka) sits in front of it. Its TTL is
//! the upper bound on how long a revoked token can still pass on an instance
//! that missed the revocation event; every instance subscribes to the store's
//! events (Redis pub/sub, PostgreSQL `LISTEN`) and drops the affected entries
//! at once. When the store cannot answer and no cached answer is usable, the
//! layer answers 503 with `Retry-After`: never a 401, never a pass.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::{MemoryStore, RevocationCache};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let revocation = RevocationCache::builder(MemoryStore::new())
//!     .ttl(Duration::from_secs(30))
//!     .build()
//!     .unwrap();
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .revocation(revocation.clone())
//!     .build()
//!     .unwrap();
//!
//! // "log out everywhere": every token of alice issued before now stops passing.
//! let version = revocation.bump_user_version("alice").await.unwrap();
//! assert_eq!(version, 1);
//! # let _ = auth;
//! # }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

mod cache;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

pub(crate) use cache::Probe;
pub use cache::{
    DEFAULT_CAPACITY, DEFAULT_STORE_TIMEOUT, DEFAULT_TTL, RevocationCache, RevocationCacheBuilder,
};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

/// A boxed, `Send` future, as returned by [`RevocationStore`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where revocations live. Object-safe; implementations are cheap to clone
/// handles (an `Arc` or a connection pool inside).
///
/// Every write must be followed by publishing the matching
/// [`RevocationEvent`] to the other instances, and [`listen`](Self::listen)
/// delivers the events published by any instance.
pub trait RevocationStore: Send + Sync + 'static {
    /// The current token version of `sub`; 0 for a subject never seen.
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Whether the session `sid` is revoked.
    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Whether the token id `jti` is denied.
    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Raises the version of `sub` by one and returns the new version: every
    /// token issued before stops passing (log out everywhere, password change).
    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Revokes the session `sid`.
    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Denies the token id `jti` until `until` (the token's `exp`), after
    /// which the entry may be forgotten.
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A future that delivers every revocation published by any instance to
    /// `events` until `events` is closed, reconnecting by itself after the
    /// connection drops. `None` for a store with no events to deliver.
    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>>;
}

macro_rules! forward_store {
    ($ty:ty) => {
        impl RevocationStore for $ty {
            fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
                (**self).user_version(sub)
            }
            fn session_revoked<'a>(
                &'a self,
                sid: &'a str,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).session_revoked(sid)
            }
            fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).jti_denied(jti)
            }
            fn bump_user_version<'a>(
                &'a self,
                sub: &'a str,
            ) -> BoxFuture<'a, Result<u64, StoreError>> {
                (**self).bump_user_version(sub)
            }
            fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_session(sid)
            }
            fn revoke_jti<'a>(
                &'a self,
                jti: &'a str,
                until: SystemTime,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_jti(jti, until)
            }
            fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
                (**self).listen(events)
            }
        }
    };
}

forward_store!(Box<dyn RevocationStore>);
forward_store!(Arc<dyn RevocationStore>);

/// Opens the store a URL names: `memory:` (or an empty string) for a
/// [`MemoryStore`], `redis://` / `rediss://` for a `RedisStore` (feature
/// `redis`), `postgres://` / `postgresql://` for a `PostgresStore` (feature
/// `postgres`). This is what the examples' `AUTH_REVOCATION_URL` means.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = auth_layer::revocation::connect("memory:").await.unwrap();
/// assert_eq!(store.user_version("alice").await.unwrap(), 0);
/// assert!(auth_layer::revocation::connect("ftp://x").await.is_err());
/// # }
/// ```
///
/// # Errors
/// An unknown scheme, a scheme whose feature is off, or a store that
/// cannot be reached.
pub async fn connect(url: &str) -> Result<Box<dyn RevocationStore>, ConfigError> {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "" | "memory" => Ok(Box::new(MemoryStore::new())),
        "redis" | "rediss" => {
            #[cfg(feature = "redis")]
            return Ok(Box::new(
                RedisStore::connect(url).await.map_err(unreachable)?,
            ));
            #[cfg(not(feature = "redis"))]
            return Err(feature_off("redis"));
        }
        "postgres" | "postgresql" => {
            #[cfg(feature = "postgres")]
            return Ok(Box::new(
                PostgresStore::connect(url).await.map_err(unreachable)?,
            ));
            #[cfg(not(feature = "postgres"))]
            return Err(feature_off("postgres"));
        }
        _ => Err(ConfigError::setting(
            "revocation store",
            "unknown scheme; use memory:, redis://host:port or postgres://user@host/db",
        )),
    }
}

#[cfg(any(feature = "redis", feature = "postgres"))]
fn unreachable(e: StoreError) -> ConfigError {
    let cause = std::error::Error::source(&e)
        .map(ToString::to_string)
        .unwrap_or_default();
    ConfigError::setting("revocation store", format!("{e}: {cause}"))
}

#[cfg(any(not(feature = "redis"), not(feature = "postgres")))]
fn feature_off(feature: &str) -> ConfigError {
    ConfigError::setting(
        "revocation store",
        format!("this URL needs the `{feature}` feature of auth-layer"),
    )
}

/// The sending half that [`RevocationStore::listen`] delivers events to.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RevocationEvent>;

/// A revocation, as published between instances:
/// `{"kind":"user","sub":"…"}`, `{"kind":"session","sid":"…"}` or
/// `{"kind":"jti","jti":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum RevocationEvent {
    /// A subject's version was bumped.
    User {
        /// The subject.
        sub: String,
    },
    /// A session was revoked.
    Session {
        /// The session id.
        sid: String,
    },
    /// A token id was denied.
    Jti {
        /// The token id.
        jti: String,
    },
    /// Sent by a store's listener (never published) after it subscribed
    /// again following a lost connection: events published meanwhile were
    /// missed, so the cache drops every cached answer.
    #[serde(skip)]
    Resubscribed,
}

impl RevocationEvent {
    /// The JSON payload published on the channel.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a published payload; `None` for anything else (which listeners ignore).
    pub fn from_json(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// A store that could not answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable or failed.
    #[error("revocation store unavailable")]
    Unavailable(#[source] Arc<dyn StdError + Send + Sync>),
    /// The store did not answer in time.
    #[error("revocation store did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The store timed out moments ago and is not asked again until this
    /// much time has passed since (one request then tries it).
    #[error("revocation store timed out within the last {} ms: not asked again yet", .0.as_millis())]
    Backoff(Duration),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn unavailable(error: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Arc::new(error))
    }
}

/// What a token says about itself for revocation.
pub(crate) struct Facts<'a> {
    pub(crate) sub: Option<&'a str>,
    pub(crate) ver: u64,
    pub(crate) sid: Option<&'a str>,
    pub(crate) jti: Option<&'a str>,
}

impl fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facts")
            .field("ver", &self.ver)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_documented_json_shape() {
        let cases = [
            (
                RevocationEvent::User {
                    sub: "alice".into(),
                },
                r#"{"kind":"user","sub":"alice"}"#,
            ),
            (
                RevocationEvent::Session { sid: "s1".into() },
                r#"{"kind":"session","sid":"s1"}"#,
            ),
            (
                RevocationEvent::Jti { jti: "j1".into() },
                r#"{"kind":"jti","jti":"j1"}"#,
            ),
        ];
        for (event, json) in cases {
            assert_eq!(event.to_json(), json);
            assert_eq!(RevocationEvent::from_json(json), Some(event));
        }
        assert_eq!(RevocationEvent::from_json(r#"{"kind":"other"}"#), None);
    }
}
