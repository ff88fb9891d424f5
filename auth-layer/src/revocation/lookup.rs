//! One cached concern ([`Lookup`]) and the breaker ([`Breaker`]) that keeps
//! an outage from making every miss wait for the store timeout.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ahash::RandomState;
use quick_cache::UnitWeighter;
use quick_cache::sync::{Cache, DefaultLifecycle, EntryAction, EntryResult};

use super::key::{Scoped, ScopedKey};
use super::memo::Epoch;
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

/// A cached answer and the instant it stops being fresh. A failed load is
/// kept as an entry already stale: the requests that waited for that load
/// share its error, and the next request asks again.
#[derive(Clone)]
struct Entry<V> {
    answer: Result<V, StoreError>,
    until: Instant,
}

impl<V> Entry<V> {
    /// Whether a load that began at `asked` takes this entry: an answer
    /// still fresh then, or a failure no older than the load (the outcome
    /// of the query it waited for).
    fn answers(&self, asked: Instant) -> bool {
        match self.answer {
            Ok(_) => asked < self.until,
            Err(_) => asked <= self.until,
        }
    }
}

type Table<V> = Cache<ScopedKey, Entry<V>, UnitWeighter, RandomState>;

/// One concern: fresh answers for the TTL, and optionally the last known
/// answers for a bounded time longer, served only while the store is down.
///
/// A [`quick_cache`] table (S3-FIFO eviction, one entry per key, at most
/// `capacity` entries), each entry with the instant it goes stale, checked
/// against the clock reading the probe takes once for every concern: a hit
/// reads one slot under a shared lock, with no bookkeeping to do besides.
/// Concurrent misses for one key wait on one placeholder, and the one
/// store query behind it answers them all, an error included.
///
/// Keyed by issuer and id, hashed with aHash under keys drawn at random per
/// process (`runtime-rng`): a probe hashes an issuer URL and a subject on
/// every request, which SipHash made the largest part of a hit, and the
/// random keys keep an attacker who picks subject names from steering
/// them into one bucket.
pub(super) struct Lookup<V> {
    name: &'static str,
    ttl: Duration,
    fresh: Table<V>,
    /// With `serve_stale_for`: the last successful answers, kept that much
    /// longer than their freshness.
    last_known: Option<(Duration, Table<V>)>,
    /// Raised by every invalidation: a load that read the store before one
    /// must not leave its answer cached after it.
    generation: AtomicU64,
    /// The cache's epoch (shared by its concerns), bumped after every
    /// entry dropped: verdicts remembered in tokens before are stale.
    epoch: Arc<Epoch>,
}

fn table<V: Clone>(capacity: u64) -> Table<V> {
    let items = usize::try_from(capacity).unwrap_or(usize::MAX);
    Cache::with(
        items,
        capacity,
        UnitWeighter,
        RandomState::new(),
        DefaultLifecycle::default(),
    )
}

