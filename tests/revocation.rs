//! Revocation end to end: two instances (two servers on ephemeral ports,
//! each with its own store connection and cache) sharing one store. A
//! revocation through one is enforced by the other within 100 ms with a
//! 60 s cache TTL; 100 concurrent requests for an uncached subject make one
//! store query. Run against the in-memory store always, and against Redis
//! and PostgreSQL when `AUTH_TEST_REDIS_URL` / `AUTH_TEST_DATABASE_URL` are set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use auth_layer::JwtAuth;
use auth_layer::revocation::{
    BoxFuture, EventSender, MemoryStore, RevocationCache, RevocationStore, StoreError,
};
use common::{SECRET, TestServer, build, claims_with, hs256, serve};
use serde_json::json;

/// Which store an instance talks to.
#[derive(Clone)]
enum Backend {
    Memory(MemoryStore),
    Url(String),
}

impl Backend {
    /// The backends this machine offers; prints which are skipped.
    fn available() -> Vec<(&'static str, Backend)> {
        let mut backends = vec![("memory", Backend::Memory(MemoryStore::new()))];
        for (name, var) in [
            ("redis", "AUTH_TEST_REDIS_URL"),
            ("postgres", "AUTH_TEST_DATABASE_URL"),
        ] {
            match std::env::var(var) {
                Ok(url) if !url.is_empty() => backends.push((name, Backend::Url(url))),
                _ => eprintln!("skipped the {name} backend: {var} is not set"),
            }
        }
        backends
    }

    /// A new connection, as a new instance would open.
    async fn connect(&self) -> Box<dyn RevocationStore> {
        match self {
            Backend::Memory(store) => Box::new(store.clone()),
            Backend::Url(url) => auth_layer::revocation::connect(url)
                .await
                .unwrap_or_else(|e| panic!("cannot reach {url}: {e}")),
        }
    }
}

/// Counts the reads that reach the store.
struct Counting<S> {
    inner: S,
    reads: Arc<AtomicUsize>,
}

impl<S: RevocationStore> Counting<S> {
    fn count<'a, T: 'a>(
        &'a self,
        read: impl FnOnce() -> BoxFuture<'a, T> + Send + 'a,
    ) -> BoxFuture<'a, T> {
        Box::pin(async move {
            self.reads.fetch_add(1, Ordering::SeqCst);
            read().await
        })
    }
}

impl<S: RevocationStore> RevocationStore for Counting<S> {
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        self.count(|| self.inner.user_version(sub))
    }
    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.count(|| self.inner.session_revoked(sid))
    }
    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.count(|| self.inner.jti_denied(jti))
    }
    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        self.inner.bump_user_version(sub)
    }
    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.revoke_session(sid)
    }
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.revoke_jti(jti, until)
    }
    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        self.inner.listen(events)
    }
}

/// One instance: its own store connection and cache (TTL 60 s) behind a server.
async fn instance(store: impl RevocationStore) -> (TestServer, RevocationCache) {
    let cache = RevocationCache::builder(store)
        .ttl(Duration::from_secs(60))
        .build()
        .expect("revocation cache");
    let auth: JwtAuth = build(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .revocation(cache.clone()),
    );
    (serve(auth).await, cache)
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_instance_is_enforced_by_the_other_within_100_ms() {
    for (name, backend) in Backend::available() {
        let (a, cache_a) = instance(backend.connect().await).await;
        let (b, _) = instance(backend.connect().await).await;
        // Let both instances' event subscriptions settle.
        tokio::time::sleep(Duration::from_millis(300)).await;

        let cases: [(&str, serde_json::Value); 2] = [
            ("user version", json!({"ver": 0})),
            ("session", json!({"sid": unique("sid")})),
        ];
        for (what, extra) in cases {
            let sub = unique("alice");
            let token = hs256(&claims_with(&sub, extra.clone()));
            a.bearer(&token).await.assert_ok(&sub);
            b.bearer(&token).await.assert_ok(&sub); // B caches "not revoked" for 60 s

            let start = Instant::now();
            match extra.get("sid").and_then(|v| v.as_str()) {
                Some(sid) => cache_a.revoke_session(sid).await.unwrap(),
                None => drop(cache_a.bump_user_version(&sub).await.unwrap()),
            }
            loop {
                let reply = b.bearer(&token).await;
                if reply.status == 401 {
                    reply.assert_rejected(401, "token_revoked");
                    eprintln!(
                        "{name}: {what} revocation enforced by the other instance after {:?}",
                        start.elapsed()
                    );
                    break;
                }
                assert_eq!(reply.status, 200, "{name}: {reply:?}");
                assert!(
                    start.elapsed() < Duration::from_millis(100),
                    "{name}: the other instance still accepts a revoked token ({what}) after 100 ms"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            a.bearer(&token).await.assert_rejected(401, "token_revoked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_requests_for_an_uncached_subject_make_one_store_query() {
    for (name, backend) in Backend::available() {
        let reads = Arc::new(AtomicUsize::new(0));
        let store = Counting {
            inner: backend.connect().await,
            reads: Arc::clone(&reads),
        };
        let (server, _) = instance(store).await;
        let server = Arc::new(server);
        let sub = unique("bob");
        let token = Arc::new(hs256(&claims_with(&sub, json!({"ver": 0}))));
        let requests: Vec<_> = (0..100)
            .map(|_| {
                let (server, token) = (Arc::clone(&server), Arc::clone(&token));
                tokio::spawn(async move { server.bearer(&token).await.status })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), 200, "{name}");
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "{name}: store reads for 100 requests"
        );
    }
}
