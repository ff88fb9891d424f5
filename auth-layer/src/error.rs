//! Request-time errors: why a request was not authenticated.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// Why a request was rejected, as a stable, machine-readable category.
///
/// Every kind maps to exactly one HTTP answer (see [`ErrorKind::status`]) and
/// one stable [`code`](ErrorKind::code) that clients can act on, for example
/// refreshing on `token_expired` rather than sending the user to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request carried no token at all.
    MissingToken,
    /// The request carried two different tokens (for example a header and a cookie).
    MultipleTokens,
    /// A token was sent in the query string, which is not an allowed source.
    TokenInQuery,
    /// The token is longer than the configured maximum.
    TokenTooLarge,
    /// The token is not a compact JWS: wrong number of segments, bad base64url, bad JSON.
    Malformed,
    /// The header names an algorithm that is unknown or not allowed (including `none`).
    AlgorithmNotAllowed,
    /// No configured key matches the token's `kid` and algorithm.
    UnknownKey,
    /// The signature does not verify with the selected key.
    InvalidSignature,
    /// The header lists a `crit` extension this verifier does not understand.
    UnsupportedCritical,
    /// The token's `typ` header is not the expected token type.
    InvalidTokenType,
    /// The claims are not a JSON object of the expected shape, or a registered claim has the wrong type.
    InvalidClaims,
    /// A claim the configuration requires is absent.
    MissingClaim,
    /// The token has expired (`exp` plus leeway is in the past).
    Expired,
    /// The token is not valid yet (`nbf` minus leeway is in the future).
    NotYetValid,
    /// The token claims to be issued in the future (`iat` minus leeway).
    IssuedInFuture,
    /// The `iss` claim is missing or not one of the accepted issuers.
    InvalidIssuer,
    /// The `aud` claim is missing or names none of the accepted audiences.
    InvalidAudience,
    /// The token was revoked: its `ver` is below the subject's current
    /// version, its session was revoked, or its `jti` is denied.
    Revoked,
    /// The revocation store could not answer and no usable cached answer
    /// exists: 503 with `Retry-After` (the user did nothing wrong; the
    /// request is not let through either).
    StoreUnavailable,
    /// The token is valid but lacks the scope the route requires: 403 with
    /// RFC 6750 `insufficient_scope` and the required `scope` attribute.
    InsufficientScope,
    /// The token is valid but lacks the role the route requires: 403 with
    /// RFC 6750 `insufficient_scope` (the closest standard error).
    InsufficientRole,
}

impl ErrorKind {
    /// Every kind, in declaration order: `ALL[kind as usize] == kind`.
    #[cfg_attr(
        not(feature = "metrics"),
        allow(dead_code, reason = "indexes the metric keys")
    )]
    pub(crate) const ALL: [Self; 21] = [
        Self::MissingToken,
        Self::MultipleTokens,
        Self::TokenInQuery,
        Self::TokenTooLarge,
        Self::Malformed,
        Self::AlgorithmNotAllowed,
        Self::UnknownKey,
        Self::InvalidSignature,
        Self::UnsupportedCritical,
        Self::InvalidTokenType,
        Self::InvalidClaims,
        Self::MissingClaim,
        Self::Expired,
        Self::NotYetValid,
        Self::IssuedInFuture,
        Self::InvalidIssuer,
        Self::InvalidAudience,
        Self::Revoked,
        Self::StoreUnavailable,
        Self::InsufficientScope,
        Self::InsufficientRole,
    ];

    /// The HTTP status this kind is answered with.
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::MultipleTokens | Self::TokenInQuery => http::StatusCode::BAD_REQUEST,
            Self::StoreUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientScope | Self::InsufficientRole => http::StatusCode::FORBIDDEN,
            _ => http::StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error` attribute, or `None` when the request had no
    /// token (RFC 6750 section 3.1: no error code then) or the failure is
    /// not the client's (503).
    pub fn rfc6750_error(self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::StoreUnavailable => None,
            Self::MultipleTokens | Self::TokenInQuery => Some("invalid_request"),
            Self::InsufficientScope | Self::InsufficientRole => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// The gRPC status code a gRPC request is answered with: 16
    /// `UNAUTHENTICATED` for the 401 and 400 kinds, 7 `PERMISSION_DENIED`
    /// for the 403 kinds, 14 `UNAVAILABLE` for the store outage.
    pub fn grpc_status(self) -> i32 {
        match self.status() {
            http::StatusCode::FORBIDDEN => 7,
            http::StatusCode::SERVICE_UNAVAILABLE => 14,
            _ => 16,
        }
    }

    /// A stable, machine-readable code; `token_expired` is distinct from
    /// every other failure so clients know to refresh.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingToken => "token_missing",
            Self::MultipleTokens => "multiple_tokens",
            Self::TokenInQuery => "token_in_query",
            Self::TokenTooLarge => "token_too_large",
            Self::Malformed => "token_malformed",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::UnsupportedCritical => "unsupported_crit",
            Self::InvalidTokenType => "invalid_token_type",
            Self::InvalidClaims => "invalid_claims",
            Self::MissingClaim => "missing_claim",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::IssuedInFuture => "token_issued_in_future",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::Revoked => "token_revoked",
            Self::StoreUnavailable => "store_unavailable",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsufficientRole => "insufficient_role",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

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
    required: Option<Cow<'static, str>>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl AuthError {
    /// An error of `kind` with the client-facing `description`.
    pub fn new(kind: ErrorKind, description: &'static str) -> Self {
        Self {
            kind,
            description,
            required: None,
            source: None,
        }
    }

    /// The token lacks `scope`: 403 `insufficient_scope`, and the challenge
    /// names the scope (RFC 6750 section 3).
    pub fn insufficient_scope(scope: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(
            ErrorKind::InsufficientScope,
            "token lacks the scope this request requires",
        );
        e.required = Some(scope.into());
        e
    }

    /// The token lacks `role`: 403 `insufficient_scope`, code `insufficient_role`.
    pub fn insufficient_role(role: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(
            ErrorKind::InsufficientRole,
            "token lacks the role this request requires",
        );
        e.required = Some(role.into());
        e
    }

    /// The scope or role that was required, for
    /// [`InsufficientScope`](ErrorKind::InsufficientScope) and
    /// [`InsufficientRole`](ErrorKind::InsufficientRole).
    pub fn required(&self) -> Option<&str> {
        self.required.as_deref()
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_kind_once_at_its_index() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind} is out of place");
        }
        let codes: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len(), "two kinds share a code");
    }

    #[test]
    fn expired_has_its_own_code_so_clients_refresh() {
        let codes: Vec<_> = [
            ErrorKind::Expired,
            ErrorKind::InvalidSignature,
            ErrorKind::Malformed,
        ]
        .iter()
        .map(|k| k.code())
        .collect();
        assert_eq!(
            codes,
            ["token_expired", "invalid_signature", "token_malformed"]
        );
    }

    #[test]
    fn missing_token_has_no_rfc6750_error_code() {
        assert_eq!(ErrorKind::MissingToken.rfc6750_error(), None);
        assert_eq!(
            ErrorKind::MultipleTokens.rfc6750_error(),
            Some("invalid_request")
        );
        assert_eq!(
            ErrorKind::MultipleTokens.status(),
            http::StatusCode::BAD_REQUEST
        );
    }

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
