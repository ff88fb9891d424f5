//! Which keys verify which tokens: the configured keys, key sources and
//! trusted issuers, checked and sorted into [`IssuerKeys`] when the layer
//! is built.

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;
#[cfg(feature = "jwks")]
use crate::jwks::KeySource;
use crate::keys::algorithm::{algorithm_name, family_name, min_hmac_bytes};
use crate::keys::issuer::{IssuerKeys, TrustedIssuer};
use crate::keys::key::Key;
use crate::keys::set::KeySet;

/// The keys as configured on the builder, before they are checked.
#[derive(Debug, Default)]
pub(crate) struct KeyConfig {
    /// Keys for every token (without trusted issuers).
    pub(crate) keys: Vec<Key>,
    /// Key sources for every token (without trusted issuers).
    #[cfg(feature = "jwks")]
    pub(crate) sources: Vec<KeySource>,
    /// Issuers with keys of their own.
    pub(crate) trusted: Vec<TrustedIssuer>,
}

impl KeyConfig {
    /// The keys of the configuration, checked against the `allowed`
    /// algorithms: one [`IssuerKeys`] for every token, or one per trusted
    /// issuer (then `issuers`, the builder's accepted `iss` values, must be
    /// empty: each trusted issuer names itself).
    pub(crate) fn issuer_keys(
        self,
        issuers: &[String],
        allowed: Option<&[Algorithm]>,
    ) -> Result<Vec<IssuerKeys>, ConfigError> {
        #[cfg(feature = "jwks")]
        let global_sources = self.sources;
        #[cfg(not(feature = "jwks"))]
        let global_sources: Vec<()> = Vec::new();
        if self.trusted.is_empty() {
            let keys = checked_keys(self.keys, allowed, !global_sources.is_empty())?;
            return Ok(vec![IssuerKeys {
                issuer: None,
                keys: KeySet::new(keys),
                #[cfg(feature = "jwks")]
                sources: global_sources,
                audiences: None,
            }]);
        }
        if !self.keys.is_empty() || !global_sources.is_empty() || !issuers.is_empty() {
            return Err(ConfigError::setting(
                "trusted_issuer",
                "with trusted issuers, give every key and key source to its TrustedIssuer (not to the builder), and drop issuer()",
            ));
        }
        let mut per_issuer: Vec<IssuerKeys> = Vec::new();
        for trusted in self.trusted {
            if per_issuer
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
            per_issuer.push(IssuerKeys {
                issuer: Some(trusted.issuer),
                keys: KeySet::new(keys),
                #[cfg(feature = "jwks")]
                sources: trusted.sources,
                audiences: (!trusted.audiences.is_empty()).then_some(trusted.audiences),
            });
        }
        Ok(per_issuer)
    }
}

/// Without an explicit allow-list: every algorithm of the configured keys,
/// and every asymmetric algorithm where a key source may publish keys.
pub(crate) fn default_algorithms(per_issuer: &[IssuerKeys]) -> Vec<Algorithm> {
    let mut algorithms: Vec<Algorithm> = Vec::new();
    let from_sources: &[Algorithm] = if per_issuer.iter().any(IssuerKeys::has_sources) {
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
    let configured = per_issuer
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
            if let Some(min) = min_hmac_bytes(*alg)
                && !has_sources
                && !keys.iter().any(|k| k.can_verify(*alg))
            {
                return Err(ConfigError::setting(
                    "algorithms",
                    format!(
                        "{} needs an HMAC secret of at least {min} bytes (RFC 7518 section 3.2); \
                         the configured secret is shorter, so it verifies only the shorter hashes",
                        algorithm_name(*alg)
                    ),
                ));
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
