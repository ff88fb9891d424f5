//! The axum extractors through a `Router`, with `tower::ServiceExt::oneshot`.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use auth_extract::Claims;
use auth_layer::JwtAuth;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Deserialize;
use tower::ServiceExt;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";

#[derive(Deserialize)]
struct Custom {
    sub: String,
    role: String,
}

fn token() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let claims = serde_json::json!({"sub": "alice", "role": "admin", "exp": exp});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn auth() -> JwtAuth {
    JwtAuth::builder().hmac_secret(SECRET).build().unwrap()
}

async fn get_status(app: Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder().uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn whoami(claims: Claims) -> String {
    claims.subject().to_owned()
}

async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "guest".to_owned(), |c| c.token().subject().to_owned())
}

#[tokio::test]
async fn claims_reach_the_handler() {
    let app = Router::new().route("/", get(whoami)).layer(auth());
    assert_eq!(
        get_status(app, "/", Some(&token())).await,
        (StatusCode::OK, "alice".to_owned())
    );
}

#[tokio::test]
async fn custom_claims_type_is_deserialised_by_the_layer() {
    let custom = JwtAuth::builder()
        .hmac_secret(SECRET)
        .claims::<Custom>()
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|c: Claims<Custom>| async move { format!("{} {}", c.sub, c.role) }),
        )
        .layer(custom);
    assert_eq!(
        get_status(app, "/", Some(&token())).await,
        (StatusCode::OK, "alice admin".to_owned())
    );
}

#[tokio::test]
async fn a_route_without_the_layer_answers_500() {
    let app = Router::new()
        .route("/open", get(whoami))
        .route("/closed", get(whoami).layer(auth()));
    assert_eq!(
        get_status(app.clone(), "/open", Some(&token())).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        get_status(app, "/closed", Some(&token())).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_claims_type_the_layer_did_not_produce_answers_500() {
    let app = Router::new()
        .route("/", get(|c: Claims<Custom>| async move { c.role.clone() }))
        .layer(auth());
    assert_eq!(
        get_status(app, "/", Some(&token())).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn option_is_none_only_without_a_token() {
    let optional = JwtAuth::builder()
        .hmac_secret(SECRET)
        .optional()
        .build()
        .unwrap();
    let app = Router::new().route("/", get(maybe)).layer(optional);
    assert_eq!(
        get_status(app.clone(), "/", None).await,
        (StatusCode::OK, "guest".to_owned())
    );
    assert_eq!(
        get_status(app.clone(), "/", Some(&token())).await,
        (StatusCode::OK, "alice".to_owned())
    );
    assert_eq!(
        get_status(app, "/", Some("bad")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn option_without_any_layer_is_a_server_error_not_a_guest() {
    let app = Router::new().route("/", get(maybe));
    assert_eq!(
        get_status(app, "/", None).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn required_claims_behind_an_optional_layer_answer_401() {
    let optional = JwtAuth::builder()
        .hmac_secret(SECRET)
        .optional()
        .build()
        .unwrap();
    let app = Router::new().route("/", get(whoami)).layer(optional);
    assert_eq!(get_status(app, "/", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn route_layer_rejects_before_routing_only_matched_routes() {
    let app = Router::new().route("/", get(whoami)).route_layer(auth());
    assert_eq!(
        get_status(app.clone(), "/", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_status(app, "/missing", None).await.0,
        StatusCode::NOT_FOUND
    );
}
