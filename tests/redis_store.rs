//! The Redis store against a real server: set `AUTH_TEST_REDIS_URL`
//! (e.g. `redis://127.0.0.1:6379`); without it these tests show as ignored.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::time::{Duration, Instant, SystemTime};

use auth_layer::ErrorKind;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::store::RedisStore;
use auth_tests::proxy::{Mode, redis_via_proxy};
use auth_tests::revocation_contract as common;
use auth_tests::services::redis_url;
use futures_util::StreamExt;
use http::StatusCode;
use serde_json::json;
use tokio::sync::RwLock;

/// `CLIENT KILL TYPE pubsub` drops every subscriber on the server, so the test
/// that runs it excludes the tests whose events it would cut off.
static PUBSUB: RwLock<()> = RwLock::const_new(());

/// A store on `url` with a prefix no other test uses.
async fn store(url: &str) -> RedisStore {
    RedisStore::connect(url)
        .await
        .expect("connect to the test Redis")
        .with_prefix(format!("{}:", common::unique("t")))
        .unwrap()
}

/// A second connection with the same prefix, as another instance would have.
async fn twin(url: &str, of: &RedisStore) -> RedisStore {
    RedisStore::connect(url)
        .await
        .unwrap()
        .with_prefix(of.prefix())
        .unwrap()
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn user_token(sub: &str, ver: u64) -> String {
    common::token(json!({"sub": sub, "ver": ver, "exp": common::now() + 300}))
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn store_contract() {
    let url = redis_url();
    let _shared = PUBSUB.read().await;
    common::store_contract(store(&url).await).await;
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn layer_contract() {
    let url = redis_url();
    let _shared = PUBSUB.read().await;
    common::layer_contract(store(&url).await).await;
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn revocations_propagate_between_instances() {
    let url = redis_url();
    let _shared = PUBSUB.read().await;
    let a = store(&url).await;
    let b = twin(&url, &a).await;
    let d = common::propagation(a, b).await;
    eprintln!("redis propagation: {d:?}");
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn keys_and_events_follow_the_documented_layout() {
    let url = redis_url();
    let _shared = PUBSUB.read().await;
    let store = store(&url).await;
    let prefix = store.prefix().to_owned();
    let mut conn = raw(&url).await;

    // Another service listening on the channel sees the documented JSON.
    let mut pubsub = redis::Client::open(url.as_str())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    pubsub
        .subscribe(format!("{prefix}revocations"))
        .await
        .unwrap();
    let mut published = pubsub.into_on_message();

    assert_eq!(store.bump_user_version("u").await.unwrap(), 1);
    let raw_version: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}ver:u"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(raw_version.as_deref(), Some("1"));
    let message = tokio::time::timeout(Duration::from_secs(5), published.next())
        .await
        .expect("a published event within 5 s")
        .unwrap();
    assert_eq!(message.get_channel_name(), format!("{prefix}revocations"));
    assert_eq!(
        message.get_payload::<String>().unwrap(),
        r#"{"kind":"user","sub":"u"}"#
    );

    // A service that only increments (no publish) is honoured.
    let _: u64 = redis::cmd("INCR")
        .arg(format!("{prefix}ver:u"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.user_version("u").await.unwrap(), 2);
    // And a session or token id another service marked is seen as revoked.
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}sid:elsewhere"))
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(store.session_revoked("elsewhere").await.unwrap());

    store.revoke_session("s").await.unwrap();
    let sid_exists: bool = redis::cmd("EXISTS")
        .arg(format!("{prefix}sid:s"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(sid_exists, "{prefix}sid:s is set");

    store
        .revoke_jti("j", SystemTime::now() + Duration::from_secs(120))
        .await
        .unwrap();
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(format!("{prefix}jti:j"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl_ms > 0 && ttl_ms <= 120_000,
        "{prefix}jti:j expires with the token, PTTL {ttl_ms}"
    );
    store
        .revoke_jti("gone", SystemTime::now() - Duration::from_secs(1))
        .await
        .unwrap();
    let gone_exists: bool = redis::cmd("EXISTS")
        .arg(format!("{prefix}jti:gone"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!gone_exists, "an expired token's denial stores nothing");

    let mut payloads = Vec::new();
    while payloads.len() < 3 {
        let message = tokio::time::timeout(Duration::from_secs(5), published.next())
            .await
            .expect("a published event within 5 s")
            .unwrap();
        payloads.push(message.get_payload::<String>().unwrap());
    }
    assert_eq!(
        payloads,
        [
            r#"{"kind":"session","sid":"s"}"#,
            r#"{"kind":"jti","jti":"j"}"#,
            r#"{"kind":"jti","jti":"gone"}"#,
        ]
    );

    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}ver:u"))
        .arg(format!("{prefix}sid:s"))
        .arg(format!("{prefix}sid:elsewhere"))
        .arg(format!("{prefix}jti:j"))
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_promptly() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let start = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(6),
        RedisStore::connect(&format!("redis://127.0.0.1:{port}")),
    )
    .await
    .expect("connect gives up within 6 s");
    let error = result.expect_err("nothing listens there");
    eprintln!(
        "connect to a closed port failed after {:?}: {error}",
        start.elapsed()
    );
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn store_down_is_503_and_recovers_by_itself() {
    let url = redis_url();
    let _shared = PUBSUB.read().await;
    let (mut proxy, store) = redis_via_proxy(&url).await;
    let cache = RevocationCache::builder(store)
        .ttl(Duration::from_secs(60))
        .store_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let auth = common::layer(cache.clone());

    let cached = common::unique("cached");
    let t = user_token(&cached, 0);
    assert_eq!(common::send(&auth, &t).await.status(), StatusCode::OK);

    proxy.set(Mode::Down).await;
    for _ in 0..3 {
        let res = common::send(&auth, &user_token(&common::unique("uncached"), 0)).await;
        assert_eq!(
            (res.status(), common::kind(&res)),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some(ErrorKind::StoreUnavailable)
            ),
            "store down: 503, never 401 or 200"
        );
        assert!(
            res.headers().contains_key("retry-after"),
            "503 carries Retry-After"
        );
    }
    assert!(
        cache.bump_user_version(&cached).await.is_err(),
        "a write with the store down fails"
    );

    proxy.set(Mode::Forward).await;
    let start = Instant::now();
    loop {
        let res = common::send(&auth, &user_token(&common::unique("back"), 0)).await;
        match res.status() {
            StatusCode::OK => break,
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("while recovering: {other}, expected 503 or 200"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "did not recover within 10 s of the store coming back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("recovered {:?} after the store came back", start.elapsed());
    assert_eq!(cache.bump_user_version(&cached).await.unwrap(), 1);
    let res = common::send(&auth, &t).await;
    assert_eq!(common::kind(&res), Some(ErrorKind::Revoked));
    proxy.set(Mode::Down).await;
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn events_resume_after_the_subscriber_connection_is_killed() {
    let url = redis_url();
    let _exclusive = PUBSUB.write().await;
    let a = store(&url).await;
    let b = twin(&url, &a).await;
    let ttl = Duration::from_secs(60);
    let cache_a = RevocationCache::builder(a).ttl(ttl).build().unwrap();
    let cache_b = RevocationCache::builder(b).ttl(ttl).build().unwrap();
    let auth_b = common::layer(cache_b);
    // Wait until b hears events before cutting it off.
    assert!(
        heard_within(&cache_a, &auth_b, Duration::from_secs(5)).await,
        "b hears a's revocations"
    );

    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut raw(&url).await)
        .await
        .unwrap();
    assert!(
        killed >= 2,
        "the listeners of a and b were killed ({killed})"
    );

    let start = Instant::now();
    assert!(
        heard_within(&cache_a, &auth_b, Duration::from_secs(5)).await,
        "b's listener did not resubscribe within 5 s"
    );
    eprintln!(
        "events resumed {:?} after the subscriber was killed",
        start.elapsed()
    );
}

/// Whether, within `limit`, a bump through `a` is seen by `b` (with 60 s of
/// TTL, only an event can make it): a fresh subject per round, each given
/// 200 ms.
async fn heard_within(a: &RevocationCache, b: &auth_layer::JwtAuth, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let sub = common::unique("erin");
        let t = user_token(&sub, 0);
        assert_eq!(
            common::send(b, &t).await.status(),
            StatusCode::OK,
            "b caches version 0"
        );
        a.bump_user_version(&sub).await.unwrap();
        let bumped = Instant::now();
        while bumped.elapsed() < Duration::from_millis(200) {
            if common::kind(&common::send(b, &t).await) == Some(ErrorKind::Revoked) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    false
}

/// Redis restarted, or a proxy dropped the connections, while the server
/// stays up: the first requests afterwards are answered, not 503, because
/// a command whose connection was reset is sent again on the new one.
#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn the_first_requests_after_a_reset_connection_are_answered() {
    let _shared = PUBSUB.read().await;
    let (proxy, store) = redis_via_proxy(&redis_url()).await;
    common::answers_after_resets(&proxy, store).await;
}

/// The connection breaks after Redis did what was asked and before its
/// answer arrives: the command is sent again, and every write still counts
/// once. A bump raises the version by one, a login's session is created
/// once, a rotation answers as the rotation it repeats (not reuse, which
/// would end the user's own session), a logout ends the session.
#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn a_write_whose_answer_was_lost_counts_once() {
    let url = redis_url();
    let (proxy, proxied) = redis_via_proxy(&url).await;
    // Revocations on a connection of their own: the proxy carries only the
    // calls under test, so "the next answer" is theirs.
    let direct = twin(&url, &proxied).await;
    let cache = RevocationCache::builder(direct)
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let sessions = common::sessions(proxied.clone(), cache);
    // Every script once, so the server knows them: the answers dropped
    // below are then those of the writes, not a NOSCRIPT asking for them.
    proxied
        .bump_user_version(&common::unique("warm"))
        .await
        .unwrap();
    let warm = sessions
        .login(&common::unique("warm"), json!({}))
        .await
        .unwrap();
    sessions
        .refresh(warm.refresh_token().as_str())
        .await
        .unwrap();
    sessions.logout(warm.session_id()).await.unwrap();

    let sub = common::unique("lost");
    proxy.drop_answer(2); // the GET of the version read passes, the script's answer is lost
    assert_eq!(proxied.bump_user_version(&sub).await.unwrap(), 1);
    assert_eq!(proxied.user_version(&sub).await.unwrap(), 1, "bumped once");
    let sub = common::unique("lost");

    proxy.drop_answer(2); // the session hash, after the subject's index
    let pair = sessions.login(&sub, json!({})).await.unwrap();
    assert!(sessions.session(pair.session_id()).await.unwrap().is_some());

    proxy.drop_answer(2); // the rotation, after the session's read
    let next = sessions
        .refresh(pair.refresh_token().as_str())
        .await
        .expect("the rotation, not reuse")
        .into_pair()
        .unwrap();
    let live = sessions.session(pair.session_id()).await.unwrap().unwrap();
    assert_eq!(live.ended, None, "the session lives on");
    let after = sessions
        .refresh(next.refresh_token().as_str())
        .await
        .expect("the new refresh token is the current one");

    proxy.drop_answer(1); // ending the session
    assert!(sessions.logout(pair.session_id()).await.unwrap());
    let ended = sessions.session(pair.session_id()).await.unwrap().unwrap();
    assert_eq!(ended.ended, Some(auth_layer::session::EndReason::Logout));
    drop(after);
}
