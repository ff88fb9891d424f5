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
use crate::issuer::{Scope, TrustedIssuer};
#[cfg(feature = "jwks")]
use crate::jwks::KeySource;
use crate::keys::{Key, KeySet, algorithm_name, family_name};
use crate::layer::{JwtAuth, Shared};
use crate::observe::{AuditEvent, Observer};
use crate::response::DefaultResponder;
use crate::revocation::RevocationCache;
use crate::source::TokenSource;
use crate::token_cache::{DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_MAX_AGE};
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
    observer: Observer,
    claim_names: ClaimNames,
    token_cache: Option<(u64, Duration)>,
    #[cfg(feature = "jwks")]
    key_sources: Vec<KeySource>,
    trusted: Vec<TrustedIssuer>,
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
            observer: Observer::default(),
            claim_names: ClaimNames::default(),
            token_cache: Some((DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_MAX_AGE)),
            #[cfg(feature = "jwks")]
            key_sources: Vec::new(),
            trusted: Vec::new(),
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
            observer: self.observer,
            claim_names: self.claim_names,
            token_cache: self.token_cache,
            #[cfg(feature = "jwks")]
            key_sources: self.key_sources,
            trusted: self.trusted,
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

    /// Calls `hook` with every decision (allowed, anonymous, rejected with
    /// its reason), the verified subject, token id and session id, and the
    /// client address when known: for security logging. The hook runs on
    /// the request's task; keep it quick (hand slow work to a channel).
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .audit(|event| {
    ///         if let Some(reason) = event.reason() {
    ///             eprintln!("rejected {reason} from {:?}", event.client_addr());
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn audit(mut self, hook: impl Fn(&AuditEvent<'_>) + Send + Sync + 'static) -> Self {
        self.observer.audit = Some(Arc::new(hook));
        self
    }

    /// How the audit hook learns the client's address. By default it is the
    /// `std::net::SocketAddr` in the request's extensions, if a server put
    /// one there (the actix-web middleware does). With axum, read its
    /// `ConnectInfo` (serve with `into_make_service_with_connect_info`);
    /// behind a proxy you trust, read its forwarding header instead.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use axum::extract::ConnectInfo;
    /// use std::net::SocketAddr;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .audit(|event| eprintln!("{event:?}"))
    ///     .client_addr(|_headers, extensions| {
    ///         extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn client_addr(
        mut self,
        resolve: impl Fn(&http::HeaderMap, &http::Extensions) -> Option<std::net::IpAddr>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.observer.client_addr = Some(Arc::new(resolve));
        self
    }

    /// Adds the subject (`sub`) and token id (`jti`) of verified tokens to
    /// the layer's `tracing` events. Off by default: a subject is personal
    /// data in many deployments. The token itself is never logged.
    #[must_use]
    pub fn log_subjects(mut self, on: bool) -> Self {
        self.observer.log_subjects = on;
        self
    }

    /// The memory budget of the verified-token cache, in bytes (default
    /// 64 MiB; an entry costs about 450 bytes with `DefaultClaims` and a
    /// typical access token, so the default holds about 145 000 tokens;
    /// the weigher counts each entry's own allocations).
    /// See [`Verifier::verify`].
    #[must_use]
    pub fn token_cache_max_bytes(mut self, bytes: u64) -> Self {
        let age = self
            .token_cache
            .map_or(DEFAULT_TOKEN_CACHE_MAX_AGE, |(_, age)| age);
        self.token_cache = Some((bytes, age));
        self
    }

    /// The longest a verified token stays cached (default 10 min); it never
    /// outlives its own `exp` either.
    #[must_use]
    pub fn token_cache_max_age(mut self, age: Duration) -> Self {
        let bytes = self
            .token_cache
            .map_or(DEFAULT_TOKEN_CACHE_BYTES, |(bytes, _)| bytes);
        self.token_cache = Some((bytes, age));
        self
    }

    /// Verifies every request's signature in full (no verified-token cache).
    #[must_use]
    pub fn disable_token_cache(mut self) -> Self {
        self.token_cache = None;
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

    /// Trusts the keys of a JWKS URL or OIDC issuer, kept fresh in the
    /// background; see [`jwks`](crate::jwks).
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn key_source(mut self, source: KeySource) -> Self {
        self.key_sources.push(source);
        self
    }

    /// Trusts a further issuer with its own keys and audiences: the token's
    /// `iss` then picks them, and a token from any other issuer is rejected
    /// before a key is looked up. With trusted issuers, keys and issuers are
    /// configured per issuer only.
    #[must_use]
    pub fn trusted_issuer(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// The scopes of the configuration: one for every token, or one per
    /// trusted issuer.
    fn scopes(&mut self) -> Result<Vec<Scope>, ConfigError> {
        let allowed = self.algorithms.as_deref();
        #[cfg(feature = "jwks")]
        let global_sources = std::mem::take(&mut self.key_sources);
        #[cfg(not(feature = "jwks"))]
        let global_sources: Vec<()> = Vec::new();
        if self.trusted.is_empty() {
            let keys = checked_keys(
                std::mem::take(&mut self.keys),
                allowed,
                !global_sources.is_empty(),
            )?;
            return Ok(vec![Scope {
                issuer: None,
                keys: KeySet::new(keys),
                #[cfg(feature = "jwks")]
                sources: global_sources,
                audiences: None,
            }]);
        }
        if !self.keys.is_empty() || !global_sources.is_empty() || !self.issuers.is_empty() {
            return Err(ConfigError::setting(
                "trusted_issuer",
                "with trusted issuers, give every key and key source to its TrustedIssuer (not to the builder), and drop issuer()",
            ));
        }
        let mut scopes: Vec<Scope> = Vec::new();
        for trusted in std::mem::take(&mut self.trusted) {
            if scopes
                .iter()
                .any(|s| s.issuer.as_deref() == Some(trusted.issuer.as_str()))
            {
                return Err(ConfigError::setting(
                    "trusted_issuer",
                    format!("{:?} is configured twice", trusted.issuer),
                ));
            }
            #[cfg(feature = "jwks")]
            let has_sources = !trusted.sources.is_empty();
            #[cfg(not(feature = "jwks"))]
            let has_sources = false;
            let keys = checked_keys(trusted.keys, allowed, has_sources)?;
            scopes.push(Scope {
                issuer: Some(trusted.issuer),
                keys: KeySet::new(keys),
                #[cfg(feature = "jwks")]
                sources: trusted.sources,
                audiences: (!trusted.audiences.is_empty()).then_some(trusted.audiences),
            });
        }
        Ok(scopes)
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
        C: DeserializeOwned + Send + Sync + 'static,
    {
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        let scopes = self.scopes()?;
        let algorithms = match &self.algorithms {
            Some(allowed) => allowed.clone(),
            None => default_algorithms(&scopes),
        };
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
        if let Some((bytes, age)) = self.token_cache
            && (bytes == 0 || age.is_zero())
        {
            return Err(ConfigError::setting(
                "token_cache",
                "a zero budget or age caches nothing: use disable_token_cache() instead",
            ));
        }
        let verifier = Verifier::new(scopes, rules, self.clock, self.token_cache);
        Ok(JwtAuth::from_shared(
            Shared {
                verifier,
                sources,
                realm: self.realm,
                optional: self.optional,
                revocation: self.revocation,
                observer: self.observer,
            },
            DefaultResponder,
        ))
    }
}

/// Without an explicit allow-list: every algorithm of the configured keys,
/// and every asymmetric algorithm where a key source may publish keys.
fn default_algorithms(scopes: &[Scope]) -> Vec<Algorithm> {
    let mut algorithms: Vec<Algorithm> = Vec::new();
    let from_sources: &[Algorithm] = if scopes.iter().any(Scope::has_sources) {
        &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ]
    } else {
        &[]
    };
    let configured = scopes
        .iter()
        .flat_map(|s| s.keys.keys())
        .flat_map(|k| k.algorithms());
    for alg in configured.chain(from_sources) {
        if !algorithms.contains(alg) {
            algorithms.push(*alg);
        }
    }
    algorithms
}

fn checked_keys(
    mut keys: Vec<Key>,
    allowed: Option<&[Algorithm]>,
    has_sources: bool,
) -> Result<Vec<Key>, ConfigError> {
    if keys.is_empty() && !has_sources {
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
            if !has_sources && !keys.iter().any(|k| k.family() == alg.family()) {
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
