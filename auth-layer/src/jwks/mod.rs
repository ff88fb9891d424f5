//! Keys from identity providers: a JWKS URL or OIDC discovery, refreshed in
//! the background (feature `jwks`).
//!
//! A [`KeySource`] fetches the key set when it starts, refreshes it on an
//! interval (the server's `Cache-Control: max-age`, kept within configured
//! bounds), and fetches it again when a token names a `kid` it does not
//! know — at most once per `refetch_window` (default 30 s), so a flood of
//! tokens with made-up kids costs one fetch; those requests get 401
//! `unknown_key` at once instead of waiting. When a fetch fails or returns
//! garbage, the last good key set stays in use (logged). Keys without a
//! usable form (`use: enc`, unsupported types, RSA under 2048 bits, HMAC
//! secrets under 32 bytes) are skipped with a logged reason; the rest of the
//! set is used. Only `https` URLs are fetched, except loopback hosts, unless
//! [`danger_allow_http`](KeySourceBuilder::danger_allow_http) is set.
//!
//! ```no_run
//! use auth_layer::JwtAuth;
//! use auth_layer::jwks::KeySource;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeySource::oidc("https://accounts.example.com").start().await?;
//! let auth = JwtAuth::builder()
//!     .issuer("https://accounts.example.com")
//!     .audience("orders-api")
//!     .key_source(keys)
//!     .build()?;
//! # let _ = auth; Ok(()) }
//! ```

mod fetch;
mod set;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use http::Uri;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use fetch::FetchError;
use fetch::Fetcher;

use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::keys::{Key, KeySet};
use crate::observe::metrics;
use jsonwebtoken::Algorithm;

/// Default interval between refreshes when the server sends no `max-age`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default shortest interval between refreshes, whatever `max-age` says.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Default longest interval between refreshes, whatever `max-age` says.
pub const DEFAULT_MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The shortest refresh interval a key source accepts.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(100);
/// Default window in which unknown kids cause at most one fetch.
pub const DEFAULT_REFETCH_WINDOW: Duration = Duration::from_secs(30);
/// Default bound on one fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a fetched document.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 512 * 1024;

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

/// Configures a [`KeySource`]; [`start`](Self::start) fetches the keys.
pub struct KeySourceBuilder {
    location: Location,
    refresh_interval: Duration,
    min_refresh: Duration,
    max_refresh: Duration,
    refetch_window: Duration,
    timeout: Duration,
    max_bytes: usize,
    allow_http: bool,
    start_degraded: bool,
}

