//! The contract every revocation store keeps, run against each backend.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_layer::revocation::{RevocationCache, RevocationEvent, RevocationStore};
use auth_layer::session::{SessionStore, Sessions, SigningKey, TokenIssuer};

use crate::proxy::Proxy;
use auth_layer::{ErrorKind, JwtAuth};
use http::{Request, Response, StatusCode};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use tower::{Layer, ServiceExt, service_fn};

pub const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";

pub use crate::services::unique;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn token(claims: serde_json::Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn layer(cache: RevocationCache) -> JwtAuth {
    JwtAuth::builder()
        .hmac_secret(SECRET)
        .revocation(cache)
        .build()
        .unwrap()
}

/// Sessions on `store`, revoking through `revocation`, with an issuer the
/// [`layer`] accepts.
pub fn sessions(store: impl SessionStore, revocation: RevocationCache) -> Sessions {
    let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
        .build()
        .unwrap();
    Sessions::builder(issuer, store, revocation)
        .build()
        .unwrap()
}

/// Sends one request through the layer in front of an echo service.
pub async fn send(auth: &JwtAuth, token: &str) -> Response<String> {
    let svc = auth.layer(service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new("ok".to_owned()))
    }));
    let req = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    svc.oneshot(req).await.unwrap()
}

pub fn kind(res: &Response<String>) -> Option<ErrorKind> {
    res.extensions()
        .get::<auth_layer::AuthError>()
        .map(auth_layer::AuthError::kind)
}

/// Reads, writes and events of a store, as every backend must behave.
pub async fn store_contract(store: impl RevocationStore + Clone) {
    let sub = unique("user");
    let sid = unique("session");
    let jti = unique("jti");
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(store.listen(tx).expect("a shared store publishes events"));
    // The subscription is up once a probe revocation comes back through it.
    let start = std::time::Instant::now();
    loop {
        let probe = unique("probe");
        store.revoke_session(&probe).await.unwrap();
        let heard = tokio::time::timeout(Duration::from_millis(200), async {
            while let Some(event) = events.recv().await {
                if event == (RevocationEvent::Session { sid: probe.clone() }) {
                    return;
                }
            }
        });
        if heard.await.is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the store's events never arrived"
        );
    }

    assert_eq!(
        store.user_version(&sub).await.unwrap(),
        0,
        "an unseen subject has version 0"
    );
    assert_eq!(store.bump_user_version(&sub).await.unwrap(), 1);
    assert_eq!(store.bump_user_version(&sub).await.unwrap(), 2);
    assert_eq!(store.user_version(&sub).await.unwrap(), 2);

    assert!(!store.session_revoked(&sid).await.unwrap());
    store.revoke_session(&sid).await.unwrap();
    assert!(store.session_revoked(&sid).await.unwrap());

    assert!(!store.jti_denied(&jti).await.unwrap());
    store
        .revoke_jti(&jti, SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.jti_denied(&jti).await.unwrap());
    let expired = unique("jti-expired");
    store
        .revoke_jti(&expired, SystemTime::now() - Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        !store.jti_denied(&expired).await.unwrap(),
        "a denial ends with the token"
    );

    // Every write was published: two bumps, the session, both denials.
    let mut expected = vec![
        RevocationEvent::User { sub: sub.clone() },
        RevocationEvent::User { sub: sub.clone() },
        RevocationEvent::Session { sid: sid.clone() },
        RevocationEvent::Jti { jti: jti.clone() },
        RevocationEvent::Jti {
            jti: expired.clone(),
        },
    ];
    while !expected.is_empty() {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap_or_else(|_| panic!("not heard within 5 s: {expected:?}"))
            .unwrap();
        if let Some(i) = expected.iter().position(|e| *e == event) {
            expected.remove(i);
        }
    }
    listener.abort();
}

