//! actix-web 4: [`JwtAuthMiddleware`], the middleware built from the same
//! [`JwtAuth`](auth_layer::JwtAuth) as the tower layer, and the `Claims<C>`, `Option<Claims<C>>`,
//! `WithScope` and `WithRole` extractors via `FromRequest`.
//!
//! actix-web does not use tower, so the middleware calls
//! [`JwtAuth::authenticate_request`](auth_layer::JwtAuth::authenticate_request), the core's one entry point (with the
//! peer's `SocketAddr` in the extensions, for the audit hook), and turns its
//! [`Rejection`](auth_layer::response::Rejection) into an `HttpResponse` with the same status, headers and
//! body as the tower layer (JSON by default, `grpc-status` for gRPC
//! calls). [`backchannel_logout`] serves the OpenID Connect
//! back-channel logout receiver. A [`Require`](auth_layer::require::Require) guard is an
//! actix middleware too, as [`RequireMiddleware`]; wrap it before the
//! authentication middleware, so it runs after it.
//!
//! actix-web 4 still uses `http` 0.2 types: headers are copied to `http` 1
//! by their bytes (names of standard headers without allocating), once per
//! request.
//!
//! ```
//! use actix_web::{App, HttpServer, web};
//! use auth_extract::Claims;
//! use auth_extract::actix::{JwtAuthMiddleware, RequireMiddleware};
//! use auth_layer::JwtAuth;
//! use auth_layer::require::Require;
//!
//! async fn me(claims: Claims) -> String {
//!     format!("hello {}", claims.subject())
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> std::io::Result<()> {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let server = HttpServer::new(move || {
//!     App::new()
//!         .route("/me", web::get().to(me))
//!         .service(
//!             web::scope("/orders")
//!                 .wrap(RequireMiddleware::new(Require::scope(&auth, "orders:write")))
//!                 .route("", web::post().to(me)),
//!         )
//!         .wrap(JwtAuthMiddleware::new(auth.clone()))
//! })
//! .workers(1)
//! .bind(("127.0.0.1", 0))?;
//! # let _ = server;
//! # Ok(())
//! # }
//! ```
//!
//! `Option<Claims<C>>` uses actix-web's own `Option<T>` extractor, which
//! turns every extraction error into `None`: on a route that the middleware
//! does not cover it is `None` (the missing middleware is still logged as an
//! error), where axum answers 500.

mod convert;
mod extract;
mod logout;
mod middleware;
mod require;

pub use logout::backchannel_logout;

/// An `http` response (a [`TokenResponse`](auth_layer::session::TokenResponse)'s,
/// say) as an actix-web one, headers and body kept.
///
/// ```
/// use auth_extract::actix::http_response;
///
/// let response = http::Response::builder().status(201).header("cache-control", "no-store").body(String::from("{}")).unwrap();
/// let actix = http_response(response);
/// assert_eq!(actix.status().as_u16(), 201);
/// assert_eq!(actix.headers().get("cache-control").unwrap(), "no-store");
/// ```
pub fn http_response(response: http::Response<String>) -> actix_web::HttpResponse {
    convert::to_actix_response(response)
}

impl actix_web::ResponseError for crate::SessionRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        convert::to_actix_status(self.0.kind().status())
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        convert::to_actix_response(self.response())
    }
}
pub use middleware::{JwtAuthMiddleware, JwtAuthMiddlewareService};
pub use require::{RequireMiddleware, RequireMiddlewareService};

impl actix_web::FromRequest for crate::RefreshCookieToken {
    type Error = crate::SessionRejection;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        use auth_layer::session::RefreshCookie;
        let default = RefreshCookie::new();
        let cookie = req
            .app_data::<RefreshCookie>()
            .or_else(|| {
                req.app_data::<actix_web::web::Data<RefreshCookie>>()
                    .map(|data| data.get_ref())
            })
            .unwrap_or(&default);
        let uri = convert::to_http_uri(req.uri());
        std::future::ready(Self::from_headers(
            cookie,
            &convert::to_http_headers(req.headers()),
            &uri,
        ))
    }
}

impl<P: crate::Purpose> actix_web::FromRequest for crate::SingleUse<P> {
    type Error = crate::SingleUseRejection;
    type Future = middleware::LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        use auth_layer::session::SingleUseTokens;
        let tokens = req.app_data::<SingleUseTokens>().cloned().or_else(|| {
            req.app_data::<actix_web::web::Data<SingleUseTokens>>()
                .map(|data| data.get_ref().clone())
        });
        let uri = convert::to_http_uri(req.uri());
        Box::pin(async move { crate::single_use::consume::<P>(tokens, &uri).await })
    }
}

impl actix_web::ResponseError for crate::SingleUseRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        convert::to_actix_status(self.response().status())
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        convert::to_actix_response(self.response())
    }
}
