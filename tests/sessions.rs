//! Sessions with the in-memory stores: every rule of rotation, reuse,
//! limits and logout; the issuer's tokens with every key kind; and no
//! token ever reaching the logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use auth_tests::session_scenarios as session_common;

use std::time::Duration;

use auth_layer::revocation::RevocationCache;
use auth_layer::session::{
    AccessToken, LifetimePolicy, RefreshToken, SessionError, SessionErrorKind, Sessions,
    SessionsBuilder, SigningKey, TokenIssuer, TokenPair, TokenRequest,
};
use auth_layer::store::MemoryStore;
use auth_layer::{JwtAuth, keys::Algorithm};
use auth_tests::logs::logs;
use serde_json::json;
use session_common::{AUDIENCE, Harness, ISSUER, SECRET};

/// Every test of this binary logs into [`logs`], set up before anything logs.
async fn harness_with(configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder) -> Harness {
    logs();
    Harness::with(MemoryStore::new(), configure)
}

auth_tests::backend_scenarios!("memory");

/// A narrowed refresh is checked against what the new access token would
/// grant: the `on_refresh` hook's claims when it answers (a scope it took
/// away cannot be asked back), and scopes in `scope` or `scp`, as strings
/// or arrays; the narrowed token grants nothing else.
#[tokio::test]
async fn a_narrowed_refresh_follows_the_hook_and_every_shape_of_scope() {
    let h = harness_with(|b| {
        b.on_refresh(|session| async move {
            // Write access was taken away from this user since login.
            Ok((session.subject == "demoted").then(|| json!({ "scope": "orders:read" })))
        })
    })
    .await;
    let granted = |token: &str| {
        let verified = h.auth.verifier().verify(token).unwrap();
        (
            verified.has_scope("orders:read"),
            verified.has_scope("orders:write"),
        )
    };
    let demoted = h
        .sessions
        .login("demoted", json!({ "scope": "orders:read orders:write" }))
        .await
        .unwrap();
    let refused = h
        .sessions
        .refresh_narrowed(demoted.refresh_token().as_str(), "orders:write")
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), SessionErrorKind::InvalidScope);
    let narrowed = h
        .sessions
        .refresh_narrowed(demoted.refresh_token().as_str(), "orders:read")
        .await
        .unwrap();
    assert_eq!(granted(narrowed.access_token().as_str()), (true, false));

    for claims in [
        json!({ "scope": ["orders:read", "orders:write"] }),
        json!({ "scp": ["orders:read", "orders:write"] }),
        json!({ "scp": "orders:read orders:write" }),
        json!({ "scope": "orders:read", "scp": ["orders:write"] }),
    ] {
        let pair = h.sessions.login("alice", claims.clone()).await.unwrap();
        assert_eq!(
            granted(pair.access_token().as_str()),
            (true, true),
            "{claims}"
        );
        let narrowed = h
            .sessions
            .refresh_narrowed(pair.refresh_token().as_str(), "orders:read")
            .await
            .unwrap();
        assert_eq!(
            granted(narrowed.access_token().as_str()),
            (true, false),
            "{claims}: narrowed to orders:read"
        );
        let whole = h
            .sessions
            .refresh(narrowed.refresh_token().unwrap().as_str())
            .await
            .unwrap();
        assert_eq!(
            granted(whole.access_token().as_str()),
            (true, true),
            "{claims}: the grant kept"
        );
    }
}

