//! The issuing side's answers in axum and actix-web: [`SessionRejection`],
//! a failed session operation as RFC 6749 section 5.2 answers it.

use std::fmt;

use auth_layer::session::SessionError;

/// A failed [`Sessions`](auth_layer::session::Sessions) operation as an
/// HTTP answer: the status of its kind (401 for a refused refresh, 400 for
/// a DPoP proof, 503 for a store outage, 500 otherwise), the body
/// `{"error","error_description","code"}` with RFC 6749's `error`
/// (`invalid_grant`, `invalid_dpop_proof`, `temporarily_unavailable`,
/// `server_error`), `Cache-Control: no-store`, and `Retry-After` on a 503.
/// `?` converts a [`SessionError`]; axum answers with it (`IntoResponse`),
/// and so does actix-web (`ResponseError`, feature `actix`). A successful
/// answer is a [`TokenResponse`](auth_layer::session::TokenResponse).
///
/// ```
/// use auth_extract::SessionRejection;
/// use auth_layer::session::{Sessions, TokenResponse};
/// use axum::{Json, extract::State, response::Response};
///
/// #[derive(serde::Deserialize)]
/// struct Refresh {
///     refresh_token: String,
/// }
///
/// async fn refresh(
///     State(sessions): State<Sessions>,
///     Json(body): Json<Refresh>,
/// ) -> Result<Response<String>, SessionRejection> {
///     let refreshed = sessions.refresh(&body.refresh_token).await?;
///     Ok(TokenResponse::refreshed(&refreshed).response())
/// }
/// # let _ = axum::Router::<Sessions>::new().route("/refresh", axum::routing::post(refresh));
/// ```
#[derive(Debug, Clone)]
pub struct SessionRejection(pub SessionError, Option<auth_layer::session::RefreshCookie>);

impl SessionRejection {
    /// The answer: [`SessionError::response`], with the refresh cookie
    /// cleared on a 401 when the rejection came from [`RefreshCookieToken`]
    /// (the cookie is dead; a 400, 403 or 503 keeps it).
    pub fn response(&self) -> http::Response<String> {
        match &self.1 {
            Some(cookie) => cookie.refused(&self.0),
            None => self.0.response(),
        }
    }
}

impl From<SessionError> for SessionRejection {
    fn from(error: SessionError) -> Self {
        Self(error, None)
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for SessionRejection {
    fn into_response(self) -> axum_core::response::Response {
        self.response().map(axum_core::body::Body::from)
    }
}

/// The refresh token of a request, read from its
/// [`RefreshCookie`](auth_layer::session::RefreshCookie): a request from
/// another site is refused (403 `cross_origin_request`), two different
/// cookies are refused (400 `multiple_tokens`), no cookie is 401
/// `refresh_invalid` (clearing the cookie, in case an empty one was sent);
/// nothing is spent. The cookie's settings are the
/// `RefreshCookie` in the request's extensions (axum: `Extension`) or the
/// app data (actix-web: `.app_data(cookie)`), else the default
/// `__Host-refresh_token`.
///
/// [`answer`](Self::answer) turns the refresh's outcome into the answer:
/// the new access token and the rotated cookie, or the refusal with the
/// dead cookie cleared.
///
/// ```
/// use auth_extract::RefreshCookieToken;
/// use auth_layer::session::Sessions;
/// use axum::{Router, extract::State, routing::post};
///
/// async fn refresh(State(sessions): State<Sessions>, cookie: RefreshCookieToken) -> http::Response<String> {
///     cookie.answer(sessions.refresh(cookie.token()).await)
/// }
/// # let _ = Router::<Sessions>::new().route("/refresh", post(refresh));
/// ```
#[derive(Debug, Clone)]
pub struct RefreshCookieToken {
    token: String,
    cookie: auth_layer::session::RefreshCookie,
}

impl RefreshCookieToken {
    /// Reads the token from a request's headers, with these settings.
    ///
    /// # Errors
    ///
    /// See [`RefreshCookie::read`](auth_layer::session::RefreshCookie::read).
    pub fn from_headers(
        cookie: &auth_layer::session::RefreshCookie,
        headers: &http::HeaderMap,
        uri: &http::Uri,
    ) -> Result<Self, SessionRejection> {
        let token = cookie
            .read(headers, uri)
            .map_err(|e| SessionRejection(e, Some(cookie.clone())))?
            .to_owned();
        Ok(Self {
            token,
            cookie: cookie.clone(),
        })
    }

    /// The refresh token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The cookie's settings.
    pub fn cookie(&self) -> &auth_layer::session::RefreshCookie {
        &self.cookie
    }

    /// The answer to the refresh: [`refreshed`](auth_layer::session::RefreshCookie::refreshed)
    /// or [`refused`](auth_layer::session::RefreshCookie::refused).
    pub fn answer(
        &self,
        outcome: Result<auth_layer::session::Refreshed, SessionError>,
    ) -> http::Response<String> {
        match outcome {
            Ok(refreshed) => self.cookie.refreshed(&refreshed),
            Err(e) => self.cookie.refused(&e),
        }
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for RefreshCookieToken {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let default = auth_layer::session::RefreshCookie::new();
        let cookie = parts
            .extensions
            .get::<auth_layer::session::RefreshCookie>()
            .unwrap_or(&default);
        Self::from_headers(cookie, &parts.headers, &parts.uri)
    }
}
