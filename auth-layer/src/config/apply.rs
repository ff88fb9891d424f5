//! An [`AuthConfig`] applied: to a builder (static settings), and with its
//! I/O (key sources fetched, revocation store connected).

use std::time::Duration;

use crate::builder::JwtAuthBuilder;
use crate::config::read::AuthConfig;
use crate::error::ConfigError;
use crate::keys::{Key, TrustedIssuer, parse_algorithm};
use crate::layer::JwtAuth;
use crate::verify::MAX_LEEWAY;

impl JwtAuth {
    /// Builds a layer from the `AUTH_*` environment variables; see
    /// [`AuthConfig::from_env`].
    ///
    /// # Errors
    /// A malformed variable (the error names it) or an inconsistent configuration.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().config(&AuthConfig::from_env()?).build()
    }
}

impl AuthConfig {
    /// A builder with everything this configuration describes, including
    /// what needs I/O: the JWKS / OIDC key sources (fetched now, refreshed in
    /// the background) and the revocation store (connected now; `memory:`
    /// when none is named). Must run inside a tokio runtime.
    ///
    /// ```no_run
    /// use auth_layer::config::AuthConfig;
    ///
    /// # async fn run() -> Result<(), auth_layer::ConfigError> {
    /// let auth = AuthConfig::from_env()?.connect().await?.build()?;
    /// # let _ = auth; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any problem of [`JwtAuthBuilder::config`], a key source that cannot
    /// be fetched, or a revocation store that cannot be reached; the error
    /// names the variable or field.
    pub async fn connect(&self) -> Result<JwtAuthBuilder, ConfigError> {
        let named = |field: &'static str| {
            let name = self.name(field);
            move |e: ConfigError| ConfigError::setting(name, e.to_string())
        };
        let builder = self.key_sources(JwtAuthBuilder::new().config(self)).await?;
        let url = self.revocation_url.as_deref().unwrap_or("memory:");
        let mut store = crate::store::StoreOptions::new(url);
        if let Some(ca) = &self.store_ca_file {
            store = store.ca_file(ca);
        }
        let store = store.connect().await.map_err(named("revocation_url"))?;
        let ttl = self
            .revocation_ttl_secs
            .map_or(crate::revocation::DEFAULT_TTL, Duration::from_secs);
        let mut cache = crate::revocation::RevocationCache::builder(store.clone()).ttl(ttl);
        if let Some(on) = self.revocation_require_sub {
            cache = cache.require_subject(on);
        }
        if let Some(on) = self.revocation_require_sid {
            cache = cache.require_session_id(on);
        }
        let cache = cache.build().map_err(named("revocation_ttl_secs"))?;
        let mut builder = builder.revocation(cache);
        // Instances sharing a store remember each other's proofs.
        if let Some(mode) = self.dpop_mode()?
            && !url.starts_with("memory:")
        {
            let verifier = crate::dpop::DpopVerifier::builder()
                .shared_replay(store, crate::backend::DEFAULT_STORE_TIMEOUT)
                .build()
                .map_err(named("dpop"))?;
            builder = builder.dpop(verifier).dpop_mode(mode);
        }
        Ok(builder)
    }

    /// `dpop` read: `None` for `off`.
    fn dpop_mode(&self) -> Result<Option<crate::dpop::DpopMode>, ConfigError> {
        match self.dpop.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(off) if off.eq_ignore_ascii_case("off") => Ok(None),
            Some(mode) => mode.parse().map(Some).map_err(|_| {
                ConfigError::setting(
                    self.name("dpop"),
                    format!("{mode:?} is not a DPoP mode; use allowed, required or off"),
                )
            }),
        }
    }

    #[cfg(feature = "jwks")]
    async fn key_sources(
        &self,
        mut builder: JwtAuthBuilder,
    ) -> Result<JwtAuthBuilder, ConfigError> {
        use crate::jwks::KeySource;
        let jwks = match &self.jwks_url {
            Some(url) => Some(
                KeySource::jwks(url.clone())
                    .start()
                    .await
                    .map_err(|e| ConfigError::setting(self.name("jwks_url"), e.to_string()))?,
            ),
            None => None,
        };
        let Some(oidc) = &self.oidc_issuer else {
            return Ok(match jwks {
                // Several issuers share the keys on purpose (e.g. a provider's
                // v1 and v2 issuers): each is bound to them by name.
                Some(source) if self.issuers.len() > 1 => {
                    let keys = self.static_keys(&mut builder);
                    for issuer in &self.issuers {
                        let mut trusted =
                            TrustedIssuer::new(issuer.clone()).key_source(source.clone());
                        for key in &keys {
                            trusted = trusted.key(key.clone());
                        }
                        builder = builder.trusted_issuer(trusted);
                    }
                    builder
                }
                Some(source) => builder.key_source(source),
                None => builder,
            });
        };
        let discovered = KeySource::oidc(oidc.clone())
            .start()
            .await
            .map_err(|e| ConfigError::setting(self.name("oidc_issuer"), e.to_string()))?;
        // Keys sign for their own issuer only: the discovered ones for the
        // OpenID issuer, the static keys and the JWKS URL for `issuers`.
        let keys = self.static_keys(&mut builder);
        let own = !keys.is_empty() || jwks.is_some();
        if own && self.issuers.is_empty() {
            return Err(ConfigError::setting(
                self.name("issuers"),
                format!(
                    "must name the issuer whose tokens {} verify: with {}, keys verify the tokens of their own issuer only",
                    self.own_key_names(),
                    self.name("oidc_issuer")
                ),
            ));
        }
        let bind = |mut trusted: TrustedIssuer| {
            for key in &keys {
                trusted = trusted.key(key.clone());
            }
            if let Some(source) = &jwks {
                trusted = trusted.key_source(source.clone());
            }
            trusted
        };
        let provider = TrustedIssuer::new(oidc.clone()).key_source(discovered);
        for issuer in &self.issuers {
            if issuer == oidc && own {
                return Err(ConfigError::setting(
                    self.name("issuers"),
                    format!(
                        "names {issuer:?}, the issuer of {}: {} would then sign for it too, and \
                         whoever holds them could mint its tokens. Name only the issuers your own \
                         keys sign for",
                        self.name("oidc_issuer"),
                        self.own_key_names()
                    ),
                ));
            } else if issuer == oidc {
                continue;
            } else if own {
                builder = builder.trusted_issuer(bind(TrustedIssuer::new(issuer.clone())));
            } else {
                return Err(ConfigError::setting(
                    self.name("issuers"),
                    format!(
                        "{issuer:?} has no keys: with {}, only that issuer's discovered keys are used",
                        self.name("oidc_issuer")
                    ),
                ));
            }
        }
        Ok(builder.trusted_issuer(provider))
    }

    #[cfg(not(feature = "jwks"))]
    async fn key_sources(&self, builder: JwtAuthBuilder) -> Result<JwtAuthBuilder, ConfigError> {
        match (&self.jwks_url, &self.oidc_issuer) {
            (None, None) => Ok(builder),
            (Some(_), _) => Err(ConfigError::setting(
                self.name("jwks_url"),
                "needs the `jwks` feature of auth-layer",
            )),
            (None, Some(_)) => Err(ConfigError::setting(
                self.name("oidc_issuer"),
                "needs the `jwks` feature of auth-layer",
            )),
        }
    }
}

