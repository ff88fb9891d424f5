//! Your own tokens in one small axum app: log in, refresh through a cookie
//! or the RFC 6749 token endpoint, a route that needs a scope, and log out
//! everywhere. The README shows this file as it is.
//!
//! ```sh
//! AUTH_HMAC_SECRET=$(openssl rand -hex 32) cargo run -p examples --example sessions_app
//! ```
//!
//! | route | what |
//! |---|---|
//! | `POST /login` | JSON `{"username","password"}` (demo user `alice` / `alice-password`) → 200 `{"access_token","token_type":"Bearer","expires_in"}` and `Set-Cookie: __Host-refresh_token=…; Path=/; Max-Age=…; HttpOnly; Secure; SameSite=Strict`; a wrong password is 401 |
//! | `POST /refresh` | the cookie → the same JSON and a rotated cookie; a refusal is 401 `{"error":"invalid_grant","code":…}` and clears the cookie |
//! | `POST /token` | `grant_type=refresh_token&refresh_token=…[&scope=…]` (form, RFC 6749 section 6) → `{"access_token","token_type","expires_in","refresh_token"}`; refusals 400 `invalid_grant` (with `code`), `invalid_scope`, … |
//! | `POST /orders` | a bearer token with the scope `orders:write` → 200 `{"created_by":…}`; without the scope 403 `insufficient_scope` |
//! | `POST /logout-all` | a bearer token → ends every session of its user: 200 `{"sessions_ended":n}`; the user's access tokens get 401 `token_revoked` from then on |
//!
//! Listens on 127.0.0.1:3000 (or `AUTH_LISTEN`). Sessions live in memory,
//! for this process only.

use auth_extract::{Claims, RefreshCookieToken, SessionRejection};
use auth_layer::session::{RefreshCookie, Sessions, SigningKey, TokenIssuer};
use auth_layer::{require::Require, revocation::RevocationCache, store::MemoryStore};
use axum::http::{Response, StatusCode};
use axum::{Json, Router, extract::State, response::ErrorResponse, routing::post};
use serde_json::{Value, json};

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(
    State(sessions): State<Sessions>,
    Json(form): Json<Credentials>,
) -> Result<Response<String>, ErrorResponse> {
    // Demo only: check the password against your user store.
    if (form.username.as_str(), form.password.as_str()) != ("alice", "alice-password") {
        return Err((StatusCode::UNAUTHORIZED, "wrong username or password").into());
    }
    let claims = json!({ "scope": "orders:read orders:write" });
    let pair = sessions
        .login(&form.username, claims)
        .await
        .map_err(SessionRejection::from)?;
    Ok(RefreshCookie::new().login(&pair)) // the access token as JSON, the refresh token in the cookie
}

async fn refresh(State(sessions): State<Sessions>, cookie: RefreshCookieToken) -> Response<String> {
    cookie.answer(sessions.refresh(cookie.token()).await) // a rotated cookie, or the refusal
}

async fn create_order(claims: Claims) -> Json<Value> {
    Json(json!({ "created_by": claims.subject() }))
}

async fn logout_all(
    State(sessions): State<Sessions>,
    claims: Claims,
) -> Result<Json<Value>, SessionRejection> {
    let ended = sessions.logout_all(claims.subject()).await?;
    Ok(Json(json!({ "sessions_ended": ended })))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret =
        std::env::var("AUTH_HMAC_SECRET").map_err(|_| "set AUTH_HMAC_SECRET (32 bytes or more)")?;
    // One store for sessions and revocation; `auth_layer::store::connect("redis://…")` swaps in Redis.
    let store = MemoryStore::new();
    let issuer = TokenIssuer::builder(SigningKey::hmac(secret)?)
        .issuer("https://auth.example")
        .audience("orders-api")
        .build()?;
    let revocation = RevocationCache::builder(store.clone()).build()?;
    let sessions = Sessions::builder(issuer, store, revocation).build()?;
    // The layer, wired from the sessions: key, issuer, audience, token type, revocation.
    let auth = sessions.jwt_auth().build()?;
    let write_orders = Require::scope(&auth, "orders:write");

    let app = Router::new()
        .route("/orders", post(create_order).route_layer(write_orders))
        .route("/logout-all", post(logout_all))
        .layer(auth) // the routes above need an access token, the ones below do not
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route_service("/token", sessions.token_endpoint())
        .with_state(sessions);

    let addr = std::env::var("AUTH_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
