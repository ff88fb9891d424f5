//! The quickstart: an axum server protected by `JwtAuth`, no services, no
//! configuration. It prints a freshly minted token and two curl commands.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! Listens on 127.0.0.1:3000 (or `AUTH_LISTEN`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_extract::Claims;
use auth_layer::JwtAuth;
use axum::{Json, Router, routing::get};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

async fn protected(claims: Claims) -> Json<Value> {
    Json(json!({ "sub": claims.subject(), "claims": claims.token().all_claims() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A random HMAC secret for this run only: tokens die with the process.
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;

    let auth = JwtAuth::builder().hmac_secret(secret).build()?;
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(auth);

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let exp = now + Duration::from_secs(15 * 60).as_secs();
    let token = encode(
        &Header::default(),
        &json!({ "sub": "alice", "iat": now, "exp": exp }),
        &EncodingKey::from_secret(&secret),
    )?;

    let addr = std::env::var("AUTH_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let url = format!("http://{}/protected", listener.local_addr()?);
    println!("listening on {url}");
    println!();
    println!("a token for subject \"alice\", valid for 15 minutes:");
    println!("{token}");
    println!();
    println!("200, with the claims:");
    println!("  curl -i {url} -H 'Authorization: Bearer {token}'");
    println!("401, no token:");
    println!("  curl -i {url}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
