//! Configuration from environment variables or a config file (serde).
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_HMAC_SECRET` | HMAC secret; its UTF-8 bytes are the key for every allowed HS* algorithm |
//! | `AUTH_PUBLIC_KEY_FILE` | path to an RSA, EC (P-256/P-384) or Ed25519 public key in PEM |
//! | `AUTH_ALGORITHMS` | comma list of allowed algorithms, e.g. `RS256,ES256` (default: every algorithm of the configured keys) |
//! | `AUTH_ISSUER` | comma list of accepted `iss` values |
//! | `AUTH_AUDIENCE` | comma list of accepted `aud` values |
//! | `AUTH_LEEWAY_SECS` | clock-skew leeway in seconds (default 60, at most 300) |
//! | `AUTH_TOKEN_TYPE` | required header `typ`, e.g. `at+jwt` |
//! | `AUTH_JWKS_URL` | a JWKS URL to take keys from (feature `jwks`) |
//! | `AUTH_OIDC_ISSUER` | an OpenID Connect issuer: keys by discovery, and accepted as `iss` (feature `jwks`) |
//! | `AUTH_REVOCATION_URL` | revocation store: `memory:` (default), `redis://…`, `rediss://…`, `redis+cluster://host:port,…`, `postgres://…` ([`AuthConfig::connect`], [`store::connect`](crate::store::connect)) |
//! | `AUTH_STORE_CA_FILE` | a PEM bundle of CA certificates for a store's TLS with a private CA ([`StoreOptions::ca_file`](crate::store::StoreOptions::ca_file)) |
//! | `AUTH_REVOCATION_TTL_SECS` | revocation cache TTL in seconds (default 30) |
//!
//! Unset or empty variables keep the defaults; a malformed one is an error
//! that names it. The same fields, in snake case without the prefix, can be
//! read by serde from any format:
//!
//! ```
//! use auth_layer::{AuthConfig, JwtAuth};
//!
//! let config: AuthConfig = serde_json::from_str(r#"{
//!     "hmac_secret": "a-secret-of-at-least-thirty-two-bytes!",
//!     "algorithms": ["HS256"],
//!     "issuers": ["https://issuer.example"],
//!     "audiences": ["orders-api"],
//!     "leeway_secs": 30
//! }"#).unwrap();
//! let auth = JwtAuth::builder().config(&config).build().unwrap();
//! # let _ = auth;
//!
//! let from_env = AuthConfig::from_lookup(|name| match name {
//!     "AUTH_LEEWAY_SECS" => Some("soon".into()),
//!     _ => None,
//! });
//! assert_eq!(
//!     from_env.unwrap_err().to_string(),
//!     "AUTH_LEEWAY_SECS: \"soon\" is not a whole number of seconds"
//! );
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::builder::{JwtAuthBuilder, MAX_LEEWAY};
use crate::error::ConfigError;
use crate::keys::{Key, parse_algorithm};

/// The serialisable configuration: the `AUTH_*` variables of [`AuthConfig::from_env`], or the same
/// fields (`hmac_secret`, `public_key_file`, `algorithms`, `issuers`, `audiences`, `leeway_secs`,
/// `token_type`) from any serde format, applied with [`JwtAuthBuilder::config`].
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// HMAC secret (UTF-8; its bytes are the key).
    pub hmac_secret: Option<String>,
    /// Path to a PEM public key.
    pub public_key_file: Option<PathBuf>,
    /// Allowed algorithms by JWA name.
    pub algorithms: Vec<String>,
    /// Accepted issuers.
    pub issuers: Vec<String>,
    /// Accepted audiences.
    pub audiences: Vec<String>,
    /// Leeway in seconds.
    pub leeway_secs: Option<u64>,
    /// Required header `typ`.
    pub token_type: Option<String>,
    /// A JWKS URL to take keys from (feature `jwks`).
    pub jwks_url: Option<String>,
    /// An OpenID Connect issuer to discover keys from (feature `jwks`); it
    /// is also accepted as `iss`.
    pub oidc_issuer: Option<String>,
    /// The revocation store: `memory:` (the default), `redis://…`,
    /// `rediss://…`, `redis+cluster://…` or `postgres://…`; see
    /// [`store::connect`](crate::store::connect).
    pub revocation_url: Option<String>,
    /// CA certificates (a PEM file) the store's TLS is verified with,
    /// instead of the public roots.
    pub store_ca_file: Option<PathBuf>,
    /// The revocation cache TTL in seconds (default 30).
    pub revocation_ttl_secs: Option<u64>,
    #[serde(skip)]
    from_env: bool,
}

