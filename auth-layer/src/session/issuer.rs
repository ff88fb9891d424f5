//! [`TokenIssuer`]: mints access tokens the layer accepts.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::Header;
use serde_json::{Map, Value};

use super::access_token::{AccessToken, TokenRequest};
use super::lifetime::LifetimePolicy;
use super::signing::SigningKey;
use super::token::new_jti;
use crate::claims::{ClaimNames, REGISTERED};
use crate::clock::Clock;

/// The `typ` header of every access token (RFC 9068).
const TOKEN_TYPE: &str = "at+jwt";
/// The confirmation claim (RFC 7800) that holds `jkt` (RFC 9449 section 6.1).
const CONFIRMATION: &str = "cnf";

/// Mints access tokens: `typ` `at+jwt`, signed with the configured
/// [`SigningKey`] (its `kid` in the header), carrying `iss`, `aud` (when
/// configured), `sub`, `iat`, `nbf`, `exp` (from the [`LifetimePolicy`]),
/// a random `jti`, `ver` and `sid` (when given), `cnf.jkt` when bound to a
/// DPoP key ([`TokenRequest::bound_to`]) and the caller's claims.
/// Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use auth_layer::JwtAuth;
/// use auth_layer::session::{LifetimePolicy, SigningKey, TokenIssuer, TokenRequest};
/// use serde_json::json;
///
/// const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
/// let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap().with_kid("k1"))
///     .issuer("https://auth.example")
///     .audience("orders-api")
///     .lifetimes(LifetimePolicy::default().role("admin", Duration::from_secs(300)))
///     .build()
///     .unwrap();
/// let token = issuer
///     .issue(&TokenRequest::new("alice").version(3).session("s1").claim("roles", json!(["admin"])))
///     .unwrap();
/// assert_eq!(token.expires_in(), Duration::from_secs(300));
///
/// let auth = JwtAuth::builder()
///     .hmac_secret(SECRET)
///     .issuer("https://auth.example")
///     .audience("orders-api")
///     .token_type("at+jwt")
///     .required_claims(["sub", "iat", "nbf", "jti"])
///     .build()
///     .unwrap();
/// let verified = auth.verifier().verify(token.as_str()).unwrap();
/// assert_eq!((verified.subject(), verified.version(), verified.session_id()), ("alice", Some(3), Some("s1")));
/// assert_eq!(verified.key_id(), Some("k1"));
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    pub(super) inner: Arc<Inner>,
}

/// The checked configuration, built by [`TokenIssuerBuilder`](super::TokenIssuerBuilder).
pub(super) struct Inner {
    pub(super) key: SigningKey,
    pub(super) issuer: Option<String>,
    pub(super) audiences: Vec<String>,
    pub(super) lifetimes: LifetimePolicy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) names: ClaimNames,
}

impl TokenIssuer {
    /// The `iss` this issuer writes; `""` when it writes none (the scope
    /// revocation records of its tokens are kept under).
    pub fn iss(&self) -> &str {
        self.inner.issuer.as_deref().unwrap_or("")
    }

    /// Mints an access token for `request`.
    ///
    /// # Errors
    /// The request's claims set a claim the issuer sets itself, no random
    /// bytes could be had from the operating system, or signing failed.
    pub fn issue(&self, request: &TokenRequest) -> Result<AccessToken, IssueError> {
        let inner = &*self.inner;
        self.check_claims(&request.claims)?;
        let lifetime = inner.lifetimes.lifetime_for(&request.claims);
        let now = inner.clock.now();
        let expires_at = now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
        let jti = new_jti().map_err(IssueError::Random)?;

        let mut claims = Map::with_capacity(request.claims.len() + 10);
        if let Some(iss) = &inner.issuer {
            claims.insert("iss".into(), iss.as_str().into());
        }
        claims.insert("sub".into(), request.subject.as_str().into());
        match inner.audiences.as_slice() {
            [] => {}
            [one] => {
                claims.insert("aud".into(), one.as_str().into());
            }
            many => {
                claims.insert("aud".into(), many.into());
            }
        }
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("exp".into(), expires_at.into());
        claims.insert("jti".into(), jti.as_str().into());
        if let Some(version) = request.version {
            claims.insert(inner.names.version.clone(), version.into());
        }
        if let Some(sid) = &request.session {
            claims.insert(inner.names.session.clone(), sid.as_str().into());
        }
        if let Some(jkt) = &request.jkt {
            claims.insert(CONFIRMATION.into(), serde_json::json!({ "jkt": jkt }));
        }
        claims.extend(request.claims.iter().map(|(k, v)| (k.clone(), v.clone())));

        let mut header = Header::new(inner.key.algorithm());
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = inner.key.kid().map(str::to_owned);
        let token = jsonwebtoken::encode(&header, &claims, inner.key.encoding())
            .map_err(IssueError::Signing)?;
        Ok(AccessToken {
            token,
            jti,
            issued_at: now,
            expires_at,
            lifetime,
            jkt: request.jkt.clone(),
        })
    }

