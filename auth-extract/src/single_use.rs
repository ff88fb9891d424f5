//! [`SingleUse<P>`]: consumes the single-use token of a request (an email
//! link's `?token=`), for one purpose.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_layer::session::{SessionError, SessionErrorKind, SingleUseToken, SingleUseTokens};

/// A single-use token purpose, named at the type level for [`SingleUse`].
///
/// ```
/// use auth_extract::Purpose;
///
/// struct PasswordReset;
/// impl Purpose for PasswordReset {
///     const NAME: &'static str = "password-reset";
/// }
/// ```
pub trait Purpose: Send + Sync + 'static {
    /// The purpose, as given to
    /// [`Sessions::single_use`](auth_layer::session::Sessions::single_use).
    const NAME: &'static str;
}

/// The request's single-use token for purpose `P`, verified and **spent**:
/// extracting it consumes the token (see
/// [`SingleUseTokens::consume`]), so a replay, concurrent or not, is
/// refused. The token is the `token` query parameter (a link in an email);
/// the [`SingleUseTokens`] are the request's extension (axum:
/// `.layer(Extension(tokens))`) or app data (actix-web:
/// `.app_data(tokens)`).
///
/// The token is spent once extraction succeeds, whatever the handler does
/// next. Mail scanners follow links: put the extractor on the `POST` that a
/// page behind the link sends, not on the `GET` of the link itself.
///
/// | the request | answer |
/// |---|---|
/// | a valid, unused token of this purpose | the handler runs |
/// | used before | 400 `invalid_grant`, `single_use_spent` |
/// | expired | 400 `invalid_grant`, `single_use_expired` |
/// | no `token`, two of them, another purpose, an access token, a forgery | 400 `invalid_grant`, `single_use_invalid` |
/// | the store does not answer | 503 `temporarily_unavailable`, `Retry-After: 1` (the use may have been recorded before the answer was lost) |
/// | no `SingleUseTokens` configured, or not for this purpose | 500, and a log line naming the fix |
///
/// ```
/// use auth_extract::{Purpose, SingleUse};
/// use axum::{Extension, Router, routing::post};
///
/// struct VerifyEmail;
/// impl Purpose for VerifyEmail {
///     const NAME: &'static str = "email-verification";
/// }
///
/// async fn verify(link: SingleUse<VerifyEmail>) -> String {
///     format!("{} verified {}", link.subject(), link.claims()["email"])
/// }
///
/// # fn app(tokens: auth_layer::session::SingleUseTokens) -> Router {
/// Router::new()
///     .route("/verify-email", post(verify))
///     .layer(Extension(tokens))
/// # }
/// ```
pub struct SingleUse<P> {
    token: SingleUseToken,
    _purpose: PhantomData<fn() -> P>,
}

impl<P> SingleUse<P> {
    /// The consumed token.
    pub fn token(&self) -> &SingleUseToken {
        &self.token
    }

    /// Unwraps the consumed token.
    pub fn into_inner(self) -> SingleUseToken {
        self.token
    }
}

impl<P> Deref for SingleUse<P> {
    type Target = SingleUseToken;

    fn deref(&self) -> &SingleUseToken {
        &self.token
    }
}

impl<P> fmt::Debug for SingleUse<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SingleUse").field(&self.token).finish()
    }
}

/// Why [`SingleUse`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SingleUseRejection {
    /// The token was refused (or the store did not answer): the answer of
    /// [`SessionError::response`].
    Refused(SessionError),
    /// No [`SingleUseTokens`] for the purpose reached the request: a
    /// server-side mistake, answered 500.
    NotConfigured {
        /// The purpose asked for.
        purpose: &'static str,
    },
}

impl SingleUseRejection {
    /// The answer: the refusal's, or 500 with a JSON body.
    pub fn response(&self) -> http::Response<String> {
        match self {
            Self::Refused(e) => e.response(),
            Self::NotConfigured { .. } => {
                let mut response = http::Response::new(
                    r#"{"error":"server_error","error_description":"single-use tokens are not configured for this route","code":"internal_error"}"#.to_owned(),
                );
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                response
            }
        }
    }
}

impl fmt::Display for SingleUseRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => e.fmt(f),
            Self::NotConfigured { purpose } => write!(
                f,
                "SingleUse<{purpose}> extracted without SingleUseTokens for {purpose:?}: add \
                 `.layer(Extension(sessions.single_use([{purpose:?}, ..])?))` (actix-web: \
                 `.app_data(tokens)`) covering this route"
            ),
        }
    }
}

impl std::error::Error for SingleUseRejection {}

/// The `token` query parameter, when there is exactly one.
fn token_parameter(uri: &http::Uri) -> Option<&str> {
    let mut tokens = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| *name == "token")
        .map(|(_, value)| value);
    match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => Some(token),
        _ => None,
    }
}

/// Consumes the request's token for `P` with `tokens`.
pub(crate) async fn consume<P: Purpose>(
    tokens: Option<SingleUseTokens>,
    uri: &http::Uri,
) -> Result<SingleUse<P>, SingleUseRejection> {
    let Some(tokens) = tokens.filter(|t| t.purposes().any(|p| p == P::NAME)) else {
        let rejection = SingleUseRejection::NotConfigured { purpose: P::NAME };
        tracing::error!("{rejection}");
        return Err(rejection);
    };
    let Some(token) = token_parameter(uri) else {
        return Err(SingleUseRejection::Refused(SessionError::from(
            SessionErrorKind::SingleUseInvalid,
        )));
    };
    let token = tokens
        .consume(P::NAME, token)
        .await
        .map_err(SingleUseRejection::Refused)?;
    Ok(SingleUse {
        token,
        _purpose: PhantomData,
    })
}

#[cfg(feature = "axum")]
impl<S: Send + Sync, P: Purpose> axum_core::extract::FromRequestParts<S> for SingleUse<P> {
    type Rejection = SingleUseRejection;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let tokens = parts.extensions.get::<SingleUseTokens>().cloned();
        consume(tokens, &parts.uri).await
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for SingleUseRejection {
    fn into_response(self) -> axum_core::response::Response {
        self.response().map(axum_core::body::Body::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_token_parameter() {
        let token =
            |uri: &'static str| token_parameter(&http::Uri::from_static(uri)).map(str::to_owned);
        assert_eq!(token("/v?token=a.b.c"), Some("a.b.c".to_owned()));
        assert_eq!(token("/v?x=1&token=a.b.c&y=2"), Some("a.b.c".to_owned()));
        assert_eq!(token("/v?token=a&token=b"), None);
        assert_eq!(token("/v?token="), None);
        assert_eq!(token("/v?tokens=a"), None);
        assert_eq!(token("/v"), None);
    }
}
