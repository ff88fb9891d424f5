//! [`JwtAuthMiddleware`]: the `JwtAuth` layer as an actix-web middleware.

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use auth_layer::JwtAuth;
use auth_layer::claims::{DefaultClaims, Unauthenticated};
use auth_layer::response::{JsonResponder, Responder};
use serde::de::DeserializeOwned;

use crate::actix::convert::{respond, to_http_headers, to_http_method, to_http_uri};

/// The boxed, `!Send` future actix-web services return.
pub(super) type LocalBoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

/// The actix-web middleware of a [`JwtAuth`]: `App::new().wrap(JwtAuthMiddleware::new(auth))`,
/// or on a `web::scope` / resource.
///
/// A verified request reaches the handler with the
/// [`VerifiedToken<C>`](auth_layer::VerifiedToken) in its extensions; any other is
/// answered by the middleware exactly as the tower layer answers it.
/// The responder must build `http::Response<String>` bodies:
/// [`JsonResponder`](auth_layer::response::JsonResponder) (the default), [`EmptyResponder`](auth_layer::response::EmptyResponder) and
/// closures returning `Response<String>` do.
pub struct JwtAuthMiddleware<C = DefaultClaims, R = JsonResponder> {
    auth: JwtAuth<C, R>,
}

impl<C, R> JwtAuthMiddleware<C, R> {
    /// The middleware for `auth`.
    pub fn new(auth: JwtAuth<C, R>) -> Self {
        Self { auth }
    }
}

impl<C, R> From<JwtAuth<C, R>> for JwtAuthMiddleware<C, R> {
    fn from(auth: JwtAuth<C, R>) -> Self {
        Self::new(auth)
    }
}

impl<C, R: Clone> Clone for JwtAuthMiddleware<C, R> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for JwtAuthMiddleware<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthMiddleware")
            .field("auth", &self.auth)
            .finish()
    }
}

impl<S, B, C, R> Transform<S, ServiceRequest> for JwtAuthMiddleware<C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
    R: Responder<String>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = JwtAuthMiddlewareService<S, C, R>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(JwtAuthMiddlewareService {
            service: Rc::new(service),
            auth: self.auth.clone(),
        }))
    }
}

/// The actix-web `Service` of [`JwtAuthMiddleware`].
pub struct JwtAuthMiddlewareService<S, C = DefaultClaims, R = JsonResponder> {
    service: Rc<S>,
    auth: JwtAuth<C, R>,
}

impl<S, C, R: fmt::Debug> fmt::Debug for JwtAuthMiddlewareService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthMiddlewareService")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl<S, B, C, R> Service<ServiceRequest> for JwtAuthMiddlewareService<S, C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
    R: Responder<String>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let auth = self.auth.clone();
        Box::pin(async move {
            let headers = to_http_headers(req.headers());
            let uri = to_http_uri(req.uri());
            let method = to_http_method(req.method());
            // The peer's address, for the audit hook (`JwtAuthBuilder::client_addr`).
            let mut peer = http::Extensions::new();
            if let Some(addr) = req.peer_addr() {
                peer.insert(addr);
            }
            match auth
                .authenticate_request(&method, &headers, &uri, &peer)
                .await
            {
                Ok(Some(token)) => {
                    let reporter = auth.reporter(&headers, &peer);
                    let mut extensions = req.extensions_mut();
                    if let Some(reporter) = reporter {
                        extensions.insert(reporter);
                    }
                    extensions.insert(token);
                }
                Ok(None) => {
                    let mut extensions = req.extensions_mut();
                    extensions.insert(Unauthenticated);
                    extensions.insert(auth.challenge().clone());
                }
                Err(error) => {
                    let response = respond(&auth, &error, &headers);
                    return Ok(req.into_response(response).map_into_right_body());
                }
            }
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}
