//! [`SigningKey`]: the private half the issuer signs access tokens with.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily, EncodingKey};

use crate::error::ConfigError;
use crate::keys::{Key, MIN_HMAC_SECRET_BYTES, MIN_RSA_BITS, algorithm_name, min_hmac_bytes};

/// A key the [`TokenIssuer`](super::TokenIssuer) signs with, pinned to one
/// algorithm and optionally named by a `kid` (written into every token's
/// header, so verifiers with several keys pick the right one).
///
/// Every constructor proves the key by signing a probe, so a key that
/// cannot sign is refused at start-up, never at the first login.
///
/// ```
/// use auth_layer::keys::Algorithm;
/// use auth_layer::session::SigningKey;
///
/// let key = SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap().with_kid("2026-11");
/// assert_eq!((key.algorithm(), key.kid()), (Algorithm::HS256, Some("2026-11")));
///
/// let pem = std::fs::read("../tests/keys/ec_p384_private.pem").unwrap();
/// assert_eq!(SigningKey::private_key_pem(&pem).unwrap().algorithm(), Algorithm::ES384);
/// assert!(SigningKey::hmac("short").is_err());
/// ```
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
    /// An HMAC secret's length: which hashes it is long enough for.
    hmac_bytes: Option<usize>,
    /// What verifies this key's signatures.
    verifying: Verifying,
}

/// What verifies a signing key's signatures: the HMAC secret itself, or
/// the public key (a SubjectPublicKeyInfo in DER).
#[derive(Clone)]
enum Verifying {
    Secret(std::sync::Arc<[u8]>),
    Public(std::sync::Arc<[u8]>),
}