impl AuthConfig {
    /// The OpenID Connect back-channel logout receiver for `auth` (built
    /// from this configuration with [`connect`](Self::connect)), when both
    /// `oidc_issuer` and `oidc_client_id` are set: logout tokens of that
    /// issuer addressed to that client revoke the session or subject in the
    /// layer's revocation store. `None` when either is unset.
    ///
    /// ```no_run
    /// use auth_layer::config::AuthConfig;
    ///
    /// # async fn run() -> Result<(), auth_layer::ConfigError> {
    /// let config = AuthConfig::from_env()?;
    /// let auth = config.connect().await?.build()?;
    /// let logout = config.backchannel_logout(&auth).transpose()?;
    /// // axum: `.route_service("/backchannel-logout", logout)`, outside the layer.
    /// # let _ = logout; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The layer has no revocation cache, or the receiver refuses the
    /// configuration (see [`BackChannelLogoutBuilder::build`](crate::logout::BackChannelLogoutBuilder::build)).
    pub fn backchannel_logout<C, R>(
        &self,
        auth: &JwtAuth<C, R>,
    ) -> Option<Result<crate::logout::BackChannelLogout, ConfigError>>
    where
        C: Send + Sync + 'static,
    {
        let (Some(issuer), Some(client_id)) = (&self.oidc_issuer, &self.oidc_client_id) else {
            return None;
        };
        let Some(revocation) = auth.revocation() else {
            return Some(Err(ConfigError::setting(
                self.name("oidc_client_id"),
                "back-channel logout needs the layer's revocation store (build it with AuthConfig::connect)",
            )));
        };
        Some(
            crate::logout::BackChannelLogout::builder(auth)
                .issuer(issuer.clone())
                .client_id(client_id.clone())
                .build(revocation.clone())
                .map_err(|e| ConfigError::setting(self.name("oidc_client_id"), e.to_string())),
        )
    }

