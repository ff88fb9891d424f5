//! [`AuthError`]: why a request was not authenticated.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::error::ErrorKind;

/// Why a request was not authenticated.
///
/// Opaque on purpose: match on [`kind()`](AuthError::kind). The
/// [`description()`](AuthError::description) is what clients see in
/// `error_description`; it names the rule that failed and never echoes the
/// token or key material. The underlying parser or crypto error, if any, is
/// available through [`source()`](StdError::source) for logs.
///
/// A rejected request's response carries a clone of this error in its
/// extensions, so outer layers can log it.
#[derive(Clone)]
pub struct AuthError {
    kind: ErrorKind,
    description: &'static str,
    /// What a guard required: scopes, roles or `acr` values.
    required: Box<[Cow<'static, str>]>,
    /// A step-up rule's `max_age`, in seconds.
    max_age: Option<u32>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl AuthError {
    /// An error of `kind` with the client-facing `description`.
    pub fn new(kind: ErrorKind, description: &'static str) -> Self {
        Self {
            kind,
            description,
            required: Box::default(),
            max_age: None,
            source: None,
        }
    }

    /// The token lacks `scope`: 403 `insufficient_scope`, and the challenge
    /// names the scope (RFC 6750 section 3).
    pub fn insufficient_scope(scope: impl Into<Cow<'static, str>>) -> Self {
        Self::insufficient(
            ErrorKind::InsufficientScope,
            "token lacks the scope this request requires",
            [scope.into()].into(),
        )
    }

    /// The token lacks `role`: 403 `insufficient_scope`, code `insufficient_role`.
    pub fn insufficient_role(role: impl Into<Cow<'static, str>>) -> Self {
        Self::insufficient(
            ErrorKind::InsufficientRole,
            "token lacks the role this request requires",
            [role.into()].into(),
        )
    }

    /// A guard's refusal of a token lacking grants among `required`.
    pub(crate) fn insufficient(
        kind: ErrorKind,
        description: &'static str,
        required: Box<[Cow<'static, str>]>,
    ) -> Self {
        let mut e = Self::new(kind, description);
        e.required = required;
        e
    }

    /// The token shows a weaker or older login than the request needs: 401
    /// `insufficient_user_authentication` (RFC 9470 section 3), whose
    /// challenge names the `acr_values` that would do and the `max_age` (in
    /// seconds) of a login that would do.
    ///
    /// ```
    /// use auth_layer::{AuthError, ErrorKind};
    ///
    /// let e = AuthError::insufficient_user_authentication(["phr", "phrh"], None);
    /// assert_eq!(e.kind(), ErrorKind::InsufficientUserAuthentication);
    /// assert_eq!(e.kind().status(), 401);
    /// assert_eq!(e.required_values().collect::<Vec<_>>(), ["phr", "phrh"]);
    /// let e = AuthError::insufficient_user_authentication::<[&str; 0]>([], Some(300));
    /// assert_eq!((e.max_age(), e.description()), (Some(300), "more recent authentication is required"));
    /// ```
    pub fn insufficient_user_authentication<I>(acr_values: I, max_age: Option<u32>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        let required: Box<[Cow<'static, str>]> = acr_values.into_iter().map(Into::into).collect();
        let description = if required.is_empty() {
            "more recent authentication is required"
        } else {
            "a different authentication level is required"
        };
        let mut e = Self::insufficient(
            ErrorKind::InsufficientUserAuthentication,
            description,
            required,
        );
        e.max_age = max_age;
        e
    }

    /// The scope or role that was required, for
    /// [`InsufficientScope`](ErrorKind::InsufficientScope) and
    /// [`InsufficientRole`](ErrorKind::InsufficientRole), when the guard
    /// required exactly one; see [`required_values`](Self::required_values)
    /// for a set.
    pub fn required(&self) -> Option<&str> {
        match &*self.required {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Every scope, role or `acr` value the refusing guard named: all of
    /// them for an all-of rule, the accepted ones for an any-of rule or a
    /// step-up rule.
    pub fn required_values(&self) -> impl Iterator<Item = &str> {
        self.required.iter().map(AsRef::as_ref)
    }

    /// A step-up rule's maximum age of the login, in seconds (`max_age`).
    pub fn max_age(&self) -> Option<u32> {
        self.max_age
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The key fetch an unknown `kid` caused or joined, to wait for.
    #[cfg(feature = "jwks")]
    pub(crate) fn pending_fetch(&self) -> Option<&crate::jwks::PendingFetch> {
        self.source.as_deref()?.downcast_ref()
    }

    /// The category of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client-facing description, e.g. `"token expired"`.
    pub fn description(&self) -> &'static str {
        self.description
    }

    pub(crate) fn missing() -> Self {
        Self::new(ErrorKind::MissingToken, "no bearer token in the request")
    }

    pub(crate) fn key_bound() -> Self {
        Self::new(
            ErrorKind::KeyBound,
            "token is bound to a DPoP key and cannot be used as a bearer token",
        )
    }

    pub(crate) fn malformed(description: &'static str) -> Self {
        Self::new(ErrorKind::Malformed, description)
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("kind", &self.kind)
            .field("description", &self.description)
            .field("required", &self.required)
            .field("max_age", &self.max_age)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description)
    }
}

impl StdError for AuthError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_kinds_are_403_insufficient_scope_and_permission_denied() {
        let e = AuthError::insufficient_scope("orders:write");
        assert_eq!(e.kind().status(), http::StatusCode::FORBIDDEN);
        assert_eq!(e.kind().rfc6750_error(), Some("insufficient_scope"));
        assert_eq!(e.kind().code(), "insufficient_scope");
        assert_eq!(e.required(), Some("orders:write"));
        let r = AuthError::insufficient_role(String::from("admin"));
        assert_eq!(r.kind().code(), "insufficient_role");
        assert_eq!(r.kind().rfc6750_error(), Some("insufficient_scope"));
        assert_eq!(
            [
                ErrorKind::Expired,
                ErrorKind::MultipleTokens,
                ErrorKind::MissingToken
            ]
            .map(ErrorKind::grpc_status),
            [16, 16, 16]
        );
        assert_eq!(ErrorKind::InsufficientScope.grpc_status(), 7);
        assert_eq!(ErrorKind::StoreUnavailable.grpc_status(), 14);
    }

    #[test]
    fn source_is_kept_for_logs_but_not_displayed() {
        let inner = std::io::Error::other("secret detail");
        let e = AuthError::malformed("token is not a compact JWS").with_source(inner);
        assert_eq!(e.to_string(), "token is not a compact JWS");
        assert!(e.source().is_some_and(|s| s.to_string() == "secret detail"));
    }
}
