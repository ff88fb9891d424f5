//! The behaviour every session store gives, run against each backend
//! through `Sessions` and the layer: rotation, reuse, limits, logout,
//! garbage, concurrency.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_layer::clock::ManualClock;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_layer::session::{
    EndReason, LifetimePolicy, LoginOptions, Refreshed, SPENT_TOKENS_KEPT, SessionErrorKind,
    SessionEvent, SessionLimits, SessionPolicy, SessionStore, Sessions, SessionsBuilder,
    SigningKey, TokenIssuer, TokenPair,
};
use auth_layer::{ErrorKind, JwtAuth};
use http::{Request, Response, StatusCode};
use serde_json::json;
use tower::{Layer, ServiceExt, service_fn};

pub const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "test-api";
const HOUR: i64 = 3600;

pub use crate::services::unique;

/// One service instance: sessions and the layer on one manual clock.
pub struct Harness {
    pub sessions: Sessions,
    pub auth: JwtAuth,
    pub clock: ManualClock,
    pub revocation: RevocationCache,
    events: Arc<Mutex<Vec<SessionEvent>>>,
}

impl Harness {
    /// Default policy: 15 min access tokens, 7 days, 24 h idle, no grace.
    pub fn new(store: impl SessionStore + RevocationStore + Clone) -> Self {
        Self::with(store, |b| b)
    }

    /// One store for both: sessions and the revocation cache.
    pub fn with(
        store: impl SessionStore + RevocationStore + Clone,
        configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder,
    ) -> Self {
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let clock = ManualClock::new(now);
        let revocation = RevocationCache::builder(store.clone())
            .ttl(Duration::from_secs(60))
            .build()
            .unwrap();
        let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET).unwrap())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .lifetimes(LifetimePolicy::default().role("admin", Duration::from_secs(300)))
            .clock(clock.clone())
            .build()
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let sessions = configure(
            Sessions::builder(issuer, store, revocation.clone())
                .on_event(move |e| seen.lock().unwrap().push(e.clone())),
        )
        .build()
        .unwrap();
        let auth = JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .token_type("at+jwt")
            .required_claims(["sub", "iat", "nbf", "jti"])
            .clock(clock.clone())
            .revocation(revocation.clone())
            .build()
            .unwrap();
        Self {
            sessions,
            auth,
            clock,
            revocation,
            events,
        }
    }

    /// One request through the layer: its status and rejection kind.
    pub async fn call(&self, access: &str) -> (StatusCode, Option<ErrorKind>) {
        let svc = self.auth.layer(service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let req = Request::builder()
            .header("authorization", format!("Bearer {access}"))
            .body(())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        let kind = res
            .extensions()
            .get::<auth_layer::AuthError>()
            .map(auth_layer::AuthError::kind);
        (res.status(), kind)
    }

    pub async fn passes(&self, pair: &TokenPair) -> bool {
        self.call(pair.access_token().as_str()).await == (StatusCode::OK, None)
    }

    pub async fn revoked(&self, access: &str) -> bool {
        self.call(access).await == (StatusCode::UNAUTHORIZED, Some(ErrorKind::Revoked))
    }

    pub async fn login(&self, subject: &str) -> TokenPair {
        self.sessions.login(subject, json!({})).await.unwrap()
    }

    /// A refresh that must rotate.
    pub async fn rotate(&self, pair: &TokenPair) -> TokenPair {
        match self
            .sessions
            .refresh(pair.refresh_token().as_str())
            .await
            .unwrap()
        {
            Refreshed::Rotated(next) => next,
            other => panic!("expected a rotation, got {other:?}"),
        }
    }

    /// The error kind of a refresh that must fail.
    pub async fn refused(&self, refresh: &str) -> SessionErrorKind {
        self.sessions.refresh(refresh).await.unwrap_err().kind()
    }

    /// How many events of this name were emitted for `sid` (or any
    /// session when `sid` is empty).
    pub fn events(&self, name: &str, sid: &str) -> usize {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|e| e.name() == name)
            .filter(|e| match e {
                SessionEvent::ReuseDetected { sid: s, .. }
                | SessionEvent::Refreshed { sid: s, .. }
                | SessionEvent::RetriedRefresh { sid: s, .. }
                | SessionEvent::DuplicateRefresh { sid: s, .. }
                | SessionEvent::LoggedIn { sid: s, .. } => sid.is_empty() || s == sid,
                _ => sid.is_empty(),
            })
            .count()
    }
}

