//! The verifier: every check a token goes through, in order, without I/O.
//!
//! size cap -> three segments -> header (JSON, `alg`, `crit`, `typ`) -> key by
//! `kid` and algorithm family -> signature -> claims (JSON, required, `exp`,
//! `nbf`, `iat`, `iss`, `aud`) -> your claims type.
//!
//! ```
//! use auth_layer::{ErrorKind, JwtAuth};
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let err = auth.verifier().verify("not.a.jwt").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Malformed);
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::claims::{
    CacheFacts, ClaimNames, DefaultClaims, Interner, RegisteredClaims, VerifiedToken, heap_chunk,
    parse_registered,
};
use crate::clock::Clock;
use crate::error::{AuthError, ErrorKind};
use crate::issuer::Scope;
use crate::keys::parse_algorithm;
use crate::observe::metrics;
use crate::token_cache::{ENTRY_OVERHEAD, TokenCache};

/// A registered claim that can be required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequiredClaim {
    /// `exp`
    Exp,
    /// `nbf`
    Nbf,
    /// `iat`
    Iat,
    /// `iss`
    Iss,
    /// `sub`
    Sub,
    /// `aud`
    Aud,
    /// `jti`
    Jti,
}

impl RequiredClaim {
    /// Parses a claim name (`"exp"`, `"sub"`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "exp" => Self::Exp,
            "nbf" => Self::Nbf,
            "iat" => Self::Iat,
            "iss" => Self::Iss,
            "sub" => Self::Sub,
            "aud" => Self::Aud,
            "jti" => Self::Jti,
            _ => return None,
        })
    }

    fn present_in(self, c: &RegisteredClaims) -> bool {
        match self {
            Self::Exp => c.exp().is_some(),
            Self::Nbf => c.nbf().is_some(),
            Self::Iat => c.iat().is_some(),
            Self::Iss => c.iss().is_some(),
            Self::Sub => c.sub().is_some(),
            Self::Aud => c.aud().is_some(),
            Self::Jti => c.jti().is_some(),
        }
    }

    fn missing(self) -> AuthError {
        let description = match self {
            Self::Exp => "token has no exp claim",
            Self::Nbf => "token has no nbf claim",
            Self::Iat => "token has no iat claim",
            Self::Iss => "token has no iss claim",
            Self::Sub => "token has no sub claim",
            Self::Aud => "token has no aud claim",
            Self::Jti => "token has no jti claim",
        };
        AuthError::new(ErrorKind::MissingClaim, description)
    }
}

/// The claim rules, as configured.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: i64,
    pub(crate) required: Vec<RequiredClaim>,
    pub(crate) token_type: Option<String>,
    pub(crate) max_token_bytes: usize,
    pub(crate) claim_names: ClaimNames,
}

/// Verifies compact JWS tokens against the configured keys and rules.
///
/// Pure and synchronous: no I/O, no allocation beyond decoding. Obtain one
/// from [`JwtAuth::verifier`](crate::JwtAuth::verifier).
pub struct Verifier<C = DefaultClaims> {
    scopes: Vec<Scope>,
    rules: Rules,
    clock: Arc<dyn Clock>,
    cache: Option<TokenCache<C>>,
    cache_max_age: Duration,
    /// The configured issuers and audiences, shared with the tokens naming them.
    interner: Interner,
    _claims: PhantomData<fn() -> C>,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

impl<C: DeserializeOwned + 'static> Verifier<C> {
    pub(crate) fn new(
        scopes: Vec<Scope>,
        rules: Rules,
        clock: Arc<dyn Clock>,
        cache: Option<(u64, Duration)>,
    ) -> Self
    where
        C: Send + Sync + 'static,
    {
        let interner = Interner::new(
            rules
                .issuers
                .iter()
                .map(String::as_str)
                .chain(scopes.iter().filter_map(|s| s.issuer.as_deref())),
            rules.audiences.iter().map(String::as_str).chain(
                scopes
                    .iter()
                    .filter_map(|s| s.audiences.as_ref())
                    .flatten()
                    .map(String::as_str),
            ),
        );
        Self {
            interner,
            scopes,
            rules,
            clock,
            cache: cache.map(|(bytes, _)| TokenCache::new(bytes)),
            cache_max_age: cache.map_or(Duration::ZERO, |(_, age)| age),
            _claims: PhantomData,
        }
    }

