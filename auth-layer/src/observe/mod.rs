//! What the layer decides, made visible: a `tracing` event per decision, an
//! audit hook, and (feature `metrics`) counters and histograms.
//!
//! Every request ends in one [`Outcome`]: allowed, anonymous (optional mode,
//! no token) or rejected with an [`ErrorKind`](crate::ErrorKind); a guard
//! after the layer that refuses the token (403, a missing scope or role)
//! reports it once more as forbidden, through the [`Reporter`] the layer
//! leaves in the request.
//!
//! # tracing
//!
//! Every decision is one `DEBUG` event on the `auth_layer` target with
//! `outcome` (`allowed`, `anonymous`, `rejected`), and for rejections
//! `reason` (the `code` of the [answers](crate::response)) and `status`. A
//! scope or role guard after the layer (`Require`, `WithScope`, `WithRole`,
//! in axum and actix-web) that refuses a token reports the 403 once more as
//! `outcome="forbidden"`, with its `reason` and the `required` grant, to the
//! audit hook and the metrics too. The subject and token id are added only
//! when the layer was built with
//! [`log_subjects(true)`](crate::JwtAuthBuilder::log_subjects); the token,
//! and any refresh token, is never recorded at any level, here or anywhere in
//! the crate. A revocation-store round trip runs in a `revocation_check`
//! span, a refresh in a `refresh` span; store outages and failed key fetches
//! are `WARN`, refresh-token reuse is `WARN`.
//!
//! # Audit hook
//!
//! [`JwtAuthBuilder::audit`](crate::JwtAuthBuilder::audit)`(|event| …)` is
//! called with every decision as an [`AuditEvent`]: `outcome()`, `reason()`,
//! and from a verified token `subject()`, `token_id()`, `session_id()`,
//! `issuer()`, plus `client_addr()` when the server made it known
//! ([`client_addr`](crate::JwtAuthBuilder::client_addr), by default the
//! `SocketAddr` extension). Claims of a token whose signature did not verify
//! are never reported as facts.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::observe::{AuditEvent, Outcome};
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .audit(|event: &AuditEvent<'_>| {
//!         if event.outcome() == Outcome::Rejected {
//!             eprintln!(
//!                 "auth: {} from {:?} (sub {:?})",
//!                 event.reason().map_or("", |r| r.code()),
//!                 event.client_addr(),
//!                 event.subject(),
//!             );
//!         }
//!     })
//!     .build()
//!     .unwrap();
//! # let _ = auth;
//! ```
//!
//! With axum, the client address comes from `ConnectInfo`:
//!
//! ```
//! # use auth_layer::JwtAuth;
//! # use axum::extract::ConnectInfo;
//! # use std::net::SocketAddr;
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .audit(|event| {
//!         if let Some(reason) = event.reason() {
//!             tracing::warn!(target: "audit", %reason, sub = event.subject(), client = ?event.client_addr(), "denied");
//!         }
//!     })
//!     // axum: serve with `into_make_service_with_connect_info::<SocketAddr>()`
//!     .client_addr(|_headers, ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
//!     .build()?;
//! # let _ = auth; Ok::<(), auth_layer::ConfigError>(())
//! ```
//!
//! # Metrics
//!
//! Feature `metrics`: counters and histograms through the
//! [`metrics`](https://docs.rs/metrics) facade, reported to whichever
//! recorder the application installs; call `auth_layer::observe::metrics::describe()`
//! after installing it for the help texts.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `auth_requests_total` | counter | `outcome` (`forbidden` for a guard's 403); `reason` on rejections and refusals |
//! | `auth_verify_duration_seconds` | histogram | none (a full verification: cache misses, or every token with the cache off) |
//! | `auth_token_cache_total` | counter | `result`: `hit`, `miss` |
//! | `auth_revocation_cache_total` | counter | `result`: `hit`, `miss` |
//! | `auth_store_duration_seconds` | histogram | `store` (`revocation`, `session`), `op` |
//! | `auth_store_errors_total` | counter | `store`, `op`, `error` (`timeout`, `unavailable`) |
//! | `auth_jwks_fetches_total` | counter | `result`: `ok`, `error` |
//! | `auth_refresh_total` | counter | `outcome`: `rotated`, `retried`, `duplicate`, `reuse_detected`, or the refusal's code |
//!
//! `cargo run --example metrics` is the `server` example (same `AUTH_*`
//! variables, `GET /protected`) with `GET /metrics` in the Prometheus text
//! format on the same address and an audit log line per decision; its doc
//! comment shows the counters after a short run.

mod audit;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
#[path = "metrics_noop.rs"]
pub(crate) mod metrics;
mod observer;

pub use audit::{AuditEvent, Outcome};
pub(crate) use observer::Observer;
pub use observer::Reporter;