/// A refresh returns a new pair; the old refresh token is spent, the new
/// access token passes the layer, claims and version carry over.
pub async fn rotation(h: &Harness) {
    let sub = unique("alice");
    let first = h
        .sessions
        .login(&sub, json!({"roles": ["reader"], "tenant": "t1"}))
        .await
        .unwrap();
    assert!(h.passes(&first).await);
    h.clock.advance(60);
    let second = h.rotate(&first).await;
    assert_eq!(second.session_id(), first.session_id(), "same session");
    assert_ne!(second.refresh_token(), first.refresh_token());
    assert_ne!(second.access_token().jti(), first.access_token().jti());
    assert_eq!(
        second.session().last_used_at,
        first.session().created_at + 60
    );
    assert!(h.passes(&second).await);
    let verified = h
        .auth
        .verifier()
        .verify(second.access_token().as_str())
        .unwrap();
    assert_eq!(verified.subject(), sub.as_str());
    assert_eq!(verified.session_id(), Some(first.session_id()));
    assert_eq!(verified.claims().get("tenant"), Some(json!("t1")));
    assert!(verified.has_role("reader"));
    let third = h.rotate(&second).await;
    assert!(h.passes(&third).await);
    assert_eq!(h.events("refreshed", first.session_id()), 2);
}

/// A spent refresh token presented again revokes the whole family: the live
/// access token gets 401 through the layer, the newest refresh token stops
/// working, and `reuse_detected` is emitted.
pub async fn reuse_revokes_the_family(h: &Harness) {
    let sub = unique("bob");
    let stolen = h.login(&sub).await;
    let legit = h.rotate(&stolen).await;
    let newest = h.rotate(&legit).await;
    assert!(h.passes(&newest).await);
    let other_session = h.login(&sub).await;

    assert_eq!(
        h.refused(stolen.refresh_token().as_str()).await,
        SessionErrorKind::RefreshReused
    );
    assert_eq!(h.events("reuse_detected", stolen.session_id()), 1);
    assert!(
        h.revoked(newest.access_token().as_str()).await,
        "the live access token of the family is revoked"
    );
    assert_eq!(
        h.refused(newest.refresh_token().as_str()).await,
        SessionErrorKind::SessionRevoked,
        "the newest refresh token dies with its family: never replayed, its session revoked"
    );
    assert_eq!(
        h.refused(stolen.refresh_token().as_str()).await,
        SessionErrorKind::RefreshReused,
        "the replayed token again"
    );
    let session = h
        .sessions
        .session(stolen.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.ended, Some(EndReason::Reuse));
    assert!(
        h.passes(&other_session).await,
        "another session of the same user is untouched"
    );
    h.rotate(&other_session).await;
}

/// With a grace window, the most recently spent token presented within the
/// window gets an access token and no refresh token, without revoking;
/// after the window, or for an older token, it is reuse.
pub async fn grace_window(h: &Harness) {
    let first = h.login(&unique("carol")).await;
    let second = h.rotate(&first).await;
    h.clock.advance(3);
    let duplicate = h
        .sessions
        .refresh(first.refresh_token().as_str())
        .await
        .unwrap();
    let Refreshed::Duplicate { access, session } = &duplicate else {
        panic!("expected a duplicate answer, got {duplicate:?}");
    };
    assert!(duplicate.refresh_token().is_none());
    assert_eq!(session.ended, None);
    assert_eq!(h.call(access.as_str()).await, (StatusCode::OK, None));
    assert!(h.passes(&second).await, "the session lives on");
    let third = h.rotate(&second).await;
    assert_eq!(
        h.refused(first.refresh_token().as_str()).await,
        SessionErrorKind::RefreshReused,
        "an older spent token is reuse even within the window"
    );
    assert!(h.revoked(third.access_token().as_str()).await);

    let fourth = h.login(&unique("carol")).await;
    let fifth = h.rotate(&fourth).await;
    h.clock.advance(10);
    assert_eq!(
        h.refused(fourth.refresh_token().as_str()).await,
        SessionErrorKind::RefreshReused,
        "after the window it is reuse"
    );
    assert!(h.revoked(fifth.access_token().as_str()).await);
}

/// The access token expires after 15 minutes and a refresh brings a new
/// one; the session dies after 24 h idle, and after 7 days whatever happens.
pub async fn absolute_and_idle_limits(h: &Harness) {
    let pair = h.login(&unique("dave")).await;
    h.clock.advance(17 * 60);
    assert_eq!(
        h.call(pair.access_token().as_str()).await,
        (StatusCode::UNAUTHORIZED, Some(ErrorKind::Expired))
    );
    let pair = h.rotate(&pair).await;
    assert!(h.passes(&pair).await);

    // Idle: one second short of 24 h still refreshes; 24 h does not.
    h.clock.advance(24 * HOUR - 1);
    let pair = h.rotate(&pair).await;
    h.clock.advance(24 * HOUR);
    assert_eq!(
        h.refused(pair.refresh_token().as_str()).await,
        SessionErrorKind::SessionIdle
    );

    // Absolute: refreshing every 23 h keeps the session going for 7 days, not longer.
    let mut pair = h.login(&unique("dave")).await;
    let started = pair.session().created_at;
    let mut rotations = 0;
    let refused = loop {
        assert!(rotations <= 8, "the session outlived 7 days");
        h.clock.advance(23 * HOUR);
        match h.sessions.refresh(pair.refresh_token().as_str()).await {
            Ok(refreshed) => pair = refreshed.into_pair().unwrap(),
            Err(e) => break e.kind(),
        }
        rotations += 1;
    };
    assert_eq!(refused, SessionErrorKind::SessionExpired);
    assert_eq!(
        rotations, 7,
        "23 h x 7 = 161 h < 168 h; the 8th at 184 h is past"
    );
    assert_eq!(pair.session().expires_at, started + 7 * 24 * HOUR);
}

