//! [`Verifier`]: every check a token goes through, in order, with the
//! verified-token cache in front.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::claims::{
    CacheFacts, DefaultClaims, Interner, RegisteredClaims, VerifiedToken, parse_registered,
    shared_str,
};
use crate::clock::Clock;
use crate::error::{AuthError, ErrorKind};
use crate::keys::IssuerKeys;
use crate::observe::metrics;
use crate::verify::jws::{Header, algorithm, b64, split, text, too_large, unverified_issuer};
use crate::verify::rules::Rules;
use crate::verify::token_cache::{TokenCache, entry_weight};

/// Verifies compact JWS tokens against the configured keys and rules.
///
/// Pure and synchronous: no I/O, no allocation beyond decoding. Obtain one
/// from [`JwtAuth::verifier`](crate::JwtAuth::verifier).
///
/// ```
/// use auth_layer::{ErrorKind, JwtAuth};
///
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64 }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let verifier = auth.verifier();
/// assert_eq!(verifier.verify(&token).unwrap().subject(), "alice");
/// assert_eq!(verifier.cached_tokens(), 1, "the next request skips the signature check");
/// assert_eq!(verifier.verify("not.a.jwt").unwrap_err().kind(), ErrorKind::Malformed);
/// ```
pub struct Verifier<C = DefaultClaims> {
    // Read by the logout-token check (`verify/logout.rs`) too.
    pub(super) issuer_keys: Vec<IssuerKeys>,
    pub(super) rules: Rules,
    pub(super) clock: Arc<dyn Clock>,
    cache: Option<TokenCache<C>>,
    cache_max_age: Duration,
    /// The configured issuers and audiences, shared with the tokens naming them.
    interner: Interner,
    /// The layer's challenge settings, carried by the tokens it verifies.
    challenge: Option<crate::response::Challenge>,
    _claims: PhantomData<fn() -> C>,
}

