//! The revocation cache on its hot path: the verdict for a token whose
//! subject (and session) of its issuer are cached, asked again and again
//! for the same verified token, as the verified-token cache hands it out
//! (what every request pays): the pass remembered in the token, checked
//! against the cache's epoch and the clock. The first verdict on a token,
//! and the first after any entry was dropped, probes the caches instead
//! (the `_first` cases): the required claims, the store's marker, one probe
//! for the subject and one more for the session, and the pass remembered.
//!
//! ```sh
//! cargo bench -p auth-layer --bench revocation
//! ```
#![allow(missing_docs, reason = "criterion generates the entry point")]
#![allow(clippy::unwrap_used, reason = "bench setup fails loudly")]

use std::hint::black_box;
use std::time::Duration;

use auth_layer::JwtAuth;
use auth_layer::revocation::RevocationCache;
use auth_layer::store::MemoryStore;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{EncodingKey, Header, encode};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";

fn revocation_cache_hit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = runtime.block_on(async {
        RevocationCache::builder(MemoryStore::new())
            .ttl(Duration::from_secs(3600))
            .build()
            .unwrap()
    });
    let auth = JwtAuth::builder().hmac_secret(SECRET).build().unwrap();
    let iat = jsonwebtoken::get_current_timestamp();
    let exp = iat + 3600;
    let iss = "https://login.example.com/realms/main";
    let mut group = c.benchmark_group("revocation_cache_hit");
    for (name, claims) in [
        (
            "subject",
            serde_json::json!({"iss": iss, "sub": "alice", "iat": iat, "exp": exp}),
        ),
        (
            "subject_and_session",
            serde_json::json!({"iss": iss, "sub": "alice", "sid": "s-1", "iat": iat, "exp": exp}),
        ),
    ] {
        let token = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        let verified = auth.verifier().verify(&token).unwrap();
        // Warm the caches through the store once.
        runtime.block_on(async {
            let headers = http::HeaderMap::from_iter([(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            )]);
            let with_revocation = JwtAuth::builder()
                .hmac_secret(SECRET)
                .revocation(cache.clone())
                .build()
                .unwrap();
            with_revocation
                .authenticate(&http::Method::GET, &headers, &http::Uri::from_static("/"))
                .await
                .unwrap();
        });
        assert!(
            matches!(cache.cached_verdict(&verified), Some(Ok(()))),
            "warm cache"
        );
        group.bench_function(name, |b| {
            b.iter(|| cache.cached_verdict(black_box(&verified)))
        });
        // A token's first verdict: a fresh verified token each time (made
        // outside the timing), so the caches are probed and the pass is
        // remembered.
        group.bench_function(format!("{name}_first"), |b| {
            b.iter_batched(
                || auth.verifier().verify_uncached(&token).unwrap(),
                // The token handed back, dropped outside the timing.
                |fresh| (cache.cached_verdict(black_box(&fresh)), fresh),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, revocation_cache_hit);
criterion_main!(benches);
