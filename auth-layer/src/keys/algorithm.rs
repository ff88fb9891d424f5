//! Algorithm and family names, as JWA spells them.

use jsonwebtoken::{Algorithm, AlgorithmFamily};

/// The name used in messages, e.g. `"HS256"`.
///
/// ```
/// use auth_layer::keys::{Algorithm, algorithm_name};
///
/// assert_eq!(algorithm_name(Algorithm::ES256), "ES256");
/// ```
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

/// Parses an algorithm name exactly as JWA spells it (case-sensitive).
pub(crate) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

pub(crate) fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Hmac => "HMAC",
        AlgorithmFamily::Rsa => "RSA",
        AlgorithmFamily::Ec => "EC",
        AlgorithmFamily::Ed => "EdDSA",
    }
}

/// The shortest HMAC secret `alg` may use (RFC 7518 section 3.2: at least
/// the hash's size), in bytes; `None` for an algorithm that is not HMAC.
pub fn min_hmac_bytes(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::HS256 => Some(32),
        Algorithm::HS384 => Some(48),
        Algorithm::HS512 => Some(64),
        _ => None,
    }
}

/// The HMAC algorithms a secret of `len` bytes may verify or sign with.
pub(crate) fn hmac_algorithms(len: usize) -> &'static [Algorithm] {
    static ALL: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    let n = ALL
        .iter()
        .take_while(|alg| min_hmac_bytes(**alg).is_some_and(|min| len >= min))
        .count();
    ALL.get(..n).unwrap_or_default()
}

/// Every algorithm of `family`, for as long as the program runs.
pub(crate) fn family_algorithms(family: AlgorithmFamily) -> &'static [Algorithm] {
    match family {
        AlgorithmFamily::Hmac => &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
        AlgorithmFamily::Rsa => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmFamily::Ec => &[Algorithm::ES256, Algorithm::ES384],
        AlgorithmFamily::Ed => &[Algorithm::EdDSA],
    }
}
