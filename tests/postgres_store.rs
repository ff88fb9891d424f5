//! `PostgresStore` against the real PostgreSQL at `AUTH_TEST_DATABASE_URL`:
//! the store contract, the schema, propagation between instances, services
//! that only write the tables, and outages of the database and of the
//! listener's connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::time::{Duration, Instant};

use auth_layer::ErrorKind;
use auth_layer::revocation::{RevocationCache, RevocationStore, SubjectState};
use auth_layer::store::{AnyStore, PostgresStore};
use auth_tests::proxy::{Mode, postgres_via_proxy};
use auth_tests::revocation_contract as common;
use auth_tests::services::{database_url, fresh_postgres_schema};
use http::StatusCode;
use serde_json::json;
use sqlx::postgres::PgPool;

async fn store(url: &str) -> PostgresStore {
    PostgresStore::connect(url)
        .await
        .expect("connect to AUTH_TEST_DATABASE_URL")
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn store_contract() {
    let url = database_url();
    common::store_contract(store(&url).await).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn layer_contract() {
    let url = database_url();
    common::layer_contract(store(&url).await).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn migration_is_idempotent_and_safe_to_run_concurrently() {
    let url = database_url();
    // A schema of its own, so the tables really are created by the two
    // instances racing, whatever earlier runs left in the database.
    let (admin, options, schema) = fresh_postgres_schema(&url).await;
    let (a, b) = tokio::join!(
        PostgresStore::connect_with(options.clone()),
        PostgresStore::connect_with(options.clone())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let (again_a, again_b) = tokio::join!(a.migrate(), b.migrate());
    again_a.unwrap();
    again_b.unwrap();
    // The store works in the schema it created.
    assert_eq!(
        a.revoke_subject("i", "someone", 5).await.unwrap().version,
        1
    );
    assert_eq!(
        b.subject("i", "someone").await.unwrap(),
        SubjectState::new(1, Some(5))
    );

    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() \
           AND table_name IN ('auth_revoked_subjects', 'auth_revoked_session_ids', \
                              'auth_denied_token_ids', 'auth_used_token_ids', 'auth_store_marker') \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(a.pool())
    .await
    .unwrap();
    let time = "timestamp with time zone";
    let expected = [
        ("auth_denied_token_ids", "issuer", "text", "NO"),
        ("auth_denied_token_ids", "jti", "text", "NO"),
        ("auth_denied_token_ids", "expires_at", time, "NO"),
        ("auth_revoked_session_ids", "issuer", "text", "NO"),
        ("auth_revoked_session_ids", "sid", "text", "NO"),
        ("auth_revoked_session_ids", "not_before", "bigint", "NO"),
        ("auth_revoked_session_ids", "forget_after", "bigint", "YES"),
        ("auth_revoked_subjects", "issuer", "text", "NO"),
        ("auth_revoked_subjects", "subject", "text", "NO"),
        ("auth_revoked_subjects", "version", "bigint", "NO"),
        ("auth_revoked_subjects", "not_before", "bigint", "YES"),
        ("auth_store_marker", "id", "boolean", "NO"),
        ("auth_store_marker", "began", "bigint", "NO"),
        ("auth_used_token_ids", "issuer", "text", "NO"),
        ("auth_used_token_ids", "jti", "text", "NO"),
        ("auth_used_token_ids", "expires_at", time, "NO"),
    ]
    .map(|(t, c, d, n)| (t.to_owned(), c.to_owned(), d.to_owned(), n.to_owned()));
    assert_eq!(columns, expected);

    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT tc.table_name::text, kcu.column_name::text \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage kcu \
           ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
         WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() \
           AND tc.table_name IN ('auth_revoked_subjects', 'auth_revoked_session_ids', \
                                 'auth_denied_token_ids', 'auth_used_token_ids') \
         ORDER BY tc.table_name, kcu.ordinal_position",
    )
    .fetch_all(a.pool())
    .await
    .unwrap();
    let expected_keys = [
        ("auth_denied_token_ids", "issuer"),
        ("auth_denied_token_ids", "jti"),
        ("auth_revoked_session_ids", "issuer"),
        ("auth_revoked_session_ids", "sid"),
        ("auth_revoked_subjects", "issuer"),
        ("auth_revoked_subjects", "subject"),
        ("auth_used_token_ids", "issuer"),
        ("auth_used_token_ids", "jti"),
    ]
    .map(|(t, c)| (t.to_owned(), c.to_owned()));
    assert_eq!(keys, expected_keys);

    let bookkeeping: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations')",
    )
    .fetch_one(a.pool())
    .await
    .unwrap();
    assert!(
        !bookkeeping,
        "the store must not create sqlx's migration table"
    );

    a.pool().close().await;
    b.pool().close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn revocations_propagate_between_instances() {
    let url = database_url();
    // Two pools and two listeners, as two instances of a service.
    let (a, b) = (store(&url).await, store(&url).await);
    let d = common::propagation(a, b).await;
    eprintln!("postgres propagation: {d:?}");
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn rows_written_by_other_services_are_honoured() {
    let url = database_url();
    let store = store(&url).await;
    // Another service: its own connection, plain SQL, no notification.
    let other = PgPool::connect(&url).await.unwrap();
    let (sub, sid, jti) = (
        common::unique("svc-user"),
        common::unique("svc-session"),
        common::unique("svc-jti"),
    );
    let iss = common::ISS_A;
    let nb = i64::try_from(common::now()).unwrap() + 10;
    for _ in 0..2 {
        sqlx::query(
            "INSERT INTO auth_revoked_subjects (issuer, subject, version, not_before) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (issuer, subject) DO UPDATE \
             SET version = auth_revoked_subjects.version + 1, not_before = EXCLUDED.not_before",
        )
        .bind(iss)
        .bind(&sub)
        .bind(nb)
        .execute(&other)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO auth_revoked_session_ids (issuer, sid, not_before) VALUES ($1, $2, $3)",
    )
    .bind(iss)
    .bind(&sid)
    .bind(nb)
    .execute(&other)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_denied_token_ids (issuer, jti, expires_at) \
         VALUES ($1, $2, now() + interval '5 minutes')",
    )
    .bind(iss)
    .bind(&jti)
    .execute(&other)
    .await
    .unwrap();

    assert_eq!(
        store.subject(iss, &sub).await.unwrap(),
        SubjectState::new(2, Some(nb))
    );
    assert_eq!(store.session_not_before(iss, &sid).await.unwrap(), Some(nb));
    assert!(store.jti_denied(iss, &jti).await.unwrap());
    // And the store continues from what the other service wrote.
    assert_eq!(
        store.revoke_subject(iss, &sub, nb).await.unwrap().version,
        3
    );

    // Through the layer too, for a cache that has not seen the subject.
    let auth = common::layer(RevocationCache::builder(store).build().unwrap());
    let t = common::token(common::claims(json!({"iss": iss, "sub": sub})));
    assert_eq!(
        common::kind(&common::send(&auth, &t).await),
        Some(ErrorKind::Revoked)
    );
}

#[tokio::test]
async fn connecting_to_a_down_database_fails_promptly() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    let attempt = tokio::time::timeout(Duration::from_secs(10), PostgresStore::connect(&url))
        .await
        .expect("connect must give up within 10 s, not hang");
    assert!(attempt.is_err(), "nothing listens on port {port}");
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn an_unreachable_database_fails_closed_and_recovers() {
    let url = database_url();
    let (mut proxy, proxied) = postgres_via_proxy(&url).await;
    let direct = store(&url).await;

    let cache = RevocationCache::builder(proxied.clone())
        .ttl(Duration::from_secs(60))
        .store_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let auth = common::layer(cache.clone());
    // A listener of our own on the proxied store, to watch it come back.
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(proxied.listen(tx).unwrap());

    let fresh_token = || common::token(common::claims(json!({"sub": common::unique("outage")})));
    assert_eq!(
        common::send(&auth, &fresh_token()).await.status(),
        StatusCode::OK
    );

    proxy.set(Mode::Down).await;
    for _ in 0..5 {
        let res = common::send(&auth, &fresh_token()).await;
        assert_eq!(
            (res.status(), common::kind(&res)),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some(ErrorKind::StoreUnavailable)
            ),
            "an uncached subject while the database is unreachable"
        );
        assert!(res.headers().contains_key(http::header::RETRY_AFTER));
        assert!(!res.headers().contains_key(http::header::WWW_AUTHENTICATE));
    }
    let write = tokio::time::timeout(Duration::from_secs(10), cache.revoke_user("", "anyone"))
        .await
        .expect("a write to an unreachable database fails rather than hangs");
    assert!(write.is_err());
    assert!(!listener.is_finished(), "the listener outlives the outage");

    proxy.set(Mode::Forward).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = common::send(&auth, &fresh_token()).await;
        match res.status() {
            StatusCode::OK => break,
            StatusCode::SERVICE_UNAVAILABLE if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            status => panic!("no recovery within 10 s of the database coming back: {status}"),
        }
    }

    // The listener reconnected by itself: a revocation written elsewhere reaches it.
    let deadline = Instant::now() + Duration::from_secs(10);
    'heard: loop {
        assert!(
            Instant::now() < deadline,
            "the listener did not come back within 10 s"
        );
        let sub = common::unique("outage-event");
        direct.revoke_subject("", &sub, 1).await.unwrap();
        let wait = Instant::now() + Duration::from_millis(500);
        while let Ok(Some(event)) = tokio::time::timeout_at(wait.into(), events.recv()).await {
            if event == common::user_event("", &sub) {
                break 'heard;
            }
        }
    }
    assert!(!listener.is_finished());
    listener.abort();
}

