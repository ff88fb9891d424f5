//! [`AuthConfig`] read from the `AUTH_*` variables or through serde.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::ConfigError;

/// The serialisable configuration: the `AUTH_*` variables of [`AuthConfig::from_env`], or the same
/// fields (`hmac_secret`, `public_key_file`, `algorithms`, `issuers`, `audiences`, `leeway_secs`,
/// `token_type`) from any serde format, applied with
/// [`JwtAuthBuilder::config`](crate::JwtAuthBuilder::config).
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
    /// Whether tokens without `sub` pass (default `false`: RFC 9068
    /// requires it); see
    /// [`JwtAuthBuilder::subject_optional`](crate::JwtAuthBuilder::subject_optional).
    pub subject_optional: Option<bool>,
    /// A JWKS URL to take keys from (feature `jwks`).
    pub jwks_url: Option<String>,
    /// An OpenID Connect issuer to discover keys from (feature `jwks`); it
    /// is also accepted as `iss`, and its discovered keys verify its tokens
    /// only (the static keys and `jwks_url` then sign for `issuers`).
    pub oidc_issuer: Option<String>,
    /// This service's client id at the OpenID issuer: with `oidc_issuer`,
    /// the audience of the logout tokens [`AuthConfig::backchannel_logout`]
    /// accepts.
    pub oidc_client_id: Option<String>,
    /// The revocation store: `memory:` (the default), `redis://…`,
    /// `rediss://…`, `redis+cluster://…` or `postgres://…`; see
    /// [`store::connect`](crate::store::connect).
    pub revocation_url: Option<String>,
    /// CA certificates (a PEM file) the store's TLS is verified with,
    /// instead of the public roots.
    pub store_ca_file: Option<PathBuf>,
    /// The revocation cache TTL in seconds (default 30).
    pub revocation_ttl_secs: Option<u64>,
    /// Whether tokens without `sub` are refused (default `true`); see
    /// [`RevocationCacheBuilder::require_subject`](crate::revocation::RevocationCacheBuilder::require_subject).
    pub revocation_require_sub: Option<bool>,
    /// Whether tokens without `sid` are refused (default `false`); see
    /// [`RevocationCacheBuilder::require_session_id`](crate::revocation::RevocationCacheBuilder::require_session_id).
    pub revocation_require_sid: Option<bool>,
    /// DPoP (RFC 9449): `allowed` (bound tokens need their proof, unbound
    /// tokens pass as bearer tokens), `required` (every token bound), or
    /// `off` (the default: bound tokens are refused); see
    /// [`JwtAuthBuilder::dpop`](crate::JwtAuthBuilder::dpop). With a shared
    /// revocation store, proofs are remembered there across instances.
    pub dpop: Option<String>,
    /// The external base URL clients address the service by, for DPoP
    /// proofs' `htu`; see [`JwtAuthBuilder::public_url`](crate::JwtAuthBuilder::public_url).
    pub public_url: Option<String>,
    /// The RFC 9728 resource identifier (`https://api.example.com/orders`);
    /// default: the first audience when it is such a URL. See
    /// [`JwtAuthBuilder::resource`](crate::JwtAuthBuilder::resource).
    pub resource: Option<String>,
    /// The scopes the RFC 9728 metadata lists.
    pub scopes_supported: Vec<String>,
    /// Where tokens carry scopes and roles, by identity provider:
    /// `keycloak:<client id>`, `entra-id`, `auth0` or `okta`; see
    /// [`GrantClaims`](crate::claims::GrantClaims).
    pub grant_preset: Option<String>,
    /// More claims to read roles from (dotted paths or JSON pointers).
    pub role_claims: Vec<String>,
    /// More claims to read scopes from (dotted paths or JSON pointers).
    pub scope_claims: Vec<String>,
    /// The `acr` values a step-up route accepts ([`step_up`](Self::step_up)).
    pub step_up_acr: Vec<String>,
    /// The maximum age, in seconds, of the login a step-up route accepts.
    pub step_up_max_age_secs: Option<u64>,
    #[serde(skip)]
    from_env: bool,
}

