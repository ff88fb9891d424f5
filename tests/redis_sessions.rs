//! Sessions in Redis against a real server (`AUTH_TEST_REDIS_URL`, e.g.
//! `redis://127.0.0.1:6379`; without it every test shows as ignored). Each
//! test uses a key prefix of its own, so they run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use auth_layer::clock::Clock;
use auth_layer::session::{EndReason, SessionsBuilder, TokenHash};
use auth_layer::store::RedisStore;
use auth_tests::services::{redis_url, unique};
use auth_tests::session_scenarios::Harness;

/// A store on a prefix no other test uses.
async fn store() -> RedisStore {
    auth_tests::services::marked(
        RedisStore::connect(&redis_url())
            .await
            .expect("connect to the test Redis")
            .with_prefix(format!("{}:", unique("t")))
            .unwrap(),
    )
    .await
}

async fn harness_with(configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder) -> Harness {
    Harness::with(store().await, configure)
}

auth_tests::backend_scenarios!("redis" #[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]);

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn retries_across_instances() {
    let store = store().await;
    let a = Harness::with(store.clone(), |b| b.retry_secret([1_u8; 32]));
    let b = Harness::with(store, |b| b.retry_secret([2_u8; 32]));
    auth_tests::session_scenarios::retries_across_instances(&a, &b).await;
}

/// Revoked session ids expire and spent hashes are pruned. Redis expires
/// keys on its own clock, which the test's manual clock cannot move: a
/// revoked-session key counts as held while its not-before plus its TTL is
/// after the manual clock's now, and every such key must have a TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn stores_stay_bounded() {
    let store = store().await;
    let prefix = store.prefix().to_owned();
    let h = Harness::new(store);
    let conn = redis::Client::open(redis_url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let clock = h.clock.clone();
    auth_tests::session_scenarios::stores_stay_bounded(&h, |sid| {
        let (mut conn, prefix, now) = (conn.clone(), prefix.clone(), clock.now());
        async move {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}revoked-session:*"))
                .query_async(&mut conn)
                .await
                .unwrap();
            let mut revoked_sessions = 0;
            for key in keys {
                let (nbf, ttl): (i64, i64) = redis::pipe()
                    .get(&key)
                    .ttl(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert!(ttl > 0, "{key} has no expiry");
                if nbf + ttl > now {
                    revoked_sessions += 1;
                }
            }
            let fields: Vec<String> = redis::cmd("HKEYS")
                .arg(format!("{prefix}session:{sid}"))
                .query_async(&mut conn)
                .await
                .unwrap();
            auth_tests::session_scenarios::Held {
                revoked_sessions,
                spent_hashes: fields.iter().filter(|f| f.starts_with("spent:")).count(),
            }
        }
    })
    .await;
}

/// The keys are where the storage contract says, hold what it says, expire
/// a day after the session, and never hold a token.
#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn keys_follow_the_documented_layout() {
    let url = redis_url();
    let store = store().await;
    let prefix = store.prefix().to_owned();
    let h = Harness::new(store);
    let first = h.login("olivia").await;
    let second = h.rotate(&first).await;
    let sid = first.session_id();
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{prefix}session:{sid}");
    let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let spent = first.refresh_token().hash().to_hex();
    assert_eq!(fields["sub"], "olivia");
    assert_eq!(fields["claims"], "{}");
    assert_eq!(fields["ver"], "0");
    assert_eq!(fields["token"], second.refresh_token().hash().to_hex());
    assert_eq!(fields["prev"], spent);
    assert!(fields.contains_key(&format!("spent:{spent}")), "{fields:?}");
    assert_eq!(
        fields["expires_at"].parse::<i64>().unwrap(),
        first.session().created_at + 7 * 24 * 3600
    );
    assert_eq!(
        fields["idle_timeout"], "86400",
        "the default idle timeout, kept"
    );
    assert!(!fields.contains_key("ended"));
    let everything = format!("{fields:?}");
    for token in [first.refresh_token(), second.refresh_token()] {
        assert!(
            !everything.contains(token.as_str()),
            "a token is stored in clear"
        );
    }
    assert_eq!(
        TokenHash::of(second.refresh_token().as_str()).to_hex(),
        fields["token"]
    );

    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        (8 * 24 * 3600 - 60..=8 * 24 * 3600).contains(&ttl),
        "kept one day past expiry, TTL {ttl}"
    );
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("{prefix}sessions:olivia"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(members, [sid]);

    // Another service ends the session by writing the hash.
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("ended")
        .arg("banned")
        .arg("ended_at")
        .arg(h.clock.now())
        .query_async(&mut conn)
        .await
        .unwrap();
    let session = h.sessions.session(sid).await.unwrap().unwrap();
    assert_eq!(session.ended, Some(EndReason::Revoked));
    assert_eq!(
        h.refused(second.refresh_token().as_str()).await,
        auth_layer::session::SessionErrorKind::SessionRevoked
    );
}
