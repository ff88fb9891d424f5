//! What a client sees for its token, through a real server and client:
//! every supported algorithm accepted, and every way a token can be wrong
//! answered with its status, `WWW-Authenticate` challenge and error code.

mod common;

use std::time::Duration;

use auth_extract::Claims;
use auth_layer::JwtAuth;
use auth_layer::clock::ManualClock;
use auth_layer::keys::{Algorithm, Key};
use axum::routing::get;
use axum::{Json, Router};
use common::{
    ALGORITHMS, SECRET, b64, claims, claims_at, claims_with, every_key_auth, hmac_auth, hs256,
    key_file, merge, mint, mint_with, other_rsa_key, public_pem, raw_token, serve, serve_router,
    sign_segments, signed_json, signed_payload, signing_key, whoami,
};
use jsonwebtoken::{EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

/// A fixed "now" for the servers on a manual clock.
const T: i64 = 1_700_000_000;

fn header_with_typ(alg: Algorithm, typ: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    header
}

// ---------------------------------------------------------------------------
// Accepted tokens
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_algorithm_is_accepted_with_a_valid_token() {
    let all_keys = serve(every_key_auth()).await;
    for (name, alg) in ALGORITHMS {
        let builder = match public_pem(alg) {
            Some(pem) => JwtAuth::builder().public_key_pem(pem),
            None => JwtAuth::builder().hmac_secret(SECRET),
        };
        let only_this = serve(builder.algorithms([alg]).build().unwrap()).await;
        let token = mint(alg, &claims(&format!("user-{name}")));
        for (server, what) in [
            (&all_keys, "every key configured"),
            (&only_this, "only this algorithm allowed"),
        ] {
            let reply = server.bearer(&token).await;
            assert_eq!(reply.status, 200, "{name} ({what}): {reply:?}");
            let body = reply.assert_ok(&format!("user-{name}"));
            assert_eq!(body["alg"], name, "{name} ({what})");
            assert_eq!(
                body["claims"]["sub"],
                format!("user-{name}"),
                "{name} ({what})"
            );
        }
    }
}

#[tokio::test]
async fn custom_claims_reach_the_handler() {
    let server = serve(hmac_auth()).await;
    let token = hs256(&claims_with(
        "alice",
        json!({ "scope": "orders:read", "tenant": { "id": 7 } }),
    ));
    let body = server.bearer(&token).await.assert_ok("alice");
    assert_eq!(body["claims"]["scope"], "orders:read");
    assert_eq!(body["claims"]["tenant"]["id"], 7);
}

#[tokio::test]
async fn algorithms_outside_the_allowed_list_are_rejected_even_with_the_right_key() {
    let rsa = serve(
        JwtAuth::builder()
            .public_key_pem(key_file("rsa_public.pem"))
            .algorithms([Algorithm::RS256])
            .build()
            .unwrap(),
    )
    .await;
    rsa.bearer(&mint(Algorithm::RS256, &claims("alice")))
        .await
        .assert_ok("alice");
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
        rsa.bearer(&mint(alg, &claims("alice")))
            .await
            .assert_invalid("algorithm_not_allowed");
    }
    // The P-256 key is pinned to ES256 by its curve; an HS256 token has no key at all.
    let ec = serve(
        JwtAuth::builder()
            .public_key_pem(key_file("ec_p256_public.pem"))
            .build()
            .unwrap(),
    )
    .await;
    ec.bearer(&mint(Algorithm::ES256, &claims("alice")))
        .await
        .assert_ok("alice");
    ec.bearer(&mint(Algorithm::ES384, &claims("alice")))
        .await
        .assert_invalid("algorithm_not_allowed");
    ec.bearer(&hs256(&claims("alice")))
        .await
        .assert_invalid("algorithm_not_allowed");
}

// ---------------------------------------------------------------------------
// No token
// ---------------------------------------------------------------------------

#[tokio::test]
async fn missing_token_is_401_with_a_bare_challenge() {
    let server = serve(hmac_auth()).await;
    let reply = server.anonymous("/protected").await;
    reply.assert_missing();
    let body = reply.json();
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn default_responder_sends_the_challenge_with_an_empty_body() {
    let app = Router::new()
        .route("/protected", get(whoami))
        .layer(hmac_auth());
    let server = serve_router(app).await;
    let missing = server.anonymous("/protected").await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.www_authenticate.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
    assert_eq!(missing.body, "");
    let bad = server.bearer("not-a-jwt").await;
    assert_eq!(bad.status, 401);
    let challenge = bad.www_authenticate.unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="invalid_token", error_description=""#),
        "{challenge}"
    );
    assert_eq!(bad.body, "");
}

