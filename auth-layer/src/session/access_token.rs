//! [`TokenRequest`] in, [`AccessToken`] out: what the issuer mints.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

/// What to put in one access token: the subject, optionally its token
/// version and session, and claims of your own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub(super) subject: String,
    pub(super) version: Option<u64>,
    pub(super) session: Option<String>,
    pub(super) claims: Map<String, Value>,
}

impl TokenRequest {
    /// A token for `subject` (`sub`).
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            ..Self::default()
        }
    }

    /// The subject's token version (`ver`), read from the revocation store.
    #[must_use]
    pub fn version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// The session id (`sid`).
    #[must_use]
    pub fn session(mut self, sid: impl Into<String>) -> Self {
        self.session = Some(sid.into());
        self
    }

    /// Adds one claim of your own.
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Adds claims of your own.
    #[must_use]
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims.extend(claims);
        self
    }
}

/// A minted access token. `Debug` prints `[redacted]` for the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub(super) token: String,
    pub(super) jti: String,
    pub(super) issued_at: i64,
    pub(super) expires_at: i64,
    pub(super) lifetime: Duration,
}

impl AccessToken {
    /// The compact JWS, for `Authorization: Bearer`.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The compact JWS, owned.
    pub fn into_string(self) -> String {
        self.token
    }

    /// Its `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// Its `iat` (Unix seconds).
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// Its `exp` (Unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Its lifetime: the `expires_in` of an OAuth token response.
    pub fn expires_in(&self) -> Duration {
        self.lifetime
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
