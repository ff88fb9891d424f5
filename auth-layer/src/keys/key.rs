//! [`Key`]: one verification key, pinned to the algorithms of its family.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::keys::algorithm::family_name;

/// One verification key, pinned to the algorithms of its family.
///
/// ```
/// use auth_layer::keys::{Algorithm, AlgorithmFamily, Key};
///
/// let key = Key::hmac("a-secret-of-at-least-thirty-two-bytes!")
///     .unwrap()
///     .with_kid("2026-11")
///     // An algorithm of another family is dropped, never added.
///     .with_algorithms([Algorithm::HS512, Algorithm::RS256]);
/// assert_eq!(key.family(), AlgorithmFamily::Hmac);
/// assert_eq!(key.algorithms(), [Algorithm::HS512]);
/// assert!(Key::hmac("too-short").is_err());
/// ```
#[derive(Clone)]
pub struct Key {
    pub(super) kid: Option<Arc<str>>,
    /// The JWK this key was read from, to recognise it across refreshes.
    #[cfg_attr(
        not(feature = "jwks"),
        expect(dead_code, reason = "read by key sources")
    )]
    pub(super) fingerprint: Option<String>,
    pub(super) family: AlgorithmFamily,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) decoding: DecodingKey,
}

impl Key {
    /// Names the key; tokens whose header carries this `kid` select it.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(Arc::from(kid.into()));
        self
    }

    /// Narrows the algorithms this key verifies. Algorithms outside the key's
    /// family are dropped: a key can never be used across families.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let family = self.family;
        self.algorithms = algorithms
            .into_iter()
            .filter(|a| a.family() == family)
            .collect();
        self
    }

    /// The key's `kid`, if named.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's `kid`, shared with the tokens it verifies.
    pub(crate) fn shared_kid(&self) -> Option<&Arc<str>> {
        self.kid.as_ref()
    }

    /// The algorithms this key verifies.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The key's family.
    pub fn family(&self) -> AlgorithmFamily {
        self.family
    }

    #[cfg(feature = "jwks")]
    pub(crate) fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    #[cfg(feature = "jwks")]
    pub(crate) fn with_fingerprint(mut self, fingerprint: String) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(crate) fn retain_algorithms(&mut self, allowed: &[Algorithm]) {
        self.algorithms.retain(|a| allowed.contains(a));
    }

    /// A key of `family` verifying every algorithm of the family.
    pub(super) fn from_decoding(decoding: DecodingKey, family: AlgorithmFamily) -> Self {
        Self {
            kid: None,
            fingerprint: None,
            family,
            algorithms: family.algorithms().to_vec(),
            decoding,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("family", &family_name(self.family))
            .field("algorithms", &self.algorithms)
            .field("material", &"[redacted]")
            .finish()
    }
}
