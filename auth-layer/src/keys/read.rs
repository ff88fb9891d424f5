//! Key material read into a [`Key`]: HMAC secrets, PEM, DER and JWK, with
//! the strength checks (HMAC length, RSA size, EC curve).

use std::fmt;

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::error::ConfigError;
use crate::keys::algorithm::{algorithm_name, hmac_algorithms, min_hmac_bytes, parse_algorithm};
use crate::keys::key::Key;

/// The shortest HMAC secret accepted, in bytes (RFC 7518 section 3.2 asks for
/// at least the hash size; 32 bytes covers HS256).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// The shortest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

impl Key {
    /// An HMAC secret. Its bytes are the key, verifying HS256, and also
    /// HS384 from 48 bytes and HS512 from 64 (RFC 7518 section 3.2: a key at
    /// least as long as the hash).
    ///
    /// ```
    /// use auth_layer::keys::{Algorithm, Key};
    ///
    /// assert_eq!(Key::hmac([7u8; 40]).unwrap().algorithms(), [Algorithm::HS256]);
    /// assert_eq!(Key::hmac([7u8; 48]).unwrap().algorithms(), [Algorithm::HS256, Algorithm::HS384]);
    /// assert_eq!(Key::hmac([7u8; 64]).unwrap().algorithms().len(), 3);
    /// ```
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
        let mut key = Self::from_decoding(DecodingKey::from_secret(secret), AlgorithmFamily::Hmac);
        key.capable = hmac_algorithms(secret.len());
        key.algorithms = key.capable.to_vec();
        Ok(key)
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
                .filter(|a| a.family() == key.family)
                .ok_or_else(|| jwk_err("its `alg` is not a signature algorithm of its key type"))?;
            if !key.can_verify(alg) {
                return Err(jwk_err(&format!(
                    "its `alg` {} needs a secret of at least {} bytes (RFC 7518 section 3.2)",
                    algorithm_name(alg),
                    min_hmac_bytes(alg).unwrap_or_default()
                )));
            }
            key.algorithms = vec![alg];
        }
        key.kid = common.key_id.as_deref().map(crate::claims::shared_str);
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
