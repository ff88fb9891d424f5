//! Revocation through the layer with the in-memory store, and the cache's
//! behaviour towards any store: coalesced misses, failure policy, timeouts.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::time::{Duration, UNIX_EPOCH};

use auth_layer::ErrorKind;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::store::MemoryStore;
use auth_tests::fake_store::FakeStore;
use auth_tests::revocation_contract as common;
use common::{ahead, claims, kind, layer, now, now_i64, send, token, unique};
use http::StatusCode;
use serde_json::json;

fn cache(store: impl RevocationStore) -> RevocationCache {
    cache_for(store, Duration::from_secs(60))
}

/// A cache whose answers stay fresh for `ttl`.
fn cache_for(store: impl RevocationStore, ttl: Duration) -> RevocationCache {
    RevocationCache::builder(store).ttl(ttl).build().unwrap()
}

/// A cache whose answers stay fresh for 200 ms, and are served `extra`
/// longer while the store is down.
fn stale_cache(store: impl RevocationStore, extra: Duration) -> RevocationCache {
    RevocationCache::builder(store)
        .ttl(Duration::from_millis(200))
        .serve_stale_for(extra)
        .build()
        .unwrap()
}

#[tokio::test]
async fn memory_store_keeps_the_store_contract() {
    common::store_contract(MemoryStore::new()).await;
}

#[tokio::test]
async fn bump_revoke_session_and_deny_jti_reject_existing_tokens() {
    common::layer_contract(MemoryStore::new()).await;
}

