//! Sessions bound to a DPoP key (RFC 9449 sections 5 and 6), against every
//! store: memory, Redis (`AUTH_TEST_REDIS_URL`) and PostgreSQL
//! (`AUTH_TEST_DATABASE_URL`); without those variables their tests show as
//! ignored. A login with a proof mints access tokens with `cnf.jkt` and
//! binds the session's refresh tokens to the key: a refresh without a
//! proof by that key is refused and spends nothing, while rotation, reuse
//! detection, the retry window and the limits work as for any session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use auth_layer::clock::Clock as _;
use auth_layer::dpop::{DpopVerifier, VerifiedProof};
use auth_layer::session::{EndReason, Refreshed, SessionErrorKind, TokenPair};
use auth_tests::dpop_client::ClientKey;
use auth_tests::session_scenarios::{AUDIENCE, Harness, ISSUER, SECRET, unique};
use http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

/// The token endpoint the proofs name.
const TOKEN_URL: &str = "https://auth.test/token";

/// One client of a harness: its key, and proofs checked on the harness's clock.
struct Client<'h> {
    h: &'h Harness,
    key: ClientKey,
    verifier: DpopVerifier,
}

impl<'h> Client<'h> {
    fn new(h: &'h Harness) -> Self {
        Self {
            h,
            key: ClientKey::generate(),
            verifier: DpopVerifier::builder()
                .clock(h.clock.clone())
                .build()
                .unwrap(),
        }
    }

    /// A fresh proof for the token endpoint, as the token endpoint checks it.
    fn proof(&self) -> VerifiedProof {
        self.key
            .verified(&self.verifier, TOKEN_URL, self.h.clock.now())
    }

    async fn login(&self, subject: &str) -> TokenPair {
        let proof = self.proof();
        self.h
            .sessions
            .login_with_proof(subject, json!({ "roles": ["reader"] }), Some(&proof))
            .await
            .unwrap()
    }

    async fn refresh(&self, refresh: &str) -> Result<Refreshed, SessionErrorKind> {
        let proof = self.proof();
        self.h
            .sessions
            .refresh_with_proof(refresh, Some(&proof))
            .await
            .map_err(|e| e.kind())
    }

    /// A refresh with this key that must rotate.
    async fn rotate(&self, pair: &TokenPair) -> TokenPair {
        match self.refresh(pair.refresh_token().as_str()).await {
            Ok(Refreshed::Rotated(next)) => next,
            other => panic!("expected a rotation, got {other:?}"),
        }
    }
}

/// The claims of an access token, its signature and registered claims checked.
fn claims(access: &str, h: &Harness) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    // The harness's clock may run ahead of the system's.
    validation.validate_exp = false;
    let key = DecodingKey::from_secret(SECRET.as_bytes());
    let claims = jsonwebtoken::decode::<Value>(access, &key, &validation)
        .unwrap()
        .claims;
    assert!(claims["exp"].as_i64().unwrap() > h.clock.now());
    claims
}

/// A login with a proof: the access token carries `cnf.jkt`, the
/// thumbprint of the proof's key, and is a DPoP token; the store keeps the
/// binding with the session; the layer, which checks no proofs here, does
/// not take the bound token as a bearer token.
async fn a_login_with_a_proof_binds_the_session(h: &Harness) {
    let client = Client::new(h);
    let pair = client.login(&unique("alice")).await;
    let jkt = client.key.jkt();
    let access = pair.access_token();
    assert_eq!(claims(access.as_str(), h)["cnf"], json!({ "jkt": jkt }));
    assert_eq!(
        (access.jkt(), access.token_type()),
        (Some(jkt.as_str()), "DPoP")
    );
    assert_eq!(claims(access.as_str(), h)["roles"], json!(["reader"]));
    let stored = h
        .sessions
        .session(pair.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.dpop_jkt.as_deref(), Some(jkt.as_str()), "stored");
    assert_eq!(h.call(access.as_str()).await.0, StatusCode::UNAUTHORIZED);

    let unbound = h.login(&unique("alice")).await;
    assert_eq!(claims(unbound.access_token().as_str(), h).get("cnf"), None);
    assert_eq!(unbound.access_token().token_type(), "Bearer");
    let stored = h.sessions.session(unbound.session_id()).await.unwrap();
    assert_eq!(stored.unwrap().dpop_jkt, None);
    assert!(h.passes(&unbound).await);
}

