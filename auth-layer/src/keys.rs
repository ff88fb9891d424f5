//! Verification keys, each pinned to its algorithm family.
//!
//! A [`Key`] is built from an HMAC secret, a public key (PEM, DER or JWK) and
//! optionally named with a `kid`. Its family is fixed by the constructor, so an
//! HMAC secret never verifies an RSA/EC/EdDSA token and a public key never acts
//! as an HMAC secret, whatever the token's header says.
//!
//! ```
//! use auth_layer::{Algorithm, Key};
//!
//! let hmac = Key::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap();
//! assert_eq!(hmac.algorithms(), [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]);
//!
//! let pinned = Key::hmac("a-secret-of-at-least-thirty-two-bytes!")
//!     .unwrap()
//!     .with_kid("2026-11")
//!     .with_algorithms([Algorithm::HS256]);
//! assert_eq!(pinned.kid(), Some("2026-11"));
//! ```

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::error::{AuthError, ConfigError, ErrorKind};

/// The shortest HMAC secret accepted, in bytes (RFC 7518 section 3.2 asks for
/// at least the hash size; 32 bytes covers HS256).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// The shortest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// One verification key, pinned to the algorithms of its family.
#[derive(Clone)]
pub struct Key {
    kid: Option<Arc<str>>,
    /// The JWK this key was read from, to recognise it across refreshes.
    #[cfg_attr(
        not(feature = "jwks"),
        expect(dead_code, reason = "read by key sources")
    )]
    fingerprint: Option<String>,
    family: AlgorithmFamily,
    algorithms: Vec<Algorithm>,
    decoding: DecodingKey,
}

