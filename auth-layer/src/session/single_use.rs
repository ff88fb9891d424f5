//! [`SingleUseTokens`]: short-lived tokens for one purpose each (an email
//! address to verify, a password to reset), spent atomically in the store
//! the first time they are used.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Header;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::{SessionError, SessionErrorKind, internal, issue_error, to_claims};
use super::issuer::IssueError;
use super::sessions::{Sessions, system_time};
use super::token::new_jti;
use crate::error::{ConfigError, ErrorKind};

/// The longest a single-use token may live: 7 days.
pub const MAX_SINGLE_USE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Single-use tokens for the flows that send a link: email verification,
/// password reset, an invitation. Each token is for one **purpose**, named
/// when the tokens are made, and is refused for any other.
///
/// A token is a JWT signed with the sessions' key, typed explicitly (RFC
/// 8725 section 3.11): its header `typ` is `<purpose>+jwt` and its `aud` is
/// `urn:auth-layer:single-use:<purpose>`, so it is never taken for an
/// access token: a layer from [`Sessions::jwt_auth`] requires `at+jwt`, and
/// any layer refuses an audience it was not given. It carries `iss` (when
/// the issuer has one), `sub`, `iat`, `exp`, a random `jti` and your
/// claims.
///
/// [`consume`](Self::consume) checks the signature, type, audience and
/// expiry (with no leeway), then spends the `jti` atomically in the
/// sessions' revocation store (Redis `SET NX`, a PostgreSQL insert, the
/// memory store's lock), remembered until five minutes after the token's
/// `exp`: of any number of concurrent uses, exactly one succeeds, on one
/// instance or many sharing the store.
///
/// | the token | kind | answer |
/// |---|---|---|
/// | used once already | [`SingleUseSpent`](SessionErrorKind::SingleUseSpent) | 400 `invalid_grant`, `single_use_spent` |
/// | expired | [`SingleUseExpired`](SessionErrorKind::SingleUseExpired) | 400 `invalid_grant`, `single_use_expired` |
/// | anything else: another purpose, an access token, a forgery, garbage | [`SingleUseInvalid`](SessionErrorKind::SingleUseInvalid) | 400 `invalid_grant`, `single_use_invalid` |
/// | the store does not answer | [`StoreUnavailable`](SessionErrorKind::StoreUnavailable) | 503 (the store may have recorded the use before its answer was lost: a retry can then be `single_use_spent`) |
///
/// ```
/// use std::time::Duration;
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::session::{SessionErrorKind, Sessions, SigningKey, TokenIssuer};
/// use auth_layer::store::MemoryStore;
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
/// let store = MemoryStore::new();
/// let sessions = Sessions::builder(issuer, store.clone(), RevocationCache::builder(store).build()?).build()?;
/// let tokens = sessions.single_use(["email-verification", "password-reset"])?;
///
/// let link = tokens.mint("email-verification", "alice", Duration::from_secs(24 * 3600), json!({ "email": "alice@example.com" }))?;
/// let used = tokens.consume("email-verification", &link).await?;
/// assert_eq!((used.subject(), used.claims()["email"].as_str()), ("alice", Some("alice@example.com")));
///
/// // Once only; and never for another purpose.
/// let again = tokens.consume("email-verification", &link).await.unwrap_err();
/// assert_eq!(again.kind(), SessionErrorKind::SingleUseSpent);
/// let reset = tokens.mint("password-reset", "alice", Duration::from_secs(900), ())?;
/// let wrong = tokens.consume("email-verification", &reset).await.unwrap_err();
/// assert_eq!(wrong.kind(), SessionErrorKind::SingleUseInvalid);
///
/// // Nor as an access token.
/// let auth = sessions.jwt_auth().build()?;
/// assert!(auth.verifier().verify(&reset).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SingleUseTokens {
    sessions: Sessions,
    /// The layer (its verifier) that checks each purpose's tokens.
    purposes: Arc<HashMap<String, crate::JwtAuth>>,
}

/// A consumed single-use token: who it was for, and its claims.
#[derive(Debug, Clone)]
pub struct SingleUseToken {
    purpose: String,
    subject: String,
    jti: String,
    expires_at: i64,
    claims: Map<String, Value>,
}

impl SingleUseToken {
    /// The purpose it was minted for.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The subject (`sub`) it was minted for.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Its id (`jti`), now spent.
    pub fn id(&self) -> &str {
        &self.jti
    }

    /// When it would have expired (Unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Every claim it carries, the registered ones included.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

impl Sessions {
    /// Single-use tokens for these purposes, signed and spent by these
    /// sessions; see [`SingleUseTokens`]. A purpose is lowercase ASCII
    /// letters, digits, `-`, `_` and `.`, starting with a letter or digit
    /// (it goes into the header `typ` as `<purpose>+jwt`).
    ///
    /// # Errors
    /// A purpose that is empty, malformed or `at` (the access tokens'
    /// type), or none at all.
    pub fn single_use<I: Into<String>>(
        &self,
        purposes: impl IntoIterator<Item = I>,
    ) -> Result<SingleUseTokens, ConfigError> {
        let mut verifiers = HashMap::new();
        for purpose in purposes {
            let purpose = purpose.into();
            check_purpose(&purpose)?;
            let auth = self
                .verifying()
                .audience(audience(&purpose))
                .token_type(format!("{purpose}+jwt"))
                // No leeway: a single-use token is refused from its `exp`
                // on, while the store still remembers it was used.
                .leeway(Duration::ZERO)
                .disable_token_cache()
                .build()?;
            verifiers.insert(purpose, auth);
        }
        if verifiers.is_empty() {
            return Err(ConfigError::setting(
                "single_use",
                "name at least one purpose",
            ));
        }
        Ok(SingleUseTokens {
            sessions: self.clone(),
            purposes: Arc::new(verifiers),
        })
    }
}

impl SingleUseTokens {
    /// The purposes these tokens are for.
    pub fn purposes(&self) -> impl Iterator<Item = &str> {
        self.purposes.keys().map(String::as_str)
    }

