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
    /// algorithms, and the issuers the claims check accepts.
    ///
    /// Every key signs for one issuer only. A key source found by OpenID
    /// discovery belongs to its issuer; keys and key sources given to the
    /// builder belong to the builder's one [`issuer`](crate::JwtAuthBuilder::issuer)
    /// (or, with no issuer and nothing bound, to every token, whose `iss`
    /// is then not checked); trusted issuers name their own. So the result
    /// is either one [`IssuerKeys`] for every token (with the accepted
    /// `issuers` checked after the signature, as configured) or one per
    /// issuer (then the token's `iss` picks its keys, and the returned
    /// issuer list is empty: the pick is the check).
    pub(crate) fn issuer_keys(
        self,
        issuers: Vec<String>,
        allowed: Option<&[Algorithm]>,
    ) -> Result<(Vec<IssuerKeys>, Vec<String>), ConfigError> {
        let mut trusted = self.trusted;
        #[cfg(feature = "jwks")]
        let unbound_sources = {
            let (bound, unbound): (Vec<KeySource>, Vec<KeySource>) =
                self.sources.into_iter().partition(|s| s.issuer().is_some());
            for source in bound {
                let issuer = source.issuer().unwrap_or_default().to_owned();
                match trusted.iter_mut().find(|t| t.issuer == issuer) {
                    Some(t) => t.sources.push(source),
                    None => trusted.push(TrustedIssuer::new(issuer).key_source(source)),
                }
            }
            unbound
        };
        #[cfg(not(feature = "jwks"))]
        let unbound_sources: Vec<()> = Vec::new();
        let has_unbound = !self.keys.is_empty() || !unbound_sources.is_empty();
        let mut own: Vec<&String> = Vec::new();
        for issuer in &issuers {
            if !own.contains(&issuer) && !trusted.iter().any(|t| &t.issuer == issuer) {
                own.push(issuer);
            }
        }
        if let ([first, second, ..], true) = (own.as_slice(), has_unbound) {
            return Err(ConfigError::setting(
                "issuer",
                format!(
                    "{} would share one set of keys, so whoever holds a key of one could \
                     mint tokens of the others. Give each issuer its own keys (the same \
                     key or key source may be given to several on purpose): \
                     .trusted_issuer(TrustedIssuer::new({first:?}).key(..)).trusted_issuer(TrustedIssuer::new({second:?}).key(..))",
                    list(&own),
                ),
            ));
        }
        if trusted.is_empty() {
            let keys = checked_keys(self.keys, allowed, !unbound_sources.is_empty())?;
            return Ok((
                vec![IssuerKeys {
                    issuer: None,
                    keys: KeySet::new(keys),
                    #[cfg(feature = "jwks")]
                    sources: unbound_sources,
                    audiences: None,
                }],
                issuers,
            ));
        }
        match (own.first(), has_unbound) {
            (Some(issuer), true) => {
                let mut bound = TrustedIssuer::new((*issuer).clone());
                bound.keys = self.keys;
                #[cfg(feature = "jwks")]
                {
                    bound.sources = unbound_sources;
                }
                trusted.push(bound);
            }
            (None, true) => {
                return Err(ConfigError::setting(
                    "issuer",
                    format!(
                        "the keys given to the builder would verify tokens of any issuer but {}: \
                         name the issuer they sign for with .issuer(..), or give them to a TrustedIssuer",
                        list(&trusted.iter().map(|t| &t.issuer).collect::<Vec<_>>())
                    ),
                ));
            }
            (Some(issuer), false) => {
                return Err(ConfigError::setting(
                    "issuer",
                    format!(
                        "{issuer:?} has no keys: every other key belongs to its own issuer. \
                         Give it keys with .trusted_issuer(TrustedIssuer::new({issuer:?}).key(..))"
                    ),
                ));
            }
            (None, false) => {}
        }
        #[cfg(feature = "jwks")]
        for t in &trusted {
            if let Some(other) = t
                .sources
                .iter()
                .find_map(|s| s.issuer().filter(|iss| *iss != t.issuer))
            {
                return Err(ConfigError::setting(
                    "trusted_issuer",
                    format!(
                        "{:?} was given the key source discovered for {other:?}: discovered keys sign \
                         for their own issuer only. Use KeySource::oidc({:?}), or a JWKS URL \
                         (KeySource::jwks) if the issuer really publishes its keys there",
                        t.issuer, t.issuer
                    ),
                ));
            }
        }
        let mut per_issuer: Vec<IssuerKeys> = Vec::new();
        for trusted in trusted {
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
        Ok((per_issuer, Vec::new()))
    }
}

/// `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
fn list(items: &[&String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
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