/// The retry window's settings are checked: longer than the store timeout,
/// at most 60 s, a secret of 32 bytes, and a secret with a signing key
/// whose signatures differ at every call (ECDSA), which cannot derive one.
#[tokio::test]
async fn the_retry_window_settings_are_checked() {
    let build = |key: SigningKey, configure: fn(SessionsBuilder) -> SessionsBuilder| {
        let store = MemoryStore::new();
        let revocation = RevocationCache::builder(store.clone()).build().unwrap();
        let issuer = TokenIssuer::builder(key).issuer(ISSUER).build().unwrap();
        configure(Sessions::builder(issuer, store, revocation)).build()
    };
    let hmac = || SigningKey::hmac(SECRET).unwrap();
    let ec = || SigningKey::ec_pem(auth_tests::key_file("ec_p256_private.pem")).unwrap();
    let err = |result: Result<Sessions, auth_layer::ConfigError>| result.unwrap_err().to_string();

    let e = err(build(hmac(), |b| b.store_timeout(Duration::from_secs(5))));
    assert!(
        e.contains("retry_window") && e.contains("longer than the store timeout (5000 ms)"),
        "{e}"
    );
    let e = err(build(hmac(), |b| b.retry_window(Duration::from_secs(61))));
    assert!(
        e.contains("retry_window") && e.contains("at most 60 s"),
        "{e}"
    );
    let e = err(build(hmac(), |b| b.retry_secret([1_u8; 31])));
    assert!(
        e.contains("retry_secret") && e.contains("32 random bytes"),
        "{e}"
    );
    let e = err(build(ec(), |b| b.retry_window(Duration::from_secs(5))));
    assert!(e.contains("retry_secret"), "{e}");
    // ECDSA without a secret and no window asked for: the window is off,
    // and a spent token presented again is reuse.
    let sessions = build(ec(), |b| b).unwrap();
    let first = sessions.login("ed", json!({})).await.unwrap();
    sessions
        .refresh(first.refresh_token().as_str())
        .await
        .unwrap();
    let again = sessions
        .refresh(first.refresh_token().as_str())
        .await
        .unwrap_err();
    assert_eq!(again.kind(), SessionErrorKind::RefreshReused);
    // With a secret, ECDSA keys get the window.
    let sessions = build(ec(), |b| b.retry_secret([7_u8; 32])).unwrap();
    let first = sessions.login("ed", json!({})).await.unwrap();
    let lost = sessions
        .refresh(first.refresh_token().as_str())
        .await
        .unwrap();
    let retried = sessions
        .refresh(first.refresh_token().as_str())
        .await
        .unwrap();
    assert_eq!(retried.refresh_token(), lost.refresh_token());
}

/// A logged-out session's revocation is remembered for as long as any of
/// its access tokens could pass a layer with the largest leeway, and
/// forgotten after.
#[tokio::test]
async fn a_revoked_session_is_remembered_while_its_tokens_can_pass() {
    let store = MemoryStore::new();
    let h = Harness::with(store.clone(), |b| b);
    let pair = h.login("lena").await;
    h.sessions.logout(pair.session_id()).await.unwrap();
    let lenient = |revocation| {
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .token_type("at+jwt")
            .leeway(auth_layer::verify::MAX_LEEWAY)
            .clock(h.clock.clone())
            .revocation(revocation)
            .build()
            .unwrap()
    };
    // The default policy's longest lifetime is 15 min: with 300 s of
    // leeway, the token passes the claims check until 1 200 s from now.
    h.clock.advance(900 + 300 - 1);
    // A sweep now (another logout) keeps it.
    let other = h.login("lena").await;
    h.sessions.logout(other.session_id()).await.unwrap();
    assert_eq!(store.revoked_sessions(), 2);
    let auth = lenient(RevocationCache::builder(store.clone()).build().unwrap());
    let err = auth
        .verifier()
        .verify(pair.access_token().as_str())
        .map(drop);
    assert!(err.is_ok(), "still within exp + leeway: {err:?}");
    let revoked = auth
        .authenticate(
            &http::Method::GET,
            &http::HeaderMap::from_iter([(
                http::header::AUTHORIZATION,
                format!("Bearer {}", pair.access_token().as_str())
                    .parse()
                    .unwrap(),
            )]),
            &http::Uri::from_static("/"),
        )
        .await
        .unwrap_err();
    assert_eq!(revoked.kind(), auth_layer::ErrorKind::Revoked);
    // Once no token of it can pass, the next sweep forgets it.
    h.clock.advance(2);
    let third = h.login("lena").await;
    h.sessions.logout(third.session_id()).await.unwrap();
    assert_eq!(
        store.revoked_sessions(),
        2,
        "the first is gone, the third added"
    );
}

#[tokio::test]
async fn retries_across_instances() {
    let store = MemoryStore::new();
    let a = Harness::with(store.clone(), |b| b.retry_secret([1_u8; 32]));
    let b = Harness::with(store, |b| b.retry_secret([2_u8; 32]));
    session_common::retries_across_instances(&a, &b).await;
}

