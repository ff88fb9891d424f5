//! [`SessionsBuilder`]: the session policy, checked once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::error::SessionErrorKind;
use super::issuer::TokenIssuer;
use super::outcome::SessionEvent;
use super::policy::{SessionLimits, SessionPolicy};
use super::sessions::{Hook, Inner, RefreshHook, Sessions};
use super::store::{SessionRecord, SessionStore};
use super::token::SuccessorKey;
use crate::backend::DEFAULT_STORE_TIMEOUT;
use crate::error::ConfigError;
use crate::revocation::RevocationCache;

/// The default absolute session lifetime: 7 days.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The default idle timeout: 24 hours without a refresh.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest reuse grace window accepted.
pub const MAX_REUSE_GRACE: Duration = Duration::from_secs(60);

/// The default retry window: 5 seconds.
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(5);
/// The longest retry window accepted.
pub const MAX_RETRY_WINDOW: Duration = Duration::from_secs(60);
/// The shortest secret [`SessionsBuilder::retry_secret`] accepts.
const MIN_RETRY_SECRET_BYTES: usize = 32;

impl Sessions {
    /// Starts a configuration; the defaults are a 7-day absolute lifetime,
    /// a 24-hour idle timeout, a 5-second retry window (when the signing key
    /// signs deterministically, see [`retry_window`](SessionsBuilder::retry_window)),
    /// no reuse grace window and no subjects in logs.
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
    policy: SessionPolicy,
    grace: Duration,
    timeout: Duration,
    hook: Option<Hook>,
    retry: Option<Duration>,
    retry_secret: Option<SuccessorKey>,
    refresh_hook: Option<RefreshHook>,
    log_subjects: bool,
}

impl SessionsBuilder {
    fn new(issuer: TokenIssuer, store: Arc<dyn SessionStore>, revocation: RevocationCache) -> Self {
        Self {
            issuer,
            store,
            revocation,
            policy: SessionPolicy::new(SessionLimits::new(
                DEFAULT_SESSION_LIFETIME,
                DEFAULT_IDLE_TIMEOUT,
            )),
            grace: Duration::ZERO,
            timeout: DEFAULT_STORE_TIMEOUT,
            hook: None,
            retry: None,
            retry_secret: None,
            refresh_hook: None,
            log_subjects: false,
        }
    }

