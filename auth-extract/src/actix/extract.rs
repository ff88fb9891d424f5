//! `Claims<C>`, `WithScope`, `WithRole` via `FromRequest`, and the
//! rejections as `ResponseError`s.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header as actix_header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use auth_layer::VerifiedToken;
use auth_layer::claims::Unauthenticated;
use auth_layer::observe::Reporter;
use auth_layer::response::Challenge;

use crate::actix::convert::{to_actix_response, to_actix_status};
use crate::claims::{Claims, ClaimsRejection, lookup};
use crate::grant::{
    GrantRejection, Guard, Guarded, RefusalReported, RoleName, ScopeName, WithRole, WithScope,
    report_refusal,
};

impl<C: Send + Sync + 'static> FromRequest for Claims<C> {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(claims_of(req).and_then(|claims| {
            claims.ok_or_else(|| {
                ClaimsRejection::unauthenticated(req.extensions().get::<Challenge>())
            })
        }))
    }
}

/// The guard extractors: the claims the middleware stored, checked
/// against the guard's requirement, a refusal reported once.
macro_rules! guard_extractor {
    ($name:ident, $param:ident, $trait:ident) => {
        impl<$param: $trait, C: Send + Sync + 'static> FromRequest for $name<$param, C> {
            type Error = GrantRejection;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(
                    claims_of(req)
                        .map_err(GrantRejection::from)
                        .and_then(|claims| {
                            let checked = Self::check(
                                claims,
                                &grpc_marker(req),
                                req.extensions().get::<Challenge>(),
                            );
                            if let Err(rejection) = &checked {
                                report_once::<C>(req, rejection);
                            }
                            checked
                        }),
                )
            }
        }
    };
}

guard_extractor!(WithScope, S, ScopeName);
guard_extractor!(WithRole, R, RoleName);
guard_extractor!(Guarded, G, Guard);

impl ResponseError for ClaimsRejection {
    fn status_code(&self) -> ActixStatus {
        to_actix_status(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unauthenticated { challenge } => to_actix_response(
                ClaimsRejection::unauthenticated_response(challenge.as_ref()),
            ),
            _ => HttpResponse::build(self.status_code())
                .content_type("text/plain; charset=utf-8")
                .body("authentication is not configured for this route"),
        }
    }
}

impl ResponseError for GrantRejection {
    fn status_code(&self) -> ActixStatus {
        to_actix_status(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Claims(rejection) => rejection.error_response(),
            Self::Denied {
                error,
                grpc,
                challenge,
            } => to_actix_response(GrantRejection::denied_response(
                error,
                *grpc,
                challenge.as_ref(),
            )),
        }
    }
}

/// Reports a guard's refusal of `req` once (see [`report_refusal`]).
fn report_once<C: Send + Sync + 'static>(req: &HttpRequest, rejection: &GrantRejection) {
    let reported = {
        let ext = req.extensions();
        report_refusal(
            rejection,
            ext.get::<Reporter>(),
            ext.get::<VerifiedToken<C>>(),
            ext.get::<RefusalReported>().is_some(),
        )
    };
    if reported {
        req.extensions_mut().insert(RefusalReported);
    }
}

/// What the middleware stored, for the extractors.
fn claims_of<C: Send + Sync + 'static>(
    req: &HttpRequest,
) -> Result<Option<Claims<C>>, ClaimsRejection> {
    let extensions = req.extensions();
    lookup(
        extensions.get::<VerifiedToken<C>>(),
        extensions.get::<Unauthenticated>().is_some(),
    )
}

/// Only the `content-type` of the request, which decides a gRPC answer.
fn grpc_marker(req: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    if let Some(value) = req
        .headers()
        .get(actix_header::CONTENT_TYPE)
        .and_then(|v| http::HeaderValue::from_bytes(v.as_bytes()).ok())
    {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    headers
}
