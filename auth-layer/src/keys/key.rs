//! [`Key`]: one verification key, pinned to the algorithms of its family.

use std::fmt;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::claims::{SharedStr, shared_str};
use crate::keys::algorithm::family_name;

/// One verification key, pinned to the algorithms of its family.
///
/// ```
/// use auth_layer::keys::{Algorithm, AlgorithmFamily, Key};
///
/// let key = Key::hmac("a-secret-of-at-least-thirty-two-bytes!")
///     .unwrap()
///     .with_kid("2026-11")
///     // What the key cannot verify is dropped, never added: RS256 is of
///     // another family, HS512 needs a secret of 64 bytes (this one has 38).
///     .with_algorithms([Algorithm::HS256, Algorithm::HS512, Algorithm::RS256]);
/// assert_eq!(key.family(), AlgorithmFamily::Hmac);
/// assert_eq!(key.algorithms(), [Algorithm::HS256]);
/// assert!(Key::hmac("too-short").is_err());
/// ```
#[derive(Clone)]
pub struct Key {
    pub(super) kid: Option<SharedStr>,
    /// The JWK this key was read from, to recognise it across refreshes.
    #[cfg_attr(
        not(feature = "jwks"),
        expect(dead_code, reason = "read by key sources")
    )]
    pub(super) fingerprint: Option<String>,
    pub(super) family: AlgorithmFamily,
    /// Every algorithm the key material allows (for an HMAC secret, those
    /// whose hash it is long enough for).
    pub(super) capable: &'static [Algorithm],
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) decoding: DecodingKey,
}

impl Key {
    /// Names the key; tokens whose header carries this `kid` select it.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(shared_str(&kid.into()));
        self
    }

    /// Narrows the algorithms this key verifies. Algorithms the key cannot
    /// verify are dropped: those of another family (a key is never used
    /// across families), and for an HMAC secret those whose hash is longer
    /// than the secret (RFC 7518 section 3.2).
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let capable = self.capable;
        self.algorithms = algorithms
            .into_iter()
            .filter(|a| capable.contains(a))
            .collect();
        self
    }

    /// Whether the key material allows `alg` at all.
    pub(crate) fn can_verify(&self, alg: Algorithm) -> bool {
        self.capable.contains(&alg)
    }

    /// The key's `kid`, if named.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref().map(|kid| &**kid)
    }

    /// The key's `kid`, shared with the tokens it verifies.
    pub(crate) fn shared_kid(&self) -> Option<&SharedStr> {
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
            capable: crate::keys::algorithm::family_algorithms(family),
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