    /// The static keys (`hmac_secret`, `public_key_file`); a key that cannot
    /// be read is reported through `builder`.
    fn static_keys<C>(&self, builder: &mut JwtAuthBuilder<C>) -> Vec<Key> {
        let named = |field: &'static str, e: ConfigError| {
            ConfigError::setting(self.name(field), e.to_string())
        };
        let mut keys = Vec::new();
        if let Some(secret) = &self.hmac_secret {
            match Key::hmac(secret.as_bytes()) {
                Ok(key) => keys.push(key),
                Err(e) => builder.push_error(named("hmac_secret", e)),
            }
        }
        if let Some(path) = &self.public_key_file {
            match std::fs::read(path) {
                Ok(pem) => match Key::public_key_pem(pem) {
                    Ok(key) => keys.push(key),
                    Err(e) => builder.push_error(named("public_key_file", e)),
                },
                Err(source) => builder.push_error(ConfigError::ReadFile {
                    name: self.name("public_key_file").to_owned(),
                    path: path.clone(),
                    source,
                }),
            }
        }
        keys
    }

    /// The names of the static keys and JWKS URL configured, for messages.
    #[cfg(feature = "jwks")]
    fn own_key_names(&self) -> String {
        let names: Vec<&str> = [
            ("hmac_secret", self.hmac_secret.is_some()),
            ("public_key_file", self.public_key_file.is_some()),
            ("jwks_url", self.jwks_url.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(field, _)| self.name(field))
        .collect();
        names.join(", ")
    }
}

impl AuthConfig {
    /// Where tokens carry scopes and roles: the preset (`grant_preset`),
    /// or the default claims, plus `role_claims` and `scope_claims`;
    /// `None` when none of the three is set.
    ///
    /// # Errors
    /// An unknown preset or a path that is not one; the error names the
    /// variable or field.
    ///
    /// ```
    /// use auth_layer::config::AuthConfig;
    ///
    /// let config = AuthConfig::from_lookup(|name| match name {
    ///     "AUTH_GRANT_PRESET" => Some("keycloak:orders-api".into()),
    ///     "AUTH_ROLE_CLAIMS" => Some("/https:~1~1shop.example~1roles".into()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// let claims = config.grant_claims().unwrap().unwrap();
    /// let paths: Vec<String> = claims.paths().map(|(path, _)| path.to_string()).collect();
    /// assert!(paths.contains(&"/resource_access/orders-api/roles".to_owned()));
    /// assert!(paths.contains(&"/https:~1~1shop.example~1roles".to_owned()));
    /// ```
    pub fn grant_claims(&self) -> Result<Option<crate::claims::GrantClaims>, ConfigError> {
        use crate::claims::{ClaimPath, GrantClaims};
        if self.grant_preset.is_none()
            && self.role_claims.is_empty()
            && self.scope_claims.is_empty()
        {
            return Ok(None);
        }
        let mut claims = match self.grant_preset.as_deref().map(str::trim) {
            None => GrantClaims::default(),
            Some("entra-id") => GrantClaims::entra_id(),
            Some("auth0") => GrantClaims::auth0(),
            Some("okta") => GrantClaims::okta(),
            Some(preset) => match preset.strip_prefix("keycloak:").map(str::trim) {
                Some(client) if !client.is_empty() => GrantClaims::keycloak([client]),
                _ => {
                    return Err(ConfigError::setting(
                        self.name("grant_preset"),
                        format!(
                            "{preset:?} is not a preset: keycloak:<client id>, entra-id, auth0 or okta"
                        ),
                    ));
                }
            },
        };
        for (field, paths) in [
            ("role_claims", &self.role_claims),
            ("scope_claims", &self.scope_claims),
        ] {
            for path in paths {
                let parsed: ClaimPath = path.parse().map_err(|e: ConfigError| {
                    ConfigError::setting(self.name(field), e.to_string())
                })?;
                claims = if field == "role_claims" {
                    claims.roles_from(parsed)
                } else {
                    claims.scopes_from(parsed)
                };
            }
        }
        Ok(Some(claims))
    }

