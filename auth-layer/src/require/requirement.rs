//! [`Requirement`]: the scope or role a route demands of a verified token.
//!
//! The check reads the [`Grants`] the layer parsed from `scope`/`scp` and
//! `roles`, never your claims type, so one guard serves every `C`. The
//! [`Require`](crate::require::Require) guard and the framework adapters
//! (`auth_extract`'s actix-web middleware and `WithScope`/`WithRole`
//! extractors) call [`Requirement::check`]; they do not inspect tokens
//! themselves.
//!
//! ```
//! use auth_layer::{ErrorKind, JwtAuth};
//! use auth_layer::require::Requirement;
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let token = jsonwebtoken::encode(
//!     &jsonwebtoken::Header::default(),
//!     &serde_json::json!({ "exp": 4_000_000_000_u64, "scope": "orders:read" }),
//!     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
//! )
//! .unwrap();
//! let verified = auth.verifier().verify(&token).unwrap();
//!
//! assert!(Requirement::scope("orders:read").check(Some(verified.grants())).is_ok());
//! let denied = Requirement::scope("orders:write").check(Some(verified.grants())).unwrap_err();
//! assert_eq!(denied.kind(), ErrorKind::InsufficientScope);
//! assert_eq!(denied.required(), Some("orders:write"));
//! // Optional mode, no token: a 401, not a 403.
//! let anonymous = Requirement::role("admin").check(None).unwrap_err();
//! assert_eq!(anonymous.kind(), ErrorKind::MissingToken);
//! ```

use std::borrow::Cow;

use crate::claims::Grants;
use crate::error::AuthError;

/// A scope or a role that a request's token must grant.
///
/// ```
/// use auth_layer::require::Requirement;
///
/// assert_eq!(Requirement::scope("orders:write"), Requirement::Scope("orders:write".into()));
/// assert!(Requirement::role("admin").check(None).is_err(), "no token grants nothing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// The token's `scope` / `scp` must include this scope.
    Scope(Cow<'static, str>),
    /// The token's `roles` must include this role.
    Role(Cow<'static, str>),
}

impl Requirement {
    /// Requires `scope` (e.g. `"orders:write"`).
    pub fn scope(scope: impl Into<Cow<'static, str>>) -> Self {
        Self::Scope(scope.into())
    }

    /// Requires `role` (e.g. `"admin"`).
    pub fn role(role: impl Into<Cow<'static, str>>) -> Self {
        Self::Role(role.into())
    }

    /// Checks what a verified token grants; `None` is a request that the
    /// layer let through without a token (optional mode).
    ///
    /// # Errors
    /// [`MissingToken`](crate::ErrorKind::MissingToken) (401) without a
    /// token, [`InsufficientScope`](crate::ErrorKind::InsufficientScope) or
    /// [`InsufficientRole`](crate::ErrorKind::InsufficientRole) (403) when
    /// the grant is missing.
    pub fn check(&self, grants: Option<&Grants>) -> Result<(), AuthError> {
        let Some(grants) = grants else {
            return Err(AuthError::missing());
        };
        match self {
            Self::Scope(scope) if grants.has_scope(scope) => Ok(()),
            Self::Role(role) if grants.has_role(role) => Ok(()),
            Self::Scope(scope) => Err(AuthError::insufficient_scope(scope.clone())),
            Self::Role(role) => Err(AuthError::insufficient_role(role.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::claims::{ClaimNames, parse_registered};

    fn grants(json: &str) -> Grants {
        parse_registered(json.as_bytes(), &ClaimNames::default(), &Default::default())
            .unwrap()
            .1
            .grants
    }

    #[test]
    fn scopes_come_from_scope_and_scp_roles_from_roles() {
        let g = grants(r#"{"scope":"a b","scp":["c"],"roles":["admin"]}"#);
        for scope in ["a", "b", "c"] {
            assert!(Requirement::scope(scope).check(Some(&g)).is_ok(), "{scope}");
        }
        assert!(Requirement::role("admin").check(Some(&g)).is_ok());
        let e = Requirement::scope("admin").check(Some(&g)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsufficientScope);
        let e = Requirement::role("a").check(Some(&g)).unwrap_err();
        assert_eq!(
            (e.kind(), e.required()),
            (ErrorKind::InsufficientRole, Some("a"))
        );
    }
}
