//! [`ErrorKind`]: why a request was rejected, and its HTTP answer.

use std::fmt;

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
    /// The token is bound to a DPoP key (`cnf.jkt`, RFC 9449) but came as
    /// a bearer token (not `Authorization: DPoP`), or the layer checks no
    /// DPoP proofs: it is good only with a proof by that key (section 7.2).
    KeyBound,
    /// `Authorization: DPoP` without a `DPoP` proof header.
    DpopProofMissing,
    /// More than one `DPoP` proof header.
    DpopProofMultiple,
    /// The DPoP proof is not a well-formed JWS (or too large, or a claim
    /// of the wrong type).
    DpopProofMalformed,
    /// The DPoP proof's `typ` is not `dpop+jwt`.
    DpopWrongType,
    /// The DPoP proof's `alg` is not an allowed asymmetric algorithm.
    DpopAlgorithmNotAllowed,
    /// The DPoP proof's `jwk` is missing, private or of another family.
    DpopInvalidKey,
    /// The DPoP proof's signature does not verify with its `jwk`.
    DpopInvalidSignature,
    /// The DPoP proof lacks `jti`, `htm`, `htu` or `iat`.
    DpopMissingClaim,
    /// The DPoP proof's `htm` is not the request's method.
    DpopMethodMismatch,
    /// The DPoP proof's `htu` is not the request's URI (or the request's
    /// path holds dot segments).
    DpopUriMismatch,
    /// The DPoP proof's `iat` is outside the accepted window.
    DpopStale,
    /// The DPoP proof was used before.
    DpopReplayed,
    /// The DPoP proof's `ath` is missing or not the access token's hash.
    DpopAthMismatch,
    /// The DPoP proof is signed by another key than the token is bound to.
    DpopKeyMismatch,
    /// The DPoP proof lacks the server's current nonce: the answer carries
    /// a fresh one in `DPoP-Nonce` (RFC 9449 section 9).
    UseDpopNonce,
    /// `Authorization: DPoP` with a token that is not bound to a key.
    DpopTokenNotBound,
    /// The layer requires DPoP and the token came as a bearer token.
    DpopRequired,
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
    /// The token is valid, but the route needs a stronger or more recent
    /// login than the token's `acr` / `auth_time` show: 401
    /// `insufficient_user_authentication` with `acr_values` / `max_age`
    /// (RFC 9470 section 3), so the client authenticates the user again.
    InsufficientUserAuthentication,
}

impl ErrorKind {
    /// Every kind, in declaration order: `ALL[kind as usize] == kind`.
    #[cfg_attr(
        not(feature = "metrics"),
        allow(dead_code, reason = "indexes the metric keys")
    )]
    pub(crate) const ALL: [Self; 40] = [
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
        Self::KeyBound,
        Self::DpopProofMissing,
        Self::DpopProofMultiple,
        Self::DpopProofMalformed,
        Self::DpopWrongType,
        Self::DpopAlgorithmNotAllowed,
        Self::DpopInvalidKey,
        Self::DpopInvalidSignature,
        Self::DpopMissingClaim,
        Self::DpopMethodMismatch,
        Self::DpopUriMismatch,
        Self::DpopStale,
        Self::DpopReplayed,
        Self::DpopAthMismatch,
        Self::DpopKeyMismatch,
        Self::UseDpopNonce,
        Self::DpopTokenNotBound,
        Self::DpopRequired,
        Self::Revoked,
        Self::StoreUnavailable,
        Self::InsufficientScope,
        Self::InsufficientRole,
        Self::InsufficientUserAuthentication,
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
    /// not the client's (503). A DPoP proof that breaks a rule of RFC 9449
    /// section 4.3 is `invalid_dpop_proof`, one without the server's nonce
    /// `use_dpop_nonce` (RFC 9449 sections 7.1 and 9).
    pub fn rfc6750_error(self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::StoreUnavailable => None,
            Self::MultipleTokens | Self::TokenInQuery => Some("invalid_request"),
            Self::InsufficientScope | Self::InsufficientRole => Some("insufficient_scope"),
            Self::UseDpopNonce => Some("use_dpop_nonce"),
            Self::InsufficientUserAuthentication => Some("insufficient_user_authentication"),
            kind if kind.is_dpop_proof() => Some("invalid_dpop_proof"),
            _ => Some("invalid_token"),
        }
    }

    /// Whether the DPoP proof, rather than the token, broke a rule (RFC
    /// 9449 section 4.3): answered `invalid_dpop_proof`.
    pub(crate) fn is_dpop_proof(self) -> bool {
        matches!(
            self,
            Self::DpopProofMissing
                | Self::DpopProofMultiple
                | Self::DpopProofMalformed
                | Self::DpopWrongType
                | Self::DpopAlgorithmNotAllowed
                | Self::DpopInvalidKey
                | Self::DpopInvalidSignature
                | Self::DpopMissingClaim
                | Self::DpopMethodMismatch
                | Self::DpopUriMismatch
                | Self::DpopStale
                | Self::DpopReplayed
                | Self::DpopAthMismatch
        )
    }

    /// Whether the failure is about DPoP, so that its error goes on the
    /// `DPoP` challenge rather than the `Bearer` one.
    pub(crate) fn is_dpop(self) -> bool {
        self.is_dpop_proof()
            || matches!(
                self,
                Self::KeyBound
                    | Self::DpopKeyMismatch
                    | Self::UseDpopNonce
                    | Self::DpopTokenNotBound
                    | Self::DpopRequired
            )
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
            Self::KeyBound => "token_bound_to_key",
            Self::DpopProofMissing => "dpop_proof_missing",
            Self::DpopProofMultiple => "dpop_proof_multiple",
            Self::DpopProofMalformed => "dpop_proof_malformed",
            Self::DpopWrongType => "dpop_wrong_type",
            Self::DpopAlgorithmNotAllowed => "dpop_algorithm_not_allowed",
            Self::DpopInvalidKey => "dpop_invalid_key",
            Self::DpopInvalidSignature => "dpop_invalid_signature",
            Self::DpopMissingClaim => "dpop_missing_claim",
            Self::DpopMethodMismatch => "dpop_method_mismatch",
            Self::DpopUriMismatch => "dpop_uri_mismatch",
            Self::DpopStale => "dpop_stale",
            Self::DpopReplayed => "dpop_replayed",
            Self::DpopAthMismatch => "dpop_ath_mismatch",
            Self::DpopKeyMismatch => "dpop_key_mismatch",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::DpopTokenNotBound => "dpop_token_not_bound",
            Self::DpopRequired => "dpop_required",
            Self::Revoked => "token_revoked",
            Self::StoreUnavailable => "store_unavailable",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsufficientRole => "insufficient_role",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
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
}