impl<C: DeserializeOwned + 'static> Verifier<C> {
    pub(crate) fn new(
        issuer_keys: Vec<IssuerKeys>,
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
                .chain(issuer_keys.iter().filter_map(|s| s.issuer.as_deref())),
            rules.audiences.iter().map(String::as_str).chain(
                issuer_keys
                    .iter()
                    .filter_map(|s| s.audiences.as_ref())
                    .flatten()
                    .map(String::as_str),
            ),
        );
        Self {
            interner,
            issuer_keys,
            rules,
            clock,
            cache: cache.and_then(|(bytes, _)| usable(TokenCache::new(bytes))),
            cache_max_age: cache.map_or(Duration::ZERO, |(_, age)| age),
            challenge: None,
            _claims: PhantomData,
        }
    }

    /// With the layer's challenge settings, which its tokens carry.
    pub(crate) fn with_challenge(mut self, challenge: crate::response::Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// Verifies `token` and returns its claims. A token verified before
    /// (same bytes) comes from the verified-token cache, with `exp` and
    /// `nbf` checked again against the clock.
    ///
    /// A token bound to a DPoP key (`cnf.jkt`) is refused
    /// ([`KeyBound`](crate::ErrorKind::KeyBound)): without a proof it is not
    /// a bearer token. The layer checks such tokens' proofs (see
    /// [`JwtAuthBuilder::dpop`](crate::JwtAuthBuilder::dpop)).
    ///
    /// # Errors
    /// An [`AuthError`] whose [`kind`](AuthError::kind) names the first rule
    /// the token broke.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken<C>, AuthError>
    where
        C: Send + Sync + 'static,
    {
        self.verify_any(token.as_bytes()).and_then(not_bound)
    }

    /// [`verify`](Self::verify), bound tokens included: the layer checks
    /// their proofs.
    ///
    /// The token comes as the request's bytes: the verified-token cache
    /// looks it up by them, so a hit never reads them as text (checking
    /// them for UTF-8 would cost a third of a hit). Only a token to verify
    /// in full is read as text.
    pub(crate) fn verify_any(&self, token: &[u8]) -> Result<VerifiedToken<C>, AuthError>
    where
        C: Send + Sync + 'static,
    {
        if token.len() > self.rules.max_token_bytes {
            return Err(too_large());
        }
        let Some(cache) = &self.cache else {
            return self
                .verify_timed(text(token)?)
                .map(|(verified, _)| verified);
        };
        // One clock reading for the entry's lifetime and `exp`/`nbf`.
        let now = self.clock.now();
        if let Some(verified) = cache.get(token, now) {
            metrics::token_cache(true);
            self.rules.check_times(verified.registered(), now)?;
            return Ok(verified);
        }
        metrics::token_cache(false);
        let (verified, weight) = self.verify_timed(text(token)?)?;
        cache.insert(token, verified.clone(), weight, now);
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
            .and_then(|(verified, _)| not_bound(verified))
    }

    /// [`verify_full`](Self::verify_full), timed for the metrics (hits are
    /// not: two clock reads would cost a third of a hit).
    fn verify_timed(&self, token: &str) -> Result<(VerifiedToken<C>, u32), AuthError> {
        let started = metrics::timer();
        let verified = self.verify_full(token);
        if let Some(started) = started {
            metrics::verify_duration(started.elapsed());
        }
        verified
    }

    /// Verifies `token` in full; with what it would weigh in the
    /// verified-token cache.
    fn verify_full(&self, token: &str) -> Result<(VerifiedToken<C>, u32), AuthError> {
        let (header_b64, payload_b64, signature_b64) = split(token)?;
        let signed = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .unwrap_or_default();

        let header_json = b64(header_b64, "token header is not base64url")?;
        repeated_members(
            &header_json,
            ErrorKind::Malformed,
            "token header repeats a member name",
        )?;
        let header: Header<'_> = serde_json::from_slice(&header_json).map_err(|e| {
            AuthError::malformed("token header is not a valid JOSE header").with_source(e)
        })?;
        match header.crit {
            None => {}
            Some(true) => {
                return Err(AuthError::new(
                    ErrorKind::UnsupportedCritical,
                    "token header lists critical extensions that are not supported",
                ));
            }
            Some(false) => {
                return Err(AuthError::new(
                    ErrorKind::UnsupportedCritical,
                    "token header `crit` is not a non-empty array of names (RFC 7515 section 4.1.11)",
                ));
            }
        }
        let alg = algorithm(&header.alg)?;
        if !self.rules.algorithms.contains(&alg) {
            return Err(AuthError::new(
                ErrorKind::AlgorithmNotAllowed,
                "token algorithm is not allowed",
            ));
        }
        self.rules.check_type(header.typ.as_deref())?;
        // With several trusted issuers, the unverified `iss` picks the keys
        // (and an unknown issuer is refused before any key is fetched);
        // nothing else of the payload is read before the signature verifies.
        let (keys, payload) = match self.issuer_keys.as_slice() {
            [only] if only.issuer.is_none() => (only, None),
            all => {
                let payload = b64(payload_b64, "token payload is not base64url")?;
                (
                    IssuerKeys::for_issuer(all, unverified_issuer(&payload).as_deref())?,
                    Some(payload),
                )
            }
        };
        let key = keys.select(alg, header.kid.as_deref())?;

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
        // A repeated claim would mean one thing to one reader and another
        // to the next (the first or the last occurrence): refused.
        repeated_members(
            &payload,
            ErrorKind::InvalidClaims,
            "token claims repeat a member name",
        )?;
        let (registered, extra) =
            parse_registered(&payload, &self.rules.claim_names, &self.interner).map_err(|e| {
                AuthError::new(
                    ErrorKind::InvalidClaims,
                    "token claims are not a JSON object with valid registered claims",
                )
                .with_source(e)
            })?;

        if keys.issuer.is_some() && registered.iss() != keys.issuer.as_deref() {
            return Err(AuthError::new(
                ErrorKind::InvalidIssuer,
                "token issuer is not trusted",
            ));
        }
        self.rules
            .check_claims(&registered, keys.audiences.as_ref(), self.clock.now())?;
        let claims: C = serde_json::from_slice(&payload).map_err(|e| {
            AuthError::new(
                ErrorKind::InvalidClaims,
                "token claims do not have the shape this service expects",
            )
            .with_source(e)
        })?;
        // The header's `kid` is the key's (shared) unless the key has none.
        let kid = header.kid.map(|kid| match key.shared_kid() {
            Some(shared) if ***shared == *kid => Arc::clone(shared),
            _ => shared_str(&kid),
        });
        let weight = entry_weight(
            &claims,
            payload.len(),
            &registered,
            &extra,
            kid.as_ref(),
            &key,
        );
        let cache = CacheFacts {
            key: Arc::downgrade(&key),
            until: self.cache_until(&registered),
        };
        let verified = VerifiedToken::new(
            claims,
            registered,
            extra,
            alg,
            kid,
            cache,
            self.challenge.clone(),
        );
        Ok((verified, weight))
    }
}