#[tokio::test]
async fn lifetimes_follow_the_policy() {
    let h = harness().await;
    let cases = [
        ("default", json!({}), 900),
        ("admin", json!({"roles": ["admin"]}), 300),
    ];
    for (name, claims, lifetime) in cases {
        let pair = h.sessions.login("judy", claims).await.unwrap();
        assert_eq!(
            pair.access_token().expires_in().as_secs(),
            lifetime,
            "{name}"
        );
        let verified = h
            .auth
            .verifier()
            .verify(pair.access_token().as_str())
            .unwrap();
        let registered = verified.registered();
        let (iat, exp) = (registered.iat().unwrap(), registered.exp().unwrap());
        assert_eq!(exp - iat, i64::try_from(lifetime).unwrap(), "{name}");
        // The refreshed token keeps the session's claims, so the same lifetime.
        let next = h.rotate(&pair).await;
        assert_eq!(
            next.access_token().expires_in().as_secs(),
            lifetime,
            "{name}"
        );
    }
}

#[tokio::test]
async fn claims_the_issuer_sets_cannot_be_given_at_login() {
    let h = harness().await;
    for claims in [
        json!({"sub": "mallory"}),
        json!({"ver": 99}),
        json!({"sid": "x"}),
        json!([1]),
    ] {
        let err = h.sessions.login("judy", claims.clone()).await.unwrap_err();
        assert_eq!(err.kind(), SessionErrorKind::InvalidClaims, "{claims}");
    }
    assert!(
        h.sessions
            .login("judy", serde_json::Value::Null)
            .await
            .is_ok()
    );
}

/// Tokens signed with every private-key kind pass a layer holding the
/// public key, with `typ` `at+jwt` and the key's `kid`.
#[test]
fn every_signing_key_kind_is_accepted_by_the_layer() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/keys");
    let read = |name: &str| std::fs::read(format!("{dir}/{name}")).unwrap();
    let cases = [
        (
            "RS256",
            "rsa_private.pem",
            "rsa_public.pem",
            Algorithm::RS256,
        ),
        (
            "ES256",
            "ec_p256_private.pem",
            "ec_p256_public.pem",
            Algorithm::ES256,
        ),
        (
            "ES384",
            "ec_p384_private.pem",
            "ec_p384_public.pem",
            Algorithm::ES384,
        ),
        (
            "EdDSA",
            "ed25519_private.pem",
            "ed25519_public.pem",
            Algorithm::EdDSA,
        ),
    ];
    for (name, private, public, alg) in cases {
        let key = SigningKey::private_key_pem(read(private))
            .unwrap()
            .with_kid(name);
        let issuer = TokenIssuer::builder(key)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
            .unwrap();
        let token = issuer
            .issue(&TokenRequest::new("kim").version(0).session("s1"))
            .unwrap();
        let auth = JwtAuth::builder()
            .key(
                auth_layer::keys::Key::public_key_pem(read(public))
                    .unwrap()
                    .with_kid(name),
            )
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .token_type("at+jwt")
            .build()
            .unwrap();
        let verified = auth.verifier().verify(token.as_str()).unwrap();
        assert_eq!(verified.algorithm(), alg, "{name}");
        assert_eq!(verified.key_id(), Some(name), "{name}");
        assert_eq!(verified.subject(), "kim", "{name}");
    }
}

/// The configuration is refused at build time with a message naming the setting.
#[tokio::test]
async fn bad_configurations_are_refused_at_build() {
    let issuer = || {
        TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
            .build()
            .unwrap()
    };
    let cache = || {
        RevocationCache::builder(MemoryStore::new())
            .build()
            .unwrap()
    };
    let sessions = || Sessions::builder(issuer(), MemoryStore::new(), cache());
    let cases = [
        (
            "danger_reuse_grace",
            sessions()
                .danger_reuse_grace(Duration::from_secs(61))
                .build()
                .map(drop),
        ),
        (
            "absolute_lifetime",
            sessions()
                .absolute_lifetime(Duration::ZERO)
                .build()
                .map(drop),
        ),
        (
            "idle_timeout",
            sessions()
                .idle_timeout(Duration::from_millis(10))
                .build()
                .map(drop),
        ),
        (
            "access token lifetime",
            TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
                .lifetimes(LifetimePolicy::new(Duration::ZERO))
                .build()
                .map(drop),
        ),
    ];
    for (setting, built) in cases {
        let message = built.unwrap_err().to_string();
        assert!(message.contains(setting), "{setting}: {message}");
    }
}