    /// The step-up rule of `step_up_acr` and `step_up_max_age_secs`
    /// (`AUTH_STEP_UP_ACR`, `AUTH_STEP_UP_MAX_AGE_SECS`), for the routes
    /// that need a stronger or more recent login; `None` when neither is
    /// set. See [`Require::step_up`](crate::require::Require::step_up).
    ///
    /// ```
    /// use auth_layer::config::AuthConfig;
    ///
    /// let config = AuthConfig::from_lookup(|name| match name {
    ///     "AUTH_STEP_UP_ACR" => Some("mfa, hwk".into()),
    ///     "AUTH_STEP_UP_MAX_AGE_SECS" => Some("300".into()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// let rule = config.step_up().unwrap();
    /// assert_eq!(rule.acr_values().collect::<Vec<_>>(), ["mfa", "hwk"]);
    /// assert_eq!(rule.max_age_secs(), Some(300));
    /// ```
    pub fn step_up(&self) -> Option<crate::require::StepUp> {
        if self.step_up_acr.is_empty() && self.step_up_max_age_secs.is_none() {
            return None;
        }
        let rule = crate::require::StepUp::acr(self.step_up_acr.iter().cloned());
        Some(match self.step_up_max_age_secs {
            Some(secs) => rule.max_age(Duration::from_secs(secs)),
            None => rule,
        })
    }
}

