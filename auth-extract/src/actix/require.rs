//! [`RequireMiddleware`]: a [`Require`] guard as an actix-web middleware.

use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{HttpMessage, ResponseError};
use auth_layer::VerifiedToken;
use auth_layer::claims::{DefaultClaims, Unauthenticated};
use auth_layer::observe::Reporter;
use auth_layer::require::Require;
use auth_layer::response::{JsonResponder, Responder};

use crate::actix::convert::{respond, to_http_headers};
use crate::actix::middleware::LocalBoxFuture;
use crate::claims::ClaimsRejection;

/// A [`Require`] guard as an actix-web middleware (`.wrap(...)` on an
/// `App`, a scope or a resource). Wrap it before the
/// [`JwtAuthMiddleware`](crate::actix::JwtAuthMiddleware), so that it runs
/// after it; it answers like the tower guard.
///
/// ```
/// use actix_web::{App, test, web};
/// use auth_extract::Claims;
/// use auth_extract::actix::{JwtAuthMiddleware, RequireMiddleware};
/// use auth_layer::JwtAuth;
/// use auth_layer::require::Require;
///
/// async fn create(claims: Claims) -> String {
///     format!("created by {:?}", claims.subject())
/// }
///
/// # #[actix_web::main]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let app = test::init_service(
///     App::new()
///         .service(
///             web::resource("/orders")
///                 .wrap(RequireMiddleware::new(Require::scope(&auth, "orders:write")))
///                 .route(web::post().to(create)),
///         )
///         .wrap(JwtAuthMiddleware::new(auth.clone())),
/// )
/// .await;
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:read" }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let request = test::TestRequest::post()
///     .uri("/orders")
///     .insert_header(("authorization", format!("Bearer {token}")))
///     .to_request();
/// let res = test::call_service(&app, request).await;
/// assert_eq!(res.status(), 403);
/// # }
/// ```
pub struct RequireMiddleware<C = DefaultClaims, R = JsonResponder> {
    guard: Require<C, R>,
}

impl<C, R> RequireMiddleware<C, R> {
    /// The middleware for `guard`.
    pub fn new(guard: Require<C, R>) -> Self {
        Self { guard }
    }
}

impl<C, R> From<Require<C, R>> for RequireMiddleware<C, R> {
    fn from(guard: Require<C, R>) -> Self {
        Self::new(guard)
    }
}

impl<C, R: Clone> Clone for RequireMiddleware<C, R> {
    fn clone(&self) -> Self {
        Self {
            guard: self.guard.clone(),
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for RequireMiddleware<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireMiddleware")
            .field("guard", &self.guard)
            .finish()
    }
}

impl<S, B, C, R> Transform<S, ServiceRequest> for RequireMiddleware<C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: Send + Sync + 'static,
    R: Responder<String>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireMiddlewareService<S, C, R>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireMiddlewareService {
            service,
            guard: self.guard.clone(),
        }))
    }
}

/// The actix-web `Service` of [`RequireMiddleware`].
pub struct RequireMiddlewareService<S, C = DefaultClaims, R = JsonResponder> {
    service: S,
    guard: Require<C, R>,
}

impl<S, C, R: fmt::Debug> fmt::Debug for RequireMiddlewareService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireMiddlewareService")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<S, B, C, R> Service<ServiceRequest> for RequireMiddlewareService<S, C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: Send + Sync + 'static,
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
            self.guard.check(
                extensions
                    .get::<VerifiedToken<C>>()
                    .map(VerifiedToken::grants),
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
            Err(Some(error)) => {
                if error.kind().status() == http::StatusCode::FORBIDDEN {
                    let extensions = req.extensions();
                    Reporter::forbidden(
                        extensions.get::<Reporter>(),
                        &error,
                        extensions.get::<VerifiedToken<C>>(),
                    );
                }
                respond(self.guard.auth(), &error, &to_http_headers(req.headers()))
            }
            Err(None) => ClaimsRejection::MissingLayer {
                claims_type: std::any::type_name::<C>(),
            }
            .error_response(),
        };
        Box::pin(ready(Ok(req.into_response(response).map_into_right_body())))
    }
}