/// The pid of the backend whose `application_name` is `name`, waiting up to 5 s for it.
async fn backend_pid(pool: &PgPool, name: &str, not: Option<i32>) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2 LIMIT 1",
        )
        .bind(name)
        .bind(not.unwrap_or(0))
        .fetch_optional(pool)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "no connection named {name} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn a_terminated_listener_connection_is_replaced() {
    let url = database_url();
    let name = common::unique("listener");
    let a = store(&url).await;
    let b = store(&url).await.listener_application_name(&name);
    let cache_b = RevocationCache::builder(b)
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let auth_b = common::layer(cache_b);

    let old = backend_pid(a.pool(), &name, None).await;
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(old)
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert!(terminated);

    // Events published before the listener is back are lost (the TTL covers
    // them), so each round revokes a new subject.
    let deadline = Instant::now() + Duration::from_secs(5);
    'seen: loop {
        assert!(
            Instant::now() < deadline,
            "b did not see a revocation through a within 5 s of its listener being killed"
        );
        let sub = common::unique("erin");
        let t = common::token(common::claims(json!({"sub": sub})));
        assert_eq!(
            common::send(&auth_b, &t).await.status(),
            StatusCode::OK,
            "b caches the subject"
        );
        a.revoke_subject("", &sub, common::now_i64() + 5)
            .await
            .unwrap();
        let round = Instant::now() + Duration::from_millis(300);
        while Instant::now() < round {
            if common::kind(&common::send(&auth_b, &t).await) == Some(ErrorKind::Revoked) {
                break 'seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let new = backend_pid(a.pool(), &name, Some(old)).await;
    assert_ne!(new, old);
}

/// The database restarted, or a proxy dropped the pool's connections,
/// while the server stays up: the first requests afterwards are answered,
/// not 503 (a pooled connection is checked before use).
#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn the_first_requests_after_a_reset_connection_are_answered() {
    let (proxy, store) = postgres_via_proxy(&database_url()).await;
    common::answers_after_resets(&proxy, store).await;
}

