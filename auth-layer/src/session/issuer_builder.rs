//! [`TokenIssuerBuilder`]: the issuer's settings, checked once.

use std::fmt;
use std::sync::Arc;

use super::issuer::{Inner, TokenIssuer};
use super::lifetime::LifetimePolicy;
use super::signing::SigningKey;
use crate::claims::ClaimNames;
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;

impl TokenIssuer {
    /// Starts an issuer signing with `key`.
    pub fn builder(key: SigningKey) -> TokenIssuerBuilder {
        TokenIssuerBuilder {
            key,
            issuer: None,
            audiences: Vec::new(),
            lifetimes: LifetimePolicy::default(),
            clock: Arc::new(SystemClock),
            names: ClaimNames::default(),
        }
    }
}

/// Configures a [`TokenIssuer`]; created by [`TokenIssuer::builder`].
pub struct TokenIssuerBuilder {
    key: SigningKey,
    issuer: Option<String>,
    audiences: Vec<String>,
    lifetimes: LifetimePolicy,
    clock: Arc<dyn Clock>,
    names: ClaimNames,
}

impl TokenIssuerBuilder {
    /// The `iss` of every token (not set by default; the layer can check it
    /// with [`JwtAuthBuilder::issuer`](crate::JwtAuthBuilder::issuer)).
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds an audience to `aud` (one audience is written as a string,
    /// several as an array; none by default).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// How long tokens live (default: 15 minutes for every token).
    #[must_use]
    pub fn lifetimes(mut self, policy: LifetimePolicy) -> Self {
        self.lifetimes = policy;
        self
    }

    /// Where `iat` and `exp` come from (default: the system clock); e.g. a
    /// [`ManualClock`](crate::clock::ManualClock) in tests. [`Sessions`](super::Sessions)
    /// uses the same clock for session lifetimes.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The name of the token-version claim (default `ver`), as configured
    /// on the layer with [`version_claim`](crate::JwtAuthBuilder::version_claim).
    #[must_use]
    pub fn version_claim(mut self, name: impl Into<String>) -> Self {
        self.names.version = name.into();
        self
    }

    /// The name of the session-id claim (default `sid`), as configured on
    /// the layer with [`session_claim`](crate::JwtAuthBuilder::session_claim).
    #[must_use]
    pub fn session_claim(mut self, name: impl Into<String>) -> Self {
        self.names.session = name.into();
        self
    }

    /// Checks the configuration and builds the issuer.
    ///
    /// # Errors
    /// A lifetime under one second, an empty issuer or audience, or a
    /// version/session claim name that is empty, registered, or shared.
    pub fn build(self) -> Result<TokenIssuer, ConfigError> {
        self.lifetimes.check()?;
        if self.issuer.as_deref() == Some("") {
            return Err(ConfigError::setting("issuer", "must not be empty"));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::setting("audience", "must not be empty"));
        }
        self.names.check()?;
        Ok(TokenIssuer {
            inner: Arc::new(Inner {
                key: self.key,
                issuer: self.issuer,
                audiences: self.audiences,
                lifetimes: self.lifetimes,
                clock: self.clock,
                names: self.names,
            }),
        })
    }
}

impl fmt::Debug for TokenIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuerBuilder")
            .field("key", &self.key)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("lifetimes", &self.lifetimes)
            .finish_non_exhaustive()
    }
}