    /// Mints a token for `purpose` and `subject`, valid for `lifetime`
    /// (at most [`MAX_SINGLE_USE_LIFETIME`]), carrying `claims` (a JSON
    /// object, or `null` for none) besides the registered ones.
    ///
    /// # Errors
    /// `invalid_claims` for a purpose these tokens were not made for, a
    /// lifetime of zero or above the cap, claims that are not an object or
    /// set a registered claim; `internal_error` without randomness or a
    /// signature.
    pub fn mint(
        &self,
        purpose: &str,
        subject: &str,
        lifetime: Duration,
        claims: impl Serialize,
    ) -> Result<String, SessionError> {
        if !self.purposes.contains_key(purpose)
            || lifetime.as_secs() == 0
            || lifetime > MAX_SINGLE_USE_LIFETIME
        {
            return Err(SessionError::new(SessionErrorKind::InvalidClaims));
        }
        let issuer = &self.sessions.inner.issuer;
        let claims = to_claims(claims)?;
        issuer.check_claims(&claims).map_err(issue_error)?;
        let inner = &*issuer.inner;
        let now = issuer.now();
        let exp = now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
        let mut payload = Map::with_capacity(claims.len() + 6);
        if let Some(iss) = &inner.issuer {
            payload.insert("iss".into(), iss.as_str().into());
        }
        payload.insert("sub".into(), subject.into());
        payload.insert("aud".into(), audience(purpose).into());
        payload.insert("iat".into(), now.into());
        payload.insert("exp".into(), exp.into());
        payload.insert("jti".into(), new_jti().map_err(internal)?.into());
        payload.extend(claims);
        let mut header = Header::new(inner.key.algorithm());
        header.typ = Some(format!("{purpose}+jwt"));
        header.kid = inner.key.kid().map(str::to_owned);
        jsonwebtoken::encode(&header, &payload, inner.key.encoding())
            .map_err(|e| issue_error(IssueError::Signing(e)))
    }

    /// Verifies `token` as a token for `purpose` and spends it; see
    /// [`SingleUseTokens`] for the refusals.
    ///
    /// # Errors
    /// `single_use_spent`, `single_use_expired`, `single_use_invalid`,
    /// `store_unavailable`.
    pub async fn consume(
        &self,
        purpose: &str,
        token: &str,
    ) -> Result<SingleUseToken, SessionError> {
        let Some(verifier) = self.purposes.get(purpose).map(crate::JwtAuth::verifier) else {
            return Err(SessionError::new(SessionErrorKind::SingleUseInvalid));
        };
        let verified = verifier.verify(token).map_err(|e| {
            SessionError::new(match e.kind() {
                ErrorKind::Expired => SessionErrorKind::SingleUseExpired,
                _ => SessionErrorKind::SingleUseInvalid,
            })
        })?;
        let registered = verified.registered();
        let (Some(jti), Some(exp)) = (registered.jti(), registered.exp()) else {
            return Err(SessionError::new(SessionErrorKind::SingleUseInvalid));
        };
        let id = format!("single-use:{purpose}:{jti}");
        // Remembered past `exp` by the longest leeway a layer grants: no
        // verifier accepts the token any more by then, whatever the skew
        // between this clock and the store's.
        let forget_at = exp
            .saturating_add(i64::try_from(crate::verify::MAX_LEEWAY.as_secs()).unwrap_or(i64::MAX));
        let issuer = self.sessions.inner.issuer.iss();
        let first = self
            .sessions
            .bounded(
                "single_use",
                self.sessions.inner.revocation.store().first_use(
                    issuer,
                    &id,
                    system_time(forget_at),
                ),
            )
            .await?;
        if !first {
            tracing::debug!(purpose, "single-use token refused: already used");
            return Err(SessionError::new(SessionErrorKind::SingleUseSpent));
        }
        let mut claims = verified.all_claims();
        claims.remove("aud");
        Ok(SingleUseToken {
            purpose: purpose.to_owned(),
            subject: verified.subject().to_owned(),
            jti: jti.to_owned(),
            expires_at: exp,
            claims,
        })
    }
}

impl fmt::Debug for SingleUseTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut purposes: Vec<&str> = self.purposes.keys().map(String::as_str).collect();
        purposes.sort_unstable();
        f.debug_struct("SingleUseTokens")
            .field("purposes", &purposes)
            .finish_non_exhaustive()
    }
}

/// The audience of a purpose's tokens: none that an access token carries.
fn audience(purpose: &str) -> String {
    format!("urn:auth-layer:single-use:{purpose}")
}

fn check_purpose(purpose: &str) -> Result<(), ConfigError> {
    let well_formed = purpose.len() <= 64
        && purpose
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !well_formed || purpose == "at" {
        return Err(ConfigError::setting(
            "single_use",
            format!(
                "{purpose:?} is not a purpose: lowercase letters, digits, '-', '_' and '.', at most 64, not \"at\""
            ),
        ));
    }
    Ok(())
}