    /// Refuses claims the issuer sets itself.
    pub(crate) fn check_claims(&self, claims: &Map<String, Value>) -> Result<(), IssueError> {
        let inner = &*self.inner;
        let reserved = |name: &str| {
            REGISTERED.contains(&name)
                || name == CONFIRMATION
                || name == inner.names.version
                || name == inner.names.session
        };
        match claims.keys().find(|name| reserved(name)) {
            Some(name) => Err(IssueError::ReservedClaim(name.clone())),
            None => Ok(()),
        }
    }

    /// The lifetime policy.
    pub fn lifetimes(&self) -> &LifetimePolicy {
        &self.inner.lifetimes
    }

    /// The signing key's algorithm and `kid`.
    pub fn key(&self) -> &SigningKey {
        &self.inner.key
    }

    /// The clock `iat`/`exp` come from (shared with [`Sessions`](super::Sessions)).
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("TokenIssuer")
            .field("key", &inner.key)
            .field("issuer", &inner.issuer)
            .field("audiences", &inner.audiences)
            .field("lifetimes", &inner.lifetimes)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// A claim the issuer sets itself (`iss`, `sub`, `aud`, `exp`, `nbf`,
    /// `iat`, `jti`, `cnf`, or the version/session claim).
    #[error("the claim {0:?} is set by the issuer and cannot be given")]
    ReservedClaim(String),
    /// The claims are not a JSON object.
    #[error("the claims must be a JSON object")]
    NotAnObject,
    /// The operating system gave no random bytes for the `jti`.
    #[error("no random bytes from the operating system")]
    Random(#[source] getrandom::Error),
    /// The key could not sign.
    #[error("signing the token failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn issuer() -> TokenIssuer {
        TokenIssuer::builder(SigningKey::hmac([7u8; 32]).unwrap())
            .issuer("https://auth.example")
            .audience("a")
            .audience("b")
            .clock(ManualClock::new(1_000))
            .build()
            .unwrap()
    }

    fn payload(token: &AccessToken) -> Value {
        use base64::Engine as _;
        let segment = token.as_str().split('.').nth(1).unwrap();
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn tokens_carry_every_registered_claim() {
        let token = issuer()
            .issue(
                &TokenRequest::new("alice")
                    .version(2)
                    .session("s1")
                    .claim("x", 1),
            )
            .unwrap();
        let claims = payload(&token);
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": "https://auth.example", "sub": "alice", "aud": ["a", "b"],
                "iat": 1000, "nbf": 1000, "exp": 1900, "jti": token.jti(),
                "ver": 2, "sid": "s1", "x": 1,
            })
        );
        assert_eq!(token.jti().len(), 22);
    }

    #[test]
    fn reserved_claims_cannot_be_given() {
        for name in ["sub", "exp", "jti", "ver", "sid", "cnf"] {
            let err = issuer()
                .issue(&TokenRequest::new("alice").claim(name, "x"))
                .unwrap_err();
            assert!(
                matches!(err, IssueError::ReservedClaim(ref n) if n == name),
                "{name}"
            );
        }
    }

    #[test]
    fn a_bound_token_carries_its_key_thumbprint_in_cnf() {
        let token = issuer()
            .issue(&TokenRequest::new("alice").session("s1").bound_to("jkt-1"))
            .unwrap();
        assert_eq!(
            payload(&token)["cnf"],
            serde_json::json!({ "jkt": "jkt-1" })
        );
        assert_eq!((token.jkt(), token.token_type()), (Some("jkt-1"), "DPoP"));
        let unbound = issuer().issue(&TokenRequest::new("alice")).unwrap();
        assert_eq!(payload(&unbound).get("cnf"), None);
        assert_eq!((unbound.jkt(), unbound.token_type()), (None, "Bearer"));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = issuer().issue(&TokenRequest::new("alice")).unwrap();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn claim_names_are_checked_at_build() {
        let builder = || TokenIssuer::builder(SigningKey::hmac([7u8; 32]).unwrap());
        assert!(builder().version_claim("exp").build().is_err());
        assert!(builder().session_claim("ver").build().is_err());
        assert!(builder().issuer("").build().is_err());
    }
}
