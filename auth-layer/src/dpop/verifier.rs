//! [`DpopVerifier`]: a DPoP proof checked against the request it came with.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::backend::DEFAULT_STORE_TIMEOUT;
use crate::clock::{Clock, SystemClock};
use crate::dpop::error::DpopError;
use crate::dpop::htu;
use crate::dpop::replay::{NotRecorded, ReplayMemory};
use crate::dpop::thumbprint::jwk_thumbprint;
use crate::error::ConfigError;
use crate::keys::parse_algorithm;
use crate::mac::hmac_sha256;
use crate::revocation::RevocationStore;
use crate::verify::strict_json;

/// The default window around the server's clock in which a proof's `iat`
/// must fall, either way.
pub const DEFAULT_IAT_WINDOW: Duration = Duration::from_secs(60);
/// The largest proof read, in bytes.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// The default number of proof ids remembered against replay.
pub const DEFAULT_REPLAY_CAPACITY: u64 = 1_000_000;

/// The request a proof must speak for: its method, its URI, and (at a
/// resource) the access token it comes with and the key that token is
/// bound to.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    method: &'a str,
    uri: &'a str,
    access_token: Option<&'a str>,
    bound_to: Option<&'a str>,
}

impl<'a> ProofRequest<'a> {
    /// A request with this method (`POST`) and absolute URI as the client
    /// addressed it (`https://api.example/orders`; behind a proxy, the
    /// external one). Query and fragment are ignored.
    pub fn new(method: &'a str, uri: &'a str) -> Self {
        Self {
            method,
            uri,
            access_token: None,
            bound_to: None,
        }
    }

    /// The access token presented with the proof: the proof's `ath` must be
    /// its hash.
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// The JWK thumbprint the access token is bound to (its `cnf.jkt`): the
    /// proof must be signed by that key.
    #[must_use]
    pub fn bound_to(mut self, jkt: &'a str) -> Self {
        self.bound_to = Some(jkt);
        self
    }
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    jkt: String,
    jti: String,
    issued_at: i64,
    nonce: Option<String>,
}

impl VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key: the `cnf.jkt` a token
    /// issued to this client is bound to.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The proof's `iat`.
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// The proof's `nonce`, for a server that hands out nonces to check.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
}

/// Checks DPoP proofs (RFC 9449) as section 4.3 lists, in its order: one
/// `DPoP` header holding a JWS whose `typ` is `dpop+jwt`, whose `alg` is an
/// allowed asymmetric algorithm and whose `jwk` is a public key of that
/// algorithm's family that verifies its signature; whose `jti`, `htm`,
/// `htu` and `iat` are present; `htm` the request's method, `htu` its URI
/// (both normalised), `iat` within the window (default ±60 s), `ath` the
/// access token's hash when a token comes with it, the key the one the
/// token is bound to; and whose `jti` was not seen before within the
/// window (remembered in memory, per key).
///
/// Cheap to clone; clones share the memory of seen proofs.
///
/// ```
/// use auth_layer::clock::ManualClock;
/// use auth_layer::dpop::{DpopError, DpopVerifier, ProofRequest};
///
/// // RFC 9449 figure 2: a proof for `POST https://server.example.com/token`.
/// let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// let verifier = DpopVerifier::builder()
///     .clock(ManualClock::new(1_562_262_616))
///     .build()
///     .unwrap();
/// let request = ProofRequest::new("POST", "https://server.example.com/token");
/// let verified = verifier.verify(proof, &request).unwrap();
/// assert_eq!(verified.jkt(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
/// // The same proof again is a replay.
/// assert_eq!(verifier.verify(proof, &request), Err(DpopError::Replayed));
/// ```
#[derive(Clone)]
pub struct DpopVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Vec<Algorithm>,
    window: i64,
    clock: Arc<dyn Clock>,
    /// SHA-256 of (jkt, jti) of the proofs seen within the window, refused
    /// again; full, it refuses every proof rather than forget an id whose
    /// proof could pass again.
    seen: ReplayMemory,
    /// Proof headers that passed their checks, by their exact base64url
    /// text (a client sends the same header with every proof): the key
    /// built from the `jwk` and its thumbprint, read once.
    headers: moka::sync::Cache<Box<str>, Arc<ProofKey>, ahash::RandomState>,
    /// Where proofs are remembered across instances, if anywhere.
    shared: Option<Arc<dyn RevocationStore>>,
    store_timeout: Duration,
    /// Server nonces, when handed out: the key and the length of a slot.
    nonces: Option<(NonceKey, i64)>,
}

