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

use crate::actix::convert::{to_actix_response, to_actix_status};
use crate::claims::{Claims, ClaimsRejection, lookup};
use crate::grant::{
    GrantRejection, RefusalReported, RoleName, ScopeName, WithRole, WithScope, report_refusal,
};

impl<C: Send + Sync + 'static> FromRequest for Claims<C> {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(claims_of(req).and_then(|claims| claims.ok_or(ClaimsRejection::Unauthenticated)))
    }
}

impl<S: ScopeName, C: Send + Sync + 'static> FromRequest for WithScope<S, C> {
    type Error = GrantRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            claims_of(req)
                .map_err(GrantRejection::from)
                .and_then(|claims| {
                    let checked = Self::check(claims, &grpc_marker(req));
                    if let Err(rejection) = &checked {
                        report_once::<C>(req, rejection);
                    }
                    checked
                }),
        )
    }
}

impl<R: RoleName, C: Send + Sync + 'static> FromRequest for WithRole<R, C> {
    type Error = GrantRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            claims_of(req)
                .map_err(GrantRejection::from)
                .and_then(|claims| {
                    let checked = Self::check(claims, &grpc_marker(req));
                    if let Err(rejection) = &checked {
                        report_once::<C>(req, rejection);
                    }
                    checked
                }),
        )
    }
}

impl ResponseError for ClaimsRejection {
    fn status_code(&self) -> ActixStatus {
        to_actix_status(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unauthenticated => HttpResponse::build(self.status_code())
                .insert_header((actix_header::WWW_AUTHENTICATE, "Bearer"))
                .finish(),
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
            Self::Denied { error, grpc } => {
                to_actix_response(GrantRejection::denied_response(error, *grpc))
            }
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
