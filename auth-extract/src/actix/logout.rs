//! [`backchannel_logout`]: the OpenID Connect back-channel logout endpoint
//! as an actix-web handler.

use actix_web::http::header as actix_header;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_layer::logout::BackChannelLogout;

use super::convert::to_actix_response;

/// The OpenID Connect back-channel logout endpoint for actix-web: the same
/// [`BackChannelLogout`] receiver (and answers) as the tower service. Give
/// the receiver to the app as `web::Data` and route `POST` to this handler
/// **outside** [`JwtAuthMiddleware`](super::JwtAuthMiddleware): the provider
/// sends no access token, its logout token is the credential.
///
/// ```
/// use actix_web::{App, web};
/// use auth_extract::actix::{JwtAuthMiddleware, backchannel_logout};
/// use auth_layer::JwtAuth;
/// use auth_layer::keys::{Key, TrustedIssuer};
/// use auth_layer::logout::BackChannelLogout;
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::store::MemoryStore;
///
/// # #[actix_web::main]
/// # async fn main() {
/// let revocation = RevocationCache::builder(MemoryStore::new()).build().unwrap();
/// let key = Key::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap();
/// let auth = JwtAuth::builder()
///     .trusted_issuer(TrustedIssuer::new("https://op.example").key(key))
///     .revocation(revocation.clone())
///     .build()
///     .unwrap();
/// let logout = BackChannelLogout::builder(&auth)
///     .issuer("https://op.example")
///     .client_id("orders-service")
///     .build(revocation)
///     .unwrap();
/// let logout = web::Data::new(logout);
/// let app = App::new()
///     .app_data(logout.clone())
///     .route("/backchannel-logout", web::post().to(backchannel_logout))
///     .service(
///         web::scope("")
///             .wrap(JwtAuthMiddleware::new(auth.clone()))
///             .route("/me", web::get().to(|| async { "me" })),
///     );
/// # let _ = app;
/// # }
/// ```
pub async fn backchannel_logout(
    request: HttpRequest,
    body: web::Bytes,
    logout: web::Data<BackChannelLogout>,
) -> HttpResponse {
    let content_type = request
        .headers()
        .get(actix_header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    to_actix_response(logout.receive_form(content_type, &body).await)
}
