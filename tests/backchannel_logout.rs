//! OpenID Connect Back-Channel Logout end to end: two instances of a
//! service share one store; the provider posts a logout token to one, and
//! both refuse the tokens it revoked within 100 ms, while tokens of another
//! issuer with the same `sub`/`sid` and tokens issued after the logout
//! pass. A logout token replayed at the other instance is refused there:
//! its `jti` is remembered in the store. Memory, Redis and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::time::{Duration, Instant};

use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use auth_layer::keys::{Key, TrustedIssuer};
use auth_layer::logout::BackChannelLogout;
use auth_layer::response::JsonResponder;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::store::{self, AnyStore, MemoryStore};
use auth_tests::services::{database_url, redis_url, unique};
use auth_tests::{SECRET, TestServer, claims_with, hs256, merge, serve_router};
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

/// The OpenID provider whose logouts the service receives.
const OP: &str = "https://op.example";
/// Another trusted issuer whose tokens carry the same names.
const OTHER: &str = "https://other.example";
const CLIENT: &str = "orders-service";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// One instance: its own store connection and cache (TTL 60 s), the layer
/// on `/protected`, the receiver on `/backchannel-logout` outside it.
async fn instance(store: AnyStore) -> TestServer {
    let (auth, logout) = layer_and_receiver(store);
    serve_router(
        Router::new()
            .route("/protected", get(auth_tests::whoami))
            .layer(auth)
            .route_service("/backchannel-logout", logout),
    )
    .await
}

/// The layer (trusting [`OP`] and [`OTHER`], revocation cached for 60 s)
/// and the receiver of [`OP`]'s logouts for [`CLIENT`], on `store`.
fn layer_and_receiver(
    store: impl RevocationStore,
) -> (JwtAuth<DefaultClaims, JsonResponder>, BackChannelLogout) {
    let cache = RevocationCache::builder(store)
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let auth = JwtAuth::builder()
        .trusted_issuer(TrustedIssuer::new(OP).key(Key::hmac(SECRET).unwrap()))
        .trusted_issuer(TrustedIssuer::new(OTHER).key(Key::hmac(SECRET).unwrap()))
        .revocation(cache.clone())
        .build()
        .unwrap()
        .json_errors();
    let logout = BackChannelLogout::builder(&auth)
        .issuer(OP)
        .client_id(CLIENT)
        .build(cache)
        .unwrap();
    (auth, logout)
}

/// A logout token of the provider, with `extra` claims (`sid`, `sub`).
fn logout_token(extra: Value) -> String {
    hs256(&merge(
        json!({
            "iss": OP, "aud": CLIENT, "iat": auth_tests::now(), "jti": unique("logout"),
            "events": { EVENT: {} },
        }),
        extra,
    ))
}

