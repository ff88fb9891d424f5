//! [`TokenRequest`] in, [`AccessToken`] out: what the issuer mints.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

/// What to put in one access token: the subject, optionally its token
/// version, session and DPoP key, and claims of your own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub(super) subject: String,
    pub(super) version: Option<u64>,
    pub(super) session: Option<String>,
    pub(super) jkt: Option<String>,
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

    /// Binds the token to a DPoP key (RFC 9449 section 6.1): the token
    /// carries `cnf: {"jkt": jkt}`, the RFC 7638 thumbprint of the client's
    /// public key ([`VerifiedProof::jkt`](crate::dpop::VerifiedProof::jkt)
    /// of the proof that came with the token request), and is good only with
    /// a proof by that key. [`Sessions`](super::Sessions) sets it for the
    /// tokens of a bound session.
    ///
    /// ```
    /// use auth_layer::session::{SigningKey, TokenIssuer, TokenRequest};
    ///
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap())
    ///     .build()
    ///     .unwrap();
    /// let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    /// let token = issuer.issue(&TokenRequest::new("alice").bound_to(jkt)).unwrap();
    /// assert_eq!((token.jkt(), token.token_type()), (Some(jkt), "DPoP"));
    /// ```
    #[must_use]
    pub fn bound_to(mut self, jkt: impl Into<String>) -> Self {
        self.jkt = Some(jkt.into());
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
    pub(super) jkt: Option<String>,
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

    /// The thumbprint of the DPoP key it is bound to (its `cnf.jkt`), if
    /// it is bound ([`TokenRequest::bound_to`]).
    pub fn jkt(&self) -> Option<&str> {
        self.jkt.as_deref()
    }

    /// The `token_type` of an OAuth token response: `DPoP` for a token
    /// bound to a DPoP key (RFC 9449 section 5), `Bearer` otherwise.
    pub fn token_type(&self) -> &'static str {
        if self.jkt.is_some() { "DPoP" } else { "Bearer" }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}