impl<C> JwtAuthBuilder<C> {
    /// Applies a configuration; problems are reported by `build()`, naming
    /// the variable or field.
    #[must_use]
    pub fn config(mut self, config: &AuthConfig) -> Self {
        let name = |field| config.name(field);
        // Keys sign for the configured issuers only. With an OpenID issuer,
        // or a JWKS URL shared by several issuers, they are bound when the
        // key sources are fetched (`AuthConfig::connect`); several issuers
        // named on purpose are each bound to the static keys by name.
        let shared = config.issuers.len() > 1;
        if config.oidc_issuer.is_none() && !(shared && config.jwks_url.is_some()) {
            let keys = config.static_keys(&mut self);
            if shared {
                for issuer in &config.issuers {
                    let mut trusted = TrustedIssuer::new(issuer.clone());
                    for key in &keys {
                        trusted = trusted.key(key.clone());
                    }
                    self = self.trusted_issuer(trusted);
                }
            } else {
                self = self.keys(keys).issuers(config.issuers.iter().cloned());
            }
        }
        if !config.algorithms.is_empty() {
            let mut algorithms = Vec::new();
            for a in &config.algorithms {
                match parse_algorithm(a) {
                    Some(alg) => algorithms.push(alg),
                    None => self.push_error(ConfigError::setting(
                        name("algorithms"),
                        format!("{a:?} is not a supported algorithm; use HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"),
                    )),
                }
            }
            self = self.algorithms(algorithms);
        }
        self = self.audiences(config.audiences.iter().cloned());
        if let Some(secs) = config.leeway_secs {
            if secs > MAX_LEEWAY.as_secs() {
                self.push_error(ConfigError::setting(
                    name("leeway_secs"),
                    format!(
                        "{secs} is above the cap of {} seconds",
                        MAX_LEEWAY.as_secs()
                    ),
                ));
            }
            self = self.leeway(Duration::from_secs(secs));
        }
        if let Some(typ) = &config.token_type {
            self = self.token_type(typ.clone());
        }
        if config.subject_optional == Some(true) {
            self = self.subject_optional();
        }
        if let Some(url) = &config.public_url {
            match crate::dpop::check_public_url(url) {
                Ok(_) => self = self.public_url(url.clone()),
                Err(e) => self.push_error(ConfigError::setting(name("public_url"), e.to_string())),
            }
        }
        if let Some(Err(e)) = config
            .resource
            .as_deref()
            .map(crate::metadata::metadata_url)
        {
            self.push_error(ConfigError::setting(name("resource"), e.to_string()));
        }
        // The resource is named, or is the first audience when that is a
        // URL the metadata can name.
        let resource = config.resource.clone().or_else(|| {
            config
                .audiences
                .first()
                .filter(|aud| crate::metadata::metadata_url(aud).is_ok())
                .cloned()
        });
        if let Some(resource) = resource {
            self = self
                .resource(resource)
                .scopes_supported(config.scopes_supported.iter().cloned());
        } else if !config.scopes_supported.is_empty() {
            self.push_error(ConfigError::setting(
                name("scopes_supported"),
                format!(
                    "lists scopes for protected-resource metadata, which needs {} (or an https first audience)",
                    name("resource")
                ),
            ));
        }
        match config.grant_claims() {
            Ok(Some(claims)) => self = self.grant_claims(claims),
            Ok(None) => {}
            Err(e) => self.push_error(e),
        }
        match config.dpop_mode() {
            Ok(Some(mode)) => match crate::dpop::DpopVerifier::builder().build() {
                Ok(verifier) => self = self.dpop(verifier).dpop_mode(mode),
                Err(e) => self.push_error(e),
            },
            Ok(None) => {}
            Err(e) => self.push_error(e),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn build(vars: &[(&str, &str)]) -> Result<(), String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let config = AuthConfig::from_lookup(|k| map.get(k).cloned()).map_err(|e| e.to_string())?;
        JwtAuth::builder()
            .config(&config)
            .build()
            .map(drop)
            .map_err(|e| e.to_string())
    }

    const SECRET: (&str, &str) = ("AUTH_HMAC_SECRET", "a-secret-of-at-least-thirty-two-bytes!");

    #[test]
    fn grant_and_step_up_variables_are_read_and_their_errors_named() {
        for (vars, expected) in [
            (
                &[SECRET, ("AUTH_GRANT_PRESET", "keycloak")][..],
                "AUTH_GRANT_PRESET: \"keycloak\" is not a preset",
            ),
            (
                &[SECRET, ("AUTH_GRANT_PRESET", "ping")],
                "AUTH_GRANT_PRESET: \"ping\" is not a preset",
            ),
            (
                &[SECRET, ("AUTH_ROLE_CLAIMS", "realm_access..roles")],
                "AUTH_ROLE_CLAIMS: grant_claims: \"realm_access..roles\" is not a claim path",
            ),
            (
                &[SECRET, ("AUTH_SCOPE_CLAIMS", "sub")],
                "grant_claims: /sub is a claim the layer reads for another purpose",
            ),
            (
                &[SECRET, ("AUTH_STEP_UP_MAX_AGE_SECS", "soon")],
                "AUTH_STEP_UP_MAX_AGE_SECS: \"soon\" is not a whole number of seconds",
            ),
        ] {
            let err = build(vars).unwrap_err();
            assert!(
                err.starts_with(expected),
                "{err:?} should start with {expected:?}"
            );
        }
        for preset in ["keycloak:orders-api", "entra-id", "auth0", "okta"] {
            assert_eq!(
                build(&[SECRET, ("AUTH_GRANT_PRESET", preset)]),
                Ok(()),
                "{preset}"
            );
        }
        let none = AuthConfig::from_lookup(|_| None).unwrap();
        assert!(none.step_up().is_none() && none.grant_claims().unwrap().is_none());
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[SECRET, ("AUTH_ALGORITHMS", "HS256,HS999")],
                "AUTH_ALGORITHMS: \"HS999\" is not a supported algorithm",
            ),
            (
                &[SECRET, ("AUTH_LEEWAY_SECS", "600")],
                "AUTH_LEEWAY_SECS: 600 is above the cap of 300 seconds",
            ),
            (
                &[("AUTH_HMAC_SECRET", "short")],
                "AUTH_HMAC_SECRET: invalid HMAC secret: 5 bytes is too short",
            ),
            (
                &[("AUTH_PUBLIC_KEY_FILE", "/nonexistent/key.pem")],
                "AUTH_PUBLIC_KEY_FILE: cannot read /nonexistent/key.pem",
            ),
            (&[], "no verification key is configured"),
        ];
        for (vars, expected) in cases {
            let err = build(vars).unwrap_err();
            assert!(
                err.starts_with(expected),
                "{err:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn file_config_errors_name_the_field() {
        let config: AuthConfig = serde_json::from_str(
            r#"{"hmac_secret":"a-secret-of-at-least-thirty-two-bytes!","algorithms":["none"]}"#,
        )
        .unwrap();
        let err = JwtAuth::builder()
            .config(&config)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("algorithms: \"none\" is not a supported algorithm"),
            "{err}"
        );
        assert!(
            serde_json::from_str::<AuthConfig>(r#"{"hmac_secrte":"x"}"#).is_err(),
            "unknown fields are refused"
        );
    }
}