/// A subject revoked (by any service writing the revocation store) cannot
/// refresh; a new login works at once, in the same second.
pub async fn version_bump_blocks_refresh(h: &Harness) {
    let sub = unique("erin");
    let pair = h.login(&sub).await;
    let now = UNIX_EPOCH
        + Duration::from_secs(u64::try_from(auth_layer::clock::Clock::now(&h.clock)).unwrap());
    h.revocation
        .revoke_user_at(ISSUER, &sub, now)
        .await
        .unwrap();
    assert!(h.revoked(pair.access_token().as_str()).await);
    assert_eq!(
        h.refused(pair.refresh_token().as_str()).await,
        SessionErrorKind::ReauthRequired
    );
    let again = h.login(&sub).await;
    assert!(
        h.passes(&again).await,
        "a new login carries the new version"
    );
    let verified = h
        .auth
        .verifier()
        .verify(again.access_token().as_str())
        .unwrap();
    assert_eq!(verified.version(), Some(1));
    h.rotate(&again).await;
}

/// A subject flagged "re-authentication required" cannot refresh any
/// session; its next login can.
pub async fn reauth_required(h: &Harness) {
    let sub = unique("frank");
    let a = h.login(&sub).await;
    let b = h.login(&sub).await;
    assert_eq!(h.sessions.require_reauth(&sub).await.unwrap(), 2);
    for pair in [&a, &b] {
        assert_eq!(
            h.refused(pair.refresh_token().as_str()).await,
            SessionErrorKind::ReauthRequired
        );
    }
    let again = h.login(&sub).await;
    h.rotate(&again).await;
}

/// `logout` ends one session (its access token too); `logout_all` ends
/// every session and every access token of the subject.
pub async fn logout_one_and_everywhere(h: &Harness) {
    let sub = unique("grace");
    let phone = h.login(&sub).await;
    let laptop = h.login(&sub).await;
    let tablet = h.login(&sub).await;

    assert!(h.sessions.logout(phone.session_id()).await.unwrap());
    assert!(h.revoked(phone.access_token().as_str()).await);
    assert_eq!(
        h.refused(phone.refresh_token().as_str()).await,
        SessionErrorKind::SessionRevoked
    );
    assert!(h.passes(&laptop).await, "other sessions are untouched");

    assert_eq!(h.sessions.logout_all(&sub).await.unwrap(), 2);
    for pair in [&laptop, &tablet] {
        assert!(h.revoked(pair.access_token().as_str()).await);
        assert_eq!(
            h.refused(pair.refresh_token().as_str()).await,
            SessionErrorKind::ReauthRequired
        );
    }
    let again = h.login(&sub).await;
    assert!(h.passes(&again).await);
    h.rotate(&again).await;
}

