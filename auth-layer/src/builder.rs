//! `JwtAuth::builder()`: keys, algorithms, claim rules, token sources.
//!
//! Every inconsistency is reported by [`JwtAuthBuilder::build`] with a
//! [`ConfigError`] that names the value and the fix; nothing panics later.
//!
//! ```
//! use std::time::Duration;
//! use auth_layer::{Algorithm, ConfigError, JwtAuth};
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .algorithms([Algorithm::HS256])
//!     .issuer("https://issuer.example")
//!     .audience("orders-api")
//!     .leeway(Duration::from_secs(30))
//!     .required_claims(["sub"])
//!     .token_type("at+jwt")
//!     .build();
//! assert!(auth.is_ok());
//!
//! // An algorithm without a key of its family is refused at build time.
//! let err = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .algorithms([Algorithm::RS256])
//!     .build()
//!     .unwrap_err();
//! assert!(matches!(err, ConfigError::AlgorithmWithoutKey { .. }));
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;

use crate::claims::{ClaimNames, DefaultClaims};
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::keys::{Key, KeySet, algorithm_name, family_name};
use crate::layer::{JwtAuth, Shared};
use crate::response::DefaultResponder;
use crate::revocation::RevocationCache;
use crate::source::TokenSource;
use crate::verify::{RequiredClaim, Rules, Verifier};

/// The default leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default token size cap, checked before anything is decoded.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Configures a [`JwtAuth`]. Created by [`JwtAuth::builder`].
pub struct JwtAuthBuilder<C = DefaultClaims> {
    keys: Vec<Key>,
    errors: Vec<ConfigError>,
    algorithms: Option<Vec<Algorithm>>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    required: Vec<String>,
    exp_optional: bool,
    token_type: Option<String>,
    sources: Option<Vec<TokenSource>>,
    max_token_bytes: usize,
    realm: String,
    optional: bool,
    clock: Arc<dyn Clock>,
    revocation: Option<RevocationCache>,
    claim_names: ClaimNames,
    _claims: PhantomData<fn() -> C>,
}

impl JwtAuthBuilder<DefaultClaims> {
    pub(crate) fn new() -> Self {
        Self {
            keys: Vec::new(),
            errors: Vec::new(),
            algorithms: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            required: Vec::new(),
            exp_optional: false,
            token_type: None,
            sources: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            realm: "api".to_owned(),
            optional: false,
            clock: Arc::new(SystemClock),
            revocation: None,
            claim_names: ClaimNames::default(),
            _claims: PhantomData,
        }
    }
}

impl<C> JwtAuthBuilder<C> {
    /// Deserialise the claims into `C2` instead (once, in the layer).
    pub fn claims<C2: DeserializeOwned>(self) -> JwtAuthBuilder<C2> {
        JwtAuthBuilder {
            keys: self.keys,
            errors: self.errors,
            algorithms: self.algorithms,
            issuers: self.issuers,
            audiences: self.audiences,
            leeway: self.leeway,
            required: self.required,
            exp_optional: self.exp_optional,
            token_type: self.token_type,
            sources: self.sources,
            max_token_bytes: self.max_token_bytes,
            realm: self.realm,
            optional: self.optional,
            clock: self.clock,
            revocation: self.revocation,
            claim_names: self.claim_names,
            _claims: PhantomData,
        }
    }

