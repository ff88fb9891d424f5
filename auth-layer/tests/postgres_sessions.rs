//! Sessions in PostgreSQL against a real server: set
//! `AUTH_TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it every test is skipped. Subjects are unique per test, so the
//! tests share the tables and run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod session_common;

use std::str::FromStr;

use auth_layer::revocation::PostgresStore;
use auth_layer::session::{
    EndReason, PostgresSessionStore, SessionErrorKind, SessionStore, SessionsBuilder,
};
use session_common::Harness;
use sqlx::postgres::{PgConnectOptions, PgPool};

const VAR: &str = "AUTH_TEST_DATABASE_URL";

async fn harness_with(
    test: &str,
    configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder,
) -> Option<Harness> {
    let url = session_common::service_url(VAR, test)?;
    let sessions = PostgresSessionStore::connect(&url)
        .await
        .expect("connect to AUTH_TEST_DATABASE_URL");
    let revocation = PostgresStore::connect(&url).await.unwrap();
    Some(Harness::with(sessions, revocation, configure))
}

session_common::backend_scenarios!("postgres");

/// The rows are where the storage contract says, hold hashes only, and a
/// session ended by another service's `UPDATE` is honoured.
#[tokio::test]
async fn rows_follow_the_documented_layout() {
    let Some(url) = session_common::service_url(VAR, "rows_follow_the_documented_layout") else {
        return;
    };
    let Some(h) = harness("rows_follow_the_documented_layout").await else {
        return;
    };
    let pool = PgPool::connect(&url).await.unwrap();
    let sub = session_common::unique("peggy");
    let first = h.login(&sub).await;
    let second = h.rotate(&first).await;
    let sid = first.session_id();

    let (subject, claims, version, ended): (String, String, i64, Option<String>) = sqlx::query_as(
        "SELECT subject, claims::text, version, ended_reason FROM auth_sessions WHERE sid = $1",
    )
    .bind(sid)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (subject.as_str(), claims.as_str(), version, ended),
        (sub.as_str(), "{}", 0, None)
    );

    let tokens: Vec<(Vec<u8>, bool, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT token_hash, spent_at IS NOT NULL, replaced_by FROM auth_refresh_tokens \
         WHERE sid = $1 ORDER BY issued_at, spent_at NULLS LAST",
    )
    .bind(sid)
    .fetch_all(&pool)
    .await
    .unwrap();
    let first_hash = first.refresh_token().hash().as_bytes().to_vec();
    let second_hash = second.refresh_token().hash().as_bytes().to_vec();
    assert_eq!(
        tokens,
        [
            (first_hash.clone(), true, Some(second_hash.clone())),
            (second_hash.clone(), false, None)
        ]
    );
    let digest: Vec<u8> = sqlx::query_scalar("SELECT sha256(convert_to($1, 'UTF8'))")
        .bind(second.refresh_token().as_str())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        digest, second_hash,
        "token_hash is the SHA-256 of the whole token"
    );

    sqlx::query("UPDATE auth_sessions SET ended_at = now(), ended_reason = 'revoked' WHERE sid = $1 AND ended_at IS NULL")
        .bind(sid)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        h.refused(second.refresh_token().as_str()).await,
        SessionErrorKind::SessionRevoked
    );
    let session = h.sessions.session(sid).await.unwrap().unwrap();
    assert_eq!(session.ended, Some(EndReason::Revoked));
}

/// Two instances creating the schema at once, in a fresh schema, both
/// succeed; running it again changes nothing; sessions a day past their
/// expiry are swept with their tokens.
#[tokio::test]
async fn migration_is_idempotent_and_old_sessions_are_swept() {
    let Some(url) =
        session_common::service_url(VAR, "migration_is_idempotent_and_old_sessions_are_swept")
    else {
        return;
    };
    let schema = session_common::unique("auth_sessions_migration").replace('-', "_");
    let admin = PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let (a, b) = tokio::join!(
        PostgresSessionStore::connect_with(options.clone()),
        PostgresSessionStore::connect_with(options.clone())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    a.migrate().await.unwrap();
    b.migrate().await.unwrap();

    let revocation = PostgresStore::connect_with(options.clone()).await.unwrap();
    let h = Harness::new(a.clone(), revocation);
    let old = h.login("quinn").await;
    // Eight days later (one past the 7-day lifetime plus the one-day
    // retention, and a second), a new login sweeps the old session.
    h.clock.advance(8 * 24 * 3600 + 1);
    assert_eq!(
        h.refused(old.refresh_token().as_str()).await,
        SessionErrorKind::SessionExpired,
        "still known as expired within the retention"
    );
    h.login("quinn").await;
    assert!(b.session(old.session_id()).await.unwrap().is_none());
    let orphans: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {schema}.auth_refresh_tokens WHERE sid = $1"
    ))
    .bind(old.session_id())
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "its tokens went with it");
    assert_eq!(
        h.refused(old.refresh_token().as_str()).await,
        SessionErrorKind::RefreshInvalid
    );
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}
