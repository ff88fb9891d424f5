//! `JwtAuth::builder()`: keys, algorithms, claim rules, token sources.
//!
//! Every inconsistency is reported by [`JwtAuthBuilder::build`] with a
//! [`ConfigError`] that names the value and the fix; nothing panics later.
//! The settings themselves are not generic: the claims type only marks the
//! builder, so `claims::<C>()` moves them whole.
//!
//! ```
//! use std::time::Duration;
//! use auth_layer::{ConfigError, JwtAuth};
//! use auth_layer::keys::Algorithm;
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .algorithms([Algorithm::HS256])
//!     .issuer("https://issuer.example")
//!     .audience("orders-api")
//!     .leeway(Duration::from_secs(30))
//!     .required_claims(["sub"])
//!     .token_type("at+jwt")
//!     .build();
//! assert!(auth.is_ok());
//!
//! // An algorithm without a key of its family is refused at build time.
//! let err = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .algorithms([Algorithm::RS256])
//!     .build()
//!     .unwrap_err();
//! assert!(matches!(err, ConfigError::AlgorithmWithoutKey { .. }));
//! ```

mod build;
mod requests;
mod settings;
mod verification;

pub use build::JwtAuthBuilder;