impl<V: Clone + Send + Sync + 'static> Lookup<V> {
    pub(super) fn new(
        name: &'static str,
        ttl: Duration,
        capacity: u64,
        serve_stale_for: Option<Duration>,
        epoch: Arc<Epoch>,
    ) -> Self {
        Self {
            epoch,
            name,
            ttl,
            fresh: table(capacity),
            last_known: serve_stale_for.map(|extra| (extra, table(capacity))),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached answer if fresh at `now`, and when it goes stale,
    /// without waiting.
    #[inline]
    pub(super) fn probe(&self, issuer: &str, id: &str, now: Instant) -> Option<(V, Instant)> {
        match self.fresh.get(&Scoped { issuer, id }) {
            Some(Entry {
                answer: Ok(v),
                until,
            }) if now < until => Some((v, until)),
            _ => None,
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
        let asked = Instant::now();
        let guard = loop {
            let entry = match self.fresh.get_value_or_guard_async(&key).await {
                // An entry, or the outcome of the load this call waited for.
                Ok(entry) => entry,
                Err(guard) => break guard,
            };
            if entry.answers(asked) {
                return self.settle(key, entry, generation);
            }
            // Stale, or a failure from before: replace it, unless another
            // caller is already doing so (then wait for that load).
            match self.fresh.entry(&key, Some(Duration::ZERO), |_, entry| {
                if entry.answers(asked) {
                    EntryAction::Retain(entry.clone())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            }) {
                EntryResult::Retained(entry) => return self.settle(key, entry, generation),
                EntryResult::Replaced(guard, _) | EntryResult::Vacant(guard) => break guard,
                EntryResult::Removed(..) | EntryResult::Timeout => {}
            }
        };
        let answer = if breaker.admit() {
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
            answer.unwrap_or(Err(StoreError::Timeout(timeout)))
        } else {
            metrics::store_call("revocation", op, Duration::ZERO, Some("backoff"));
            Err(StoreError::Backoff(breaker.window))
        };
        let now = Instant::now();
        let entry = Entry {
            until: if answer.is_ok() { now + self.ttl } else { now },
            answer,
        };
        let _ = guard.insert(entry.clone());
        if entry.answer.is_ok() && self.generation.load(Ordering::Acquire) != generation {
            // An invalidation came while the store was being read: this
            // answer may predate it. It serves the request that raced the
            // revocation, and is not kept for the next ones.
            self.fresh.remove(&key);
            self.epoch.bump();
            return entry.answer;
        }
        self.settle(key, entry, generation)
    }

    /// The invalidations so far: read before a store read whose answer is
    /// [`offer`](Self::offer)ed.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `value`, read from the store together with another concern's
    /// record (a token missing both costs one round trip), as this
    /// concern's own load would: not when any invalidation of this concern
    /// came since `generation` was read (before the store was: a
    /// revocation, a resubscription, a new marker), and not over a fresh
    /// answer or a load under way, which are as recent.
    pub(super) fn offer(&self, issuer: &str, id: &str, value: V, generation: u64) {
        let key = ScopedKey::new(issuer, id);
        let now = Instant::now();
        let guard = match self.fresh.entry(&key, Some(Duration::ZERO), |_, entry| {
            if entry.answers(now) {
                EntryAction::Retain(())
            } else {
                EntryAction::ReplaceWithGuard
            }
        }) {
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => guard,
            EntryResult::Retained(()) | EntryResult::Removed(..) | EntryResult::Timeout => return,
        };
        if self.generation.load(Ordering::Acquire) != generation {
            // Dropped, the guard leaves the key to a load waiting on it,
            // or vacant.
            return;
        }
        let entry = Entry {
            answer: Ok(value),
            until: now + self.ttl,
        };
        let _ = guard.insert(entry.clone());
        if self.generation.load(Ordering::Acquire) != generation {
            self.fresh.remove(&key);
            self.epoch.bump();
            return;
        }
        let _ = self.settle(key, entry, generation);
    }

    /// Remembers a successful answer as the last known one (kept `extra`
    /// past the end of its freshness, not past its reading), or answers a
    /// failure with the last known answer where there is one. An answer
    /// read before an invalidation (`generation` changed since the load
    /// began) is not kept: while the store is down, it would serve a
    /// revoked token.
    fn settle(&self, key: ScopedKey, entry: Entry<V>, generation: u64) -> Result<V, StoreError> {
        let Some((extra, last_known)) = &self.last_known else {
            return entry.answer;
        };
        match entry.answer {
            Ok(v) => {
                let kept = key.clone();
                last_known.insert(
                    key,
                    Entry {
                        answer: Ok(v.clone()),
                        until: entry.until + *extra,
                    },
                );
                // Checked after the insert: an invalidation from now on
                // removes the entry itself.
                if self.generation.load(Ordering::Acquire) != generation {
                    last_known.remove(&kept);
                }
                Ok(v)
            }
            Err(e) => match last_known.get(&key) {
                Some(Entry {
                    answer: Ok(v),
                    until,
                }) if Instant::now() < until => {
                    tracing::warn!(cache = self.name, error = %e, "revocation store down: serving the last known answer");
                    Ok(v)
                }
                _ => Err(e),
            },
        }
    }

    /// Drops every fresh answer.
    pub(super) fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.fresh.clear();
        self.epoch.bump();
    }

    pub(super) fn invalidate(&self, issuer: &str, id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let key = Scoped { issuer, id };
        self.fresh.remove(&key);
        if let Some((_, last_known)) = &self.last_known {
            last_known.remove(&key);
        }
        self.epoch.bump();
    }

    /// How long an answer stays fresh.
    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Entries held, fresh or not yet evicted (a failed load's included).
    pub(super) fn len(&self) -> u64 {
        u64::try_from(self.fresh.len()).unwrap_or(u64::MAX)
    }
}