    /// Verifies `token` and returns its claims. A token verified before
    /// (same bytes) comes from the verified-token cache, with `exp` and
    /// `nbf` checked again against the clock.
    ///
    /// # Errors
    /// An [`AuthError`] whose [`kind`](AuthError::kind) names the first rule
    /// the token broke.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken<C>, AuthError>
    where
        C: Send + Sync + 'static,
    {
        if token.len() > self.rules.max_token_bytes {
            return Err(too_large());
        }
        let Some(cache) = &self.cache else {
            return self.verify_timed(token);
        };
        // One clock reading for the entry's lifetime and `exp`/`nbf`.
        let now = self.clock.now();
        if let Some(verified) = cache.get(token, now) {
            metrics::token_cache(true);
            self.check_times(verified.registered(), now)?;
            return Ok(verified);
        }
        metrics::token_cache(false);
        let verified = self.verify_timed(token)?;
        cache.insert(token, verified.clone(), now);
        Ok(verified)
    }

    /// Verifies `token` in full, bypassing the verified-token cache (what a
    /// cache miss costs).
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_uncached(&self, token: &str) -> Result<VerifiedToken<C>, AuthError> {
        if token.len() > self.rules.max_token_bytes {
            return Err(too_large());
        }
        self.verify_full(token)
    }

    /// [`verify_full`](Self::verify_full), timed for the metrics (hits are
    /// not: two clock reads would cost a third of a hit).
    fn verify_timed(&self, token: &str) -> Result<VerifiedToken<C>, AuthError> {
        let started = metrics::timer();
        let verified = self.verify_full(token);
        if let Some(started) = started {
            metrics::verify_duration(started.elapsed());
        }
        verified
    }

    fn verify_full(&self, token: &str) -> Result<VerifiedToken<C>, AuthError> {
        let (header_b64, payload_b64, signature_b64) = split(token)?;
        let signed = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .unwrap_or_default();

        let header_json = b64(header_b64, "token header is not base64url")?;
        let header: Header<'_> = serde_json::from_slice(&header_json).map_err(|e| {
            AuthError::malformed("token header is not a valid JOSE header").with_source(e)
        })?;
        if header.crit.is_some() {
            return Err(AuthError::new(
                ErrorKind::UnsupportedCritical,
                "token header lists critical extensions that are not supported",
            ));
        }
        let alg = algorithm(&header.alg)?;
        if !self.rules.algorithms.contains(&alg) {
            return Err(AuthError::new(
                ErrorKind::AlgorithmNotAllowed,
                "token algorithm is not allowed",
            ));
        }
        self.check_type(header.typ.as_deref())?;
        // With several trusted issuers, the unverified `iss` picks the keys
        // (and an unknown issuer is refused before any key is fetched);
        // nothing else of the payload is read before the signature verifies.
        let (scope, payload) = match self.scopes.as_slice() {
            [only] if only.issuer.is_none() => (only, None),
            _ => {
                let payload = b64(payload_b64, "token payload is not base64url")?;
                (
                    self.scope(unverified_issuer(&payload).as_deref())?,
                    Some(payload),
                )
            }
        };
        let key = scope.select(alg, header.kid.as_deref())?;

        match jsonwebtoken::crypto::verify(signature_b64, signed.as_bytes(), key.decoding(), alg) {
            Ok(true) => {}
            Ok(false) => {
                return Err(AuthError::new(
                    ErrorKind::InvalidSignature,
                    "token signature is invalid",
                ));
            }
            Err(e) => {
                let kind = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => ErrorKind::Malformed,
                    _ => ErrorKind::InvalidSignature,
                };
                let description = match kind {
                    ErrorKind::Malformed => "token signature is not base64url",
                    _ => "token signature is invalid",
                };
                return Err(AuthError::new(kind, description).with_source(e));
            }
        }

        let payload = match payload {
            Some(payload) => payload,
            None => b64(payload_b64, "token payload is not base64url")?,
        };
        let (registered, session) =
            parse_registered(&payload, &self.rules.claim_names, &self.interner).map_err(|e| {
                AuthError::new(
                    ErrorKind::InvalidClaims,
                    "token claims are not a JSON object with valid registered claims",
                )
                .with_source(e)
            })?;

        if scope.issuer.is_some() && registered.iss() != scope.issuer.as_deref() {
            return Err(AuthError::new(
                ErrorKind::InvalidIssuer,
                "token issuer is not trusted",
            ));
        }
        self.check_claims(&registered, scope)?;
        let claims: C = serde_json::from_slice(&payload).map_err(|e| {
            AuthError::new(
                ErrorKind::InvalidClaims,
                "token claims do not have the shape this service expects",
            )
            .with_source(e)
        })?;
        // The header's `kid` is the key's (shared) unless the key has none.
        let kid = header.kid.map(|kid| match key.shared_kid() {
            Some(shared) if **shared == *kid => Arc::clone(shared),
            _ => Arc::from(kid),
        });
        let claims_bytes = match (&claims as &dyn Any).downcast_ref::<DefaultClaims>() {
            Some(default) => default.heap_bytes(),
            None if size_of::<C>() == 0 => 0,
            // Another claims type keeps at most the claims' text, in a few
            // allocations: counted as the payload's size, to err on the
            // safe side of the memory budget.
            None => heap_chunk(payload.len()),
        };
        let weight = usize::try_from(ENTRY_OVERHEAD).unwrap_or(usize::MAX)
            + VerifiedToken::<C>::own_bytes(&registered, &session)
            + kid.as_ref().map_or(0, |k| {
                if key.shared_kid().is_some_and(|s| Arc::ptr_eq(s, k)) {
                    0
                } else {
                    heap_chunk(2 * size_of::<usize>() + k.len())
                }
            })
            + claims_bytes;
        let cache = CacheFacts {
            key: Arc::downgrade(&key),
            until: self.cache_until(&registered),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        };
        Ok(VerifiedToken::new(
            claims, registered, session, alg, kid, cache,
        ))
    }
}

