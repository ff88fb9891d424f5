//! [`KeySource`]: a key set kept fresh in the background, and the key for
//! a token (with a rate-limited refetch for an unknown `kid`, which the
//! request may wait for).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use http::Uri;
use jsonwebtoken::Algorithm;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::error::{AuthError, ConfigError};
use crate::jwks::fetch::{FetchError, Fetcher};
use crate::jwks::set;
use crate::keys::{Key, KeySet};
use crate::observe::metrics;

/// A key set fetched from a JWKS URL (directly, or found by OIDC discovery)
/// and kept fresh in the background. Cheap to clone; clones share the keys.
#[derive(Clone)]
pub struct KeySource {
    inner: Arc<Inner>,
}

struct Inner {
    jwks_uri: Uri,
    issuer: Option<String>,
    fetcher: Fetcher,
    current: RwLock<Arc<KeySet>>,
    unknown: Mutex<Unknown>,
    refetch: Arc<Notify>,
    limits: RefetchLimits,
    /// Counts the fetches that completed (successfully or not), so that a
    /// request can wait for the one its unknown `kid` asked for.
    fetched: watch::Sender<u64>,
    refresh: (Duration, Duration, Duration),
    task: Mutex<Option<JoinHandle<()>>>,
}

/// How unknown kids may cause fetches, and how long a request waits for one.
#[derive(Clone, Copy, Debug)]
pub(super) struct RefetchLimits {
    /// A kid the last fetch looked for and did not find causes no further
    /// fetch within this window.
    pub(super) window: Duration,
    /// The shortest time between two fetches for kids no fetch looked for.
    pub(super) min_interval: Duration,
    /// How long a request with an unknown kid waits for the fetch it caused
    /// or joined (zero: answered at once).
    pub(super) wait: Duration,
}

/// The kids a key set did not have, and the fetches they wait for.
struct Unknown {
    /// When the last fetch started.
    last_fetch: Instant,
    /// When a fetch was asked for that has not started yet; a request the
    /// background task never took up (it is gone) goes stale.
    requested: Option<Instant>,
    /// How many fetches are running (scheduled, asked for, or by hand).
    running: u32,
    /// How many fetches have started: a fetch's generation.
    started: u64,
    /// The kids waiting for the next fetch to start (bounded).
    asked: HashSet<Box<str>>,
    /// The kids the running fetch answers (bounded).
    looking_for: HashSet<Box<str>>,
    /// The kids the last fetch looked for and did not find (bounded).
    absent: HashSet<Box<str>>,
}

/// Adds `kid` to `kids` unless it is there or the set is full.
fn remember(kids: &mut HashSet<Box<str>>, kid: &str) {
    if kids.len() < REMEMBERED_KIDS && !kids.contains(kid) {
        kids.insert(kid.into());
    }
}

/// The end of a fetch: the kids it looked for and did not find wait out the
/// window, and those waiting for it are woken.
struct Finish<'a> {
    inner: &'a Inner,
    generation: u64,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let inner = self.inner;
        let current = inner.current.read().unwrap_or_else(PoisonError::into_inner);
        let mut unknown = inner.unknown.lock().unwrap_or_else(PoisonError::into_inner);
        unknown.running = unknown.running.saturating_sub(1);
        if unknown.running == 0 {
            // Still unknown after this fetch: the kids it looked for, and
            // those an earlier one did not find.
            let looked_for = std::mem::take(&mut unknown.looking_for);
            let earlier = std::mem::take(&mut unknown.absent);
            unknown.absent = looked_for
                .into_iter()
                .chain(earlier)
                .filter(|kid| !current.keys().iter().any(|k| k.kid() == Some(kid)))
                .take(REMEMBERED_KIDS)
                .collect();
        }
        // Under the lock, so that no kid subscribes between the two.
        let generation = self.generation;
        inner
            .fetched
            .send_modify(|done| *done = (*done).max(generation));
    }
}

/// The most kids remembered as asked for, or as absent; more are treated as
/// never looked for, which the interval between fetches still bounds.
const REMEMBERED_KIDS: usize = 256;

