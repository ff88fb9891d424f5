//! [`SessionPolicy`]: how long a whole session lives and may sit idle, by
//! role, client and scope, and how long a "remember me" login lasts.

use std::time::Duration;

use serde_json::{Map, Value};

use super::lifetime::Match;

/// The limits of one kind of session: the absolute lifetime (no refresh
/// from then on, whatever happens), the idle timeout (a session not
/// refreshed for this long ends), and, when the use case allows it, the
/// absolute lifetime of a login that asked to be remembered.
///
/// ```
/// use std::time::Duration;
/// use auth_layer::session::SessionLimits;
///
/// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// // Consumer web: a day, idle after 12 hours; "remember me" for 30 days.
/// let web = SessionLimits::new(DAY, DAY / 2).remember_me(30 * DAY);
/// assert_eq!(web.absolute(), DAY);
/// assert_eq!(web.remembered(), Some(30 * DAY));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    absolute: Duration,
    idle: Duration,
    remember_me: Option<Duration>,
}

impl SessionLimits {
    /// Sessions that live at most `absolute`, and end after `idle` without
    /// a refresh; "remember me" is not offered.
    pub const fn new(absolute: Duration, idle: Duration) -> Self {
        Self {
            absolute,
            idle,
            remember_me: None,
        }
    }

    /// A login that asks to be remembered lives at most `absolute` instead
    /// (the cap: a login cannot ask for more). Its idle timeout stays.
    #[must_use]
    pub const fn remember_me(mut self, absolute: Duration) -> Self {
        self.remember_me = Some(absolute);
        self
    }

    pub(super) const fn with_remembered(mut self, remember_me: Option<Duration>) -> Self {
        self.remember_me = remember_me;
        self
    }

    /// The absolute lifetime.
    pub const fn absolute(&self) -> Duration {
        self.absolute
    }

    /// The idle timeout.
    pub const fn idle(&self) -> Duration {
        self.idle
    }

    /// The absolute lifetime of a remembered login, if offered.
    pub const fn remembered(&self) -> Option<Duration> {
        self.remember_me
    }

    /// The absolute lifetime of a login that did (`true`) or did not ask to
    /// be remembered.
    pub fn absolute_for(&self, remember_me: bool) -> Duration {
        match self.remember_me {
            Some(remembered) if remember_me => remembered,
            _ => self.absolute,
        }
    }
}

/// How long sessions live, by use case: default [`SessionLimits`], with
/// overrides for sessions whose claims carry a role, a client or a scope,
/// matched as [`LifetimePolicy`](super::LifetimePolicy) matches access
/// tokens (`roles`, `client_id`, `scope`/`scp`). When several overrides
/// match, each limit is the **shortest** of theirs, and "remember me" is
/// offered only if every one of them offers it (an administrator signing in
/// from the mobile app gets the administrator's limits).
///
/// The limits are fixed at login, from the claims given then: the absolute
/// end is the session's `expires_at`, and the idle timeout is stored with
/// the session, so a change of policy applies to new logins.
///
/// ```
/// use std::time::Duration;
/// use auth_layer::session::{SessionLimits, SessionPolicy};
/// use serde_json::json;
///
/// const HOUR: Duration = Duration::from_secs(60 * 60);
/// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// let policy = SessionPolicy::new(SessionLimits::new(7 * DAY, DAY).remember_me(30 * DAY))
///     .role("admin", SessionLimits::new(DAY, HOUR / 4))
///     .client("mobile-app", SessionLimits::new(90 * DAY, 30 * DAY));
/// let claims = |v: serde_json::Value| v.as_object().cloned().unwrap();
///
/// let web = policy.limits_for(&claims(json!({})));
/// assert_eq!((web.absolute_for(true), web.idle()), (30 * DAY, DAY));
/// let admin = policy.limits_for(&claims(json!({ "roles": ["admin"], "client_id": "mobile-app" })));
/// assert_eq!((admin.absolute_for(true), admin.idle()), (DAY, HOUR / 4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    default: SessionLimits,
    overrides: Vec<(Match, SessionLimits)>,
}

impl SessionPolicy {
    /// A policy giving every session `default`, until overrides are added.
    pub fn new(default: SessionLimits) -> Self {
        Self {
            default,
            overrides: Vec::new(),
        }
    }

    /// Sessions whose claims' `roles` include `role` get `limits`.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>, limits: SessionLimits) -> Self {
        self.overrides.push((Match::Role(role.into()), limits));
        self
    }

    /// Sessions whose claims' `client_id` is `client` get `limits`.
    #[must_use]
    pub fn client(mut self, client: impl Into<String>, limits: SessionLimits) -> Self {
        self.overrides.push((Match::Client(client.into()), limits));
        self
    }

    /// Sessions whose claims' `scope` or `scp` include `scope` get `limits`.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>, limits: SessionLimits) -> Self {
        self.overrides.push((Match::Scope(scope.into()), limits));
        self
    }

    /// The limits when no override matches.
    pub fn default_limits(&self) -> SessionLimits {
        self.default
    }

    pub(super) fn default_mut(&mut self) -> &mut SessionLimits {
        &mut self.default
    }

    /// The limits of a session whose access tokens carry `claims`.
    pub fn limits_for(&self, claims: &Map<String, Value>) -> SessionLimits {
        self.overrides
            .iter()
            .filter(|(rule, _)| rule.matches(claims))
            .map(|(_, limits)| *limits)
            .reduce(|a, b| SessionLimits {
                absolute: a.absolute.min(b.absolute),
                idle: a.idle.min(b.idle),
                remember_me: a.remember_me.zip(b.remember_me).map(|(a, b)| a.min(b)),
            })
            .unwrap_or(self.default)
    }

    /// Every set of limits, the default's first, named for errors, with
    /// the claims of a session it applies to.
    pub(super) fn all(
        &self,
    ) -> impl Iterator<Item = (String, SessionLimits, Map<String, Value>)> + '_ {
        std::iter::once(("the default".to_owned(), self.default, Map::new())).chain(
            self.overrides
                .iter()
                .map(|(rule, limits)| (rule.to_string(), *limits, rule.example())),
        )
    }
}
