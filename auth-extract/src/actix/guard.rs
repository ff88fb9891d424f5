//! [`Require`] as an actix-web middleware.

use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{HttpMessage, ResponseError};
use auth_layer::claims::{DefaultClaims, Grants, Unauthenticated};
use auth_layer::response::{DefaultResponder, Responder};

use super::LocalBoxFuture;
use super::convert::{respond, to_http_headers};
use crate::{ClaimsRejection, Require};

impl<S, B, C, R> Transform<S, ServiceRequest> for Require<C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: 'static,
    R: Responder<String>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireMiddleware<S, C, R>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireMiddleware {
            service,
            guard: self.clone(),
        }))
    }
}

/// The actix-web `Service` of a [`Require`] guard.
pub struct RequireMiddleware<S, C = DefaultClaims, R = DefaultResponder> {
    service: S,
    guard: Require<C, R>,
}

impl<S, C, R: fmt::Debug> fmt::Debug for RequireMiddleware<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireMiddleware")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<S, B, C, R> Service<ServiceRequest> for RequireMiddleware<S, C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: 'static,
    R: Responder<String>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let decision = {
            let extensions = req.extensions();
            self.guard.decide(
                extensions.get::<Grants>(),
                extensions.get::<Unauthenticated>().is_some(),
            )
        };
        let response = match decision {
            Ok(()) => {
                let future = self.service.call(req);
                return Box::pin(
                    async move { future.await.map(ServiceResponse::map_into_left_body) },
                );
            }
            Err(Some(error)) => respond(self.guard.auth(), &error, &to_http_headers(req.headers())),
            Err(None) => ClaimsRejection::MissingLayer {
                claims_type: std::any::type_name::<Grants>(),
            }
            .error_response(),
        };
        Box::pin(ready(Ok(req.into_response(response).map_into_right_body())))
    }
}
