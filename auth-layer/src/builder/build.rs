//! [`JwtAuthBuilder`]: the builder itself, its claims type, and `build()`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::builder::settings::Settings;
use crate::claims::DefaultClaims;
use crate::error::ConfigError;
use crate::layer::{JwtAuth, Shared};
use crate::response::JsonResponder;
use crate::verify::Verifier;

/// Configures a [`JwtAuth`]. Created by [`JwtAuth::builder`].
///
/// ```
/// use auth_layer::JwtAuth;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct MyClaims {
///     tenant: u64,
/// }
///
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .audience("orders-api")
///     .claims::<MyClaims>()
///     .build()
///     .unwrap();
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "aud": "orders-api", "exp": 4_000_000_000_u64, "tenant": 7 }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// assert_eq!(auth.verifier().verify(&token).unwrap().tenant, 7);
/// ```
pub struct JwtAuthBuilder<C = DefaultClaims> {
    pub(super) settings: Settings,
    _claims: PhantomData<fn() -> C>,
}

impl JwtAuthBuilder<DefaultClaims> {
    pub(crate) fn new() -> Self {
        Self {
            settings: Settings::default(),
            _claims: PhantomData,
        }
    }
}

impl<C> JwtAuthBuilder<C> {
    /// Deserialise the claims into `C2` instead (once, in the layer).
    pub fn claims<C2: DeserializeOwned>(self) -> JwtAuthBuilder<C2> {
        JwtAuthBuilder {
            settings: self.settings,
            _claims: PhantomData,
        }
    }

    pub(crate) fn push_error(&mut self, error: ConfigError) {
        self.settings.errors.push(error);
    }

    /// Checks the configuration and builds the layer.
    ///
    /// # Errors
    /// The first problem found: a key that could not be read, no key, an
    /// allowed algorithm without a key of its family, a key that can verify
    /// none of the allowed algorithms, a repeated `kid`, a leeway above 300 s,
    /// an unknown required claim, a realm or token type that cannot be sent
    /// in a header, or no token source.
    pub fn build(self) -> Result<JwtAuth<C, JsonResponder>, ConfigError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let checked = self.settings.check()?;
        let challenge = crate::response::Challenge::new(
            &checked.realm,
            checked.dpop.as_ref(),
            checked.metadata.as_ref().map(|m| m.url()),
        );
        let verifier = Verifier::new(
            checked.issuer_keys,
            checked.rules,
            checked.clock,
            checked.token_cache,
        )
        .with_challenge(challenge.clone());
        Ok(JwtAuth::from_shared(
            Shared {
                verifier,
                sources: checked.sources,
                realm: checked.realm,
                optional: checked.optional,
                revocation: checked.revocation,
                observer: checked.observer,
                dpop: checked.dpop,
                metadata: checked.metadata,
                requirements: checked.requirements,
                challenge,
                warned_no_revocation: std::sync::atomic::AtomicBool::new(false),
            },
            JsonResponder,
        ))
    }
}

impl<C> fmt::Debug for JwtAuthBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("JwtAuthBuilder")
            .field("keys", &s.keys.keys)
            .field("algorithms", &s.algorithms)
            .field("issuers", &s.issuers)
            .field("audiences", &s.audiences)
            .field("leeway", &s.leeway)
            .field("token_type", &s.token_type)
            .field("sources", &s.sources)
            .field("optional", &s.optional)
            .finish_non_exhaustive()
    }
}
