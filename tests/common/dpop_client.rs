//! A DPoP client (RFC 9449): a P-256 key pair made for the test, and the
//! proofs it signs, as a browser's WebCrypto key would.

use std::sync::atomic::{AtomicU64, Ordering};

use auth_layer::dpop::{DpopVerifier, ProofRequest, VerifiedProof, jwk_thumbprint};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

/// A client's ES256 key: fresh for each `generate`, so two are two keys.
pub struct ClientKey {
    key: EncodingKey,
    jwk: Value,
}

impl ClientKey {
    pub fn generate() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
        let jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap());
        Self {
            key,
            jwk: jwk.unwrap(),
        }
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens
    /// bound to it.
    pub fn jkt(&self) -> String {
        jwk_thumbprint(self.jwk.as_object().unwrap()).unwrap()
    }

    /// A proof for `method uri` at `iat`, with a `jti` never used before.
    pub fn proof(&self, method: &str, uri: &str, iat: i64) -> String {
        static PROOFS: AtomicU64 = AtomicU64::new(0);
        let jti = format!(
            "{}-{}",
            crate::services::unique("jti"),
            PROOFS.fetch_add(1, Ordering::Relaxed)
        );
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let claims = json!({ "jti": jti, "htm": method, "htu": uri, "iat": iat });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
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
}