#[tokio::test]
async fn two_caches_on_one_memory_store_hear_each_other() {
    let store = MemoryStore::new();
    let took = common::propagation(store.clone(), store).await;
    eprintln!("memory propagation: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_for_one_subject_make_one_store_query() {
    let store = FakeStore::new();
    store.set_delay(Duration::from_millis(50));
    let auth = layer(cache(store.clone()));
    let t = token(claims(json!({"sub": unique("eve")})));
    let requests = (0..100).map(|_| {
        let (auth, t) = (auth.clone(), t.clone());
        tokio::spawn(async move { send(&auth, &t).await.status() })
    });
    for r in requests.collect::<Vec<_>>() {
        assert_eq!(r.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(store.reads(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_failed_query_and_the_next_request_asks_again() {
    let store = FakeStore::new();
    store.set_delay(Duration::from_millis(50));
    let sub = unique("faye");
    store.fail_for(&sub);
    let auth = layer(cache(store.clone()));
    let t = token(claims(json!({ "sub": sub })));
    let requests = (0..100).map(|_| {
        let (auth, t) = (auth.clone(), t.clone());
        tokio::spawn(async move { send(&auth, &t).await.status() })
    });
    for r in requests.collect::<Vec<_>>() {
        assert_eq!(r.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        store.reads(),
        1,
        "the waiting requests share the one failure"
    );
    // A failure is not cached: the next request asks the store again.
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_pass_one_cache_remembered_in_a_token_does_not_pass_it_through_another() {
    // A pass is remembered in the verified token; a second cache, where the
    // subject is revoked, must judge the same token by its own answers.
    let sub = unique("gail");
    // The stores are older than the token: a store refuses tokens issued
    // before it was created.
    let (store_a, store_b) = (MemoryStore::new(), MemoryStore::new());
    let t = token(claims(json!({ "iss": common::ISS_A, "sub": sub })));
    // Tokens issued up to a second from now are revoked, in the second
    // cache's store before the cache is built (nothing to invalidate).
    let revoked_at = now_i64() + 1;
    store_b
        .revoke_subject(common::ISS_A, &sub, revoked_at)
        .await
        .unwrap();
    let (a, b) = (cache(store_a), cache(store_b));
    let (auth_a, auth_b) = (layer(a.clone()), layer(b.clone()));
    // Both caches learn the subject through their layers.
    assert_eq!(send(&auth_a, &t).await.status(), StatusCode::OK);
    assert_eq!(kind(&send(&auth_b, &t).await), Some(ErrorKind::Revoked));
    // One verified token, judged by both in turn.
    let verified = auth_a.verifier().verify(&t).unwrap();
    for _ in 0..3 {
        assert!(matches!(a.cached_verdict(&verified), Some(Ok(()))));
        assert!(matches!(b.cached_verdict(&verified), Some(Err(_))));
    }
    // And a revocation in the first cache ends the pass it remembered.
    a.revoke_user_at(
        common::ISS_A,
        &sub,
        UNIX_EPOCH + Duration::from_secs(now() + 1),
    )
    .await
    .unwrap();
    assert!(
        a.cached_verdict(&verified).is_none(),
        "the subject's answer was dropped: the store must be asked"
    );
    assert_eq!(kind(&send(&auth_a, &t).await), Some(ErrorKind::Revoked));
}

#[tokio::test]
async fn a_cached_answer_does_not_ask_the_store() {
    let store = FakeStore::new();
    let auth = layer(cache(store.clone()));
    let t = token(claims(json!({"sub": unique("frank"), "sid": unique("s")})));
    for _ in 0..5 {
        assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    }
    assert_eq!(
        store.reads(),
        2,
        "one version and one session lookup, then cache hits"
    );
    assert_eq!(store.calls(), 1, "both read in one store call");
}

#[tokio::test]
async fn a_new_token_reads_only_what_the_caches_miss_in_one_call() {
    let store = FakeStore::new();
    let revocation = cache(store.clone());
    let auth = layer(revocation.clone());
    let sub = unique("hana");
    let first = token(claims(json!({"sub": sub, "sid": unique("s")})));
    assert_eq!(send(&auth, &first).await.status(), StatusCode::OK);
    assert_eq!((store.calls(), store.reads()), (1, 2));
    // The subject's answer is cached: a new session of it reads the
    // session alone.
    let sid = unique("s");
    let second = token(claims(json!({"sub": sub, "sid": sid})));
    assert_eq!(send(&auth, &second).await.status(), StatusCode::OK);
    assert_eq!((store.calls(), store.reads()), (2, 3));
    // A session read with a new subject counts for that session's other
    // tokens: revoked, they are refused from that one read.
    revocation.revoke_session("", &sid).await.unwrap();
    let third = token(claims(json!({"sub": unique("ines"), "sid": sid})));
    assert_eq!(kind(&send(&auth, &third).await), Some(ErrorKind::Revoked));
    assert_eq!(kind(&send(&auth, &second).await), Some(ErrorKind::Revoked));
    assert_eq!((store.calls(), store.reads()), (3, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_read_with_its_subject_before_a_revocation_is_read_again_after_it() {
    let store = FakeStore::new();
    let revocation = cache(store.clone());
    let auth = layer(revocation.clone());
    let sid = unique("s");
    let t = token(claims(json!({"sub": unique("lena"), "sid": sid})));
    // Subject and session are read together at once (not revoked), and the
    // answer arrives 400 ms later; the session is revoked in between.
    store.set_answer_late(Duration::from_millis(400));
    let racing = tokio::spawn({
        let (auth, t) = (auth.clone(), t.clone());
        async move { send(&auth, &t).await.status() }
    });
    while store.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    revocation.revoke_session("", &sid).await.unwrap();
    // The subject's answer stands; the session's, read before the
    // revocation, is dropped and read again.
    assert_eq!(
        racing.await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "the request that raced the revocation"
    );
    assert_eq!(store.calls(), 2);
    store.set_answer_late(Duration::ZERO);
    assert_eq!(
        kind(&send(&auth, &t).await),
        Some(ErrorKind::Revoked),
        "the next request is refused from the cache"
    );
    assert_eq!(store.calls(), 2);
}

#[tokio::test]
async fn a_session_that_cannot_be_read_fails_its_tokens_not_its_subjects_other_sessions() {
    let store = FakeStore::new();
    let auth = layer(cache(store.clone()));
    let sub = unique("mona");
    let bad = unique("s");
    store.fail_for(&bad);
    let res = send(&auth, &token(claims(json!({"sub": sub, "sid": bad})))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The read together failed; the subject was then read alone and
    // cached, and another session of it reads that session only.
    let reads = store.reads();
    let good = token(claims(json!({"sub": sub, "sid": unique("s")})));
    assert_eq!(send(&auth, &good).await.status(), StatusCode::OK);
    assert_eq!(store.reads(), reads + 1, "the session alone");
}

#[tokio::test]
async fn jti_is_only_checked_when_enabled() {
    let store = FakeStore::new();
    let auth = layer(cache(store.clone()));
    let t = token(claims(json!({"sub": unique("gina"), "jti": unique("j")})));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    assert_eq!(store.reads(), 1, "only the version");
}

#[tokio::test]
async fn a_token_without_sub_is_refused_unless_opted_out_and_then_needs_no_store() {
    let store = FakeStore::new();
    let t = token(claims(json!({})));
    let res = send(&layer(cache(store.clone())), &t).await;
    assert_eq!(
        (res.status(), kind(&res)),
        (StatusCode::UNAUTHORIZED, Some(ErrorKind::MissingClaim))
    );
    let lenient = RevocationCache::builder(store.clone())
        .require_subject(false)
        .build()
        .unwrap();
    // The layer requires `sub` first (RFC 9068): both opt-outs are needed.
    assert_eq!(
        kind(&send(&layer(lenient.clone()), &t).await),
        Some(ErrorKind::MissingClaim)
    );
    let auth = auth_layer::JwtAuth::builder()
        .hmac_secret(common::SECRET)
        .subject_optional()
        .revocation(lenient)
        .build()
        .unwrap();
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    store.set_down(true);
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::OK,
        "nothing to look up once the store's marker is known"
    );
    assert_eq!(store.reads(), 0);
}

#[tokio::test]
async fn store_down_is_503_with_retry_after_and_recovers_by_itself() {
    let store = FakeStore::new();
    let auth = layer(cache(store.clone()));
    let t = token(claims(json!({"sub": unique("hank")})));
    store.set_down(true);
    for _ in 0..3 {
        let res = send(&auth, &t).await;
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "never 401, never a pass"
        );
        assert_eq!(kind(&res), Some(ErrorKind::StoreUnavailable));
        assert_eq!(res.headers()["retry-after"], "1");
        assert!(!res.headers().contains_key("www-authenticate"));
    }
    assert_eq!(
        store.reads(),
        3,
        "a store that answers with an error is asked again: only timeouts hold misses back"
    );
    store.set_down(false);
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::OK,
        "errors are not cached"
    );
}

#[tokio::test]
async fn a_slow_store_is_cut_off_at_the_timeout() {
    let store = FakeStore::new();
    store.set_delay(Duration::from_secs(30));
    let cache = RevocationCache::builder(store)
        .store_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let auth = layer(cache);
    let t = token(claims(json!({"sub": unique("ian")})));
    let res = tokio::time::timeout(Duration::from_secs(10), send(&auth, &t))
        .await
        .expect("the request completes instead of hanging");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// After a timeout, other misses do not each wait for the timeout: they are
/// answered 503 at once, without asking the store, until the `Retry-After`
/// has passed; then one request asks the store again.
#[tokio::test]
async fn after_a_timeout_misses_are_answered_at_once_until_the_retry_after() {
    let store = FakeStore::new();
    store.set_delay(Duration::from_secs(30));
    let cache = RevocationCache::builder(store.clone())
        .store_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let retry_after = cache.retry_after();
    let auth = layer(cache);
    let request = |name: &str| token(claims(json!({"sub": unique(name)})));

    assert_eq!(send(&auth, &request("jill")).await.status(), 503);
    assert_eq!(store.reads(), 1, "the first asks the store and times out");
    for name in ["kate", "liam", "mona"] {
        let res = send(&auth, &request(name)).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(kind(&res), Some(ErrorKind::StoreUnavailable));
    }
    assert_eq!(
        store.reads(),
        1,
        "held back: answered without asking (or waiting for) the store"
    );

    tokio::time::sleep(retry_after + Duration::from_millis(100)).await;
    assert_eq!(send(&auth, &request("nina")).await.status(), 503);
    assert_eq!(
        store.reads(),
        2,
        "after the Retry-After, one request asks again"
    );
}

#[tokio::test]
async fn last_known_answers_are_served_for_a_bounded_time_when_configured() {
    let store = FakeStore::new();
    let auth = layer(stale_cache(store.clone(), Duration::from_millis(600)));
    let sub = unique("judy");
    let t = i64::try_from(now()).unwrap() + 10;
    store.inner().revoke_subject("", &sub, t).await.unwrap();
    // Let the revocation's own invalidation event pass before the answer is cached.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let current = token(claims(json!({"sub": sub, "iat": t + 1})));
    let old = token(claims(json!({"sub": sub, "iat": t})));
    assert_eq!(send(&auth, &current).await.status(), StatusCode::OK);

    store.set_down(true);
    tokio::time::sleep(Duration::from_millis(300)).await; // past the TTL, within TTL + 600 ms
    assert_eq!(
        send(&auth, &current).await.status(),
        StatusCode::OK,
        "last known not-before"
    );
    assert_eq!(
        kind(&send(&auth, &old).await),
        Some(ErrorKind::Revoked),
        "still enforced"
    );

    tokio::time::sleep(Duration::from_millis(700)).await; // past TTL + 600 ms
    assert_eq!(
        send(&auth, &current).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_read_before_a_revocation_is_not_served_as_the_last_known_one() {
    let store = FakeStore::new();
    let revocation = stale_cache(store.clone(), Duration::from_secs(10));
    let auth = layer(revocation.clone());
    let sub = unique("ivan");
    let t = token(claims(json!({"sub": sub})));
    // Two requests for the subject: one asks the store, the other waits
    // for that answer. The store reads "not revoked" at once and replies
    // 400 ms later; the subject is revoked in between.
    store.set_answer_late(Duration::from_millis(400));
    let requests: Vec<_> = (0..2)
        .map(|_| {
            let (auth, t) = (auth.clone(), t.clone());
            tokio::spawn(async move { send(&auth, &t).await.status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    revocation.revoke_user("", &sub).await.unwrap();
    for r in requests {
        // Asked before the revocation, answered with what the store said then.
        assert_eq!(r.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(store.reads(), 1, "one query for the two requests");

    // The store goes down and the answer goes stale: the reply that left
    // the store before the revocation must not stand in for the store.
    store.set_answer_late(Duration::ZERO);
    store.set_down(true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no last known answer from before the revocation"
    );
}

#[tokio::test]
async fn without_serve_stale_an_expired_entry_is_not_used_while_down() {
    let store = FakeStore::new();
    let auth = layer(cache_for(store.clone(), Duration::from_millis(100)));
    let t = token(claims(json!({"sub": unique("kim")})));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    store.set_down(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "fail closed"
    );
}

#[tokio::test]
async fn a_pass_remembered_in_a_token_ends_with_the_answers_it_was_made_of() {
    let store = FakeStore::new();
    let auth = layer(cache_for(store.clone(), Duration::from_millis(1500)));
    let t = token(claims(json!({"sub": unique("lea"), "sid": unique("s")})));
    // The first request probes and remembers its pass; the next ones pass
    // on it, the store untouched.
    for _ in 0..5 {
        assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    }
    assert_eq!(store.reads(), 2);
    store.set_down(true);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the answers went stale, and the pass made of them with them"
    );
}

#[tokio::test]
async fn configured_claim_names_are_used() {
    let store = MemoryStore::new();
    let revocation = RevocationCache::builder(store)
        .versioned_issuer("")
        .build()
        .unwrap();
    let auth = auth_layer::JwtAuth::builder()
        .hmac_secret(common::SECRET)
        .revocation(revocation.clone())
        .version_claim("tv")
        .session_claim("session")
        .build()
        .unwrap();
    let (sub, sid) = (unique("leo"), unique("s"));
    let t = token(claims(json!({"sub": sub, "tv": 1, "session": sid})));
    revocation
        .revoke_user_at("", &sub, ahead(10))
        .await
        .unwrap();
    assert_eq!(
        send(&auth, &t).await.status(),
        StatusCode::OK,
        "tv 1 == current version 1"
    );
    revocation.revoke_session("", &sid).await.unwrap();
    assert_eq!(kind(&send(&auth, &t).await), Some(ErrorKind::Revoked));
}

#[test]
fn building_outside_a_runtime_is_a_clear_error() {
    let err = RevocationCache::builder(MemoryStore::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("inside a tokio runtime"), "{err}");
}

#[tokio::test]
async fn a_resubscribed_listener_drops_every_cached_answer() {
    // Revocations published while a listener was disconnected were missed;
    // after it subscribes again the cache must not trust what it holds.
    let store = FakeStore::new();
    let revocation = cache(store.clone());
    let auth = layer(revocation.clone());
    let sub = unique("mia");
    let t = token(claims(json!({"sub": sub})));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    let queries = store.reads();
    revocation
        .invalidate(&auth_layer::revocation::RevocationEvent::Resubscribed)
        .await;
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    assert_eq!(store.reads(), queries + 1, "the answer was asked again");
}

/// A store whose continuity marker changes (its data was lost) makes every
/// token issued before the new marker fail, including tokens of subjects
/// whose revocation records were lost, and is logged at ERROR.
#[tokio::test]
async fn a_new_store_marker_refuses_every_token_issued_before_it() {
    let logs = auth_tests::logs::logs();
    let store = FakeStore::new();
    let revocation = cache(store.clone());
    let auth = layer(revocation.clone());
    let before = i64::try_from(now()).unwrap();
    let old = token(claims(json!({"sub": unique("olga"), "iat": before})));
    assert_eq!(send(&auth, &old).await.status(), StatusCode::OK);
    let first = revocation
        .store_marker()
        .expect("read with the first lookup");

    store.set_marker(Some(before + 5));
    // The next lookup of any record reads the marker again.
    let other = token(claims(json!({"sub": unique("pete"), "iat": before + 6})));
    assert_eq!(send(&auth, &other).await.status(), StatusCode::OK);
    assert_eq!(revocation.store_marker(), Some(before + 5));
    assert!(first < before + 5);
    let res = send(&auth, &old).await;
    assert_eq!(
        (res.status(), kind(&res)),
        (StatusCode::UNAUTHORIZED, Some(ErrorKind::Revoked)),
        "a token from before the loss is refused, even from the cache"
    );
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("ERROR") && l.contains("continuity marker changed")),
        "{text}"
    );
}

/// A lookup that read the store before a revocation, and answers after the
/// revocation's event was applied, does not leave its old answer cached:
/// the next request asks again and is refused (not after the 60 s TTL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_read_before_a_revocation_is_not_cached_after_its_event() {
    let store = FakeStore::new();
    let revocation = cache(store.clone());
    let auth = layer(revocation.clone());
    let sub = unique("rita");
    let t = token(claims(json!({"sub": sub})));
    // The store's answer (read now: not revoked) arrives 300 ms later.
    store.set_delay(Duration::from_millis(300));
    let racing = tokio::spawn({
        let (auth, t) = (auth.clone(), t.clone());
        async move { send(&auth, &t).await.status() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    store.set_delay(Duration::ZERO);
    // Revoked meanwhile, through the store: its event reaches the cache.
    store
        .inner()
        .revoke_subject("", &sub, common::now_i64() + 10)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        racing.await.unwrap(),
        StatusCode::OK,
        "the request that raced the revocation"
    );
    let res = send(&auth, &t).await;
    assert_eq!(
        kind(&res),
        Some(ErrorKind::Revoked),
        "the next request is refused at once"
    );
}
