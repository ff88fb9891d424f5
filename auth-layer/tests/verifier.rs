//! Every verification rule that needs no HTTP, as a table of
//! `Verifier::verify` cases: one row per case, with its name, the
//! configuration, the clock, the token and the expected answer.
//!
//! Each row is verified twice: in full (`verify_uncached`) and through the
//! verified-token cache (`verify`), which must agree. A row with `cached_at`
//! is verified (and cached) at that time first and presented at `now`
//! after, as a token is on its next request: `exp` and `nbf` still apply.
//! What a client sees for each answer (status, challenge, code) is the
//! response mapping's, tested with it and end to end in the `tests` package.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use std::time::Duration;

use auth_layer::clock::ManualClock;
use auth_layer::keys::{Algorithm, Key, algorithm_name};
use auth_layer::{ErrorKind, JwtAuth, JwtAuthBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

/// Long enough for HS512 (64 bytes; RFC 7518 section 3.2).
const SECRET: &str = "verifier-test-secret-of-at-least-64-bytes-so-that-hs512-is-allowed";

/// The verifier's "now" (Unix seconds, on a manual clock).
const T: i64 = 1_700_000_000;

const ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

// ---------------------------------------------------------------------------
// Keys and tokens
// ---------------------------------------------------------------------------

fn test_key(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The public key (PEM) that verifies `alg`; `None` for the HMAC family.
fn public_pem(alg: Algorithm) -> Option<Vec<u8>> {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => None,
        Algorithm::ES256 => Some(test_key("ec_p256_public.pem")),
        Algorithm::ES384 => Some(test_key("ec_p384_public.pem")),
        Algorithm::EdDSA => Some(test_key("ed25519_public.pem")),
        _ => Some(test_key("rsa_public.pem")),
    }
}

/// The key that signs `alg` tokens the verifiers here trust.
fn signing_key(alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(SECRET.as_bytes())
        }
        Algorithm::ES256 => EncodingKey::from_ec_pem(&test_key("ec_p256_private.pem")).unwrap(),
        Algorithm::ES384 => EncodingKey::from_ec_pem(&test_key("ec_p384_private.pem")).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&test_key("ed25519_private.pem")).unwrap(),
        _ => EncodingKey::from_rsa_pem(&test_key("rsa_private.pem")).unwrap(),
    }
}

/// `sub` alice, issued at `T`, expiring ten minutes later.
fn claims() -> Value {
    json!({ "sub": "alice", "iat": T, "exp": T + 600 })
}

