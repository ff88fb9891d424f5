//! [`LifetimePolicy`]: how long an access token lives, by role, client and scope.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::ConfigError;

/// The default access-token lifetime: 15 minutes.
pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// How long an access token lives: a default, with overrides for tokens
/// that carry a role, a client or a scope.
///
/// The overrides are matched against the claims the token will carry:
/// roles in `roles` (an array, or one string), the client in `client_id`
/// (RFC 9068), scopes in `scope` (space-separated) and `scp` (an array or a
/// string) — the claims the layer reads. When several overrides match, the
/// **shortest** wins (an admin using the mobile client gets the admin
/// lifetime if that is shorter); when none matches, the default applies.
///
/// ```
/// use std::time::Duration;
/// use auth_layer::session::LifetimePolicy;
/// use serde_json::json;
///
/// let policy = LifetimePolicy::default()
///     .role("admin", Duration::from_secs(5 * 60))
///     .client("batch-exporter", Duration::from_secs(60 * 60))
///     .scope("payments:write", Duration::from_secs(2 * 60));
/// let claims = |v: serde_json::Value| v.as_object().cloned().unwrap();
///
/// assert_eq!(policy.lifetime_for(&claims(json!({}))), Duration::from_secs(15 * 60));
/// assert_eq!(policy.lifetime_for(&claims(json!({"roles": ["admin"]}))), Duration::from_secs(5 * 60));
/// assert_eq!(policy.lifetime_for(&claims(json!({"client_id": "batch-exporter"}))), Duration::from_secs(3600));
/// assert_eq!(
///     policy.lifetime_for(&claims(json!({"roles": "admin", "scope": "orders:read payments:write"}))),
///     Duration::from_secs(2 * 60),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifetimePolicy {
    default: Duration,
    overrides: Vec<(Match, Duration)>,
}

/// What an override applies to: a role, a client or a scope in the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Match {
    Role(String),
    Client(String),
    Scope(String),
}

impl Default for LifetimePolicy {
    fn default() -> Self {
        Self::new(DEFAULT_ACCESS_LIFETIME)
    }
}

impl LifetimePolicy {
    /// A policy giving every token `default`, until overrides are added.
    pub fn new(default: Duration) -> Self {
        Self {
            default,
            overrides: Vec::new(),
        }
    }

    /// Tokens whose `roles` include `role` live `lifetime`.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>, lifetime: Duration) -> Self {
        self.overrides.push((Match::Role(role.into()), lifetime));
        self
    }

    /// Tokens whose `client_id` is `client` live `lifetime`.
    #[must_use]
    pub fn client(mut self, client: impl Into<String>, lifetime: Duration) -> Self {
        self.overrides
            .push((Match::Client(client.into()), lifetime));
        self
    }

    /// Tokens whose `scope` or `scp` include `scope` live `lifetime`.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>, lifetime: Duration) -> Self {
        self.overrides.push((Match::Scope(scope.into()), lifetime));
        self
    }

    /// The lifetime when no override matches.
    pub fn default_lifetime(&self) -> Duration {
        self.default
    }

    /// The longest lifetime any token can get: the default or an override.
    ///
    /// ```
    /// use std::time::Duration;
    /// use auth_layer::session::LifetimePolicy;
    ///
    /// let policy = LifetimePolicy::default().role("batch", Duration::from_secs(3600));
    /// assert_eq!(policy.longest(), Duration::from_secs(3600));
    /// assert_eq!(LifetimePolicy::default().longest(), Duration::from_secs(900));
    /// ```
    pub fn longest(&self) -> Duration {
        self.overrides
            .iter()
            .map(|(_, lifetime)| *lifetime)
            .fold(self.default, Duration::max)
    }

    /// The lifetime of a token carrying `claims`.
    pub fn lifetime_for(&self, claims: &Map<String, Value>) -> Duration {
        self.overrides
            .iter()
            .filter(|(rule, _)| rule.matches(claims))
            .map(|(_, lifetime)| *lifetime)
            .min()
            .unwrap_or(self.default)
    }

    /// Every lifetime must be at least one second.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let too_short = std::iter::once(self.default)
            .chain(self.overrides.iter().map(|(_, d)| *d))
            .any(|d| d.as_secs() == 0);
        if too_short {
            return Err(ConfigError::setting(
                "access token lifetime",
                "every lifetime must be at least 1 s (tokens carry whole seconds)",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Role(role) => write!(f, "role {role:?}"),
            Self::Client(client) => write!(f, "client {client:?}"),
            Self::Scope(scope) => write!(f, "scope {scope:?}"),
        }
    }
}

