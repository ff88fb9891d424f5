//! The Redis store on a real Redis Cluster that each test starts itself
//! (three primaries, three replicas, on loopback; `redis-server` from
//! `AUTH_TEST_REDIS_SERVER`): the store contract, every session rule,
//! revocation events between instances subscribed to different nodes, a
//! primary failing over under load, and the same over TLS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::time::Duration;

use auth_layer::ErrorKind;
use auth_layer::revocation::RevocationCache;
use auth_layer::store::{RedisStore, StoreOptions};
use auth_tests::revocation_contract::{self as contract, claims, kind, now, send, token};
use auth_tests::servers::{RedisCluster, TestCa};
use auth_tests::services::unique;
use auth_tests::session_scenarios::{self as scenarios, Harness};
use http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

/// A store on `url` with a prefix no other test uses.
async fn store(url: &str) -> RedisStore {
    auth_tests::services::marked(
        RedisStore::connect(url)
            .await
            .expect("connect to the cluster")
            .with_prefix(format!("{}:", unique("c")))
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn the_store_contract_holds_on_a_cluster() {
    let cluster = RedisCluster::start(None).await;
    let store = store(&cluster.url()).await;
    assert!(store.is_cluster());
    contract::store_contract(store.clone()).await;
    contract::layer_contract(store).await;
}

/// Every session rule, each scenario on keys of its own: the scripts touch
/// one key each, so none is refused as CROSSSLOT.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn sessions_keep_every_rule_on_a_cluster() {
    let cluster = RedisCluster::start(None).await;
    let url = cluster.url();
    let harness = || async { Harness::new(store(&url).await) };
    let grace = || async {
        Harness::with(store(&url).await, |b| {
            b.retry_window(Duration::ZERO)
                .danger_reuse_grace(Duration::from_secs(5))
        })
    };
    scenarios::rotation(&harness().await).await;
    scenarios::reuse_revokes_the_family(&harness().await).await;
    scenarios::grace_window(&grace().await).await;
    scenarios::absolute_and_idle_limits(&harness().await).await;
    scenarios::version_bump_blocks_refresh(&harness().await).await;
    scenarios::reauth_required(&harness().await).await;
    scenarios::logout_one_and_everywhere(&harness().await).await;
    scenarios::garbage_changes_nothing(&harness().await).await;
    let no_retry = Harness::with(store(&url).await, |b| b.retry_window(Duration::ZERO));
    scenarios::concurrent_refreshes(&no_retry, 50, false).await;
    scenarios::racing_retries_share_one_successor(&harness().await, 50).await;
    scenarios::retry_after_a_lost_answer(&harness().await).await;
    scenarios::concurrent_refreshes(&grace().await, 50, true).await;
}

/// Two instances whose event subscriptions sit on different nodes (each
/// subscribes to the first seed node that answers): a revocation through
/// one reaches the other through the cluster bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn revocations_reach_instances_subscribed_to_other_nodes() {
    let cluster = RedisCluster::start(None).await;
    let ports = cluster.ports();
    let a = store(&cluster.url_with(vec![ports[0], ports[1]])).await;
    let b = auth_tests::services::marked(
        RedisStore::connect(&cluster.url_with(vec![ports[2], ports[1]]))
            .await
            .unwrap()
            .with_prefix(a.prefix())
            .unwrap(),
    )
    .await;
    let took = contract::propagation(a, b).await;
    eprintln!("cluster: a revocation reached an instance on another node after {took:?}");
}