/// Each field with its environment variable.
const VARIABLES: [(&str, &str); 25] = [
    ("subject_optional", "AUTH_SUBJECT_OPTIONAL"),
    ("grant_preset", "AUTH_GRANT_PRESET"),
    ("role_claims", "AUTH_ROLE_CLAIMS"),
    ("scope_claims", "AUTH_SCOPE_CLAIMS"),
    ("step_up_acr", "AUTH_STEP_UP_ACR"),
    ("step_up_max_age_secs", "AUTH_STEP_UP_MAX_AGE_SECS"),
    ("resource", "AUTH_RESOURCE"),
    ("scopes_supported", "AUTH_SCOPES_SUPPORTED"),
    ("dpop", "AUTH_DPOP"),
    ("public_url", "AUTH_PUBLIC_URL"),
    ("jwks_url", "AUTH_JWKS_URL"),
    ("oidc_issuer", "AUTH_OIDC_ISSUER"),
    ("oidc_client_id", "AUTH_OIDC_CLIENT_ID"),
    ("revocation_url", "AUTH_REVOCATION_URL"),
    ("store_ca_file", "AUTH_STORE_CA_FILE"),
    ("revocation_ttl_secs", "AUTH_REVOCATION_TTL_SECS"),
    ("revocation_require_sub", "AUTH_REVOCATION_REQUIRE_SUB"),
    ("revocation_require_sid", "AUTH_REVOCATION_REQUIRE_SID"),
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
        let boolean = |var: &'static str| match get(var).as_deref().map(str::trim) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ConfigError::setting(
                var,
                format!("{v:?} is not true or false"),
            )),
        };
        Ok(Self {
            hmac_secret: lookup("AUTH_HMAC_SECRET").filter(|v| !v.is_empty()),
            public_key_file: get("AUTH_PUBLIC_KEY_FILE").map(PathBuf::from),
            algorithms: list("AUTH_ALGORITHMS"),
            issuers: list("AUTH_ISSUER"),
            audiences: list("AUTH_AUDIENCE"),
            leeway_secs: seconds("AUTH_LEEWAY_SECS")?,
            token_type: get("AUTH_TOKEN_TYPE").map(|v| v.trim().to_owned()),
            subject_optional: boolean("AUTH_SUBJECT_OPTIONAL")?,
            jwks_url: get("AUTH_JWKS_URL").map(|v| v.trim().to_owned()),
            oidc_issuer: get("AUTH_OIDC_ISSUER").map(|v| v.trim().to_owned()),
            oidc_client_id: get("AUTH_OIDC_CLIENT_ID").map(|v| v.trim().to_owned()),
            revocation_url: get("AUTH_REVOCATION_URL").map(|v| v.trim().to_owned()),
            store_ca_file: get("AUTH_STORE_CA_FILE").map(|v| PathBuf::from(v.trim())),
            revocation_ttl_secs: seconds("AUTH_REVOCATION_TTL_SECS")?,
            revocation_require_sub: boolean("AUTH_REVOCATION_REQUIRE_SUB")?,
            revocation_require_sid: boolean("AUTH_REVOCATION_REQUIRE_SID")?,
            dpop: get("AUTH_DPOP").map(|v| v.trim().to_owned()),
            public_url: get("AUTH_PUBLIC_URL").map(|v| v.trim().to_owned()),
            resource: get("AUTH_RESOURCE").map(|v| v.trim().to_owned()),
            scopes_supported: list("AUTH_SCOPES_SUPPORTED"),
            grant_preset: get("AUTH_GRANT_PRESET").map(|v| v.trim().to_owned()),
            role_claims: list("AUTH_ROLE_CLAIMS"),
            scope_claims: list("AUTH_SCOPE_CLAIMS"),
            step_up_acr: list("AUTH_STEP_UP_ACR"),
            step_up_max_age_secs: seconds("AUTH_STEP_UP_MAX_AGE_SECS")?,
            from_env: true,
        })
    }

    /// How the field is named to the user: its variable when read from the
    /// environment, else the field itself.
    pub(super) fn name(&self, field: &'static str) -> &'static str {
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
            .field("subject_optional", &self.subject_optional)
            .field("jwks_url", &self.jwks_url)
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field(
                "revocation_url",
                &self.revocation_url.as_ref().map(|_| "[redacted]"),
            )
            .field("store_ca_file", &self.store_ca_file)
            .field("revocation_ttl_secs", &self.revocation_ttl_secs)
            .field("revocation_require_sub", &self.revocation_require_sub)
            .field("revocation_require_sid", &self.revocation_require_sid)
            .field("dpop", &self.dpop)
            .field("public_url", &self.public_url)
            .field("resource", &self.resource)
            .field("scopes_supported", &self.scopes_supported)
            .field("grant_preset", &self.grant_preset)
            .field("role_claims", &self.role_claims)
            .field("scope_claims", &self.scope_claims)
            .field("step_up_acr", &self.step_up_acr)
            .field("step_up_max_age_secs", &self.step_up_max_age_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AuthConfig::from_lookup(|k| map.get(k).cloned())
    }

    const SECRET: (&str, &str) = ("AUTH_HMAC_SECRET", "a-secret-of-at-least-thirty-two-bytes!");

    #[test]
    fn comma_lists_are_trimmed() {
        let c = env(&[("AUTH_ISSUER", " a, b ,,"), ("AUTH_AUDIENCE", "x")]).unwrap();
        assert_eq!(c.issuers, ["a", "b"]);
        assert_eq!(c.audiences, ["x"]);
    }

    #[test]
    fn revocation_requirements_are_true_or_false() {
        let c = env(&[
            ("AUTH_REVOCATION_REQUIRE_SUB", "false"),
            ("AUTH_REVOCATION_REQUIRE_SID", " true "),
        ])
        .unwrap();
        assert_eq!(
            (c.revocation_require_sub, c.revocation_require_sid),
            (Some(false), Some(true))
        );
        let err = env(&[("AUTH_REVOCATION_REQUIRE_SUB", "no")]).unwrap_err();
        assert!(
            err.to_string().starts_with("AUTH_REVOCATION_REQUIRE_SUB:"),
            "{err}"
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
