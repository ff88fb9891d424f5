//! Sessions in PostgreSQL against a real server: set
//! `AUTH_TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it every test shows as ignored. Subjects are unique per test, so the
//! tests share the tables and run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use auth_layer::session::{EndReason, SessionErrorKind, SessionStore, SessionsBuilder};
use auth_layer::store::PostgresStore;
use auth_tests::services::{database_url, fresh_postgres_schema, unique};
use auth_tests::session_scenarios::Harness;
use sqlx::postgres::PgPool;

/// `auth_sessions`: subject, claims, version, ended_reason, idle_timeout.
type SessionRow = (String, String, i64, Option<String>, Option<i64>);

async fn harness_with(configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder) -> Harness {
    let store = PostgresStore::connect(&database_url())
        .await
        .expect("connect to AUTH_TEST_DATABASE_URL");
    Harness::with(store, configure)
}

auth_tests::backend_scenarios!("postgres" #[cfg_attr(not(postgres_service), ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL")]);

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn retries_across_instances() {
    let store = PostgresStore::connect(&database_url())
        .await
        .expect("connect to AUTH_TEST_DATABASE_URL");
    let a = Harness::with(store.clone(), |b| b.retry_secret([1_u8; 32]));
    let b = Harness::with(store, |b| b.retry_secret([2_u8; 32]));
    auth_tests::session_scenarios::retries_across_instances(&a, &b).await;
}

/// Revoked session ids are deleted once none of their tokens can pass, and
/// a session keeps only its most recently spent token hashes. In a schema
/// of its own: its clock runs hours ahead, and its sweeps must not touch
/// the rows of the tests running beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn stores_stay_bounded() {
    let (admin, options, schema) = fresh_postgres_schema(&database_url()).await;
    let store = PostgresStore::connect_with(options).await.unwrap();
    let pool = store.pool().clone();
    let h = Harness::new(store);
    auth_tests::session_scenarios::stores_stay_bounded(&h, |sid| {
        let pool = pool.clone();
        async move {
            let (revoked, spent): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM auth_revoked_session_ids WHERE sid IN ( \
                     SELECT sid FROM auth_sessions WHERE subject = ( \
                         SELECT subject FROM auth_sessions WHERE sid = $1))), \
                 (SELECT count(*) FROM auth_refresh_tokens WHERE sid = $1 AND spent_at IS NOT NULL)",
            )
            .bind(&sid)
            .fetch_one(&pool)
            .await
            .unwrap();
            auth_tests::session_scenarios::Held {
                revoked_sessions: usize::try_from(revoked).unwrap(),
                spent_hashes: usize::try_from(spent).unwrap(),
            }
        }
    })
    .await;
    drop(pool);
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

/// The rows are where the storage contract says, hold hashes only, and a
/// session ended by another service's `UPDATE` is honoured.
#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn rows_follow_the_documented_layout() {
    let url = database_url();
    let h = harness().await;
    let pool = PgPool::connect(&url).await.unwrap();
    let sub = unique("peggy");
    let first = h.login(&sub).await;
    let second = h.rotate(&first).await;
    let sid = first.session_id();

    let (subject, claims, version, ended, idle): SessionRow = sqlx::query_as(
        "SELECT subject, claims::text, version, ended_reason, idle_timeout FROM auth_sessions WHERE sid = $1",
    )
    .bind(sid)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (subject.as_str(), claims.as_str(), version, ended, idle),
        (sub.as_str(), "{}", 0, None, Some(86_400))
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

/// Sessions a day past their expiry are swept with their tokens when a
/// new session starts. In a schema of its own: the sweep takes any expired
/// sessions, and the shared tables hold those of earlier runs. (The one
/// migration, run by instances racing, is tested in `postgres_store.rs`.)
#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn old_sessions_are_swept_with_their_tokens() {
    let (admin, options, schema) = fresh_postgres_schema(&database_url()).await;
    let store = PostgresStore::connect_with(options).await.unwrap();
    let h = Harness::new(store.clone());
    let subject = unique("quinn");
    let old = h.login(&subject).await;
    // Eight days later (one past the 7-day lifetime plus the one-day
    // retention, and a second), a new login sweeps the old session.
    h.clock.advance(8 * 24 * 3600 + 1);
    assert_eq!(
        h.refused(old.refresh_token().as_str()).await,
        SessionErrorKind::SessionExpired,
        "still known as expired within the retention"
    );
    h.login(&subject).await;
    assert!(store.session(old.session_id()).await.unwrap().is_none());
    let orphans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM auth_refresh_tokens WHERE sid = $1")
            .bind(old.session_id())
            .fetch_one(store.pool())
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
