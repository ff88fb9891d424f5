//! The issuing side's ready answers over real HTTP, in axum and actix-web:
//! the refresh cookie (set at login, rotated, cleared on a refusal, read
//! with a second cookie, another site and no cookie refused) and the
//! single-use token extractor (spent once, for its purpose only).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use actix_web::{App, HttpResponse, web};
use auth_extract::actix::http_response;
use auth_extract::{Purpose, RefreshCookieToken, SessionRejection, SingleUse};
use auth_layer::revocation::RevocationCache;
use auth_layer::session::{
    RefreshCookie, Sessions, SigningKey, SingleUseTokens, TokenIssuer, TokenPair,
};
use auth_layer::store::MemoryStore;
use auth_tests::{Reply, SECRET, TestServer, actix_server, send, serve_router};
use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::json;
use std::time::Duration;

fn sessions() -> Sessions {
    let store = MemoryStore::new();
    let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
        .issuer("https://auth.test")
        .build()
        .unwrap();
    let revocation = RevocationCache::builder(store.clone()).build().unwrap();
    // No retry window: a spent token presented again is reuse at once.
    Sessions::builder(issuer, store, revocation)
        .retry_window(Duration::ZERO)
        .build()
        .unwrap()
}

async fn axum_login(
    State(sessions): State<Sessions>,
) -> Result<http::Response<String>, SessionRejection> {
    let pair = sessions.login("alice", json!({})).await?;
    Ok(RefreshCookie::new().login(&pair))
}

async fn axum_refresh(
    State(sessions): State<Sessions>,
    cookie: RefreshCookieToken,
) -> http::Response<String> {
    cookie.answer(sessions.refresh(cookie.token()).await)
}

async fn actix_login(sessions: web::Data<Sessions>) -> Result<HttpResponse, SessionRejection> {
    let pair = sessions.login("alice", json!({})).await?;
    Ok(http_response(RefreshCookie::new().login(&pair)))
}

async fn actix_refresh(sessions: web::Data<Sessions>, cookie: RefreshCookieToken) -> HttpResponse {
    http_response(cookie.answer(sessions.refresh(cookie.token()).await))
}

/// `name=value` of the `Set-Cookie` of a reply, and whether it clears.
fn set_cookie(reply: &Reply) -> Option<(String, bool)> {
    let value = reply.header("set-cookie")?;
    let pair = value.split(';').next().unwrap().trim().to_owned();
    Some((pair, value.contains("Max-Age=0")))
}

