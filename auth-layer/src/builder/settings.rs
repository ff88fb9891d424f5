//! [`Settings`]: what a [`JwtAuthBuilder`](crate::JwtAuthBuilder) collects,
//! whatever its claims type, and the checks `build()` runs on it.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::claims::ClaimNames;
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::keys::{IssuerKeys, KeyConfig, default_algorithms};
use crate::observe::Observer;
use crate::revocation::RevocationCache;
use crate::source::TokenSource;
use crate::verify::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_TOKEN_CACHE_BYTES,
    DEFAULT_TOKEN_CACHE_MAX_AGE, MAX_LEEWAY, RequiredClaim, Rules,
};

/// The builder's configuration: not generic, so `claims::<C>()` moves it
/// whole and its checks are compiled once.
pub(crate) struct Settings {
    pub(crate) keys: KeyConfig,
    /// Problems found while configuring (a key that could not be read),
    /// reported by `build()`.
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) algorithms: Option<Vec<Algorithm>>,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: Duration,
    pub(crate) required: Vec<String>,
    pub(crate) exp_optional: bool,
    /// Tokens without `sub` pass (RFC 9068 requires it; off by default).
    pub(crate) subject_optional: bool,
    pub(crate) token_type: Option<String>,
    pub(crate) sources: Option<Vec<TokenSource>>,
    pub(crate) max_token_bytes: usize,
    pub(crate) realm: String,
    pub(crate) optional: bool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Option<RevocationCache>,
    pub(crate) observer: Observer,
    pub(crate) claim_names: ClaimNames,
    /// Where scopes and roles are read (compiled into `claim_names`).
    pub(crate) grant_claims: crate::claims::GrantClaims,
    /// Layer-wide requirements (`require`).
    pub(crate) requirements: Vec<crate::require::Requirement>,
    /// The verified-token cache's memory budget and maximum age; `None`
    /// when disabled.
    pub(crate) token_cache: Option<(u64, Duration)>,
    pub(crate) dpop: Option<crate::dpop::DpopVerifier>,
    pub(crate) dpop_mode: Option<crate::dpop::DpopMode>,
    pub(crate) public_url: Option<String>,
    /// RFC 9728 metadata: the resource identifier and what else the
    /// document says.
    pub(crate) metadata: MetadataSettings,
}

/// What the RFC 9728 document says beyond what the layer's configuration
/// tells.
#[derive(Default)]
pub(crate) struct MetadataSettings {
    pub(crate) resource: Option<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) authorization_servers: Option<Vec<String>>,
    pub(crate) resource_name: Option<String>,
    pub(crate) resource_documentation: Option<String>,
}

/// The settings, checked: what the verifier and the layer are made of.
pub(crate) struct Checked {
    pub(crate) issuer_keys: Vec<IssuerKeys>,
    pub(crate) rules: Rules,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) token_cache: Option<(u64, Duration)>,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) realm: String,
    pub(crate) optional: bool,
    pub(crate) revocation: Option<RevocationCache>,
    pub(crate) observer: Observer,
    pub(crate) dpop: Option<crate::dpop::DpopResource>,
    pub(crate) metadata: Option<crate::metadata::ResourceMetadata>,
    pub(crate) requirements: Box<[crate::require::Requirement]>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keys: KeyConfig::default(),
            errors: Vec::new(),
            algorithms: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            required: Vec::new(),
            exp_optional: false,
            subject_optional: false,
            token_type: None,
            sources: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            realm: "api".to_owned(),
            optional: false,
            clock: Arc::new(SystemClock),
            revocation: None,
            observer: Observer::default(),
            claim_names: ClaimNames::default(),
            grant_claims: crate::claims::GrantClaims::default(),
            requirements: Vec::new(),
            token_cache: Some((DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_MAX_AGE)),
            dpop: None,
            dpop_mode: None,
            public_url: None,
            metadata: MetadataSettings::default(),
        }
    }
}