impl Key {
    /// An HMAC secret for HS256/384/512. Its bytes are the key.
    ///
    /// # Errors
    /// Shorter than 32 bytes, or looks like a PEM key (an attempt to use a
    /// public key as an HMAC secret).
    pub fn hmac(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(ConfigError::InvalidKey {
                what: "HMAC secret",
                reason: format!(
                    "{} bytes is too short; use at least {MIN_HMAC_SECRET_BYTES} random bytes",
                    secret.len()
                ),
            });
        }
        if looks_like_pem(secret) {
            return Err(ConfigError::InvalidKey {
                what: "HMAC secret",
                reason: "it is a PEM key; a public key must never be used as an HMAC secret (pass it to `public_key_pem` instead)".into(),
            });
        }
        Ok(Self::from_decoding(
            DecodingKey::from_secret(secret),
            AlgorithmFamily::Hmac,
        ))
    }

    /// An RSA public key in PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`), for RS* and PS*.
    ///
    /// # Errors
    /// Not an RSA public key, or shorter than 2048 bits.
    pub fn rsa_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_rsa_pem(pem.as_ref())
            .map_err(|e| invalid("RSA public key PEM", e))?;
        check_rsa_size(&key)?;
        Ok(Self::from_decoding(key, AlgorithmFamily::Rsa))
    }

    /// An EC P-256 or P-384 public key in PEM; pinned to ES256 or ES384 by its curve.
    ///
    /// # Errors
    /// Not an EC public key on P-256 or P-384.
    pub fn ec_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let key =
            DecodingKey::from_ec_pem(pem.as_ref()).map_err(|e| invalid("EC public key PEM", e))?;
        Self::ec(key)
    }

    /// An Ed25519 public key in PEM, for EdDSA.
    ///
    /// # Errors
    /// Not an Ed25519 public key.
    pub fn ed_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_ed_pem(pem.as_ref())
            .map_err(|e| invalid("Ed25519 public key PEM", e))?;
        Self::ed(key)
    }

    /// Any supported public key in PEM: RSA, EC (P-256/P-384) or Ed25519,
    /// recognised from its contents.
    ///
    /// # Errors
    /// Not a PEM public key of a supported kind.
    pub fn public_key_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let pem = pem.as_ref();
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            check_rsa_size(&key)?;
            return Ok(Self::from_decoding(key, AlgorithmFamily::Rsa));
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            return Self::ec(key);
        }
        if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            return Self::ed(key);
        }
        Err(ConfigError::InvalidKey {
            what: "public key PEM",
            reason: "not an RSA, EC (P-256/P-384) or Ed25519 public key; expected a `-----BEGIN PUBLIC KEY-----` block".into(),
        })
    }

    /// A public key in DER: a SubjectPublicKeyInfo (what `openssl pkey -pubout
    /// -outform DER` writes) of any supported kind, or a PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    /// Not a DER public key of a supported kind.
    pub fn public_key_der(der: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let der = der.as_ref();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let spki = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
        if let Ok(key) = Self::public_key_pem(&spki) {
            return Ok(key);
        }
        let pkcs1 =
            format!("-----BEGIN RSA PUBLIC KEY-----\n{b64}\n-----END RSA PUBLIC KEY-----\n");
        Self::rsa_pem(pkcs1).map_err(|_| ConfigError::InvalidKey {
            what: "public key DER",
            reason: "not a SubjectPublicKeyInfo or PKCS#1 RSA public key of a supported kind"
                .into(),
        })
    }

    /// A JSON Web Key (RFC 7517): `RSA`, `EC`, `OKP` (Ed25519) or `oct`.
    /// Its `kid` becomes the key's `kid`; `alg` pins it to one algorithm;
    /// a key marked `use: enc`, or whose `key_ops` exclude `verify`, is refused.
    ///
    /// # Errors
    /// An unsupported or unusable key, as above, or one that is too weak.
    pub fn jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        let common = &jwk.common;
        if matches!(common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Err(jwk_err(
                "it is marked `use: enc`; only signature keys verify tokens",
            ));
        }
        if let Some(ops) = &common.key_operations
            && !ops.iter().any(|op| matches!(op, KeyOperations::Verify))
        {
            return Err(jwk_err("its `key_ops` do not include `verify`"));
        }
        let decoding = DecodingKey::from_jwk(jwk).map_err(|e| invalid("JWK", e))?;
        let mut key = match decoding.family() {
            AlgorithmFamily::Hmac => {
                let secret = decoding.try_get_as_bytes().map_err(|e| invalid("JWK", e))?;
                Self::hmac(secret)?
            }
            AlgorithmFamily::Rsa => {
                check_rsa_size(&decoding)?;
                Self::from_decoding(decoding, AlgorithmFamily::Rsa)
            }
            AlgorithmFamily::Ec => Self::ec(decoding)?,
            AlgorithmFamily::Ed => Self::ed(decoding)?,
        };
        if let Some(alg) = &common.key_algorithm {
            let alg = jwk_algorithm(*alg)
                .filter(|a| key.algorithms.contains(a))
                .ok_or_else(|| jwk_err("its `alg` is not a signature algorithm of its key type"))?;
            key.algorithms = vec![alg];
        }
        key.kid = common.key_id.as_deref().map(Arc::from);
        Ok(key)
    }

    /// A JSON Web Key given as JSON text; see [`Key::jwk`].
    ///
    /// # Errors
    /// Not a JWK, or a JWK [`Key::jwk`] refuses.
    pub fn jwk_json(json: &str) -> Result<Self, ConfigError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|e| invalid("JWK", e))?;
        Self::jwk(&jwk)
    }

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

    fn from_decoding(decoding: DecodingKey, family: AlgorithmFamily) -> Self {
        Self {
            kid: None,
            fingerprint: None,
            family,
            algorithms: family.algorithms().to_vec(),
            decoding,
        }
    }

    fn ec(key: DecodingKey) -> Result<Self, ConfigError> {
        // The stored form is the uncompressed SEC1 point: 65 bytes on P-256, 97 on P-384.
        let alg = match key.try_get_as_bytes().map(<[u8]>::len) {
            Ok(65) => Algorithm::ES256,
            Ok(97) => Algorithm::ES384,
            _ => {
                return Err(ConfigError::InvalidKey {
                    what: "EC public key",
                    reason: "only uncompressed P-256 (ES256) and P-384 (ES384) keys are supported"
                        .into(),
                });
            }
        };
        let mut key = Self::from_decoding(key, AlgorithmFamily::Ec);
        key.algorithms = vec![alg];
        Ok(key)
    }

    fn ed(key: DecodingKey) -> Result<Self, ConfigError> {
        match key.try_get_as_bytes().map(<[u8]>::len) {
            Ok(32) => Ok(Self::from_decoding(key, AlgorithmFamily::Ed)),
            _ => Err(ConfigError::InvalidKey {
                what: "EdDSA public key",
                reason: "only Ed25519 keys (32 bytes) are supported".into(),
            }),
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

/// The configured keys; selects the one that may verify a given token.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<Key>>,
}

impl KeySet {
    pub(crate) fn new(keys: Vec<Key>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
        }
    }

    #[cfg(feature = "jwks")]
    pub(crate) fn from_shared(keys: Vec<Arc<Key>>) -> Self {
        Self { keys }
    }

    pub(crate) fn keys(&self) -> &[Arc<Key>] {
        &self.keys
    }

    /// The key for a token signed with `alg` naming `kid`: the key with that
    /// `kid`; else the only key without a `kid` that verifies `alg`; else, for
    /// a token without `kid`, the only key at all that verifies `alg`.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<&Arc<Key>, AuthError> {
        if let Some(kid) = kid
            && let Some(key) = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
        {
            return if key.algorithms.contains(&alg) {
                Ok(key)
            } else {
                Err(AuthError::new(
                    ErrorKind::AlgorithmNotAllowed,
                    "the token's algorithm is not allowed for the key its kid names",
                ))
            };
        }
        if let Some(key) = only(
            self.keys
                .iter()
                .filter(|k| k.kid.is_none() && k.algorithms.contains(&alg)),
        )? {
            return Ok(key);
        }
        if kid.is_some() {
            return Err(AuthError::new(
                ErrorKind::UnknownKey,
                "no key matches the token's kid",
            ));
        }
        only(self.keys.iter().filter(|k| k.algorithms.contains(&alg)))?.ok_or_else(|| {
            AuthError::new(
                ErrorKind::UnknownKey,
                "no key verifies the token's algorithm",
            )
        })
    }
}

