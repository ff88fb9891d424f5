//! [`LogoutToken`]: what a verified logout token says.

/// The member of a logout token's `events` claim that declares it a logout
/// token (section 2.4); its value is a JSON object, usually `{}`.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A verified logout token (OpenID Connect Back-Channel Logout 1.0,
/// section 2.4): whom it logs out, for which issuer, and its id.
///
/// Built only by the receiver, after every check of section 2.6 passed. A
/// token always names a subject, a session or both.
///
/// ```
/// use auth_layer::logout::LogoutToken;
///
/// fn describe(token: &LogoutToken) -> String {
///     match (&token.session_id, &token.subject) {
///         (Some(sid), _) => format!("session {sid} at {}", token.issuer),
///         (None, Some(sub)) => format!("every session of {sub} at {}", token.issuer),
///         (None, None) => String::from("never: a logout token names a subject or a session"),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutToken {
    /// `iss`: one of the receiver's configured issuers.
    pub issuer: String,
    /// `sub`, when present.
    pub subject: Option<String>,
    /// `sid`, when present.
    pub session_id: Option<String>,
    /// `jti`: the token's id, unique per issuer.
    pub jti: String,
    /// `iat`, in Unix seconds (the provider's clock).
    pub issued_at: i64,
    /// `exp`, in Unix seconds, when present.
    pub expires_at: Option<i64>,
}
