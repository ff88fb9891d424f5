//! Revocation end to end: two instances (two servers on ephemeral ports,
//! each with its own store connection and cache) sharing one store. A
//! revocation through one is enforced by the other within 100 ms with a
//! 60 s cache TTL; 100 concurrent requests for an uncached subject make one
//! store query. Each test runs against the in-memory store, Redis
//! (`AUTH_TEST_REDIS_URL`) and PostgreSQL (`AUTH_TEST_DATABASE_URL`); the
//! last two show as ignored where their service is not configured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_layer::JwtAuth;
use auth_layer::config::AuthConfig;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::store::{self, AnyStore, MemoryStore};
use auth_tests as common;
use auth_tests::fake_store::FakeStore;
use auth_tests::revocation_contract::ahead;
use auth_tests::servers::RedisCluster;
use auth_tests::services::{database_url, redis_url, unique};
use common::{SECRET, TestServer, build, claims_with, hs256, serve};
use serde_json::json;

/// A new connection to the store of `backend`, as a new instance would open.
async fn connect(backend: &Backend) -> AnyStore {
    match backend {
        Backend::Memory(store) => AnyStore::Memory(store.clone()),
        Backend::Redis => store::connect(&redis_url()).await.unwrap(),
        Backend::Postgres => store::connect(&database_url()).await.unwrap(),
    }
}

/// The store behind the instances of one test.
enum Backend {
    /// One memory store, shared as instances in one process would.
    Memory(MemoryStore),
    Redis,
    Postgres,
}

/// Returns once a revocation through `a` reaches the `b` instance through
/// the store's events (its cache holds answers for a minute, so nothing
/// else makes it refuse): `b`'s subscription is up. Panics after 10 s.
async fn until_heard(a: &RevocationCache, b: &TestServer) {
    let start = Instant::now();
    loop {
        let sub = unique("probe");
        let token = hs256(&claims_with(&sub, json!({})));
        b.bearer(&token).await.assert_ok(&sub);
        a.revoke_user_at("", &sub, ahead(5)).await.unwrap();
        let bumped = Instant::now();
        while bumped.elapsed() < Duration::from_millis(200) {
            if b.bearer(&token).await.status == 401 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no event reached the instance within 10 s"
        );
    }
}