impl<C> Verifier<C> {
    /// Tokens in the verified-token cache (0 when it is disabled).
    pub fn cached_tokens(&self) -> u64
    where
        C: Send + Sync + 'static,
    {
        self.cache.as_ref().map_or(0, TokenCache::entry_count)
    }

    /// The verified-token cache's estimated size in bytes.
    pub fn cached_bytes(&self) -> u64
    where
        C: Send + Sync + 'static,
    {
        self.cache.as_ref().map_or(0, TokenCache::weighted_size)
    }

    fn check_type(&self, typ: Option<&str>) -> Result<(), AuthError> {
        let Some(expected) = &self.rules.token_type else {
            return Ok(());
        };
        let Some(typ) = typ else {
            return Err(AuthError::new(
                ErrorKind::InvalidTokenType,
                "token has no typ header",
            ));
        };
        if media_type_eq(typ, expected) {
            Ok(())
        } else {
            Err(AuthError::new(
                ErrorKind::InvalidTokenType,
                "token type is not accepted",
            ))
        }
    }

    /// Until when (Unix seconds, the verifier's clock) a verified token may
    /// stay cached: `exp` plus leeway, at most the configured maximum age
    /// from now.
    fn cache_until(&self, c: &RegisteredClaims) -> i64 {
        let max_age = i64::try_from(self.cache_max_age.as_secs()).unwrap_or(i64::MAX);
        let oldest = self.clock.now().saturating_add(max_age);
        match c.exp() {
            None => oldest,
            Some(exp) => exp.saturating_add(self.rules.leeway).min(oldest),
        }
    }

    /// The checks that depend on the time: `exp` and `nbf` at `now` (run
    /// again on every cache hit).
    fn check_times(&self, c: &RegisteredClaims, now: i64) -> Result<(), AuthError> {
        let leeway = self.rules.leeway;
        if c.exp().is_some_and(|exp| now > exp.saturating_add(leeway)) {
            return Err(AuthError::new(ErrorKind::Expired, "token expired"));
        }
        if c.nbf().is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(AuthError::new(
                ErrorKind::NotYetValid,
                "token is not valid yet",
            ));
        }
        Ok(())
    }

    /// The keys and audiences for a token from `iss`.
    fn scope(&self, iss: Option<&str>) -> Result<&Scope, AuthError> {
        match self.scopes.as_slice() {
            [only] if only.issuer.is_none() => Ok(only),
            scopes => scopes
                .iter()
                .find(|s| s.issuer.as_deref() == iss && iss.is_some())
                .ok_or_else(|| {
                    AuthError::new(ErrorKind::InvalidIssuer, "token issuer is not trusted")
                }),
        }
    }

    fn check_claims(&self, c: &RegisteredClaims, scope: &Scope) -> Result<(), AuthError> {
        if let Some(missing) = self.rules.required.iter().find(|r| !r.present_in(c)) {
            return Err(missing.missing());
        }
        let now = self.clock.now();
        self.check_times(c, now)?;
        let leeway = self.rules.leeway;
        if c.iat().is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(AuthError::new(
                ErrorKind::IssuedInFuture,
                "token is issued in the future",
            ));
        }
        if !self.rules.issuers.is_empty() {
            match c.iss() {
                None => {
                    return Err(AuthError::new(
                        ErrorKind::InvalidIssuer,
                        "token has no issuer",
                    ));
                }
                Some(iss) if !self.rules.issuers.iter().any(|i| i == iss) => {
                    return Err(AuthError::new(
                        ErrorKind::InvalidIssuer,
                        "token issuer is not accepted",
                    ));
                }
                Some(_) => {}
            }
        }
        let audiences = scope.audiences.as_ref().unwrap_or(&self.rules.audiences);
        match (c.aud(), audiences.is_empty()) {
            (None, false) => Err(AuthError::new(
                ErrorKind::InvalidAudience,
                "token has no audience",
            )),
            (Some(aud), false) if !audiences.iter().any(|a| aud.contains(a)) => Err(
                AuthError::new(ErrorKind::InvalidAudience, "token audience is not accepted"),
            ),
            // RFC 7519 4.1.3: a token naming an audience must be rejected by a
            // recipient that does not identify itself with it.
            (Some(_), true) => Err(AuthError::new(
                ErrorKind::InvalidAudience,
                "token names an audience but this service accepts none",
            )),
            _ => Ok(()),
        }
    }
}

