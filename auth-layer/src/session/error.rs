//! [`SessionError`]: why a login, refresh or logout did not succeed.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::issuer::IssueError;

/// Why a session operation failed, as a stable, machine-readable category.
///
/// Every kind has one [`code`](Self::code) clients can act on and one
/// [`status`](Self::status): the refresh failures are 401 and all mean "log
/// in again", but say why; the refusals of a session bound to a DPoP key
/// are 400 `invalid_dpop_proof` and change nothing (the client holding the
/// key can still refresh); a store that cannot answer is 503 (the user did
/// nothing wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionErrorKind {
    /// `refresh_invalid`: not a refresh token this service issued (garbage,
    /// truncated, or of a session long gone). Nothing was changed.
    RefreshInvalid,
    /// `refresh_reused`: a spent refresh token was presented again. The
    /// session was revoked (a stolen token is the likely cause).
    RefreshReused,
    /// `session_expired`: the session reached its absolute lifetime.
    SessionExpired,
    /// `session_idle`: the session went unused longer than the idle timeout.
    SessionIdle,
    /// `reauth_required`: the subject logged out everywhere, its token
    /// version was bumped, or it was flagged to authenticate again.
    ReauthRequired,
    /// `session_revoked`: the session was ended (logout, by an administrator,
    /// or for the reuse of another of its refresh tokens: the token replayed
    /// itself answers `refresh_reused`).
    SessionRevoked,
    /// `refresh_denied`: the application refused to renew the session (its
    /// [`on_refresh`](super::SessionsBuilder::on_refresh) hook said so, e.g.
    /// the user was disabled). Nothing was changed.
    RefreshDenied,
    /// `dpop_proof_required`: the session's refresh tokens are bound to a
    /// DPoP key (it logged in with a proof) and the refresh came without a
    /// proof (RFC 9449 section 5). Nothing was changed: the token is not
    /// spent, and this is never taken for reuse.
    DpopProofRequired,
    /// `dpop_key_mismatch`: the refresh came with a proof by another key
    /// than the one the session's refresh tokens are bound to. Nothing was
    /// changed: the token is not spent, and this is never taken for reuse.
    DpopKeyMismatch,
    /// `single_use_invalid`: not a single-use token of this purpose (another
    /// purpose, an access token, a forgery, garbage). Nothing was spent.
    SingleUseInvalid,
    /// `single_use_expired`: a single-use token past its `exp`.
    SingleUseExpired,
    /// `single_use_spent`: a single-use token used before (a replay, or
    /// the loser of a race).
    SingleUseSpent,
    /// `invalid_scope`: a refresh asked for a scope the session was not
    /// granted (RFC 6749 section 6). Nothing was spent.
    InvalidScope,
    /// `multiple_tokens`: the request carried two different refresh
    /// tokens (two cookies of the same name: one may shadow the other).
    /// Nothing was spent.
    MultipleTokens,
    /// `cross_origin_request`: a browser sent the refresh from another site
    /// (`Sec-Fetch-Site`, `Origin`), which the cookie would otherwise
    /// authorise. Nothing was spent.
    CrossOrigin,
    /// `invalid_claims`: the caller's claims cannot go into an access token
    /// (a server-side mistake).
    InvalidClaims,
    /// `store_unavailable`: the session or revocation store could not answer.
    StoreUnavailable,
    /// `internal_error`: no randomness or no signature could be had.
    Internal,
}