#[tokio::test]
async fn the_realm_is_configurable() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .realm("orders")
        .build()
        .unwrap();
    let server = serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let reply = server.anonymous("/protected").await;
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer realm="orders""#)
    );
}

// ---------------------------------------------------------------------------
// Algorithm and key confusion
// ---------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_is_rejected_in_every_spelling_with_or_without_a_signature() {
    let server = serve(every_key_auth()).await;
    let payload = b64(claims("mallory").to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        // The unsigned form: an empty third segment.
        let unsigned = raw_token(&header, &payload, "");
        server
            .bearer(&unsigned)
            .await
            .assert_invalid("algorithm_not_allowed");
        // A signature segment that is even a valid HS256 MAC of the message.
        let signed = sign_segments(Algorithm::HS256, &header, &payload);
        server
            .bearer(&signed)
            .await
            .assert_invalid("algorithm_not_allowed");
        // An arbitrary signature segment.
        server
            .bearer(&raw_token(&header, &payload, "c2lnbmF0dXJl"))
            .await
            .assert_invalid("algorithm_not_allowed");
        // No third segment at all is not a JWS.
        server
            .bearer(&format!("{header}.{payload}"))
            .await
            .assert_invalid("token_malformed");
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let rsa_pem = key_file("rsa_public.pem");
    let forged = mint_with(
        &Header::new(Algorithm::HS256),
        &claims("mallory"),
        &EncodingKey::from_secret(&rsa_pem),
    );

    // An RSA-only service never treats its public key as an HMAC secret.
    let rsa_only = serve(JwtAuth::builder().public_key_pem(&rsa_pem).build().unwrap()).await;
    rsa_only
        .bearer(&forged)
        .await
        .assert_invalid("algorithm_not_allowed");
    rsa_only
        .bearer(&mint(Algorithm::RS256, &claims("alice")))
        .await
        .assert_ok("alice");

    // With an HMAC secret configured too, the forgery meets the real secret and fails.
    let mixed = serve(
        JwtAuth::builder()
            .public_key_pem(&rsa_pem)
            .hmac_secret(SECRET)
            .build()
            .unwrap(),
    )
    .await;
    mixed
        .bearer(&forged)
        .await
        .assert_invalid("invalid_signature");

    // And the PEM cannot be configured as an HMAC secret in the first place.
    assert!(JwtAuth::builder().hmac_secret(&rsa_pem).build().is_err());
}

#[tokio::test]
async fn token_signed_by_another_key_is_rejected() {
    let server = serve(every_key_auth()).await;
    let foreign = mint_with(
        &Header::new(Algorithm::RS256),
        &claims("mallory"),
        &other_rsa_key(),
    );
    server
        .bearer(&foreign)
        .await
        .assert_invalid("invalid_signature");

    let wrong_secret = mint_with(
        &Header::new(Algorithm::HS256),
        &claims("mallory"),
        &EncodingKey::from_secret(b"another-secret-that-is-also-32-bytes-long"),
    );
    server
        .bearer(&wrong_secret)
        .await
        .assert_invalid("invalid_signature");
}

#[tokio::test]
async fn tampered_payload_or_transplanted_signature_is_rejected() {
    let server = serve(every_key_auth()).await;
    for (name, alg) in ALGORITHMS {
        let token = mint(alg, &claims("alice"));
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = raw_token(parts[0], &b64(claims("admin").to_string()), parts[2]);
        server
            .bearer(&tampered)
            .await
            .assert_invalid("invalid_signature");

        let other = mint(alg, &claims("bob"));
        let other_signature = other.rsplit('.').next().unwrap();
        let transplanted = raw_token(parts[0], parts[1], other_signature);
        let reply = server.bearer(&transplanted).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("invalid_signature"),
            "{name}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn unknown_kid_is_rejected() {
    let auth = JwtAuth::builder()
        .key(
            Key::rsa_pem(key_file("rsa_public.pem"))
                .unwrap()
                .with_kid("k1"),
        )
        .key(
            Key::ec_pem(key_file("ec_p256_public.pem"))
                .unwrap()
                .with_kid("k2"),
        )
        .build()
        .unwrap();
    let server = serve(auth).await;
    let with_kid = |alg, kid: &str| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        mint_with(&header, &claims("alice"), &signing_key(alg))
    };
    let body = server
        .bearer(&with_kid(Algorithm::RS256, "k1"))
        .await
        .assert_ok("alice");
    assert_eq!(body["kid"], "k1");
    let body = server
        .bearer(&with_kid(Algorithm::ES256, "k2"))
        .await
        .assert_ok("alice");
    assert_eq!(body["kid"], "k2");

    server
        .bearer(&with_kid(Algorithm::RS256, "k3"))
        .await
        .assert_invalid("unknown_key");
    server
        .bearer(&with_kid(Algorithm::ES256, ""))
        .await
        .assert_invalid("unknown_key");
    // The kid names an RSA key; an ES256 token cannot use it.
    server
        .bearer(&with_kid(Algorithm::ES256, "k1"))
        .await
        .assert_invalid("algorithm_not_allowed");
}

