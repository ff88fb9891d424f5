//! The whole layer on its hot path, beside the bare inner service.
//!
//! One `JwtAuthService` is built per case and called in a loop
//! (`poll_ready` then `call`, as a server does), never rebuilt per
//! iteration. The inner service is a `service_fn` answering a small
//! `Response`; the bare case calls it directly with the same request (the
//! same `Authorization` header). Every iteration builds its request, as a
//! server's parser would just before calling the service (so the header is
//! in the CPU's cache, as in a server): that cost is in every case alike,
//! and `case - bare` is what the layer adds. Cases:
//!
//! - `bare`: the `service_fn` alone;
//! - `{alg}_hit`: the layer, the token in the verified-token cache;
//! - `{alg}_hit_revocation`: the same plus a warm revocation cache
//!   (in-memory store), so the store is never asked;
//! - `{alg}_no_token_cache`: the layer verifying the signature on every
//!   request (context: what the cache saves).
//!
//! Every future is polled once with a no-op waker and must be ready: a
//! pending future would mean the hot path waited on something.
//!
//! ```sh
//! cargo bench -p auth-layer --bench layer
//! ```
#![allow(missing_docs, reason = "criterion generates the entry point")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "bench setup fails loudly"
)]

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auth_layer::JwtAuth;
use auth_layer::keys::Algorithm;
use auth_layer::revocation::RevocationCache;
use auth_layer::store::MemoryStore;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response, header::AUTHORIZATION};
use http_body_util::Full;
use jsonwebtoken::{EncodingKey, Header, encode};
use tower::service_fn;
use tower_layer::Layer;
use tower_service::Service;

const SECRET: &[u8] = b"a-secret-of-at-least-thirty-two-bytes!";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "orders-api";

type Body = Full<Bytes>;

/// The inner service: a small response, as a trivial route would send.
async fn ok(_req: Request<()>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// Polls `future` once; it must be ready.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the hot path must not wait"),
    }
}

/// One request, as a server hands it to the service: `poll_ready`, `call`,
/// the response future.
fn serve<S>(svc: &mut S, req: Request<()>) -> Response<Body>
where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible>,
{
    let mut cx = Context::from_waker(Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("the inner service is always ready"),
    }
    now(svc.call(req)).unwrap()
}

fn request(authorization: &str) -> Request<()> {
    Request::builder()
        .uri("/")
        .header(AUTHORIZATION, authorization)
        .body(())
        .unwrap()
}

fn token(alg: Algorithm, key: &EncodingKey) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": "user-0000000042",
        "aud": AUDIENCE,
        "exp": now + 3600,
        "iat": now,
        "jti": "6f1c2a9e3b7d4e58",
        "ver": 0,
        "scope": "orders:read",
    });
    encode(&Header::new(alg), &claims, key).unwrap()
}

fn layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let revocation = runtime.block_on(async {
        RevocationCache::builder(MemoryStore::new())
            .ttl(Duration::from_secs(3600))
            .build()
            .unwrap()
    });
    let rsa_private = include_bytes!("../../tests/keys/rsa_private.pem");
    let rsa_public: &[u8] = include_bytes!("../../tests/keys/rsa_public.pem");
    let algorithms = [
        (
            "hs256",
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET),
            None,
        ),
        (
            "rs256",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(rsa_private).unwrap(),
            Some(rsa_public),
        ),
    ];

    let mut group = c.benchmark_group("layer");
    let bare_header = format!(
        "Bearer {}",
        token(Algorithm::HS256, &EncodingKey::from_secret(SECRET))
    );
    let mut bare = service_fn(ok);
    group.bench_function("bare", |b| {
        b.iter(|| serve(&mut bare, request(black_box(&bare_header))))
    });

    for (name, alg, signing, public_pem) in algorithms {
        let authorization = format!("Bearer {}", token(alg, &signing));
        for (variant, token_cache, with_revocation) in [
            ("hit", true, false),
            ("hit_revocation", true, true),
            ("no_token_cache", false, false),
        ] {
            let mut builder = JwtAuth::builder()
                .algorithms([alg])
                .issuer(ISSUER)
                .audience(AUDIENCE);
            builder = match public_pem {
                None => builder.hmac_secret(SECRET),
                Some(pem) => builder.public_key_pem(pem),
            };
            if !token_cache {
                builder = builder.disable_token_cache();
            }
            if with_revocation {
                builder = builder.revocation(revocation.clone());
            }
            let auth = builder.build().unwrap();
            let mut svc = auth.layer(service_fn(ok));
            // Warm the caches: the first request may ask the store.
            let warm = runtime.block_on(async {
                std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
                svc.call(request(&authorization)).await.unwrap()
            });
            assert_eq!(warm.status(), 200, "{name}_{variant}: token accepted");
            assert_eq!(
                serve(&mut svc, request(&authorization)).status(),
                200,
                "{name}_{variant}: warm"
            );
            group.bench_function(format!("{name}_{variant}"), |b| {
                b.iter(|| serve(&mut svc, request(black_box(&authorization))))
            });
        }
    }

    // A Keycloak-shaped token (about 1 KB, roles under `realm_access` and
    // `resource_access`): a hit with the default grant claims, with the
    // Keycloak preset, and with the preset and a role guard after the layer.
    let keycloak = format!(
        "Bearer {}",
        encode(
            &Header::new(Algorithm::HS256),
            &keycloak_claims(),
            &EncodingKey::from_secret(SECRET)
        )
        .unwrap()
    );
    for (variant, preset) in [
        ("hs256_keycloak_hit", false),
        ("hs256_keycloak_preset_hit", true),
    ] {
        let mut builder = JwtAuth::builder()
            .algorithms([Algorithm::HS256])
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .hmac_secret(SECRET);
        if preset {
            builder = builder.grant_claims(auth_layer::claims::GrantClaims::keycloak([AUDIENCE]));
        }
        let auth = builder.build().unwrap();
        let mut svc = auth.layer(service_fn(ok));
        assert_eq!(
            serve(&mut svc, request(&keycloak)).status(),
            200,
            "{variant}"
        );
        group.bench_function(variant, |b| {
            b.iter(|| serve(&mut svc, request(black_box(&keycloak))))
        });
        if preset {
            let guard =
                auth_layer::require::Require::any_role(&auth, ["orders-write", "orders-admin"]);
            let mut svc = auth.layer(guard.layer(service_fn(ok)));
            assert_eq!(serve(&mut svc, request(&keycloak)).status(), 200, "guarded");
            group.bench_function("hs256_keycloak_preset_hit_any_role", |b| {
                b.iter(|| serve(&mut svc, request(black_box(&keycloak))))
            });
        }
    }
    group.finish();
}

/// An access token as Keycloak 26 issues it for a confidential client
/// (the tests' copy), fresh, naming the bench's issuer.
fn keycloak_claims() -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/tokens/keycloak.json")).unwrap();
    claims["exp"] = (now + 3600).into();
    claims["iat"] = now.into();
    claims["auth_time"] = (now - 60).into();
    claims["iss"] = ISSUER.into();
    claims
}

criterion_group!(benches, layer);
criterion_main!(benches);