/// One instance: its own store connection and cache (TTL 60 s) behind a server.
async fn instance(store: impl RevocationStore) -> (TestServer, RevocationCache) {
    let cache = RevocationCache::builder(store)
        .ttl(Duration::from_secs(60))
        .build()
        .expect("revocation cache");
    let auth: JwtAuth = build(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .revocation(cache.clone()),
    );
    (serve(auth).await, cache)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_revocation_through_one_instance_is_enforced_by_the_other_within_100_ms() {
    enforced_by_the_other_within_100_ms("memory", Backend::Memory(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_a_revocation_through_one_instance_is_enforced_by_the_other_within_100_ms() {
    enforced_by_the_other_within_100_ms("redis", Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_a_revocation_through_one_instance_is_enforced_by_the_other_within_100_ms() {
    enforced_by_the_other_within_100_ms("postgres", Backend::Postgres).await;
}

async fn enforced_by_the_other_within_100_ms(name: &str, backend: Backend) {
    {
        let (a, cache_a) = instance(connect(&backend).await).await;
        let (b, cache_b) = instance(connect(&backend).await).await;
        until_heard(&cache_a, &b).await;
        until_heard(&cache_b, &a).await;

        // Two issuers whose tokens carry the same `sub` and `sid`.
        let (iss_a, iss_b) = ("https://tenant-a.example", "https://tenant-b.example");
        let sid = unique("sid");
        let cases: [(&str, serde_json::Value); 3] = [
            ("subject", json!({})),
            ("subject, token with ver", json!({"ver": 0})),
            ("session", json!({"sid": sid})),
        ];
        for (what, extra) in cases {
            let sub = unique("alice");
            let of = |iss: &str, more: serde_json::Value| {
                hs256(&common::merge(
                    claims_with(&sub, extra.clone()),
                    common::merge(json!({"iss": iss}), more),
                ))
            };
            let token = of(iss_a, json!({}));
            let twin = of(iss_b, json!({}));
            for server in [&a, &b] {
                // Both cache "not revoked" for 60 s.
                server.bearer(&token).await.assert_ok(&sub);
                server.bearer(&twin).await.assert_ok(&sub);
            }

            let start = Instant::now();
            let revoked_at = common::now() + 2;
            let at = std::time::UNIX_EPOCH + Duration::from_secs(revoked_at.try_into().unwrap());
            match extra.get("sid").and_then(|v| v.as_str()) {
                Some(sid) => cache_a.revoke_session_at(iss_a, sid, at).await.unwrap(),
                None => drop(cache_a.revoke_user_at(iss_a, &sub, at).await.unwrap()),
            }
            loop {
                let reply = b.bearer(&token).await;
                if reply.status == 401 {
                    reply.assert_rejected(401, "token_revoked");
                    eprintln!(
                        "{name}: {what} revocation enforced by the other instance after {:?}",
                        start.elapsed()
                    );
                    break;
                }
                assert_eq!(reply.status, 200, "{name}: {reply:?}");
                assert!(
                    start.elapsed() < Duration::from_millis(100),
                    "{name}: the other instance still accepts a revoked token ({what}) after 100 ms"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            a.bearer(&token).await.assert_rejected(401, "token_revoked");
            for server in [&a, &b] {
                server.bearer(&twin).await.assert_ok(&sub);
            }
            let fresh = of(iss_a, json!({"iat": revoked_at + 1}));
            b.bearer(&fresh).await.assert_ok(&sub);
            eprintln!(
                "{name}: {what}: the same names under another issuer pass, a fresh token passes"
            );
        }
    }
}

/// The `server` example's configuration (`AuthConfig`, as its `AUTH_*`
/// variables give it) with `AUTH_REVOCATION_URL=redis+cluster://…`: two
/// instances subscribed to different nodes, and a revocation written by
/// another process's store handle is enforced by both within 100 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn the_server_example_enforces_revocations_over_a_redis_cluster() {
    let cluster = RedisCluster::start(None).await;
    let ports = cluster.ports();
    let instance = |seeds: Vec<u16>| {
        let url = cluster.url_with(seeds);
        async move {
            let config = AuthConfig::from_lookup(|name| match name {
                "AUTH_HMAC_SECRET" => Some(SECRET.to_owned()),
                "AUTH_REVOCATION_URL" => Some(url.clone()),
                "AUTH_REVOCATION_TTL_SECS" => Some("60".to_owned()),
                _ => None,
            })
            .unwrap();
            serve(build(config.connect().await.unwrap())).await
        }
    };
    let a = instance(vec![ports[0], ports[1]]).await;
    let b = instance(vec![ports[2], ports[1]]).await;
    let admin = RevocationCache::builder(store::connect(&cluster.url()).await.unwrap())
        .build()
        .unwrap();
    until_heard(&admin, &a).await;
    until_heard(&admin, &b).await;

    let sub = unique("alice");
    let token = hs256(&claims_with(&sub, json!({})));
    a.bearer(&token).await.assert_ok(&sub);
    b.bearer(&token).await.assert_ok(&sub);
    let start = Instant::now();
    let revoked_at = common::now() + 2;
    admin.revoke_user_at("", &sub, ahead(2)).await.unwrap();
    for server in [&a, &b] {
        loop {
            let reply = server.bearer(&token).await;
            if reply.status == 401 {
                reply.assert_rejected(401, "token_revoked");
                break;
            }
            assert_eq!(reply.status, 200, "{reply:?}");
            assert!(
                start.elapsed() < Duration::from_millis(100),
                "an instance still accepts a revoked token after 100 ms"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    eprintln!(
        "cluster: both instances refuse the revoked token {:?} after the revocation",
        start.elapsed()
    );
    let fresh = hs256(&claims_with(&sub, json!({"iat": revoked_at + 1})));
    a.bearer(&fresh).await.assert_ok(&sub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_hundred_concurrent_requests_for_an_uncached_subject_make_one_store_query() {
    one_store_query("memory", Backend::Memory(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_a_hundred_concurrent_requests_for_an_uncached_subject_make_one_store_query() {
    one_store_query("redis", Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_a_hundred_concurrent_requests_for_an_uncached_subject_make_one_store_query() {
    one_store_query("postgres", Backend::Postgres).await;
}

async fn one_store_query(name: &str, backend: Backend) {
    {
        let store = FakeStore::wrap(connect(&backend).await);
        let (server, _) = instance(store.clone()).await;
        let server = Arc::new(server);
        let sub = unique("bob");
        let token = Arc::new(hs256(&claims_with(&sub, json!({"ver": 0}))));
        let requests: Vec<_> = (0..100)
            .map(|_| {
                let (server, token) = (Arc::clone(&server), Arc::clone(&token));
                tokio::spawn(async move { server.bearer(&token).await.status })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), 200, "{name}");
        }
        assert_eq!(store.reads(), 1, "{name}: store reads for 100 requests");
    }
}

/// With revocation (always, through `AuthConfig`), a token without `sub` is
/// refused with `missing_claim`, unless `AUTH_REVOCATION_REQUIRE_SUB=false`;
/// `AUTH_REVOCATION_REQUIRE_SID=true` also requires `sid`. A token without
/// `iat` is always refused: no not-before could be applied to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claims_revocation_needs_are_required_unless_configured_otherwise() {
    let server = async |vars: &[(&str, &str)]| {
        let mut vars: std::collections::HashMap<&str, String> =
            vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        vars.insert("AUTH_HMAC_SECRET", SECRET.to_owned());
        let config = AuthConfig::from_lookup(|name| vars.get(name).cloned()).unwrap();
        serve(build(config.connect().await.unwrap())).await
    };
    // Every server starts before the tokens are issued: a memory store
    // refuses tokens issued before it was created (its continuity marker),
    // and a slow machine may start the last server a second later.
    let default = server(&[]).await;
    let cache_only = server(&[("AUTH_REVOCATION_REQUIRE_SUB", "false")]).await;
    let lenient = server(&[
        ("AUTH_REVOCATION_REQUIRE_SUB", "false"),
        ("AUTH_SUBJECT_OPTIONAL", "true"),
    ])
    .await;
    let strict = server(&[("AUTH_REVOCATION_REQUIRE_SID", "true")]).await;
    let no_sub = hs256(&common::merge(
        claims_with("x", json!({})),
        json!({"sub": null}),
    ));
    let no_iat = hs256(&common::merge(
        claims_with("amy", json!({})),
        json!({"iat": null}),
    ));
    let no_sid = hs256(&claims_with("amy", json!({})));
    let with_sid = hs256(&claims_with("amy", json!({"sid": unique("s")})));

    default
        .bearer(&no_sub)
        .await
        .assert_invalid("missing_claim");
    default
        .bearer(&no_iat)
        .await
        .assert_invalid("missing_claim");
    default.bearer(&no_sid).await.assert_ok("amy");

    // The layer requires `sub` (RFC 9068) before the revocation cache does:
    // both opt-outs let a token without one through.
    cache_only
        .bearer(&no_sub)
        .await
        .assert_invalid("missing_claim");
    assert_eq!(lenient.bearer(&no_sub).await.status, 200);
    lenient
        .bearer(&no_iat)
        .await
        .assert_invalid("missing_claim");

    strict.bearer(&no_sid).await.assert_invalid("missing_claim");
    strict.bearer(&with_sid).await.assert_ok("amy");
}
