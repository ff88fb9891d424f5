//! [`ConfigError`]: why a configuration was refused.

/// Why a configuration was refused by [`JwtAuthBuilder::build`](crate::JwtAuthBuilder::build),
/// a key constructor or the environment reader.
///
/// Each message names the value at fault and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No key at all.
    #[error(
        "no verification key is configured: add one with `hmac_secret`, `public_key_pem`, `jwk` or `key` (or set AUTH_HMAC_SECRET / AUTH_PUBLIC_KEY_FILE)"
    )]
    NoKeys,
    /// Key material that cannot be used.
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// Which key, e.g. `"RSA public key PEM"`.
        what: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// An allowed algorithm that no configured key can verify.
    #[error(
        "algorithm {algorithm} is allowed but no {family} key is configured: add such a key or remove {algorithm} from the allowed algorithms"
    )]
    AlgorithmWithoutKey {
        /// The algorithm's name, e.g. `"RS256"`.
        algorithm: &'static str,
        /// The key family it needs, e.g. `"RSA"`.
        family: &'static str,
    },
    /// A configured key that can verify none of the allowed algorithms.
    #[error(
        "the {family} key {kid} can verify none of the allowed algorithms: allow one of its algorithms or remove the key"
    )]
    UnusableKey {
        /// The key's family.
        family: &'static str,
        /// The key's `kid`, or `(without kid)`.
        kid: String,
    },
    /// Two keys with the same `kid`.
    #[error("two keys share the kid {kid:?}: every kid must name one key")]
    DuplicateKid {
        /// The repeated `kid`.
        kid: String,
    },
    /// Leeway above the cap.
    #[error(
        "a leeway of {secs} s is above the cap of {max} s: expired tokens would pass for too long"
    )]
    LeewayTooLarge {
        /// The leeway asked for.
        secs: u64,
        /// The cap.
        max: u64,
    },
    /// A setting with a value that cannot be used (an environment variable,
    /// a config-file field or a builder argument, named in `name`).
    #[error("{name}: {reason}")]
    InvalidSetting {
        /// The variable or setting, e.g. `AUTH_LEEWAY_SECS`.
        name: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A key file that cannot be read.
    #[error("{name}: cannot read {path}: {source}")]
    ReadFile {
        /// The variable or setting that named the file.
        name: String,
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn setting(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidSetting {
            name: name.into(),
            reason: reason.into(),
        }
    }
}
