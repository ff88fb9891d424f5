//! [`RevocationCacheBuilder`]: the cache's settings, checked once, and the
//! event listener it starts.

use std::fmt;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::cache::{Inner, RevocationCache};
use super::event::RevocationEvent;
use super::lookup::{Breaker, Lookup};
use super::memo::Epoch;
use super::store::RevocationStore;
use crate::backend::DEFAULT_STORE_TIMEOUT;
use crate::error::ConfigError;

/// The default cache TTL: the longest a revoked token can pass on an
/// instance that missed the revocation event.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// The default number of entries per cache.
pub const DEFAULT_CAPACITY: u64 = 100_000;
/// How long after a store call timed out misses answer at once (and the
/// `Retry-After` of the 503): one request then tries the store again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

impl RevocationCache {
    /// Starts a cache in front of `store`.
    pub fn builder(store: impl RevocationStore) -> RevocationCacheBuilder {
        RevocationCacheBuilder::new(Arc::new(store))
    }
}

/// Configures a [`RevocationCache`].
pub struct RevocationCacheBuilder {
    store: Arc<dyn RevocationStore>,
    ttl: Duration,
    capacity: u64,
    timeout: Duration,
    serve_stale_for: Option<Duration>,
    check_jti: bool,
    require_subject: bool,
    require_session: bool,
    versioned: Option<String>,
}

impl RevocationCacheBuilder {
    fn new(store: Arc<dyn RevocationStore>) -> Self {
        Self {
            store,
            ttl: DEFAULT_TTL,
            capacity: DEFAULT_CAPACITY,
            timeout: DEFAULT_STORE_TIMEOUT,
            serve_stale_for: None,
            check_jti: false,
            require_subject: true,
            require_session: false,
            versioned: None,
        }
    }

    /// How long an answer is cached (default 30 s): the upper bound on how
    /// long a revoked token can still pass when no invalidation event arrives.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Entries per cache (default 100 000).
    #[must_use]
    pub fn capacity(mut self, entries: u64) -> Self {
        self.capacity = entries;
        self
    }

    /// The longest one store query may take (default 2 s); a slower store is
    /// treated as down. After a timeout, misses are answered at once (503,
    /// or the last known answer) for one second, then one request tries the
    /// store again: an outage does not make every request wait this long.
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// While the store is down, keep answering from the last known answer
    /// for at most `extra` beyond the TTL (off by default: fail closed with
    /// 503). The bound is exact: no answer is served older than TTL + `extra`.
    #[must_use]
    pub fn serve_stale_for(mut self, extra: Duration) -> Self {
        self.serve_stale_for = Some(extra);
        self
    }

    /// Also check the `jti` denylist on every request (off by default: it
    /// costs one store query per new token).
    #[must_use]
    pub fn check_jti(mut self, on: bool) -> Self {
        self.check_jti = on;
        self
    }

    /// Refuse tokens without `sub` (`missing_claim`; on by default, as RFC
    /// 9068 makes `sub` mandatory in access tokens): such a token cannot be
    /// logged out by subject, so letting it through would make "log out
    /// everywhere" miss it. Turn off only for tokens that never carry `sub`
    /// (client-credentials tokens of some providers); they are then checked
    /// by session and `jti` alone.
    #[must_use]
    pub fn require_subject(mut self, on: bool) -> Self {
        self.require_subject = on;
        self
    }

    /// Refuse tokens without a session id (`sid` unless configured otherwise;
    /// `missing_claim`). Off by default, since many providers' access tokens
    /// carry none; turn it on where sessions are revoked one by one (OpenID
    /// Connect back-channel logout by `sid`, [`Sessions`](crate::session::Sessions)'
    /// logout) and every token should be reachable that way.
    #[must_use]
    pub fn require_session_id(mut self, on: bool) -> Self {
        self.require_session = on;
        self
    }

    /// The issuer whose tokens' `ver` claim counts: the project's own
    /// [`TokenIssuer`](crate::session::TokenIssuer), which writes the
    /// subject's current version into every token it mints. A token of that
    /// issuer carrying `ver` is refused exactly when its version is below the
    /// subject's; every other token is judged by not-before, whatever `ver`
    /// it carries (providers use `ver` for other things). [`Sessions`](crate::session::Sessions)
    /// built on the cache set it to their issuer by themselves; set it here
    /// on instances that only verify.
    #[must_use]
    pub fn versioned_issuer(mut self, iss: impl Into<String>) -> Self {
        self.versioned = Some(iss.into());
        self
    }

    /// Builds the caches and starts listening to the store's events.
    ///
    /// # Errors
    /// A zero TTL, capacity or timeout, or no tokio runtime to run the
    /// listener on (call it from inside the runtime, e.g. in `#[tokio::main]`).
    pub fn build(self) -> Result<RevocationCache, ConfigError> {
        if self.ttl.is_zero() {
            return Err(ConfigError::setting("revocation ttl", "must be above zero"));
        }
        if self.capacity == 0 {
            return Err(ConfigError::setting(
                "revocation capacity",
                "must be above zero",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::setting(
                "revocation store_timeout",
                "must be above zero",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ConfigError::setting(
                "revocation",
                "RevocationCache::build must run inside a tokio runtime (it starts the revocation-event listener)",
            )
        })?;
        let stale = self.serve_stale_for;
        let store = self.store;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RevocationEvent>();
        let listener = store.listen(tx);
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let weak = weak.clone();
            let mut tasks = vec![runtime.spawn(async move {
                while let Some(event) = rx.recv().await {
                    let Some(inner) = weak.upgrade() else { return };
                    tracing::debug!(?event, "revocation event");
                    inner.invalidate(&event);
                }
            })];
            tasks.extend(listener.map(|l| runtime.spawn(l)));
            let epoch = Arc::new(Epoch::new());
            let (ttl, capacity) = (self.ttl, self.capacity);
            Inner {
                users: Lookup::new(
                    "auth-revoked-subjects",
                    ttl,
                    capacity,
                    stale,
                    Arc::clone(&epoch),
                ),
                sessions: Lookup::new(
                    "auth-revoked-sessions",
                    ttl,
                    capacity,
                    stale,
                    Arc::clone(&epoch),
                ),
                jtis: Lookup::new("auth-denied-jtis", ttl, capacity, stale, Arc::clone(&epoch)),
                epoch,
                store,
                check_jti: self.check_jti,
                require_subject: self.require_subject,
                require_session: self.require_session,
                versioned: self
                    .versioned
                    .map(String::into_boxed_str)
                    .map(OnceLock::from)
                    .unwrap_or_default(),
                marker: AtomicI64::new(0),
                timeout: self.timeout,
                retry_after: RETRY_AFTER,
                breaker: Breaker::new(RETRY_AFTER),
                tasks,
            }
        });
        Ok(RevocationCache { inner })
    }
}

impl fmt::Debug for RevocationCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationCacheBuilder")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("timeout", &self.timeout)
            .field("serve_stale_for", &self.serve_stale_for)
            .field("check_jti", &self.check_jti)
            .field("require_subject", &self.require_subject)
            .field("require_session_id", &self.require_session)
            .field("versioned_issuer", &self.versioned)
            .finish_non_exhaustive()
    }
}
