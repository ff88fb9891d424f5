//! The issuing side's HTTP answers, in axum and actix-web alike: a login's
//! and a refresh's token response (RFC 6749 section 5.1) and every refusal
//! as section 5.2 answers it (`invalid_grant` with the project's code, 503
//! `temporarily_unavailable` with `Retry-After` when the store is down),
//! never cached.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use actix_web::{App, HttpResponse, web};
use auth_extract::SessionRejection;
use auth_extract::actix::http_response;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::session::{SessionStore, Sessions, SigningKey, TokenIssuer, TokenResponse};
use auth_layer::store::MemoryStore;
use auth_tests::{SECRET, TestServer, actix_server, send, serve_router};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

fn sessions_over<S: SessionStore + RevocationStore + Clone>(store: S) -> Sessions {
    let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
        .issuer("https://auth.example")
        .build()
        .unwrap();
    let revocation = RevocationCache::builder(store.clone()).build().unwrap();
    Sessions::builder(issuer, store, revocation)
        .retry_window(std::time::Duration::ZERO)
        .build()
        .unwrap()
}

async fn login(
    State(sessions): State<Sessions>,
    subject: String,
) -> Result<Response<String>, SessionRejection> {
    let pair = sessions.login(&subject, json!({})).await?;
    Ok(TokenResponse::with_refresh(&pair).response())
}

async fn refresh(
    State(sessions): State<Sessions>,
    token: String,
) -> Result<Response<String>, SessionRejection> {
    let refreshed = sessions.refresh(&token).await?;
    Ok(TokenResponse::refreshed(&refreshed).response())
}

async fn login_actix(
    sessions: web::Data<Sessions>,
    subject: String,
) -> Result<HttpResponse, SessionRejection> {
    let pair = sessions.login(&subject, json!({})).await?;
    Ok(http_response(TokenResponse::with_refresh(&pair).response()))
}

async fn refresh_actix(
    sessions: web::Data<Sessions>,
    token: String,
) -> Result<HttpResponse, SessionRejection> {
    let refreshed = sessions.refresh(&token).await?;
    Ok(http_response(
        TokenResponse::refreshed(&refreshed).response(),
    ))
}

/// The same sessions behind axum and actix-web: `POST /login` (the body is
/// the subject) and `POST /refresh` (the body is the refresh token).
async fn serve_both(sessions: Sessions) -> (TestServer, TestServer) {
    let axum = serve_router(
        Router::new()
            .route("/login", post(login))
            .route("/refresh", post(refresh))
            .with_state(sessions.clone()),
    )
    .await;
    let actix = actix_server!(move || {
        App::new()
            .app_data(web::Data::new(sessions.clone()))
            .route("/login", web::post().to(login_actix))
            .route("/refresh", web::post().to(refresh_actix))
    });
    (axum, actix)
}

/// `POST path` with `body`: status, JSON body, and the headers that matter.
async fn post_to(server: &TestServer, path: &str, body: &str) -> (u16, Value, [Option<String>; 3]) {
    let url = format!("{}{path}", server.base());
    let reply = send(reqwest::Client::new().post(url).body(body.to_owned())).await;
    let header = |name: &str| reply.header(name).map(str::to_owned);
    let headers = [
        header("cache-control"),
        header("content-type"),
        header("retry-after"),
    ];
    (reply.status, reply.json(), headers)
}

