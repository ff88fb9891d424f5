//! What the layer decides, made visible: a `tracing` event per decision, an
//! audit hook, and (feature `metrics`) counters and histograms.
//!
//! Every request ends in one [`Outcome`]: allowed, anonymous (optional mode,
//! no token) or rejected with an [`ErrorKind`](crate::ErrorKind); a guard
//! after the layer that refuses the token (403, a missing scope or role)
//! reports it once more as forbidden, through the [`Reporter`] the layer
//! leaves in the request. Each decision emits a
//! `DEBUG` event on the `auth_layer` target with `outcome`, `reason` and
//! `status`; the subject and token id are added only when the layer was
//! built with [`log_subjects`](crate::JwtAuthBuilder::log_subjects). The
//! token itself is never recorded, here or anywhere in the crate.
//!
//! The audit hook ([`JwtAuthBuilder::audit`](crate::JwtAuthBuilder::audit))
//! receives every decision as an [`AuditEvent`], with the verified subject,
//! the token id and the client address when known, for security logging:
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