/// `claims()` with `extra`'s fields added or replaced (`null` removes one).
fn claims_with(extra: Value) -> Value {
    let mut base = claims();
    let (Some(map), Value::Object(extra)) = (base.as_object_mut(), extra) else {
        panic!("claims_with expects a JSON object");
    };
    for (k, v) in extra {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    base
}

fn mint_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

fn mint(alg: Algorithm, claims: &Value) -> String {
    mint_with(&Header::new(alg), claims, &signing_key(alg))
}

fn hs256(claims: &Value) -> String {
    mint(Algorithm::HS256, claims)
}

fn with_header(alg: Algorithm, edit: impl FnOnce(&mut Header)) -> String {
    let mut header = Header::new(alg);
    edit(&mut header);
    mint_with(&header, &claims(), &signing_key(alg))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs two encoded segments with the trusted key of `alg`, so the token
/// passes the signature check and reaches what comes after it.
fn sign_segments(alg: Algorithm, header_b64: &str, payload_b64: &str) -> String {
    let message = format!("{header_b64}.{payload_b64}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &signing_key(alg), alg).unwrap();
    format!("{message}.{signature}")
}

/// A correctly signed HS256 token from literal header and payload JSON.
fn signed_json(header_json: &str, payload_json: &str) -> String {
    sign_segments(Algorithm::HS256, &b64(header_json), &b64(payload_json))
}

fn signed_payload(payload_json: &str) -> String {
    signed_json(r#"{"alg":"HS256","typ":"JWT"}"#, payload_json)
}

// ---------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------

type Config = Box<dyn Fn(JwtAuthBuilder) -> JwtAuthBuilder>;

fn hmac() -> Config {
    Box::new(|b| b.hmac_secret(SECRET))
}

fn hmac_and(more: impl Fn(JwtAuthBuilder) -> JwtAuthBuilder + 'static) -> Config {
    Box::new(move |b| more(b.hmac_secret(SECRET)))
}

/// The HMAC secret and every public test key, none with a `kid`.
fn every_key() -> Config {
    Box::new(|b| {
        b.hmac_secret(SECRET)
            .public_key_pem(test_key("rsa_public.pem"))
            .public_key_pem(test_key("ec_p256_public.pem"))
            .public_key_pem(test_key("ec_p384_public.pem"))
            .public_key_pem(test_key("ed25519_public.pem"))
    })
}

/// Only the key of `alg`, and only `alg` allowed.
fn only(alg: Algorithm) -> Config {
    Box::new(move |b| {
        let b = match public_pem(alg) {
            Some(pem) => b.public_key_pem(pem),
            None => b.hmac_secret(SECRET),
        };
        b.algorithms([alg])
    })
}

fn pem(file: &'static str) -> Config {
    Box::new(move |b| b.public_key_pem(test_key(file)))
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

enum Expect {
    /// Verified, signed with this algorithm (the subject is alice).
    Pass(Algorithm),
    /// Refused for this reason.
    Fail(ErrorKind),
    /// Refused for this reason, with this description for the client.
    FailWith(ErrorKind, &'static str),
}

use Expect::{Fail, FailWith, Pass};

struct Case {
    name: String,
    config: Config,
    /// The clock when the token is presented.
    now: i64,
    /// When set, the token is verified (and cached) at this time first.
    cached_at: Option<i64>,
    token: String,
    expect: Expect,
}

fn case(name: impl Into<String>, config: Config, token: String, expect: Expect) -> Case {
    Case {
        name: name.into(),
        config,
        now: T,
        cached_at: None,
        token,
        expect,
    }
}

impl Case {
    fn at(mut self, now: i64) -> Self {
        self.now = now;
        self
    }

    fn cached_at(mut self, at: i64) -> Self {
        self.cached_at = Some(at);
        self
    }
}

fn algorithm_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for alg in ALGORITHMS {
        let name = algorithm_name(alg);
        let token = mint(alg, &claims());
        cases.push(case(
            format!("{name}: accepted with every key configured"),
            every_key(),
            token.clone(),
            Pass(alg),
        ));
        cases.push(case(
            format!("{name}: accepted as the only algorithm allowed"),
            only(alg),
            token.clone(),
            Pass(alg),
        ));
        let parts: Vec<&str> = token.split('.').collect();
        let tampered_payload = b64(claims_with(json!({ "sub": "admin" })).to_string());
        cases.push(case(
            format!("{name}: tampered payload"),
            every_key(),
            format!("{}.{tampered_payload}.{}", parts[0], parts[2]),
            Fail(ErrorKind::InvalidSignature),
        ));
        let other = mint(alg, &claims_with(json!({ "sub": "bob" })));
        let other_signature = other.rsplit('.').next().unwrap();
        cases.push(case(
            format!("{name}: signature transplanted from another token"),
            every_key(),
            format!("{}.{}.{other_signature}", parts[0], parts[1]),
            Fail(ErrorKind::InvalidSignature),
        ));
    }
    let rs256_only = || -> Config {
        Box::new(|b| {
            b.public_key_pem(test_key("rsa_public.pem"))
                .algorithms([Algorithm::RS256])
        })
    };
    cases.push(case(
        "RS256 allowed: RS256 passes",
        rs256_only(),
        mint(Algorithm::RS256, &claims()),
        Pass(Algorithm::RS256),
    ));
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
        cases.push(case(
            format!(
                "RS256 allowed: {} refused with the right key",
                algorithm_name(alg)
            ),
            rs256_only(),
            mint(alg, &claims()),
            Fail(ErrorKind::AlgorithmNotAllowed),
        ));
    }
    cases.push(case(
        "P-256 key: pinned to ES256",
        pem("ec_p256_public.pem"),
        mint(Algorithm::ES256, &claims()),
        Pass(Algorithm::ES256),
    ));
    cases.push(case(
        "P-256 key: ES384 refused",
        pem("ec_p256_public.pem"),
        mint(Algorithm::ES384, &claims()),
        Fail(ErrorKind::AlgorithmNotAllowed),
    ));
    cases.push(case(
        "P-256 key: HS256 has no key at all",
        pem("ec_p256_public.pem"),
        hs256(&claims()),
        Fail(ErrorKind::AlgorithmNotAllowed),
    ));
    cases
}

fn confusion_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let payload = b64(claims().to_string());
    for spelling in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{spelling}","typ":"JWT"}}"#));
        cases.push(case(
            format!("alg {spelling}: unsigned"),
            every_key(),
            format!("{header}.{payload}."),
            Fail(ErrorKind::AlgorithmNotAllowed),
        ));
        cases.push(case(
            format!("alg {spelling}: with a valid HS256 MAC of the message"),
            every_key(),
            sign_segments(Algorithm::HS256, &header, &payload),
            Fail(ErrorKind::AlgorithmNotAllowed),
        ));
        cases.push(case(
            format!("alg {spelling}: with an arbitrary signature"),
            every_key(),
            format!("{header}.{payload}.c2lnbmF0dXJl"),
            Fail(ErrorKind::AlgorithmNotAllowed),
        ));
        cases.push(case(
            format!("alg {spelling}: without a third segment"),
            every_key(),
            format!("{header}.{payload}"),
            Fail(ErrorKind::Malformed),
        ));
    }
    let rsa_pem = test_key("rsa_public.pem");
    let forged = mint_with(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(&rsa_pem),
    );
    cases.push(case(
        "HS256 with the RSA public key as secret: RSA-only service",
        pem("rsa_public.pem"),
        forged.clone(),
        Fail(ErrorKind::AlgorithmNotAllowed),
    ));
    cases.push(case(
        "RS256 on the RSA-only service",
        pem("rsa_public.pem"),
        mint(Algorithm::RS256, &claims()),
        Pass(Algorithm::RS256),
    ));
    cases.push(case(
        "HS256 with the RSA public key as secret: meets the real secret",
        Box::new(|b| {
            b.public_key_pem(test_key("rsa_public.pem"))
                .hmac_secret(SECRET)
        }),
        forged,
        Fail(ErrorKind::InvalidSignature),
    ));
    cases.push(case(
        "RS256 signed by another RSA key",
        every_key(),
        mint_with(
            &Header::new(Algorithm::RS256),
            &claims(),
            &EncodingKey::from_rsa_pem(&test_key("other_rsa_private.pem")).unwrap(),
        ),
        Fail(ErrorKind::InvalidSignature),
    ));
    cases.push(case(
        "HS256 signed with another secret",
        every_key(),
        mint_with(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"another-secret-that-is-also-32-bytes-long"),
        ),
        Fail(ErrorKind::InvalidSignature),
    ));
    let kids = || -> Config {
        Box::new(|b| {
            b.key(
                auth_layer::keys::Key::rsa_pem(test_key("rsa_public.pem"))
                    .unwrap()
                    .with_kid("k1"),
            )
            .key(
                auth_layer::keys::Key::ec_pem(test_key("ec_p256_public.pem"))
                    .unwrap()
                    .with_kid("k2"),
            )
        })
    };
    let kid = |alg, kid: &'static str| with_header(alg, |h| h.kid = Some(kid.to_owned()));
    for (name, alg, k, expect) in [
        (
            "kid k1 selects the RSA key",
            Algorithm::RS256,
            "k1",
            Pass(Algorithm::RS256),
        ),
        (
            "kid k2 selects the EC key",
            Algorithm::ES256,
            "k2",
            Pass(Algorithm::ES256),
        ),
        (
            "unknown kid",
            Algorithm::RS256,
            "k3",
            Fail(ErrorKind::UnknownKey),
        ),
        (
            "empty kid",
            Algorithm::ES256,
            "",
            Fail(ErrorKind::UnknownKey),
        ),
        (
            "kid of the RSA key on an ES256 token",
            Algorithm::ES256,
            "k1",
            Fail(ErrorKind::AlgorithmNotAllowed),
        ),
    ] {
        cases.push(case(name, kids(), kid(alg, k), expect));
    }
    cases
}

fn structure_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // A group-heavy provider token (Entra ID, Keycloak with many groups):
    // 230 group ids, about 12 KB, under the default cap.
    let groups: Vec<String> = (0..230)
        .map(|i| format!("{i:08x}-5f1c-4a6e-9d2b-7c3e8a1f{i:04x}"))
        .collect();
    let heavy = hs256(&claims_with(json!({ "groups": groups })));
    assert!(
        (11 * 1024..16 * 1024).contains(&heavy.len()),
        "{}",
        heavy.len()
    );
    cases.push(case(
        "a group-heavy provider token of about 12 KB",
        hmac(),
        heavy,
        Pass(Algorithm::HS256),
    ));
    let big = hs256(&claims_with(json!({ "padding": "x".repeat(17 * 1024) })));
    assert!(big.len() > 16 * 1024);
    cases.push(case(
        "signed token over the default 16 KiB cap",
        hmac(),
        big,
        Fail(ErrorKind::TokenTooLarge),
    ));
    cases.push(case(
        "junk over the cap is refused for its size",
        hmac(),
        "A".repeat(16 * 1024 + 1),
        Fail(ErrorKind::TokenTooLarge),
    ));
    cases.push(case(
        "ordinary token over a 64-byte cap",
        hmac_and(|b| b.max_token_bytes(64)),
        hs256(&claims()),
        Fail(ErrorKind::TokenTooLarge),
    ));
    let jwe = [
        r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
        "key",
        "iv",
        "ciphertext",
        "tag",
    ]
    .map(b64)
    .join(".");
    cases.push(case(
        "five segments (JWE)",
        hmac(),
        jwe,
        FailWith(
            ErrorKind::Malformed,
            "encrypted tokens (JWE) are not supported",
        ),
    ));
    cases.push(case(
        "four segments",
        hmac(),
        "a.b.c.d".to_owned(),
        Fail(ErrorKind::Malformed),
    ));
    let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64(claims().to_string());
    let valid = hs256(&claims());
    let signed_part = valid.rsplit_once('.').unwrap().0.to_owned();
    for (name, token) in [
        ("header not base64url", format!("eyJ!!!.{payload}.c2ln")),
        (
            "header in padded standard base64",
            format!("eyJhbGciOiJIUzI1NiJ9==.{payload}.c2ln"),
        ),
        (
            "signed payload not base64url",
            sign_segments(Algorithm::HS256, &header, "eyJzdWIi$$$"),
        ),
        (
            "signed payload in standard base64",
            sign_segments(Algorithm::HS256, &header, "eyJ+/w=="),
        ),
        ("signature not base64url", format!("{signed_part}.%%%")),
        (
            "signature in padded standard base64",
            format!("{signed_part}.ab+/cd=="),
        ),
    ] {
        cases.push(case(name, hmac(), token, Fail(ErrorKind::Malformed)));
    }
    cases.push(case(
        "the valid token the bad encodings were made from",
        hmac(),
        valid,
        Pass(Algorithm::HS256),
    ));
    let payload_json = claims().to_string();
    cases.push(case(
        "crit naming exp",
        hmac(),
        signed_json(
            r#"{"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1}"#,
            &payload_json,
        ),
        Fail(ErrorKind::UnsupportedCritical),
    ));
    cases.push(case(
        "crit naming b64",
        hmac(),
        signed_json(
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            &payload_json,
        ),
        Fail(ErrorKind::UnsupportedCritical),
    ));
    let typ = |typ: Option<&'static str>| {
        with_header(Algorithm::HS256, |h| h.typ = typ.map(str::to_owned))
    };
    let at_jwt = || hmac_and(|b| b.token_type("at+jwt"));
    for t in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
    ] {
        cases.push(case(
            format!("typ {t:?} is at+jwt"),
            at_jwt(),
            typ(Some(t)),
            Pass(Algorithm::HS256),
        ));
    }
    for t in [
        Some("JWT"),
        Some("jwt"),
        Some("application/jwt"),
        Some("at+jwt+x"),
        Some(""),
        None,
    ] {
        cases.push(case(
            format!("typ {t:?} when at+jwt is required"),
            at_jwt(),
            typ(t),
            Fail(ErrorKind::InvalidTokenType),
        ));
    }
    cases.push(case(
        "no typ when none is required",
        hmac(),
        typ(None),
        Pass(Algorithm::HS256),
    ));
    cases
}