/// The 0.1 tables' rows moved to the issuer-scoped tables of each issuer
/// named, in one transaction, and gone from the old tables.
#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn a_0_1_database_is_upgraded_without_losing_a_revocation() {
    let (admin, options, schema) = fresh_postgres_schema(&database_url()).await;
    let old = PgPool::connect_with(options.clone()).await.unwrap();
    // The 0.1 schema and what a 0.1 deployment wrote.
    sqlx::raw_sql(
        "CREATE TABLE auth_user_versions (subject text PRIMARY KEY, version bigint NOT NULL);
         CREATE TABLE auth_revoked_sessions (sid text PRIMARY KEY, revoked_at timestamptz NOT NULL);
         CREATE TABLE auth_denied_jtis (jti text PRIMARY KEY, expires_at timestamptz NOT NULL);
         INSERT INTO auth_user_versions VALUES ('alice', 3);
         INSERT INTO auth_revoked_sessions VALUES ('s1', now());
         INSERT INTO auth_denied_jtis VALUES ('j1', now() + interval '1 minute'),
                                             ('gone', now() - interval '1 minute');",
    )
    .execute(&old)
    .await
    .unwrap();
    let store = PostgresStore::connect_with(options).await.unwrap();
    let (a, b) = (common::ISS_A, common::ISS_B);
    // After the store's marker, not after the move: refused by the move alone.
    let before = common::now_i64();
    let moved = AnyStore::Postgres(store.clone())
        .upgrade_from_0_1(&[a, b])
        .await
        .unwrap();
    assert_eq!((moved.subjects, moved.sessions, moved.token_ids), (1, 1, 1));
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM auth_user_versions) + (SELECT count(*) FROM auth_revoked_sessions) \
         + (SELECT count(*) FROM auth_denied_jtis)",
    )
    .fetch_one(&old)
    .await
    .unwrap();
    assert_eq!(left, 0, "the rows were moved, not copied");
    common::upgraded(store.clone(), before).await;
    store.pool().close().await;
    old.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}
