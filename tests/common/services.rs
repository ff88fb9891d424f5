//! The services the store tests run against, named by the variables that
//! `build.rs` turns into `cfg`s: a test that needs one is marked
//! `#[cfg_attr(not(redis_service), ignore = "…")]` (and so on), so it shows
//! as ignored, with its reason, where the service is not configured, and
//! fails where it is configured but does not answer. It never passes
//! without running.

use std::time::{SystemTime, UNIX_EPOCH};

/// The Redis of `AUTH_TEST_REDIS_URL` (tests marked `redis_service`).
pub fn redis_url() -> String {
    required("AUTH_TEST_REDIS_URL")
}

/// The PostgreSQL of `AUTH_TEST_DATABASE_URL` (tests marked `postgres_service`).
pub fn database_url() -> String {
    required("AUTH_TEST_DATABASE_URL")
}

/// The `redis-server` of `AUTH_TEST_REDIS_SERVER` (tests marked `redis_server`).
pub fn redis_server() -> String {
    required("AUTH_TEST_REDIS_SERVER")
}

/// The directory of `initdb` and `postgres` in `AUTH_TEST_POSTGRES_BIN`
/// (tests marked `postgres_server`).
pub fn postgres_bin() -> String {
    required("AUTH_TEST_POSTGRES_BIN")
}

fn required(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => value.trim().to_owned(),
        _ => panic!(
            "{variable} is not set: this test needs it (it is ignored where the \
             variable was unset when the tests were built)"
        ),
    }
}

/// A name no other test run uses, so tests can share one server.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}-{}", std::process::id())
}

/// A schema of its own in the database at `url` (so tables really are
/// created, whatever earlier runs left): a pool on the database, options
/// whose `search_path` is the new schema, and its name.
pub async fn fresh_postgres_schema(
    url: &str,
) -> (sqlx::PgPool, sqlx::postgres::PgConnectOptions, String) {
    let schema = unique("auth_schema").replace('-', "_");
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    (admin, options, schema)
}

/// `store` after its continuity marker was read (and so written): a store
/// given a new key prefix writes the prefix's marker at its first read, and
/// a token issued before that would be refused.
pub async fn marked<S: auth_layer::revocation::RevocationStore>(store: S) -> S {
    store.marker().await.expect("read the store's marker");
    store
}
