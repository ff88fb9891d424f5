//! Keys from identity providers: a JWKS URL or OIDC discovery, refreshed in
//! the background (feature `jwks`).
//!
//! A [`KeySource`] fetches the key set when it starts, refreshes it on an
//! interval (the server's `Cache-Control: max-age`, kept within configured
//! bounds), and fetches it again when a token names a `kid` it does not
//! know — at most once per `refetch_window` (default 30 s), so a flood of
//! tokens with made-up kids costs one fetch; those requests get 401
//! `unknown_key` at once instead of waiting. When a fetch fails or returns
//! garbage, the last good key set stays in use (logged). Keys without a
//! usable form (`use: enc`, unsupported types, RSA under 2048 bits, HMAC
//! secrets under 32 bytes) are skipped with a logged reason; the rest of the
//! set is used. Only `https` URLs are fetched, except loopback hosts, unless
//! [`danger_allow_http`](KeySourceBuilder::danger_allow_http) is set.
//!
//! A source found by OIDC discovery verifies the tokens of its issuer only;
//! a JWKS URL signs for the builder's issuer (see [`keys`](crate::keys)).
//!
//! ```no_run
//! use auth_layer::JwtAuth;
//! use auth_layer::jwks::KeySource;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeySource::oidc("https://accounts.example.com").start().await?;
//! let auth = JwtAuth::builder()
//!     .issuer("https://accounts.example.com")
//!     .audience("orders-api")
//!     .key_source(keys)
//!     .build()?;
//! # let _ = auth; Ok(()) }
//! ```

mod builder;
mod fetch;
mod set;
mod source;

pub use builder::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_REFRESH_INTERVAL,
    DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_REFETCH_WINDOW, DEFAULT_REFRESH_INTERVAL,
    KeySourceBuilder, MIN_REFRESH_INTERVAL,
};
pub use fetch::FetchError;
pub use source::KeySource;
