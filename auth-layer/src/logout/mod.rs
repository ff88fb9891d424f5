//! Receivers of logout events from identity providers: OpenID Connect
//! Back-Channel Logout 1.0.
//!
//! [`BackChannelLogout`] is a tower `Service` for the provider's
//! `backchannel_logout_uri`. It verifies the logout token with the layer's
//! keys (those of the token's issuer only), allowed algorithms, leeway,
//! clock and size cap, checks it as section 2.6 says, then tells a
//! [`LogoutTarget`] what to revoke:
//!
//! | request | answer |
//! |---|---|
//! | valid token, logout recorded (or already done) | 200, empty body |
//! | anything invalid: token, form, content type, size, a replayed `jti` | 400 `{"error":"invalid_request"}` |
//! | a method other than `POST` | 405, `Allow: POST` |
//! | the target cannot record the logout, or a new `kid` is being fetched | 503, `Retry-After` |
//!
//! Every answer carries `Cache-Control: no-store` (section 2.8). A 400
//! never says why: the reason ([`LogoutRejection`]) is logged with the
//! issuer (never the token) and put in the response's extensions.
//!
//! What a valid token does (section 2.7): its `jti` is recorded until the
//! token would stop passing ([`LogoutTarget::first_use`]); a token seen
//! before is a replay. A token naming a session (`sid`) revokes that
//! session only, even when it also names the subject: without `sid` the
//! specification's intent is "all sessions of the End-User", with it the
//! one session. A token naming only `sub` revokes every session of the
//! subject. Tokens issued at or before the logout token's `iat` are
//! revoked: both are stamped by the provider's clock, so a delayed or
//! retried notice never refuses a login made after the logout.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use auth_layer::JwtAuth;
//! use auth_layer::keys::{Key, TrustedIssuer};
//! use auth_layer::logout::{BackChannelLogout, LogoutTarget};
//! use auth_layer::store::{BoxFuture, StoreError};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//!
//! /// Records what it is told to end (a real target is the revocation store).
//! #[derive(Default)]
//! struct Ended(Mutex<Vec<String>>);
//!
//! impl LogoutTarget for Ended {
//!     fn was_used<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
//!         Box::pin(async { Ok(false) })
//!     }
//!     fn first_use<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<bool, StoreError>> {
//!         Box::pin(async { Ok(true) })
//!     }
//!     fn revoke_subject<'a>(&'a self, _: &'a str, sub: &'a str, _: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
//!         Box::pin(async move { Ok(self.0.lock().unwrap().push(format!("subject {sub}"))) })
//!     }
//!     fn revoke_session<'a>(&'a self, _: &'a str, sid: &'a str, _: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
//!         Box::pin(async move { Ok(self.0.lock().unwrap().push(format!("session {sid}"))) })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let secret = "the-op-secret-of-at-least-32-bytes!";
//! let auth = JwtAuth::builder()
//!     .trusted_issuer(TrustedIssuer::new("https://op.example").key(Key::hmac(secret).unwrap()))
//!     .build()
//!     .unwrap();
//! let ended = Arc::new(Ended::default());
//! let logout = BackChannelLogout::builder(&auth)
//!     .issuer("https://op.example")
//!     .client_id("my-client")
//!     .build(Arc::clone(&ended))
//!     .unwrap();
//!
//! // What the provider sends (sections 2.4 and 2.5).
//! let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
//! let mut header = jsonwebtoken::Header::default();
//! header.typ = Some("logout+jwt".to_owned());
//! let claims = serde_json::json!({
//!     "iss": "https://op.example", "aud": "my-client", "iat": now, "exp": now + 120,
//!     "jti": "bWJq", "sid": "08a5019c",
//!     "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
//! });
//! let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
//! let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
//! let post = |body: String| {
//!     Request::post("/backchannel-logout")
//!         .header("content-type", "application/x-www-form-urlencoded")
//!         .body(body)
//!         .unwrap()
//! };
//!
//! let response = logout.clone().oneshot(post(format!("logout_token={token}"))).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.headers()["cache-control"], "no-store");
//! assert_eq!(*ended.0.lock().unwrap(), ["session 08a5019c"]);
//!
//! // Anything else is a 400 that says nothing more.
//! let response = logout.clone().oneshot(post("logout_token=forged".into())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! assert_eq!(response.body(), r#"{"error":"invalid_request"}"#);
//!
//! // With axum, the receiver is a route's service.
//! let app: axum::Router = axum::Router::new().route_service("/backchannel-logout", logout);
//! # let _ = app;
//! # }
//! ```
//!
//! With hyper, wrap it in `hyper_util::service::TowerToHyperService`. With
//! actix-web, which does not use tower, route `POST` to a handler that
//! passes the `Content-Type` and the body to
//! [`BackChannelLogout::receive_form`] and copies the answer's status,
//! headers and body into an `HttpResponse`:
//!
//! ```text
//! async fn backchannel(req: HttpRequest, body: web::Bytes, logout: web::Data<BackChannelLogout>) -> HttpResponse {
//!     let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok());
//!     let answer = logout.receive_form(content_type, &body).await;
//!     let mut response = HttpResponse::build(StatusCode::from_u16(answer.status().as_u16()).unwrap());
//!     for (name, value) in answer.headers() {
//!         response.insert_header((name.as_str(), value.as_bytes()));
//!     }
//!     response.body(answer.into_body())
//! }
//! // App::new().app_data(web::Data::new(logout)).route("/backchannel-logout", web::post().to(backchannel))
//! ```
//!
//! Limit the body size in actix (`web::PayloadConfig`) as well: the
//! receiver's own cap applies to what it is given.

mod builder;
mod rejection;
mod response;
mod service;
pub(crate) use service::single_form_content_type;
mod target;
#[cfg(test)]
pub(crate) mod testing;
mod token;
mod verifier;

pub use builder::{
    BackChannelLogoutBuilder, DEFAULT_MAX_AGE, DEFAULT_MAX_BODY_BYTES, DEFAULT_RETRY_AFTER,
};
pub use rejection::LogoutRejection;
pub use service::BackChannelLogout;
pub use target::LogoutTarget;
pub use token::{BACKCHANNEL_LOGOUT_EVENT, LogoutToken};