/// The key nonces are MACed with: derived from the configured secret, so
/// that instances sharing it accept each other's nonces.
#[derive(Clone)]
struct NonceKey([u8; 32]);

/// A nonce: the time slot it was issued in (8 bytes, big-endian) and the
/// first 16 bytes of its HMAC-SHA256.
const NONCE_BYTES: usize = 24;

/// The scope (in place of an issuer) under which proofs are recorded in a
/// shared store's one-time ids: not a URL, so no issuer's ids share it.
pub const SHARED_PROOF_SCOPE: &str = "dpop-proof";

/// The claims of a proof that section 4.3 reads, borrowed from the payload
/// where they hold no escape; a claim of another type fails the parse.
#[derive(serde::Deserialize)]
struct ProofClaims<'a> {
    #[serde(borrow, default)]
    jti: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    htm: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    htu: Option<Cow<'a, str>>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(borrow, default)]
    ath: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nonce: Option<Cow<'a, str>>,
}

/// What a checked proof header yields.
struct ProofKey {
    alg: Algorithm,
    key: DecodingKey,
    jkt: String,
}

/// How many distinct proof headers (client keys) are kept read.
const HEADERS_KEPT: u64 = 10_000;

/// Configures a [`DpopVerifier`].
pub struct DpopVerifierBuilder {
    algorithms: Vec<Algorithm>,
    window: Duration,
    clock: Arc<dyn Clock>,
    capacity: u64,
    shared: Option<Arc<dyn RevocationStore>>,
    store_timeout: Duration,
    nonces: Option<(Vec<u8>, Duration)>,
}

