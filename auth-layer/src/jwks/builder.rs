//! [`KeySourceBuilder`]: where a [`KeySource`] fetches its keys from, and
//! how often.

use std::fmt;
use std::time::Duration;

use http::Uri;
use serde::Deserialize;

use crate::error::ConfigError;
use crate::jwks::fetch::Fetcher;
use crate::jwks::source::{KeySource, RefetchLimits};

/// Default interval between refreshes when the server sends no `max-age`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default shortest interval between refreshes, whatever `max-age` says.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Default longest interval between refreshes, whatever `max-age` says.
pub const DEFAULT_MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The shortest refresh interval a key source accepts.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(100);
/// Default window in which a kid that a fetch did not find causes no other fetch.
pub const DEFAULT_REFETCH_WINDOW: Duration = Duration::from_secs(30);
/// Default shortest time between two fetches for kids no fetch looked for.
pub const DEFAULT_REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Default bound on how long a request with an unknown kid waits for the
/// fetch it caused or joined.
pub const DEFAULT_UNKNOWN_KID_WAIT: Duration = Duration::from_secs(1);
/// Default bound on one fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a fetched document.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// Configures a [`KeySource`]; [`start`](Self::start) fetches the keys.
pub struct KeySourceBuilder {
    location: Location,
    refresh_interval: Duration,
    min_refresh: Duration,
    max_refresh: Duration,
    refetch_window: Duration,
    refetch_min_interval: Duration,
    unknown_kid_wait: Duration,
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
}

impl KeySourceBuilder {
    fn new(location: Location) -> Self {
        Self {
            location,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh: DEFAULT_MIN_REFRESH_INTERVAL,
            max_refresh: DEFAULT_MAX_REFRESH_INTERVAL,
            refetch_window: DEFAULT_REFETCH_WINDOW,
            refetch_min_interval: DEFAULT_REFETCH_MIN_INTERVAL,
            unknown_kid_wait: DEFAULT_UNKNOWN_KID_WAIT,
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

    /// A kid that a fetch looked for and did not find causes no other fetch
    /// within this window (default 30 s): a token repeating a made-up kid
    /// is answered 401 at once.
    #[must_use]
    pub fn refetch_window(mut self, window: Duration) -> Self {
        self.refetch_window = window;
        self
    }

    /// The shortest time between two fetches caused by kids that no fetch
    /// looked for yet (default 5 s; a shorter refetch window lowers it). A flood of
    /// made-up kids causes at most one fetch per interval, and cannot keep a
    /// key published meanwhile unknown for longer than that.
    #[must_use]
    pub fn refetch_min_interval(mut self, interval: Duration) -> Self {
        self.refetch_min_interval = interval;
        self
    }

    /// How long a request whose `kid` is unknown waits for the fetch it
    /// caused or joined before it is answered (default 1 s; zero answers at
    /// once). A key published a moment ago then verifies on its first use.
    #[must_use]
    pub fn unknown_kid_wait(mut self, wait: Duration) -> Self {
        self.unknown_kid_wait = wait;
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
            || self.refetch_min_interval.is_zero()
            || self.timeout.is_zero()
        {
            return Err(ConfigError::setting(
                "key source",
                "refresh bounds must be ordered, and the refetch window, refetch interval and timeout above zero",
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
        KeySource::spawn(
            jwks_uri,
            issuer,
            fetcher,
            RefetchLimits {
                window: self.refetch_window,
                min_interval: self.refetch_min_interval.min(self.refetch_window),
                wait: self.unknown_kid_wait,
            },
            (self.refresh_interval, self.min_refresh, self.max_refresh),
            self.start_degraded,
        )
        .await
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
            .field("refetch_min_interval", &self.refetch_min_interval)
            .field("unknown_kid_wait", &self.unknown_kid_wait)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
