//! [`Requirement`]: the scopes, roles or login a route demands of a
//! verified token.
//!
//! The check reads the [`Grants`] the layer parsed (scopes, roles, `acr`
//! and `auth_time`), never your claims type, so one guard serves every `C`. The
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
//!     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:read" }),
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
use std::fmt;
use std::time::Duration;

use crate::claims::Grants;
use crate::error::{AuthError, ErrorKind};

/// What a request's token must grant or show: a scope or a role, a set of
/// them (all of them, or any one), or a login strong or recent enough
/// ([`StepUp`], RFC 9470).
///
/// ```
/// use auth_layer::require::{Requirement, StepUp};
/// use std::time::Duration;
///
/// assert_eq!(Requirement::scope("orders:write"), Requirement::Scope("orders:write".into()));
/// let either = Requirement::any_role(["admin", "auditor"]);
/// assert_eq!(either.to_string(), r#"any role of ["admin", "auditor"]"#);
/// let recent = Requirement::step_up(StepUp::acr(["phrh"]).max_age(Duration::from_secs(300)));
/// assert!(recent.check(None).is_err(), "no token grants nothing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// The token's scopes must include this scope.
    Scope(Cow<'static, str>),
    /// The token's roles must include this role.
    Role(Cow<'static, str>),
    /// The token's scopes must include every one of these.
    AllScopes(Vec<Cow<'static, str>>),
    /// The token's scopes must include one of these at least.
    AnyScope(Vec<Cow<'static, str>>),
    /// The token's roles must include every one of these.
    AllRoles(Vec<Cow<'static, str>>),
    /// The token's roles must include one of these at least.
    AnyRole(Vec<Cow<'static, str>>),
    /// The login must be strong or recent enough (RFC 9470).
    StepUp(StepUp),
}

/// A step-up rule (RFC 9470): the token's `acr` must be one of a set,
/// and/or its `auth_time` at most so old. A token that falls short, or has
/// no `acr` / `auth_time` to show, is refused with 401
/// `insufficient_user_authentication`, whose challenge names the
/// `acr_values` and `max_age` that would do, so the client logs the user
/// in again with them.
///
/// ```
/// use auth_layer::require::StepUp;
/// use std::time::Duration;
///
/// let rule = StepUp::acr(["urn:example:mfa"]).max_age(Duration::from_secs(600));
/// assert_eq!(rule.acr_values().collect::<Vec<_>>(), ["urn:example:mfa"]);
/// assert_eq!(rule.max_age_secs(), Some(600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepUp {
    acr: Vec<Cow<'static, str>>,
    max_age: Option<u32>,
}

impl StepUp {
    /// The token's `acr` must be one of `values`.
    pub fn acr<I>(values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self {
            acr: values.into_iter().map(Into::into).collect(),
            max_age: None,
        }
    }

    /// The user must have logged in (`auth_time`) at most `max_age` ago
    /// (whole seconds; capped at 136 years).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(u32::try_from(max_age.as_secs()).unwrap_or(u32::MAX));
        self
    }

    /// Only a recent login: `auth_time` at most `max_age` ago.
    pub fn recent(max_age: Duration) -> Self {
        Self::default().max_age(max_age)
    }

    /// The accepted `acr` values (none: any).
    pub fn acr_values(&self) -> impl Iterator<Item = &str> {
        self.acr.iter().map(AsRef::as_ref)
    }

    /// The maximum age of the login, in seconds.
    pub fn max_age_secs(&self) -> Option<u32> {
        self.max_age
    }

    fn check(&self, grants: &Grants, now: i64) -> Result<(), AuthError> {
        let acr_ok = self.acr.is_empty()
            || grants
                .acr()
                .is_some_and(|acr| self.acr.iter().any(|a| a == acr));
        let age_ok = self.max_age.is_none_or(|max_age| {
            grants
                .auth_time()
                .is_some_and(|t| now.saturating_sub(t) <= i64::from(max_age))
        });
        if acr_ok && age_ok {
            return Ok(());
        }
        Err(AuthError::insufficient_user_authentication(
            self.acr.iter().cloned(),
            self.max_age,
        ))
    }
}

fn owned<I>(values: I) -> Vec<Cow<'static, str>>
where
    I: IntoIterator,
    I::Item: Into<Cow<'static, str>>,
{
    values.into_iter().map(Into::into).collect()
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

    /// Requires every scope of `scopes`.
    pub fn all_scopes<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::AllScopes(owned(scopes))
    }

    /// Requires one scope of `scopes` at least.
    pub fn any_scope<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::AnyScope(owned(scopes))
    }

    /// Requires every role of `roles`.
    pub fn all_roles<I>(roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::AllRoles(owned(roles))
    }

    /// Requires one role of `roles` at least.
    pub fn any_role<I>(roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::AnyRole(owned(roles))
    }

    /// Requires a login strong or recent enough (RFC 9470).
    pub fn step_up(rule: StepUp) -> Self {
        Self::StepUp(rule)
    }

    /// Checks what a verified token grants, by the system clock; `None` is
    /// a request that the layer let through without a token (optional
    /// mode).
    ///
    /// # Errors
    /// [`MissingToken`](crate::ErrorKind::MissingToken) (401) without a
    /// token, [`InsufficientScope`](crate::ErrorKind::InsufficientScope) or
    /// [`InsufficientRole`](crate::ErrorKind::InsufficientRole) (403) when
    /// the grant is missing,
    /// [`InsufficientUserAuthentication`](crate::ErrorKind::InsufficientUserAuthentication)
    /// (401) when a step-up rule is not met.
    pub fn check(&self, grants: Option<&Grants>) -> Result<(), AuthError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.check_at(grants, now)
    }

    /// [`check`](Self::check) at `now` (Unix seconds), for step-up rules:
    /// the layer and [`Require`](crate::require::Require) pass the
    /// verifier's clock.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_at(&self, grants: Option<&Grants>, now: i64) -> Result<(), AuthError> {
        let Some(grants) = grants else {
            return Err(AuthError::missing());
        };
        match self {
            Self::Scope(scope) if grants.has_scope(scope) => Ok(()),
            Self::Role(role) if grants.has_role(role) => Ok(()),
            Self::Scope(scope) => Err(AuthError::insufficient_scope(scope.clone())),
            Self::Role(role) => Err(AuthError::insufficient_role(role.clone())),
            Self::AllScopes(values) => set(values, true, ErrorKind::InsufficientScope, |v| {
                grants.has_scope(v)
            }),
            Self::AnyScope(values) => set(values, false, ErrorKind::InsufficientScope, |v| {
                grants.has_scope(v)
            }),
            Self::AllRoles(values) => set(values, true, ErrorKind::InsufficientRole, |v| {
                grants.has_role(v)
            }),
            Self::AnyRole(values) => set(values, false, ErrorKind::InsufficientRole, |v| {
                grants.has_role(v)
            }),
            Self::StepUp(rule) => rule.check(grants, now),
        }
    }
}

