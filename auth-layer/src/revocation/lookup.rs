//! One cached concern ([`Lookup`]) and the breaker ([`Breaker`]) that keeps
//! an outage from making every miss wait for the store timeout.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ahash::RandomState;
use moka::future::Cache;

use super::key::{Scoped, ScopedKey};
use crate::backend::StoreError;
use crate::observe::metrics;

/// After a store call timed out, misses do not each wait for the store
/// timeout: they fail at once (503, or the last known answer) until `window`
/// has passed; then one call tries the store again (the others keep failing
/// fast), and its success closes the breaker. Only a timeout opens it: a
/// store that answers with an error (one bad key, say) is not down, and its
/// other keys keep being asked.
pub(super) struct Breaker {
    open_until: Mutex<Option<Instant>>,
    pub(super) window: Duration,
}

impl Breaker {
    pub(super) fn new(window: Duration) -> Self {
        Self {
            open_until: Mutex::new(None),
            window,
        }
    }

    /// Whether to call the store now; when the window has passed, the
    /// caller that gets `true` is the one probe.
    pub(super) fn admit(&self) -> bool {
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

    pub(super) fn record(&self, timed_out: bool) {
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
///
/// Keyed by issuer and id, hashed with aHash under keys drawn at random per
/// process (`runtime-rng`): a probe hashes an issuer URL and a subject on
/// every request, which SipHash made the largest part of a hit, and the
/// random keys keep an attacker who picks subject names from steering
/// them into one bucket.
pub(super) struct Lookup<V> {
    pub(super) fresh: Cache<ScopedKey, V, RandomState>,
    last_known: Option<Cache<ScopedKey, V, RandomState>>,
    /// Raised by every invalidation: a load that read the store before one
    /// must not leave its answer cached after it.
    generation: AtomicU64,
}

impl<V: Clone + Send + Sync + 'static> Lookup<V> {
    pub(super) fn new(
        name: &str,
        ttl: Duration,
        capacity: u64,
        serve_stale_for: Option<Duration>,
    ) -> Self {
        Self {
            fresh: Cache::builder()
                .name(name)
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build_with_hasher(RandomState::new()),
            last_known: serve_stale_for.map(|extra| {
                Cache::builder()
                    .name(&format!("{name}-last-known"))
                    .max_capacity(capacity)
                    .time_to_live(ttl + extra)
                    .build_with_hasher(RandomState::new())
            }),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached answer if moka has it at hand, without waiting.
    #[inline]
    pub(super) fn probe(&self, iss: &str, id: &str) -> Option<V> {
        let key: &dyn Scoped = &(iss, id);
        let mut get = pin!(self.fresh.get(key));
        match get.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => None,
        }
    }

    /// The cached answer, or the store's (one query for concurrent misses;
    /// `query` is only called by the caller that runs it).
    pub(super) async fn load<F>(
        &self,
        (iss, id): (&str, &str),
        op: &'static str,
        (timeout, breaker): (Duration, &Breaker),
        query: impl FnOnce() -> F,
    ) -> Result<V, StoreError>
    where
        F: Future<Output = Result<V, StoreError>>,
    {
        let key = ScopedKey::new(iss, id);
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = self
            .fresh
            .try_get_with(key.clone(), async {
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
        if loaded.is_ok() && self.generation.load(Ordering::Acquire) != generation {
            // An invalidation came while the store was being read: this
            // answer may predate it. It serves the request that raced the
            // revocation, and is not kept for the next ones.
            self.fresh.invalidate(&key).await;
            return loaded.map_err(|e| (*e).clone());
        }
        match (loaded, &self.last_known) {
            (Ok(v), Some(last_known)) => {
                last_known.insert(key, v.clone()).await;
                Ok(v)
            }
            (Ok(v), None) => Ok(v),
            (Err(e), Some(last_known)) => match last_known.get(&key).await {
                Some(v) => {
                    tracing::warn!(cache = self.fresh.name(), error = %e, "revocation store down: serving the last known answer");
                    Ok(v)
                }
                None => Err((*e).clone()),
            },
            (Err(e), None) => Err((*e).clone()),
        }
    }

    /// Drops every fresh answer.
    pub(super) fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.fresh.invalidate_all();
    }

    pub(super) async fn invalidate(&self, iss: &str, id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let key: &dyn Scoped = &(iss, id);
        self.fresh.invalidate(key).await;
        if let Some(last_known) = &self.last_known {
            last_known.invalidate(key).await;
        }
    }
}