/// Bad, garbage and forged refresh tokens get `refresh_invalid` and change
/// nothing: the real token still rotates afterwards and no reuse is seen.
pub async fn garbage_changes_nothing(h: &Harness) {
    let pair = h.login(&unique("heidi")).await;
    let real = pair.refresh_token().as_str().to_owned();
    let sid = pair.session_id().to_owned();
    let secret = real.split_once('.').unwrap().1.to_owned();
    let mut flipped = real.clone().into_bytes();
    let last = flipped.last_mut().unwrap();
    *last = if *last == b'A' { b'B' } else { b'A' };
    let garbage: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("words", "not a refresh token".into()),
        ("a jwt", pair.access_token().as_str().into()),
        ("no session", secret.clone()),
        ("unknown session", format!("{}.{secret}", unique("nope"))),
        (
            "real session, other secret",
            format!("{sid}.{}", "A".repeat(43)),
        ),
        ("one character changed", String::from_utf8(flipped).unwrap()),
        ("truncated", real[..real.len() - 1].to_owned()),
        ("extended", format!("{real}A")),
        ("huge", "A".repeat(1 << 20)),
        ("control characters", "\0\r\n.\u{7f}".into()),
    ];
    for (name, token) in &garbage {
        let err = h.sessions.refresh(token).await.unwrap_err();
        assert_eq!(err.kind(), SessionErrorKind::RefreshInvalid, "{name}");
        assert_eq!(err.code(), "refresh_invalid");
        assert_eq!(err.kind().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(h.events("reuse_detected", ""), 0);
    let before = h.sessions.session(&sid).await.unwrap().unwrap();
    assert_eq!(before.ended, None);
    assert_eq!(before.last_used_at, pair.session().last_used_at);
    assert!(h.passes(&pair).await);
    h.rotate(&pair).await;
}

/// Many concurrent refreshes with one token: exactly one rotates. Without
/// a grace window every other one is reuse (and the session is revoked);
/// with one, every other one is a duplicate (and the session lives).
pub async fn concurrent_refreshes(h: &Harness, n: usize, grace: bool) {
    let pair = h.login(&unique("ivan")).await;
    let token = pair.refresh_token().as_str().to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let sessions = h.sessions.clone();
        let token = token.clone();
        tasks.spawn(async move { sessions.refresh(&token).await });
    }
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    let mut winner = None;
    while let Some(result) = tasks.join_next().await {
        let name = match result.unwrap() {
            Ok(Refreshed::Rotated(next)) => {
                winner = Some(next);
                "rotated"
            }
            Ok(Refreshed::Duplicate { .. }) => "duplicate",
            Ok(_) => "other",
            Err(e) => {
                if e.kind() == SessionErrorKind::StoreUnavailable {
                    eprintln!("store error: {:?}", std::error::Error::source(&e));
                }
                e.code()
            }
        };
        *outcomes.entry(name).or_default() += 1;
    }
    eprintln!("{n} concurrent refreshes with one token: {outcomes:?}");
    assert_eq!(outcomes.get("rotated"), Some(&1), "{outcomes:?}");
    let winner = winner.unwrap();
    let session = h
        .sessions
        .session(pair.session_id())
        .await
        .unwrap()
        .unwrap();
    if grace {
        assert_eq!(outcomes.get("duplicate"), Some(&(n - 1)), "{outcomes:?}");
        assert_eq!(session.ended, None);
        assert!(h.passes(&winner).await);
        h.rotate(&winner).await;
    } else {
        assert_eq!(
            outcomes.get("refresh_reused"),
            Some(&(n - 1)),
            "{outcomes:?}"
        );
        assert_eq!(session.ended, Some(EndReason::Reuse));
        assert!(h.revoked(winner.access_token().as_str()).await);
        assert_eq!(h.events("reuse_detected", pair.session_id()), n - 1);
    }
}