impl<C> fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scopes", &self.scopes)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The `iss` of a payload not yet verified, read leniently: only to pick
/// the trusted issuer's keys.
fn unverified_issuer(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss<'a> {
        #[serde(borrow, default)]
        iss: Option<Cow<'a, str>>,
    }
    serde_json::from_slice::<Iss<'_>>(payload)
        .ok()?
        .iss
        .map(Cow::into_owned)
}

fn too_large() -> AuthError {
    AuthError::new(ErrorKind::TokenTooLarge, "token is larger than allowed")
}

fn split(token: &str) -> Result<(&str, &str, &str), AuthError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() => Ok((h, p, s)),
        (Some(_), Some(_), Some(_), Some(_)) if token.split('.').count() == 5 => Err(
            AuthError::malformed("encrypted tokens (JWE) are not supported"),
        ),
        _ => Err(AuthError::malformed(
            "token is not a compact JWS (three base64url segments)",
        )),
    }
}

fn b64(segment: &str, description: &'static str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| AuthError::malformed(description).with_source(e))
}

fn algorithm(name: &str) -> Result<Algorithm, AuthError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(AuthError::new(
            ErrorKind::AlgorithmNotAllowed,
            "unsigned tokens (alg none) are never accepted",
        ));
    }
    parse_algorithm(name).ok_or_else(|| {
        AuthError::new(
            ErrorKind::AlgorithmNotAllowed,
            "token algorithm is not supported",
        )
    })
}

/// RFC 9068 section 4 / RFC 7515 section 4.1.9: `typ` is a media type whose
/// `application/` prefix may be omitted; compared case-insensitively.
fn media_type_eq(a: &str, b: &str) -> bool {
    fn short(s: &str) -> &str {
        match s.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                s.get(12..).unwrap_or_default()
            }
            _ => s,
        }
    }
    short(a).eq_ignore_ascii_case(short(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_without_application_prefix() {
        assert!(media_type_eq("at+jwt", "at+jwt"));
        assert!(media_type_eq("application/AT+JWT", "at+jwt"));
        assert!(media_type_eq("at+jwt", "application/at+jwt"));
        assert!(!media_type_eq("JWT", "at+jwt"));
        assert!(!media_type_eq("application/", "at+jwt"));
    }

    #[test]
    fn segments_are_counted() {
        assert!(split("a.b.c").is_ok());
        assert!(
            split("a.b.").is_ok(),
            "an empty signature is left to the signature check"
        );
        for bad in ["", "a", "a.b", "a.b.c.d", ".b.c", "a..c"] {
            assert_eq!(
                split(bad).unwrap_err().kind(),
                ErrorKind::Malformed,
                "{bad:?}"
            );
        }
        assert_eq!(
            split("a.b.c.d.e").unwrap_err().description(),
            "encrypted tokens (JWE) are not supported"
        );
    }

    #[test]
    fn none_is_refused_in_every_spelling() {
        for name in ["none", "None", "NONE", "nOnE"] {
            let e = algorithm(name).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlgorithmNotAllowed);
            assert_eq!(
                e.description(),
                "unsigned tokens (alg none) are never accepted"
            );
        }
        assert_eq!(
            algorithm("hs256").unwrap_err().kind(),
            ErrorKind::AlgorithmNotAllowed
        );
        assert_eq!(algorithm("HS256").unwrap(), Algorithm::HS256);
    }
}