impl Settings {
    /// Checks the settings; the first problem found is the error (see
    /// [`JwtAuthBuilder::build`](crate::JwtAuthBuilder::build)).
    pub(crate) fn check(mut self) -> Result<Checked, ConfigError> {
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        let (issuer_keys, issuers) = self
            .keys
            .issuer_keys(self.issuers, self.algorithms.as_deref())?;
        let algorithms = match self.algorithms {
            Some(allowed) => allowed,
            None => default_algorithms(&issuer_keys),
        };
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                secs: self.leeway.as_secs(),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        let required = required_claims(&self.required, self.exp_optional, self.subject_optional)?;
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
        self.claim_names.check()?;
        let taken: Vec<&str> = crate::claims::REGISTERED
            .iter()
            .chain(&crate::claims::READ_OTHERWISE)
            .copied()
            .chain([
                self.claim_names.version.as_str(),
                self.claim_names.session.as_str(),
            ])
            .collect();
        self.claim_names.grants = self.grant_claims.compile(&taken)?;
        let sources = self.sources.unwrap_or_else(|| vec![TokenSource::Bearer]);
        if sources.is_empty() {
            return Err(ConfigError::setting(
                "token_sources",
                "at least one token source is needed",
            ));
        }
        if let Some((bytes, age)) = self.token_cache
            && (bytes == 0 || age.is_zero())
        {
            return Err(ConfigError::setting(
                "token_cache",
                "a zero budget or age caches nothing: use disable_token_cache() instead",
            ));
        }
        let public_url = self
            .public_url
            .as_deref()
            .map(crate::dpop::check_public_url)
            .transpose()?;
        let dpop = match (self.dpop, self.dpop_mode) {
            (Some(verifier), mode) => {
                if public_url.is_none() {
                    tracing::warn!(
                        "DPoP without public_url: a proof's htu is compared with the request's own scheme and Host, which the client chooses; set public_url to the URL clients address"
                    );
                }
                Some(crate::dpop::DpopResource::new(
                    verifier,
                    mode.unwrap_or_default(),
                    public_url,
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::setting(
                    "dpop_mode",
                    "a DPoP mode needs a DpopVerifier: add .dpop(DpopVerifier::builder().build()?)",
                ));
            }
            (None, None) => None,
        };
        // Every accepted issuer: the builder's and the trusted ones.
        let mut accepted = issuers.clone();
        for issuer in issuer_keys.iter().filter_map(|k| k.issuer.as_ref()) {
            if !accepted.contains(issuer) {
                accepted.push(issuer.clone());
            }
        }
        let metadata = self.metadata.build(&accepted, &sources, dpop.as_ref())?;
        Ok(Checked {
            metadata,
            issuer_keys,
            rules: Rules {
                algorithms,
                issuers,
                audiences: self.audiences,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(0),
                required,
                token_type: self.token_type,
                max_token_bytes: self.max_token_bytes,
                claim_names: self.claim_names,
            },
            clock: self.clock,
            token_cache: self.token_cache,
            sources,
            realm: self.realm,
            optional: self.optional,
            revocation: self.revocation,
            observer: self.observer,
            dpop,
            requirements: self.requirements.into(),
        })
    }
}

impl MetadataSettings {
    /// The RFC 9728 document, from the layer's own configuration: the
    /// accepted issuers are the authorization servers, the token sources
    /// the bearer methods, the DPoP verifier's algorithms the DPoP ones.
    fn build(
        self,
        issuers: &[String],
        sources: &[TokenSource],
        dpop: Option<&crate::dpop::DpopResource>,
    ) -> Result<Option<crate::metadata::ResourceMetadata>, ConfigError> {
        let Some(resource) = self.resource else {
            if !self.scopes_supported.is_empty()
                || self.authorization_servers.is_some()
                || self.resource_name.is_some()
                || self.resource_documentation.is_some()
            {
                return Err(ConfigError::setting(
                    "resource",
                    "the protected-resource metadata needs its resource identifier: add .resource(\"https://…\")",
                ));
            }
            return Ok(None);
        };
        let mut bearer_methods_supported = Vec::new();
        for source in sources {
            let method = match source {
                TokenSource::Bearer => "header",
                TokenSource::Query(name) if name == "access_token" => "query",
                _ => continue,
            };
            if !bearer_methods_supported.contains(&method) {
                bearer_methods_supported.push(method);
            }
        }
        let document = crate::metadata::Document {
            resource,
            authorization_servers: self
                .authorization_servers
                .unwrap_or_else(|| issuers.to_vec()),
            scopes_supported: self.scopes_supported,
            bearer_methods_supported,
            resource_name: self.resource_name,
            resource_documentation: self.resource_documentation,
            dpop_signing_alg_values_supported: dpop
                .map(|d| {
                    d.verifier
                        .algorithms()
                        .iter()
                        .map(|a| crate::keys::algorithm_name(*a).to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            dpop_bound_access_tokens_required: dpop
                .map(|d| d.mode == crate::dpop::DpopMode::Required),
        };
        if document
            .scopes_supported
            .iter()
            .any(|s| s.is_empty() || s.contains([' ', '"', '\\']))
        {
            return Err(ConfigError::setting(
                "scopes_supported",
                "a scope is a non-empty token without spaces, quotes or backslashes (RFC 6749 section 3.3)",
            ));
        }
        crate::metadata::ResourceMetadata::new(document).map(Some)
    }
}

/// `exp` and `sub` (unless optional) and the named registered claims, each
/// once.
fn required_claims(
    names: &[String],
    exp_optional: bool,
    subject_optional: bool,
) -> Result<Vec<RequiredClaim>, ConfigError> {
    let mut required = Vec::with_capacity(names.len() + 2);
    if !exp_optional {
        required.push(RequiredClaim::Exp);
    }
    if !subject_optional {
        required.push(RequiredClaim::Sub);
    }
    for name in names {
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
    Ok(required)
}

fn is_header_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}