// ---------------------------------------------------------------------------
// Token structure
// ---------------------------------------------------------------------------

#[tokio::test]
async fn oversized_token_is_rejected_before_decoding() {
    let server = serve(hmac_auth()).await;
    let big = hs256(&claims_with(
        "alice",
        json!({ "padding": "x".repeat(9 * 1024) }),
    ));
    assert!(big.len() > 8 * 1024);
    server.bearer(&big).await.assert_invalid("token_too_large");
    // Junk of that size is refused for its size, not parsed.
    server
        .bearer(&"A".repeat(8 * 1024 + 1))
        .await
        .assert_invalid("token_too_large");

    // A smaller cap applies to ordinary tokens too.
    let small = serve(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .max_token_bytes(64)
            .build()
            .unwrap(),
    )
    .await;
    small
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_invalid("token_too_large");
}

#[tokio::test]
async fn five_segment_token_is_malformed() {
    let server = serve(hmac_auth()).await;
    let jwe = [
        r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
        "key",
        "iv",
        "ciphertext",
        "tag",
    ]
    .map(b64)
    .join(".");
    let reply = server.bearer(&jwe).await;
    reply.assert_invalid("token_malformed");
    assert_eq!(
        reply.json()["error_description"],
        "encrypted tokens (JWE) are not supported"
    );
    server
        .bearer("a.b.c.d")
        .await
        .assert_invalid("token_malformed");
}

#[tokio::test]
async fn bad_base64_in_any_segment_is_malformed() {
    let server = serve(hmac_auth()).await;
    let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64(claims("alice").to_string());

    // Header: not base64url at all, and standard base64 with padding.
    server
        .bearer(&raw_token("eyJ!!!", &payload, "c2ln"))
        .await
        .assert_invalid("token_malformed");
    server
        .bearer(&raw_token("eyJhbGciOiJIUzI1NiJ9==", &payload, "c2ln"))
        .await
        .assert_invalid("token_malformed");

    // Payload: correctly signed, so only its encoding is wrong.
    server
        .bearer(&sign_segments(Algorithm::HS256, &header, "eyJzdWIi$$$"))
        .await
        .assert_invalid("token_malformed");
    server
        .bearer(&sign_segments(Algorithm::HS256, &header, "eyJ+/w=="))
        .await
        .assert_invalid("token_malformed");

    // Signature.
    let valid = hs256(&claims("alice"));
    let signed_part = valid.rsplit_once('.').unwrap().0;
    server
        .bearer(&format!("{signed_part}.%%%"))
        .await
        .assert_invalid("token_malformed");
    server
        .bearer(&format!("{signed_part}.ab+/cd=="))
        .await
        .assert_invalid("token_malformed");
    server.bearer(&valid).await.assert_ok("alice");
}

#[tokio::test]
async fn crit_header_is_rejected() {
    let server = serve(hmac_auth()).await;
    let payload = claims("alice").to_string();
    let token = signed_json(
        r#"{"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1}"#,
        &payload,
    );
    server
        .bearer(&token)
        .await
        .assert_invalid("unsupported_crit");
    let token = signed_json(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#, &payload);
    server
        .bearer(&token)
        .await
        .assert_invalid("unsupported_crit");
}

#[tokio::test]
async fn token_type_is_enforced_when_configured() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .token_type("at+jwt")
        .build()
        .unwrap();
    let server = serve(auth).await;
    let key = signing_key(Algorithm::HS256);
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
    ] {
        let token = mint_with(
            &header_with_typ(Algorithm::HS256, Some(typ)),
            &claims("alice"),
            &key,
        );
        server.bearer(&token).await.assert_ok("alice");
    }
    for typ in [
        Some("JWT"),
        Some("jwt"),
        Some("application/jwt"),
        Some("at+jwt+x"),
        Some(""),
        None,
    ] {
        let token = mint_with(
            &header_with_typ(Algorithm::HS256, typ),
            &claims("alice"),
            &key,
        );
        let reply = server.bearer(&token).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("invalid_token_type"),
            "typ {typ:?}: {reply:?}"
        );
        reply.assert_invalid("invalid_token_type");
    }
    // Without a configured type, any typ (or none) is fine.
    let lenient = serve(hmac_auth()).await;
    let token = mint_with(
        &header_with_typ(Algorithm::HS256, None),
        &claims("alice"),
        &key,
    );
    lenient.bearer(&token).await.assert_ok("alice");
}

