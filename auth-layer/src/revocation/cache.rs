//! [`RevocationCache`]: moka caches in front of a [`RevocationStore`].

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use moka::future::Cache;
use tokio::task::JoinHandle;

use super::{Facts, RevocationEvent, RevocationStore, StoreError};
use crate::claims::VerifiedToken;
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::observe::metrics;

/// The default cache TTL: the longest a revoked token can pass on an
/// instance that missed the revocation event.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// The default number of entries per cache.
pub const DEFAULT_CAPACITY: u64 = 100_000;
/// The default bound on one store query.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after a failed store call misses answer at once (and the
/// `Retry-After` of the 503): one request then tries the store again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Caches the answers of a [`RevocationStore`] in this process and applies
/// the revocations every instance publishes.
///
/// One moka cache per concern (user versions, revoked sessions, denied token
/// ids), each with the configured TTL and capacity. Concurrent misses for one
/// key make one store query. Cheap to clone; clones share the caches.
#[derive(Clone)]
pub struct RevocationCache {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn RevocationStore>,
    breaker: Breaker,
    users: Lookup<u64>,
    sessions: Lookup<bool>,
    jtis: Lookup<bool>,
    check_jti: bool,
    timeout: Duration,
    retry_after: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// After a store call timed out, misses do not each wait for the store
/// timeout: they fail at once (503, or the last known answer) until `window`
/// has passed; then one call tries the store again (the others keep failing
/// fast), and its success closes the breaker. Only a timeout opens it: a
/// store that answers with an error (one bad key, say) is not down, and its
/// other keys keep being asked.
struct Breaker {
    open_until: Mutex<Option<Instant>>,
    window: Duration,
}

impl Breaker {
    fn new(window: Duration) -> Self {
        Self {
            open_until: Mutex::new(None),
            window,
        }
    }

    /// Whether to call the store now; when the window has passed, the
    /// caller that gets `true` is the one probe.
    fn admit(&self) -> bool {
        let mut open_until = self
            .open_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match *open_until {
            None => true,
            Some(until) => {
                let now = Instant::now();
                if now < until {
                    return false;
                }
                *open_until = Some(now + self.window);
                true
            }
        }
    }

    fn record(&self, timed_out: bool) {
        let mut open_until = self
            .open_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if timed_out {
            if open_until.is_none() {
                tracing::warn!(retry_in = ?self.window, "revocation store timed out: answering misses at once until it is tried again");
            }
            *open_until = Some(Instant::now() + self.window);
        } else if open_until.take().is_some() {
            tracing::info!("revocation store answers again");
        }
    }
}

/// One concern: fresh answers for the TTL, and optionally the last known
/// answers for a bounded time longer, served only while the store is down.
struct Lookup<V> {
    fresh: Cache<String, V>,
    last_known: Option<Cache<String, V>>,
}

impl<V: Clone + Send + Sync + 'static> Lookup<V> {
    fn new(name: &str, ttl: Duration, capacity: u64, serve_stale_for: Option<Duration>) -> Self {
        Self {
            fresh: Cache::builder()
                .name(name)
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            last_known: serve_stale_for.map(|extra| {
                Cache::builder()
                    .name(&format!("{name}-last-known"))
                    .max_capacity(capacity)
                    .time_to_live(ttl + extra)
                    .build()
            }),
        }
    }

    /// The cached answer if moka has it at hand, without waiting.
    fn probe(&self, key: &str) -> Option<V> {
        let mut get = pin!(self.fresh.get(key));
        match get.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => None,
        }
    }

    /// The cached answer, or the store's (one query for concurrent misses;
    /// `query` is only called by the caller that runs it).
    async fn load<F>(
        &self,
        key: &str,
        op: &'static str,
        (timeout, breaker): (Duration, &Breaker),
        query: impl FnOnce() -> F,
    ) -> Result<V, StoreError>
    where
        F: Future<Output = Result<V, StoreError>>,
    {
        let loaded = self
            .fresh
            .try_get_with_by_ref(key, async {
                if !breaker.admit() {
                    metrics::store_call("revocation", op, Duration::ZERO, Some("backoff"));
                    return Err(StoreError::Backoff(breaker.window));
                }
                let started = Instant::now();
                let answer = tokio::time::timeout(timeout, query()).await;
                let error = match &answer {
                    Ok(Ok(_)) => None,
                    Ok(Err(_)) => Some("unavailable"),
                    Err(_) => Some("timeout"),
                };
                metrics::store_call("revocation", op, started.elapsed(), error);
                match &answer {
                    Ok(Ok(_)) => breaker.record(false),
                    Ok(Err(_)) => {}
                    Err(_) => breaker.record(true),
                }
                answer.map_err(|_| StoreError::Timeout(timeout))?
            })
            .await;
        match (loaded, &self.last_known) {
            (Ok(v), Some(last_known)) => {
                last_known.insert(key.to_owned(), v.clone()).await;
                Ok(v)
            }
            (Ok(v), None) => Ok(v),
            (Err(e), Some(last_known)) => match last_known.get(key).await {
                Some(v) => {
                    tracing::warn!(cache = self.fresh.name(), error = %e, "revocation store down: serving the last known answer");
                    Ok(v)
                }
                None => Err((*e).clone()),
            },
            (Err(e), None) => Err((*e).clone()),
        }
    }

    async fn invalidate(&self, key: &str) {
        self.fresh.invalidate(key).await;
        if let Some(last_known) = &self.last_known {
            last_known.invalidate(key).await;
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
    /// Starts a cache in front of `store`.
    pub fn builder(store: impl RevocationStore) -> RevocationCacheBuilder {
        RevocationCacheBuilder {
            store: Arc::new(store),
            ttl: DEFAULT_TTL,
            capacity: DEFAULT_CAPACITY,
            timeout: DEFAULT_STORE_TIMEOUT,
            serve_stale_for: None,
            check_jti: false,
        }
    }

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
    async fn invalidate(&self, event: &RevocationEvent) {
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

/// Configures a [`RevocationCache`].
pub struct RevocationCacheBuilder {
    store: Arc<dyn RevocationStore>,
    ttl: Duration,
    capacity: u64,
    timeout: Duration,
    serve_stale_for: Option<Duration>,
    check_jti: bool,
}

impl RevocationCacheBuilder {
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
                    inner.invalidate(&event).await;
                }
            })];
            tasks.extend(listener.map(|l| runtime.spawn(l)));
            Inner {
                users: Lookup::new("auth-user-versions", self.ttl, self.capacity, stale),
                sessions: Lookup::new("auth-revoked-sessions", self.ttl, self.capacity, stale),
                jtis: Lookup::new("auth-denied-jtis", self.ttl, self.capacity, stale),
                store,
                check_jti: self.check_jti,
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
            .finish_non_exhaustive()
    }
}
