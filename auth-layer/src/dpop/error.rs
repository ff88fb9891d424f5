//! [`DpopError`]: why a DPoP proof was refused.

use std::fmt;

/// Why a DPoP proof was refused, one kind per rule of RFC 9449 section 4.3.
/// A client is told `invalid_dpop_proof` for every kind (section 7.1);
/// [`code`](Self::code) tells them apart for logs, metrics and audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header.
    Missing,
    /// More than one `DPoP` header (section 4.3, point 1).
    Multiple,
    /// Not a JWS in compact form, not JSON, a member repeated, too large,
    /// or a claim of the wrong type (points 2, 3).
    Malformed,
    /// `typ` is not `dpop+jwt` (point 4).
    WrongType,
    /// `alg` is `none`, symmetric, or not allowed (point 5).
    AlgorithmNotAllowed,
    /// `jwk` is missing, not a public key of the algorithm's family, or
    /// holds private members (point 7).
    InvalidKey,
    /// The signature does not verify with `jwk` (point 6).
    BadSignature,
    /// `jti`, `htm`, `htu` or `iat` is missing (point 3).
    MissingClaim,
    /// `htm` is not the request's method (point 8).
    MethodMismatch,
    /// `htu` is not the request's URI (point 9).
    UriMismatch,
    /// `iat` is outside the accepted window (point 11).
    Stale,
    /// The proof's `jti` was seen already within the window (point 12).
    Replayed,
    /// `ath` is missing or is not the hash of the access token (point 10).
    AccessTokenHashMismatch,
    /// The proof's key is not the one the access token is bound to (its
    /// `cnf.jkt`, point 12 of section 4.3 with section 6.1).
    KeyMismatch,
    /// The server hands out nonces and the proof's `nonce` is missing, not
    /// one of them, or too old (sections 8 and 9): the client gets
    /// `use_dpop_nonce` and a fresh `DPoP-Nonce`, and tries again.
    UseNonce,
    /// The shared store that remembers proofs across instances did not
    /// answer: the proof cannot be known to be fresh (503, never a pass).
    StoreUnavailable,
}

impl DpopError {
    /// A stable code, e.g. `dpop_replayed`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "dpop_proof_missing",
            Self::Multiple => "dpop_proof_multiple",
            Self::Malformed => "dpop_proof_malformed",
            Self::WrongType => "dpop_wrong_type",
            Self::AlgorithmNotAllowed => "dpop_algorithm_not_allowed",
            Self::InvalidKey => "dpop_invalid_key",
            Self::BadSignature => "dpop_invalid_signature",
            Self::MissingClaim => "dpop_missing_claim",
            Self::MethodMismatch => "dpop_method_mismatch",
            Self::UriMismatch => "dpop_uri_mismatch",
            Self::Stale => "dpop_stale",
            Self::Replayed => "dpop_replayed",
            Self::AccessTokenHashMismatch => "dpop_ath_mismatch",
            Self::KeyMismatch => "dpop_key_mismatch",
            Self::UseNonce => "use_dpop_nonce",
            Self::StoreUnavailable => "store_unavailable",
        }
    }

    /// The OAuth `error` a client is sent (RFC 9449 sections 7.1 and 8):
    /// `use_dpop_nonce` for [`UseNonce`](Self::UseNonce),
    /// `temporarily_unavailable` for a store outage (503),
    /// `invalid_dpop_proof` for every other refusal.
    pub fn oauth_error(self) -> &'static str {
        match self {
            Self::UseNonce => "use_dpop_nonce",
            Self::StoreUnavailable => "temporarily_unavailable",
            _ => "invalid_dpop_proof",
        }
    }

    /// What the client is told (`error_description`).
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "the request carries no DPoP proof",
            Self::Multiple => "the request carries more than one DPoP proof",
            Self::Malformed => "the DPoP proof is not a well-formed JWT",
            Self::WrongType => "the DPoP proof's typ is not dpop+jwt",
            Self::AlgorithmNotAllowed => "the DPoP proof's algorithm is not allowed",
            Self::InvalidKey => "the DPoP proof's jwk is not a usable public key",
            Self::BadSignature => "the DPoP proof's signature does not verify",
            Self::MissingClaim => "the DPoP proof lacks jti, htm, htu or iat",
            Self::MethodMismatch => "the DPoP proof's htm is not the request's method",
            Self::UriMismatch => "the DPoP proof's htu is not the request's URI",
            Self::Stale => "the DPoP proof's iat is outside the accepted window",
            Self::Replayed => "the DPoP proof was used before",
            Self::AccessTokenHashMismatch => "the DPoP proof's ath is not the access token's hash",
            Self::KeyMismatch => "the DPoP proof's key is not the one the token is bound to",
            Self::UseNonce => "the DPoP proof must carry the server's current nonce",
            Self::StoreUnavailable => "the store of seen DPoP proofs is unavailable",
        }
    }
}

impl fmt::Display for DpopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for DpopError {}

impl DpopError {
    /// The layer's [`ErrorKind`](crate::ErrorKind) for this refusal: one per
    /// rule, with the same [`code`](Self::code); a store outage is
    /// [`StoreUnavailable`](crate::ErrorKind::StoreUnavailable) (503).
    pub fn kind(self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            Self::Missing => K::DpopProofMissing,
            Self::Multiple => K::DpopProofMultiple,
            Self::Malformed => K::DpopProofMalformed,
            Self::WrongType => K::DpopWrongType,
            Self::AlgorithmNotAllowed => K::DpopAlgorithmNotAllowed,
            Self::InvalidKey => K::DpopInvalidKey,
            Self::BadSignature => K::DpopInvalidSignature,
            Self::MissingClaim => K::DpopMissingClaim,
            Self::MethodMismatch => K::DpopMethodMismatch,
            Self::UriMismatch => K::DpopUriMismatch,
            Self::Stale => K::DpopStale,
            Self::Replayed => K::DpopReplayed,
            Self::AccessTokenHashMismatch => K::DpopAthMismatch,
            Self::KeyMismatch => K::DpopKeyMismatch,
            Self::UseNonce => K::UseDpopNonce,
            Self::StoreUnavailable => K::StoreUnavailable,
        }
    }
}

impl From<DpopError> for crate::AuthError {
    fn from(error: DpopError) -> Self {
        Self::new(error.kind(), error.description())
    }
}

#[cfg(test)]
mod tests {
    use super::DpopError;

    #[test]
    fn each_refusal_keeps_its_code_in_the_layer() {
        use DpopError::*;
        for e in [
            Missing,
            Multiple,
            Malformed,
            WrongType,
            AlgorithmNotAllowed,
            InvalidKey,
            BadSignature,
            MissingClaim,
            MethodMismatch,
            UriMismatch,
            Stale,
            Replayed,
            AccessTokenHashMismatch,
            KeyMismatch,
            UseNonce,
            StoreUnavailable,
        ] {
            assert_eq!(e.kind().code(), e.code(), "{e:?}");
            let oauth = e.kind().rfc6750_error();
            match e {
                StoreUnavailable => assert_eq!(oauth, None),
                KeyMismatch => assert_eq!(oauth, Some("invalid_token")),
                _ => assert_eq!(oauth, Some(e.oauth_error()), "{e:?}"),
            }
        }
    }
}
