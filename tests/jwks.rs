//! Keys from identity providers, against a real HTTP server on loopback that
//! serves JWKS and discovery documents and counts its hits: initial fetch,
//! background refresh, kid-miss refetch and its rate limit under a flood,
//! failing endpoints (500, garbage, huge, slow), rotation, OIDC discovery,
//! several issuers, and `jku` never being followed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;
use auth_tests::idp;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_layer::JwtAuth;
use auth_layer::jwks::{FetchError, KeySource};
use auth_layer::keys::{Algorithm, TrustedIssuer};
use axum::http::StatusCode;
use common::{TestServer, build, claims, key_file, mint_with, other_rsa_key, serve};
use idp::{Answer, idp};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap()
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&key_file("ec_p256_private.pem")).unwrap()
}

/// The public JWK of `key` for `alg`, named `kid`.
fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn jwks(keys: &[Value]) -> Answer {
    Answer::Json(json!({ "keys": keys }), None)
}

fn token(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    mint_with(&header, claims, key)
}

/// An OpenID provider at `{base}{path}`: its discovery document, naming
/// the JWKS at `{path}{jwks_path}`, which holds the RSA key as `r1`.
/// Returns its issuer.
fn openid_provider(idp: &idp::Idp, base: &str, path: &str, jwks_path: &str) -> String {
    let issuer = format!("{base}{path}");
    idp.set(
        &format!("{path}/.well-known/openid-configuration"),
        Answer::Json(
            json!({"issuer": issuer, "jwks_uri": format!("{issuer}{jwks_path}")}),
            None,
        ),
    );
    idp.set(
        &format!("{path}{jwks_path}"),
        jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]),
    );
    issuer
}

async fn server(source: KeySource) -> TestServer {
    serve(build(JwtAuth::builder().key_source(source))).await
}

/// Waits until `check` holds; gives up after 10 s so that a test that
/// would wait for ever fails instead.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let wait = async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .is_err()
    {
        panic!("{what}: not within 10 s");
    }
}

#[tokio::test]
async fn keys_are_fetched_at_start_and_verify_tokens() {
    let (idp, base) = idp().await;
    idp.set(
        "/jwks",
        jwks(&[
            jwk(&rsa_key(), Algorithm::RS256, "r1"),
            jwk(&ec_key(), Algorithm::ES256, "e1"),
        ]),
    );
    let source = KeySource::jwks(format!("{base}/jwks"))
        .start()
        .await
        .unwrap();
    assert_eq!(idp.hits("/jwks"), 1);
    let server = server(source).await;
    server
        .bearer(&token(Algorithm::RS256, "r1", &rsa_key(), &claims("alice")))
        .await
        .assert_ok("alice");
    server
        .bearer(&token(Algorithm::ES256, "e1", &ec_key(), &claims("bob")))
        .await
        .assert_ok("bob");
    assert_eq!(idp.hits("/jwks"), 1, "verification needs no further fetch");
}

