//! Errors: [`AuthError`] with its [`ErrorKind`] when a request is not
//! authenticated, [`ConfigError`] when a configuration is refused.

mod auth;
mod config;
mod kind;

pub use auth::AuthError;
pub use config::ConfigError;
pub use kind::ErrorKind;
