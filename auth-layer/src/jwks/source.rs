//! [`KeySource`]: a key set kept fresh in the background, and the key for
//! a token (with a rate-limited refetch for an unknown `kid`).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use http::Uri;
use jsonwebtoken::Algorithm;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::{AuthError, ConfigError, ErrorKind};
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
    last_fetch: Mutex<Instant>,
    refetch: Arc<Notify>,
    refetch_window: Duration,
    refresh: (Duration, Duration, Duration),
    task: Mutex<Option<JoinHandle<()>>>,
}

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
        refetch_window: Duration,
        refresh: (Duration, Duration, Duration),
        start_degraded: bool,
    ) -> Result<Self, ConfigError> {
        let inner = Arc::new(Inner {
            jwks_uri,
            issuer,
            fetcher,
            current: RwLock::new(Arc::new(KeySet::default())),
            last_fetch: Mutex::new(Instant::now()),
            refetch: Arc::new(Notify::new()),
            refetch_window,
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

    /// The key for a token, or (for an unknown `kid`) a rate-limited refetch
    /// and `UnknownKey` now.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<Arc<Key>, AuthError> {
        let keys = self.current();
        match keys.select(alg, kid) {
            Ok(key) => Ok(Arc::clone(key)),
            Err(e) if e.kind() == ErrorKind::UnknownKey => {
                if kid.is_some() {
                    self.inner.request_refetch();
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

impl Inner {
    fn request_refetch(&self) {
        let mut last = self
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() >= self.refetch_window {
            *last = Instant::now();
            tracing::info!(jwks_uri = %self.jwks_uri, "unknown kid: fetching the key set again");
            self.refetch.notify_one();
        }
    }

    /// Fetches and installs the key set; returns the server's `max-age`.
    async fn refresh(&self) -> Result<Option<Duration>, FetchError> {
        *self
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        let result = self.fetcher.get(&self.jwks_uri).await.and_then(|fetched| {
            let keys = set::parse(&fetched.body)?;
            Ok((keys, fetched.max_age))
        });
        match result {
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
        }
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
