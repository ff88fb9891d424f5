//! axum extractors: `Claims<C>`, `Option<Claims<C>>`, `WithScope<S, C>` and
//! `WithRole<R, C>`.

use auth_layer::VerifiedToken;
use auth_layer::observe::Reporter;
use auth_layer::response::Challenge;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::claims::{Claims, ClaimsRejection, from_extensions};
use crate::grant::{
    GrantRejection, Guard, Guarded, RefusalReported, RoleName, ScopeName, WithRole, WithScope,
    report_refusal,
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
            None => Err(ClaimsRejection::unauthenticated(
                parts.extensions.get::<Challenge>(),
            )),
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
            Self::Unauthenticated { challenge } => {
                ClaimsRejection::unauthenticated_response(challenge.as_ref())
                    .map(axum_core::body::Body::from)
            }
            _ => (
                self.status(),
                "authentication is not configured for this route",
            )
                .into_response(),
        }
    }
}

/// The guard extractors: the claims the layer stored, checked against the
/// guard's requirement, a refusal reported once.
macro_rules! guard_extractor {
    ($name:ident, $param:ident, $trait:ident) => {
        impl<S, $param, C> FromRequestParts<S> for $name<$param, C>
        where
            S: Send + Sync,
            $param: $trait,
            C: Send + Sync + 'static,
        {
            type Rejection = GrantRejection;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Self, Self::Rejection> {
                let checked = Self::check(
                    from_extensions::<C>(&parts.extensions)?,
                    &parts.headers,
                    parts.extensions.get::<Challenge>(),
                );
                report::<C, _>(parts, &checked);
                checked
            }
        }
    };
}

guard_extractor!(WithScope, Scope, ScopeName);
guard_extractor!(WithRole, Role, RoleName);
guard_extractor!(Guarded, G, Guard);

impl IntoResponse for GrantRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Claims(rejection) => rejection.into_response(),
            Self::Denied {
                error,
                grpc,
                challenge,
            } => GrantRejection::denied_response(&error, grpc, challenge.as_ref())
                .map(axum_core::body::Body::from),
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