/// A primary crashes while requests come in: until its replica is promoted,
/// every answer is the right one or a 503. A revoked token is never let
/// through (no wrong 200), a valid one never refused (no wrong 401), and
/// once the cluster has settled both are answered right again, and new
/// revocations work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn a_failover_answers_503_at_worst_never_a_wrong_200() {
    let mut cluster = RedisCluster::start(None).await;
    let store = store(&cluster.url()).await;
    // A short TTL, so that requests keep reading the store during the failover.
    let cache = RevocationCache::builder(store.clone())
        .ttl(Duration::from_millis(100))
        .store_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let auth = contract::layer(cache.clone());

    let revoked = unique("revoked");
    let subject_key = format!("{}subject:0::{revoked}", store.prefix());
    let (primary, replica) = cluster.shard_of(&subject_key);
    // Every token of it issued within the next 30 s is refused.
    let revoked_until = now() + 30;
    cache
        .revoke_user_at("", &revoked, contract::ahead(30))
        .await
        .unwrap();
    // Replication is asynchronous: wait until the replica holds the
    // revocation, which is what a failover can promise to keep.
    let start = Instant::now();
    loop {
        let held = cluster.replica_hget(replica, &subject_key, "nbf");
        if held.as_deref() == Some(revoked_until.to_string().as_str()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the replica at {replica} (of {primary}) holds {held:?} for {subject_key}: {}",
            cluster.ask(replica, &["CLUSTER", "NODES"])
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another instance, whose event subscription sits on the primary about
    // to die (its first seed node), caching for a minute: only events can
    // tell it of a revocation.
    let others: Vec<u16> = cluster
        .ports()
        .into_iter()
        .filter(|p| *p != primary)
        .collect();
    let listening = auth_tests::services::marked(
        RedisStore::connect(&cluster.url_with(vec![primary, others[0]]))
            .await
            .unwrap()
            .with_prefix(store.prefix())
            .unwrap(),
    )
    .await;
    let listening = contract::layer(
        RevocationCache::builder(listening)
            .ttl(Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    let old = token(claims(json!({"sub": revoked})));
    let valid = |i: usize| token(claims(json!({"sub": format!("{revoked}-ok-{i}")})));
    assert_eq!(kind(&send(&auth, &old).await), Some(ErrorKind::Revoked));
    assert_eq!(send(&auth, &valid(0)).await.status(), StatusCode::OK);

    cluster.kill(primary);
    let killed = Instant::now();
    let (mut unavailable, mut right, mut settled_at) = (0, 0, None);
    let mut i = 0;
    while killed.elapsed() < Duration::from_secs(30) {
        i += 1;
        let res = send(&auth, &old).await;
        match (res.status(), kind(&res)) {
            (StatusCode::UNAUTHORIZED, Some(ErrorKind::Revoked)) => right += 1,
            (StatusCode::SERVICE_UNAVAILABLE, Some(ErrorKind::StoreUnavailable)) => {
                unavailable += 1;
            }
            other => panic!("the revoked token after {:?}: {other:?}", killed.elapsed()),
        }
        let res = send(&auth, &valid(i)).await;
        match (res.status(), kind(&res)) {
            (StatusCode::OK, None) => right += 1,
            (StatusCode::SERVICE_UNAVAILABLE, Some(ErrorKind::StoreUnavailable)) => {
                unavailable += 1;
            }
            other => panic!("a valid token after {:?}: {other:?}", killed.elapsed()),
        }
        if settled_at.is_none()
            && cluster
                .ask(replica, &["INFO", "replication"])
                .contains("role:master")
        {
            settled_at = Some(killed.elapsed());
        }
        if let Some(at) = settled_at
            && killed.elapsed() > at + Duration::from_secs(3)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let promoted = settled_at.expect("the replica was promoted within 30 s");
    eprintln!(
        "failover: replica promoted {promoted:?} after the primary died; {right} right answers, \
         {unavailable} 503s, no wrong answer"
    );
    cluster.settled().await;
    assert_eq!(kind(&send(&auth, &old).await), Some(ErrorKind::Revoked));
    assert_eq!(send(&auth, &valid(0)).await.status(), StatusCode::OK);

    // Writes to the promoted node's slots work (its script cache started
    // empty): the same subject revoked again, a session there revoked.
    let second = token(claims(json!({"sub": revoked, "iat": revoked_until + 1})));
    assert_eq!(send(&auth, &second).await.status(), StatusCode::OK);
    let state = cache
        .revoke_user_at("", &revoked, contract::ahead(40))
        .await
        .unwrap();
    assert_eq!(state.version, 2);
    assert_eq!(kind(&send(&auth, &second).await), Some(ErrorKind::Revoked));
    let sid = (0..)
        .map(|i| format!("{revoked}-sid-{i}"))
        .find(|sid| {
            cluster
                .primary_of(&format!("{}revoked-session:0::{sid}", store.prefix()))
                .1
                == replica
        })
        .unwrap();
    let in_session = token(claims(json!({"sub": unique("s"), "sid": sid})));
    assert_eq!(send(&auth, &in_session).await.status(), StatusCode::OK);
    cache.revoke_session("", &sid).await.unwrap();
    assert_eq!(
        kind(&send(&auth, &in_session).await),
        Some(ErrorKind::Revoked)
    );

    // The instance whose subscription died with its node hears again.
    let later = unique("later");
    let t = token(claims(json!({"sub": later})));
    assert_eq!(send(&listening, &t).await.status(), StatusCode::OK);
    cache.revoke_user("", &later).await.unwrap();
    let bumped = Instant::now();
    while kind(&send(&listening, &t).await) != Some(ErrorKind::Revoked) {
        assert!(
            bumped.elapsed() < Duration::from_secs(10),
            "the instance subscribed to the dead node never heard of the revocation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "failover: the instance subscribed to the dead node heard a revocation {:?} after it",
        bumped.elapsed()
    );
}

/// `rediss+cluster://` with the cluster's private CA: the contract holds
/// over TLS; with another CA, start-up fails with an error naming the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn a_tls_cluster_with_its_ca_and_not_without() {
    let ca = TestCa::new("cluster test CA");
    let cluster = RedisCluster::start(Some(&ca)).await;
    let url = cluster.url();
    assert!(url.starts_with("rediss+cluster://"), "{url}");
    let store = StoreOptions::new(&url)
        .ca_file(cluster.ca_file().unwrap())
        .connect()
        .await
        .unwrap();
    contract::layer_contract(store).await;

    let dir = auth_tests::servers::ScratchDir::new("other-ca");
    let other = TestCa::new("another CA").write(dir.path(), "other.pem");
    let options = StoreOptions::new(&url).ca_file(other);
    let error = tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .expect("refused, not hung")
        .unwrap_err()
        .to_string();
    assert!(error.contains(&url), "{error}");
    eprintln!("another CA: {error}");
}
