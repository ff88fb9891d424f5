//! axum extractors: `Claims<C>` and `Option<Claims<C>>`.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::{Claims, ClaimsRejection, from_extensions};

impl<S, C> FromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match from_extensions::<C>(&parts.extensions)? {
            Some(claims) => Ok(claims),
            // Optional mode let a request without a token through to a
            // handler that requires claims.
            None => Err(ClaimsRejection::Unauthenticated),
        }
    }
}

impl<S, C> OptionalFromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        from_extensions::<C>(&parts.extensions)
    }
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated => (
                self.status(),
                [(http::header::WWW_AUTHENTICATE, "Bearer")],
                "",
            )
                .into_response(),
            _ => (
                self.status(),
                "authentication is not configured for this route",
            )
                .into_response(),
        }
    }
}