/// Checks a set of scopes or roles: every one (`all`) or one at least;
/// the refusal (`kind`) names the whole set.
fn set(
    values: &[Cow<'static, str>],
    all: bool,
    kind: ErrorKind,
    has: impl Fn(&str) -> bool,
) -> Result<(), AuthError> {
    let met = if all {
        values.iter().all(|v| has(v))
    } else {
        values.iter().any(|v| has(v))
    };
    if met {
        return Ok(());
    }
    let description = match (kind, all) {
        (ErrorKind::InsufficientScope, true) => "token lacks a scope this request requires",
        (ErrorKind::InsufficientScope, false) => "token lacks every scope this request accepts",
        (_, true) => "token lacks a role this request requires",
        (_, false) => "token lacks every role this request accepts",
    };
    Err(AuthError::insufficient(kind, description, values.into()))
}

impl fmt::Display for Requirement {
    /// `scope "orders:write"`, `all scopes of ["a", "b"]`,
    /// `step-up (acr ["phrh"], max_age 300 s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scope(scope) => write!(f, "scope {scope:?}"),
            Self::Role(role) => write!(f, "role {role:?}"),
            Self::AllScopes(v) => write!(f, "all scopes of {v:?}"),
            Self::AnyScope(v) => write!(f, "any scope of {v:?}"),
            Self::AllRoles(v) => write!(f, "all roles of {v:?}"),
            Self::AnyRole(v) => write!(f, "any role of {v:?}"),
            Self::StepUp(rule) => {
                write!(f, "step-up (acr {:?}", rule.acr)?;
                if let Some(max_age) = rule.max_age {
                    write!(f, ", max_age {max_age} s")?;
                }
                f.write_str(")")
            }
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