fn only<'a>(
    mut keys: impl Iterator<Item = &'a Arc<Key>>,
) -> Result<Option<&'a Arc<Key>>, AuthError> {
    match (keys.next(), keys.next()) {
        (first, None) => Ok(first),
        (Some(_), Some(_)) => Err(AuthError::new(
            ErrorKind::UnknownKey,
            "the token has no kid and several keys could verify it",
        )),
        (None, Some(_)) => Ok(None),
    }
}

/// The name used in messages, e.g. `"HS256"`.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

/// Parses an algorithm name exactly as JWA spells it (case-sensitive).
pub(crate) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

pub(crate) fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Hmac => "HMAC",
        AlgorithmFamily::Rsa => "RSA",
        AlgorithmFamily::Ec => "EC",
        AlgorithmFamily::Ed => "EdDSA",
    }
}

fn jwk_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    parse_algorithm(&format!("{alg:?}"))
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

fn invalid(what: &'static str, e: impl fmt::Display) -> ConfigError {
    ConfigError::InvalidKey {
        what,
        reason: e.to_string(),
    }
}

fn jwk_err(reason: &str) -> ConfigError {
    ConfigError::InvalidKey {
        what: "JWK",
        reason: reason.to_owned(),
    }
}

fn check_rsa_size(key: &DecodingKey) -> Result<(), ConfigError> {
    let modulus_len = match key.kind() {
        jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, .. } => significant_len(n),
        jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => {
            let components = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
                .key_utils
                .rsa_pub_components_from_public_key;
            let (n, _) = components(der).map_err(|e| invalid("RSA public key", e))?;
            significant_len(&n)
        }
    };
    if modulus_len * 8 < MIN_RSA_BITS {
        return Err(ConfigError::InvalidKey {
            what: "RSA public key",
            reason: format!(
                "{} bits is too weak; use at least {MIN_RSA_BITS} bits",
                modulus_len * 8
            ),
        });
    }
    Ok(())
}

fn significant_len(n: &[u8]) -> usize {
    n.iter()
        .position(|b| *b != 0)
        .map_or(0, |first| n.len() - first)
}
