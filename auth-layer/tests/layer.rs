//! The layer through `tower::ServiceExt::oneshot` against an echo service,
//! and the build-time checks of the configuration.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use std::convert::Infallible;
use std::time::Duration;

use auth_layer::clock::ManualClock;
use auth_layer::keys::{Algorithm, Key};
use auth_layer::{ConfigError, ErrorKind, JwtAuth, VerifiedToken};
use http::{Request, Response, StatusCode};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use tower::{Layer, ServiceExt, service_fn};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
const NOW: i64 = 1_800_000_000;

fn test_key(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn hs256(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Echoes the verified subject, or `-` when the layer let an unauthenticated request through.
async fn echo(req: Request<()>) -> Result<Response<String>, Infallible> {
    let sub = req
        .extensions()
        .get::<VerifiedToken>()
        .map(|t| t.subject().to_owned());
    Ok(Response::new(sub.unwrap_or_else(|| "-".into())))
}

async fn send<R: auth_layer::response::Responder<String>>(
    auth: &JwtAuth<auth_layer::claims::DefaultClaims, R>,
    token: Option<&str>,
) -> Response<String> {
    let mut req = Request::builder().uri("/");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    auth.layer(service_fn(echo))
        .oneshot(req.body(()).unwrap())
        .await
        .unwrap()
}

fn auth_at(now: i64) -> JwtAuth {
    JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(ManualClock::new(now))
        .build()
        .unwrap()
}

fn code(res: &Response<String>) -> Option<ErrorKind> {
    res.extensions()
        .get::<auth_layer::AuthError>()
        .map(auth_layer::AuthError::kind)
}

#[tokio::test]
async fn valid_token_reaches_the_service_with_its_claims() {
    let res = send(
        &auth_at(NOW),
        Some(&hs256(json!({"sub": "alice", "exp": NOW + 60}))),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "alice");
}

#[tokio::test]
async fn rejection_carries_the_error_for_outer_layers() {
    let res = send(
        &auth_at(NOW),
        Some(&hs256(json!({"sub": "alice", "exp": NOW - 61}))),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&res), Some(ErrorKind::Expired));
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\""
    );
    let body: serde_json::Value = serde_json::from_str(res.body()).unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_token", "error_description": "token expired", "code": "token_expired"}),
        "the default responder sends the JSON body"
    );
    assert_eq!(res.headers()["content-type"], "application/json");

    // On request, the same answer without a body.
    let empty = auth_at(NOW).empty_error_bodies();
    let res = send(
        &empty,
        Some(&hs256(json!({"sub": "alice", "exp": NOW - 61}))),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&res), Some(ErrorKind::Expired));
    assert_eq!(res.body(), "");
    assert!(res.headers().get("content-type").is_none());
}

#[tokio::test]
async fn sub_is_required_unless_the_layer_says_otherwise() {
    let empty_sub = hs256(json!({"sub": "", "exp": NOW + 60}));
    let res = send(&auth_at(NOW), Some(&empty_sub)).await;
    assert_eq!(
        code(&res),
        Some(ErrorKind::MissingClaim),
        "an empty sub names no one"
    );
    let no_sub = hs256(json!({"exp": NOW + 60}));
    let res = send(&auth_at(NOW), Some(&no_sub)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&res), Some(ErrorKind::MissingClaim));
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token has no sub claim\""
    );
    let optional = JwtAuth::builder()
        .hmac_secret(SECRET)
        .subject_optional()
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let res = send(&optional, Some(&no_sub)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "", "subject() is empty for a token without sub");
    let res = send(
        &optional,
        Some(&hs256(json!({"sub": "alice", "exp": NOW + 60}))),
    )
    .await;
    assert_eq!(res.body(), "alice");
}

#[tokio::test]
async fn leeway_boundaries_are_inclusive() {
    let auth = auth_at(NOW);
    let at_edge = hs256(json!({"sub": "a", "exp": NOW - 60}));
    let past_edge = hs256(json!({"sub": "a", "exp": NOW - 61}));
    assert_eq!(send(&auth, Some(&at_edge)).await.status(), StatusCode::OK);
    assert_eq!(
        code(&send(&auth, Some(&past_edge)).await),
        Some(ErrorKind::Expired)
    );
    let nbf_edge = hs256(json!({"sub": "a", "exp": NOW + 600, "nbf": NOW + 60}));
    let nbf_late = hs256(json!({"sub": "a", "exp": NOW + 600, "nbf": NOW + 61}));
    assert_eq!(send(&auth, Some(&nbf_edge)).await.status(), StatusCode::OK);
    assert_eq!(
        code(&send(&auth, Some(&nbf_late)).await),
        Some(ErrorKind::NotYetValid)
    );
}