/// A fetch that an unknown `kid` caused or joined: the request may wait for
/// it (bounded) and verify again. Carried as the source of the
/// `UnknownKey` error.
#[derive(Debug)]
pub(crate) struct PendingFetch {
    fetched: watch::Receiver<u64>,
    /// The generation of the fetch that answers the kid.
    target: u64,
    wait: Duration,
}

impl PendingFetch {
    /// Waits until the fetch that answers the kid has finished, at most the
    /// configured wait.
    pub(crate) async fn wait(&self) {
        let mut fetched = self.fetched.clone();
        let target = self.target;
        let _ = tokio::time::timeout(self.wait, fetched.wait_for(|done| *done >= target)).await;
    }
}

impl fmt::Display for PendingFetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the key set is being fetched again for an unknown kid")
    }
}

impl std::error::Error for PendingFetch {}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

impl KeySource {
    /// Fetches the key set from `jwks_uri` and starts refreshing it in the
    /// background; `refresh` is the default interval and the bounds on a
    /// server's `max-age`.
    pub(super) async fn spawn(
        jwks_uri: Uri,
        issuer: Option<String>,
        fetcher: Fetcher,
        limits: RefetchLimits,
        refresh: (Duration, Duration, Duration),
        start_degraded: bool,
    ) -> Result<Self, ConfigError> {
        let inner = Arc::new(Inner {
            jwks_uri,
            issuer,
            fetcher,
            current: RwLock::new(Arc::new(KeySet::default())),
            unknown: Mutex::new(Unknown {
                last_fetch: Instant::now(),
                requested: None,
                running: 0,
                started: 0,
                asked: HashSet::new(),
                looking_for: HashSet::new(),
                absent: HashSet::new(),
            }),
            refetch: Arc::new(Notify::new()),
            limits,
            fetched: watch::Sender::new(0),
            refresh,
            task: Mutex::new(None),
        });
        let first_wait = match inner.refresh().await {
            Ok(max_age) => inner.next_refresh(max_age),
            Err(e) if start_degraded => {
                tracing::warn!(jwks_uri = %inner.jwks_uri, error = %e, "starting without keys; retrying");
                refresh.1.min(Duration::from_secs(5))
            }
            Err(e) => {
                return Err(ConfigError::setting(
                    "key source",
                    format!("cannot fetch the key set from {}: {e}", inner.jwks_uri),
                ));
            }
        };
        let task = tokio::spawn(run(
            Arc::downgrade(&inner),
            Arc::clone(&inner.refetch),
            first_wait,
        ));
        *inner.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        Ok(KeySource { inner })
    }

    /// The issuer, for a source found by OIDC discovery.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The JWKS URL keys are fetched from.
    pub fn jwks_uri(&self) -> String {
        self.inner.jwks_uri.to_string()
    }

    /// The `kid`s currently trusted (`None` for keys without one).
    pub fn key_ids(&self) -> Vec<Option<String>> {
        self.current()
            .keys()
            .iter()
            .map(|k| k.kid().map(str::to_owned))
            .collect()
    }

