//! An [`AuthConfig`] applied: to a builder (static settings), and with its
//! I/O (key sources fetched, revocation store connected).

use std::time::Duration;

use crate::builder::JwtAuthBuilder;
use crate::config::read::AuthConfig;
use crate::error::ConfigError;
use crate::keys::{Key, parse_algorithm};
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
        let cache = crate::revocation::RevocationCache::builder(store)
            .ttl(ttl)
            .build()
            .map_err(named("revocation_ttl_secs"))?;
        Ok(builder.revocation(cache))
    }

    #[cfg(feature = "jwks")]
    async fn key_sources(
        &self,
        mut builder: JwtAuthBuilder,
    ) -> Result<JwtAuthBuilder, ConfigError> {
        use crate::jwks::KeySource;
        if let Some(url) = &self.jwks_url {
            let source = KeySource::jwks(url.clone()).start().await;
            builder = builder.key_source(
                source.map_err(|e| ConfigError::setting(self.name("jwks_url"), e.to_string()))?,
            );
        }
        if let Some(issuer) = &self.oidc_issuer {
            let source = KeySource::oidc(issuer.clone()).start().await;
            builder = builder.key_source(
                source
                    .map_err(|e| ConfigError::setting(self.name("oidc_issuer"), e.to_string()))?,
            );
            if !self.issuers.contains(issuer) {
                builder = builder.issuer(issuer.clone());
            }
        }
        Ok(builder)
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

impl<C> JwtAuthBuilder<C> {
    /// Applies a configuration; problems are reported by `build()`, naming
    /// the variable or field.
    #[must_use]
    pub fn config(mut self, config: &AuthConfig) -> Self {
        let name = |field| config.name(field);
        let named =
            |field: &'static str, e: ConfigError| ConfigError::setting(name(field), e.to_string());
        if let Some(secret) = &config.hmac_secret {
            match Key::hmac(secret.as_bytes()) {
                Ok(key) => self = self.key(key),
                Err(e) => self.push_error(named("hmac_secret", e)),
            }
        }
        if let Some(path) = &config.public_key_file {
            match std::fs::read(path) {
                Ok(pem) => match Key::public_key_pem(pem) {
                    Ok(key) => self = self.key(key),
                    Err(e) => self.push_error(named("public_key_file", e)),
                },
                Err(source) => self.push_error(ConfigError::ReadFile {
                    name: name("public_key_file").to_owned(),
                    path: path.clone(),
                    source,
                }),
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
        self = self
            .issuers(config.issuers.iter().cloned())
            .audiences(config.audiences.iter().cloned());
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
