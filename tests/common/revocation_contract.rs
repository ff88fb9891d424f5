//! The contract every revocation store keeps, run against each backend.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_layer::revocation::{
    Record, RecordKey, RevocationCache, RevocationEvent, RevocationStore, SubjectState,
};
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

/// Two issuers whose subjects, sessions and token ids share their names.
pub const ISS_A: &str = "https://tenant-a.example";
/// See [`ISS_A`].
pub const ISS_B: &str = "https://tenant-b.example";
/// The issuer of [`sessions`] (the versioned issuer of caches built for them).
pub const OWN: &str = "https://auth.example";

/// Claims `extra` plus `iat` now and `exp` in five minutes (unless given).
pub fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut claims = json!({"iat": now(), "exp": now() + 300});
    for (k, v) in extra.as_object().expect("an object") {
        claims[k] = v.clone();
    }
    claims
}

/// Now, in Unix seconds, signed.
pub fn now_i64() -> i64 {
    i64::try_from(now()).unwrap()
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
        .issuer(OWN)
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
        store.revoke_session(ISS_A, &probe, 1).await.unwrap();
        let heard = tokio::time::timeout(Duration::from_millis(200), async {
            while let Some(event) = events.recv().await {
                if event == session_event(ISS_A, &probe) {
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

    let marker = store.marker().await.unwrap();
    assert!(
        marker > 1_600_000_000,
        "a marker is a Unix second: {marker}"
    );
    assert_eq!(store.marker().await.unwrap(), marker, "the marker stays");

    assert_eq!(
        store.subject(ISS_A, &sub).await.unwrap(),
        SubjectState::default(),
        "an unseen subject: version 0, no not-before"
    );
    let t = 1_800_000_000;
    assert_eq!(
        store.revoke_subject(ISS_A, &sub, t).await.unwrap(),
        SubjectState::new(1, Some(t))
    );
    assert_eq!(
        store.revoke_subject(ISS_A, &sub, t - 10).await.unwrap(),
        SubjectState::new(2, Some(t)),
        "the not-before never moves back"
    );
    assert_eq!(
        store.subject(ISS_A, &sub).await.unwrap(),
        SubjectState::new(2, Some(t))
    );
    assert_eq!(
        store.subject(ISS_B, &sub).await.unwrap(),
        SubjectState::default(),
        "the same subject of another issuer is untouched"
    );

    assert_eq!(store.session_not_before(ISS_A, &sid).await.unwrap(), None);
    store.revoke_session(ISS_A, &sid, t).await.unwrap();
    store.revoke_session(ISS_A, &sid, t - 10).await.unwrap();
    assert_eq!(
        store.session_not_before(ISS_A, &sid).await.unwrap(),
        Some(t)
    );
    assert_eq!(store.session_not_before(ISS_B, &sid).await.unwrap(), None);

    assert!(!store.jti_denied(ISS_A, &jti).await.unwrap());
    let soon = SystemTime::now() + Duration::from_secs(60);
    store.revoke_jti(ISS_A, &jti, soon).await.unwrap();
    assert!(store.jti_denied(ISS_A, &jti).await.unwrap());
    assert!(!store.jti_denied(ISS_B, &jti).await.unwrap());
    let expired = unique("jti-expired");
    store
        .revoke_jti(ISS_A, &expired, SystemTime::now() - Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        !store.jti_denied(ISS_A, &expired).await.unwrap(),
        "a denial ends with the token"
    );

    let other = unique("session");
    let keys = [
        RecordKey::Jti {
            iss: ISS_A,
            jti: &jti,
        },
        RecordKey::Subject {
            iss: ISS_A,
            sub: &sub,
        },
        RecordKey::Session {
            iss: ISS_A,
            sid: &sid,
        },
        RecordKey::Subject {
            iss: ISS_B,
            sub: &sub,
        },
        RecordKey::Session {
            iss: ISS_A,
            sid: &other,
        },
        RecordKey::Jti {
            iss: ISS_B,
            jti: &jti,
        },
    ];
    let expected = [
        Record::Jti(true),
        Record::Subject(SubjectState::new(2, Some(t))),
        Record::Session(Some(t)),
        Record::Subject(SubjectState::default()),
        Record::Session(None),
        Record::Jti(false),
    ];
    // The records as the cache reads them on a miss: each alone, as its
    // own read answers it, with the marker.
    for (key, record) in keys.iter().zip(expected) {
        let (read, read_marker) = store.read_marked(*key).await.unwrap();
        assert_eq!((read, read_marker), (record, marker), "{key:?}");
        let (records, read_marker) = store.read_all_marked(&[*key]).await.unwrap();
        assert_eq!(
            (records, read_marker),
            (vec![record], marker),
            "{key:?} alone"
        );
    }
    // Several in one call, in the order asked: subject and session (a
    // cold token), with a token id, a session
    // beside a subject the store never saw, a missing session beside a
    // missing subject, and two records of a kind.
    for range in [1..3, 0..3, 2..4, 3..5, 1..6, 0..6] {
        let asked = &keys[range.clone()];
        let (records, read) = store.read_all_marked(asked).await.unwrap();
        assert_eq!(
            (&records[..], read),
            (&expected[range], marker),
            "{asked:?}"
        );
    }

    let once = unique("logout-jti");
    assert!(store.first_use(ISS_A, &once, soon).await.unwrap());
    assert!(
        !store.first_use(ISS_A, &once, soon).await.unwrap(),
        "a replay"
    );
    assert!(store.first_use(ISS_B, &once, soon).await.unwrap());

    // Every write was published: two revocations of the subject, the
    // session twice, both denials.
    let mut expected = vec![
        user_event(ISS_A, &sub),
        user_event(ISS_A, &sub),
        session_event(ISS_A, &sid),
        session_event(ISS_A, &sid),
        RevocationEvent::Jti {
            iss: ISS_A.into(),
            jti: jti.clone(),
        },
        RevocationEvent::Jti {
            iss: ISS_A.into(),
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

pub fn user_event(iss: &str, sub: &str) -> RevocationEvent {
    RevocationEvent::User {
        iss: iss.into(),
        sub: sub.into(),
    }
}

pub fn session_event(iss: &str, sid: &str) -> RevocationEvent {
    RevocationEvent::Session {
        iss: iss.into(),
        sid: sid.into(),
    }
}

/// Sends `claims` as a token and returns the status and error kind.
async fn answer(auth: &JwtAuth, claims: serde_json::Value) -> (StatusCode, Option<ErrorKind>) {
    let res = send(auth, &token(claims)).await;
    (res.status(), kind(&res))
}

const PASS: (StatusCode, Option<ErrorKind>) = (StatusCode::OK, None);
const REVOKED: (StatusCode, Option<ErrorKind>) =
    (StatusCode::UNAUTHORIZED, Some(ErrorKind::Revoked));
const MISSING: (StatusCode, Option<ErrorKind>) =
    (StatusCode::UNAUTHORIZED, Some(ErrorKind::MissingClaim));

/// Every revocation rule through the layer: not-before by subject and
/// session, versions for the project's own issuer, token ids, two issuers
/// with the same names never crossing, the `iat` boundaries, and the claims
/// a token must carry.
pub async fn layer_contract(store: impl RevocationStore + Clone) {
    let cache = RevocationCache::builder(store.clone())
        .ttl(Duration::from_secs(60))
        .check_jti(true)
        .versioned_issuer(OWN)
        .build()
        .unwrap();
    let auth = layer(cache.clone());
    // Times ahead of now (within the leeway for `iat`), so that every
    // token is issued after the store's marker and only the rule under
    // test can refuse it.
    let t = i64::try_from(now()).unwrap() + 10;
    let at = |secs: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap());

    // Not-before by subject: provider tokens, no `ver`.
    let bob = unique("bob");
    let old = json!({"iss": ISS_A, "sub": bob, "iat": t - 1});
    let twin = json!({"iss": ISS_B, "sub": bob, "iat": t - 1});
    assert_eq!(answer(&auth, claims(old.clone())).await, PASS);
    assert_eq!(answer(&auth, claims(twin.clone())).await, PASS);
    cache.revoke_user_at(ISS_A, &bob, at(t)).await.unwrap();
    assert_eq!(answer(&auth, claims(old)).await, REVOKED);
    assert_eq!(
        answer(&auth, claims(twin)).await,
        PASS,
        "the same sub of another issuer is another subject"
    );
    assert_eq!(
        answer(&auth, claims(json!({"iss": ISS_A, "sub": bob, "iat": t}))).await,
        REVOKED,
        "a token issued in the revocation's second is refused"
    );
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": ISS_A, "sub": bob, "iat": t + 1}))
        )
        .await,
        PASS,
        "a token issued after the revocation passes: no ban"
    );
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": ISS_A, "sub": bob, "iat": t - 1, "nbf": t + 5}))
        )
        .await,
        (StatusCode::UNAUTHORIZED, Some(ErrorKind::Revoked)),
        "the leeway (60 s) that lets `nbf` through does not resurrect a revoked token"
    );
    assert_eq!(
        answer(&auth, json!({"iss": ISS_A, "sub": bob, "exp": t + 300})).await,
        MISSING,
        "no `iat`: the not-before cannot be applied"
    );
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": ISS_A, "sub": bob, "iat": t - 1, "ver": 0}))
        )
        .await,
        REVOKED,
        "another issuer's `ver` is not a version of ours"
    );
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": ISS_A, "sub": bob, "iat": t + 1, "ver": 0}))
        )
        .await,
        PASS,
        "nor does it ban: a fresh token with any `ver` passes"
    );

    // Versions, for the project's own tokens.
    let carol = unique("carol");
    let v0 = json!({"iss": OWN, "sub": carol, "ver": 0, "iat": t});
    assert_eq!(answer(&auth, claims(v0.clone())).await, PASS);
    let state = cache.revoke_user_at(OWN, &carol, at(t)).await.unwrap();
    assert_eq!(state.version, 1);
    assert_eq!(answer(&auth, claims(v0)).await, REVOKED);
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": OWN, "sub": carol, "ver": 1, "iat": t}))
        )
        .await,
        PASS,
        "the new version passes, even in the revocation's second"
    );
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": OWN, "sub": carol, "ver": 0, "iat": t + 5}))
        )
        .await,
        REVOKED,
        "an old version is refused whenever the token was issued"
    );
    assert_eq!(
        answer(&auth, claims(json!({"iss": OWN, "sub": carol, "iat": t}))).await,
        REVOKED,
        "an own token without `ver` is judged by the not-before"
    );

    // Not-before by session.
    let sid = unique("sid");
    let in_a = json!({"iss": ISS_A, "sub": unique("dan"), "sid": sid, "iat": t - 1});
    let in_b = json!({"iss": ISS_B, "sub": unique("dan"), "sid": sid, "iat": t - 1});
    assert_eq!(answer(&auth, claims(in_a.clone())).await, PASS);
    cache.revoke_session_at(ISS_A, &sid, at(t)).await.unwrap();
    assert_eq!(answer(&auth, claims(in_a)).await, REVOKED);
    assert_eq!(
        answer(&auth, claims(in_b)).await,
        PASS,
        "another issuer's session"
    );
    assert_eq!(
        answer(
            &auth,
            claims(json!({"iss": ISS_A, "sub": unique("dan"), "sid": sid, "iat": t + 1}))
        )
        .await,
        PASS
    );

    // Token ids.
    let jti = unique("jti");
    let in_a = json!({"iss": ISS_A, "sub": unique("erin"), "jti": jti, "iat": t});
    let in_b = json!({"iss": ISS_B, "sub": unique("erin"), "jti": jti, "iat": t});
    assert_eq!(answer(&auth, claims(in_a.clone())).await, PASS);
    cache
        .revoke_jti(ISS_A, &jti, SystemTime::now() + Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(answer(&auth, claims(in_a)).await, REVOKED);
    assert_eq!(answer(&auth, claims(in_b)).await, PASS);

    // What a token must carry, and the opt-outs.
    assert_eq!(answer(&auth, claims(json!({"iss": ISS_A}))).await, MISSING);
    // The layer requires `sub` first (RFC 9068); without it, the cache's
    // own opt-out lets such a token through.
    let lenient = JwtAuth::builder()
        .hmac_secret(SECRET)
        .subject_optional()
        .revocation(
            RevocationCache::builder(store.clone())
                .require_subject(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_eq!(answer(&lenient, claims(json!({"iss": ISS_A}))).await, PASS);
    let strict = layer(
        RevocationCache::builder(store)
            .require_session_id(true)
            .build()
            .unwrap(),
    );
    assert_eq!(
        answer(&strict, claims(json!({"iss": ISS_A, "sub": unique("fay")}))).await,
        MISSING
    );
    assert_eq!(
        answer(
            &strict,
            claims(json!({"iss": ISS_A, "sub": unique("fay"), "sid": unique("s")}))
        )
        .await,
        PASS
    );
}

/// `secs` seconds from now.
pub fn ahead(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(now() + secs)
}

/// Returns once a revocation through `a` reaches `b` through the store's
/// events (with a long TTL nothing else can make `b` refuse a token it
/// cached): `b`'s subscription is up. Panics after 10 s.
pub async fn until_heard(a: &RevocationCache, b: &JwtAuth) {
    let start = std::time::Instant::now();
    loop {
        let sub = unique("probe");
        let t = token(claims(json!({"iss": ISS_A, "sub": sub})));
        assert_eq!(
            send(b, &t).await.status(),
            StatusCode::OK,
            "b caches the subject"
        );
        a.revoke_user_at(ISS_A, &sub, ahead(10)).await.unwrap();
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
    let t = token(claims(json!({"iss": ISS_A, "sub": sub})));
    assert_eq!(send(&auth_a, &t).await.status(), StatusCode::OK);
    assert_eq!(
        send(&auth_b, &t).await.status(),
        StatusCode::OK,
        "b now caches the subject"
    );

    let start = std::time::Instant::now();
    let revoked_at = now() + 1;
    a.revoke_user_at(ISS_A, &sub, UNIX_EPOCH + Duration::from_secs(revoked_at))
        .await
        .unwrap();
    loop {
        if kind(&send(&auth_b, &t).await) == Some(ErrorKind::Revoked) {
            let took = start.elapsed();
            let fresh = token(claims(
                json!({"iss": ISS_A, "sub": sub, "iat": revoked_at + 1}),
            ));
            assert_eq!(
                send(&auth_b, &fresh).await.status(),
                StatusCode::OK,
                "a token issued after the revocation passes on b"
            );
            return took;
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
    let fresh = || token(claims(json!({"sub": unique("after")})));
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

/// What a store holds after `AnyStore::upgrade_from_0_1(&[ISS_A, ISS_B])`
/// moved 0.1's records (`alice` at version 3, session `s1`, token id `j1`)
/// at or after `before`: both issuers hold them, and through the layer the
/// own issuer's older versions and every token issued before the move stay
/// refused while later ones pass.
pub async fn upgraded(store: impl RevocationStore + Clone, before: i64) {
    for iss in [ISS_A, ISS_B] {
        let state = store.subject(iss, "alice").await.unwrap();
        assert_eq!(state.version, 3);
        assert!(state.not_before.unwrap() >= before, "{state:?}");
        assert!(store.session_not_before(iss, "s1").await.unwrap() >= Some(before));
        assert!(store.jti_denied(iss, "j1").await.unwrap());
    }
    let cache = RevocationCache::builder(store)
        .versioned_issuer(ISS_A)
        .build()
        .unwrap();
    let auth = layer(cache);
    let kind = async |claims: serde_json::Value| {
        let res = send(&auth, &token(self::claims(claims))).await;
        self::kind(&res)
    };
    let revoked = Some(ErrorKind::Revoked);
    let (own, other) = (ISS_A, ISS_B);
    assert_eq!(
        kind(json!({"iss": own, "sub": "alice", "ver": 2})).await,
        revoked
    );
    assert_eq!(
        kind(json!({"iss": own, "sub": "alice", "ver": 3})).await,
        None
    );
    // After the store's marker, not after the move: refused by the move alone.
    assert_eq!(
        kind(json!({"iss": other, "sub": "alice", "iat": before})).await,
        revoked
    );
    let later = now_i64() + 2;
    assert_eq!(
        kind(json!({"iss": other, "sub": "alice", "iat": later})).await,
        None
    );
    // Issued before the move (a token issued now may fall in the next
    // second, after the move's not-before, and pass).
    assert_eq!(
        kind(json!({"iss": other, "sub": "x", "sid": "s1", "iat": before})).await,
        revoked
    );
}
