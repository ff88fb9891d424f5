//! [`SessionsBuilder`]: the session policy, checked once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::issuer::TokenIssuer;
use super::outcome::SessionEvent;
use super::sessions::{Hook, Inner, Sessions};
use super::store::SessionStore;
use crate::backend::DEFAULT_STORE_TIMEOUT;
use crate::error::ConfigError;
use crate::revocation::RevocationCache;

/// The default absolute session lifetime: 7 days.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The default idle timeout: 24 hours without a refresh.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest reuse grace window accepted.
pub const MAX_REUSE_GRACE: Duration = Duration::from_secs(60);

impl Sessions {
    /// Starts a configuration; the defaults are a 7-day absolute lifetime,
    /// a 24-hour idle timeout and no reuse grace window.
    pub fn builder(
        issuer: TokenIssuer,
        store: impl SessionStore,
        revocation: RevocationCache,
    ) -> SessionsBuilder {
        SessionsBuilder::new(issuer, Arc::new(store), revocation)
    }
}

/// Configures [`Sessions`]; created by [`Sessions::builder`].
pub struct SessionsBuilder {
    issuer: TokenIssuer,
    store: Arc<dyn SessionStore>,
    revocation: RevocationCache,
    lifetime: Duration,
    idle: Duration,
    grace: Duration,
    timeout: Duration,
    hook: Option<Hook>,
}

impl SessionsBuilder {
    fn new(issuer: TokenIssuer, store: Arc<dyn SessionStore>, revocation: RevocationCache) -> Self {
        Self {
            issuer,
            store,
            revocation,
            lifetime: DEFAULT_SESSION_LIFETIME,
            idle: DEFAULT_IDLE_TIMEOUT,
            grace: Duration::ZERO,
            timeout: DEFAULT_STORE_TIMEOUT,
            hook: None,
        }
    }

    /// The longest a session lives, refreshes or not (default 7 days).
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// A session not refreshed for this long ends (default 24 hours).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Answers a spent refresh token presented within `window` after its
    /// rotation with an access token (and no refresh token) instead of
    /// treating it as reuse, when it is the session's most recently spent
    /// token. Off by default; at most [`MAX_REUSE_GRACE`].
    ///
    /// This weakens reuse detection: within the window, a thief racing the
    /// legitimate client gets an access token for the session instead of
    /// revoking it. It exists for clients that cannot serialise their
    /// refreshes (several browser tabs); keep it to a few seconds.
    #[must_use]
    pub fn danger_reuse_grace(mut self, window: Duration) -> Self {
        self.grace = window;
        self
    }

    /// The longest one store call may take (default 2 s); a slower store
    /// answers `store_unavailable`.
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Calls `hook` with every [`SessionEvent`] (after it is logged), e.g.
    /// to alert on [`SessionEvent::ReuseDetected`]. Keep it quick: it runs
    /// inline.
    #[must_use]
    pub fn on_event(mut self, hook: impl Fn(&SessionEvent) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// A lifetime or idle timeout under one second, a grace window above
    /// [`MAX_REUSE_GRACE`], or a zero store timeout.
    pub fn build(self) -> Result<Sessions, ConfigError> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        if self.lifetime.as_secs() == 0 {
            return Err(ConfigError::setting(
                "absolute_lifetime",
                "must be at least 1 s",
            ));
        }
        if self.idle.as_secs() == 0 {
            return Err(ConfigError::setting("idle_timeout", "must be at least 1 s"));
        }
        if self.grace > MAX_REUSE_GRACE {
            return Err(ConfigError::setting(
                "danger_reuse_grace",
                format!(
                    "{} s is too long: a grace window is for racing duplicates, at most {} s",
                    self.grace.as_secs(),
                    MAX_REUSE_GRACE.as_secs()
                ),
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::setting("store_timeout", "must be above zero"));
        }
        // The tokens these sessions mint carry `ver`: make it count.
        self.revocation.honour_versions_of(self.issuer.iss())?;
        Ok(Sessions {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                store: self.store,
                revocation: self.revocation,
                lifetime: secs(self.lifetime),
                idle: secs(self.idle),
                grace: secs(self.grace),
                timeout: self.timeout,
                hook: self.hook,
            }),
        })
    }
}

impl fmt::Debug for SessionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsBuilder")
            .field("issuer", &self.issuer)
            .field("absolute_lifetime", &self.lifetime)
            .field("idle_timeout", &self.idle)
            .field("reuse_grace", &self.grace)
            .field("store_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