enum Location {
    Jwks(String),
    Oidc(String),
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl KeySource {
    /// Keys from a JWKS URL (RFC 7517 section 5).
    pub fn jwks(url: impl Into<String>) -> KeySourceBuilder {
        KeySourceBuilder::new(Location::Jwks(url.into()))
    }

    /// Keys of an OpenID Connect issuer: reads
    /// `{issuer}/.well-known/openid-configuration`, checks that its `issuer`
    /// is exactly this one, and uses its `jwks_uri`.
    pub fn oidc(issuer: impl Into<String>) -> KeySourceBuilder {
        KeySourceBuilder::new(Location::Oidc(issuer.into()))
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

impl KeySourceBuilder {
    fn new(location: Location) -> Self {
        Self {
            location,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh: DEFAULT_MIN_REFRESH_INTERVAL,
            max_refresh: DEFAULT_MAX_REFRESH_INTERVAL,
            refetch_window: DEFAULT_REFETCH_WINDOW,
            timeout: DEFAULT_FETCH_TIMEOUT,
            max_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            allow_http: false,
            start_degraded: false,
        }
    }

    /// Refresh interval when the server sends no `Cache-Control: max-age`
    /// (default 5 min; at least 100 ms, or [`start`](Self::start) refuses it).
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Bounds on the interval a server's `max-age` may set (default 1 min to
    /// 24 h; the lower bound at least 100 ms).
    #[must_use]
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_refresh = min;
        self.max_refresh = max;
        self
    }

    /// Unknown kids cause at most one fetch per window (default 30 s).
    #[must_use]
    pub fn refetch_window(mut self, window: Duration) -> Self {
        self.refetch_window = window;
        self
    }

    /// Bound on one fetch, body included (default 5 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest document accepted (default 512 KiB).
    #[must_use]
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Also fetch plain `http` URLs on non-loopback hosts (keys could then
    /// be replaced by anyone on the path).
    #[must_use]
    pub fn danger_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Start even when the first fetch fails, with no keys (every token is
    /// rejected until a fetch succeeds); by default `start` fails.
    #[must_use]
    pub fn start_degraded(mut self) -> Self {
        self.start_degraded = true;
        self
    }

    /// Discovers (for OIDC) and fetches the keys, then keeps them fresh in
    /// the background. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// A URL that may not be fetched; an OIDC document that cannot be read
    /// or names another issuer; the first JWKS fetch failing (unless
    /// [`start_degraded`](Self::start_degraded)).
    pub async fn start(self) -> Result<KeySource, ConfigError> {
        if self.min_refresh > self.max_refresh
            || self.refetch_window.is_zero()
            || self.timeout.is_zero()
        {
            return Err(ConfigError::setting(
                "key source",
                "refresh bounds must be ordered, and the refetch window and timeout above zero",
            ));
        }
        if self.refresh_interval < MIN_REFRESH_INTERVAL || self.min_refresh < MIN_REFRESH_INTERVAL {
            // A zero interval (or a server's `max-age=0` under a zero bound)
            // would fetch in a loop.
            return Err(ConfigError::setting(
                "key source refresh_interval",
                "the refresh interval and the lower refresh bound must be at least 100 ms",
            ));
        }
        let fetcher = Fetcher::new(self.timeout, self.max_bytes, self.allow_http)?;
        let (jwks_uri, issuer) = match &self.location {
            Location::Jwks(url) => (fetcher.check_url(url)?, None),
            Location::Oidc(issuer) => {
                let base = fetcher.check_url(issuer)?;
                let discovery_url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let document = discover(&fetcher, &discovery_url, &base).await?;
                if document.issuer != *issuer {
                    return Err(ConfigError::setting(
                        "OIDC issuer",
                        format!(
                            "the discovery document at {discovery_url} names the issuer {:?}, not {issuer:?}: refusing its keys",
                            document.issuer
                        ),
                    ));
                }
                (fetcher.check_url(&document.jwks_uri)?, Some(issuer.clone()))
            }
        };
        let inner = Arc::new(Inner {
            jwks_uri,
            issuer,
            fetcher,
            current: RwLock::new(Arc::new(KeySet::default())),
            last_fetch: Mutex::new(Instant::now()),
            refetch: Arc::new(Notify::new()),
            refetch_window: self.refetch_window,
            refresh: (self.refresh_interval, self.min_refresh, self.max_refresh),
            task: Mutex::new(None),
        });
        let first_wait = match inner.refresh().await {
            Ok(max_age) => inner.next_refresh(max_age),
            Err(e) if self.start_degraded => {
                tracing::warn!(jwks_uri = %inner.jwks_uri, error = %e, "starting without keys; retrying");
                self.min_refresh.min(Duration::from_secs(5))
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
}

async fn discover(fetcher: &Fetcher, url: &str, _base: &Uri) -> Result<Discovery, ConfigError> {
    let uri = fetcher.check_url(url)?;
    let fetched = fetcher
        .get(&uri)
        .await
        .map_err(|e| ConfigError::setting("OIDC issuer", format!("cannot read {url}: {e}")))?;
    serde_json::from_slice(&fetched.body).map_err(|e| {
        ConfigError::setting(
            "OIDC issuer",
            format!("{url} is not an OpenID configuration: {e}"),
        )
    })
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

impl fmt::Debug for KeySourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = match &self.location {
            Location::Jwks(url) => format!("jwks {url}"),
            Location::Oidc(issuer) => format!("oidc {issuer}"),
        };
        f.debug_struct("KeySourceBuilder")
            .field("location", &location)
            .field("refresh_interval", &self.refresh_interval)
            .field("refetch_window", &self.refetch_window)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
