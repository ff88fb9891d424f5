//! Keys from identity providers: a JWKS URL or OIDC discovery, refreshed in
//! the background (feature `jwks`).
//!
//! A [`KeySource`] fetches the key set when it starts, refreshes it on an
//! interval (the server's `Cache-Control: max-age`, kept within configured
//! bounds), and fetches it again when a token names a `kid` it does not
//! know. That request waits for the fetch (at most `unknown_kid_wait`,
//! default 1 s), so a key published a moment ago verifies on its first use;
//! requests arriving while the fetch runs wait for the same one. Fetches are
//! bounded: a kid that a fetch did not find causes no other fetch for
//! `refetch_window` (default 30 s), and kids never looked for cause at most
//! one fetch per `refetch_min_interval` (default 5 s). Outside a fetch, a
//! token whose kid may not cause one gets 401 `unknown_key` at once. So a
//! flood of made-up kids costs one fetch per interval, and cannot keep a
//! newly published key unknown for longer than that. When a fetch fails or returns
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
    DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_REFETCH_MIN_INTERVAL, DEFAULT_REFETCH_WINDOW,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_UNKNOWN_KID_WAIT, KeySourceBuilder, MIN_REFRESH_INTERVAL,
};
pub use fetch::FetchError;
pub use source::KeySource;
pub(crate) use source::PendingFetch;