#[tokio::test]
async fn token_responses_and_refusals_are_rfc_6749_s_in_both_frameworks() {
    let store = MemoryStore::new();
    let (axum, actix) = serve_both(sessions_over(store)).await;
    for (name, server) in [("axum", &axum), ("actix", &actix)] {
        let no_store = [
            Some("no-store".to_owned()),
            Some("application/json".to_owned()),
            None,
        ];
        let (status, login, headers) = post_to(server, "/login", "alice").await;
        assert_eq!((status, &headers), (200, &no_store), "{name}: {login}");
        assert_eq!(login["token_type"], "Bearer", "{name}");
        assert_eq!(login["expires_in"], 900, "{name}");
        let first = login["refresh_token"].as_str().unwrap().to_owned();
        assert!(login["access_token"].as_str().unwrap().split('.').count() == 3);

        let (status, rotated, headers) = post_to(server, "/refresh", &first).await;
        assert_eq!((status, &headers), (200, &no_store), "{name}: {rotated}");
        let second = rotated["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(first, second, "{name}: rotated");

        // Refusals: section 5.2's `invalid_grant`, the project's code, no-store.
        for (what, token, code) in [
            ("garbage", "not-a-token".to_owned(), "refresh_invalid"),
            ("the spent token again", first.clone(), "refresh_reused"),
            (
                "the newest, its session revoked",
                second.clone(),
                "session_revoked",
            ),
        ] {
            let (status, body, headers) = post_to(server, "/refresh", &token).await;
            assert_eq!(
                (status, &headers),
                (401, &no_store),
                "{name}: {what}: {body}"
            );
            assert_eq!(body["error"], "invalid_grant", "{name}: {what}");
            assert_eq!(body["code"], code, "{name}: {what}");
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            );
        }
    }
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn a_store_outage_is_503_temporarily_unavailable_with_retry_after() {
    use auth_tests::proxy::{Mode, redis_via_proxy};
    let (mut proxy, store) = redis_via_proxy(&auth_tests::services::redis_url()).await;
    let (axum, actix) = serve_both(sessions_over(store)).await;
    let (_, login, _) = post_to(&axum, "/login", "bob").await;
    let token = login["refresh_token"].as_str().unwrap().to_owned();
    proxy.set(Mode::Down).await;
    for (name, server) in [("axum", &axum), ("actix", &actix)] {
        let (status, body, headers) = post_to(server, "/refresh", &token).await;
        assert_eq!(status, 503, "{name}: {body}");
        assert_eq!(
            headers,
            [
                Some("no-store".to_owned()),
                Some("application/json".to_owned()),
                Some("1".to_owned())
            ],
            "{name}"
        );
        assert_eq!(
            (body["error"].as_str(), body["code"].as_str()),
            (Some("temporarily_unavailable"), Some("store_unavailable")),
            "{name}"
        );
    }
    // The outage spent nothing: the token still rotates once the store is back.
    proxy.set(Mode::Forward).await;
    let (status, body, _) = post_to(&axum, "/refresh", &token).await;
    assert_eq!(status, 200, "{body}");
}

/// `POST /token` with a form body (or another content type).
async fn token_request(
    server: &TestServer,
    content_type: &str,
    form: &str,
) -> (u16, Value, Option<String>) {
    let url = format!("{}/token", server.base());
    let reply = send(
        reqwest::Client::new()
            .post(url)
            .header("content-type", content_type)
            .body(form.to_owned()),
    )
    .await;
    let cache = reply.header("cache-control").map(str::to_owned);
    (reply.status, reply.json(), cache)
}

#[tokio::test]
async fn the_rfc_6749_refresh_endpoint_answers_as_section_5_says() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let store = MemoryStore::new();
    let sessions = sessions_over(store);
    let server =
        serve_router(Router::new().route_service("/token", sessions.token_endpoint())).await;
    let pair = sessions
        .login("alice", json!({ "scope": "orders:read orders:write" }))
        .await
        .unwrap();
    let first = pair.refresh_token().as_str().to_owned();
    let form =
        |token: &str, extra: &str| format!("grant_type=refresh_token&refresh_token={token}{extra}");

    // The request's own errors: nothing is spent.
    for (what, content_type, body, error) in [
        (
            "no grant_type",
            FORM,
            format!("refresh_token={first}"),
            "invalid_request",
        ),
        (
            "another grant",
            FORM,
            format!("grant_type=password&refresh_token={first}"),
            "unsupported_grant_type",
        ),
        (
            "no refresh_token",
            FORM,
            "grant_type=refresh_token".to_owned(),
            "invalid_request",
        ),
        (
            "a repeated parameter",
            FORM,
            form(&first, "&grant_type=refresh_token"),
            "invalid_request",
        ),
        (
            "JSON",
            "application/json",
            format!(r#"{{"grant_type":"refresh_token","refresh_token":"{first}"}}"#),
            "invalid_request",
        ),
        (
            "a scope beyond the grant",
            FORM,
            form(&first, "&scope=orders:read%20admin"),
            "invalid_scope",
        ),
        (
            "a body over 8 KiB",
            FORM,
            form(&first, &format!("&padding={}", "x".repeat(9 * 1024))),
            "invalid_request",
        ),
    ] {
        let (status, body, cache) = token_request(&server, content_type, &body).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{what}: {body}"
        );
        assert_eq!(cache.as_deref(), Some("no-store"), "{what}");
    }

    // A refresh with a scope within the grant: the rotated pair, the access
    // token narrowed to that scope, and `scope` naming it.
    let auth = sessions.jwt_auth().build().unwrap();
    let grants = |body: &Value| {
        let token = auth
            .verifier()
            .verify(body["access_token"].as_str().unwrap())
            .unwrap();
        (
            token.has_scope("orders:read"),
            token.has_scope("orders:write"),
        )
    };
    let (status, body, cache) = token_request(
        &server,
        FORM,
        &form(&first, "&scope=orders:read%20orders:read"),
    )
    .await;
    assert_eq!(
        (status, cache.as_deref()),
        (200, Some("no-store")),
        "{body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(grants(&body), (true, false), "narrowed: {body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    // The session keeps its whole grant: the next refresh without a scope
    // gets all of it again.
    let (status, body, _) = token_request(&server, FORM, &form(&second, "")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("scope").is_none(), "no scope asked, none answered");
    assert_eq!(grants(&body), (true, true), "{body}");

    // Refused grants: 400 `invalid_grant` with the project's code.
    for (what, token, code) in [
        ("garbage", "x.y".to_owned(), "refresh_invalid"),
        ("a spent token", first.clone(), "refresh_reused"),
    ] {
        let (status, body, _) = token_request(&server, FORM, &form(&token, "")).await;
        assert_eq!(
            (status, body["error"].as_str(), body["code"].as_str()),
            (400, Some("invalid_grant"), Some(code)),
            "{what}: {body}"
        );
    }

    // Another method.
    let reply = send(reqwest::Client::new().get(format!("{}/token", server.base()))).await;
    assert_eq!((reply.status, reply.header("allow")), (405, Some("POST")));
}
