//! What the `server`, `actix`, `grpc` and `gateway` examples share: the
//! layer configured from the `AUTH_*` variables, with the revocation store
//! they name, so every example answers alike for the same environment.

use auth_layer::config::AuthConfig;
use auth_layer::{JwtAuth, JwtAuthBuilder};
use serde::de::DeserializeOwned;

/// A listener on [`listen_address`]; `None` (the reason printed) when the
/// address cannot be bound.
#[allow(dead_code, reason = "the actix and gRPC examples bind their own way")]
pub(crate) async fn bind() -> Option<tokio::net::TcpListener> {
    let addr = listen_address();
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => Some(listener),
        Err(e) => {
            eprintln!("AUTH_LISTEN: cannot listen on {addr}: {e}");
            None
        }
    }
}

/// The address to listen on: `AUTH_LISTEN`, default `127.0.0.1:3000`.
pub(crate) fn listen_address() -> String {
    std::env::var("AUTH_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
}

/// The layer from the `AUTH_*` variables: static keys, key sources
/// (`AUTH_JWKS_URL`, `AUTH_OIDC_ISSUER`), claim rules, and the revocation
/// store of `AUTH_REVOCATION_URL` (default `memory:`) behind a cache whose
/// TTL is `AUTH_REVOCATION_TTL_SECS` (default 30). The error names the
/// variable.
#[allow(dead_code, reason = "the metrics example builds on `builder` instead")]
pub(crate) async fn configure<C>() -> Result<JwtAuth<C>, String>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    builder::<C>().await?.build().map_err(|e| e.to_string())
}

/// [`configure`], before `build()`: for examples that add to it.
#[allow(dead_code, reason = "not every example adds to the configuration")]
pub(crate) async fn builder<C>() -> Result<JwtAuthBuilder<C>, String>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let config = AuthConfig::from_env().map_err(|e| e.to_string())?;
    let builder = config.connect().await.map_err(|e| e.to_string())?;
    Ok(builder.claims::<C>())
}
