//! Several issuers at once: the token's `iss` picks the keys and audiences.
//!
//! ```
//! use auth_layer::{JwtAuth, Key, TrustedIssuer};
//!
//! let auth = JwtAuth::builder()
//!     .trusted_issuer(
//!         TrustedIssuer::new("https://tenant-a.example")
//!             .key(Key::hmac("tenant-a-secret-of-at-least-32-bytes").unwrap())
//!             .audience("orders-api"),
//!     )
//!     .trusted_issuer(
//!         TrustedIssuer::new("https://tenant-b.example")
//!             .key(Key::hmac("tenant-b-secret-of-at-least-32-bytes").unwrap()),
//!     )
//!     .build()
//!     .unwrap();
//! # let _ = auth;
//! ```

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::Algorithm;

use crate::error::{AuthError, ErrorKind};
#[cfg(feature = "jwks")]
use crate::jwks::KeySource;
use crate::keys::{Key, KeySet};

/// An issuer whose tokens are verified with its own keys and audiences.
/// A token whose `iss` names no trusted issuer is rejected before any key
/// is looked up or fetched.
pub struct TrustedIssuer {
    pub(crate) issuer: String,
    pub(crate) keys: Vec<Key>,
    #[cfg(feature = "jwks")]
    pub(crate) sources: Vec<KeySource>,
    pub(crate) audiences: Vec<String>,
}

impl TrustedIssuer {
    /// Trusts tokens whose `iss` is exactly `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            keys: Vec::new(),
            #[cfg(feature = "jwks")]
            sources: Vec::new(),
            audiences: Vec::new(),
        }
    }

    /// A key of this issuer.
    #[must_use]
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Keys of this issuer from a JWKS or OIDC discovery.
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn key_source(mut self, source: KeySource) -> Self {
        self.sources.push(source);
        self
    }

    /// An audience this issuer's tokens must name (the builder's audiences
    /// apply when none is given here).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// The keys and audiences that apply to one issuer (or, with `issuer`
/// `None`, to every token).
pub(crate) struct Scope {
    pub(crate) issuer: Option<String>,
    pub(crate) keys: KeySet,
    #[cfg(feature = "jwks")]
    pub(crate) sources: Vec<KeySource>,
    pub(crate) audiences: Option<Vec<String>>,
}

impl Scope {
    /// The key for a token: a configured key, else one from a key source
    /// (an unknown `kid` asks the sources to fetch again, rate-limited).
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<Arc<Key>, AuthError> {
        let unknown = match self.keys.select(alg, kid) {
            Ok(key) => return Ok(Arc::clone(key)),
            Err(e) if e.kind() == ErrorKind::UnknownKey => e,
            Err(e) => return Err(e),
        };
        #[cfg(feature = "jwks")]
        for source in &self.sources {
            match source.select(alg, kid) {
                Ok(key) => return Ok(key),
                Err(e) if e.kind() == ErrorKind::UnknownKey => {}
                Err(e) => return Err(e),
            }
        }
        Err(unknown)
    }

    pub(crate) fn has_sources(&self) -> bool {
        #[cfg(feature = "jwks")]
        return !self.sources.is_empty();
        #[cfg(not(feature = "jwks"))]
        return false;
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Scope");
        s.field("issuer", &self.issuer).field("keys", &self.keys);
        #[cfg(feature = "jwks")]
        s.field("sources", &self.sources);
        s.field("audiences", &self.audiences).finish()
    }
}