#[tokio::test]
async fn the_key_set_is_refreshed_in_the_background() {
    let (idp, base) = idp().await;
    idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
    let _source = KeySource::jwks(format!("{base}/jwks"))
        .refresh_interval(Duration::from_millis(100))
        .refresh_bounds(Duration::from_millis(100), Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    eventually("three fetches", async || idp.hits("/jwks") >= 3).await;
}

#[tokio::test]
async fn cache_control_max_age_sets_the_refresh_interval_within_bounds() {
    let (idp, base) = idp().await;
    idp.set(
        "/jwks",
        Answer::Json(
            json!({"keys": [jwk(&rsa_key(), Algorithm::RS256, "r1")]}),
            Some("max-age=3600"),
        ),
    );
    let _source = KeySource::jwks(format!("{base}/jwks"))
        .refresh_interval(Duration::from_millis(100))
        .refresh_bounds(Duration::from_millis(100), Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        idp.hits("/jwks"),
        1,
        "max-age=3600 overrides the 100 ms interval"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_fetch_per_window_and_bounded_waits() {
    let (idp, base) = idp().await;
    idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
    let window = Duration::from_secs(1);
    let source = KeySource::jwks(format!("{base}/jwks"))
        .refetch_window(window)
        .start()
        .await
        .unwrap();
    let server = Arc::new(server(source).await);
    // Let the window that began with the initial fetch pass.
    tokio::time::sleep(window).await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let server = Arc::clone(&server);
            tokio::spawn(async move {
                let t = token(
                    Algorithm::RS256,
                    &format!("made-up-{i}"),
                    &rsa_key(),
                    &claims("mallory"),
                );
                server.bearer(&t).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().assert_rejected(401, "unknown_key");
    }
    let took = start.elapsed();
    eventually("the refetch", async || idp.hits("/jwks") >= 2).await;
    let refetches = idp.hits("/jwks") - 1;
    let windows = u32::try_from(took.as_millis() / window.as_millis()).unwrap() + 1;
    eprintln!(
        "flood of 300 unknown kids over {took:?}: {refetches} refetch(es), window {window:?}"
    );
    assert!(
        (1..=windows as usize).contains(&refetches),
        "{refetches} refetches for a flood spanning {windows} window(s)"
    );
}

#[tokio::test]
async fn a_newly_published_key_is_picked_up_on_its_first_use() {
    let (idp, base) = idp().await;
    let t = token(Algorithm::ES256, "e2", &ec_key(), &claims("carol"));
    // By default the request waits for the fetch its unknown kid caused;
    // without waiting, the first use is refused and a retry passes.
    for wait in [None, Some(Duration::ZERO)] {
        idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
        let mut source =
            KeySource::jwks(format!("{base}/jwks")).refetch_window(Duration::from_millis(50));
        if let Some(wait) = wait {
            source = source.unknown_kid_wait(wait);
        }
        let server = server(source.start().await.unwrap()).await;
        let fetches = idp.hits("/jwks");
        idp.set(
            "/jwks",
            jwks(&[
                jwk(&rsa_key(), Algorithm::RS256, "r1"),
                jwk(&ec_key(), Algorithm::ES256, "e2"),
            ]),
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        if wait.is_none() {
            server.bearer(&t).await.assert_ok("carol");
            assert_eq!(idp.hits("/jwks"), fetches + 1);
        } else {
            server.bearer(&t).await.assert_rejected(401, "unknown_key");
            eventually("the new key verifies", async || {
                server.bearer(&t).await.status == 200
            })
            .await;
        }
    }
}

#[tokio::test]
async fn made_up_kids_cannot_keep_a_new_key_unknown_for_the_window() {
    let (idp, base) = idp().await;
    idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
    let interval = Duration::from_millis(300);
    let source = KeySource::jwks(format!("{base}/jwks"))
        .refetch_window(Duration::from_secs(60))
        .refetch_min_interval(interval)
        .start()
        .await
        .unwrap();
    let server = server(source).await;
    tokio::time::sleep(interval).await;
    let fake = token(Algorithm::RS256, "made-up", &rsa_key(), &claims("mallory"));
    // A made-up kid causes a fetch, waits for it, and is refused.
    server
        .bearer(&fake)
        .await
        .assert_rejected(401, "unknown_key");
    assert_eq!(idp.hits("/jwks"), 2);

    // The provider publishes a key just after the attacker's fetch.
    idp.set(
        "/jwks",
        jwks(&[
            jwk(&rsa_key(), Algorithm::RS256, "r1"),
            jwk(&ec_key(), Algorithm::ES256, "e2"),
        ]),
    );
    let real = token(Algorithm::ES256, "e2", &ec_key(), &claims("carol"));
    // Within the interval: refused at once, no fetch (the flood protection).
    server
        .bearer(&real)
        .await
        .assert_rejected(401, "unknown_key");
    assert_eq!(idp.hits("/jwks"), 2);
    // The made-up kid, already looked for, causes no fetch for the whole
    // window, whatever the interval.
    tokio::time::sleep(interval).await;
    server
        .bearer(&fake)
        .await
        .assert_rejected(401, "unknown_key");
    assert_eq!(idp.hits("/jwks"), 2);
    // But the real key is not starved until the window's end: once the
    // interval has passed, its first use fetches and passes.
    server.bearer(&real).await.assert_ok("carol");
    assert_eq!(idp.hits("/jwks"), 3);

    // A flood of distinct made-up kids: at most one fetch per interval.
    let before = idp.hits("/jwks");
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(1) {
        let t = token(
            Algorithm::RS256,
            &format!("flood-{i}"),
            &rsa_key(),
            &claims("mallory"),
        );
        server.bearer(&t).await.assert_rejected(401, "unknown_key");
        i += 1;
    }
    let intervals = start.elapsed().as_millis() / interval.as_millis() + 1;
    let fetches = idp.hits("/jwks") - before;
    eprintln!(
        "{i} made-up kids over {:?}: {fetches} fetches",
        start.elapsed()
    );
    assert!(
        fetches as u128 <= intervals,
        "{fetches} fetches for a flood over {intervals} interval(s)"
    );
}

#[tokio::test]
async fn a_removed_key_stops_verifying_after_the_refresh_even_for_cached_tokens() {
    let (idp, base) = idp().await;
    idp.set(
        "/jwks",
        jwks(&[
            jwk(&rsa_key(), Algorithm::RS256, "old"),
            jwk(&ec_key(), Algorithm::ES256, "new"),
        ]),
    );
    let source = KeySource::jwks(format!("{base}/jwks"))
        .start()
        .await
        .unwrap();
    let server = server(source.clone()).await;
    let old = token(Algorithm::RS256, "old", &rsa_key(), &claims("dave"));
    // In the verified-token cache, then sent again and again: held whole by
    // the thread that serves it and in the table every thread shares, in
    // front of the cache; the removed key ends all three.
    for _ in 0..4 {
        server.bearer(&old).await.assert_ok("dave");
    }
    idp.set("/jwks", jwks(&[jwk(&ec_key(), Algorithm::ES256, "new")]));
    source.refresh().await.unwrap();
    assert_eq!(source.key_ids(), [Some("new".to_owned())]);
    server
        .bearer(&old)
        .await
        .assert_rejected(401, "unknown_key");
    server
        .bearer(&token(Algorithm::ES256, "new", &ec_key(), &claims("erin")))
        .await
        .assert_ok("erin");
}

#[tokio::test]
async fn a_failing_endpoint_keeps_the_last_good_keys() {
    let (idp, base) = idp().await;
    let good = jwk(&rsa_key(), Algorithm::RS256, "r1");
    idp.set("/jwks", jwks(std::slice::from_ref(&good)));
    let source = KeySource::jwks(format!("{base}/jwks"))
        .timeout(Duration::from_millis(300))
        .max_document_bytes(64 * 1024)
        .start()
        .await
        .unwrap();
    let server = server(source.clone()).await;
    let t = token(Algorithm::RS256, "r1", &rsa_key(), &claims("frank"));
    let failures = [
        ("500", Answer::Status(StatusCode::INTERNAL_SERVER_ERROR)),
        ("garbage", Answer::Garbage),
        ("huge body", Answer::Huge),
        (
            "slow",
            Answer::Slow(Duration::from_secs(5), json!({"keys": []})),
        ),
        ("empty object", Answer::Json(json!({}), None)),
    ];
    for (name, answer) in failures {
        idp.set("/jwks", answer);
        let err = source.refresh().await.expect_err(name);
        eprintln!("{name}: {err}");
        if name == "slow" {
            // The fetch is bounded: the timeout cut it, not the server's answer.
            assert!(matches!(err, FetchError::Timeout(_)), "{name}: {err}");
        }
        server.bearer(&t).await.assert_ok("frank");
        assert_eq!(source.key_ids(), [Some("r1".to_owned())], "{name}");
    }
}

#[tokio::test]
async fn the_first_fetch_failing_fails_start_unless_degraded_start_is_allowed() {
    let (idp, base) = idp().await;
    idp.set("/jwks", Answer::Status(StatusCode::SERVICE_UNAVAILABLE));
    let err = KeySource::jwks(format!("{base}/jwks"))
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot fetch the key set"),
        "{err}"
    );

    let source = KeySource::jwks(format!("{base}/jwks"))
        .start_degraded()
        .start()
        .await
        .unwrap();
    let server = server(source.clone()).await;
    let t = token(Algorithm::RS256, "r1", &rsa_key(), &claims("gina"));
    server.bearer(&t).await.assert_rejected(401, "unknown_key");
    idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
    source.refresh().await.unwrap();
    server.bearer(&t).await.assert_ok("gina");
}

#[tokio::test]
async fn unusable_keys_are_skipped_and_the_rest_is_used() {
    let (idp, base) = idp().await;
    let mut enc = jwk(&ec_key(), Algorithm::ES256, "enc");
    enc["use"] = json!("enc");
    let weak = json!({"kty": "oct", "kid": "weak", "k": "c2hvcnQ"});
    idp.set(
        "/jwks",
        jwks(&[
            enc,
            weak,
            json!({"kty": "RSA", "kid": "broken"}),
            jwk(&rsa_key(), Algorithm::RS256, "r1"),
        ]),
    );
    let source = KeySource::jwks(format!("{base}/jwks"))
        .start()
        .await
        .unwrap();
    assert_eq!(source.key_ids(), [Some("r1".to_owned())]);
    let server = server(source).await;
    server
        .bearer(&token(Algorithm::ES256, "enc", &ec_key(), &claims("h")))
        .await
        .assert_rejected(401, "unknown_key");
}

#[tokio::test]
async fn oidc_discovery_finds_the_keys_and_checks_the_issuer() {
    let (idp, base) = idp().await;
    let issuer = openid_provider(&idp, &base, "/realms/main", "/certs");
    let source = KeySource::oidc(&issuer).start().await.unwrap();
    assert_eq!(source.issuer(), Some(issuer.as_str()));
    let server = serve(build(JwtAuth::builder().issuer(&issuer).key_source(source))).await;
    let good = json!({"sub": "ian", "iss": issuer, "exp": common::now() + 300});
    server
        .bearer(&token(Algorithm::RS256, "r1", &rsa_key(), &good))
        .await
        .assert_ok("ian");

    idp.set(
        "/evil/.well-known/openid-configuration",
        Answer::Json(json!({"issuer": "https://someone-else.example", "jwks_uri": format!("{base}/realms/main/certs")}), None),
    );
    let err = KeySource::oidc(format!("{base}/evil"))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("names the issuer"), "{err}");
    assert_eq!(
        idp.hits("/realms/main/certs"),
        1,
        "no keys fetched for a mismatched issuer"
    );
}

#[tokio::test]
async fn each_issuer_has_its_own_keys_and_unknown_issuers_cost_no_fetch() {
    let (idp, base) = idp().await;
    idp.set("/a/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "a1")]));
    idp.set("/b/jwks", jwks(&[jwk(&ec_key(), Algorithm::ES256, "b1")]));
    let a = KeySource::jwks(format!("{base}/a/jwks"))
        .refetch_window(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let b = KeySource::jwks(format!("{base}/b/jwks"))
        .refetch_window(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let auth = build(
        JwtAuth::builder()
            .trusted_issuer(
                TrustedIssuer::new("https://a.example")
                    .key_source(a)
                    .audience("api-a"),
            )
            .trusted_issuer(
                TrustedIssuer::new("https://b.example")
                    .key_source(b)
                    .audience("api-b"),
            ),
    );
    let server = serve(auth).await;
    let claims_for = |iss: &str, aud: &str| json!({"sub": "jo", "iss": iss, "aud": aud, "exp": common::now() + 300});
    server
        .bearer(&token(
            Algorithm::RS256,
            "a1",
            &rsa_key(),
            &claims_for("https://a.example", "api-a"),
        ))
        .await
        .assert_ok("jo");
    server
        .bearer(&token(
            Algorithm::ES256,
            "b1",
            &ec_key(),
            &claims_for("https://b.example", "api-b"),
        ))
        .await
        .assert_ok("jo");
    // A's key does not speak for B, and B's audience rules hold for B.
    server
        .bearer(&token(
            Algorithm::RS256,
            "a1",
            &rsa_key(),
            &claims_for("https://b.example", "api-b"),
        ))
        .await
        .assert_rejected(401, "unknown_key");
    server
        .bearer(&token(
            Algorithm::ES256,
            "b1",
            &ec_key(),
            &claims_for("https://b.example", "api-a"),
        ))
        .await
        .assert_rejected(401, "invalid_audience");
    let hits = (idp.hits("/a/jwks"), idp.hits("/b/jwks"));
    for i in 0..20 {
        let t = token(
            Algorithm::RS256,
            &format!("x{i}"),
            &rsa_key(),
            &claims_for("https://c.example", "api-a"),
        );
        server
            .bearer(&t)
            .await
            .assert_rejected(401, "invalid_issuer");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        (idp.hits("/a/jwks"), idp.hits("/b/jwks")),
        hits,
        "an unknown issuer causes no fetch"
    );
}

#[tokio::test]
async fn a_jku_header_is_never_followed() {
    let (idp, base) = idp().await;
    idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
    idp.set(
        "/attacker/jwks",
        jwks(&[jwk(&other_rsa_key(), Algorithm::RS256, "r1")]),
    );
    let source = KeySource::jwks(format!("{base}/jwks"))
        .start()
        .await
        .unwrap();
    let server = server(source).await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("r1".to_owned());
    header.jku = Some(format!("{base}/attacker/jwks"));
    let forged = mint_with(&header, &claims("mallory"), &other_rsa_key());
    server
        .bearer(&forged)
        .await
        .assert_rejected(401, "invalid_signature");
    header.kid = Some("attacker-kid".to_owned());
    let forged = mint_with(&header, &claims("mallory"), &other_rsa_key());
    server
        .bearer(&forged)
        .await
        .assert_rejected(401, "unknown_key");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        idp.hits("/attacker/jwks"),
        0,
        "the jku URL was never fetched"
    );
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let err = KeySource::jwks("http://idp.example/jwks")
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("plain http"), "{err}");
}

#[tokio::test]
async fn the_environment_combines_oidc_keys_with_a_static_secret() {
    let (idp, base) = idp().await;
    let issuer = openid_provider(&idp, &base, "/tenant", "/jwks");
    let internal_issuer = "https://internal.example";
    let vars = HashMap::from([
        ("AUTH_OIDC_ISSUER", issuer.clone()),
        ("AUTH_HMAC_SECRET", common::SECRET.to_owned()),
        ("AUTH_ISSUER", internal_issuer.to_owned()),
        ("AUTH_AUDIENCE", "orders-api".to_owned()),
    ]);
    let config = auth_layer::config::AuthConfig::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let server = serve(config.connect().await.unwrap().build().unwrap()).await;
    let claims =
        |sub: &str, iss: &str| common::claims_with(sub, json!({"iss": iss, "aud": "orders-api"}));
    server
        .bearer(&token(
            Algorithm::RS256,
            "r1",
            &rsa_key(),
            &claims("kim", &issuer),
        ))
        .await
        .assert_ok("kim");
    server
        .bearer(&common::hs256(&claims("svc", internal_issuer)))
        .await
        .assert_ok("svc");
    // The static secret signs for AUTH_ISSUER only: whoever holds it cannot
    // mint tokens that pass as the OpenID issuer's.
    let forged = server.bearer(&common::hs256(&claims("svc", &issuer))).await;
    assert_eq!(forged.status, 401, "{forged:?}");
    server
        .bearer(&common::hs256(&claims("x", "https://other.example")))
        .await
        .assert_rejected(401, "invalid_issuer");

    // Without keys of its own, an issuer besides the OpenID one could verify
    // nothing: refused at start.
    let keyless = HashMap::from([
        ("AUTH_OIDC_ISSUER", issuer.clone()),
        ("AUTH_ISSUER", internal_issuer.to_owned()),
    ]);
    let config = auth_layer::config::AuthConfig::from_lookup(|k| keyless.get(k).cloned()).unwrap();
    let err = config.connect().await.map(drop).unwrap_err().to_string();
    assert!(
        err.starts_with("AUTH_ISSUER:") && err.contains("has no keys"),
        "{err}"
    );

    // Static keys with an OpenID issuer must say which issuer they sign
    // for, and it cannot be the OpenID issuer.
    for issuers in [
        None,
        Some(issuer.clone()),
        Some(format!("{internal_issuer},{issuer}")),
    ] {
        let mut vars = HashMap::from([
            ("AUTH_OIDC_ISSUER", issuer.clone()),
            ("AUTH_HMAC_SECRET", common::SECRET.to_owned()),
        ]);
        if let Some(issuers) = &issuers {
            vars.insert("AUTH_ISSUER", issuers.clone());
        }
        let config = auth_layer::config::AuthConfig::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let err = config.connect().await.map(drop).unwrap_err().to_string();
        assert!(
            err.starts_with("AUTH_ISSUER:") && err.contains("AUTH_HMAC_SECRET"),
            "{issuers:?}: {err}"
        );
    }

    let bad = HashMap::from([("AUTH_OIDC_ISSUER", format!("{base}/missing"))]);
    let config = auth_layer::config::AuthConfig::from_lookup(|k| bad.get(k).cloned()).unwrap();
    let err = config.connect().await.map(drop).unwrap_err().to_string();
    assert!(err.starts_with("AUTH_OIDC_ISSUER:"), "{err}");
}

#[tokio::test]
async fn keys_sign_only_for_their_own_issuer() {
    let (idp, base) = idp().await;
    let provider = openid_provider(&idp, &base, "/provider", "/jwks");
    idp.set("/own/jwks", jwks(&[jwk(&ec_key(), Algorithm::ES256, "e1")]));
    let own = "https://own.example";
    let discovered = KeySource::oidc(&provider).start().await.unwrap();
    let own_keys = KeySource::jwks(format!("{base}/own/jwks"))
        .start()
        .await
        .unwrap();
    // Both issuers accepted, each key source given to the builder: the
    // discovered keys belong to the provider, the JWKS URL to the one
    // issuer left.
    let server = serve(build(
        JwtAuth::builder()
            .issuers([own, provider.as_str()])
            .key_source(own_keys)
            .key_source(discovered.clone()),
    ))
    .await;
    let from = |iss: &str| common::claims_with("kim", json!({ "iss": iss }));
    server
        .bearer(&token(Algorithm::RS256, "r1", &rsa_key(), &from(&provider)))
        .await
        .assert_ok("kim");
    server
        .bearer(&token(Algorithm::ES256, "e1", &ec_key(), &from(own)))
        .await
        .assert_ok("kim");
    // Whoever controls the keys at the JWKS URL cannot mint the provider's
    // tokens, nor the other way round.
    server
        .bearer(&token(Algorithm::ES256, "e1", &ec_key(), &from(&provider)))
        .await
        .assert_rejected(401, "unknown_key");
    server
        .bearer(&token(Algorithm::RS256, "r1", &rsa_key(), &from(own)))
        .await
        .assert_rejected(401, "unknown_key");

    // Nor can a discovered key source be handed to another issuer.
    let err = JwtAuth::builder()
        .trusted_issuer(TrustedIssuer::new(own).key_source(discovered.clone()))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("was given the key source discovered for"),
        "{err}"
    );

    // A discovered key source alone, with no issuer named, still verifies
    // only its issuer's tokens.
    let server = serve(build(JwtAuth::builder().key_source(discovered))).await;
    server
        .bearer(&token(Algorithm::RS256, "r1", &rsa_key(), &from(&provider)))
        .await
        .assert_ok("kim");
    server
        .bearer(&token(Algorithm::RS256, "r1", &rsa_key(), &from(own)))
        .await
        .assert_rejected(401, "invalid_issuer");
}

#[test]
fn issuers_never_share_keys_by_accident() {
    use auth_layer::keys::Key;
    let message = |builder: auth_layer::JwtAuthBuilder| builder.build().unwrap_err().to_string();
    // Two accepted issuers and one secret: refused, with the fix.
    let err = message(
        JwtAuth::builder()
            .issuers(["https://a.example", "https://b.example"])
            .hmac_secret(common::SECRET),
    );
    assert!(
        err.contains("\"https://a.example\" and \"https://b.example\" would share one set of keys")
            && err.contains("TrustedIssuer::new(\"https://a.example\")"),
        "{err}"
    );
    // Keys for the builder beside a trusted issuer, with no issuer of their own.
    let err = message(
        JwtAuth::builder()
            .hmac_secret(common::SECRET)
            .trusted_issuer(
                TrustedIssuer::new("https://a.example").key(Key::hmac(common::SECRET).unwrap()),
            ),
    );
    assert!(
        err.contains("any issuer but \"https://a.example\""),
        "{err}"
    );
    // An accepted issuer with no keys while every key is bound elsewhere.
    let err = message(
        JwtAuth::builder()
            .issuer("https://b.example")
            .trusted_issuer(
                TrustedIssuer::new("https://a.example").key(Key::hmac(common::SECRET).unwrap()),
            ),
    );
    assert!(err.contains("\"https://b.example\" has no keys"), "{err}");

    // Shared on purpose, by name: both issuers pass, nobody else does.
    let key = Key::hmac(common::SECRET).unwrap();
    let auth = JwtAuth::builder()
        .trusted_issuer(TrustedIssuer::new("https://a.example").key(key.clone()))
        .trusted_issuer(TrustedIssuer::new("https://b.example").key(key))
        .build()
        .unwrap();
    let from = |iss: &str| common::hs256(&common::claims_with("jo", json!({ "iss": iss })));
    assert!(auth.verifier().verify(&from("https://a.example")).is_ok());
    assert!(auth.verifier().verify(&from("https://b.example")).is_ok());
    assert_eq!(
        auth.verifier()
            .verify(&from("https://c.example"))
            .unwrap_err()
            .kind(),
        auth_layer::ErrorKind::InvalidIssuer
    );
    // The same from the environment: AUTH_ISSUER names the issuers the
    // static secret signs for.
    let vars = HashMap::from([
        ("AUTH_HMAC_SECRET", common::SECRET.to_owned()),
        (
            "AUTH_ISSUER",
            "https://a.example,https://b.example".to_owned(),
        ),
    ]);
    let config = auth_layer::config::AuthConfig::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let auth = JwtAuth::builder().config(&config).build().unwrap();
    assert!(auth.verifier().verify(&from("https://b.example")).is_ok());
    assert_eq!(
        auth.verifier()
            .verify(&from("https://c.example"))
            .unwrap_err()
            .kind(),
        auth_layer::ErrorKind::InvalidIssuer
    );
}

/// An issuer with two key sources: a kid one of them has verifies without
/// making the other fetch; a kid neither has makes both fetch once.
#[tokio::test]
async fn a_kid_one_source_has_makes_no_other_fetch() {
    let (idp, base) = idp().await;
    idp.set("/a/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "a1")]));
    idp.set("/b/jwks", jwks(&[jwk(&ec_key(), Algorithm::ES256, "b1")]));
    let source = |path: &str| {
        KeySource::jwks(format!("{base}{path}"))
            .refetch_window(Duration::from_millis(1))
            .refetch_min_interval(Duration::from_millis(1))
            .start()
    };
    let server = serve(build(
        JwtAuth::builder()
            .key_source(source("/a/jwks").await.unwrap())
            .key_source(source("/b/jwks").await.unwrap()),
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    server
        .bearer(&token(Algorithm::ES256, "b1", &ec_key(), &claims("bo")))
        .await
        .assert_ok("bo");
    assert_eq!((idp.hits("/a/jwks"), idp.hits("/b/jwks")), (1, 1));
    server
        .bearer(&token(Algorithm::ES256, "nobody", &ec_key(), &claims("bo")))
        .await
        .assert_rejected(401, "unknown_key");
    // Both sources are asked again (with a 1 ms window, a slow machine may
    // let the request's second look at the keys ask once more).
    eventually("both sources fetched again", async || {
        idp.hits("/a/jwks") >= 2 && idp.hits("/b/jwks") >= 2
    })
    .await;
}

/// From the environment, `AUTH_ISSUER` names the issuers `AUTH_JWKS_URL`
/// signs for (a provider's v1 and v2 issuers, say): each by name, nobody else.
#[tokio::test]
async fn the_environment_binds_a_jwks_url_to_each_named_issuer() {
    let (idp, base) = idp().await;
    idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
    let vars = HashMap::from([
        ("AUTH_JWKS_URL", format!("{base}/jwks")),
        (
            "AUTH_ISSUER",
            "https://v1.example,https://v2.example".to_owned(),
        ),
    ]);
    let config = auth_layer::config::AuthConfig::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let server = serve(config.connect().await.unwrap().build().unwrap()).await;
    let from = |iss: &str| {
        token(
            Algorithm::RS256,
            "r1",
            &rsa_key(),
            &common::claims_with("vi", json!({ "iss": iss })),
        )
    };
    server
        .bearer(&from("https://v1.example"))
        .await
        .assert_ok("vi");
    server
        .bearer(&from("https://v2.example"))
        .await
        .assert_ok("vi");
    server
        .bearer(&from("https://v3.example"))
        .await
        .assert_rejected(401, "invalid_issuer");
    // A zero interval between fetches would fetch in a loop: refused.
    let err = KeySource::jwks(format!("{base}/jwks"))
        .refetch_min_interval(Duration::ZERO)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refetch interval"), "{err}");
}

/// A DPoP-bound token signed with a key published after start waits for the
/// fetch its `kid` causes, and is then held to its proof like any other:
/// refused as a bearer token, passing with a proof by its key, once.
#[tokio::test]
async fn a_bound_token_that_waited_for_its_key_is_still_held_to_its_proof() {
    use auth_layer::dpop::DpopVerifier;
    use common::dpop_client::ClientKey;
    let (idp, base) = idp().await;
    let client = ClientKey::es256();
    let t = token(
        Algorithm::ES256,
        "e2",
        &ec_key(),
        &common::claims_with("carol", json!({ "cnf": { "jkt": client.jkt() } })),
    );
    let start = async || {
        idp.set("/jwks", jwks(&[jwk(&rsa_key(), Algorithm::RS256, "r1")]));
        let source = KeySource::jwks(format!("{base}/jwks"))
            .refetch_window(Duration::from_millis(50))
            .start()
            .await
            .unwrap();
        let auth = build(
            JwtAuth::builder()
                .key_source(source)
                .dpop(DpopVerifier::builder().build().unwrap()),
        );
        let server = serve(auth).await;
        idp.set(
            "/jwks",
            jwks(&[
                jwk(&rsa_key(), Algorithm::RS256, "r1"),
                jwk(&ec_key(), Algorithm::ES256, "e2"),
            ]),
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        server
    };
    // Each first request waits for the fetch of the new key.
    let server = start().await;
    let fetches = idp.hits("/jwks");
    let downgrade = server.bearer(&t).await;
    assert_eq!(
        (downgrade.status, downgrade.code().as_deref()),
        (401, Some("token_bound_to_key")),
        "{downgrade:?}"
    );
    assert_eq!(
        idp.hits("/jwks"),
        fetches + 1,
        "the request caused the fetch"
    );

    let server = start().await;
    let fetches = idp.hits("/jwks");
    let htu = format!("{}/protected", server.base());
    let proof = client.proof_for("GET", &htu, Some(&t), common::now());
    let with_proof = || {
        server
            .get("/protected")
            .header("authorization", format!("DPoP {t}"))
            .header("dpop", proof.clone())
    };
    common::send(with_proof()).await.assert_ok("carol");
    assert_eq!(
        idp.hits("/jwks"),
        fetches + 1,
        "the request caused the fetch"
    );
    let replay = common::send(with_proof()).await;
    assert_eq!(
        (replay.status, replay.code().as_deref()),
        (401, Some("dpop_replayed")),
        "{replay:?}"
    );
}
