//! Sessions bound to a DPoP key (RFC 9449 sections 5 and 6): a login with a
//! verified proof binds the session's refresh tokens to the proof's key,
//! and every access token of the session carries it as `cnf.jkt`.

use serde::Serialize;

use super::error::{SessionError, SessionErrorKind};
use super::outcome::{Refreshed, TokenPair};
use super::sessions::Sessions;
use super::store::SessionRecord;
use crate::dpop::VerifiedProof;

impl Sessions {
    /// [`login`](Self::login) at a token endpoint that takes DPoP proofs:
    /// with a proof (checked by your [`DpopVerifier`](crate::dpop::DpopVerifier)
    /// against the token endpoint's method and URL), the session is bound
    /// to the proof's key. Its access tokens carry `cnf: {"jkt": …}` (RFC
    /// 9449 section 6.1; [`AccessToken::token_type`](super::AccessToken::token_type)
    /// is `DPoP`), and its refresh tokens are bound to the key for good
    /// (section 5, public clients): every refresh must come with a proof by
    /// that key ([`refresh_with_proof`](Self::refresh_with_proof)), or it is
    /// refused and changes nothing. Without a proof this is `login`.
    ///
    /// ```
    /// use auth_layer::dpop::{DpopVerifier, ProofRequest};
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{SessionErrorKind, Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    /// use jsonwebtoken::{Algorithm, EncodingKey};
    ///
    /// # fn proof_by(key: &EncodingKey, alg: Algorithm, htu: &str) -> String {
    /// #     use base64::Engine as _;
    /// #     static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    /// #     let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    /// #     let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(key, alg).unwrap();
    /// #     let iat = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    /// #     let jti = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    /// #     let alg_name = if alg == Algorithm::ES256 { "ES256" } else { "ES384" };
    /// #     let input = format!(
    /// #         "{}.{}",
    /// #         b64(serde_json::json!({ "typ": "dpop+jwt", "alg": alg_name, "jwk": jwk })),
    /// #         b64(serde_json::json!({ "jti": format!("{iat}-{jti}"), "htm": "POST", "htu": htu, "iat": iat })),
    /// #     );
    /// #     let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    /// #     format!("{input}.{signature}")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let revocation = RevocationCache::builder(store.clone()).build()?;
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?)
    ///     .issuer("https://auth.example")
    ///     .build()?;
    /// let sessions = Sessions::builder(issuer, store, revocation).build()?;
    /// let verifier = DpopVerifier::builder().build()?;
    /// let token_endpoint = ProofRequest::new("POST", "https://auth.example/token");
    ///
    /// // The client's key (a P-256 key pair it generated and keeps).
    /// let key = EncodingKey::from_ec_pem(&std::fs::read("../tests/keys/ec_p256_private.pem")?)?;
    /// let login = proof_by(&key, Algorithm::ES256, "https://auth.example/token");
    /// let proof = verifier.verify(&login, &token_endpoint)?;
    /// let pair = sessions.login_with_proof("alice", serde_json::json!({}), Some(&proof)).await?;
    /// assert_eq!(pair.access_token().token_type(), "DPoP");
    /// assert_eq!(pair.access_token().jkt(), Some(proof.jkt()));
    /// assert_eq!(pair.session().dpop_jkt.as_deref(), Some(proof.jkt()));
    ///
    /// // The refresh token alone (stolen from the client, say) is refused.
    /// let stolen = sessions.refresh(pair.refresh_token().as_str()).await.unwrap_err();
    /// assert_eq!(stolen.kind(), SessionErrorKind::DpopProofRequired);
    ///
    /// // With a fresh proof by the same key it rotates, as it would unbound.
    /// let refresh = proof_by(&key, Algorithm::ES256, "https://auth.example/token");
    /// let proof = verifier.verify(&refresh, &token_endpoint)?;
    /// let next = sessions.refresh_with_proof(pair.refresh_token().as_str(), Some(&proof)).await?;
    /// assert_eq!(next.access_token().jkt(), Some(proof.jkt()));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// What [`login`](Self::login) answers.
    pub async fn login_with_proof(
        &self,
        subject: &str,
        claims: impl Serialize,
        proof: Option<&VerifiedProof>,
    ) -> Result<TokenPair, SessionError> {
        self.start(subject, claims, proof.map(VerifiedProof::jkt), false)
            .await
    }

