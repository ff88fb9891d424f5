//! A DPoP client for the tests: a key pair, its public JWK and thumbprint,
//! and proofs (RFC 9449 section 4.2) made with it.

use auth_layer::dpop::{DpopVerifier, ProofRequest, VerifiedProof, jwk_thumbprint};
use std::sync::atomic::{AtomicU64, Ordering};

use auth_layer::keys::Algorithm;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::key_file;

/// A client key: how it signs, and its public JWK.
pub struct ClientKey {
    key: EncodingKey,
    alg: Algorithm,
    jwk: Value,
}

impl ClientKey {
    /// A fresh P-256 key (ES256), as a browser's WebCrypto key would be:
    /// two are two keys.
    pub fn generate() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
        Self::new(key, Algorithm::ES256)
    }

    /// The P-256 test key (ES256).
    pub fn es256() -> Self {
        Self::new(
            EncodingKey::from_ec_pem(&key_file("ec_p256_private.pem")).unwrap(),
            Algorithm::ES256,
        )
    }

    /// The P-384 test key (ES384): another client's key.
    pub fn es384() -> Self {
        Self::new(
            EncodingKey::from_ec_pem(&key_file("ec_p384_private.pem")).unwrap(),
            Algorithm::ES384,
        )
    }

    /// The Ed25519 test key (EdDSA).
    pub fn eddsa() -> Self {
        Self::new(
            EncodingKey::from_ed_pem(&key_file("ed25519_private.pem")).unwrap(),
            Algorithm::EdDSA,
        )
    }

    /// The RSA test key (RS256).
    pub fn rs256() -> Self {
        Self::new(
            EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap(),
            Algorithm::RS256,
        )
    }

    /// A key signing with `alg`.
    pub fn new(key: EncodingKey, alg: Algorithm) -> Self {
        let jwk = serde_json::to_value(Jwk::from_encoding_key(&key, alg).unwrap()).unwrap();
        Self { key, alg, jwk }
    }

    /// The algorithm the key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The RFC 7638 thumbprint: what a bound token's `cnf.jkt` holds.
    pub fn jkt(&self) -> String {
        jwk_thumbprint(self.jwk.as_object().unwrap()).unwrap()
    }

    /// A proof's header and claims for `method` `htu` at `iat`, with `ath`
    /// for `token` when given, and a fresh `jti`.
    pub fn parts(&self, method: &str, htu: &str, token: Option<&str>, iat: i64) -> (Value, Value) {
        let header = json!({
            "typ": "dpop+jwt",
            "alg": auth_layer::keys::algorithm_name(self.alg),
            "jwk": self.jwk,
        });
        let mut claims = json!({
            "jti": next_jti(),
            "htm": method,
            "htu": htu,
            "iat": iat,
        });
        if let Some(token) = token {
            claims["ath"] = ath(token).into();
        }
        (header, claims)
    }

    /// A proof without `ath` for `method uri` at `iat` (what a token
    /// endpoint is sent), with a `jti` never used before.
    pub fn proof(&self, method: &str, uri: &str, iat: i64) -> String {
        self.proof_for(method, uri, None, iat)
    }

    /// A proof for `POST uri` at `iat`, checked by `verifier`: what a token
    /// endpoint hands to `Sessions`.
    pub fn verified(&self, verifier: &DpopVerifier, uri: &str, iat: i64) -> VerifiedProof {
        verifier
            .verify(
                &self.proof("POST", uri, iat),
                &ProofRequest::new("POST", uri),
            )
            .unwrap()
    }

    /// A good proof for `method` `htu` with `token`, at `iat`.
    pub fn proof_for(&self, method: &str, htu: &str, token: Option<&str>, iat: i64) -> String {
        self.proof_with(method, htu, token, iat, |_, _| {})
    }

    /// [`proof_for`](Self::proof_for) with its header and claims changed by `edit`.
    pub fn proof_with(
        &self,
        method: &str,
        htu: &str,
        token: Option<&str>,
        iat: i64,
        edit: impl FnOnce(&mut Value, &mut Value),
    ) -> String {
        let (mut header, mut claims) = self.parts(method, htu, token, iat);
        edit(&mut header, &mut claims);
        self.sign(&header.to_string(), &claims.to_string())
    }

    /// A JWS over these exact header and claims texts.
    pub fn sign(&self, header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).unwrap();
        format!("{input}.{signature}")
    }
}

/// A `jti` never used before in this process (nor, with the time in it, by
/// an earlier run against the same store).
fn next_jti() -> String {
    static PROOFS: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        crate::services::unique("jti"),
        PROOFS.fetch_add(1, Ordering::Relaxed)
    )
}

/// `ath`: the base64url SHA-256 of an access token.
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token))
}