impl SessionErrorKind {
    /// The stable machine-readable code, e.g. `refresh_reused`.
    pub fn code(self) -> &'static str {
        match self {
            Self::RefreshInvalid => "refresh_invalid",
            Self::RefreshReused => "refresh_reused",
            Self::SessionExpired => "session_expired",
            Self::SessionIdle => "session_idle",
            Self::ReauthRequired => "reauth_required",
            Self::SessionRevoked => "session_revoked",
            Self::RefreshDenied => "refresh_denied",
            Self::DpopProofRequired => "dpop_proof_required",
            Self::DpopKeyMismatch => "dpop_key_mismatch",
            Self::InvalidScope => "invalid_scope",
            Self::SingleUseInvalid => "single_use_invalid",
            Self::SingleUseExpired => "single_use_expired",
            Self::SingleUseSpent => "single_use_spent",
            Self::MultipleTokens => "multiple_tokens",
            Self::CrossOrigin => "cross_origin_request",
            Self::InvalidClaims => "invalid_claims",
            Self::StoreUnavailable => "store_unavailable",
            Self::Internal => "internal_error",
        }
    }

    /// The HTTP status to answer with: 401 for every refresh failure, 400
    /// for a missing or wrong DPoP proof (RFC 9449 section 5 with RFC 6749
    /// section 5.2) and for two refresh cookies, 403 for a request from
    /// another site, 503 for a store that cannot answer, 500 for a
    /// server-side mistake.
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::StoreUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidClaims | Self::Internal => http::StatusCode::INTERNAL_SERVER_ERROR,
            Self::DpopProofRequired
            | Self::DpopKeyMismatch
            | Self::MultipleTokens
            | Self::InvalidScope
            | Self::SingleUseInvalid
            | Self::SingleUseExpired
            | Self::SingleUseSpent => http::StatusCode::BAD_REQUEST,
            Self::CrossOrigin => http::StatusCode::FORBIDDEN,
            _ => http::StatusCode::UNAUTHORIZED,
        }
    }

    /// The OAuth `error` of a token endpoint's answer (RFC 6749 section
    /// 5.2): `invalid_dpop_proof` for the DPoP refusals (RFC 9449 section
    /// 5), `invalid_request` for two refresh cookies and a request from
    /// another site, `invalid_grant` for the other refresh failures,
    /// `temporarily_unavailable` for a store outage, `server_error` for a
    /// server-side mistake.
    ///
    /// ```
    /// use auth_layer::session::SessionErrorKind;
    ///
    /// assert_eq!(SessionErrorKind::RefreshReused.oauth_error(), "invalid_grant");
    /// assert_eq!(SessionErrorKind::DpopKeyMismatch.oauth_error(), "invalid_dpop_proof");
    /// ```
    pub fn oauth_error(self) -> &'static str {
        match self {
            Self::StoreUnavailable => "temporarily_unavailable",
            Self::InvalidClaims | Self::Internal => "server_error",
            Self::DpopProofRequired | Self::DpopKeyMismatch => "invalid_dpop_proof",
            Self::MultipleTokens | Self::CrossOrigin => "invalid_request",
            Self::InvalidScope => "invalid_scope",
            _ => "invalid_grant",
        }
    }

    /// The description sent to clients: names the rule, never a token.
    fn description(self) -> &'static str {
        match self {
            Self::RefreshInvalid => "refresh token is not valid",
            Self::RefreshReused => "refresh token was already used; the session has been revoked",
            Self::SessionExpired => "session has expired; log in again",
            Self::SessionIdle => "session was idle for too long; log in again",
            Self::ReauthRequired => "re-authentication required; log in again",
            Self::SessionRevoked => "session has ended; log in again",
            Self::RefreshDenied => "session may not be renewed; log in again",
            Self::DpopProofRequired => {
                "the refresh token is bound to a DPoP key: send a DPoP proof by that key"
            }
            Self::DpopKeyMismatch => {
                "the DPoP proof's key is not the one the refresh token is bound to"
            }
            Self::InvalidScope => "the requested scope exceeds the scope the session was granted",
            Self::SingleUseInvalid => "the token is not valid for this purpose",
            Self::SingleUseExpired => "the token has expired; ask for a new one",
            Self::SingleUseSpent => "the token was already used; ask for a new one",
            Self::MultipleTokens => "two different refresh token cookies",
            Self::CrossOrigin => {
                "the request comes from another site; refresh from this app's own pages"
            }
            Self::InvalidClaims => "the claims cannot be put in an access token",
            Self::StoreUnavailable => "the session store is unavailable",
            Self::Internal => "an access token could not be issued",
        }
    }
}

impl fmt::Display for SessionErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a session operation failed. Match on [`kind()`](Self::kind); the
/// backend or signing error, if any, is the [`source()`](StdError::source).
#[derive(Clone)]
pub struct SessionError {
    kind: SessionErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl SessionError {
    pub(crate) fn new(kind: SessionErrorKind) -> Self {
        Self { kind, source: None }
    }

    pub(crate) fn with_source(
        kind: SessionErrorKind,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            source: Some(Arc::new(source)),
        }
    }

    /// The category.
    pub fn kind(&self) -> SessionErrorKind {
        self.kind
    }

    /// The machine-readable code (`self.kind().code()`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The client-facing description, e.g. `"session has expired; log in again"`.
    pub fn description(&self) -> &'static str {
        self.kind.description()
    }
}

impl From<SessionErrorKind> for SessionError {
    /// An error of this kind, without a source: for answers built outside
    /// the sessions (an extractor that found no token, say).
    fn from(kind: SessionErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Debug for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl StdError for SessionError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// `claims` as the JSON object an access token carries (`null` for none).
pub(super) fn to_claims(claims: impl Serialize) -> Result<Map<String, Value>, SessionError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(issue_error(IssueError::NotAnObject)),
        Err(e) => Err(SessionError::with_source(
            SessionErrorKind::InvalidClaims,
            e,
        )),
    }
}

pub(super) fn issue_error(e: IssueError) -> SessionError {
    let kind = match e {
        IssueError::ReservedClaim(_) | IssueError::NotAnObject => SessionErrorKind::InvalidClaims,
        _ => SessionErrorKind::Internal,
    };
    SessionError::with_source(kind, e)
}

pub(super) fn internal(e: getrandom::Error) -> SessionError {
    issue_error(IssueError::Random(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_failures_are_401_with_distinct_codes() {
        let kinds = [
            SessionErrorKind::RefreshInvalid,
            SessionErrorKind::RefreshReused,
            SessionErrorKind::SessionExpired,
            SessionErrorKind::SessionIdle,
            SessionErrorKind::ReauthRequired,
            SessionErrorKind::SessionRevoked,
            SessionErrorKind::RefreshDenied,
        ];
        let codes: std::collections::HashSet<_> = kinds.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), kinds.len());
        assert!(
            kinds
                .iter()
                .all(|k| k.status() == http::StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            SessionErrorKind::StoreUnavailable.status(),
            http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(kinds.iter().all(|k| k.oauth_error() == "invalid_grant"));
    }

    #[test]
    fn dpop_refusals_are_400_invalid_dpop_proof_with_distinct_codes() {
        let kinds = [
            SessionErrorKind::DpopProofRequired,
            SessionErrorKind::DpopKeyMismatch,
        ];
        for kind in kinds {
            assert_eq!(kind.status(), http::StatusCode::BAD_REQUEST, "{kind}");
            assert_eq!(kind.oauth_error(), "invalid_dpop_proof", "{kind}");
        }
        assert_eq!(
            kinds.map(SessionErrorKind::code),
            ["dpop_proof_required", "dpop_key_mismatch"]
        );
    }
}
