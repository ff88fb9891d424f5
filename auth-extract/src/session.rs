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
pub struct SessionRejection(pub SessionError);

impl From<SessionError> for SessionRejection {
    fn from(error: SessionError) -> Self {
        Self(error)
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
        self.0.response::<String>().map(axum_core::body::Body::from)
    }
}