    /// The longest a session lives, refreshes or not (default 7 days): the
    /// [policy](Self::policy)'s default.
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        let default = self.policy.default_mut();
        *default =
            SessionLimits::new(lifetime, default.idle()).with_remembered(default.remembered());
        self
    }

    /// A session not refreshed for this long ends (default 24 hours): the
    /// [policy](Self::policy)'s default.
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        let default = self.policy.default_mut();
        *default =
            SessionLimits::new(default.absolute(), idle).with_remembered(default.remembered());
        self
    }

    /// A login that asks to be remembered
    /// ([`LoginOptions::remember_me`](super::LoginOptions::remember_me))
    /// lives at most `lifetime` instead of the absolute lifetime (off by
    /// default: such a login gets the usual lifetime). The
    /// [policy](Self::policy)'s default.
    #[must_use]
    pub fn remember_me(mut self, lifetime: Duration) -> Self {
        let default = self.policy.default_mut();
        *default = default.remember_me(lifetime);
        self
    }

    /// The session limits by use case: absolute lifetime, idle timeout and
    /// "remember me", by role, client and scope (see [`SessionPolicy`]).
    /// Replaces what [`absolute_lifetime`](Self::absolute_lifetime),
    /// [`idle_timeout`](Self::idle_timeout) and
    /// [`remember_me`](Self::remember_me) set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{LoginOptions, SessionLimits, SessionPolicy, Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    /// use serde_json::json;
    ///
    /// const MINUTE: Duration = Duration::from_secs(60);
    /// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
    /// let store = MemoryStore::new();
    /// let revocation = RevocationCache::builder(store.clone()).build()?;
    /// let sessions = Sessions::builder(issuer, store, revocation)
    ///     .policy(
    ///         // Consumer web: a day, or 30 days when remembered.
    ///         SessionPolicy::new(SessionLimits::new(DAY, DAY).remember_me(30 * DAY))
    ///             // Admin consoles: a working day, idle after 15 minutes, never remembered.
    ///             .role("admin", SessionLimits::new(DAY / 3, 15 * MINUTE)),
    ///     )
    ///     .build()?;
    /// let remembered = LoginOptions::new().remember_me(true);
    /// let user = sessions.login_with("alice", json!({}), remembered).await?;
    /// let admin = sessions.login_with("root", json!({ "roles": ["admin"] }), remembered).await?;
    /// let lasts = |pair: &auth_layer::session::TokenPair| pair.session().expires_at - pair.session().created_at;
    /// assert_eq!((lasts(&user), user.session().idle_timeout), (30 * 86_400, Some(86_400)));
    /// assert_eq!((lasts(&admin), admin.session().idle_timeout), (8 * 3_600, Some(15 * 60)));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn policy(mut self, policy: SessionPolicy) -> Self {
        self.policy = policy;
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
    ///
    /// The [retry window](Self::retry_window) comes first: within it the
    /// token's own rotation is answered again, with its refresh token. The
    /// grace window only matters when it is the longer of the two, or when
    /// the retry window is off.
    #[must_use]
    pub fn danger_reuse_grace(mut self, window: Duration) -> Self {
        self.grace = window;
        self
    }

    /// Answers a refresh token presented again within `window` after its
    /// rotation with that rotation's result again (the same new refresh
    /// token, a fresh access token) instead of treating it as reuse, as
    /// long as that new refresh token is unused. Default 5 s; at most
    /// [`MAX_RETRY_WINDOW`]; zero turns it off.
    ///
    /// This is for a rotation that committed but whose answer was lost (a
    /// store timeout, a client that disconnected): the client's retry must
    /// not revoke its own session. Presented after the window, or once its
    /// successor was used, the token is reuse as always. Nothing is stored
    /// in clear: the successor is derived from the presented token with
    /// HMAC-SHA256 under a per-deployment key, so every instance derives
    /// the same one. That key is [`retry_secret`](Self::retry_secret), or
    /// else derived from the issuer's signing key when it signs
    /// deterministically (HMAC, RSA PKCS#1 v1.5, EdDSA). With an ECDSA or
    /// RSA-PSS key and no secret, the default window is off and setting
    /// one is a configuration error.
    ///
    /// Unlike [`danger_reuse_grace`](Self::danger_reuse_grace), which
    /// answers any racer with an access token only, the retry window gives
    /// whoever presents the token the same successor: a thief racing the
    /// client within the window shares the session, each retry is reported
    /// ([`SessionEvent::RetriedRefresh`](super::SessionEvent::RetriedRefresh),
    /// metric outcome `retried`), and once one of the two has used the
    /// shared successor, the other's next refresh with the old token is
    /// reuse. The window must be longer than the store timeout: a client
    /// learns of a lost answer only after it.
    ///
    /// Every instance must derive the same successors (the same
    /// `retry_secret`, or the same signing key, and a window on each): a
    /// retry that reaches an instance deriving another one is refused as
    /// `refresh_invalid` with a warning in the log, and the session lives
    /// on (the client logs in again at worst).
    ///
    /// ```
    /// use std::time::Duration;
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
    /// let store = MemoryStore::new();
    /// let revocation = RevocationCache::builder(store.clone()).build()?;
    /// let sessions = Sessions::builder(issuer, store, revocation)
    ///     .retry_window(Duration::from_secs(10))
    ///     .build()?;
    /// let first = sessions.login("alice", serde_json::json!({})).await?;
    /// let lost = sessions.refresh(first.refresh_token().as_str()).await?;
    /// // The answer never reached the client, which sends the same token again.
    /// let retried = sessions.refresh(first.refresh_token().as_str()).await?;
    /// assert_eq!(retried.refresh_token(), lost.refresh_token());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn retry_window(mut self, window: Duration) -> Self {
        self.retry = Some(window);
        self
    }

    /// The key successors of refresh tokens are derived with (see
    /// [`retry_window`](Self::retry_window)): at least 32 random bytes, the
    /// same for every instance of the deployment, kept as secret as the
    /// signing key: with it and any refresh token of a session, every later
    /// token of that session can be derived. Needed with an ECDSA or
    /// RSA-PSS signing key; otherwise a key is derived from the signing key
    /// (with an HMAC key, every service holding that secret can derive it,
    /// as it can mint access tokens: give the sessions a `retry_secret` of
    /// their own when verifiers share the HMAC secret).
    #[must_use]
    pub fn retry_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref();
        self.retry_secret = (secret.len() >= MIN_RETRY_SECRET_BYTES)
            .then(|| SuccessorKey::derive(secret))
            .or(Some(SuccessorKey::too_short()));
        self
    }

    /// Calls `hook` at every refresh, before the token is rotated, with the
    /// session as stored, so that access tokens follow the user: a role
    /// removed from the user is gone from the next access token.
    ///
    /// The hook runs once the session is found, before the store tells
    /// whether the presented token is current: it may run for a spent or
    /// made-up token of a real session, so it must be cheap and free of
    /// side effects, and its refusal is what such a caller is told. It is
    /// bounded by the store timeout (then `store_unavailable`, 503).
    ///
    /// `Ok(Some(claims))` replaces the session's claims (a JSON object, or
    /// `null` for none): they go into the new access token and are stored
    /// with the rotation, so the next refresh starts from them.
    /// `Ok(None)` keeps the stored claims. `Err(kind)` refuses the refresh
    /// with that kind and changes nothing (the token stays usable):
    /// [`SessionErrorKind::RefreshDenied`] when the user may no longer have
    /// a session (end it with [`logout`](Sessions::logout) too, to cut off
    /// its access tokens), [`SessionErrorKind::StoreUnavailable`] when the
    /// directory could not answer (503, the client may try again).
    ///
    /// ```
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
    /// let store = MemoryStore::new();
    /// let revocation = RevocationCache::builder(store.clone()).build()?;
    /// let sessions = Sessions::builder(issuer, store, revocation)
    ///     // Roles come from the directory at every refresh, not only at login.
    ///     .on_refresh(|session| async move {
    ///         let roles = if session.subject == "alice" { vec!["reader"] } else { vec![] };
    ///         Ok(Some(json!({ "roles": roles })))
    ///     })
    ///     .build()?;
    /// let first = sessions.login("alice", json!({ "roles": ["admin", "reader"] })).await?;
    /// let next = sessions.refresh(first.refresh_token().as_str()).await?;
    /// assert_eq!(next.session().claims["roles"], json!(["reader"]));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn on_refresh<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(SessionRecord) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Value>, SessionErrorKind>> + Send + 'static,
    {
        self.refresh_hook = Some(Arc::new(move |session| Box::pin(hook(session))));
        self
    }

    /// Adds subjects (`sub`) to the `tracing` events of sessions. Off by
    /// default, as for [`JwtAuthBuilder::log_subjects`](crate::JwtAuthBuilder::log_subjects):
    /// a subject is personal data in many deployments. Session ids are
    /// logged either way; tokens never are. The
    /// [`on_event`](Self::on_event) hook always gets the subject.
    #[must_use]
    pub fn log_subjects(mut self, on: bool) -> Self {
        self.log_subjects = on;
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
    /// A lifetime or idle timeout under one second, a "remember me"
    /// lifetime shorter than the lifetime it extends, a grace window above
    /// [`MAX_REUSE_GRACE`], a retry window above [`MAX_RETRY_WINDOW`] or
    /// without a key to derive successors with, a retry secret under 32
    /// bytes, or a zero store timeout.
    pub fn build(self) -> Result<Sessions, ConfigError> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        for (name, limits, claims) in self.policy.all() {
            let access = self.issuer.lifetimes().lifetime_for(&claims);
            if limits.idle() <= access {
                tracing::warn!(
                    limits = %name,
                    idle_timeout_secs = limits.idle().as_secs(),
                    access_lifetime_secs = access.as_secs(),
                    "a session idle timeout is not longer than its access tokens' lifetime: a client that refreshes when its token expires finds its session idle"
                );
            }
            if limits.absolute().as_secs() == 0 {
                return Err(ConfigError::setting(
                    "absolute_lifetime",
                    format!("must be at least 1 s ({name})"),
                ));
            }
            if limits.idle().as_secs() == 0 {
                return Err(ConfigError::setting(
                    "idle_timeout",
                    format!("must be at least 1 s ({name})"),
                ));
            }
            if limits.remembered().is_some_and(|r| r < limits.absolute()) {
                return Err(ConfigError::setting(
                    "remember_me",
                    format!("must be at least the absolute lifetime it extends ({name})"),
                ));
            }
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
        if self.retry.is_some_and(|r| r > MAX_RETRY_WINDOW) {
            return Err(ConfigError::setting(
                "retry_window",
                format!(
                    "must be at most {} s: it is for retries of a lost answer",
                    MAX_RETRY_WINDOW.as_secs()
                ),
            ));
        }
        let successor = match self.retry_secret {
            Some(key) if key.is_too_short() => {
                return Err(ConfigError::setting(
                    "retry_secret",
                    format!("must be at least {MIN_RETRY_SECRET_BYTES} random bytes"),
                ));
            }
            Some(key) => Some(key),
            None => derived_key(&self.issuer),
        };
        let retry = self.retry.unwrap_or(DEFAULT_RETRY_WINDOW);
        if !retry.is_zero() && retry <= self.timeout {
            // A lost answer is known to the client only after the store's
            // timeout: its retry must still fall in the window.
            return Err(ConfigError::setting(
                "retry_window",
                format!(
                    "must be longer than the store timeout ({} ms), or zero",
                    self.timeout.as_millis()
                ),
            ));
        }
        let successor = match successor {
            Some(key) if !retry.is_zero() => Some(key),
            None if self.retry.is_some_and(|r| !r.is_zero()) => {
                return Err(ConfigError::setting(
                    "retry_window",
                    "the signing key signs randomly (ECDSA, RSA-PSS), so instances cannot derive \
                     the same successor from it: set retry_secret to a secret every instance shares, \
                     or retry_window to zero",
                ));
            }
            _ => None,
        };
        // The tokens these sessions mint carry `ver`: make it count.
        self.revocation.honour_versions_of(self.issuer.iss())?;
        Ok(Sessions {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                store: self.store,
                revocation: self.revocation,
                idle: secs(self.policy.default_limits().idle()),
                policy: self.policy,
                grace: secs(self.grace),
                retry: if successor.is_some() { secs(retry) } else { 0 },
                successor,
                timeout: self.timeout,
                hook: self.hook,
                refresh_hook: self.refresh_hook,
                log_subjects: self.log_subjects,
            }),
        })
    }
}

impl fmt::Debug for SessionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsBuilder")
            .field("issuer", &self.issuer)
            .field("policy", &self.policy)
            .field("reuse_grace", &self.grace)
            .field("retry_window", &self.retry)
            .field("store_timeout", &self.timeout)
            .field("log_subjects", &self.log_subjects)
            .finish_non_exhaustive()
    }
}

/// A successor key derived from the signing key, when it signs
/// deterministically (the same signature on every instance).
fn derived_key(issuer: &TokenIssuer) -> Option<SuccessorKey> {
    let key = issuer.key();
    let deterministic = matches!(
        key.algorithm(),
        Algorithm::HS256
            | Algorithm::HS384
            | Algorithm::HS512
            | Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::EdDSA
    );
    if !deterministic {
        return None;
    }
    jsonwebtoken::crypto::sign(
        b"auth-layer refresh-token successor key",
        key.encoding(),
        key.algorithm(),
    )
    .ok()
    .map(|signature| SuccessorKey::derive(signature.as_bytes()))
}
