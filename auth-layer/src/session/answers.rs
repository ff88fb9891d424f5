//! The HTTP answers of the issuing side, framework-free: a session error as
//! RFC 6749 section 5.2 answers a token request, and the token response of
//! section 5.1. `auth_extract` makes them axum and actix-web responses.

use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use super::access_token::AccessToken;
use super::error::{SessionError, SessionErrorKind};
use super::outcome::{Refreshed, TokenPair};
use super::token::RefreshToken;

/// Never cached (RFC 6749 section 5.1).
pub(super) fn no_store<B>(mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl SessionError {
    /// The JSON body of RFC 6749 section 5.2 and the project's code:
    /// `{"error","error_description","code"}` (`error` is
    /// [`oauth_error`](SessionErrorKind::oauth_error): `invalid_grant`,
    /// `invalid_dpop_proof`, `temporarily_unavailable`, `server_error`).
    pub fn json_body(&self) -> String {
        serde_json::json!({
            "error": self.kind().oauth_error(),
            "error_description": self.description(),
            "code": self.code(),
        })
        .to_string()
    }

    /// The answer to the request that failed: the kind's
    /// [`status`](SessionErrorKind::status) (401 for a refused refresh, 400
    /// for a DPoP proof, 503 for a store outage, 500 otherwise), the JSON
    /// [body](Self::json_body), `Cache-Control: no-store`, and
    /// `Retry-After: 1` on a 503 (the client did nothing wrong).
    /// `auth_extract::SessionRejection` answers with it in axum and
    /// actix-web.
    ///
    /// ```
    /// use auth_layer::session::{SessionError, SessionErrorKind};
    ///
    /// # fn check(e: SessionError) {
    /// let response = e.response::<String>();
    /// if e.kind() == SessionErrorKind::StoreUnavailable {
    ///     assert_eq!(response.status(), 503);
    ///     assert_eq!(response.headers()["retry-after"], "1");
    /// }
    /// # }
    /// ```
    pub fn response<B: From<String>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.json_body()));
        *response.status_mut() = self.kind().status();
        if self.kind() == SessionErrorKind::StoreUnavailable {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        no_store(response)
    }
}

/// A successful token response (RFC 6749 section 5.1): `access_token`,
/// `token_type` (`Bearer`, or `DPoP` for a bound token), `expires_in`,
/// and `refresh_token` and `scope` when given; never cached.
///
/// ```
/// use auth_layer::session::{SigningKey, TokenIssuer, TokenRequest, TokenResponse};
///
/// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap())
///     .build()
///     .unwrap();
/// let access = issuer.issue(&TokenRequest::new("alice")).unwrap();
/// let response = TokenResponse::new(&access).scope("orders:read").response::<String>();
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
/// assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
/// assert_eq!(body["scope"], "orders:read");
/// assert!(body.get("refresh_token").is_none());
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

impl TokenResponse {
    /// The response for `access`.
    pub fn new(access: &AccessToken) -> Self {
        Self {
            access_token: access.as_str().to_owned(),
            token_type: access.token_type(),
            expires_in: access.expires_in().as_secs(),
            refresh_token: None,
            scope: None,
        }
    }

    /// The response for a login or a rotation: the access token and its
    /// refresh token (for clients that keep it themselves, not in a cookie).
    pub fn with_refresh(pair: &TokenPair) -> Self {
        Self::new(pair.access_token()).refresh_token(pair.refresh_token())
    }

    /// The response for a refresh: the new access token, and the new
    /// refresh token when the session rotated (none for a
    /// [duplicate](Refreshed::Duplicate) within the grace window).
    pub fn refreshed(refreshed: &Refreshed) -> Self {
        let response = Self::new(refreshed.access_token());
        match refreshed.refresh_token() {
            Some(token) => response.refresh_token(token),
            None => response,
        }
    }

    /// With `refresh_token`.
    #[must_use]
    pub fn refresh_token(mut self, token: &RefreshToken) -> Self {
        self.refresh_token = Some(token.as_str().to_owned());
        self
    }

    /// With `scope`: the scopes granted, when they differ from those asked.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The JSON body.
    pub fn json_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// 200 with the JSON body, `Cache-Control: no-store` and `Pragma:
    /// no-cache`.
    pub fn response<B: From<String>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.json_body()));
        *response.status_mut() = StatusCode::OK;
        no_store(response)
    }
}
