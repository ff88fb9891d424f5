//! The claim rules as configured, and the checks of a token's header type
//! and registered claims against them.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::claims::{ClaimNames, RegisteredClaims};
use crate::error::{AuthError, ErrorKind};
use crate::verify::jws::media_type_eq;

/// The default leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default token size cap, checked before anything is decoded: 16 KiB,
/// room for the group-heavy access tokens of identity providers (8–12 KB
/// with a few hundred group ids).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A registered claim that can be required.
///
/// ```
/// use auth_layer::verify::RequiredClaim;
///
/// assert_eq!(RequiredClaim::from_name("jti"), Some(RequiredClaim::Jti));
/// assert_eq!(RequiredClaim::from_name("tenant"), None, "only registered claims");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequiredClaim {
    /// `exp`
    Exp,
    /// `nbf`
    Nbf,
    /// `iat`
    Iat,
    /// `iss`
    Iss,
    /// `sub`
    Sub,
    /// `aud`
    Aud,
    /// `jti`
    Jti,
}

impl RequiredClaim {
    /// Parses a claim name (`"exp"`, `"sub"`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "exp" => Self::Exp,
            "nbf" => Self::Nbf,
            "iat" => Self::Iat,
            "iss" => Self::Iss,
            "sub" => Self::Sub,
            "aud" => Self::Aud,
            "jti" => Self::Jti,
            _ => return None,
        })
    }

    fn present_in(self, c: &RegisteredClaims) -> bool {
        match self {
            Self::Exp => c.exp().is_some(),
            Self::Nbf => c.nbf().is_some(),
            Self::Iat => c.iat().is_some(),
            Self::Iss => c.iss().is_some(),
            // An empty `sub` names no one.
            Self::Sub => c.sub().is_some_and(|s| !s.is_empty()),
            Self::Aud => c.aud().is_some(),
            Self::Jti => c.jti().is_some(),
        }
    }

    fn missing(self) -> AuthError {
        let description = match self {
            Self::Exp => "token has no exp claim",
            Self::Nbf => "token has no nbf claim",
            Self::Iat => "token has no iat claim",
            Self::Iss => "token has no iss claim",
            Self::Sub => "token has no sub claim",
            Self::Aud => "token has no aud claim",
            Self::Jti => "token has no jti claim",
        };
        AuthError::new(ErrorKind::MissingClaim, description)
    }
}

/// The claim rules, as configured.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: i64,
    pub(crate) required: Vec<RequiredClaim>,
    pub(crate) token_type: Option<String>,
    pub(crate) max_token_bytes: usize,
    pub(crate) claim_names: ClaimNames,
}

impl Rules {
    /// The header `typ` against the configured token type. With none
    /// configured, an access token's types pass (absent, `JWT`, `at+jwt`;
    /// media-type rules) and every other explicit type is refused: a
    /// DPoP proof, a logout token, a security event or an ID token typed
    /// as such is not an access token (RFC 8725 section 3.11).
    pub(crate) fn check_type(&self, typ: Option<&str>) -> Result<(), AuthError> {
        let Some(expected) = &self.token_type else {
            return match typ {
                None => Ok(()),
                Some(typ) if media_type_eq(typ, "JWT") || media_type_eq(typ, "at+jwt") => Ok(()),
                Some(_) => Err(AuthError::new(
                    ErrorKind::InvalidTokenType,
                    "token type is not that of an access token",
                )),
            };
        };
        let Some(typ) = typ else {
            return Err(AuthError::new(
                ErrorKind::InvalidTokenType,
                "token has no typ header",
            ));
        };
        if media_type_eq(typ, expected) {
            Ok(())
        } else {
            Err(AuthError::new(
                ErrorKind::InvalidTokenType,
                "token type is not accepted",
            ))
        }
    }

    /// The checks that depend on the time: `exp` and `nbf` at `now` (run
    /// again on every cache hit).
    pub(crate) fn check_times(&self, c: &RegisteredClaims, now: i64) -> Result<(), AuthError> {
        let leeway = self.leeway;
        if c.exp().is_some_and(|exp| now > exp.saturating_add(leeway)) {
            return Err(AuthError::new(ErrorKind::Expired, "token expired"));
        }
        if c.nbf().is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(AuthError::new(
                ErrorKind::NotYetValid,
                "token is not valid yet",
            ));
        }
        Ok(())
    }

    /// Every claim rule, at `now`: required claims, `exp`, `nbf`, `iat`,
    /// `iss`, and `aud` against the issuer's own audiences if it has any.
    pub(crate) fn check_claims(
        &self,
        c: &RegisteredClaims,
        issuer_audiences: Option<&Vec<String>>,
        now: i64,
    ) -> Result<(), AuthError> {
        if let Some(missing) = self.required.iter().find(|r| !r.present_in(c)) {
            return Err(missing.missing());
        }
        self.check_times(c, now)?;
        let leeway = self.leeway;
        if c.iat().is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(AuthError::new(
                ErrorKind::IssuedInFuture,
                "token is issued in the future",
            ));
        }
        if !self.issuers.is_empty() {
            match c.iss() {
                None => {
                    return Err(AuthError::new(
                        ErrorKind::InvalidIssuer,
                        "token has no issuer",
                    ));
                }
                Some(iss) if !self.issuers.iter().any(|i| i == iss) => {
                    return Err(AuthError::new(
                        ErrorKind::InvalidIssuer,
                        "token issuer is not accepted",
                    ));
                }
                Some(_) => {}
            }
        }
        let audiences = issuer_audiences.unwrap_or(&self.audiences);
        match (c.aud(), audiences.is_empty()) {
            (None, false) => Err(AuthError::new(
                ErrorKind::InvalidAudience,
                "token has no audience",
            )),
            (Some(aud), false) if !audiences.iter().any(|a| aud.contains(a)) => Err(
                AuthError::new(ErrorKind::InvalidAudience, "token audience is not accepted"),
            ),
            // RFC 7519 4.1.3: a token naming an audience must be rejected by a
            // recipient that does not identify itself with it.
            (Some(_), true) => Err(AuthError::new(
                ErrorKind::InvalidAudience,
                "token names an audience but this service accepts none",
            )),
            _ => Ok(()),
        }
    }
}