impl Match {
    /// The claims of a token this override applies to, and to nothing else.
    pub(super) fn example(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        match self {
            Self::Role(role) => claims.insert("roles".into(), vec![role.clone()].into()),
            Self::Client(client) => claims.insert("client_id".into(), client.clone().into()),
            Self::Scope(scope) => claims.insert("scope".into(), scope.clone().into()),
        };
        claims
    }

    pub(super) fn matches(&self, claims: &Map<String, Value>) -> bool {
        match self {
            Self::Role(role) => items(claims.get("roles"), false).any(|r| r == role),
            Self::Client(client) => {
                claims.get("client_id").and_then(Value::as_str) == Some(client.as_str())
            }
            Self::Scope(scope) => items(claims.get("scope"), true)
                .chain(items(claims.get("scp"), true))
                .any(|s| s == scope),
        }
    }
}

/// The strings of a list claim: an array of strings, or one string (split
/// on spaces when `spaced`).
fn items(claim: Option<&Value>, spaced: bool) -> Box<dyn Iterator<Item = &str> + '_> {
    match claim {
        Some(Value::String(s)) if spaced => Box::new(s.split(' ').filter(|s| !s.is_empty())),
        Some(Value::String(s)) => Box::new(std::iter::once(s.as_str())),
        Some(Value::Array(values)) => Box::new(values.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn overrides_match_every_shape_of_the_claims() {
        let short = Duration::from_secs(60);
        let cases = [
            (
                "role in an array",
                LifetimePolicy::default().role("admin", short),
                json!({"roles": ["x", "admin"]}),
                short,
            ),
            (
                "role as a string",
                LifetimePolicy::default().role("admin", short),
                json!({"roles": "admin"}),
                short,
            ),
            (
                "role not a prefix match",
                LifetimePolicy::default().role("admin", short),
                json!({"roles": "administrator"}),
                DEFAULT_ACCESS_LIFETIME,
            ),
            (
                "scope spaced",
                LifetimePolicy::default().scope("b", short),
                json!({"scope": "a b"}),
                short,
            ),
            (
                "scp array",
                LifetimePolicy::default().scope("b", short),
                json!({"scp": ["a", "b"]}),
                short,
            ),
            (
                "client",
                LifetimePolicy::default().client("cli", short),
                json!({"client_id": "cli"}),
                short,
            ),
            (
                "client of another type",
                LifetimePolicy::default().client("1", short),
                json!({"client_id": 1}),
                DEFAULT_ACCESS_LIFETIME,
            ),
            (
                "no claims",
                LifetimePolicy::default().role("admin", short),
                json!({}),
                DEFAULT_ACCESS_LIFETIME,
            ),
        ];
        for (name, policy, c, expected) in cases {
            assert_eq!(policy.lifetime_for(&claims(c)), expected, "{name}");
        }
    }

    #[test]
    fn zero_lifetimes_are_refused() {
        assert!(
            LifetimePolicy::new(Duration::from_millis(500))
                .check()
                .is_err()
        );
        assert!(
            LifetimePolicy::default()
                .role("a", Duration::ZERO)
                .check()
                .is_err()
        );
        assert!(LifetimePolicy::default().check().is_ok());
    }
}
