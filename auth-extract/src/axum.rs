//! axum extractors: `Claims<C>`, `Option<Claims<C>>`, `WithScope<S, C>` and
//! `WithRole<R, C>`.

use auth_layer::VerifiedToken;
use auth_layer::observe::Reporter;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::claims::{Claims, ClaimsRejection, from_extensions};
use crate::grant::{
    GrantRejection, RefusalReported, RoleName, ScopeName, WithRole, WithScope, report_refusal,
};

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

impl<S, Scope, C> FromRequestParts<S> for WithScope<Scope, C>
where
    S: Send + Sync,
    Scope: ScopeName,
    C: Send + Sync + 'static,
{
    type Rejection = GrantRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let checked = Self::check(from_extensions::<C>(&parts.extensions)?, &parts.headers);
        report::<C, _>(parts, &checked);
        checked
    }
}

impl<S, Role, C> FromRequestParts<S> for WithRole<Role, C>
where
    S: Send + Sync,
    Role: RoleName,
    C: Send + Sync + 'static,
{
    type Rejection = GrantRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let checked = Self::check(from_extensions::<C>(&parts.extensions)?, &parts.headers);
        report::<C, _>(parts, &checked);
        checked
    }
}

impl IntoResponse for GrantRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Claims(rejection) => rejection.into_response(),
            Self::Denied { error, grpc } => {
                GrantRejection::denied_response(&error, grpc).map(axum_core::body::Body::from)
            }
        }
    }
}

/// Reports a guard's refusal to the layer's audit hook, once per request.
fn report<C: Send + Sync + 'static, T>(parts: &mut Parts, checked: &Result<T, GrantRejection>) {
    if let Err(rejection) = checked {
        let ext = &parts.extensions;
        if report_refusal(
            rejection,
            ext.get::<Reporter>(),
            ext.get::<VerifiedToken<C>>(),
            ext.get::<RefusalReported>().is_some(),
        ) {
            parts.extensions.insert(RefusalReported);
        }
    }
}
