//! The names of the revocation claims, and the one check that they can be
//! used.

use crate::claims::sources::GrantReader;
use crate::error::ConfigError;

/// The registered claim names (RFC 7519 section 4.1).
pub(crate) const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The names of the revocation claims, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimNames {
    pub(crate) version: String,
    pub(crate) session: String,
    /// Where scopes and roles are read.
    pub(crate) grants: GrantReader,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            version: "ver".to_owned(),
            session: "sid".to_owned(),
            grants: GrantReader::default(),
        }
    }
}

/// The top-level claims the layer reads besides the registered ones and
/// the revocation claims: grants cannot come from them.
pub(crate) const READ_OTHERWISE: [&str; 3] = ["cnf", "acr", "auth_time"];

impl ClaimNames {
    /// Checks that the names can be read from tokens: see
    /// [`check_names`](Self::check_names).
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        Self::check_names(&self.version, &self.session)
    }

    /// Checks the names of the version and session claims, wherever they
    /// are configured (the layer reads them, the token issuer writes them):
    /// not empty, not a registered claim, not the same. The error names the
    /// setting (`version_claim`, `session_claim`) and the fix.
    pub(crate) fn check_names(version: &str, session: &str) -> Result<(), ConfigError> {
        for (setting, name) in [("version_claim", version), ("session_claim", session)] {
            if name.is_empty() || REGISTERED.contains(&name) {
                return Err(ConfigError::setting(
                    setting,
                    format!(
                        "{name:?} cannot be used: pick a name that is not empty and not a registered claim"
                    ),
                ));
            }
        }
        if version == session {
            return Err(ConfigError::setting(
                "session_claim",
                "must differ from version_claim",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_free_distinct_and_not_registered() {
        assert!(ClaimNames::check_names("ver", "sid").is_ok());
        for (version, session, expected) in [
            ("", "sid", "version_claim: \"\" cannot be used"),
            ("ver", "exp", "session_claim: \"exp\" cannot be used"),
            ("sub", "sid", "version_claim: \"sub\" cannot be used"),
            ("v", "v", "session_claim: must differ from version_claim"),
        ] {
            let err = ClaimNames::check_names(version, session)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(expected),
                "{err:?} should start with {expected:?}"
            );
        }
    }
}