async fn refresh(server: &TestServer, headers: &[(&str, &str)]) -> Reply {
    let mut request = reqwest::Client::new().post(format!("{}/refresh", server.base()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request).await
}

async fn the_cookie_flow(server: &TestServer, what: &str) {
    let login = send(reqwest::Client::new().post(format!("{}/login", server.base()))).await;
    assert_eq!(login.status, 200, "{what}: {login:?}");
    let (first, clears) = set_cookie(&login).unwrap();
    assert!(
        first.starts_with("__Host-refresh_token=") && !clears,
        "{what}"
    );
    let full = login.header("set-cookie").unwrap();
    assert!(
        full.contains("; Path=/;") && full.contains("HttpOnly; Secure; SameSite=Strict"),
        "{what}: {full}"
    );
    assert!(
        login.json().get("refresh_token").is_none(),
        "{what}: only in the cookie"
    );
    assert_eq!(login.header("cache-control"), Some("no-store"), "{what}");

    // Refusals that spend nothing and keep the cookie.
    let other = "__Host-refresh_token=another.token";
    for (case, headers, status, code) in [
        (
            "two different cookies",
            vec![("cookie", format!("{first}; {other}"))],
            400,
            "multiple_tokens",
        ),
        (
            "another site",
            vec![
                ("cookie", first.clone()),
                ("sec-fetch-site", "cross-site".to_owned()),
            ],
            403,
            "cross_origin_request",
        ),
        (
            "another origin",
            vec![
                ("cookie", first.clone()),
                ("origin", "https://evil.example".to_owned()),
            ],
            403,
            "cross_origin_request",
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = refresh(server, &headers).await;
        assert_eq!(
            (reply.status, reply.json()["code"].as_str()),
            (status, Some(code)),
            "{what}: {case}: {reply:?}"
        );
        assert_eq!(set_cookie(&reply), None, "{what}: {case}: the cookie stays");
    }

    // The refresh: a new access token, the rotated cookie.
    let rotated = refresh(
        server,
        &[("cookie", &first), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(rotated.status, 200, "{what}: {rotated:?}");
    assert!(rotated.json()["access_token"].is_string(), "{what}");
    let (second, clears) = set_cookie(&rotated).unwrap();
    assert!(second != first && !clears, "{what}");

    // The spent cookie again: reuse, the session revoked, the cookie cleared.
    let reused = refresh(server, &[("cookie", &first)]).await;
    assert_eq!(
        (reused.status, reused.json()["code"].as_str()),
        (401, Some("refresh_reused")),
        "{what}"
    );
    assert_eq!(
        set_cookie(&reused).map(|(_, clears)| clears),
        Some(true),
        "{what}"
    );
    // The newest cookie of the revoked session: revoked, said precisely.
    let revoked = refresh(server, &[("cookie", &second)]).await;
    assert_eq!(revoked.json()["code"], "session_revoked", "{what}");

    let none = refresh(server, &[]).await;
    assert_eq!(
        (none.status, none.json()["code"].as_str()),
        (401, Some("refresh_invalid")),
        "{what}"
    );
}

#[tokio::test]
async fn the_refresh_cookie_in_axum_and_actix() {
    let app = Router::new()
        .route("/login", post(axum_login))
        .route("/refresh", post(axum_refresh))
        .with_state(sessions());
    the_cookie_flow(&serve_router(app).await, "axum").await;

    let sessions = web::Data::new(sessions());
    let server = actix_server!(move || {
        App::new()
            .app_data(sessions.clone())
            .route("/login", web::post().to(actix_login))
            .route("/refresh", web::post().to(actix_refresh))
    });
    the_cookie_flow(&server, "actix-web").await;
}

#[tokio::test]
async fn a_renamed_cookie_is_read_by_its_name() {
    let cookie = RefreshCookie::named("__Host-rt").unwrap();
    let sessions = sessions();
    let pair: TokenPair = sessions.login("alice", json!({})).await.unwrap();
    let app = Router::new()
        .route("/refresh", post(axum_refresh))
        .layer(Extension(cookie.clone()))
        .with_state(sessions);
    let server = serve_router(app).await;
    let default_name = format!("__Host-refresh_token={}", pair.refresh_token().as_str());
    let refused = refresh(&server, &[("cookie", &default_name)]).await;
    assert_eq!(refused.json()["code"], "refresh_invalid");
    let named = format!("__Host-rt={}", pair.refresh_token().as_str());
    let reply = refresh(&server, &[("cookie", &named)]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(set_cookie(&reply).unwrap().0.starts_with("__Host-rt="));
}

struct VerifyEmail;
impl Purpose for VerifyEmail {
    const NAME: &'static str = "email-verification";
}

struct ResetPassword;
impl Purpose for ResetPassword {
    const NAME: &'static str = "password-reset";
}

async fn axum_verify(link: SingleUse<VerifyEmail>) -> String {
    format!(
        "{} {}",
        link.subject(),
        link.claims()["email"].as_str().unwrap()
    )
}

async fn axum_reset(link: SingleUse<ResetPassword>) -> String {
    link.subject().to_owned()
}

async fn actix_verify(link: SingleUse<VerifyEmail>) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "{} {}",
        link.subject(),
        link.claims()["email"].as_str().unwrap()
    ))
}

async fn the_link_flow(server: &TestServer, tokens: &SingleUseTokens, what: &str) {
    let post = |path: String| async move {
        send(reqwest::Client::new().post(format!("{}{path}", server.base()))).await
    };
    let link = auth_tests::session_scenarios::email_link(tokens);
    // Concurrent clicks: one is served, the rest are told it was used.
    let replies =
        futures_util::future::join_all((0..10).map(|_| post(format!("/verify?token={link}"))))
            .await;
    let served: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(served.len(), 1, "{what}: {replies:?}");
    assert_eq!(served[0].body, "alice alice@example.com", "{what}");
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (
                reply.status,
                reply.json()["error"].as_str(),
                reply.json()["code"].as_str()
            ),
            (400, Some("invalid_grant"), Some("single_use_spent")),
            "{what}"
        );
    }
    let reset = tokens
        .mint("password-reset", "alice", Duration::from_secs(900), ())
        .unwrap();
    for (case, path) in [
        ("another purpose", format!("/verify?token={reset}")),
        ("no token", "/verify".to_owned()),
        ("two tokens", format!("/verify?token={link}&token={reset}")),
    ] {
        let reply = post(path).await;
        assert_eq!(
            (reply.status, reply.json()["code"].as_str()),
            (400, Some("single_use_invalid")),
            "{what}: {case}"
        );
    }
}

#[tokio::test]
async fn single_use_links_in_axum_and_actix() {
    let sessions = sessions();
    let tokens = sessions
        .single_use(["email-verification", "password-reset"])
        .unwrap();
    let app = Router::new()
        .route("/verify", post(axum_verify))
        .route("/reset", post(axum_reset))
        .layer(Extension(tokens.clone()));
    the_link_flow(&serve_router(app).await, &tokens, "axum").await;

    let for_actix = tokens.clone();
    let server = actix_server!(move || {
        App::new()
            .app_data(for_actix.clone())
            .route("/verify", web::post().to(actix_verify))
    });
    the_link_flow(&server, &tokens, "actix-web").await;

    // A route whose purpose the tokens were not made for: a server-side
    // mistake, 500, whatever the token.
    let only_email = sessions.single_use(["email-verification"]).unwrap();
    let app = Router::new()
        .route("/reset", post(axum_reset))
        .layer(Extension(only_email));
    let server = serve_router(app).await;
    let reset = tokens
        .mint("password-reset", "alice", Duration::from_secs(900), ())
        .unwrap();
    let reply =
        send(reqwest::Client::new().post(format!("{}/reset?token={reset}", server.base()))).await;
    assert_eq!(
        (reply.status, reply.json()["error"].as_str()),
        (500, Some("server_error"))
    );
}