impl DpopVerifier {
    /// A verifier accepting ES256, ES384, EdDSA, RS256 and PS256 proofs
    /// whose `iat` is within 60 s of the clock.
    pub fn builder() -> DpopVerifierBuilder {
        DpopVerifierBuilder {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::RS256,
                Algorithm::PS256,
            ],
            window: DEFAULT_IAT_WINDOW,
            clock: Arc::new(SystemClock),
            capacity: DEFAULT_REPLAY_CAPACITY,
            shared: None,
            store_timeout: DEFAULT_STORE_TIMEOUT,
            nonces: None,
        }
    }

    /// A fresh server nonce for the `DPoP-Nonce` header (RFC 9449 section
    /// 8), when the verifier hands out nonces: valid for this time slot and
    /// the next, on every instance that shares the secret. No state is kept.
    pub fn nonce(&self) -> Option<String> {
        let (key, slot) = self.inner.nonces.as_ref()?;
        let slot = self.inner.clock.now().div_euclid(*slot);
        Some(URL_SAFE_NO_PAD.encode(nonce_bytes(key, slot)))
    }

    /// Whether proofs are recorded in a shared store (checked with
    /// [`verify_shared`](Self::verify_shared)).
    pub(crate) fn is_shared(&self) -> bool {
        self.inner.shared.is_some()
    }

    /// The algorithms proofs may be signed with, for the `DPoP algs="…"`
    /// challenge parameter.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.inner.algorithms
    }

    /// Checks the one `DPoP` header of a request.
    ///
    /// # Errors
    /// [`Missing`](DpopError::Missing), [`Multiple`](DpopError::Multiple),
    /// or why [`verify`](Self::verify) refused the proof.
    pub fn verify_header(
        &self,
        headers: &HeaderMap,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        self.verify(proof_header(headers)?, request)
    }

    /// Checks `proof` against `request`; a proof that passes is remembered
    /// in this process, so that it passes once here. With a
    /// [shared store](DpopVerifierBuilder::shared_replay), use
    /// [`verify_shared`](Self::verify_shared), which also refuses a proof
    /// another instance saw: this method then refuses every proof
    /// (`store_unavailable`) rather than skip the store.
    ///
    /// # Errors
    /// The first rule of RFC 9449 section 4.3 the proof breaks.
    pub fn verify(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        if self.inner.shared.is_some() {
            // The store must see every proof: never skip it silently.
            tracing::error!(
                "DpopVerifier::verify called on a verifier with a shared store: use verify_shared"
            );
            return Err(DpopError::StoreUnavailable);
        }
        self.check(proof, request).map(|(proof, _)| proof)
    }

    /// [`verify`](Self::verify), then the proof recorded in the shared
    /// store (when one is configured), so that a proof replayed at another
    /// instance is refused too.
    ///
    /// # Errors
    /// What `verify` refuses; [`Replayed`](DpopError::Replayed) for a proof
    /// the store knows; [`StoreUnavailable`](DpopError::StoreUnavailable)
    /// when the store does not answer within its timeout.
    pub async fn verify_shared(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        let (verified, id) = self.check(proof, request)?;
        let Some(store) = &self.inner.shared else {
            return Ok(verified);
        };
        let keep = u64::try_from(self.inner.window).unwrap_or(0) * 2 + 1;
        let now = u64::try_from(self.inner.clock.now()).unwrap_or(0);
        let until = SystemTime::UNIX_EPOCH + Duration::from_secs(now.saturating_add(keep));
        let hex = crate::mac::hex(&id);
        let recorded = store.first_use(SHARED_PROOF_SCOPE, &hex, until);
        let outcome = match tokio::time::timeout(self.inner.store_timeout, recorded).await {
            Ok(Ok(true)) => return Ok(verified),
            Ok(Ok(false)) => return Err(DpopError::Replayed),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "DPoP proof store failed");
                DpopError::StoreUnavailable
            }
            Err(_) => {
                tracing::warn!("DPoP proof store did not answer in time");
                DpopError::StoreUnavailable
            }
        };
        // Not recorded anywhere: the client may send the same proof again.
        self.inner.seen.forget(&id);
        Err(outcome)
    }

    /// Every check, and the proof remembered here; with its replay id.
    fn check(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<(VerifiedProof, [u8; 32]), DpopError> {
        if proof.len() > MAX_PROOF_BYTES {
            return Err(DpopError::Malformed);
        }
        let mut parts = proof.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DpopError::Malformed);
        };
        let (header, cached) = match self.inner.headers.get(header_b64) {
            Some(header) => (header, true),
            None => (Arc::new(self.check_header(header_b64)?), false),
        };
        let signed = proof
            .get(..header_b64.len() + 1 + payload_b64.len())
            .unwrap_or_default();
        if !jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &header.key, header.alg)
            .unwrap_or(false)
        {
            return Err(DpopError::BadSignature);
        }
        // Kept only once a proof signed with it verified: made-up headers
        // cannot churn the cache.
        if !cached {
            self.inner
                .headers
                .insert(header_b64.into(), Arc::clone(&header));
        }

        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| DpopError::Malformed)?;
        strict_json::no_repeated_members(&payload).map_err(|_| DpopError::Malformed)?;
        let claims: ProofClaims<'_> =
            serde_json::from_slice(&payload).map_err(|_| DpopError::Malformed)?;
        fn text<'c>(claim: &'c Option<Cow<'_, str>>) -> Result<&'c str, DpopError> {
            match claim.as_deref() {
                None => Err(DpopError::MissingClaim),
                Some("") => Err(DpopError::Malformed),
                Some(text) => Ok(text),
            }
        }
        let (jti, htm, htu) = (text(&claims.jti)?, text(&claims.htm)?, text(&claims.htu)?);
        let issued_at = match claims.iat {
            None => return Err(DpopError::MissingClaim),
            Some(n) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite())
                        .map(|f| f.floor() as i64)
                })
                .ok_or(DpopError::Malformed)?,
        };
        if jti.len() > 256 {
            return Err(DpopError::Malformed);
        }
        if htm != request.method {
            return Err(DpopError::MethodMismatch);
        }
        // Most clients send the URI as the server spells it: no need then
        // to normalise both sides.
        if !(htu == request.uri && htu::already_normal(htu)) {
            match (htu::normalized(htu), htu::normalized(request.uri)) {
                (Some(claimed), Some(actual)) if claimed == actual => {}
                _ => return Err(DpopError::UriMismatch),
            }
        }
        let now = self.inner.clock.now();
        if issued_at.abs_diff(now) > self.inner.window.unsigned_abs() {
            return Err(DpopError::Stale);
        }
        if let Some((key, slot)) = &self.inner.nonces {
            let current = now.div_euclid(*slot);
            let valid = claims
                .nonce
                .as_deref()
                .and_then(|nonce| URL_SAFE_NO_PAD.decode(nonce).ok())
                .is_some_and(|presented| {
                    [current, current - 1]
                        .iter()
                        .any(|slot| constant_time_eq(&presented, &nonce_bytes(key, *slot)))
                });
            if !valid {
                return Err(DpopError::UseNonce);
            }
        }
        if let Some(token) = request.access_token {
            let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
            if claims.ath.as_deref() != Some(expected.as_str()) {
                return Err(DpopError::AccessTokenHashMismatch);
            }
        }
        let jkt = &header.jkt;
        if request.bound_to.is_some_and(|bound| bound != jkt) {
            return Err(DpopError::KeyMismatch);
        }
        let nonce = claims.nonce.map(Cow::into_owned);
        // Last, so that only a proof good for this request spends its id.
        let mut id = Sha256::new();
        id.update(jkt.as_bytes());
        id.update([0]);
        id.update(jti.as_bytes());
        let id: [u8; 32] = id.finalize().into();
        match self.inner.seen.record(id, now) {
            Ok(()) => {}
            Err(NotRecorded::Seen) => return Err(DpopError::Replayed),
            // With a shared store, the store is what refuses replays: the
            // local memory only spares it a round trip.
            Err(NotRecorded::Full) if self.inner.shared.is_some() => {}
            Err(NotRecorded::Full) => {
                tracing::warn!(
                    "the memory of seen DPoP proofs is full: refusing proofs (raise replay_capacity or shorten iat_window)"
                );
                return Err(DpopError::StoreUnavailable);
            }
        }
        let verified = VerifiedProof {
            jkt: jkt.clone(),
            jti: jti.to_owned(),
            issued_at,
            nonce,
        };
        Ok((verified, id))
    }
}