// ---------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------

#[tokio::test]
async fn missing_exp_is_rejected() {
    let server = serve(hmac_auth()).await;
    let reply = server
        .bearer(&hs256(&json!({ "sub": "alice", "iat": common::now() })))
        .await;
    reply.assert_invalid("missing_claim");
    assert_eq!(reply.json()["error_description"], "token has no exp claim");
}

#[tokio::test]
async fn required_claims_are_enforced() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .required_claims(["sub", "jti"])
        .build()
        .unwrap();
    let server = serve(auth).await;
    server
        .bearer(&hs256(&claims_with("alice", json!({ "jti": "1" }))))
        .await
        .assert_ok("alice");
    let no_sub = hs256(&merge(claims("alice"), json!({ "sub": null, "jti": "1" })));
    let reply = server.bearer(&no_sub).await;
    reply.assert_invalid("missing_claim");
    assert_eq!(reply.json()["error_description"], "token has no sub claim");
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_invalid("missing_claim");
}

#[tokio::test]
async fn expiry_is_accepted_within_leeway_and_rejected_beyond_it() {
    let clock = ManualClock::new(T);
    let server = serve(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .clock(clock.clone())
            .build()
            .unwrap(),
    )
    .await;
    let token = hs256(&json!({ "sub": "alice", "iat": T - 600, "exp": T }));

    server.bearer(&token).await.assert_ok("alice");
    clock.set(T + 30);
    server.bearer(&token).await.assert_ok("alice");
    clock.set(T + 60); // the default leeway, exactly
    server.bearer(&token).await.assert_ok("alice");
    clock.set(T + 61);
    let reply = server.bearer(&token).await;
    reply.assert_invalid("token_expired");
    assert_eq!(reply.json()["error_description"], "token expired");
    clock.advance(3600);
    server.bearer(&token).await.assert_invalid("token_expired");

    // A smaller leeway moves the boundary.
    let strict_clock = ManualClock::new(T + 10);
    let strict = serve(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .leeway(Duration::from_secs(10))
            .clock(strict_clock.clone())
            .build()
            .unwrap(),
    )
    .await;
    strict.bearer(&token).await.assert_ok("alice");
    strict_clock.advance(1);
    strict.bearer(&token).await.assert_invalid("token_expired");
}

#[tokio::test]
async fn nbf_in_the_future_is_rejected() {
    let server = serve(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .clock(ManualClock::new(T))
            .build()
            .unwrap(),
    )
    .await;
    let not_yet = hs256(&merge(claims_at("alice", T), json!({ "nbf": T + 3600 })));
    server
        .bearer(&not_yet)
        .await
        .assert_invalid("token_not_yet_valid");
    let beyond_leeway = hs256(&merge(claims_at("alice", T), json!({ "nbf": T + 61 })));
    server
        .bearer(&beyond_leeway)
        .await
        .assert_invalid("token_not_yet_valid");
    let within_leeway = hs256(&merge(claims_at("alice", T), json!({ "nbf": T + 60 })));
    server.bearer(&within_leeway).await.assert_ok("alice");
    let past = hs256(&merge(claims_at("alice", T), json!({ "nbf": T - 10 })));
    server.bearer(&past).await.assert_ok("alice");
}

#[tokio::test]
async fn iat_in_the_future_beyond_leeway_is_rejected() {
    let server = serve(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .clock(ManualClock::new(T))
            .build()
            .unwrap(),
    )
    .await;
    let future = hs256(&json!({ "sub": "alice", "iat": T + 3600, "exp": T + 7200 }));
    server
        .bearer(&future)
        .await
        .assert_invalid("token_issued_in_future");
    let skewed = hs256(&json!({ "sub": "alice", "iat": T + 30, "exp": T + 600 }));
    server.bearer(&skewed).await.assert_ok("alice");
}