#[tokio::test]
async fn the_injected_clock_decides_expiry() {
    let clock = ManualClock::new(NOW);
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = hs256(json!({"sub": "a", "exp": NOW + 10}));
    assert_eq!(send(&auth, Some(&token)).await.status(), StatusCode::OK);
    clock.advance(71);
    assert_eq!(
        code(&send(&auth, Some(&token)).await),
        Some(ErrorKind::Expired)
    );
}

#[tokio::test]
async fn json_errors_send_the_machine_readable_code() {
    let auth = auth_at(NOW).json_errors();
    let svc = auth.layer(service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let res = svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(res.body()).unwrap();
    assert_eq!(body["code"], "token_missing");
}

#[tokio::test]
async fn optional_mode_passes_requests_without_token_but_not_bad_tokens() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .optional()
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let none = send(&auth, None).await;
    assert_eq!((none.status(), none.body().as_str()), (StatusCode::OK, "-"));
    assert_eq!(
        send(&auth, Some("garbage")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn every_key_format_verifies_its_own_tokens() {
    let claims = json!({"sub": "k", "exp": NOW + 60});
    let cases: [(&str, Key, Algorithm, EncodingKey); 5] = [
        (
            "rsa pem",
            Key::rsa_pem(test_key("rsa_public.pem")).unwrap(),
            Algorithm::PS256,
            EncodingKey::from_rsa_pem(&test_key("rsa_private.pem")).unwrap(),
        ),
        (
            "rsa der",
            Key::public_key_der(test_key("rsa_public.der")).unwrap(),
            Algorithm::RS512,
            EncodingKey::from_rsa_pem(&test_key("rsa_private.pem")).unwrap(),
        ),
        (
            "ec p-384 pem",
            Key::public_key_pem(test_key("ec_p384_public.pem")).unwrap(),
            Algorithm::ES384,
            EncodingKey::from_ec_pem(&test_key("ec_p384_private.pem")).unwrap(),
        ),
        (
            "ed25519 der",
            Key::public_key_der(test_key("ed25519_public.der")).unwrap(),
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&test_key("ed25519_private.pem")).unwrap(),
        ),
        (
            "oct jwk",
            Key::jwk_json(r#"{"kty":"oct","kid":"j1","alg":"HS256","k":"YS1zZWNyZXQtb2YtYXQtbGVhc3QtdGhpcnR5LXR3by1ieXRlcyE"}"#)
                .unwrap(),
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET.as_bytes()),
        ),
    ];
    for (name, key, alg, signing) in cases {
        let auth = JwtAuth::builder()
            .key(key)
            .clock(ManualClock::new(NOW))
            .build()
            .unwrap();
        let token = encode(&Header::new(alg), &claims, &signing).unwrap();
        let res = send(&auth, Some(&token)).await;
        assert_eq!(res.status(), StatusCode::OK, "{name}: {:?}", code(&res));
    }
}

#[tokio::test]
async fn ec_keys_are_pinned_to_their_curve() {
    let key = Key::public_key_pem(test_key("ec_p256_public.pem")).unwrap();
    assert_eq!(key.algorithms(), [Algorithm::ES256]);
    let auth = JwtAuth::builder()
        .key(key)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let token = encode(
        &Header::new(Algorithm::ES384),
        &json!({"exp": NOW + 60}),
        &EncodingKey::from_ec_pem(&test_key("ec_p384_private.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        code(&send(&auth, Some(&token)).await),
        Some(ErrorKind::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn a_public_key_never_acts_as_an_hmac_secret() {
    let pem = test_key("rsa_public.pem");
    let auth = JwtAuth::builder()
        .public_key_pem(&pem)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "mallory", "exp": NOW + 60}),
        &EncodingKey::from_secret(&pem),
    )
    .unwrap();
    let res = send(&auth, Some(&forged)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&res), Some(ErrorKind::AlgorithmNotAllowed));
}

#[tokio::test]
async fn kids_select_keys_and_unknown_kids_are_refused() {
    let auth = JwtAuth::builder()
        .key(Key::hmac(SECRET).unwrap().with_kid("a"))
        .key(
            Key::hmac("another-secret-of-at-least-thirty-two-bytes")
                .unwrap()
                .with_kid("b"),
        )
        .key(
            Key::rsa_pem(test_key("rsa_public.pem"))
                .unwrap()
                .with_kid("r"),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let claims = json!({"sub": "k", "exp": NOW + 60});
    let with_kid = |kid: Option<&str>| {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = kid.map(str::to_owned);
        encode(&h, &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
    };
    assert_eq!(
        send(&auth, Some(&with_kid(Some("a")))).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        code(&send(&auth, Some(&with_kid(Some("b")))).await),
        Some(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        code(&send(&auth, Some(&with_kid(Some("zz")))).await),
        Some(ErrorKind::UnknownKey)
    );
    assert_eq!(
        code(&send(&auth, Some(&with_kid(Some("r")))).await),
        Some(ErrorKind::AlgorithmNotAllowed)
    );
    assert_eq!(
        code(&send(&auth, Some(&with_kid(None))).await),
        Some(ErrorKind::UnknownKey),
        "two HMAC keys, no kid"
    );
}

#[test]
fn inconsistent_configurations_fail_at_build_with_the_fix() {
    let rsa = test_key("rsa_public.pem");
    let cases: Vec<(&str, Result<JwtAuth, ConfigError>, &str)> = vec![
        (
            "no key",
            JwtAuth::builder().build(),
            "no verification key is configured",
        ),
        (
            "short secret",
            JwtAuth::builder().hmac_secret("short").build(),
            "invalid HMAC secret: 5 bytes is too short",
        ),
        (
            "public key as hmac secret",
            JwtAuth::builder().hmac_secret(&rsa).build(),
            "invalid HMAC secret: it is a PEM key",
        ),
        (
            "algorithm without key",
            JwtAuth::builder()
                .hmac_secret(SECRET)
                .algorithms([Algorithm::HS256, Algorithm::ES256])
                .build(),
            "algorithm ES256 is allowed but no EC key is configured",
        ),
        (
            "key outside the allowed algorithms",
            JwtAuth::builder()
                .hmac_secret(SECRET)
                .public_key_pem(&rsa)
                .algorithms([Algorithm::RS256])
                .build(),
            "the HMAC key (without kid) can verify none of the allowed algorithms",
        ),
        (
            "weak rsa",
            JwtAuth::builder()
                .public_key_pem(test_key("rsa1024_public.pem"))
                .build(),
            "invalid RSA public key: 1024 bits is too weak",
        ),
        (
            "leeway",
            JwtAuth::builder()
                .hmac_secret(SECRET)
                .leeway(Duration::from_secs(301))
                .build(),
            "a leeway of 301 s is above the cap of 300 s",
        ),
        (
            "duplicate kid",
            JwtAuth::builder()
                .key(Key::hmac(SECRET).unwrap().with_kid("k"))
                .key(Key::rsa_pem(&rsa).unwrap().with_kid("k"))
                .build(),
            "two keys share the kid \"k\"",
        ),
        (
            "unknown required claim",
            JwtAuth::builder()
                .hmac_secret(SECRET)
                .required_claims(["role"])
                .build(),
            "required_claims: \"role\" is not a registered claim",
        ),
        (
            "bad realm",
            JwtAuth::builder().hmac_secret(SECRET).realm("a\"b").build(),
            "realm: must be printable ASCII",
        ),
        (
            "not a pem",
            JwtAuth::builder().public_key_pem("hello").build(),
            "invalid public key PEM",
        ),
    ];
    for (name, result, expected) in cases {
        let err = result.map(drop).unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "{name}: {err:?} should start with {expected:?}"
        );
    }
}

#[test]
fn jwk_use_enc_and_foreign_key_ops_are_refused() {
    let enc =
        r#"{"kty":"oct","use":"enc","k":"YS1zZWNyZXQtb2YtYXQtbGVhc3QtdGhpcnR5LXR3by1ieXRlcyE"}"#;
    let sign_only = r#"{"kty":"oct","key_ops":["sign"],"k":"YS1zZWNyZXQtb2YtYXQtbGVhc3QtdGhpcnR5LXR3by1ieXRlcyE"}"#;
    assert!(
        Key::jwk_json(enc)
            .unwrap_err()
            .to_string()
            .contains("use: enc")
    );
    assert!(
        Key::jwk_json(sign_only)
            .unwrap_err()
            .to_string()
            .contains("key_ops")
    );
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let auth = auth_at(NOW);
    let printed = format!("{auth:?}");
    assert!(!printed.contains("thirty-two"), "{printed}");
    assert!(printed.contains("[redacted]"), "{printed}");
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JwtAuth>();
    assert_send_sync::<
        auth_layer::JwtAuthService<
            tower::util::BoxCloneSyncService<Request<()>, Response<()>, Infallible>,
        >,
    >();
    assert_send_sync::<VerifiedToken>();
    assert_send_sync::<auth_layer::AuthError>();
    assert_send_sync::<ConfigError>();
    fn assert_send<T: Send>() {}
    type Svc = tower::util::BoxCloneSyncService<Request<()>, Response<()>, Infallible>;
    assert_send::<
        auth_layer::future::ResponseFuture<
            Svc,
            (),
            auth_layer::claims::DefaultClaims,
            auth_layer::response::EmptyResponder,
        >,
    >();
    assert_send_sync::<auth_layer::revocation::RevocationCache>();
    assert_send_sync::<auth_layer::store::MemoryStore>();
}