fn claim_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.push(case(
        "no exp",
        hmac(),
        hs256(&json!({ "sub": "alice", "iat": T })),
        FailWith(ErrorKind::MissingClaim, "token has no exp claim"),
    ));
    let sub_jti = || hmac_and(|b| b.required_claims(["sub", "jti"]));
    cases.push(case(
        "sub and jti required and present",
        sub_jti(),
        hs256(&claims_with(json!({ "jti": "1" }))),
        Pass(Algorithm::HS256),
    ));
    cases.push(case(
        "sub required and absent",
        sub_jti(),
        hs256(&claims_with(json!({ "sub": null, "jti": "1" }))),
        FailWith(ErrorKind::MissingClaim, "token has no sub claim"),
    ));
    cases.push(case(
        "jti required and absent",
        sub_jti(),
        hs256(&claims()),
        Fail(ErrorKind::MissingClaim),
    ));

    let expiring = hs256(&json!({ "sub": "alice", "iat": T - 600, "exp": T }));
    for (name, now, expect) in [
        ("exp now", T, Pass(Algorithm::HS256)),
        (
            "exp 30 s ago, within the leeway",
            T + 30,
            Pass(Algorithm::HS256),
        ),
        (
            "exp 60 s ago, the default leeway exactly",
            T + 60,
            Pass(Algorithm::HS256),
        ),
        (
            "exp 61 s ago, beyond the leeway",
            T + 61,
            FailWith(ErrorKind::Expired, "token expired"),
        ),
        ("exp an hour ago", T + 3661, Fail(ErrorKind::Expired)),
    ] {
        cases.push(case(name, hmac(), expiring.clone(), expect).at(now));
        cases.push(
            case(
                format!("{name}, after it was cached"),
                hmac(),
                expiring.clone(),
                if now <= T + 60 {
                    Pass(Algorithm::HS256)
                } else {
                    Fail(ErrorKind::Expired)
                },
            )
            .cached_at(T)
            .at(now),
        );
    }
    let ten_seconds = || hmac_and(|b| b.leeway(Duration::from_secs(10)));
    cases.push(
        case(
            "exp 10 s ago, a 10 s leeway",
            ten_seconds(),
            expiring.clone(),
            Pass(Algorithm::HS256),
        )
        .at(T + 10),
    );
    cases.push(
        case(
            "exp 11 s ago, a 10 s leeway",
            ten_seconds(),
            expiring,
            Fail(ErrorKind::Expired),
        )
        .at(T + 11),
    );

    for (name, nbf, expect) in [
        ("nbf in an hour", T + 3600, Fail(ErrorKind::NotYetValid)),
        (
            "nbf beyond the leeway",
            T + 61,
            Fail(ErrorKind::NotYetValid),
        ),
        ("nbf within the leeway", T + 60, Pass(Algorithm::HS256)),
        ("nbf in the past", T - 10, Pass(Algorithm::HS256)),
    ] {
        cases.push(case(
            name,
            hmac(),
            hs256(&claims_with(json!({ "nbf": nbf }))),
            expect,
        ));
    }
    // Cached while within the leeway of its `nbf`, presented again after
    // the clock went back: `nbf` is checked again on the cache hit.
    cases.push(
        case(
            "nbf checked again on a cache hit",
            hmac(),
            hs256(&claims_with(json!({ "nbf": T + 100 }))),
            Fail(ErrorKind::NotYetValid),
        )
        .cached_at(T + 40)
        .at(T + 39),
    );
    cases.push(case(
        "iat an hour ahead",
        hmac(),
        hs256(&json!({ "sub": "alice", "iat": T + 3600, "exp": T + 7200 })),
        Fail(ErrorKind::IssuedInFuture),
    ));
    cases.push(case(
        "iat 30 s ahead, within the leeway",
        hmac(),
        hs256(&json!({ "sub": "alice", "iat": T + 30, "exp": T + 600 })),
        Pass(Algorithm::HS256),
    ));

    let issuer = || hmac_and(|b| b.issuer("https://issuer.example"));
    cases.push(case(
        "iss accepted",
        issuer(),
        hs256(&claims_with(json!({ "iss": "https://issuer.example" }))),
        Pass(Algorithm::HS256),
    ));
    for (name, iss) in [
        ("iss of another issuer", json!("https://evil.example")),
        (
            "iss with a trailing slash",
            json!("https://issuer.example/"),
        ),
        ("iss in upper case", json!("HTTPS://ISSUER.EXAMPLE")),
        ("no iss when one is configured", Value::Null),
    ] {
        cases.push(case(
            name,
            issuer(),
            hs256(&claims_with(json!({ "iss": iss }))),
            Fail(ErrorKind::InvalidIssuer),
        ));
    }

    let audience = || hmac_and(|b| b.audience("orders-api"));
    for (name, aud, expect) in [
        (
            "aud names the audience",
            json!("orders-api"),
            Pass(Algorithm::HS256),
        ),
        (
            "aud array names the audience",
            json!(["billing-api", "orders-api"]),
            Pass(Algorithm::HS256),
        ),
        (
            "aud of another service",
            json!("billing-api"),
            Fail(ErrorKind::InvalidAudience),
        ),
        (
            "aud array of another service",
            json!(["billing-api"]),
            Fail(ErrorKind::InvalidAudience),
        ),
        (
            "aud empty array",
            json!([]),
            Fail(ErrorKind::InvalidAudience),
        ),
        (
            "no aud when one is configured",
            Value::Null,
            Fail(ErrorKind::InvalidAudience),
        ),
    ] {
        cases.push(case(
            name,
            audience(),
            hs256(&claims_with(json!({ "aud": aud }))),
            expect,
        ));
    }
    cases.push(case(
        "aud named, but the service accepts none",
        hmac(),
        hs256(&claims_with(json!({ "aud": "orders-api" }))),
        FailWith(
            ErrorKind::InvalidAudience,
            "token names an audience but this service accepts none",
        ),
    ));

    let exp = T + 600;
    for (name, payload) in [
        (
            "exp a string",
            format!(r#"{{"sub":"alice","exp":"{exp}"}}"#),
        ),
        ("sub a number", format!(r#"{{"sub":42,"exp":{exp}}}"#)),
        (
            "aud a number",
            format!(r#"{{"sub":"alice","exp":{exp},"aud":7}}"#),
        ),
        (
            "iss an array",
            format!(r#"{{"sub":"alice","exp":{exp},"iss":["a"]}}"#),
        ),
        (
            // RFC 7519 section 7.2: the claims set is a JSON object, even
            // when an array's elements line up with the claim names.
            "claims a positional JSON array",
            format!(r#"["https://issuer.example","alice","orders-api",{exp}]"#),
        ),
        (
            "claims an array of strings",
            r#"["not","an","object"]"#.to_owned(),
        ),
        ("claims an empty array", "[]".to_owned()),
        ("claims an array holding null", "[null]".to_owned()),
    ] {
        cases.push(case(
            name,
            hmac(),
            signed_payload(&payload),
            Fail(ErrorKind::InvalidClaims),
        ));
    }
    cases
}

/// Runs every row; reports every row that disagrees, by name.
#[test]
fn every_rule_gives_its_answer() {
    let cases: Vec<Case> = [
        algorithm_cases(),
        confusion_cases(),
        structure_cases(),
        claim_cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut names = std::collections::HashSet::new();
    let mut wrong = Vec::new();
    for case in &cases {
        assert!(names.insert(&case.name), "two rows named {:?}", case.name);
        let clock = ManualClock::new(case.cached_at.unwrap_or(case.now));
        let auth = (case.config)(JwtAuth::builder().clock(clock.clone()))
            .build()
            .unwrap_or_else(|e| panic!("{}: the configuration is refused: {e}", case.name));
        let verifier = auth.verifier();
        if let Some(at) = case.cached_at {
            if let Err(e) = verifier.verify(&case.token) {
                wrong.push(format!(
                    "{}: refused at {at}, before it was cached: {e}",
                    case.name
                ));
                continue;
            }
            clock.set(case.now);
        }
        let full = verifier.verify_uncached(&case.token);
        let cached = verifier.verify(&case.token);
        for (path, got) in [("in full", full), ("through the cache", cached)] {
            let ok = match (&case.expect, &got) {
                (Pass(alg), Ok(token)) => {
                    let kid = jsonwebtoken::decode_header(&case.token).unwrap().kid;
                    token.algorithm() == *alg
                        && token.subject() == "alice"
                        && token.key_id() == kid.as_deref()
                }
                (Fail(kind), Err(e)) => e.kind() == *kind,
                (FailWith(kind, description), Err(e)) => {
                    e.kind() == *kind && e.description() == *description
                }
                _ => false,
            };
            if !ok {
                wrong.push(format!("{} ({path}): got {got:?}", case.name));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "rows with another answer:\n{}",
        wrong.join("\n")
    );
    assert!(cases.len() > 100, "the table lost rows: {}", cases.len());
}

/// A claims type whose fields follow the order of the registered claims:
/// serde would read a JSON array into it, position by position.
#[derive(Debug, Deserialize)]
#[allow(dead_code, reason = "the fields are what serde reads positionally")]
struct Standard {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
}

#[test]
fn claims_that_are_a_json_array_are_refused_with_a_custom_claims_type() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audience("orders-api")
        .clock(ManualClock::new(T))
        .claims::<Standard>()
        .build()
        .unwrap();
    let exp = T + 600;
    let object = hs256(
        &json!({ "iss": "https://issuer.example", "sub": "alice", "aud": "orders-api", "exp": exp }),
    );
    assert_eq!(auth.verifier().verify(&object).unwrap().sub, "alice");
    let positional = signed_payload(&format!(
        r#"["https://issuer.example","alice","orders-api",{exp}]"#
    ));
    assert_eq!(
        auth.verifier().verify(&positional).unwrap_err().kind(),
        ErrorKind::InvalidClaims
    );
}

#[test]
fn a_public_key_is_never_accepted_as_an_hmac_secret() {
    let err = JwtAuth::builder()
        .hmac_secret(test_key("rsa_public.pem"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
}

/// With no token type configured, an access token's types pass and every
/// other explicit type is refused (RFC 8725 section 3.11, RFC 9068): a
/// DPoP proof, a logout token or an ID token signed with the same key is not
/// an access token.
#[test]
fn without_a_configured_type_only_access_token_types_pass() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(ManualClock::new(T))
        .disable_token_cache()
        .build()
        .unwrap();
    let typed =
        |typ: Option<&str>| with_header(Algorithm::HS256, |h| h.typ = typ.map(str::to_owned));
    for typ in [
        None,
        Some("JWT"),
        Some("jwt"),
        Some("at+jwt"),
        Some("application/at+jwt"),
        Some("Application/AT+JWT"),
    ] {
        assert!(auth.verifier().verify(&typed(typ)).is_ok(), "{typ:?}");
    }
    for typ in [
        "dpop+jwt",
        "logout+jwt",
        "secevent+jwt",
        "refresh+jwt",
        "id_token+jwt",
        "application/dpop+jwt",
        "JOSE",
        "",
    ] {
        assert_eq!(
            auth.verifier()
                .verify(&typed(Some(typ)))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidTokenType,
            "{typ:?}"
        );
    }
}

/// RFC 7518 section 3.2: HS384 needs a secret of 48 bytes, HS512 of 64. A
/// secret long enough only for HS256 enables only HS256, and asking for more
/// is a start-up error naming the algorithm and the length.
#[test]
fn an_hmac_secret_verifies_only_the_hashes_it_is_long_enough_for() {
    let short = "a-secret-of-forty-bytes-for-hs256-only!!";
    assert_eq!(short.len(), 40);
    let auth = JwtAuth::builder()
        .hmac_secret(short)
        .clock(ManualClock::new(T))
        .build()
        .unwrap();
    let signed = |alg| {
        mint_with(
            &Header::new(alg),
            &claims(),
            &EncodingKey::from_secret(short.as_bytes()),
        )
    };
    assert!(auth.verifier().verify(&signed(Algorithm::HS256)).is_ok());
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        assert_eq!(
            auth.verifier().verify(&signed(alg)).unwrap_err().kind(),
            ErrorKind::AlgorithmNotAllowed,
            "{alg:?}"
        );
    }
    for (alg, min) in [(Algorithm::HS384, "48"), (Algorithm::HS512, "64")] {
        let err = JwtAuth::builder()
            .hmac_secret(short)
            .algorithms([alg])
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "{alg:?} needs an HMAC secret of at least {min} bytes"
            )),
            "{err}"
        );
    }
    // A JWKS `oct` key pinned to a hash its secret is too short for.
    let k = URL_SAFE_NO_PAD.encode(short);
    let err = Key::jwk_json(&format!(r#"{{"kty":"oct","alg":"HS512","k":"{k}"}}"#))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HS512 needs a secret of at least 64 bytes"),
        "{err}"
    );
}
