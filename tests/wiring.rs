//! One wiring for the issuing and the verifying side: a layer built from
//! the sessions (`Sessions::jwt_auth`) verifies their access tokens, for
//! every kind of signing key, and enforces their revocations; a layer built
//! apart, without revocation, says so loudly the first time a token made
//! to be revoked passes it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed step fails the test"
)]

use auth_layer::revocation::RevocationCache;
use auth_layer::session::{Sessions, SigningKey, TokenIssuer, TokenRequest};
use auth_layer::store::MemoryStore;
use auth_layer::{AuthError, ErrorKind, JwtAuth, VerifiedToken};
use auth_tests::services::unique;
use auth_tests::{SECRET, claims_with, hs256, key_file, logs::logs};
use http::{HeaderMap, Method, Uri};
use serde_json::json;

/// The layer's verdict on a bearer token.
async fn through(auth: &JwtAuth, token: &str) -> Result<Option<VerifiedToken>, AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    auth.authenticate(&Method::GET, &headers, &Uri::from_static("/orders"))
        .await
}

fn sessions_with(key: SigningKey) -> Sessions {
    let store = MemoryStore::new();
    let issuer = TokenIssuer::builder(key)
        .issuer("https://auth.example")
        .audience("orders-api")
        .build()
        .unwrap();
    let revocation = RevocationCache::builder(store.clone()).build().unwrap();
    Sessions::builder(issuer, store, revocation)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_layer_from_the_sessions_verifies_every_key_kind_and_enforces_logout() {
    let keys = [
        ("HMAC", SigningKey::hmac(SECRET).unwrap()),
        (
            "RSA, PKCS#8",
            SigningKey::private_key_pem(key_file("rsa_private.pem")).unwrap(),
        ),
        (
            "RSA, PKCS#1, PS256",
            SigningKey::private_key_pem(key_file("rsa_private_pkcs1.pem"))
                .unwrap()
                .with_algorithm(jsonwebtoken::Algorithm::PS256)
                .unwrap(),
        ),
        (
            "EC P-256",
            SigningKey::private_key_pem(key_file("ec_p256_private.pem")).unwrap(),
        ),
        (
            "EC P-384",
            SigningKey::private_key_pem(key_file("ec_p384_private.pem")).unwrap(),
        ),
        (
            "Ed25519",
            SigningKey::private_key_pem(key_file("ed25519_private.pem"))
                .unwrap()
                .with_kid("ed-1"),
        ),
    ];
    for (name, key) in keys {
        let sessions = sessions_with(key);
        let auth = sessions.jwt_auth().build().unwrap();
        let alice = sessions.login("alice", json!({})).await.unwrap();
        let bob = sessions.login("bob", json!({})).await.unwrap();
        let token = through(&auth, alice.access_token().as_str())
            .await
            .unwrap()
            .expect("a token");
        assert_eq!(token.subject(), "alice", "{name}");
        assert_eq!(token.session_id(), Some(alice.session_id()), "{name}");

        // The layer carries the sessions' revocation: logout-everywhere
        // refuses the subject's live access tokens at once, and only theirs.
        sessions.logout_all("alice").await.unwrap();
        let refused = through(&auth, alice.access_token().as_str())
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Revoked, "{name}");
        assert!(
            through(&auth, bob.access_token().as_str()).await.is_ok(),
            "{name}"
        );
    }

    // Nothing else passes: another key's token, a token of another type,
    // one without `sub`.
    let sessions = sessions_with(SigningKey::hmac(SECRET).unwrap());
    let auth = sessions.jwt_auth().build().unwrap();
    let elsewhere =
        sessions_with(SigningKey::private_key_pem(key_file("ec_p256_private.pem")).unwrap());
    let foreign = elsewhere.login("mallory", json!({})).await.unwrap();
    let error = through(&auth, foreign.access_token().as_str())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlgorithmNotAllowed);
    let untyped = hs256(&claims_with(
        "mallory",
        json!({ "iss": "https://auth.example", "aud": "orders-api", "jti": "j" }),
    ));
    assert_eq!(
        through(&auth, &untyped).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenType,
        "a plain JWT is not one of the sessions' access tokens"
    );
    let issuer = sessions.issuer();
    let minted = issuer.issue(&TokenRequest::new("carol")).unwrap();
    assert!(
        through(&auth, minted.as_str()).await.is_ok(),
        "the issuer's own token"
    );
}

#[tokio::test]
async fn a_layer_without_revocation_warns_once_when_revocable_tokens_pass() {
    let logs = logs();
    let warning = "checks no revocation: revocations are NOT enforced here";
    let count = |iss: &str| {
        logs.text()
            .lines()
            .filter(|line| line.contains(warning) && line.contains(iss))
            .count()
    };
    let layer = |iss: &str| {
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(iss)
            .build()
            .unwrap()
    };
    let token = |iss: &str, extra: serde_json::Value| {
        hs256(&claims_with(
            "alice",
            auth_tests::merge(json!({ "iss": iss }), extra),
        ))
    };

    // Tokens with a session id or a version: one warning, however many.
    for extra in [json!({ "sid": "s-1" }), json!({ "ver": 3 })] {
        let iss = unique("https://issuer.example/warn");
        let auth = layer(&iss);
        for _ in 0..3 {
            through(&auth, &token(&iss, extra.clone())).await.unwrap();
        }
        assert_eq!(count(&iss), 1, "{extra}: {}", logs.text());
    }

    // Tokens made for nothing of the kind: no warning.
    let iss = unique("https://issuer.example/plain");
    through(&layer(&iss), &token(&iss, json!({})))
        .await
        .unwrap();
    assert_eq!(count(&iss), 0);

    // A layer with revocation: no warning.
    let iss = unique("https://issuer.example/revoking");
    let store = MemoryStore::new();
    let revoking = JwtAuth::builder()
        .hmac_secret(SECRET)
        .issuer(iss.as_str())
        .revocation(RevocationCache::builder(store).build().unwrap())
        .build()
        .unwrap();
    through(
        &revoking,
        &token(&iss, json!({ "sid": "s-1", "iat": auth_tests::now() + 1 })),
    )
    .await
    .unwrap();
    assert_eq!(count(&iss), 0);
}