/// Every token handed out, refresh or access, never reaches the logs, at
/// any level, through any path (login, refresh, reuse, garbage, logout).
#[tokio::test]
async fn tokens_never_reach_the_logs() {
    let h = harness().await;
    let subject = session_common::unique("leo");
    let subject = subject.as_str();
    let first = h.login(subject).await;
    let second = h.rotate(&first).await;
    assert!(h.passes(&second).await);
    let forged = format!("{}.{}", first.session_id(), "A".repeat(43));
    assert!(h.sessions.refresh(&forged).await.is_err());
    assert!(h.sessions.refresh("garbage").await.is_err());
    // Past the retry window: reuse.
    h.clock.advance(10);
    assert!(
        h.sessions
            .refresh(first.refresh_token().as_str())
            .await
            .is_err()
    );
    assert!(
        h.sessions
            .refresh(second.refresh_token().as_str())
            .await
            .is_err()
    );
    let third = h.login(subject).await;
    h.sessions.logout(third.session_id()).await.unwrap();
    h.sessions.logout_all(subject).await.unwrap();

    let mut tokens = vec![forged];
    for pair in [&first, &second, &third] {
        tokens.push(pair.refresh_token().as_str().to_owned());
        tokens.push(pair.access_token().as_str().to_owned());
    }
    let text = logs().text();
    assert!(text.contains("reuse_detected"), "the capture works: {text}");
    assert!(text.contains("logged_out_everywhere"), "{text}");
    for token in &tokens {
        let secret = token.rsplit('.').next().unwrap();
        assert!(
            !text.contains(token.as_str()),
            "a token was logged:\n{text}"
        );
        assert!(
            !text.contains(secret),
            "a token's secret part was logged:\n{text}"
        );
    }
}

/// Revoked session ids and spent refresh-token hashes do not pile up in the
/// memory store (they used to be kept for as long as the process ran).
#[tokio::test]
async fn stores_stay_bounded() {
    logs();
    let store = MemoryStore::new();
    let h = Harness::new(store.clone());
    session_common::stores_stay_bounded(&h, |_sid| {
        let store = store.clone();
        async move {
            session_common::Held {
                revoked_sessions: store.revoked_sessions(),
                // One current hash per session; the logged-out ones spent none.
                spent_hashes: store.refresh_token_hashes() - store.sessions(),
            }
        }
    })
    .await;
}

/// Subjects reach the logs only with `log_subjects`; session ids always do.
#[tokio::test]
async fn subjects_are_logged_only_with_log_subjects() {
    let quiet = harness().await;
    let loud = harness_with(|b| b.log_subjects(true)).await;
    let hidden = session_common::unique("hidden-subject");
    let shown = session_common::unique("shown-subject");
    for (h, subject) in [(&quiet, &hidden), (&loud, &shown)] {
        let first = h.login(subject).await;
        let second = h.rotate(&first).await;
        h.clock.advance(10);
        h.sessions
            .refresh(first.refresh_token().as_str())
            .await
            .unwrap_err();
        h.sessions.logout(second.session_id()).await.unwrap();
        h.sessions.require_reauth(subject).await.unwrap();
        h.sessions.logout_all(subject).await.unwrap();
    }
    let text = logs().text();
    assert!(text.contains(&shown), "the capture works:\n{text}");
    assert!(!text.contains(&hidden), "a subject was logged:\n{text}");
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sessions>();
    assert_send_sync::<TokenIssuer>();
    assert_send_sync::<TokenPair>();
    assert_send_sync::<RefreshToken>();
    assert_send_sync::<AccessToken>();
    assert_send_sync::<SessionError>();
    assert_send_sync::<MemoryStore>();
}
