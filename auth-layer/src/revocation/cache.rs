//! [`RevocationCache`]: moka caches in front of a [`RevocationStore`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use super::event::RevocationEvent;
use super::lookup::{Breaker, Lookup};
use super::store::RevocationStore;
use crate::backend::StoreError;
use crate::claims::VerifiedToken;
use crate::error::{AuthError, ErrorKind};

/// Caches the answers of a [`RevocationStore`] in this process and applies
/// the revocations every instance publishes.
///
/// One moka cache per concern (user versions, revoked sessions, denied token
/// ids), each with the configured TTL and capacity. Concurrent misses for one
/// key make one store query. Cheap to clone; clones share the caches.
///
/// ```
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::store::MemoryStore;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cache = RevocationCache::builder(MemoryStore::new())
///     .ttl(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// cache.revoke_session("s1").await.unwrap();
/// assert!(cache.store().session_revoked("s1").await.unwrap());
/// # }
/// ```
#[derive(Clone)]
pub struct RevocationCache {
    pub(super) inner: Arc<Inner>,
}

/// The caches and settings, built by [`RevocationCacheBuilder::build`].
pub(super) struct Inner {
    pub(super) store: Arc<dyn RevocationStore>,
    pub(super) breaker: Breaker,
    pub(super) users: Lookup<u64>,
    pub(super) sessions: Lookup<bool>,
    pub(super) jtis: Lookup<bool>,
    pub(super) check_jti: bool,
    pub(super) timeout: Duration,
    pub(super) retry_after: Duration,
    pub(super) tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What the caches say about a token without waiting.
pub(crate) enum Probe {
    Pass,
    Revoked(AuthError),
    Miss,
}

impl RevocationCache {
    /// The store behind the cache.
    pub fn store(&self) -> &dyn RevocationStore {
        &*self.inner.store
    }

    /// The `Retry-After` sent with a 503 when the store is down.
    pub fn retry_after(&self) -> Duration {
        self.inner.retry_after
    }

    /// Bumps the version of `sub` in the store and drops it from this cache
    /// (the store tells the other instances). Returns the new version.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn bump_user_version(&self, sub: &str) -> Result<u64, StoreError> {
        let version = self.inner.store.bump_user_version(sub).await?;
        self.inner.users.invalidate(sub).await;
        Ok(version)
    }

    /// Revokes the session `sid` in the store and in this cache.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_session(&self, sid: &str) -> Result<(), StoreError> {
        self.inner.store.revoke_session(sid).await?;
        self.inner.sessions.invalidate(sid).await;
        Ok(())
    }

    /// Denies the token id `jti` until `until` in the store and in this cache.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_jti(&self, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        self.inner.store.revoke_jti(jti, until).await?;
        self.inner.jtis.invalidate(jti).await;
        Ok(())
    }

    /// Drops the entries an event names, as the event listener does.
    pub async fn invalidate(&self, event: &RevocationEvent) {
        self.inner.invalidate(event).await;
    }

    /// Drops every cached answer.
    pub fn invalidate_all(&self) {
        self.inner.users.fresh.invalidate_all();
        self.inner.sessions.fresh.invalidate_all();
        self.inner.jtis.fresh.invalidate_all();
    }

    /// Lets moka finish pending evictions (for tests that count entries).
    pub async fn run_pending_tasks(&self) {
        self.inner.users.fresh.run_pending_tasks().await;
        self.inner.sessions.fresh.run_pending_tasks().await;
        self.inner.jtis.fresh.run_pending_tasks().await;
    }

    /// Cached user versions (after [`run_pending_tasks`](Self::run_pending_tasks)).
    pub fn cached_users(&self) -> u64 {
        self.inner.users.fresh.entry_count()
    }

    /// The verdict on `token` from the caches alone, without waiting:
    /// `Some(Ok(()))` not revoked, `Some(Err(_))` revoked, `None` when a
    /// cache has no answer and the store would have to be asked. This is
    /// the layer's per-request hot path.
    pub fn cached_verdict<C>(&self, token: &VerifiedToken<C>) -> Option<Result<(), AuthError>> {
        match self.probe(&token.facts()) {
            Probe::Pass => Some(Ok(())),
            Probe::Revoked(e) => Some(Err(e)),
            Probe::Miss => None,
        }
    }

    /// Answers from the caches alone, without waiting.
    pub(crate) fn probe(&self, facts: &Facts<'_>) -> Probe {
        let inner = &*self.inner;
        let mut miss = false;
        if let Some(sub) = facts.sub {
            match inner.users.probe(sub) {
                Some(current) if facts.ver < current => return Probe::Revoked(revoked()),
                Some(_) => {}
                None => miss = true,
            }
        }
        if let Some(sid) = facts.sid {
            match inner.sessions.probe(sid) {
                Some(true) => return Probe::Revoked(revoked()),
                Some(false) => {}
                None => miss = true,
            }
        }
        if inner.check_jti
            && let Some(jti) = facts.jti
        {
            match inner.jtis.probe(jti) {
                Some(true) => return Probe::Revoked(revoked()),
                Some(false) => {}
                None => miss = true,
            }
        }
        if miss { Probe::Miss } else { Probe::Pass }
    }

    /// Answers from the caches, asking the store for what they miss.
    pub(crate) async fn check(&self, facts: Facts<'_>) -> Result<(), AuthError> {
        let inner = &*self.inner;
        let store = &*inner.store;
        let timeout = (inner.timeout, &inner.breaker);
        if let Some(sub) = facts.sub {
            let current = inner
                .users
                .load(sub, "user_version", timeout, || store.user_version(sub))
                .await
                .map_err(unavailable)?;
            if facts.ver < current {
                return Err(revoked());
            }
        }
        if let Some(sid) = facts.sid
            && inner
                .sessions
                .load(sid, "session_revoked", timeout, || {
                    store.session_revoked(sid)
                })
                .await
                .map_err(unavailable)?
        {
            return Err(revoked());
        }
        if inner.check_jti
            && let Some(jti) = facts.jti
            && inner
                .jtis
                .load(jti, "jti_denied", timeout, || store.jti_denied(jti))
                .await
                .map_err(unavailable)?
        {
            return Err(revoked());
        }
        Ok(())
    }
}

impl Inner {
    pub(super) async fn invalidate(&self, event: &RevocationEvent) {
        match event {
            RevocationEvent::User { sub } => self.users.invalidate(sub).await,
            RevocationEvent::Session { sid } => self.sessions.invalidate(sid).await,
            RevocationEvent::Jti { jti } => self.jtis.invalidate(jti).await,
            RevocationEvent::Resubscribed => {
                self.users.fresh.invalidate_all();
                self.sessions.fresh.invalidate_all();
                self.jtis.fresh.invalidate_all();
            }
        }
    }
}

fn revoked() -> AuthError {
    AuthError::new(ErrorKind::Revoked, "token has been revoked")
}

fn unavailable(e: StoreError) -> AuthError {
    if matches!(e, StoreError::Backoff(_)) {
        // The failure that opened the breaker was logged at WARN.
        tracing::debug!(error = %e, "revocation store unavailable");
    } else {
        tracing::warn!(error = %e, "revocation store unavailable");
    }
    AuthError::new(
        ErrorKind::StoreUnavailable,
        "the revocation store is unavailable",
    )
    .with_source(e)
}

impl fmt::Debug for RevocationCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationCache")
            .field("timeout", &self.inner.timeout)
            .field("check_jti", &self.inner.check_jti)
            .finish_non_exhaustive()
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