/// The holder of the key refreshes again and again; every new access
/// token is bound to the same key, and so is the session.
async fn the_key_holder_refreshes_and_stays_bound(h: &Harness) {
    let client = Client::new(h);
    let first = client.login(&unique("bob")).await;
    h.clock.advance(60);
    let second = client.rotate(&first).await;
    h.clock.advance(60);
    let third = client.rotate(&second).await;
    for pair in [&second, &third] {
        assert_eq!(pair.session_id(), first.session_id());
        assert_eq!(
            claims(pair.access_token().as_str(), h)["cnf"]["jkt"],
            client.key.jkt()
        );
        assert_eq!(pair.access_token().token_type(), "DPoP");
        assert_eq!(
            pair.session().dpop_jkt.as_deref(),
            Some(client.key.jkt().as_str())
        );
    }
    assert_ne!(second.refresh_token(), third.refresh_token());
    assert_eq!(h.events("refreshed", first.session_id()), 2);
}

/// A stolen refresh token without a proof is refused with
/// `dpop_proof_required` and spends nothing: the client refreshes with the
/// very same token afterwards.
async fn a_refresh_without_a_proof_is_refused_and_spends_nothing(h: &Harness) {
    let client = Client::new(h);
    let pair = client.login(&unique("carol")).await;
    let stolen = pair.refresh_token().as_str();
    let bare = h.sessions.refresh(stolen).await.unwrap_err();
    assert_eq!(bare.kind(), SessionErrorKind::DpopProofRequired);
    assert_eq!(bare.kind().status(), StatusCode::BAD_REQUEST);
    let none = h
        .sessions
        .refresh_with_proof(stolen, None)
        .await
        .unwrap_err();
    assert_eq!(none.kind(), SessionErrorKind::DpopProofRequired);
    h.clock.advance(30);
    let next = client.rotate(&pair).await;
    assert_eq!(next.session_id(), pair.session_id());
    assert_eq!(h.events("reuse_detected", ""), 0);
}

/// A thief with the refresh token and a key of its own is refused with
/// `dpop_key_mismatch`; the token is not spent, and a spent one presented
/// with another key is not taken for reuse: the session lives on.
async fn a_proof_by_another_key_is_refused_and_spends_nothing(h: &Harness) {
    let client = Client::new(h);
    let thief = Client::new(h);
    let pair = client.login(&unique("dave")).await;
    assert_eq!(
        thief
            .refresh(pair.refresh_token().as_str())
            .await
            .unwrap_err(),
        SessionErrorKind::DpopKeyMismatch
    );
    let next = client.rotate(&pair).await;

    // The spent token, with the thief's key, long after the retry window.
    h.clock.advance(120);
    assert_eq!(
        thief
            .refresh(pair.refresh_token().as_str())
            .await
            .unwrap_err(),
        SessionErrorKind::DpopKeyMismatch,
        "not reuse: the thief cannot end the session"
    );
    let session = h
        .sessions
        .session(pair.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.ended, None);
    assert_eq!(h.events("reuse_detected", pair.session_id()), 0);
    client.rotate(&next).await;
}

/// With the key, a spent token presented again after the retry window is
/// reuse, as for any session: the session ends, and its newest refresh
/// token is refused even with the key.
async fn reuse_with_the_key_ends_a_bound_session(h: &Harness) {
    let client = Client::new(h);
    let first = client.login(&unique("erin")).await;
    let second = client.rotate(&first).await;
    let third = client.rotate(&second).await;
    h.clock.advance(10);
    assert_eq!(
        client
            .refresh(first.refresh_token().as_str())
            .await
            .unwrap_err(),
        SessionErrorKind::RefreshReused
    );
    assert_eq!(h.events("reuse_detected", first.session_id()), 1);
    let session = h
        .sessions
        .session(first.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.ended, Some(EndReason::Reuse));
    assert_eq!(
        client
            .refresh(third.refresh_token().as_str())
            .await
            .unwrap_err(),
        SessionErrorKind::SessionRevoked
    );
}

/// A lost answer retried with the key gets the same new refresh token
/// (and a bound access token); the idle timeout ends a bound session as
/// any other.
async fn the_retry_window_and_the_limits_work_for_bound_sessions(h: &Harness) {
    let client = Client::new(h);
    let first = client.login(&unique("frank")).await;
    let second = client.rotate(&first).await;
    h.clock.advance(2);
    let retried = client.rotate(&first).await;
    assert_eq!(retried.refresh_token(), second.refresh_token());
    assert_eq!(
        retried.access_token().jkt(),
        Some(client.key.jkt().as_str())
    );
    assert_eq!(h.events("retried_refresh", first.session_id()), 1);

    h.clock.advance(24 * 3600);
    assert_eq!(
        client
            .refresh(second.refresh_token().as_str())
            .await
            .unwrap_err(),
        SessionErrorKind::SessionIdle
    );
}