impl SigningKey {
    /// An HMAC secret, signing HS256 (see [`with_algorithm`](Self::with_algorithm)
    /// for HS384/HS512). Verify with the same secret.
    ///
    /// # Errors
    /// Shorter than 32 bytes, or a PEM key (a public key must never become
    /// an HMAC secret).
    pub fn hmac(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(invalid(
                "HMAC signing secret",
                format!(
                    "{} bytes is too short; use at least {MIN_HMAC_SECRET_BYTES} random bytes",
                    secret.len()
                ),
            ));
        }
        if secret.windows(10).any(|w| w == b"-----BEGIN") {
            return Err(invalid(
                "HMAC signing secret",
                "it is a PEM key; pass a private key to `private_key_pem` instead",
            ));
        }
        let mut key = Self::proven(
            EncodingKey::from_secret(secret),
            &[Algorithm::HS256],
            Verifying::Secret(secret.into()),
        )?;
        key.hmac_bytes = Some(secret.len());
        Ok(key)
    }

    /// An RSA private key in PEM (PKCS#1 or PKCS#8), signing RS256 (or
    /// RS384/512, PS256/384/512 with [`with_algorithm`](Self::with_algorithm)).
    ///
    /// # Errors
    /// Not an RSA private key, or under 2048 bits.
    pub fn rsa_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let encoding = EncodingKey::from_rsa_pem(pem.as_ref())
            .map_err(|e| invalid("RSA private key PEM", e.to_string()))?;
        let key = Self::proven(encoding, &[Algorithm::RS256], public_der(pem.as_ref())?)?;
        // An RSA signature is as long as the modulus.
        let bits = jsonwebtoken::crypto::sign(b"probe", &key.encoding, Algorithm::RS256)
            .ok()
            .and_then(|sig| URL_SAFE_NO_PAD.decode(sig).ok())
            .map_or(0, |sig| sig.len() * 8);
        if bits < MIN_RSA_BITS {
            return Err(invalid(
                "RSA private key",
                format!("{bits} bits is too weak; use at least {MIN_RSA_BITS} bits"),
            ));
        }
        Ok(key)
    }

    /// An EC private key in PEM (PKCS#8), signing ES256 on P-256 or ES384 on P-384.
    ///
    /// # Errors
    /// Not a PKCS#8 EC private key on P-256 or P-384.
    pub fn ec_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let encoding = EncodingKey::from_ec_pem(pem.as_ref())
            .map_err(|e| invalid("EC private key PEM", e.to_string()))?;
        Self::proven(
            encoding,
            &[Algorithm::ES256, Algorithm::ES384],
            public_der(pem.as_ref())?,
        )
    }

    /// An Ed25519 private key in PEM (PKCS#8), signing EdDSA.
    ///
    /// # Errors
    /// Not a PKCS#8 Ed25519 private key.
    pub fn ed_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let encoding = EncodingKey::from_ed_pem(pem.as_ref())
            .map_err(|e| invalid("Ed25519 private key PEM", e.to_string()))?;
        Self::proven(encoding, &[Algorithm::EdDSA], public_der(pem.as_ref())?)
    }

    /// Any supported private key in PEM: RSA, EC (P-256/P-384) or Ed25519,
    /// recognised from its contents.
    ///
    /// # Errors
    /// Not a private key of a supported kind.
    pub fn private_key_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let pem = pem.as_ref();
        Self::rsa_pem(pem)
            .or_else(|_| Self::ec_pem(pem))
            .or_else(|_| Self::ed_pem(pem))
            .map_err(|_| {
                invalid(
                    "private key PEM",
                    "not an RSA, EC (P-256/P-384) or Ed25519 private key; expected a `-----BEGIN PRIVATE KEY-----` block",
                )
            })
    }

    /// Names the key; every token's header carries this `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Signs with `algorithm` instead, e.g. HS512 or PS256.
    ///
    /// # Errors
    /// `algorithm` is not one this key can sign (another family, or another curve).
    pub fn with_algorithm(self, algorithm: Algorithm) -> Result<Self, ConfigError> {
        if let (Some(bytes), Some(min)) = (self.hmac_bytes, min_hmac_bytes(algorithm))
            && bytes < min
        {
            return Err(invalid(
                "HMAC signing secret",
                format!(
                    "{} needs a secret of at least {min} bytes (RFC 7518 section 3.2); this one has {bytes}",
                    algorithm_name(algorithm)
                ),
            ));
        }
        if algorithm.family() == self.encoding.family()
            && jsonwebtoken::crypto::sign(b"probe", &self.encoding, algorithm).is_ok()
        {
            return Ok(Self { algorithm, ..self });
        }
        Err(invalid(
            "signing key",
            format!(
                "this {} key cannot sign {}",
                family_name(self.encoding.family()),
                algorithm_name(algorithm)
            ),
        ))
    }

    /// The algorithm tokens are signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid`, if named.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The [`Key`] that verifies this key's tokens, for a layer: the HMAC
    /// secret, or the public half of the private key; pinned to this key's
    /// algorithm and named by its `kid`. [`Sessions::jwt_auth`](super::Sessions::jwt_auth)
    /// uses it, so that the layer and the issuer cannot disagree.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::session::{SigningKey, TokenIssuer, TokenRequest};
    ///
    /// let pem = std::fs::read("../tests/keys/ec_p256_private.pem").unwrap();
    /// let signing = SigningKey::private_key_pem(&pem).unwrap().with_kid("k1");
    /// let issuer = TokenIssuer::builder(signing.clone()).build().unwrap();
    /// let token = issuer.issue(&TokenRequest::new("alice")).unwrap();
    /// let auth = JwtAuth::builder().key(signing.verifying_key().unwrap()).build().unwrap();
    /// assert_eq!(auth.verifier().verify(token.as_str()).unwrap().subject(), "alice");
    /// ```
    ///
    /// # Errors
    /// Never for a key this type built; the layer's key checks apply.
    pub fn verifying_key(&self) -> Result<Key, ConfigError> {
        let key = match &self.verifying {
            Verifying::Secret(secret) => Key::hmac(secret)?,
            Verifying::Public(der) => Key::public_key_der(der)?,
        }
        .with_algorithms([self.algorithm]);
        Ok(match &self.kid {
            Some(kid) => key.with_kid(kid.clone()),
            None => key,
        })
    }

    /// The key with the first of `algorithms` it can sign.
    fn proven(
        encoding: EncodingKey,
        algorithms: &[Algorithm],
        verifying: Verifying,
    ) -> Result<Self, ConfigError> {
        algorithms
            .iter()
            .find(|alg| jsonwebtoken::crypto::sign(b"probe", &encoding, **alg).is_ok())
            .map(|alg| Self {
                algorithm: *alg,
                encoding: encoding.clone(),
                kid: None,
                hmac_bytes: None,
                verifying,
            })
            .ok_or_else(|| invalid("signing key", "the key cannot sign"))
    }
}

