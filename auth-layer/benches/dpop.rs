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
//! for ES256 and EdDSA client keys; and a whole request through the layer
//! (`JwtAuth::authenticate`, the token from the verified-token cache):
//!
//! - `hit_plus_bare`: a bearer request whose token is cached, plus the
//!   bare signature check above: what a DPoP request cannot cost less than;
//! - `layer`: a DPoP request, its bound token cached and a fresh proof
//!   checked by the layer (`public_url` set, no revocation).
//!
//! Each iteration gets a proof made in the untimed setup (a proof passes
//! once).
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

use auth_layer::JwtAuth;
use auth_layer::dpop::{DpopVerifier, ProofRequest, jwk_thumbprint};
use auth_layer::keys::Algorithm;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::json;

const URI: &str = "https://api.example/orders";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";

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

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn proof(client: &Client, now: i64, n: u64) -> String {
    proof_for(client, now, n, TOKEN)
}

fn proof_for(client: &Client, now: i64, n: u64, token: &str) -> String {
    let header = json!({ "typ": "dpop+jwt", "alg": auth_layer::keys::algorithm_name(client.alg), "jwk": client.jwk });
    let ath = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(token));
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

/// An HS256 access token for `alice`, bound to `jkt` when given.
fn access_token(jkt: Option<&str>) -> String {
    let mut claims = json!({ "sub": "alice", "exp": 4_000_000_000_u64, "iat": 1_700_000_000_u64 });
    if let (Some(jkt), Some(map)) = (jkt, claims.as_object_mut()) {
        map.insert("cnf".to_owned(), json!({ "jkt": jkt }));
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn headers(token: &str, proof: Option<String>) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let scheme = if proof.is_some() { "DPoP" } else { "Bearer" };
    headers.insert(
        http::header::AUTHORIZATION,
        format!("{scheme} {token}").parse().unwrap(),
    );
    if let Some(proof) = proof {
        headers.insert("dpop", proof.parse().unwrap());
    }
    headers
}

fn layer(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .dpop(DpopVerifier::builder().build().unwrap())
        .public_url("https://api.example")
        .build()
        .unwrap();
    let uri = http::Uri::from_static("/orders");
    let get = http::Method::GET;
    let counter = AtomicU64::new(0);
    let unbound = access_token(None);
    let plain = headers(&unbound, None);
    rt.block_on(auth.authenticate(&get, &plain, &uri)).unwrap();
    let mut group = c.benchmark_group("dpop_layer");
    for client in clients() {
        let jkt = jwk_thumbprint(client.jwk.as_object().unwrap()).unwrap();
        let bound = access_token(Some(&jkt));
        // The bound token cached, as in steady state.
        let warm = headers(&bound, Some(proof_for(&client, now(), u64::MAX, &bound)));
        rt.block_on(auth.authenticate(&get, &warm, &uri)).unwrap();
        group.bench_function(format!("{}_hit_plus_bare", client.name), |b| {
            b.iter_batched(
                || proof_for(&client, now(), u64::MAX, &bound),
                |p| {
                    let (signed, signature) = p.rsplit_once('.').unwrap();
                    let ok = jsonwebtoken::crypto::verify(
                        black_box(signature),
                        black_box(signed.as_bytes()),
                        &client.decoding,
                        client.alg,
                    )
                    .unwrap();
                    let hit = rt.block_on(auth.authenticate(&get, black_box(&plain), &uri));
                    (ok, hit.unwrap())
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(format!("{}_layer", client.name), |b| {
            b.iter_batched(
                || {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    headers(&bound, Some(proof_for(&client, now(), n, &bound)))
                },
                |h| {
                    rt.block_on(auth.authenticate(&get, black_box(&h), &uri))
                        .unwrap()
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, dpop, layer);
criterion_main!(benches);