    /// [`refresh`](Self::refresh) at a token endpoint that takes DPoP
    /// proofs, with the proof that came with the request (checked by your
    /// [`DpopVerifier`](crate::dpop::DpopVerifier) against the token
    /// endpoint's method and URL), if any.
    ///
    /// A session bound at login ([`login_with_proof`](Self::login_with_proof))
    /// refreshes only with a proof by its key: without one the answer is
    /// `dpop_proof_required`, with a proof by another key
    /// `dpop_key_mismatch`, and in both cases nothing changes: the token is
    /// not spent (the client holding the key still refreshes with it), a
    /// spent token is not taken for reuse (the session is not ended by
    /// someone without the key), and nothing is told about the session.
    /// With the key, rotation, reuse detection, the retry and grace windows
    /// and the idle and absolute limits work as for any session, and each
    /// new access token carries the same `cnf.jkt`.
    ///
    /// A session that logged in without a proof stays unbound: a proof at
    /// refresh is accepted and binds nothing (its tokens stay bearer
    /// tokens). Refresh tokens stay as bound as they were at login.
    ///
    /// ```
    /// use auth_layer::dpop::{DpopVerifier, ProofRequest};
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{SessionErrorKind, Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    /// use jsonwebtoken::{Algorithm, EncodingKey};
    ///
    /// # fn proof_by(key: &EncodingKey, alg: Algorithm, htu: &str) -> String {
    /// #     use base64::Engine as _;
    /// #     static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    /// #     let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    /// #     let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(key, alg).unwrap();
    /// #     let iat = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    /// #     let jti = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    /// #     let alg_name = if alg == Algorithm::ES256 { "ES256" } else { "ES384" };
    /// #     let input = format!(
    /// #         "{}.{}",
    /// #         b64(serde_json::json!({ "typ": "dpop+jwt", "alg": alg_name, "jwk": jwk })),
    /// #         b64(serde_json::json!({ "jti": format!("{iat}-{jti}"), "htm": "POST", "htu": htu, "iat": iat })),
    /// #     );
    /// #     let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    /// #     format!("{input}.{signature}")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = MemoryStore::new();
    /// # let revocation = RevocationCache::builder(store.clone()).build()?;
    /// # let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
    /// # let sessions = Sessions::builder(issuer, store, revocation).build()?;
    /// const TOKEN_URL: &str = "https://auth.example/token";
    /// let verifier = DpopVerifier::builder().build()?;
    /// let endpoint = ProofRequest::new("POST", TOKEN_URL);
    /// let client = EncodingKey::from_ec_pem(&std::fs::read("../tests/keys/ec_p256_private.pem")?)?;
    /// let thief = EncodingKey::from_ec_pem(&std::fs::read("../tests/keys/ec_p384_private.pem")?)?;
    /// let proof = verifier.verify(&proof_by(&client, Algorithm::ES256, TOKEN_URL), &endpoint)?;
    /// let pair = sessions.login_with_proof("alice", serde_json::json!({}), Some(&proof)).await?;
    ///
    /// // A thief with the refresh token and a key of its own: refused, nothing spent.
    /// let theirs = verifier.verify(&proof_by(&thief, Algorithm::ES384, TOKEN_URL), &endpoint)?;
    /// let refused = sessions
    ///     .refresh_with_proof(pair.refresh_token().as_str(), Some(&theirs))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(refused.kind(), SessionErrorKind::DpopKeyMismatch);
    ///
    /// // The client still refreshes with the same refresh token.
    /// let ours = verifier.verify(&proof_by(&client, Algorithm::ES256, TOKEN_URL), &endpoint)?;
    /// let next = sessions.refresh_with_proof(pair.refresh_token().as_str(), Some(&ours)).await?;
    /// assert_eq!(next.access_token().token_type(), "DPoP");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// What [`refresh`](Self::refresh) answers; `dpop_proof_required` and
    /// `dpop_key_mismatch` (400, nothing changed) for a bound session
    /// without a proof by its key.
    pub async fn refresh_with_proof(
        &self,
        presented: &str,
        proof: Option<&VerifiedProof>,
    ) -> Result<Refreshed, SessionError> {
        self.refresh_proven(presented, proof.map(VerifiedProof::jkt), None)
            .await
    }
}

/// Whether a refresh proven with the key `proven` (the thumbprint of the
/// proof's key; `None` without a proof) may refresh `session`.
pub(super) fn binding(
    session: &SessionRecord,
    proven: Option<&str>,
) -> Result<(), SessionErrorKind> {
    match (session.dpop_jkt.as_deref(), proven) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(SessionErrorKind::DpopProofRequired),
        (Some(bound), Some(proven)) if bound == proven => Ok(()),
        (Some(_), Some(_)) => Err(SessionErrorKind::DpopKeyMismatch),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn session(dpop_jkt: Option<&str>) -> SessionRecord {
        SessionRecord {
            sid: "s1".into(),
            subject: "alice".into(),
            claims: Map::new(),
            version: 0,
            created_at: 0,
            expires_at: 100,
            last_used_at: 0,
            ended: None,
            dpop_jkt: dpop_jkt.map(str::to_owned),
            idle_timeout: None,
        }
    }

    #[test]
    fn the_binding_table() {
        let cases = [
            ("unbound, no proof", None, None, Ok(())),
            ("unbound, a proof binds nothing", None, Some("k1"), Ok(())),
            (
                "bound, no proof",
                Some("k1"),
                None,
                Err(SessionErrorKind::DpopProofRequired),
            ),
            ("bound, its key", Some("k1"), Some("k1"), Ok(())),
            (
                "bound, another key",
                Some("k1"),
                Some("k2"),
                Err(SessionErrorKind::DpopKeyMismatch),
            ),
        ];
        for (name, bound, proven, expected) in cases {
            assert_eq!(binding(&session(bound), proven), expected, "{name}");
        }
    }
}
