//! Losing the store never un-revokes: a server (configured as the `server`
//! example is, from `AUTH_*` variables) keeps refusing a revoked token after
//! its Redis is flushed or its PostgreSQL tables are emptied under it. The
//! store starts a new continuity marker; every token issued before it is
//! refused and the loss is logged at ERROR; tokens issued afterwards pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::time::{Duration, Instant};

use auth_layer::config::AuthConfig;
use auth_layer::revocation::RevocationCache;
use auth_layer::store::{self, PostgresStore};
use auth_tests::revocation_contract::ahead;
use auth_tests::servers::RedisServer;
use auth_tests::services::{database_url, fresh_postgres_schema, unique};
use auth_tests::{SECRET, TestServer, build, claims_with, hs256, serve};
use serde_json::json;

const ISS: &str = "https://idp.example";

/// A server as the `server` example builds it, on the store at `url`, with
/// a one-second revocation cache TTL.
async fn server(url: &str) -> TestServer {
    let url = url.to_owned();
    let config = AuthConfig::from_lookup(|name| match name {
        "AUTH_HMAC_SECRET" => Some(SECRET.to_owned()),
        "AUTH_REVOCATION_URL" => Some(url.clone()),
        "AUTH_REVOCATION_TTL_SECS" => Some("1".to_owned()),
        _ => None,
    })
    .unwrap();
    serve(build(config.connect().await.unwrap())).await
}

/// Runs the scenario against a server on the store `url`; `lose` empties
/// the store under it.
async fn losing_the_store_never_unrevokes(name: &str, url: &str, lose: impl AsyncFn()) {
    let logs = auth_tests::logs::logs();
    let server = server(url).await;
    let admin = RevocationCache::builder(store::connect(url).await.unwrap())
        .build()
        .unwrap();
    let token = |sub: &str| hs256(&claims_with(sub, json!({"iss": ISS})));

    let revoked = unique("revoked");
    let revoked_token = token(&revoked);
    // Every token of it issued within the next minute is refused.
    admin
        .revoke_user_at(ISS, &revoked, ahead(60))
        .await
        .unwrap();
    let valid = unique("valid");
    let valid_token = token(&valid);
    server.bearer(&valid_token).await.assert_ok(&valid);
    let start = Instant::now();
    while server.bearer(&revoked_token).await.status != 401 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{name}: never refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The next second, so that the tokens above were issued before the
    // store's new marker.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    lose().await;
    // Past the cache TTL: every answer comes from the emptied store.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server
        .bearer(&revoked_token)
        .await
        .assert_rejected(401, "token_revoked");
    server
        .bearer(&valid_token)
        .await
        .assert_rejected(401, "token_revoked");
    let fresh = unique("fresh");
    server.bearer(&token(&fresh)).await.assert_ok(&fresh);
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("ERROR") && l.contains("continuity marker changed")),
        "{name}: the loss is logged at ERROR"
    );
    eprintln!("{name}: after the store lost its data, tokens issued before were refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn redis_flushed_under_a_running_server() {
    let redis = RedisServer::start().await;
    let url = redis.plain_url();
    losing_the_store_never_unrevokes("redis FLUSHALL", &url, async || {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_emptied_under_a_running_server() {
    let (admin, options, schema) = fresh_postgres_schema(&database_url()).await;
    // The schema as the store's tables' home: its URL names it.
    let url = format!("{}?options=-c%20search_path%3D{schema}", database_url());
    PostgresStore::connect_with(options).await.unwrap();
    losing_the_store_never_unrevokes("postgres TRUNCATE", &url, async || {
        sqlx::query(&format!(
            "TRUNCATE {schema}.auth_revoked_subjects, {schema}.auth_revoked_session_ids, \
             {schema}.auth_denied_token_ids, {schema}.auth_used_token_ids, {schema}.auth_store_marker"
        ))
        .execute(&admin)
        .await
        .unwrap();
    })
    .await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}