/// A session that logged in without a proof stays unbound: a proof at
/// refresh binds nothing, and a later refresh needs none.
async fn a_proof_at_refresh_does_not_bind_an_unbound_session(h: &Harness) {
    let client = Client::new(h);
    let first = h.login(&unique("grace")).await;
    let second = client.rotate(&first).await;
    assert_eq!(second.access_token().token_type(), "Bearer");
    assert_eq!(claims(second.access_token().as_str(), h).get("cnf"), None);
    assert_eq!(second.session().dpop_jkt, None);
    assert!(h.passes(&second).await);
    let third = h.rotate(&second).await;
    assert!(h.passes(&third).await);
}

/// Each scenario once per store.
macro_rules! on_every_store {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let h = auth_tests::session_scenarios::Harness::new(
                        auth_layer::store::MemoryStore::new(),
                    );
                    super::$scenario(&h).await;
                }
            )*
        }

        mod redis {
            $(
                #[tokio::test]
                #[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
                async fn $scenario() {
                    let h = auth_tests::session_scenarios::Harness::new(super::redis_store().await);
                    super::$scenario(&h).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(postgres_service), ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL")]
                async fn $scenario() {
                    let h = auth_tests::session_scenarios::Harness::new(super::postgres_store().await);
                    super::$scenario(&h).await;
                }
            )*
        }
    };
}

on_every_store!(
    a_login_with_a_proof_binds_the_session,
    the_key_holder_refreshes_and_stays_bound,
    a_refresh_without_a_proof_is_refused_and_spends_nothing,
    a_proof_by_another_key_is_refused_and_spends_nothing,
    reuse_with_the_key_ends_a_bound_session,
    the_retry_window_and_the_limits_work_for_bound_sessions,
    a_proof_at_refresh_does_not_bind_an_unbound_session,
);

/// A store on a key prefix no other test uses.
async fn redis_store() -> auth_layer::store::RedisStore {
    let store = auth_layer::store::RedisStore::connect(&auth_tests::services::redis_url())
        .await
        .expect("connect to AUTH_TEST_REDIS_URL")
        .with_prefix(format!("{}:", unique("t")))
        .unwrap();
    auth_tests::services::marked(store).await
}

async fn postgres_store() -> auth_layer::store::PostgresStore {
    auth_layer::store::PostgresStore::connect(&auth_tests::services::database_url())
        .await
        .expect("connect to AUTH_TEST_DATABASE_URL")
}

/// The Redis layout: a bound session's hash holds `dpop_jkt`, an unbound
/// one's has no such field.
#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_keeps_the_binding_in_the_session_hash() {
    let store = redis_store().await;
    let prefix = store.prefix().to_owned();
    let h = Harness::new(store);
    let client = Client::new(&h);
    let bound = client.login(&unique("heidi")).await;
    let unbound = h.login(&unique("heidi")).await;
    let mut conn = ::redis::Client::open(auth_tests::services::redis_url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (pair, expected) in [(&bound, Some(client.key.jkt())), (&unbound, None)] {
        let key = format!("{prefix}session:{}", pair.session_id());
        let stored: Option<String> = ::redis::cmd("HGET")
            .arg(&key)
            .arg("dpop_jkt")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(stored, expected, "{key}");
    }
}

/// The PostgreSQL layout: `auth_sessions.dpop_jkt`, a nullable text column,
/// holds the binding; the migration adds it to a table created before it,
/// and sessions bind in the upgraded table.
#[tokio::test]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_keeps_the_binding_in_a_column_the_migration_adds() {
    let url = auth_tests::services::database_url();
    let (admin, options, schema) = auth_tests::services::fresh_postgres_schema(&url).await;
    let store = auth_layer::store::PostgresStore::connect_with(options)
        .await
        .unwrap();
    // The table as it was before the column: the migration must add it.
    sqlx::query("ALTER TABLE auth_sessions DROP COLUMN dpop_jkt")
        .execute(store.pool())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let column: (String, String) = sqlx::query_as(
        "SELECT data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'auth_sessions' \
           AND column_name = 'dpop_jkt'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(column, ("text".to_owned(), "YES".to_owned()));

    let pool = store.pool().clone();
    let h = Harness::new(store);
    let client = Client::new(&h);
    let bound = client.login(&unique("ivan")).await;
    let unbound = h.login(&unique("ivan")).await;
    client.rotate(&bound).await;
    for (pair, expected) in [(&bound, Some(client.key.jkt())), (&unbound, None)] {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT dpop_jkt FROM auth_sessions WHERE sid = $1")
                .bind(pair.session_id())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(stored, expected, "{}", pair.session_id());
    }
    drop(h);
    pool.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}