impl DpopVerifier {
    /// Section 4.3 points 2 (header part), 4, 5 and 7: the header read
    /// strictly, `typ` `dpop+jwt`, an allowed `alg`, a public `jwk` of its
    /// family, no `crit`.
    fn check_header(&self, header_b64: &str) -> Result<ProofKey, DpopError> {
        let header = json_object(header_b64)?;
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let typ = strip_prefix_ignore_case(typ, "application/");
        if !typ.eq_ignore_ascii_case("dpop+jwt") {
            return Err(DpopError::WrongType);
        }
        if header.contains_key("crit") {
            return Err(DpopError::Malformed);
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(parse_algorithm)
            .filter(|alg| self.inner.algorithms.contains(alg))
            .ok_or(DpopError::AlgorithmNotAllowed)?;
        let Some(Value::Object(jwk)) = header.get("jwk") else {
            return Err(DpopError::InvalidKey);
        };
        let key = public_key(jwk, alg)?;
        let jkt = jwk_thumbprint(jwk).ok_or(DpopError::InvalidKey)?;
        Ok(ProofKey { alg, key, jkt })
    }
}

impl DpopVerifierBuilder {
    /// The algorithms proofs may be signed with (asymmetric only; `build()`
    /// refuses `none` and HS*).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How far a proof's `iat` may be from the clock, either way (default
    /// 60 s); proof ids are remembered for twice as long.
    #[must_use]
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The clock `iat` is compared with (for tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How many proof ids are remembered at most (default one million,
    /// about 50 MB). An id is kept twice the `iat` window and a second, and
    /// at most about 1.14 times that: with the default 60 s window, one
    /// million ids hold a steady 7 000 proofs a second. While the memory is
    /// full, proofs are refused (`store_unavailable`, 503) rather than an id
    /// forgotten whose proof could pass again; with a
    /// [shared store](Self::shared_replay), the store alone then refuses
    /// replays. Raise it, or shorten the window, for more.
    #[must_use]
    pub fn replay_capacity(mut self, entries: u64) -> Self {
        self.capacity = entries;
        self
    }

    /// Also remembers proofs in `store` (the one the revocation cache uses
    /// serves), as one-time ids under [`SHARED_PROOF_SCOPE`], so that a
    /// proof replayed at another instance is refused by
    /// [`DpopVerifier::verify_shared`]. A store that does not answer within
    /// `timeout` refuses the proof (`store_unavailable`, 503).
    #[must_use]
    pub fn shared_replay(mut self, store: impl RevocationStore, timeout: Duration) -> Self {
        self.shared = Some(Arc::new(store));
        self.store_timeout = timeout;
        self
    }

    /// Hands out server nonces (RFC 9449 section 8): [`DpopVerifier::nonce`]
    /// makes one, and a proof must then carry one made within the last
    /// `lifetime` to two (else [`UseNonce`](DpopError::UseNonce)). Nonces are
    /// MACs of the time with a key derived from `secret` (at least 32 bytes,
    /// the same on every instance): nothing is stored or shared.
    #[must_use]
    pub fn nonces(mut self, secret: impl AsRef<[u8]>, lifetime: Duration) -> Self {
        self.nonces = Some((secret.as_ref().to_vec(), lifetime));
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// No algorithm, a symmetric one, a window of zero or above 300 s, or a
    /// replay capacity of zero.
    pub fn build(self) -> Result<DpopVerifier, ConfigError> {
        if self.algorithms.is_empty()
            || self
                .algorithms
                .iter()
                .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(ConfigError::setting(
                "dpop algorithms",
                "name at least one algorithm, and only asymmetric ones (a proof's key is public)",
            ));
        }
        let window = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX);
        if window == 0 || window > 300 {
            return Err(ConfigError::setting(
                "dpop iat_window",
                "must be between 1 and 300 seconds",
            ));
        }
        if self.shared.is_some() && self.store_timeout.is_zero() {
            return Err(ConfigError::setting(
                "dpop shared_replay",
                "the store timeout must be above zero",
            ));
        }
        let nonces = match self.nonces {
            None => None,
            Some((secret, lifetime)) => {
                if secret.len() < 32 {
                    return Err(ConfigError::setting(
                        "dpop nonces",
                        "the secret must be at least 32 random bytes",
                    ));
                }
                let slot = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
                if slot == 0 {
                    return Err(ConfigError::setting(
                        "dpop nonces",
                        "the nonce lifetime must be at least one second",
                    ));
                }
                Some((
                    NonceKey(hmac_sha256(&secret, b"auth-layer dpop nonce key v1")),
                    slot,
                ))
            }
        };
        if self.capacity == 0 {
            return Err(ConfigError::setting(
                "dpop replay_capacity",
                "must be above zero: a proof must not pass twice",
            ));
        }
        // Kept for twice the window and a second: a proof passes while its
        // `iat` is within the window on either side of the clock.
        let keep = window.saturating_mul(2).saturating_add(1);
        let seen = ReplayMemory::new(keep, self.capacity);
        let headers = moka::sync::Cache::builder()
            .max_capacity(HEADERS_KEPT)
            .build_with_hasher(ahash::RandomState::new());
        Ok(DpopVerifier {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                window,
                clock: self.clock,
                seen,
                headers,
                shared: self.shared,
                store_timeout: self.store_timeout,
                nonces,
            }),
        })
    }
}