/// Refreshes per second: `sessions` sessions refreshing concurrently,
/// `rounds` times each. Printed, never asserted.
pub async fn throughput(h: &Harness, backend: &str, sessions: usize, rounds: usize) {
    let mut pairs = Vec::new();
    for _ in 0..sessions {
        pairs.push(h.login(&unique("load")).await);
    }
    let start = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut pair in pairs {
        let sessions = h.sessions.clone();
        tasks.spawn(async move {
            for _ in 0..rounds {
                pair = sessions
                    .refresh(pair.refresh_token().as_str())
                    .await
                    .unwrap()
                    .into_pair()
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let elapsed = start.elapsed();
    let total = sessions * rounds;
    eprintln!(
        "{backend}: {total} refreshes ({sessions} sessions in parallel) in {elapsed:?}: {:.0} refreshes/s (debug build)",
        total as f64 / elapsed.as_secs_f64()
    );
}

/// A rotation whose answer was lost: the client's retry within the retry
/// window gets the same new refresh token (and a fresh access token) and
/// the session lives on; a retry after the window, or once the new token
/// was used, is reuse and ends the session.
pub async fn retry_after_a_lost_answer(h: &Harness) {
    let first = h.login(&unique("rita")).await;
    // The rotation commits, but its answer never reaches the client.
    let lost = h.rotate(&first).await;
    h.clock.advance(4);
    let retried = h.rotate(&first).await;
    assert_eq!(
        retried.refresh_token(),
        lost.refresh_token(),
        "the same successor"
    );
    assert_ne!(retried.access_token().jti(), lost.access_token().jti());
    assert!(h.passes(&retried).await, "the session lives on");
    assert_eq!(h.events("reuse_detected", first.session_id()), 0);
    assert_eq!(
        h.events("retried_refresh", first.session_id()),
        1,
        "the retry is told apart from a rotation"
    );
    assert_eq!(h.events("refreshed", first.session_id()), 1);
    let next = h.rotate(&retried).await;
    assert!(h.passes(&next).await);
    assert_eq!(
        h.refused(first.refresh_token().as_str()).await,
        SessionErrorKind::RefreshReused,
        "once its successor was used, the token is reuse even within the window"
    );
    assert!(h.revoked(next.access_token().as_str()).await);

    let second = h.login(&unique("rita")).await;
    let lost = h.rotate(&second).await;
    h.clock.advance(5);
    assert_eq!(
        h.refused(second.refresh_token().as_str()).await,
        SessionErrorKind::RefreshReused,
        "after the window it is reuse"
    );
    assert!(h.revoked(lost.access_token().as_str()).await);
    assert_eq!(h.events("reuse_detected", second.session_id()), 1);
}

/// Two instances on one store whose successor keys differ (a rollout of a
/// new `retry_secret`): a retry that reaches the other instance is refused
/// as `refresh_invalid` and changes nothing; it never ends the session. A
/// retry after logout is refused too, and resurrects nothing.
pub async fn retries_across_instances(a: &Harness, b: &Harness) {
    let first = a.login(&unique("iris")).await;
    let lost = a.rotate(&first).await;
    b.clock.advance(1);
    assert_eq!(
        b.refused(first.refresh_token().as_str()).await,
        SessionErrorKind::RefreshInvalid,
        "another instance's successor: not reuse"
    );
    assert_eq!(a.events("reuse_detected", first.session_id()), 0);
    assert_eq!(b.events("reuse_detected", first.session_id()), 0);
    // The answer the client lost still works, on either instance.
    assert!(a.passes(&lost).await, "the session lives on");
    let next = b.rotate(&lost).await;
    assert!(b.passes(&next).await);

    // After logout, a retry within the window is refused, not answered.
    let second = a.login(&unique("iris")).await;
    let _lost = a.rotate(&second).await;
    a.sessions.logout(second.session_id()).await.unwrap();
    a.clock.advance(1);
    assert_eq!(
        a.refused(second.refresh_token().as_str()).await,
        SessionErrorKind::SessionRevoked
    );
}

/// A session keeps its `SPENT_TOKENS_KEPT` most recently spent tokens: one
/// of them presented again is reuse and ends the session; a token spent
/// longer ago is no longer known, refused as `refresh_invalid`, and the
/// session lives on (the token is useless either way).
pub async fn only_the_kept_spent_tokens_are_reuse(h: &Harness) {
    let mut pair = h.login(&unique("kit")).await;
    let mut spent = Vec::new();
    for _ in 0..=SPENT_TOKENS_KEPT {
        spent.push(pair.refresh_token().as_str().to_owned());
        h.clock.advance(10);
        pair = h.rotate(&pair).await;
    }
    let (forgotten, kept) = (&spent[0], &spent[1]);
    assert_eq!(
        h.refused(forgotten).await,
        SessionErrorKind::RefreshInvalid,
        "spent {} rotations ago: forgotten",
        SPENT_TOKENS_KEPT + 1
    );
    assert!(h.passes(&pair).await, "the session lives on");
    assert_eq!(h.events("reuse_detected", pair.session_id()), 0);
    assert_eq!(
        h.refused(kept).await,
        SessionErrorKind::RefreshReused,
        "spent {SPENT_TOKENS_KEPT} rotations ago: still reuse"
    );
    assert!(h.revoked(pair.access_token().as_str()).await);
}

/// Many refreshes racing with one token within the retry window all get
/// the one rotation's refresh token: one successor, no reuse, a live session.
pub async fn racing_retries_share_one_successor(h: &Harness, n: usize) {
    let pair = h.login(&unique("ruth")).await;
    let token = pair.refresh_token().as_str().to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let sessions = h.sessions.clone();
        let token = token.clone();
        tasks.spawn(async move { sessions.refresh(&token).await });
    }
    let mut successors = std::collections::HashSet::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap().unwrap() {
            Refreshed::Rotated(next) => {
                successors.insert(next.refresh_token().as_str().to_owned());
            }
            other => panic!("expected the rotation, got {other:?}"),
        }
    }
    assert_eq!(successors.len(), 1, "one successor for every racer");
    let session = h
        .sessions
        .session(pair.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.ended, None);
    let successor = successors.into_iter().next().unwrap();
    assert!(h.sessions.refresh(&successor).await.is_ok());
}

/// Who holds which roles, as an application's directory would.
pub type Directory = Arc<Mutex<HashMap<String, Option<Vec<&'static str>>>>>;

/// Re-reads the roles at every refresh from `directory`: `None` for a
/// disabled user refuses the refresh.
pub fn claims_from(directory: Directory) -> impl FnOnce(SessionsBuilder) -> SessionsBuilder {
    move |b| {
        b.on_refresh(move |session| {
            let roles = directory.lock().unwrap().get(&session.subject).cloned();
            async move {
                match roles {
                    Some(Some(roles)) if roles.contains(&"forger") => Ok(Some(json!({"sub": "x"}))),
                    Some(Some(roles)) => Ok(Some(json!({ "roles": roles }))),
                    Some(None) => Err(SessionErrorKind::RefreshDenied),
                    None => Ok(None),
                }
            }
        })
    }
}

/// A role removed from a user is gone from the next access token, and the
/// session keeps the new claims; a disabled user cannot refresh, and that
/// refusal changes nothing.
pub async fn claims_follow_the_user(h: &Harness, directory: &Directory) {
    let sub = unique("uma");
    let set = |roles: Option<Vec<&'static str>>| {
        directory.lock().unwrap().insert(sub.clone(), roles);
    };
    set(Some(vec!["admin", "reader"]));
    let first = h
        .sessions
        .login(&sub, json!({"roles": ["admin", "reader"], "tenant": "t1"}))
        .await
        .unwrap();
    let roles = |pair: &TokenPair| {
        let verified = h
            .auth
            .verifier()
            .verify(pair.access_token().as_str())
            .unwrap();
        (verified.has_role("admin"), verified.has_role("reader"))
    };
    assert_eq!(roles(&first), (true, true));
    set(Some(vec!["reader"]));
    let second = h.rotate(&first).await;
    assert_eq!(roles(&second), (false, true), "the admin role is gone");
    let stored = h
        .sessions
        .session(first.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.claims,
        json!({"roles": ["reader"]}).as_object().cloned().unwrap()
    );

    set(Some(vec!["forger"]));
    assert_eq!(
        h.refused(second.refresh_token().as_str()).await,
        SessionErrorKind::InvalidClaims
    );
    set(None);
    assert_eq!(
        h.refused(second.refresh_token().as_str()).await,
        SessionErrorKind::RefreshDenied
    );
    assert_eq!(h.events("reuse_detected", first.session_id()), 0);
    // Nothing changed: once the user is back, the same token rotates.
    directory.lock().unwrap().remove(&sub);
    let third = h.rotate(&second).await;
    assert_eq!(roles(&third), (false, true), "the stored claims are kept");
}

/// What a store holds, counted by the backend's own test file.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    /// Revoked session ids a token could still be checked against.
    pub revoked_sessions: usize,
    /// Spent refresh-token hashes of the session counted.
    pub spent_hashes: usize,
}

