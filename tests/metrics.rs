//! The `metrics` feature, read back through the Prometheus exporter the
//! `metrics` example serves: requests by outcome and reason, both caches'
//! hits and misses, verification latency, store calls and errors, JWKS
//! fetches by result, refreshes by outcome including `reuse_detected`.
//!
//! One test: a process has one global recorder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use auth_tests as common;
use auth_tests::idp;

use std::convert::Infallible;
use std::time::Duration;

use auth_layer::JwtAuth;
use auth_layer::jwks::KeySource;
use auth_layer::revocation::RevocationCache;
use auth_layer::session::{SessionErrorKind, Sessions, SigningKey, TokenIssuer};
use auth_layer::store::MemoryStore;
use auth_tests::fake_store::FakeStore;
use axum::http::{Request, Response};
use base64::Engine;
use common::{SECRET, claims_with, hs256, tower_request};
use idp::{Answer, idp};
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::json;
use tower::ServiceExt;

/// A store that is down.
fn down_store() -> FakeStore {
    let store = FakeStore::new();
    store.set_down(true);
    store
}

async fn status_of(auth: &JwtAuth, token: Option<&str>) -> u16 {
    let svc = tower::Layer::layer(
        auth,
        tower::service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }),
    );
    svc.oneshot(tower_request(token))
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The value of the sample `line_start` (a name with its labels) in `text`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

#[tokio::test]
async fn metrics_count_decisions_caches_stores_key_fetches_and_refreshes() {
    let handle = PrometheusBuilder::new().install_recorder().unwrap();
    auth_layer::observe::metrics::describe();

    // Requests: one token twice (a verified-token and revocation-cache miss,
    // then hits), an expired one, none.
    let revocation = RevocationCache::builder(MemoryStore::new())
        .build()
        .unwrap();
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .revocation(revocation.clone())
        .build()
        .unwrap();
    let good = hs256(&claims_with("gina", json!({})));
    assert_eq!(status_of(&auth, Some(&good)).await, 200);
    assert_eq!(status_of(&auth, Some(&good)).await, 200);
    let expired = hs256(&claims_with("gina", json!({ "exp": 1_000_000 })));
    assert_eq!(status_of(&auth, Some(&expired)).await, 401);
    assert_eq!(status_of(&auth, None).await, 401);

    // A store that is down: 503, one store error.
    let down = JwtAuth::builder()
        .hmac_secret(SECRET)
        .revocation(RevocationCache::builder(down_store()).build().unwrap())
        .build()
        .unwrap();
    assert_eq!(status_of(&down, Some(&good)).await, 503);

    // Keys from a JWKS endpoint: one good fetch, one failed.
    let (provider, base) = idp().await;
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(SECRET);
    provider.set(
        "/jwks",
        Answer::Json(
            json!({ "keys": [{ "kty": "oct", "k": k, "alg": "HS256", "kid": "h1" }] }),
            None,
        ),
    );
    let source = KeySource::jwks(format!("{base}/jwks"))
        .refresh_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    provider.set(
        "/jwks",
        Answer::Status(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    assert!(source.refresh().await.is_err());

    // Refreshes: one rotation, then the spent token again.
    let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
        .build()
        .unwrap();
    // No retry window, so that the spent token presented again is reuse.
    let sessions = Sessions::builder(issuer, MemoryStore::new(), revocation)
        .retry_window(Duration::ZERO)
        .build()
        .unwrap();
    // A guard after the layer refuses a token without the scope: 403,
    // counted as forbidden with its reason.
    let guarded = tower::Layer::layer(
        &auth,
        tower::Layer::layer(
            &auth_layer::require::Require::scope(&auth, "orders:write"),
            tower::service_fn(|_: Request<String>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            }),
        ),
    );
    let refused = guarded.oneshot(tower_request(Some(&good))).await.unwrap();
    assert_eq!(refused.status(), 403);

    let pair = sessions.login("gina", json!(null)).await.unwrap();
    let spent = pair.refresh_token().as_str().to_owned();
    sessions.refresh(&spent).await.unwrap();
    let reused = sessions.refresh(&spent).await.unwrap_err();
    assert_eq!(reused.kind(), SessionErrorKind::RefreshReused);

    let text = handle.render();
    let exact = [
        (r#"auth_requests_total{outcome="allowed"}"#, 3.0),
        (
            r#"auth_requests_total{outcome="forbidden",reason="insufficient_scope"}"#,
            1.0,
        ),
        (
            r#"auth_requests_total{outcome="rejected",reason="token_expired"}"#,
            1.0,
        ),
        (
            r#"auth_requests_total{outcome="rejected",reason="token_missing"}"#,
            1.0,
        ),
        (
            r#"auth_requests_total{outcome="rejected",reason="store_unavailable"}"#,
            1.0,
        ),
        // Three distinct verifications (good, expired, good on `down`'s own
        // cache); `good` was then found twice.
        (r#"auth_token_cache_total{result="miss"}"#, 3.0),
        (r#"auth_token_cache_total{result="hit"}"#, 2.0),
        (r#"auth_revocation_cache_total{result="miss"}"#, 2.0),
        (r#"auth_revocation_cache_total{result="hit"}"#, 2.0),
        (
            r#"auth_store_errors_total{store="revocation",op="subject",error="unavailable"}"#,
            1.0,
        ),
        (r#"auth_jwks_fetches_total{result="ok"}"#, 1.0),
        (r#"auth_jwks_fetches_total{result="error"}"#, 1.0),
        (r#"auth_refresh_total{outcome="rotated"}"#, 1.0),
        (r#"auth_refresh_total{outcome="reuse_detected"}"#, 1.0),
    ];
    for (series, want) in exact {
        assert_eq!(sample(&text, series), want, "{series} in:\n{text}");
    }
    let at_least = [
        // Three full verifications (the cache misses); hits are not timed.
        ("auth_verify_duration_seconds_count", 3.0),
        (
            r#"auth_store_duration_seconds_count{store="revocation",op="subject"}"#,
            2.0,
        ),
    ];
    for (series, least) in at_least {
        assert!(sample(&text, series) >= least, "{series} in:\n{text}");
    }
    assert!(text.contains("# HELP auth_requests_total"), "{text}");
    // Neither token reached the labels.
    assert!(!text.contains(&good) && !text.contains(&spent), "{text}");
}