/// The request's one `DPoP` header, trimmed.
pub(crate) fn proof_header(headers: &HeaderMap) -> Result<&str, DpopError> {
    let mut values = headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (None, _) => Err(DpopError::Missing),
        (Some(_), Some(_)) => Err(DpopError::Multiple),
        (Some(value), None) => value
            .to_str()
            .map(|proof| proof.trim_matches(' '))
            .map_err(|_| DpopError::Malformed),
    }
}

/// The nonce of a time slot.
fn nonce_bytes(key: &NonceKey, slot: i64) -> [u8; NONCE_BYTES] {
    let slot = slot.to_be_bytes();
    let mac = hmac_sha256(&key.0, &slot);
    let mut nonce = [0; NONCE_BYTES];
    for (out, byte) in nonce.iter_mut().zip(slot.iter().chain(mac.iter())) {
        *out = *byte;
    }
    nonce
}

/// Equal bytes, compared without an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A base64url JSON object, read strictly.
fn json_object(b64: &str) -> Result<Map<String, Value>, DpopError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| DpopError::Malformed)?;
    strict_json::object(&bytes).map_err(|_| DpopError::Malformed)
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> &'a str {
    match value.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => {
            value.get(prefix.len()..).unwrap_or(value)
        }
        _ => value,
    }
}

/// The proof's `jwk` as a key for `alg`: a public key (no private member)
/// of the algorithm's family.
fn public_key(jwk: &Map<String, Value>, alg: Algorithm) -> Result<DecodingKey, DpopError> {
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|member| jwk.contains_key(*member)) {
        return Err(DpopError::InvalidKey);
    }
    let family = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        Some("RSA") => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        Some("OKP") => alg == Algorithm::EdDSA,
        _ => false,
    };
    if !family {
        return Err(DpopError::InvalidKey);
    }
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| DpopError::InvalidKey)?;
    DecodingKey::from_jwk(&jwk).map_err(|_| DpopError::InvalidKey)
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("algorithms", &self.inner.algorithms)
            .field("iat_window_secs", &self.inner.window)
            .field("seen", &self.inner.seen.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DpopVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifierBuilder")
            .field("algorithms", &self.algorithms)
            .field("iat_window", &self.window)
            .field("replay_capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
