//! [`LogoutRejection`]: why a back-channel logout request was refused.

use std::fmt;

/// Why a back-channel logout request was refused, for logs and tests.
///
/// Never sent to the provider: every refusal is answered with the same
/// `400 {"error":"invalid_request"}`, so the answer tells a forger nothing.
/// The refusal goes into the response's extensions, where outer layers can
/// log it, and every refusal is logged with its [`code`](Self::code).
///
/// ```
/// use auth_layer::logout::LogoutRejection;
///
/// assert_eq!(LogoutRejection::NoncePresent.code(), "nonce_present");
/// assert_eq!(LogoutRejection::Replayed.to_string(), "logout token was already used");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogoutRejection {
    /// The request is not `application/x-www-form-urlencoded`.
    WrongContentType,
    /// The body is larger than allowed.
    BodyTooLarge,
    /// The body could not be read.
    BodyUnreadable,
    /// The body has no `logout_token` parameter.
    TokenParameterMissing,
    /// The body has more than one `logout_token` parameter.
    TokenParameterRepeated,
    /// The token is larger than the verifier's cap.
    TokenTooLarge,
    /// Not a compact JWS, not base64url, not JSON, or a header field of the
    /// wrong type.
    Malformed,
    /// An encrypted (JWE) token; decryption is not supported.
    Encrypted,
    /// A JSON object in the header or the claims repeats a member name.
    DuplicateMember,
    /// The header lists critical extensions (`crit`).
    UnsupportedCritical,
    /// `alg` is `none`.
    AlgorithmNone,
    /// `alg` is not one of the verifier's allowed algorithms.
    AlgorithmNotAllowed,
    /// `typ` is present and is not `logout+jwt`.
    WrongType,
    /// `typ` is absent and explicit typing is required.
    TypeMissing,
    /// No key of the token's issuer matches its `kid` and `alg`.
    UnknownKey,
    /// The token names a `kid` its issuer's key set does not hold yet; the
    /// key set is being fetched again (answered 503: the provider may retry).
    KeyNotYetKnown,
    /// The signature does not verify with the issuer's key.
    BadSignature,
    /// No `iss` claim.
    IssuerMissing,
    /// `iss` is not one of the receiver's issuers.
    WrongIssuer,
    /// No `aud` claim.
    AudienceMissing,
    /// `aud` does not name the client.
    WrongAudience,
    /// `aud` names an audience besides the client's ids (OpenID Connect Core
    /// section 3.1.3.7, step 3).
    UntrustedAudience,
    /// No `iat` claim.
    IssuedAtMissing,
    /// `iat` is later than now plus the leeway.
    IssuedInFuture,
    /// `iat` is older than the maximum age plus the leeway.
    TooOld,
    /// No `exp` claim, and it is required.
    ExpiryMissing,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` has not come yet (beyond the leeway).
    NotYetValid,
    /// A registered claim of the wrong type (`sub`, `sid`, `iat`, ...).
    InvalidClaim,
    /// Neither `sub` nor `sid`.
    SubjectAndSessionMissing,
    /// No `events` claim.
    EventsMissing,
    /// `events` is not a JSON object.
    EventsInvalid,
    /// `events` lacks the back-channel logout event.
    LogoutEventMissing,
    /// The back-channel logout event's value is not a JSON object.
    LogoutEventInvalid,
    /// A `nonce` claim is present.
    NoncePresent,
    /// No `jti` claim.
    JtiMissing,
    /// The `jti` was already used.
    Replayed,
}

impl LogoutRejection {
    /// The machine-readable code logged with the refusal, e.g. `"wrong_audience"`.
    pub fn code(self) -> &'static str {
        self.texts().0
    }

    /// Whether the refusal is temporary (503 with `Retry-After`, not 400).
    pub fn is_temporary(self) -> bool {
        self == Self::KeyNotYetKnown
    }

    fn texts(self) -> (&'static str, &'static str) {
        match self {
            Self::WrongContentType => ("wrong_content_type", "request is not form-encoded"),
            Self::BodyTooLarge => ("body_too_large", "request body is larger than allowed"),
            Self::BodyUnreadable => ("body_unreadable", "request body could not be read"),
            Self::TokenParameterMissing => ("token_missing", "request has no logout_token"),
            Self::TokenParameterRepeated => ("token_repeated", "request has several logout_token"),
            Self::TokenTooLarge => ("token_too_large", "logout token is larger than allowed"),
            Self::Malformed => ("malformed", "logout token is not a well-formed JWS"),
            Self::Encrypted => ("encrypted", "encrypted logout tokens are not supported"),
            Self::DuplicateMember => ("duplicate_member", "logout token repeats a JSON member"),
            Self::UnsupportedCritical => ("unsupported_crit", "logout token lists crit"),
            Self::AlgorithmNone => ("alg_none", "unsigned logout tokens are never accepted"),
            Self::AlgorithmNotAllowed => ("alg_not_allowed", "logout token algorithm not allowed"),
            Self::WrongType => ("wrong_type", "logout token typ is not logout+jwt"),
            Self::TypeMissing => ("type_missing", "logout token has no typ"),
            Self::UnknownKey => ("unknown_key", "no key of the issuer verifies the token"),
            Self::KeyNotYetKnown => ("key_not_yet_known", "the token's kid is being fetched"),
            Self::BadSignature => ("bad_signature", "logout token signature is invalid"),
            Self::IssuerMissing => ("issuer_missing", "logout token has no iss"),
            Self::WrongIssuer => ("wrong_issuer", "logout token issuer is not accepted"),
            Self::AudienceMissing => ("audience_missing", "logout token has no aud"),
            Self::WrongAudience => ("wrong_audience", "logout token is not for this client"),
            Self::UntrustedAudience => ("untrusted_audience", "logout token names other audiences"),
            Self::IssuedAtMissing => ("iat_missing", "logout token has no iat"),
            Self::IssuedInFuture => ("iat_in_future", "logout token is issued in the future"),
            Self::TooOld => ("iat_too_old", "logout token is older than allowed"),
            Self::ExpiryMissing => ("exp_missing", "logout token has no exp"),
            Self::Expired => ("expired", "logout token expired"),
            Self::NotYetValid => ("not_yet_valid", "logout token is not valid yet"),
            Self::InvalidClaim => ("invalid_claim", "logout token claim has the wrong type"),
            Self::SubjectAndSessionMissing => {
                ("sub_and_sid_missing", "logout token has no sub or sid")
            }
            Self::EventsMissing => ("events_missing", "logout token has no events"),
            Self::EventsInvalid => ("events_invalid", "logout token events is not an object"),
            Self::LogoutEventMissing => ("logout_event_missing", "events lacks the logout event"),
            Self::LogoutEventInvalid => ("logout_event_invalid", "logout event is not an object"),
            Self::NoncePresent => ("nonce_present", "logout token carries a nonce"),
            Self::JtiMissing => ("jti_missing", "logout token has no jti"),
            Self::Replayed => ("replayed", "logout token was already used"),
        }
    }
}

impl fmt::Display for LogoutRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.texts().1)
    }
}

impl std::error::Error for LogoutRejection {}
