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
//!
//! A malformed variable stops the server at start with a message naming it.

use std::process::ExitCode;

use auth_extract::Claims;
use auth_layer::JwtAuth;
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

    let auth = match JwtAuth::from_env() {
        Ok(auth) => auth.json_errors(),
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

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