#[tokio::test]
async fn issuer_is_checked_when_configured() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .issuer("https://issuer.example")
        .build()
        .unwrap();
    let server = serve(auth).await;
    let right = hs256(&claims_with(
        "alice",
        json!({ "iss": "https://issuer.example" }),
    ));
    server.bearer(&right).await.assert_ok("alice");
    for iss in [
        json!("https://evil.example"),
        json!("https://issuer.example/"),
        json!("HTTPS://ISSUER.EXAMPLE"),
    ] {
        let token = hs256(&claims_with("alice", json!({ "iss": iss })));
        server.bearer(&token).await.assert_invalid("invalid_issuer");
    }
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_invalid("invalid_issuer");
}

#[tokio::test]
async fn audience_is_checked_when_configured() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audience("orders-api")
        .build()
        .unwrap();
    let server = serve(auth).await;
    let with_aud = |aud| hs256(&claims_with("alice", json!({ "aud": aud })));

    server
        .bearer(&with_aud(json!("orders-api")))
        .await
        .assert_ok("alice");
    let body = server
        .bearer(&with_aud(json!(["billing-api", "orders-api"])))
        .await
        .assert_ok("alice");
    assert_eq!(body["claims"]["aud"], json!(["billing-api", "orders-api"]));

    server
        .bearer(&with_aud(json!("billing-api")))
        .await
        .assert_invalid("invalid_audience");
    server
        .bearer(&with_aud(json!(["billing-api"])))
        .await
        .assert_invalid("invalid_audience");
    server
        .bearer(&with_aud(json!([])))
        .await
        .assert_invalid("invalid_audience");
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_invalid("invalid_audience");
}

#[tokio::test]
async fn audience_is_rejected_when_the_service_has_none() {
    let server = serve(hmac_auth()).await;
    let token = hs256(&claims_with("alice", json!({ "aud": "orders-api" })));
    let reply = server.bearer(&token).await;
    reply.assert_invalid("invalid_audience");
    assert_eq!(
        reply.json()["error_description"],
        "token names an audience but this service accepts none"
    );
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_ok("alice");
}

#[tokio::test]
async fn oddly_typed_registered_claims_are_invalid_claims() {
    let server = serve(hmac_auth()).await;
    let exp = common::now() + 600;
    for payload in [
        format!(r#"{{"sub":"alice","exp":"{exp}"}}"#),
        format!(r#"{{"sub":42,"exp":{exp}}}"#),
        format!(r#"{{"sub":"alice","exp":{exp},"aud":7}}"#),
        format!(r#"{{"sub":"alice","exp":{exp},"iss":["a"]}}"#),
    ] {
        let reply = server.bearer(&signed_payload(&payload)).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("invalid_claims"),
            "{payload}: {reply:?}"
        );
        reply.assert_invalid("invalid_claims");
    }
}

/// A claims type whose fields follow the order of the registered claims.
#[derive(Deserialize)]
struct Standard {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
}

async fn standard(claims: Claims<Standard>) -> Json<Value> {
    Json(json!({ "iss": claims.iss, "sub": claims.sub, "aud": claims.aud, "exp": claims.exp }))
}

/// A signed JSON array whose elements line up with `iss`, `sub`, `aud`, `exp`.
fn positional_claims() -> String {
    let exp = common::now() + 600;
    signed_payload(&format!(
        r#"["https://issuer.example","alice","orders-api",{exp}]"#
    ))
}

fn as_object_claims() -> String {
    let exp = common::now() + 600;
    hs256(
        &json!({ "iss": "https://issuer.example", "sub": "alice", "aud": "orders-api", "exp": exp }),
    )
}

// RFC 7519 section 7.2: the claims set must be a JSON object. A signed JSON
// array is not a JWT, even if its elements line up with the claim names.

#[tokio::test]
async fn claims_that_are_a_json_array_are_invalid_claims() {
    let server = serve(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .audience("orders-api")
            .build()
            .unwrap(),
    )
    .await;
    server.bearer(&as_object_claims()).await.assert_ok("alice");
    server
        .bearer(&positional_claims())
        .await
        .assert_invalid("invalid_claims");
    for payload in [r#"["not","an","object"]"#, "[]", "[null]"] {
        let reply = server.bearer(&signed_payload(payload)).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("invalid_claims"),
            "{payload}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn claims_that_are_a_json_array_are_rejected_with_a_custom_claims_type() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audience("orders-api")
        .claims::<Standard>()
        .build()
        .unwrap();
    let app = Router::new()
        .route("/protected", get(standard))
        .layer(auth.json_errors());
    let server = serve_router(app).await;
    server.bearer(&as_object_claims()).await.assert_ok("alice");
    server
        .bearer(&positional_claims())
        .await
        .assert_invalid("invalid_claims");
}
