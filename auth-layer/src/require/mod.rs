//! Scope and role guards: [`Require`], a tower layer that runs after the
//! [`JwtAuth`](crate::JwtAuth) layer, and the [`Requirement`] it checks.
//!
//! Both read the [`Grants`](crate::claims::Grants) the `JwtAuth` layer
//! parsed from the token (`scope`/`scp`, `roles`); neither verifies
//! anything. A token without the grant gets 403 `insufficient_scope` with
//! the `scope` attribute (or code `insufficient_role`); a gRPC call gets
//! `grpc-status` 7. `auth_extract` makes the same guard an actix-web
//! middleware and offers `WithScope` / `WithRole` extractors.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::require::Require;
//! use axum::{Router, routing::{get, post}};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/orders", get(|| async { "orders" }))
//!     .route("/orders", post(|| async { "created" }).route_layer(Require::scope(&auth, "orders:write")))
//!     .layer(auth);
//!
//! let token = jsonwebtoken::encode(
//!     &jsonwebtoken::Header::default(),
//!     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:read" }),
//!     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
//! )
//! .unwrap();
//! let request = |method: &str| {
//!     Request::builder()
//!         .method(method)
//!         .uri("/orders")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(axum::body::Body::empty())
//!         .unwrap()
//! };
//! let read = app.clone().oneshot(request("GET")).await.unwrap();
//! assert_eq!(read.status(), StatusCode::OK);
//! let write = app.oneshot(request("POST")).await.unwrap();
//! assert_eq!(write.status(), StatusCode::FORBIDDEN);
//! assert!(write.headers()["www-authenticate"].to_str().unwrap().contains(r#"scope="orders:write""#));
//! # }
//! ```

mod future;
mod layer;
mod requirement;
mod service;

pub use future::RequireFuture;
pub use layer::Require;
pub use requirement::{Requirement, StepUp};
pub use service::RequireService;
