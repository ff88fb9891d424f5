//! The verifier per algorithm, beside direct `jsonwebtoken::decode`:
//!
//! - `decode`: `jsonwebtoken::decode::<DefaultClaims>` with the same key and
//!   an equivalent `Validation` (exp required, nbf, iss, aud, 60 s leeway);
//! - `miss`: [`Verifier::verify_uncached`], what a verified-token cache miss
//!   costs (the whole verification);
//! - `hit`: [`Verifier::verify`] on a warm verified-token cache.
//!
//! All three verify the same token bytes, one group per algorithm, so the
//! ratios `miss / decode` and `hit / decode` come from one run.
//!
//! `verify_hit_working_set` then times HS256 hits rotating over 1, 1000 and
//! 100 000 cached tokens of distinct subjects: the hit as a busy server
//! sees it, its cache no longer in the CPU's caches.
//!
//! ```sh
//! cargo bench -p auth-layer --bench verify
//! ```
//!
//! The keys in `tests/keys/` are public test keys, never to be used
//! outside benchmarks.
#![allow(missing_docs, reason = "criterion generates the entry point")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "bench setup fails loudly"
)]

use std::hint::black_box;

use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use auth_layer::keys::Algorithm;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};

const SECRET: &[u8] = b"a-secret-of-at-least-thirty-two-bytes!";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "orders-api";

/// One algorithm: how to sign, and the public half the verifier is given.
struct Case {
    name: &'static str,
    alg: Algorithm,
    signing: EncodingKey,
    public_pem: Option<&'static [u8]>,
    decoding: DecodingKey,
}

fn cases() -> Vec<Case> {
    let rsa_private = include_bytes!("../../tests/keys/rsa_private.pem");
    let rsa_public: &[u8] = include_bytes!("../../tests/keys/rsa_public.pem");
    let ec_private = include_bytes!("../../tests/keys/ec_p256_private.pem");
    let ec_public: &[u8] = include_bytes!("../../tests/keys/ec_p256_public.pem");
    let ed_private = include_bytes!("../../tests/keys/ed25519_private.pem");
    let ed_public: &[u8] = include_bytes!("../../tests/keys/ed25519_public.pem");
    vec![
        Case {
            name: "HS256",
            alg: Algorithm::HS256,
            signing: EncodingKey::from_secret(SECRET),
            public_pem: None,
            decoding: DecodingKey::from_secret(SECRET),
        },
        Case {
            name: "RS256",
            alg: Algorithm::RS256,
            signing: EncodingKey::from_rsa_pem(rsa_private).unwrap(),
            public_pem: Some(rsa_public),
            decoding: DecodingKey::from_rsa_pem(rsa_public).unwrap(),
        },
        Case {
            name: "PS256",
            alg: Algorithm::PS256,
            signing: EncodingKey::from_rsa_pem(rsa_private).unwrap(),
            public_pem: Some(rsa_public),
            decoding: DecodingKey::from_rsa_pem(rsa_public).unwrap(),
        },
        Case {
            name: "ES256",
            alg: Algorithm::ES256,
            signing: EncodingKey::from_ec_pem(ec_private).unwrap(),
            public_pem: Some(ec_public),
            decoding: DecodingKey::from_ec_pem(ec_public).unwrap(),
        },
        Case {
            name: "EdDSA",
            alg: Algorithm::EdDSA,
            signing: EncodingKey::from_ed_pem(ed_private).unwrap(),
            public_pem: Some(ed_public),
            decoding: DecodingKey::from_ed_pem(ed_public).unwrap(),
        },
    ]
}

/// A typical access token: about 300 bytes with HS256.
fn claims() -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp();
    serde_json::json!({
        "iss": ISSUER,
        "sub": "user-0000000042",
        "aud": AUDIENCE,
        "exp": now + 3600,
        "iat": now,
        "jti": "6f1c2a9e3b7d4e58",
        "ver": 0,
        "scope": "orders:read",
    })
}

fn verify(c: &mut Criterion) {
    for case in cases() {
        let builder = JwtAuth::builder()
            .algorithms([case.alg])
            .issuer(ISSUER)
            .audience(AUDIENCE);
        let builder = match case.public_pem {
            None => builder.hmac_secret(SECRET),
            Some(pem) => builder.public_key_pem(pem),
        };
        let auth = builder.build().unwrap();
        let verifier = auth.verifier();

        let mut validation = Validation::new(case.alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_nbf = true;
        validation.leeway = 60;

        let token = encode(&Header::new(case.alg), &claims(), &case.signing).unwrap();
        // Every path must accept the token, or the timings mean nothing.
        decode::<DefaultClaims>(&token, &case.decoding, &validation).unwrap();
        verifier.verify_uncached(&token).unwrap();
        verifier.verify(&token).unwrap();
        assert_eq!(verifier.cached_tokens(), 1, "{}: warm cache", case.name);
        eprintln!("{}: token of {} bytes", case.name, token.len());

        let mut group = c.benchmark_group(format!("verify/{}", case.name));
        group.bench_function("decode", |b| {
            b.iter(|| decode::<DefaultClaims>(black_box(&token), &case.decoding, &validation))
        });
        group.bench_function("miss", |b| {
            b.iter(|| verifier.verify_uncached(black_box(&token)))
        });
        group.bench_function("hit", |b| b.iter(|| verifier.verify(black_box(&token))));
        group.finish();
    }
}

/// Cache hits over a working set of distinct tokens, as a server sees them:
/// with many tokens in rotation, the cache's memory no longer stays in the
/// CPU's caches, and every hit pays its pointer chasing in full.
fn hit_working_set(c: &mut Criterion) {
    let key = EncodingKey::from_secret(SECRET);
    let mut group = c.benchmark_group("verify_hit_working_set/HS256");
    for size in [1_usize, 1_000, 100_000] {
        let auth = JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .token_cache_max_bytes(1 << 30)
            .build()
            .unwrap();
        let verifier = auth.verifier();
        let tokens: Vec<String> = (0..size)
            .map(|i| {
                let mut claims = claims();
                claims["sub"] = format!("user-{i:010}").into();
                encode(&Header::default(), &claims, &key).unwrap()
            })
            .collect();
        for token in &tokens {
            verifier.verify(token).unwrap();
        }
        assert_eq!(verifier.cached_tokens(), size as u64, "warm cache");
        let mut next = tokens.iter().cycle();
        group.bench_function(size.to_string(), |b| {
            b.iter(|| verifier.verify(black_box(next.next().unwrap())))
        });
    }
    group.finish();
}

criterion_group!(benches, verify, hit_working_set);
criterion_main!(benches);
