//! Refresh throughput per backend: `Sessions::refresh` end to end (session
//! read, version read, atomic rotation, signing the new access token), 16
//! sessions refreshing concurrently on a 2-thread runtime.
//!
//! ```sh
//! cargo bench -p auth-layer --features redis,postgres --bench refresh
//! ```
//!
//! Memory always; Redis and PostgreSQL when `AUTH_TEST_REDIS_URL` /
//! `AUTH_TEST_DATABASE_URL` are set (and the features are on). Criterion's
//! `thrpt` line is refreshes per second.
#![allow(missing_docs, reason = "criterion generates the entry point")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "bench setup fails loudly"
)]

use std::time::{Duration, Instant};

use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::session::{SessionStore, Sessions, SigningKey, TokenIssuer, TokenPair};
use auth_layer::store::MemoryStore;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
/// Sessions refreshing at once.
const CONCURRENCY: u64 = 16;

/// One store for sessions and revocation.
fn sessions(store: impl SessionStore + RevocationStore + Clone) -> Sessions {
    let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
        .issuer("https://auth.bench")
        .audience("bench")
        .build()
        .unwrap();
    let revocation = RevocationCache::builder(store.clone()).build().unwrap();
    Sessions::builder(issuer, store, revocation)
        .build()
        .unwrap()
}

/// The backends this machine offers.
fn backends(runtime: &tokio::runtime::Runtime) -> Vec<(&'static str, Sessions)> {
    runtime.block_on(async {
        let mut backends = vec![("memory", sessions(MemoryStore::new()))];
        #[cfg(feature = "redis")]
        if let Some(url) = std::env::var("AUTH_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let prefix = format!("bench-{}:", std::process::id());
            let store = auth_layer::store::RedisStore::connect(&url).await.unwrap();
            backends.push(("redis", sessions(store.with_prefix(prefix).unwrap())));
        }
        #[cfg(feature = "postgres")]
        if let Some(url) = std::env::var("AUTH_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let store = auth_layer::store::PostgresStore::connect(&url)
                .await
                .unwrap();
            backends.push(("postgres", sessions(store)));
        }
        backends
    })
}

/// `iters` refreshes spread over [`CONCURRENCY`] sessions, timed; the logins
/// are not.
async fn refreshes(sessions: &Sessions, iters: u64) -> Duration {
    let mut chains = Vec::new();
    for i in 0..CONCURRENCY {
        let pair = sessions
            .login(&format!("bench-{i}"), serde_json::Value::Null)
            .await
            .unwrap();
        let rounds = iters / CONCURRENCY + u64::from(i < iters % CONCURRENCY);
        chains.push((pair, rounds));
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (mut pair, rounds) in chains {
        let sessions = sessions.clone();
        tasks.spawn(async move {
            for _ in 0..rounds {
                pair = rotate(&sessions, &pair).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    start.elapsed()
}

async fn rotate(sessions: &Sessions, pair: &TokenPair) -> TokenPair {
    sessions
        .refresh(pair.refresh_token().as_str())
        .await
        .expect("a refresh")
        .into_pair()
        .expect("a rotation")
}

fn refresh_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("refresh");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(10));
    for (name, sessions) in backends(&runtime) {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| runtime.block_on(refreshes(&sessions, iters)));
        });
    }
    group.finish();
}

criterion_group!(benches, refresh_throughput);
criterion_main!(benches);