impl<C> Verifier<C> {
    /// The names of the version and session claims.
    pub(crate) fn claim_names(&self) -> &crate::claims::ClaimNames {
        &self.rules.claim_names
    }

    /// The verifier's clock, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

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

    /// Until when (Unix seconds, the verifier's clock) a verified token may
    /// stay cached: `exp` plus leeway, at most the configured maximum age
    /// from now (0 for a token never to be cached: before 1970).
    fn cache_until(&self, c: &RegisteredClaims) -> u32 {
        let max_age = i64::try_from(self.cache_max_age.as_secs()).unwrap_or(i64::MAX);
        let oldest = self.clock.now().saturating_add(max_age);
        let until = match c.exp() {
            None => oldest,
            Some(exp) => exp.saturating_add(self.rules.leeway).min(oldest),
        };
        u32::try_from(until.max(0)).unwrap_or(u32::MAX)
    }
}

impl<C> fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer_keys", &self.issuer_keys)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// Refuses JSON whose objects repeat a member name (at any depth).
fn repeated_members(
    json: &[u8],
    kind: ErrorKind,
    description: &'static str,
) -> Result<(), AuthError> {
    match crate::verify::strict_json::no_repeated_members(json) {
        Err(crate::verify::strict_json::StrictError::Duplicate) => {
            Err(AuthError::new(kind, description))
        }
        // Other faults are reported by the parse that follows.
        Ok(()) | Err(_) => Ok(()),
    }
}

/// A DPoP-bound token is no bearer token.
fn not_bound<C>(token: VerifiedToken<C>) -> Result<VerifiedToken<C>, AuthError> {
    if token.registered().cnf_jkt().is_some() {
        return Err(AuthError::key_bound());
    }
    Ok(token)
}

/// The verified-token cache, or none (with a warning) when the system gave
/// no randomness for its key: every token is then verified in full, never
/// looked up under a guessable key.
fn usable<C>(cache: Result<TokenCache<C>, getrandom::Error>) -> Option<TokenCache<C>> {
    cache
        .inspect_err(|e| {
            tracing::warn!(
                error = %e,
                "no randomness for the verified-token cache's key: every token is verified in full"
            );
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::JwtAuth;

    const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";

    /// What `tracing` wrote while `f` ran.
    fn logs_of(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = captured.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn without_randomness_for_its_key_the_cache_is_off_and_every_token_verified() {
        let no_randomness = |_: &mut [u8]| Err(getrandom::Error::UNSUPPORTED);
        let mut cache = None;
        let logs = logs_of(|| {
            cache = usable(TokenCache::<DefaultClaims>::keyed_by(
                1 << 20,
                no_randomness,
            ));
        });
        assert!(cache.is_none(), "no cache under a key that is not secret");
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains("every token is verified in full"), "{logs}");

        // The layer then verifies every token in full, and still answers.
        let auth = JwtAuth::builder().hmac_secret(SECRET).build().unwrap();
        let Ok(mut shared) = Arc::try_unwrap(auth.shared) else {
            panic!("the layer was just built")
        };
        shared.verifier.cache = cache;
        let auth = JwtAuth::from_shared(shared, crate::response::JsonResponder);
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64 }),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        let first = auth.verifier().verify(&token).unwrap();
        let second = auth.verifier().verify(&token).unwrap();
        assert_eq!(second.subject(), "alice");
        assert!(
            !std::ptr::eq(first.claims(), second.claims()),
            "verified again, not handed out again"
        );
        assert_eq!(auth.verifier().cached_tokens(), 0);
    }
}