/// Version bump, session revoke and jti denial each reject an existing token through the layer.
pub async fn layer_contract(store: impl RevocationStore + Clone) {
    let cache = RevocationCache::builder(store)
        .ttl(Duration::from_secs(60))
        .check_jti(true)
        .build()
        .unwrap();
    let auth = layer(cache.clone());
    let exp = now() + 300;

    let sub = unique("alice");
    let t = token(json!({"sub": sub, "ver": 0, "exp": exp}));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    cache.bump_user_version(&sub).await.unwrap();
    let res = send(&auth, &t).await;
    assert_eq!(
        (res.status(), kind(&res)),
        (StatusCode::UNAUTHORIZED, Some(ErrorKind::Revoked))
    );
    let fresh = token(json!({"sub": sub, "ver": 1, "exp": exp}));
    assert_eq!(
        send(&auth, &fresh).await.status(),
        StatusCode::OK,
        "a token with the new version passes"
    );

    let sid = unique("sid");
    let t = token(json!({"sub": unique("bob"), "sid": sid, "exp": exp}));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    cache.revoke_session(&sid).await.unwrap();
    assert_eq!(kind(&send(&auth, &t).await), Some(ErrorKind::Revoked));

    let jti = unique("jti");
    let t = token(json!({"sub": unique("carol"), "jti": jti, "exp": exp}));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    cache
        .revoke_jti(&jti, SystemTime::now() + Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(kind(&send(&auth, &t).await), Some(ErrorKind::Revoked));
}

/// Returns once a revocation through `a` reaches `b` through the store's
/// events (with a long TTL nothing else can make `b` refuse a token it
/// cached): `b`'s subscription is up. Panics after 10 s.
pub async fn until_heard(a: &RevocationCache, b: &JwtAuth) {
    let start = std::time::Instant::now();
    loop {
        let sub = unique("probe");
        let t = token(json!({"sub": sub, "ver": 0, "exp": now() + 300}));
        assert_eq!(
            send(b, &t).await.status(),
            StatusCode::OK,
            "b caches version 0"
        );
        a.bump_user_version(&sub).await.unwrap();
        let bumped = std::time::Instant::now();
        while bumped.elapsed() < Duration::from_millis(200) {
            if kind(&send(b, &t).await) == Some(ErrorKind::Revoked) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no event reached b within 10 s: its subscription is not up"
        );
    }
}

/// A revocation through one cache reaches another cache on the same store
/// through the store's events, long before the TTL. Returns the time it took.
pub async fn propagation(store_a: impl RevocationStore, store_b: impl RevocationStore) -> Duration {
    let ttl = Duration::from_secs(60);
    let a = RevocationCache::builder(store_a).ttl(ttl).build().unwrap();
    let b = RevocationCache::builder(store_b).ttl(ttl).build().unwrap();
    let (auth_a, auth_b) = (layer(a.clone()), layer(b));
    until_heard(&a, &auth_b).await;
    let sub = unique("dave");
    let t = token(json!({"sub": sub, "ver": 0, "exp": now() + 300}));
    assert_eq!(send(&auth_a, &t).await.status(), StatusCode::OK);
    assert_eq!(
        send(&auth_b, &t).await.status(),
        StatusCode::OK,
        "b now caches version 0"
    );

    let start = std::time::Instant::now();
    a.bump_user_version(&sub).await.unwrap();
    loop {
        if kind(&send(&auth_b, &t).await) == Some(ErrorKind::Revoked) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "b did not reject within 100 ms (TTL 60 s)"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// After each reset of every connection through `proxy` (the service stays
/// up), the next store call is answered: a revocation lookup through the
/// layer, a refresh, a logout and a login each get their answer, not a 503.
pub async fn answers_after_resets(
    proxy: &Proxy,
    store: impl RevocationStore + SessionStore + Clone,
) {
    let cache = RevocationCache::builder(store.clone())
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let auth = layer(cache.clone());
    let sessions = sessions(store, cache);
    let fresh = || token(json!({"sub": unique("after"), "exp": now() + 300}));
    assert_eq!(send(&auth, &fresh()).await.status(), StatusCode::OK);
    let pair = sessions.login(&unique("rosa"), json!({})).await.unwrap();

    proxy.reset().await;
    let res = send(&auth, &fresh()).await;
    assert_eq!(res.status(), StatusCode::OK, "a lookup: {:?}", kind(&res));
    proxy.reset().await;
    let next = sessions
        .refresh(pair.refresh_token().as_str())
        .await
        .expect("a refresh after the reset")
        .into_pair()
        .unwrap();
    proxy.reset().await;
    assert!(sessions.logout(next.session_id()).await.unwrap());
    proxy.reset().await;
    assert!(sessions.login(&unique("rosa"), json!({})).await.is_ok());
}