    /// Fetches the key set now (outside the schedule).
    ///
    /// # Errors
    /// The fetch failed; the last good key set stays in use.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        self.inner.refresh().await.map(drop)
    }

    pub(crate) fn current(&self) -> Arc<KeySet> {
        Arc::clone(
            &self
                .inner
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The key for a token from the key set as it is (no fetch).
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<Arc<Key>, AuthError> {
        self.current().select(alg, kid).map(Arc::clone)
    }

    /// `unknown` (a kid none of the issuer's keys has), with the
    /// [`PendingFetch`] to wait for as its source when the kid caused or
    /// joined a fetch of this source.
    pub(crate) fn refetch_for(&self, kid: &str, unknown: AuthError) -> AuthError {
        match self.inner.request_refetch(kid) {
            Some(pending) => unknown.with_source(pending),
            None => unknown,
        }
    }
}

impl Inner {
    /// An unknown `kid`: joins the running fetch, or the one asked for, or
    /// asks for one when the limits allow (a kid the last fetch did not find
    /// waits out the window; a kid no fetch looked for, the shorter
    /// interval). `None`: answered at once, no fetch.
    fn request_refetch(&self, kid: &str) -> Option<PendingFetch> {
        let mut unknown = self.unknown.lock().unwrap_or_else(PoisonError::into_inner);
        // A request the background task never took up is stale.
        let stale = self.fetcher.timeout() + Duration::from_secs(1);
        if unknown.requested.is_some_and(|at| at.elapsed() > stale) {
            unknown.requested = None;
        }
        let target = if unknown.running > 0 && unknown.requested.is_none() {
            // The running fetch answers it.
            remember(&mut unknown.looking_for, kid);
            unknown.started
        } else {
            if unknown.requested.is_none() {
                let since = unknown.last_fetch.elapsed();
                let allowed = if unknown.absent.contains(kid) {
                    since >= self.limits.window
                } else {
                    since >= self.limits.min_interval
                };
                if !allowed {
                    return None;
                }
                unknown.requested = Some(Instant::now());
                tracing::info!(jwks_uri = %self.jwks_uri, "unknown kid: fetching the key set again");
                self.refetch.notify_one();
            }
            // The next fetch to start answers it.
            remember(&mut unknown.asked, kid);
            unknown.started + 1
        };
        (!self.limits.wait.is_zero()).then(|| PendingFetch {
            fetched: self.fetched.subscribe(),
            target,
            wait: self.limits.wait,
        })
    }

    /// Fetches and installs the key set; returns the server's `max-age`.
    async fn refresh(&self) -> Result<Option<Duration>, FetchError> {
        let generation = {
            let mut unknown = self.unknown.lock().unwrap_or_else(PoisonError::into_inner);
            unknown.last_fetch = Instant::now();
            unknown.requested = None;
            unknown.running += 1;
            unknown.started += 1;
            let asked = std::mem::take(&mut unknown.asked);
            unknown.looking_for.extend(asked);
            unknown.started
        };
        // Finishes the fetch's bookkeeping even when its future is dropped.
        let finish = Finish {
            inner: self,
            generation,
        };
        let result = self.fetcher.get(&self.jwks_uri).await.and_then(|fetched| {
            let keys = set::parse(&fetched.body)?;
            Ok((keys, fetched.max_age))
        });
        let outcome = match result {
            Ok((keys, max_age)) => {
                metrics::jwks_fetch("ok");
                self.install(keys);
                Ok(max_age)
            }
            Err(e) => {
                metrics::jwks_fetch("error");
                tracing::warn!(jwks_uri = %self.jwks_uri, error = %e, "key set fetch failed: keeping the last good key set");
                Err(e)
            }
        };
        drop(finish);
        outcome
    }

    /// Replaces the key set, keeping the same `Arc` for keys that did not
    /// change (so verified tokens they signed stay cached).
    fn install(&self, keys: Vec<Key>) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let old = Arc::clone(&current);
        let shared: Vec<Arc<Key>> = keys
            .into_iter()
            .map(|key| {
                old.keys()
                    .iter()
                    .find(|o| o.fingerprint().is_some() && o.fingerprint() == key.fingerprint())
                    .map_or_else(|| Arc::new(key), Arc::clone)
            })
            .collect();
        let (added, kept) = (
            shared
                .iter()
                .filter(|k| !old.keys().iter().any(|o| Arc::ptr_eq(o, k)))
                .count(),
            shared
                .iter()
                .filter(|k| old.keys().iter().any(|o| Arc::ptr_eq(o, k)))
                .count(),
        );
        let removed = old.keys().len() - kept;
        if added > 0 || removed > 0 {
            tracing::info!(jwks_uri = %self.jwks_uri, added, removed, total = shared.len(), "key set updated");
        }
        *current = Arc::new(KeySet::from_shared(shared));
    }

    fn next_refresh(&self, max_age: Option<Duration>) -> Duration {
        let (default, min, max) = self.refresh;
        max_age.map_or(default, |age| age.clamp(min, max))
    }
}

/// Refreshes on schedule and on request while the source is alive.
async fn run(inner: Weak<Inner>, refetch: Arc<Notify>, mut wait: Duration) {
    loop {
        // Only the notifier is held while waiting, so a dropped source ends the task.
        let _ = tokio::time::timeout(wait, refetch.notified()).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let max_age = strong.refresh().await.ok().flatten();
        wait = strong.next_refresh(max_age);
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySource")
            .field("jwks_uri", &self.inner.jwks_uri)
            .field("issuer", &self.inner.issuer)
            .field("keys", &self.current().keys().len())
            .finish()
    }
}
