//! Keys per issuer: [`TrustedIssuer`] as configured, and the
//! [`IssuerKeys`] the verifier picks by a token's `iss`.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::Algorithm;

use crate::error::{AuthError, ErrorKind};
#[cfg(feature = "jwks")]
use crate::jwks::KeySource;
use crate::keys::key::Key;
use crate::keys::set::KeySet;

/// An issuer whose tokens are verified with its own keys and audiences.
/// A token whose `iss` names no trusted issuer is rejected before any key
/// is looked up or fetched.
///
/// ```
/// use auth_layer::{ErrorKind, JwtAuth};
/// use auth_layer::keys::{Key, TrustedIssuer};
///
/// let auth = JwtAuth::builder()
///     .trusted_issuer(
///         TrustedIssuer::new("https://tenant-a.example")
///             .key(Key::hmac("tenant-a-secret-of-at-least-32-bytes").unwrap())
///             .audience("orders-api"),
///     )
///     .trusted_issuer(
///         TrustedIssuer::new("https://tenant-b.example")
///             .key(Key::hmac("tenant-b-secret-of-at-least-32-bytes").unwrap()),
///     )
///     .build()
///     .unwrap();
/// // Tenant A's key, but an issuer nobody trusts.
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "iss": "https://tenant-c.example", "exp": 4_000_000_000_u64 }),
///     &jsonwebtoken::EncodingKey::from_secret(b"tenant-a-secret-of-at-least-32-bytes"),
/// )
/// .unwrap();
/// let err = auth.verifier().verify(&token).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidIssuer);
/// ```
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
pub(crate) struct IssuerKeys {
    pub(crate) issuer: Option<String>,
    pub(crate) keys: KeySet,
    #[cfg(feature = "jwks")]
    pub(crate) sources: Vec<KeySource>,
    pub(crate) audiences: Option<Vec<String>>,
}

impl IssuerKeys {
    /// The keys for a token from `iss`: the only entry when it applies to
    /// every token, else the trusted issuer's own.
    pub(crate) fn for_issuer<'a>(
        all: &'a [IssuerKeys],
        iss: Option<&str>,
    ) -> Result<&'a IssuerKeys, AuthError> {
        match all {
            [only] if only.issuer.is_none() => Ok(only),
            all => all
                .iter()
                .find(|s| s.issuer.as_deref() == iss && iss.is_some())
                .ok_or_else(|| {
                    AuthError::new(ErrorKind::InvalidIssuer, "token issuer is not trusted")
                }),
        }
    }

    /// The key for a token: a configured key, else one from a key source
    /// as it is; a `kid` none of them has asks the sources to fetch again
    /// (rate-limited), and the error names the fetch to wait for.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<Arc<Key>, AuthError> {
        #[cfg_attr(not(feature = "jwks"), expect(unused_mut, reason = "no sources"))]
        let mut unknown = match self.keys.select(alg, kid) {
            Ok(key) => return Ok(Arc::clone(key)),
            Err(e) if e.kind() == ErrorKind::UnknownKey => e,
            Err(e) => return Err(e),
        };
        #[cfg(feature = "jwks")]
        {
            for source in &self.sources {
                match source.select(alg, kid) {
                    Ok(key) => return Ok(key),
                    Err(e) if e.kind() == ErrorKind::UnknownKey => unknown = e,
                    Err(e) => return Err(e),
                }
            }
            // Only now, when no source has it: each may fetch again.
            if let Some(kid) = kid {
                for source in &self.sources {
                    let answer = source.refetch_for(kid, unknown.clone());
                    if unknown.pending_fetch().is_none() {
                        unknown = answer;
                    }
                }
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

impl fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("IssuerKeys");
        s.field("issuer", &self.issuer).field("keys", &self.keys);
        #[cfg(feature = "jwks")]
        s.field("sources", &self.sources);
        s.field("audiences", &self.audiences).finish()
    }
}
