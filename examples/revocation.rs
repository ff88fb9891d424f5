//! Two instances of a service sharing one Redis: a user of an identity
//! provider is logged out everywhere through the first, and the second
//! answers 401 `token_revoked` to the user's old token within milliseconds,
//! long before its 60 s cache TTL, while a token issued afterwards passes.
//! Printed step by step.
//!
//! ```sh
//! cargo run --example revocation                       # Redis at 127.0.0.1:6379
//! AUTH_REVOCATION_URL=postgres://postgres@127.0.0.1/test cargo run --example revocation
//! ```

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_extract::Claims;
use auth_layer::JwtAuth;
use auth_layer::revocation::RevocationCache;
use axum::{Router, routing::get};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

const SECRET: &str = "revocation-example-secret-of-32-bytes!";
const ISSUER: &str = "https://idp.example";

/// One instance: its own store connection, its own cache, its own server.
async fn instance(url: &str) -> Result<(String, RevocationCache), Box<dyn std::error::Error>> {
    let store = auth_layer::store::connect(url).await?;
    let revocation = RevocationCache::builder(store)
        .ttl(Duration::from_secs(60))
        .build()?;
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .revocation(revocation.clone())
        .build()?;
    let app = Router::new()
        .route(
            "/protected",
            get(|c: Claims| async move { format!("hello {}", c.subject()) }),
        )
        .layer(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/protected", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, revocation))
}

async fn call(client: &reqwest::Client, url: &str, token: &str) -> Result<String, reqwest::Error> {
    let res = client.get(url).bearer_auth(token).send().await?;
    let status = res.status();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" ({v})"))
        .unwrap_or_default();
    Ok(format!("{status}{challenge}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store_url = std::env::var("AUTH_REVOCATION_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    println!("1. two instances, each with its own connection to {store_url} and a 60 s cache");
    let (a, revocation_a) = instance(&store_url)
        .await
        .map_err(|e| format!("AUTH_REVOCATION_URL: {e}"))?;
    let (b, _) = instance(&store_url).await?;
    println!("   instance A: {a}\n   instance B: {b}");

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let subject = format!("alice-{now}");
    // A token as an identity provider issues it: no `ver`, just `iat`.
    let mint = |iat: u64| {
        encode(
            &Header::default(),
            &json!({"iss": ISSUER, "sub": subject, "iat": iat, "exp": iat + 900}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
    };
    let token = mint(now)?;
    let client = reqwest::Client::new();
    println!("2. a token of {ISSUER} for {subject}, issued at {now}");
    println!("   A answers {}", call(&client, &a, &token).await?);
    println!(
        "   B answers {} (B now caches \"not revoked\" for 60 s)",
        call(&client, &b, &token).await?
    );

    println!("3. \"log out everywhere\" through instance A");
    let start = Instant::now();
    let state = revocation_a.revoke_user(ISSUER, &subject).await?;
    let not_before = state.not_before.unwrap_or_default();
    println!(
        "   tokens of {subject} issued at or before {not_before} are refused; \
         the store publishes the revocation"
    );

    println!("4. instance B, which never saw the revocation call:");
    loop {
        let answer = call(&client, &b, &token).await?;
        if answer.starts_with("401") {
            println!("   B answers {answer}");
            println!("   after {:?} (cache TTL 60 s)", start.elapsed());
            break;
        }
        if start.elapsed() > Duration::from_secs(5) {
            return Err("B still accepts the token after 5 s: are events reaching it?".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    println!("   A answers {}", call(&client, &a, &token).await?);

    let fresh = mint(u64::try_from(not_before)? + 1)?;
    println!("5. a token issued after the revocation (the user signed in again):");
    println!("   B answers {}", call(&client, &b, &fresh).await?);
    Ok(())
}