/// 10 000 rotations of one session, one a second, while another session is
/// logged in and out (so revoked) every second: the revoked session ids the
/// store holds stay within what the configuration keeps (the longest
/// access-token lifetime plus the longest leeway, one a second), and the
/// rotated session's spent hashes within `SPENT_TOKENS_KEPT`.
pub async fn stores_stay_bounded<F, Fut>(h: &Harness, held: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Held>,
{
    let lasts = h.sessions.issuer().lifetimes().longest() + auth_layer::verify::MAX_LEEWAY;
    let revoked_bound = usize::try_from(lasts.as_secs()).unwrap() + 1;
    let sub = unique("bo");
    let mut pair = h.login(&sub).await;
    let sid = pair.session_id().to_owned();
    let mut most = Held {
        revoked_sessions: 0,
        spent_hashes: 0,
    };
    for i in 0..10_000 {
        h.clock.advance(1);
        pair = h.rotate(&pair).await;
        let other = h.login(&sub).await;
        assert!(h.sessions.logout(other.session_id()).await.unwrap());
        if i % 500 == 499 {
            let now = held(sid.clone()).await;
            most.revoked_sessions = most.revoked_sessions.max(now.revoked_sessions);
            most.spent_hashes = most.spent_hashes.max(now.spent_hashes);
        }
    }
    eprintln!("most held: {most:?}; bounds {revoked_bound}, {SPENT_TOKENS_KEPT}");
    assert!(
        most.revoked_sessions <= revoked_bound,
        "{most:?} > {revoked_bound}"
    );
    // Not vacuous: the revocations still needed are there (Redis ages its
    // keys by its own clock too, so a few may have gone by now).
    assert!(
        most.revoked_sessions >= revoked_bound / 2,
        "the live revocations are kept: {most:?}"
    );
    assert_eq!(most.spent_hashes, SPENT_TOKENS_KEPT, "{most:?}");
    assert!(h.passes(&pair).await, "the session lives on");
}

/// The session policy the use-case scenario runs with: consumer web by
/// default (a day, idle after 12 h, 3 days when remembered), admin consoles
/// (8 h, idle after 15 min, never remembered), the mobile app (90 days,
/// idle after 30 days).
pub fn use_cases(b: SessionsBuilder) -> SessionsBuilder {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    b.policy(
        SessionPolicy::new(SessionLimits::new(DAY, DAY / 2).remember_me(3 * DAY))
            .role(
                "admin",
                SessionLimits::new(DAY / 3, Duration::from_secs(15 * 60)),
            )
            .client("mobile-app", SessionLimits::new(90 * DAY, 30 * DAY)),
    )
}

/// Each session gets its use case's absolute and idle limits, fixed at
/// login and kept by the store through rotations; "remember me" extends
/// the absolute limit only where the use case offers it.
pub async fn limits_by_use_case(h: &Harness) {
    let login = |subject: String, claims: serde_json::Value, remember: bool| async move {
        h.sessions
            .login_with(&subject, claims, LoginOptions::new().remember_me(remember))
            .await
            .unwrap()
    };
    let limits = |pair: &TokenPair| {
        let s = pair.session();
        (s.expires_at - s.created_at, s.idle_timeout)
    };
    let web = login(unique("web"), json!({}), false).await;
    let remembered = login(unique("web"), json!({}), true).await;
    let admin = login(unique("root"), json!({ "roles": ["admin"] }), true).await;
    let mobile = login(unique("phone"), json!({ "client_id": "mobile-app" }), false).await;
    let both = login(
        unique("root"),
        json!({ "roles": ["admin"], "client_id": "mobile-app" }),
        true,
    )
    .await;
    assert_eq!(limits(&web), (24 * HOUR, Some(12 * HOUR)));
    assert_eq!(limits(&remembered), (72 * HOUR, Some(12 * HOUR)));
    assert_eq!(
        limits(&admin),
        (8 * HOUR, Some(15 * 60)),
        "never remembered"
    );
    assert_eq!(limits(&mobile), (90 * 24 * HOUR, Some(30 * 24 * HOUR)));
    assert_eq!(
        limits(&both),
        (8 * HOUR, Some(15 * 60)),
        "the shorter of each"
    );
    // The store keeps the idle timeout, and a rotation answers with it.
    let stored = h
        .sessions
        .session(admin.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.idle_timeout, Some(15 * 60));

    // Admin: idle after 15 minutes, whatever the default says.
    h.clock.advance(15 * 60 - 1);
    let admin = h.rotate(&admin).await;
    assert_eq!(admin.session().idle_timeout, Some(15 * 60));
    let web = h.rotate(&web).await;
    h.clock.advance(15 * 60);
    assert_eq!(
        h.refused(admin.refresh_token().as_str()).await,
        SessionErrorKind::SessionIdle
    );
    let web = h.rotate(&web).await;

    // Refreshing every 11 h: the plain session ends after a day, the
    // remembered one after three, the mobile one goes on.
    let (mut web, mut remembered, mut mobile) = (Some(web), Some(remembered), Some(mobile));
    let mut ended = (None, None);
    for round in 1..=7 {
        h.clock.advance(11 * HOUR);
        for (pair, end) in [(&mut web, &mut ended.0), (&mut remembered, &mut ended.1)] {
            let Some(current) = pair.take() else { continue };
            match h.sessions.refresh(current.refresh_token().as_str()).await {
                Ok(next) => *pair = next.into_pair(),
                Err(e) => *end = Some((round, e.kind())),
            }
        }
        mobile = Some(h.rotate(mobile.as_ref().unwrap()).await);
    }
    assert_eq!(
        ended.0,
        Some((3, SessionErrorKind::SessionExpired)),
        "web: 33 h > 24 h"
    );
    assert_eq!(
        ended.1,
        Some((7, SessionErrorKind::SessionExpired)),
        "remembered: 77 h > 72 h"
    );
    assert!(h.passes(mobile.as_ref().unwrap()).await);
}

/// An email-verification link's token for alice, valid for an hour.
pub fn email_link(tokens: &auth_layer::session::SingleUseTokens) -> String {
    tokens
        .mint(
            "email-verification",
            "alice",
            Duration::from_secs(3600),
            json!({ "email": "alice@example.com" }),
        )
        .unwrap()
}

/// Single-use tokens: spent once, by exactly one of 50 concurrent uses,
/// for their purpose only, never as access tokens, and refused when
/// expired.
pub async fn single_use_tokens(h: &Harness) {
    let tokens = h
        .sessions
        .single_use(["email-verification", "password-reset"])
        .unwrap();
    let link = email_link(&tokens);
    let consumed = futures_util::future::join_all(
        (0..50).map(|_| tokens.consume("email-verification", &link)),
    )
    .await;
    let (used, refused): (Vec<_>, Vec<_>) = consumed.into_iter().partition(Result::is_ok);
    assert_eq!(used.len(), 1, "exactly one of 50 concurrent uses");
    assert!(
        refused
            .iter()
            .all(|r| r.as_ref().unwrap_err().kind() == SessionErrorKind::SingleUseSpent)
    );
    let used = used.into_iter().next().unwrap().unwrap();
    assert_eq!(
        (
            used.subject(),
            used.purpose(),
            used.claims()["email"].as_str()
        ),
        ("alice", "email-verification", Some("alice@example.com"))
    );
    // A second instance on the same store: still spent.
    let other = h.sessions.single_use(["email-verification"]).unwrap();
    assert_eq!(
        other
            .consume("email-verification", &link)
            .await
            .unwrap_err()
            .kind(),
        SessionErrorKind::SingleUseSpent
    );

    // Another purpose, an access token, garbage: invalid, nothing spent.
    let reset = tokens
        .mint("password-reset", "alice", Duration::from_secs(900), ())
        .unwrap();
    let access = h.login(&unique("alice")).await;
    for (what, token) in [
        ("another purpose", reset.as_str()),
        ("an access token", access.access_token().as_str()),
        ("garbage", "a.b.c"),
    ] {
        assert_eq!(
            tokens
                .consume("email-verification", token)
                .await
                .unwrap_err()
                .kind(),
            SessionErrorKind::SingleUseInvalid,
            "{what}"
        );
    }
    // Never an access token: not for the project's layer, nor for one
    // that knows only the secret.
    assert_eq!(
        h.call(&reset).await,
        (StatusCode::UNAUTHORIZED, Some(ErrorKind::InvalidTokenType))
    );
    let plain = JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(h.clock.clone())
        .build()
        .unwrap();
    assert!(plain.verifier().verify(&reset).is_err());
    assert!(tokens.consume("password-reset", &reset).await.is_ok());

    // Used, then presented again in the minute after its `exp` (a
    // verifier's usual leeway): still refused.
    let once = tokens
        .mint("password-reset", "carol", Duration::from_secs(900), ())
        .unwrap();
    assert!(tokens.consume("password-reset", &once).await.is_ok());
    h.clock.advance(900 + 30);
    assert!(tokens.consume("password-reset", &once).await.is_err());

    // Expired: refused, as such, from its `exp` on (no leeway).
    let late = tokens
        .mint("password-reset", "bob", Duration::from_secs(900), ())
        .unwrap();
    h.clock.advance(901);
    assert_eq!(
        tokens
            .consume("password-reset", &late)
            .await
            .unwrap_err()
            .kind(),
        SessionErrorKind::SingleUseExpired
    );
    assert!(h.sessions.single_use(["at"]).is_err());
    assert!(h.sessions.single_use(["Email"]).is_err());
    assert!(
        tokens
            .mint(
                "password-reset",
                "bob",
                Duration::from_secs(8 * 24 * 3600),
                ()
            )
            .is_err()
    );
}

/// The scenarios above as `#[tokio::test]`s, for the test file of one
/// backend, which defines `async fn harness_with(configure) -> Harness`.
/// The attributes after the name go on every test, e.g. the `ignore` of a
/// backend whose service is not configured:
///
/// ```text
/// auth_tests::backend_scenarios!("redis" #[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]);
/// ```
#[macro_export]
macro_rules! backend_scenarios {
    ($backend:literal $(#[$attr:meta])*) => {
        async fn harness() -> $crate::session_scenarios::Harness {
            harness_with(|b| b).await
        }

        /// A five-second reuse grace window, and no retry window, which
        /// would answer the duplicates first.
        fn grace(b: auth_layer::session::SessionsBuilder) -> auth_layer::session::SessionsBuilder {
            no_retry(b).danger_reuse_grace(std::time::Duration::from_secs(5))
        }

        /// No retry window: every spent token presented again is reuse.
        fn no_retry(b: auth_layer::session::SessionsBuilder) -> auth_layer::session::SessionsBuilder {
            b.retry_window(std::time::Duration::ZERO)
        }

        #[tokio::test]
        $(#[$attr])*
        async fn rotation() {
            let h = harness().await;
            $crate::session_scenarios::rotation(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn reuse_revokes_the_family() {
            let h = harness().await;
            $crate::session_scenarios::reuse_revokes_the_family(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn grace_window() {
            let h = harness_with(grace).await;
            $crate::session_scenarios::grace_window(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn absolute_and_idle_limits() {
            let h = harness().await;
            $crate::session_scenarios::absolute_and_idle_limits(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn version_bump_blocks_refresh() {
            let h = harness().await;
            $crate::session_scenarios::version_bump_blocks_refresh(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn reauth_required() {
            let h = harness().await;
            $crate::session_scenarios::reauth_required(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn logout_one_and_everywhere() {
            let h = harness().await;
            $crate::session_scenarios::logout_one_and_everywhere(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn garbage_changes_nothing() {
            let h = harness().await;
            $crate::session_scenarios::garbage_changes_nothing(&h).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attr])*
        async fn fifty_concurrent_refreshes_one_wins_the_rest_are_reuse() {
            let h = harness_with(no_retry).await;
            $crate::session_scenarios::concurrent_refreshes(&h, 50, false).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attr])*
        async fn fifty_concurrent_refreshes_in_the_grace_window_are_duplicates() {
            let h = harness_with(grace).await;
            $crate::session_scenarios::concurrent_refreshes(&h, 50, true).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attr])*
        async fn fifty_concurrent_retries_in_the_retry_window_share_one_successor() {
            let h = harness().await;
            $crate::session_scenarios::racing_retries_share_one_successor(&h, 50).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn only_the_kept_spent_tokens_are_reuse() {
            let h = harness().await;
            $crate::session_scenarios::only_the_kept_spent_tokens_are_reuse(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn retry_after_a_lost_answer() {
            let h = harness().await;
            $crate::session_scenarios::retry_after_a_lost_answer(&h).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn claims_follow_the_user() {
            let directory = $crate::session_scenarios::Directory::default();
            let h = harness_with($crate::session_scenarios::claims_from(directory.clone())).await;
            $crate::session_scenarios::claims_follow_the_user(&h, &directory).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn limits_by_use_case() {
            let h = harness_with($crate::session_scenarios::use_cases).await;
            $crate::session_scenarios::limits_by_use_case(&h).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attr])*
        async fn single_use_tokens_are_spent_once() {
            let h = harness().await;
            $crate::session_scenarios::single_use_tokens(&h).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn refresh_throughput() {
            let h = harness().await;
            $crate::session_scenarios::throughput(&h, $backend, 16, 50).await;
        }
    };
}
