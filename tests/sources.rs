//! Where the token is taken from, through a real server and client: the
//! `Authorization` header, cookies, custom headers and the query string, and
//! the 400 answers for ambiguous requests.

use auth_tests as common;

use auth_layer::JwtAuth;
use auth_layer::source::TokenSource;
use axum::http::HeaderName;
use common::{SECRET, TestServer, build, claims, hmac_auth, hs256, send, serve};

async fn server_with(sources: impl IntoIterator<Item = TokenSource>) -> TestServer {
    serve(build(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .token_sources(sources),
    ))
    .await
}

async fn default_server() -> TestServer {
    serve(hmac_auth()).await
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let server = default_server().await;
    let token = hs256(&claims("alice"));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let reply = send(
            server
                .get("/protected")
                .header("authorization", format!("{scheme} {token}")),
        )
        .await;
        assert_eq!(reply.status, 200, "{scheme}: {reply:?}");
        reply.assert_ok("alice");
    }
}

#[tokio::test]
async fn other_authorization_schemes_count_as_no_token() {
    let server = default_server().await;
    for value in [
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Digest username=\"alice\"",
        "Token abc",
    ] {
        send(server.get("/protected").header("authorization", value))
            .await
            .assert_missing();
    }
    // A Basic header next to a Bearer one does not hide the bearer token.
    let token = hs256(&claims("alice"));
    let reply = send(
        server
            .get("/protected")
            .header("authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")
            .header("authorization", format!("Bearer {token}")),
    )
    .await;
    reply.assert_ok("alice");
}

#[tokio::test]
async fn empty_or_spaced_bearer_token_is_malformed() {
    let server = default_server().await;
    for value in ["Bearer", "Bearer ", "Bearer a b", "Bearer  x.y.z  extra"] {
        let reply = send(server.get("/protected").header("authorization", value)).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("token_malformed"),
            "{value:?}: {reply:?}"
        );
        reply.assert_invalid("token_malformed");
    }
}

#[tokio::test]
async fn cookie_source_works() {
    let server = server_with([TokenSource::cookie("session")]).await;
    let token = hs256(&claims("alice"));
    let cookie = format!("theme=dark; session={token}; lang=en");
    send(server.get("/protected").header("cookie", cookie))
        .await
        .assert_ok("alice");
    let quoted = format!("session=\"{token}\"");
    send(server.get("/protected").header("cookie", quoted))
        .await
        .assert_ok("alice");

    // Another cookie name, or the Authorization header when only cookies are
    // configured, is no token at all.
    let other_name = format!("xsession={token}");
    send(server.get("/protected").header("cookie", other_name))
        .await
        .assert_missing();
    server.bearer(&token).await.assert_missing();

    // A bad token in the cookie is rejected like any other.
    send(
        server
            .get("/protected")
            .header("cookie", "session=not-a-jwt"),
    )
    .await
    .assert_invalid("token_malformed");
}

#[tokio::test]
async fn custom_header_source_works() {
    let server = server_with([TokenSource::Header(HeaderName::from_static(
        "x-access-token",
    ))])
    .await;
    let token = hs256(&claims("alice"));
    send(server.get("/protected").header("x-access-token", &token))
        .await
        .assert_ok("alice");
    send(server.get("/protected").header("X-Access-Token", &token))
        .await
        .assert_ok("alice");
    server.bearer(&token).await.assert_missing();
    send(server.get("/protected").header("x-access-token", "garbage"))
        .await
        .assert_invalid("token_malformed");
}

#[tokio::test]
async fn two_different_tokens_are_a_bad_request() {
    let server = server_with([TokenSource::Bearer, TokenSource::cookie("session")]).await;
    let alice = hs256(&claims("alice"));
    let bob = hs256(&claims("bob"));

    let reply = send(
        server
            .get("/protected")
            .header("authorization", format!("Bearer {alice}"))
            .header("cookie", format!("session={bob}")),
    )
    .await;
    reply.assert_rejected(400, "multiple_tokens");

    // Each source alone works, and the same token in both is not ambiguous.
    server.bearer(&alice).await.assert_ok("alice");
    send(
        server
            .get("/protected")
            .header("cookie", format!("session={bob}")),
    )
    .await
    .assert_ok("bob");
    let same = send(
        server
            .get("/protected")
            .header("authorization", format!("Bearer {alice}"))
            .header("cookie", format!("session={alice}")),
    )
    .await;
    same.assert_ok("alice");

    // Two Authorization headers with different tokens are ambiguous too.
    let reply = send(
        server
            .get("/protected")
            .header("authorization", format!("Bearer {alice}"))
            .header("authorization", format!("Bearer {bob}")),
    )
    .await;
    reply.assert_rejected(400, "multiple_tokens");

    // Even when one of them is garbage: the request is refused as ambiguous, not verified.
    let reply = send(
        server
            .get("/protected")
            .header("authorization", format!("Bearer {alice}"))
            .header("cookie", "session=garbage"),
    )
    .await;
    reply.assert_rejected(400, "multiple_tokens");
}

#[tokio::test]
async fn token_in_the_query_string_is_a_bad_request() {
    let server = default_server().await;
    let token = hs256(&claims("alice"));

    server
        .anonymous(&format!("/protected?access_token={token}"))
        .await
        .assert_rejected(400, "token_in_query");
    server
        .anonymous("/protected?access_token=")
        .await
        .assert_rejected(400, "token_in_query");
    server
        .anonymous("/protected?page=2&access_token=x")
        .await
        .assert_rejected(400, "token_in_query");
    // Even next to a valid Authorization header: the token has leaked into the URL.
    let reply = server
        .bearer_at(&format!("/protected?access_token={token}"), &token)
        .await;
    reply.assert_rejected(400, "token_in_query");

    // Other parameters are harmless.
    server
        .bearer_at("/protected?page=2&token_hint=x", &token)
        .await
        .assert_ok("alice");
}

#[tokio::test]
async fn query_source_works_when_configured() {
    let server = server_with([TokenSource::Bearer, TokenSource::query("access_token")]).await;
    let token = hs256(&claims("alice"));
    server
        .anonymous(&format!("/protected?access_token={token}"))
        .await
        .assert_ok("alice");
    server
        .anonymous(&format!("/protected?x=1&access_token={token}&y=2"))
        .await
        .assert_ok("alice");
    server.bearer(&token).await.assert_ok("alice");

    // A differently named query source still refuses `access_token`.
    let other = server_with([TokenSource::query("ws_token")]).await;
    other
        .anonymous(&format!("/protected?ws_token={token}"))
        .await
        .assert_ok("alice");
    other
        .anonymous(&format!("/protected?access_token={token}"))
        .await
        .assert_rejected(400, "token_in_query");
}
