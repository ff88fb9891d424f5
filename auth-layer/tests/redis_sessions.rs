//! Sessions in Redis against a real server: set `AUTH_TEST_REDIS_URL`
//! (e.g. `redis://127.0.0.1:6379`); without it every test is skipped. Each
//! test uses key prefixes of its own, so they run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod session_common;

use auth_layer::clock::Clock;
use auth_layer::revocation::RedisStore;
use auth_layer::session::{EndReason, RedisSessionStore, SessionsBuilder, TokenHash};
use session_common::Harness;

const VAR: &str = "AUTH_TEST_REDIS_URL";

/// A session store and a revocation store on prefixes no other test uses.
async fn stores(url: &str) -> (RedisSessionStore, RedisStore) {
    let prefix = format!("{}:", session_common::unique("t"));
    let sessions = RedisSessionStore::connect(url)
        .await
        .expect("connect to the test Redis")
        .with_prefix(prefix.clone())
        .unwrap();
    let revocation = RedisStore::connect(url)
        .await
        .unwrap()
        .with_prefix(prefix)
        .unwrap();
    (sessions, revocation)
}

async fn harness_with(
    test: &str,
    configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder,
) -> Option<Harness> {
    let url = session_common::service_url(VAR, test)?;
    let (sessions, revocation) = stores(&url).await;
    Some(Harness::with(sessions, revocation, configure))
}

session_common::backend_scenarios!("redis");

/// The keys are where the storage contract says, hold what it says, expire
/// a day after the session, and never hold a token.
#[tokio::test]
async fn keys_follow_the_documented_layout() {
    let Some(url) = session_common::service_url(VAR, "keys_follow_the_documented_layout") else {
        return;
    };
    let (store, revocation) = stores(&url).await;
    let prefix = store.prefix().to_owned();
    let h = Harness::new(store, revocation);
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
