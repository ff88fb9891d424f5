//! What a client sees through a real server and client for what is not a
//! verification rule: the bare challenge without a token, the bodies of
//! the default (JSON) and empty responders, the configured realm, and custom claims reaching
//! the handler. Every verification rule (algorithms, keys, structure,
//! claims, with their leeways) is a row of the `Verifier` table in
//! `auth-layer/tests/verifier.rs`; the HTTP answer of every reason is the
//! rejection matrix's (`common/matrix.rs`), shared by the axum and actix-web
//! tests.

use auth_tests as common;

use auth_layer::JwtAuth;
use axum::Router;
use axum::routing::get;
use common::{SECRET, claims_with, hmac_auth, hs256, serve, serve_router, whoami};
use serde_json::json;

#[tokio::test]
async fn custom_claims_reach_the_handler() {
    let server = serve(hmac_auth()).await;
    let token = hs256(&claims_with(
        "alice",
        json!({ "scope": "orders:read", "tenant": { "id": 7 } }),
    ));
    let body = server.bearer(&token).await.assert_ok("alice");
    assert_eq!(body["claims"]["scope"], "orders:read");
    assert_eq!(body["claims"]["tenant"]["id"], 7);
}

#[tokio::test]
async fn missing_token_is_401_with_a_bare_challenge() {
    let server = serve(hmac_auth()).await;
    let reply = server.anonymous("/protected").await;
    reply.assert_missing();
    let body = reply.json();
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn empty_error_bodies_keep_the_challenge_and_drop_the_body() {
    let app = Router::new()
        .route("/protected", get(whoami))
        .layer(hmac_auth().empty_error_bodies());
    let server = serve_router(app).await;
    let missing = server.anonymous("/protected").await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.www_authenticate.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
    assert_eq!(missing.body, "");
    let bad = server.bearer("not-a-jwt").await;
    assert_eq!(bad.status, 401);
    let challenge = bad.www_authenticate.unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="invalid_token", error_description=""#),
        "{challenge}"
    );
    assert_eq!(bad.body, "");
}

#[tokio::test]
async fn the_realm_is_configurable() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .realm("orders")
        .build()
        .unwrap();
    let server = serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let reply = server.anonymous("/protected").await;
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer realm="orders""#)
    );
}