    /// Adds a key.
    #[must_use]
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds a key, or remembers why it could not be made, for `build()` to report.
    #[must_use]
    pub fn try_key(mut self, key: Result<Key, ConfigError>) -> Self {
        match key {
            Ok(key) => self.keys.push(key),
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// Adds keys.
    #[must_use]
    pub fn keys(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Adds an HMAC secret (HS256/384/512); see [`Key::hmac`].
    #[must_use]
    pub fn hmac_secret(self, secret: impl AsRef<[u8]>) -> Self {
        self.try_key(Key::hmac(secret))
    }

    /// Adds an RSA, EC or Ed25519 public key in PEM; see [`Key::public_key_pem`].
    #[must_use]
    pub fn public_key_pem(self, pem: impl AsRef<[u8]>) -> Self {
        self.try_key(Key::public_key_pem(pem))
    }

    /// Adds a JSON Web Key given as JSON; see [`Key::jwk`].
    #[must_use]
    pub fn jwk(self, json: &str) -> Self {
        self.try_key(Key::jwk_json(json))
    }

    /// Restricts the accepted algorithms. By default every algorithm of every
    /// configured key's family is accepted (each key stays pinned to its family).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Accepts tokens from this issuer (`iss`); may be called several times.
    /// With no issuer configured, `iss` is not checked.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens from these issuers.
    #[must_use]
    pub fn issuers<I: Into<String>>(mut self, issuers: impl IntoIterator<Item = I>) -> Self {
        self.issuers.extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens whose `aud` names this audience; may be called several times.
    /// With no audience configured, tokens that carry an `aud` are rejected
    /// (RFC 7519 section 4.1.3).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accepts tokens for these audiences.
    #[must_use]
    pub fn audiences<I: Into<String>>(mut self, audiences: impl IntoIterator<Item = I>) -> Self {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 60 s, at most 300 s).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires these registered claims (`exp`, `nbf`, `iat`, `iss`, `sub`,
    /// `aud`, `jti`) in addition to `exp`, which is always required unless
    /// [`danger_exp_optional`](Self::danger_exp_optional) is set.
    #[must_use]
    pub fn required_claims<I: Into<String>>(mut self, claims: impl IntoIterator<Item = I>) -> Self {
        self.required.extend(claims.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens without `exp`. Such tokens never expire: only for
    /// tokens that are revoked by other means.
    #[must_use]
    pub fn danger_exp_optional(mut self) -> Self {
        self.exp_optional = true;
        self
    }

    /// Requires the header `typ`, e.g. `at+jwt` for RFC 9068 access tokens
    /// (compared case-insensitively, `application/` prefix optional).
    #[must_use]
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        self.token_type = Some(typ.into());
        self
    }

    /// Adds a place to look for the token; the first call replaces the
    /// default (`Authorization: Bearer`). Sources are tried in order.
    #[must_use]
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.sources.get_or_insert_with(Vec::new).push(source);
        self
    }

    /// Sets the places to look for the token, in order.
    #[must_use]
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.sources = Some(sources.into_iter().collect());
        self
    }

    /// The largest token accepted, in bytes (default 8 KiB); checked before decoding.
    #[must_use]
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The `realm` in `WWW-Authenticate` challenges (default `api`).
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Optional authentication: a request without a token passes through
    /// unauthenticated (handlers see no claims); a bad token is still rejected.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The clock used for `exp`, `nbf` and `iat` (for tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks every token against this revocation cache (and its store):
    /// `ver` below the subject's current version, a revoked `sid`, or (if
    /// enabled) a denied `jti` is answered 401 `token_revoked`; a store that
    /// cannot answer, 503. See [`revocation`](crate::revocation).
    #[must_use]
    pub fn revocation(mut self, cache: RevocationCache) -> Self {
        self.revocation = Some(cache);
        self
    }

    /// The name of the token-version claim (default `ver`).
    #[must_use]
    pub fn version_claim(mut self, name: impl Into<String>) -> Self {
        self.claim_names.version = name.into();
        self
    }

    /// The name of the session-id claim (default `sid`).
    #[must_use]
    pub fn session_claim(mut self, name: impl Into<String>) -> Self {
        self.claim_names.session = name.into();
        self
    }

    pub(crate) fn push_error(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// Checks the configuration and builds the layer.
    ///
    /// # Errors
    /// The first problem found: a key that could not be read, no key, an
    /// allowed algorithm without a key of its family, a key that can verify
    /// none of the allowed algorithms, a repeated `kid`, a leeway above 300 s,
    /// an unknown required claim, a realm or token type that cannot be sent
    /// in a header, or no token source.
    pub fn build(mut self) -> Result<JwtAuth<C, DefaultResponder>, ConfigError>
    where
        C: DeserializeOwned,
    {
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        let keys = checked_keys(self.keys, self.algorithms.as_deref())?;
        let mut algorithms: Vec<Algorithm> = Vec::new();
        for alg in keys.iter().flat_map(Key::algorithms) {
            if !algorithms.contains(alg) {
                algorithms.push(*alg);
            }
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                secs: self.leeway.as_secs(),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        let mut required = if self.exp_optional {
            Vec::new()
        } else {
            vec![RequiredClaim::Exp]
        };
        for name in &self.required {
            let claim = RequiredClaim::from_name(name).ok_or_else(|| {
                ConfigError::setting(
                    "required_claims",
                    format!("{name:?} is not a registered claim; use exp, nbf, iat, iss, sub, aud or jti (other claims are required by your claims type)"),
                )
            })?;
            if !required.contains(&claim) {
                required.push(claim);
            }
        }
        if !is_header_safe(&self.realm) {
            return Err(ConfigError::setting(
                "realm",
                "must be printable ASCII without `\"` or `\\`",
            ));
        }
        if let Some(typ) = &self.token_type
            && (typ.trim().is_empty() || !is_header_safe(typ))
        {
            return Err(ConfigError::setting(
                "token_type",
                "must be a non-empty media type such as at+jwt",
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::setting("max_token_bytes", "must be above 0"));
        }
        const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
        for (setting, name) in [
            ("version_claim", &self.claim_names.version),
            ("session_claim", &self.claim_names.session),
        ] {
            if name.is_empty() || REGISTERED.contains(&name.as_str()) {
                return Err(ConfigError::setting(
                    setting,
                    format!(
                        "{name:?} cannot be used: pick a name that is not empty and not a registered claim"
                    ),
                ));
            }
        }
        if self.claim_names.version == self.claim_names.session {
            return Err(ConfigError::setting(
                "session_claim",
                "must differ from version_claim",
            ));
        }
        let sources = self.sources.unwrap_or_else(|| vec![TokenSource::Bearer]);
        if sources.is_empty() {
            return Err(ConfigError::setting(
                "token_sources",
                "at least one token source is needed",
            ));
        }
        let rules = Rules {
            algorithms,
            issuers: self.issuers,
            audiences: self.audiences,
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(0),
            required,
            token_type: self.token_type,
            max_token_bytes: self.max_token_bytes,
            claim_names: self.claim_names,
        };
        let verifier = Verifier::new(KeySet::new(keys), rules, self.clock);
        Ok(JwtAuth::from_shared(
            Shared {
                verifier,
                sources,
                realm: self.realm,
                optional: self.optional,
                revocation: self.revocation,
            },
            DefaultResponder,
        ))
    }
}

fn checked_keys(
    mut keys: Vec<Key>,
    allowed: Option<&[Algorithm]>,
) -> Result<Vec<Key>, ConfigError> {
    if keys.is_empty() {
        return Err(ConfigError::NoKeys);
    }
    if let Some(allowed) = allowed {
        if allowed.is_empty() {
            return Err(ConfigError::setting(
                "algorithms",
                "the list of allowed algorithms is empty",
            ));
        }
        for alg in allowed {
            if !keys.iter().any(|k| k.family() == alg.family()) {
                return Err(ConfigError::AlgorithmWithoutKey {
                    algorithm: algorithm_name(*alg),
                    family: family_name(alg.family()),
                });
            }
        }
        for key in &mut keys {
            key.retain_algorithms(allowed);
        }
    }
    for (i, key) in keys.iter().enumerate() {
        if key.algorithms().is_empty() {
            return Err(ConfigError::UnusableKey {
                family: family_name(key.family()),
                kid: key
                    .kid()
                    .map_or_else(|| "(without kid)".to_owned(), |k| format!("{k:?}")),
            });
        }
        if let Some(kid) = key.kid()
            && keys
                .iter()
                .skip(i + 1)
                .any(|other| other.kid() == Some(kid))
        {
            return Err(ConfigError::DuplicateKid {
                kid: kid.to_owned(),
            });
        }
    }
    Ok(keys)
}

fn is_header_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

impl<C> fmt::Debug for JwtAuthBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthBuilder")
            .field("keys", &self.keys)
            .field("algorithms", &self.algorithms)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("token_type", &self.token_type)
            .field("sources", &self.sources)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}
