//! The cost of checking a DPoP proof against the one signature check it
//! cannot avoid:
//!
//! - `bare`: `jsonwebtoken::crypto::verify` of a fresh proof's signature,
//!   its key already built;
//! - `proof`: [`DpopVerifier::verify`] of a fresh proof (every rule of RFC
//!   9449 section 4.3: the JSON read strictly, the key built from the
//!   proof's `jwk`, the signature, the claims, `ath`, the thumbprint and
//!   the replay memory).
//!
//! for ES256 and EdDSA client keys. Each iteration gets a proof made in
//! the untimed setup (a proof passes once).
//!
//! ```sh
//! cargo bench -p auth-layer --bench dpop
//! ```
//!
//! The keys in `tests/keys/` are public test keys.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failed setup fails loudly"
)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_layer::dpop::{DpopVerifier, ProofRequest};
use auth_layer::keys::Algorithm;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::json;

const URI: &str = "https://api.example/orders";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

struct Client {
    name: &'static str,
    alg: Algorithm,
    key: EncodingKey,
    jwk: serde_json::Value,
    decoding: DecodingKey,
}

fn clients() -> Vec<Client> {
    let ec =
        EncodingKey::from_ec_pem(include_bytes!("../../tests/keys/ec_p256_private.pem")).unwrap();
    let ed =
        EncodingKey::from_ed_pem(include_bytes!("../../tests/keys/ed25519_private.pem")).unwrap();
    [
        ("es256", Algorithm::ES256, ec),
        ("eddsa", Algorithm::EdDSA, ed),
    ]
    .into_iter()
    .map(|(name, alg, key)| {
        let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        Client {
            name,
            alg,
            key,
            jwk: serde_json::to_value(jwk).unwrap(),
            decoding,
        }
    })
    .collect()
}

fn proof(client: &Client, now: i64, n: u64) -> String {
    let header = json!({ "typ": "dpop+jwt", "alg": auth_layer::keys::algorithm_name(client.alg), "jwk": client.jwk });
    let ath = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(TOKEN));
    let claims =
        json!({ "jti": format!("proof-{n}"), "htm": "GET", "htu": URI, "iat": now, "ath": ath });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &client.key, client.alg).unwrap();
    format!("{input}.{signature}")
}

fn dpop(c: &mut Criterion) {
    let verifier = DpopVerifier::builder().build().unwrap();
    let counter = AtomicU64::new(0);
    let now = || {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    };
    let request = ProofRequest::new("GET", URI).access_token(TOKEN);
    let mut group = c.benchmark_group("dpop");
    for client in clients() {
        // Both under the same conditions: a proof signed in the untimed
        // setup, then checked (its signature alone, or the whole proof).
        group.bench_function(format!("{}_bare", client.name), |b| {
            b.iter_batched(
                || proof(&client, now(), u64::MAX),
                |p| {
                    let (signed, signature) = p.rsplit_once('.').unwrap();
                    jsonwebtoken::crypto::verify(
                        black_box(signature),
                        black_box(signed.as_bytes()),
                        &client.decoding,
                        client.alg,
                    )
                    .unwrap()
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(format!("{}_proof", client.name), |b| {
            b.iter_batched(
                || proof(&client, now(), counter.fetch_add(1, Ordering::Relaxed)),
                |p| verifier.verify(black_box(&p), &request).unwrap(),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, dpop);
criterion_main!(benches);
