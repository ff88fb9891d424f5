//! `GET /protected`, configured entirely from `AUTH_*` variables, so it can
//! be pointed at your own keys:
//!
//! ```sh
//! AUTH_PUBLIC_KEY_FILE=issuer.pub.pem AUTH_ISSUER=https://issuer.example \
//!   AUTH_AUDIENCE=orders-api cargo run --example server
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_LISTEN` | address to listen on (default `127.0.0.1:3000`) |
//! | `AUTH_HMAC_SECRET`, `AUTH_PUBLIC_KEY_FILE` | keys (at least one) |
//! | `AUTH_ALGORITHMS`, `AUTH_ISSUER`, `AUTH_AUDIENCE` | comma lists |
//! | `AUTH_LEEWAY_SECS`, `AUTH_TOKEN_TYPE` | claim rules |
//! | `AUTH_REVOCATION_URL` | revocation store: `memory:` (default), `redis://…`, `postgres://…` |
//! | `AUTH_REVOCATION_TTL_SECS` | revocation cache TTL (default 30): the longest a revoked token can pass when an event is lost |
//!
//! A malformed variable stops the server at start with a message naming it.

use std::process::ExitCode;

use auth_extract::Claims;
use std::time::Duration;

use auth_layer::revocation::RevocationCache;
use auth_layer::{AuthConfig, JwtAuth};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

async fn protected(claims: Claims) -> Json<Value> {
    Json(json!({ "sub": claims.sub, "claims": *claims }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,auth_layer=debug".into()),
        )
        .init();

    let auth = match configure().await {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = std::env::var("AUTH_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("AUTH_LISTEN: cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(auth);
    match listener.local_addr() {
        Ok(local) => println!("listening on http://{local}/protected"),
        Err(e) => eprintln!("listening (address unknown: {e})"),
    }
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
    {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The layer from the `AUTH_*` variables, with the revocation store they name.
async fn configure() -> Result<JwtAuth<auth_layer::DefaultClaims, auth_layer::JsonResponder>, String>
{
    let config = AuthConfig::from_env().map_err(|e| e.to_string())?;
    let url = std::env::var("AUTH_REVOCATION_URL").unwrap_or_else(|_| "memory:".to_owned());
    let ttl = match std::env::var("AUTH_REVOCATION_TTL_SECS") {
        Err(_) => auth_layer::revocation::DEFAULT_TTL,
        Ok(v) => Duration::from_secs(v.trim().parse().map_err(|_| {
            format!("AUTH_REVOCATION_TTL_SECS: {v:?} is not a whole number of seconds")
        })?),
    };
    let store = auth_layer::revocation::connect(&url)
        .await
        .map_err(|e| format!("AUTH_REVOCATION_URL: {e}"))?;
    let revocation = RevocationCache::builder(store)
        .ttl(ttl)
        .build()
        .map_err(|e| format!("AUTH_REVOCATION_TTL_SECS: {e}"))?;
    let auth = JwtAuth::builder()
        .config(&config)
        .revocation(revocation)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(auth.json_errors())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