/// The public half of a private key in PEM (PKCS#8, or PKCS#1 for RSA), as
/// a SubjectPublicKeyInfo in DER.
fn public_der(pem: &[u8]) -> Result<Verifying, ConfigError> {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::signature::{self, KeyPair as _};
    fn spki(
        der: Result<PublicKeyX509Der<'static>, aws_lc_rs::error::Unspecified>,
    ) -> Option<Verifying> {
        der.ok().map(|der| Verifying::Public(der.as_ref().into()))
    }
    let block = pem::parse(pem).map_err(|e| invalid("private key PEM", e.to_string()))?;
    let der = block.contents();
    let public = match block.tag() {
        "RSA PRIVATE KEY" => signature::RsaKeyPair::from_der(der)
            .ok()
            .and_then(|k| spki(k.public_key().as_der())),
        _ => signature::RsaKeyPair::from_pkcs8(der)
            .ok()
            .and_then(|k| spki(k.public_key().as_der()))
            .or_else(|| {
                [
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                ]
                .into_iter()
                .find_map(|alg| signature::EcdsaKeyPair::from_pkcs8(alg, der).ok())
                .and_then(|k| spki(k.public_key().as_der()))
            })
            .or_else(|| {
                signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .ok()
                    .and_then(|k| spki(k.public_key().as_der()))
            }),
    };
    public.ok_or_else(|| invalid("private key PEM", "its public key could not be derived"))
}

fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Hmac => "HMAC",
        AlgorithmFamily::Rsa => "RSA",
        AlgorithmFamily::Ec => "EC",
        AlgorithmFamily::Ed => "Ed25519",
    }
}

fn invalid(what: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidKey {
        what,
        reason: reason.into(),
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("material", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn every_key_kind_is_pinned_to_its_algorithm() {
        let cases = [
            ("rsa_private.pem", Algorithm::RS256),
            ("ec_p256_private.pem", Algorithm::ES256),
            ("ec_p384_private.pem", Algorithm::ES384),
            ("ed25519_private.pem", Algorithm::EdDSA),
        ];
        for (file, alg) in cases {
            let key = SigningKey::private_key_pem(test_key(file)).unwrap();
            assert_eq!(key.algorithm(), alg, "{file}");
        }
        let rsa = SigningKey::rsa_pem(test_key("rsa_private.pem")).unwrap();
        assert_eq!(
            rsa.with_algorithm(Algorithm::PS256).unwrap().algorithm(),
            Algorithm::PS256
        );
    }

    #[test]
    fn keys_that_cannot_sign_an_algorithm_are_refused() {
        let ec256 = SigningKey::ec_pem(test_key("ec_p256_private.pem")).unwrap();
        assert!(
            ec256.clone().with_algorithm(Algorithm::ES384).is_err(),
            "other curve"
        );
        assert!(
            ec256.with_algorithm(Algorithm::HS256).is_err(),
            "other family"
        );
        let hmac = SigningKey::hmac([1u8; 32]).unwrap();
        let err = hmac
            .clone()
            .with_algorithm(Algorithm::HS512)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HS512 needs a secret of at least 64 bytes"),
            "{err}"
        );
        assert!(hmac.clone().with_algorithm(Algorithm::HS384).is_err());
        assert!(
            SigningKey::hmac([1u8; 48])
                .unwrap()
                .with_algorithm(Algorithm::HS384)
                .is_ok()
        );
        assert!(
            SigningKey::hmac([1u8; 64])
                .unwrap()
                .with_algorithm(Algorithm::HS512)
                .is_ok()
        );
        assert!(
            SigningKey::hmac(test_key("ec_p256_private.pem")).is_err(),
            "a PEM as HMAC secret"
        );
        assert!(
            SigningKey::rsa_pem(test_key("rsa1024_private.pem")).is_err(),
            "weak RSA"
        );
        assert!(
            SigningKey::private_key_pem(test_key("rsa_public.pem")).is_err(),
            "a public key"
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("thirty-two"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}