/// Posts `token` as the provider does; the status and body.
async fn post_logout(server: &TestServer, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/backchannel-logout", server.base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("logout_token={token}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Waits (at most 100 ms) until `server` refuses `token` as revoked.
async fn refused_within_100_ms(server: &TestServer, token: &str, what: &str) -> Duration {
    let start = Instant::now();
    loop {
        let reply = server.bearer(token).await;
        if reply.status == 401 {
            reply.assert_rejected(401, "token_revoked");
            return start.elapsed();
        }
        assert_eq!(reply.status, 200, "{what}: {reply:?}");
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "{what}: still accepted 100 ms after the logout"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn logout_across_instances(name: &str, connect: impl AsyncFn() -> AnyStore) {
    let a = instance(connect().await).await;
    let b = instance(connect().await).await;
    let access = |iss: &str, sub: &str, sid: &str, iat: i64| {
        hs256(&claims_with(
            sub,
            json!({"iss": iss, "sid": sid, "iat": iat}),
        ))
    };
    // The provider's clock is ahead of ours by a second, so that the
    // tokens issued "after the logout" are after it in its own clock.
    let before = auth_tests::now();

    // By session: the token naming `sid` revokes that session only.
    let (sub, sid) = (unique("alice"), unique("sid"));
    let in_session = access(OP, &sub, &sid, before);
    let other_session = access(OP, &sub, &unique("sid"), before);
    let twin = access(OTHER, &sub, &sid, before);
    for server in [&a, &b] {
        for token in [&in_session, &other_session, &twin] {
            server.bearer(token).await.assert_ok(&sub); // cached for 60 s
        }
    }
    // Heard by b through the store's events: retry with fresh logouts until
    // b's subscription is up (a real provider would have just one).
    let start = Instant::now();
    let token = loop {
        let token = logout_token(json!({"sid": sid, "sub": sub, "iat": before + 1}));
        assert_eq!(post_logout(&a, &token).await, (200, String::new()));
        if tokio::time::timeout(Duration::from_millis(200), async {
            while b.bearer(&in_session).await.status == 200 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .is_ok()
        {
            break token;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name}: b never heard"
        );
    };
    b.bearer(&in_session)
        .await
        .assert_rejected(401, "token_revoked");
    a.bearer(&in_session)
        .await
        .assert_rejected(401, "token_revoked");
    for server in [&a, &b] {
        server.bearer(&other_session).await.assert_ok(&sub);
        server.bearer(&twin).await.assert_ok(&sub);
    }
    assert_eq!(
        post_logout(&b, &token).await,
        (400, r#"{"error":"invalid_request"}"#.to_owned()),
        "{name}: the same logout token replayed at the other instance"
    );

    // By subject: every session of it, of that issuer only.
    let sub = unique("bob");
    let first = access(OP, &sub, &unique("sid"), before);
    let second = access(OP, &sub, &unique("sid"), before);
    let twin = access(OTHER, &sub, &unique("sid"), before);
    for server in [&a, &b] {
        for token in [&first, &second, &twin] {
            server.bearer(token).await.assert_ok(&sub);
        }
    }
    let logout = logout_token(json!({"sub": sub, "iat": before + 1}));
    assert_eq!(post_logout(&a, &logout).await.0, 200);
    let took = refused_within_100_ms(&b, &first, name).await;
    refused_within_100_ms(&b, &second, name).await;
    b.bearer(&twin).await.assert_ok(&sub);
    let after = access(OP, &sub, &unique("sid"), before + 2);
    b.bearer(&after).await.assert_ok(&sub);
    eprintln!(
        "{name}: a back-channel logout through one instance refused by the other after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_logout_reaches_every_instance_and_only_its_issuer() {
    let store = MemoryStore::new();
    logout_across_instances("memory", async || AnyStore::Memory(store.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_a_logout_reaches_every_instance_and_only_its_issuer() {
    logout_across_instances("redis", async || {
        store::connect(&redis_url()).await.unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_a_logout_reaches_every_instance_and_only_its_issuer() {
    logout_across_instances("postgres", async || {
        store::connect(&database_url()).await.unwrap()
    })
    .await;
}

/// actix-web: the same receiver through `auth_extract::actix::backchannel_logout`,
/// outside the middleware; same answers, same revocation.
#[actix_web::test]
async fn actix_web_receives_logouts_outside_the_middleware() {
    use actix_web::{App, test, web};
    use auth_extract::actix::{JwtAuthMiddleware, backchannel_logout};

    let (auth, logout) = layer_and_receiver(MemoryStore::new());
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(logout))
            .route("/backchannel-logout", web::post().to(backchannel_logout))
            .service(
                web::scope("")
                    .wrap(JwtAuthMiddleware::new(auth.clone()))
                    .route("/protected", web::get().to(|| async { "ok" })),
            ),
    )
    .await;
    let (sub, sid) = (unique("alice"), unique("sid"));
    let access = hs256(&claims_with(&sub, json!({"iss": OP, "sid": sid})));
    let get = || {
        test::TestRequest::get()
            .uri("/protected")
            .insert_header(("authorization", format!("Bearer {access}")))
            .to_request()
    };
    assert_eq!(test::call_service(&app, get()).await.status(), 200);
    let post = |body: String| {
        test::TestRequest::post()
            .uri("/backchannel-logout")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body)
            .to_request()
    };
    let res = test::call_service(&app, post("logout_token=not.a.token".into())).await;
    assert_eq!(res.status(), 400);
    assert_eq!(test::read_body(res).await, r#"{"error":"invalid_request"}"#);
    assert_eq!(
        test::call_service(&app, get()).await.status(),
        200,
        "nothing changed"
    );

    let token = logout_token(json!({"sid": sid}));
    let res = test::call_service(&app, post(format!("logout_token={token}"))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    assert_eq!(test::call_service(&app, get()).await.status(), 401);
}