/// Each field with its environment variable.
const VARIABLES: [(&str, &str); 12] = [
    ("jwks_url", "AUTH_JWKS_URL"),
    ("oidc_issuer", "AUTH_OIDC_ISSUER"),
    ("revocation_url", "AUTH_REVOCATION_URL"),
    ("store_ca_file", "AUTH_STORE_CA_FILE"),
    ("revocation_ttl_secs", "AUTH_REVOCATION_TTL_SECS"),
    ("hmac_secret", "AUTH_HMAC_SECRET"),
    ("public_key_file", "AUTH_PUBLIC_KEY_FILE"),
    ("algorithms", "AUTH_ALGORITHMS"),
    ("issuers", "AUTH_ISSUER"),
    ("audiences", "AUTH_AUDIENCE"),
    ("leeway_secs", "AUTH_LEEWAY_SECS"),
    ("token_type", "AUTH_TOKEN_TYPE"),
];

impl AuthConfig {
    /// Reads the `AUTH_*` variables of this process.
    ///
    /// # Errors
    /// A variable that is not UTF-8 or not of its type; the error names it.
    pub fn from_env() -> Result<Self, ConfigError> {
        for (_, var) in VARIABLES {
            if let Some(value) = std::env::var_os(var)
                && value.to_str().is_none()
            {
                return Err(ConfigError::setting(var, "is not valid UTF-8"));
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the `AUTH_*` variables through `lookup` (e.g. a map in tests).
    ///
    /// # Errors
    /// A variable that is not of its type; the error names it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let list = |var: &str| -> Vec<String> {
            get(var)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let seconds = |var: &'static str| match get(var) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                ConfigError::setting(var, format!("{v:?} is not a whole number of seconds"))
            }),
        };
        Ok(Self {
            hmac_secret: lookup("AUTH_HMAC_SECRET").filter(|v| !v.is_empty()),
            public_key_file: get("AUTH_PUBLIC_KEY_FILE").map(PathBuf::from),
            algorithms: list("AUTH_ALGORITHMS"),
            issuers: list("AUTH_ISSUER"),
            audiences: list("AUTH_AUDIENCE"),
            leeway_secs: seconds("AUTH_LEEWAY_SECS")?,
            token_type: get("AUTH_TOKEN_TYPE").map(|v| v.trim().to_owned()),
            jwks_url: get("AUTH_JWKS_URL").map(|v| v.trim().to_owned()),
            oidc_issuer: get("AUTH_OIDC_ISSUER").map(|v| v.trim().to_owned()),
            revocation_url: get("AUTH_REVOCATION_URL").map(|v| v.trim().to_owned()),
            store_ca_file: get("AUTH_STORE_CA_FILE").map(|v| PathBuf::from(v.trim())),
            revocation_ttl_secs: seconds("AUTH_REVOCATION_TTL_SECS")?,
            from_env: true,
        })
    }

    /// A builder with everything this configuration describes, including
    /// what needs I/O: the JWKS / OIDC key sources (fetched now, refreshed in
    /// the background) and the revocation store (connected now; `memory:`
    /// when none is named). Must run inside a tokio runtime.
    ///
    /// ```no_run
    /// use auth_layer::AuthConfig;
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

    fn name(&self, field: &'static str) -> &'static str {
        if self.from_env {
            VARIABLES
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(field, |(_, var)| var)
        } else {
            field
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

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("public_key_file", &self.public_key_file)
            .field("algorithms", &self.algorithms)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway_secs", &self.leeway_secs)
            .field("token_type", &self.token_type)
            .field("jwks_url", &self.jwks_url)
            .field("oidc_issuer", &self.oidc_issuer)
            .field(
                "revocation_url",
                &self.revocation_url.as_ref().map(|_| "[redacted]"),
            )
            .field("store_ca_file", &self.store_ca_file)
            .field("revocation_ttl_secs", &self.revocation_ttl_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::JwtAuth;

    fn env(vars: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AuthConfig::from_lookup(|k| map.get(k).cloned())
    }

    fn build(vars: &[(&str, &str)]) -> Result<(), String> {
        let config = env(vars).map_err(|e| e.to_string())?;
        JwtAuth::builder()
            .config(&config)
            .build()
            .map(drop)
            .map_err(|e| e.to_string())
    }

    const SECRET: (&str, &str) = ("AUTH_HMAC_SECRET", "a-secret-of-at-least-thirty-two-bytes!");

    #[test]
    fn comma_lists_are_trimmed() {
        let c = env(&[("AUTH_ISSUER", " a, b ,,"), ("AUTH_AUDIENCE", "x")]).unwrap();
        assert_eq!(c.issuers, ["a", "b"]);
        assert_eq!(c.audiences, ["x"]);
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

    #[test]
    fn debug_redacts_the_secret() {
        let c = env(&[SECRET]).unwrap();
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("thirty-two") && printed.contains("[redacted]"),
            "{printed}"
        );
    }
}
