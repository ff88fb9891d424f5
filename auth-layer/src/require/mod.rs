//! Scope and role requirements: the [`Requirement`] a route demands of a
//! verified token, checked against the [`Grants`](crate::claims::Grants)
//! the `JwtAuth` layer parsed from the token (`scope`/`scp`, `roles`).
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::claims::Grants;
//! use auth_layer::require::Requirement;
//! use http::{Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let svc = auth.layer(service_fn(|req: Request<()>| async move {
//!     let denied = Requirement::scope("orders:write").check(req.extensions().get::<Grants>());
//!     let status = match denied {
//!         Ok(()) => StatusCode::OK,
//!         Err(e) => e.kind().status(),
//!     };
//!     let mut response = Response::new(());
//!     *response.status_mut() = status;
//!     Ok::<_, std::convert::Infallible>(response)
//! }));
//! let token = jsonwebtoken::encode(
//!     &jsonwebtoken::Header::default(),
//!     &serde_json::json!({ "exp": 4_000_000_000_u64, "scope": "orders:read" }),
//!     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
//! )
//! .unwrap();
//! let req = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
//! assert_eq!(svc.oneshot(req).await.unwrap().status(), StatusCode::FORBIDDEN);
//! # }
//! ```

mod requirement;

pub use requirement::Requirement;
