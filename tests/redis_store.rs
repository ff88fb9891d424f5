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
use auth_layer::revocation::{RevocationCache, RevocationStore, SubjectState};
use auth_layer::store::{AnyStore, RedisStore};
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
    auth_tests::services::marked(
        RedisStore::connect(url)
            .await
            .expect("connect to the test Redis")
            .with_prefix(format!("{}:", common::unique("t")))
            .unwrap(),
    )
    .await
}

/// A second connection with the same prefix, as another instance would have.
async fn twin(url: &str, of: &RedisStore) -> RedisStore {
    auth_tests::services::marked(
        RedisStore::connect(url)
            .await
            .unwrap()
            .with_prefix(of.prefix())
            .unwrap(),
    )
    .await
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn user_token(sub: &str) -> String {
    common::token(common::claims(json!({"sub": sub})))
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

    let iss = "https://idp.example.com";
    let key = |kind: &str, id: &str| format!("{prefix}{kind}:23:{iss}:{id}");
    let state = store.revoke_subject(iss, "u", 1_800_000_000).await.unwrap();
    assert_eq!(state, SubjectState::new(1, Some(1_800_000_000)));
    let raw: (Option<String>, Option<String>) = redis::cmd("HMGET")
        .arg(key("subject", "u"))
        .arg("ver")
        .arg("nbf")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(raw, (Some("1".into()), Some("1800000000".into())));
    let message = tokio::time::timeout(Duration::from_secs(5), published.next())
        .await
        .expect("a published event within 5 s")
        .unwrap();
    assert_eq!(message.get_channel_name(), format!("{prefix}revocations"));
    assert_eq!(
        message.get_payload::<String>().unwrap(),
        r#"{"kind":"user","iss":"https://idp.example.com","sub":"u"}"#
    );

    // A service that writes the hash (no publish) is honoured.
    let _: () = redis::cmd("HSET")
        .arg(key("subject", "u"))
        .arg("ver")
        .arg(2)
        .arg("nbf")
        .arg(1_800_000_100_i64)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        store.subject(iss, "u").await.unwrap(),
        SubjectState::new(2, Some(1_800_000_100))
    );
    // And a session or token id another service marked is seen as revoked.
    let _: () = redis::cmd("SET")
        .arg(key("revoked-session", "elsewhere"))
        .arg(1_800_000_000_i64)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        store.session_not_before(iss, "elsewhere").await.unwrap(),
        Some(1_800_000_000)
    );

    store.revoke_session(iss, "s", 1_800_000_000).await.unwrap();
    let nb: Option<i64> = redis::cmd("GET")
        .arg(key("revoked-session", "s"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(nb, Some(1_800_000_000));

    store
        .revoke_jti(iss, "j", SystemTime::now() + Duration::from_secs(120))
        .await
        .unwrap();
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(key("denied-jti", "j"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl_ms > 0 && ttl_ms <= 120_000,
        "the denial expires with the token, PTTL {ttl_ms}"
    );
    store
        .revoke_jti(iss, "gone", SystemTime::now() - Duration::from_secs(1))
        .await
        .unwrap();
    let gone_exists: bool = redis::cmd("EXISTS")
        .arg(key("denied-jti", "gone"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!gone_exists, "an expired token's denial stores nothing");

    let marker: i64 = redis::cmd("GET")
        .arg(format!("{prefix}marker"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.marker().await.unwrap(), marker);

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
            r#"{"kind":"session","iss":"https://idp.example.com","sid":"s"}"#,
            r#"{"kind":"jti","iss":"https://idp.example.com","jti":"j"}"#,
            r#"{"kind":"jti","iss":"https://idp.example.com","jti":"gone"}"#,
        ]
    );

    let _: () = redis::cmd("DEL")
        .arg(key("subject", "u"))
        .arg(key("revoked-session", "s"))
        .arg(key("revoked-session", "elsewhere"))
        .arg(key("denied-jti", "j"))
        .arg(format!("{prefix}marker"))
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
    let t = user_token(&cached);
    assert_eq!(common::send(&auth, &t).await.status(), StatusCode::OK);

    proxy.set(Mode::Down).await;
    for _ in 0..3 {
        let res = common::send(&auth, &user_token(&common::unique("uncached"))).await;
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
        cache.revoke_user("", &cached).await.is_err(),
        "a write with the store down fails"
    );

    proxy.set(Mode::Forward).await;
    let start = Instant::now();
    loop {
        let res = common::send(&auth, &user_token(&common::unique("back"))).await;
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
    assert_eq!(cache.revoke_user("", &cached).await.unwrap().version, 1);
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
        let t = user_token(&sub);
        assert_eq!(
            common::send(b, &t).await.status(),
            StatusCode::OK,
            "b caches the subject"
        );
        a.revoke_user("", &sub).await.unwrap();
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
        .revoke_subject("", &common::unique("warm"), 1)
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
    proxy.drop_answer(1); // the script's answer is lost, and it is sent again
    assert_eq!(
        proxied.revoke_subject("", &sub, 1).await.unwrap().version,
        1
    );
    assert_eq!(
        proxied.subject("", &sub).await.unwrap().version,
        1,
        "raised once"
    );
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

/// A 0.1 store's records (bare `ver:`, `sid:`, `jti:` keys) moved to the
/// issuer-scoped keys of each issuer named, and gone from the old layout:
/// nothing 0.1 revoked passes afterwards, and tokens issued after the move
/// pass.
#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn a_0_1_store_is_upgraded_without_losing_a_revocation() {
    let url = redis_url();
    let store = store(&url).await;
    let prefix = store.prefix().to_owned();
    let mut conn = raw(&url).await;
    let old = |kind: &str, id: &str| format!("{prefix}{kind}:{id}");
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(old("ver", "alice"))
        .arg(3)
        .cmd("SET")
        .arg(old("sid", "s1"))
        .arg(1_700_000_000)
        .cmd("SET")
        .arg(old("jti", "j1"))
        .arg(1)
        .arg("PX")
        .arg(60_000)
        .cmd("SET")
        .arg(old("jti", "gone"))
        .arg(1)
        .arg("PX")
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (a, b) = (common::ISS_A, common::ISS_B);
    // After the store's marker, not after the move: refused by the move alone.
    let before = common::now_i64();
    let moved = AnyStore::Redis(store.clone())
        .upgrade_from_0_1(&[a, b])
        .await
        .unwrap();
    assert_eq!((moved.subjects, moved.sessions, moved.token_ids), (1, 1, 1));
    let left: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}ver:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    common::upgraded(store, before).await;
}
