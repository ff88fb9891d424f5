//! The builder's settings for what a token must be: keys, algorithms,
//! issuers, audiences, leeway, required claims, token type, size, clock and
//! the names of the revocation claims.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::builder::build::JwtAuthBuilder;
use crate::clock::Clock;
use crate::error::ConfigError;
#[cfg(feature = "jwks")]
use crate::jwks::KeySource;
use crate::keys::{Key, TrustedIssuer};

impl<C> JwtAuthBuilder<C> {
    /// Adds a key.
    #[must_use]
    pub fn key(mut self, key: Key) -> Self {
        self.settings.keys.keys.push(key);
        self
    }

    /// Adds a key, or remembers why it could not be made, for `build()` to report.
    #[must_use]
    pub fn try_key(mut self, key: Result<Key, ConfigError>) -> Self {
        match key {
            Ok(key) => self.settings.keys.keys.push(key),
            Err(e) => self.settings.errors.push(e),
        }
        self
    }

    /// Adds keys.
    #[must_use]
    pub fn keys(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.settings.keys.keys.extend(keys);
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
        self.settings.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Accepts tokens from this issuer (`iss`); may be called several times.
    /// With no issuer configured, `iss` is not checked.
    ///
    /// The builder's keys and JWKS key sources sign for one issuer: two
    /// issuers here with keys on the builder are refused by `build()`; give
    /// each its keys with a [`TrustedIssuer`] instead (see [`keys`](crate::keys)).
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.settings.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens from these issuers.
    #[must_use]
    pub fn issuers<I: Into<String>>(mut self, issuers: impl IntoIterator<Item = I>) -> Self {
        self.settings
            .issuers
            .extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens whose `aud` names this audience; may be called several times.
    /// With no audience configured, tokens that carry an `aud` are rejected
    /// (RFC 7519 section 4.1.3).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.settings.audiences.push(audience.into());
        self
    }

    /// Accepts tokens for these audiences.
    #[must_use]
    pub fn audiences<I: Into<String>>(mut self, audiences: impl IntoIterator<Item = I>) -> Self {
        self.settings
            .audiences
            .extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 60 s, at most 300 s).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// Requires these registered claims (`exp`, `nbf`, `iat`, `iss`, `sub`,
    /// `aud`, `jti`) in addition to `exp` and `sub`, which are always
    /// required unless [`danger_exp_optional`](Self::danger_exp_optional) or
    /// [`subject_optional`](Self::subject_optional) is set.
    #[must_use]
    pub fn required_claims<I: Into<String>>(mut self, claims: impl IntoIterator<Item = I>) -> Self {
        self.settings
            .required
            .extend(claims.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens without `sub`.
    ///
    /// `sub` is required by default, as RFC 9068 section 2.2 requires it of
    /// access tokens, so [`VerifiedToken::subject`](crate::VerifiedToken::subject)
    /// names who the token is for. With this option a token without `sub`
    /// passes and its `subject()` is the empty string: only for tokens that
    /// name no one, such as some client-credentials tokens. (An empty `sub`
    /// counts as none.) With revocation, such a token is still refused
    /// unless the revocation cache is built with
    /// [`require_subject(false)`](crate::revocation::RevocationCacheBuilder::require_subject).
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .subject_optional()
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn subject_optional(mut self) -> Self {
        self.settings.subject_optional = true;
        self
    }

    /// Accepts tokens without `exp`. Such tokens never expire: only for
    /// tokens that are revoked by other means.
    #[must_use]
    pub fn danger_exp_optional(mut self) -> Self {
        self.settings.exp_optional = true;
        self
    }

    /// Requires the header `typ`, e.g. `at+jwt` for RFC 9068 access tokens
    /// (compared case-insensitively, `application/` prefix optional).
    #[must_use]
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        self.settings.token_type = Some(typ.into());
        self
    }

    /// The largest token accepted, in bytes (default 16 KiB); checked before decoding.
    #[must_use]
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_token_bytes = bytes;
        self
    }

    /// The clock used for `exp`, `nbf` and `iat` (for tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.settings.clock = Arc::new(clock);
        self
    }

    /// The clock, shared (the issuer's, for [`Sessions::jwt_auth`](crate::session::Sessions::jwt_auth)).
    pub(crate) fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The name of the token-version claim (default `ver`).
    #[must_use]
    pub fn version_claim(mut self, name: impl Into<String>) -> Self {
        self.settings.claim_names.version = name.into();
        self
    }

    /// The name of the session-id claim (default `sid`).
    #[must_use]
    pub fn session_claim(mut self, name: impl Into<String>) -> Self {
        self.settings.claim_names.session = name.into();
        self
    }

    /// Where tokens carry their scopes and roles (default: `scope` and
    /// `scp`, `roles`), with presets for Keycloak, Entra ID, Auth0 and
    /// Okta; see [`GrantClaims`](crate::claims::GrantClaims). Read in the
    /// layer's one pass over the payload, kept with the cached token.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::claims::GrantClaims;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .grant_claims(GrantClaims::entra_id())
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn grant_claims(mut self, claims: crate::claims::GrantClaims) -> Self {
        self.settings.grant_claims = claims;
        self
    }

    /// Every token must also meet `requirement` (a scope, a role, a set of
    /// them, or a [step-up rule](crate::require::StepUp)), on every route
    /// the layer covers; call it again to add another. A token that does
    /// not is refused as [`Require`](crate::require::Require) would refuse
    /// it: 403 for scopes and roles, 401 `insufficient_user_authentication`
    /// for step-up. For one route, use `Require` or an extractor instead.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::require::{Requirement, StepUp};
    /// use std::time::Duration;
    ///
    /// let admin_console = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .require(Requirement::any_role(["admin", "operator"]))
    ///     .require(Requirement::step_up(StepUp::acr(["mfa"]).max_age(Duration::from_secs(900))))
    ///     .build()
    ///     .unwrap();
    /// # let _ = admin_console;
    /// ```
    #[must_use]
    pub fn require(mut self, requirement: crate::require::Requirement) -> Self {
        self.settings.requirements.push(requirement);
        self
    }

    /// Trusts the keys of a JWKS URL or OIDC issuer, kept fresh in the
    /// background; see [`jwks`](crate::jwks). A source found by OIDC
    /// discovery verifies its issuer's tokens only; a JWKS URL signs for the
    /// builder's [`issuer`](Self::issuer).
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn key_source(mut self, source: KeySource) -> Self {
        self.settings.keys.sources.push(source);
        self
    }

    /// Trusts a further issuer with its own keys and audiences: the token's
    /// `iss` then picks them, and a token from any other issuer is rejected
    /// before a key is looked up. Keys given to the builder then sign for
    /// the builder's one [`issuer`](Self::issuer), never for a trusted one.
    #[must_use]
    pub fn trusted_issuer(mut self, issuer: TrustedIssuer) -> Self {
        self.settings.keys.trusted.push(issuer);
        self
    }
}
