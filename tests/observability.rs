//! What operators see of the layer's decisions: the audit hook receives
//! every decision with the verified subject, token id and client address;
//! the `tracing` events name the outcome and reason, carry the subject only
//! when configured, and never the token.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use auth_tests as common;

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use auth_layer::observe::{AuditEvent, Outcome};
use auth_layer::revocation::RevocationCache;
use auth_layer::store::MemoryStore;
use auth_layer::{ErrorKind, JwtAuth, JwtAuthBuilder};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::routing::get;
use common::{SECRET, TestServer, claims_with, hs256, tower_request, whoami};
use serde_json::json;
use tower::ServiceExt;

/// One test at a time: `tracing` caches per call site whether anyone
/// listens, and a test without a subscriber hitting a call site while
/// another installs one can leave it switched off for the latter.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the audit hook was told, owned.
#[derive(Debug, Clone, PartialEq)]
struct Decision {
    outcome: Outcome,
    reason: Option<ErrorKind>,
    subject: Option<String>,
    token_id: Option<String>,
    session_id: Option<String>,
    client: Option<IpAddr>,
}

fn recorder() -> (
    Arc<Mutex<Vec<Decision>>>,
    impl Fn(&AuditEvent<'_>) + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let hook = move |event: &AuditEvent<'_>| {
        sink.lock().unwrap().push(Decision {
            outcome: event.outcome(),
            reason: event.reason(),
            subject: event.subject().map(str::to_owned),
            token_id: event.token_id().map(str::to_owned),
            session_id: event.session_id().map(str::to_owned),
            client: event.client_addr(),
        });
    };
    (seen, hook)
}

fn connect_info(builder: JwtAuthBuilder) -> JwtAuthBuilder {
    builder.client_addr(|_, extensions| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    })
}

/// Serves `/protected` (required) and `/home` (optional) with
/// `ConnectInfo`, so the hook learns the client address.
async fn serve_with_connect_info(required: JwtAuth, optional: JwtAuth) -> TestServer {
    let router = Router::new()
        .route("/protected", get(whoami).layer(required.json_errors()))
        .route("/home", get(|| async { "home" }).layer(optional));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestServer::new(format!("http://{addr}"))
}

#[tokio::test]
async fn the_audit_hook_sees_every_decision_with_subject_token_id_and_client() {
    let _serial = SERIAL.lock().await;
    let (seen, hook) = recorder();
    let hook = Arc::new(hook);
    let revocation = RevocationCache::builder(MemoryStore::new())
        .build()
        .unwrap();
    let required = {
        let hook = Arc::clone(&hook);
        connect_info(JwtAuth::builder().hmac_secret(SECRET))
            .revocation(revocation.clone())
            .audit(move |e| hook(e))
            .build()
            .unwrap()
    };
    let optional = {
        let hook = Arc::clone(&hook);
        connect_info(JwtAuth::builder().hmac_secret(SECRET))
            .optional()
            .audit(move |e| hook(e))
            .build()
            .unwrap()
    };
    let server = serve_with_connect_info(required, optional).await;
    let loopback = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

    let good = hs256(&claims_with("alice", json!({ "jti": "t-1", "sid": "s-1" })));
    server.bearer(&good).await.assert_ok("alice");
    let expired = hs256(&claims_with(
        "bob",
        json!({ "exp": 1_000_000, "jti": "t-2" }),
    ));
    server
        .bearer(&expired)
        .await
        .assert_invalid("token_expired");
    // A forged token's claims are not facts: no subject reported.
    let last = if good.ends_with('A') { "B" } else { "A" };
    let forged = format!("{}{last}", &good[..good.len() - 1]);
    assert_eq!(server.bearer(&forged).await.status, 401);
    let in_a_minute = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    revocation
        .revoke_user_at("", "carol", in_a_minute)
        .await
        .unwrap();
    let revoked = hs256(&claims_with("carol", json!({ "jti": "t-3" })));
    server
        .bearer(&revoked)
        .await
        .assert_invalid("token_revoked");
    server.anonymous("/protected").await.assert_missing();
    assert_eq!(server.anonymous("/home").await.status, 200);

    let seen = seen.lock().unwrap().clone();
    let decision = |outcome,
                    reason: Option<ErrorKind>,
                    subject: Option<&str>,
                    jti: Option<&str>,
                    sid: Option<&str>| Decision {
        outcome,
        reason,
        subject: subject.map(str::to_owned),
        token_id: jti.map(str::to_owned),
        session_id: sid.map(str::to_owned),
        client: loopback,
    };
    let forged_reason = seen[2].reason;
    assert!(
        matches!(
            forged_reason,
            Some(ErrorKind::InvalidSignature | ErrorKind::Malformed)
        ),
        "{forged_reason:?}"
    );
    assert_eq!(
        seen,
        vec![
            decision(
                Outcome::Allowed,
                None,
                Some("alice"),
                Some("t-1"),
                Some("s-1")
            ),
            decision(
                Outcome::Rejected,
                Some(ErrorKind::Expired),
                None,
                None,
                None
            ),
            decision(Outcome::Rejected, forged_reason, None, None, None),
            decision(
                Outcome::Rejected,
                Some(ErrorKind::Revoked),
                Some("carol"),
                Some("t-3"),
                None
            ),
            decision(
                Outcome::Rejected,
                Some(ErrorKind::MissingToken),
                None,
                None,
                None
            ),
            decision(Outcome::Anonymous, None, None, None, None),
        ]
    );
}

#[tokio::test]
async fn without_a_resolver_the_client_address_is_the_socket_addr_extension() {
    let _serial = SERIAL.lock().await;
    let (seen, hook) = recorder();
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audit(hook)
        .build()
        .unwrap();
    let svc = behind(&auth);
    let peer: SocketAddr = "192.0.2.7:4711".parse().unwrap();
    let mut request = tower_request(Some(&hs256(&claims_with("dana", json!({})))));
    request.extensions_mut().insert(peer);
    assert_eq!(svc.clone().oneshot(request).await.unwrap().status(), 200);
    // No address known: none reported, nothing invented.
    let request = tower_request(None);
    assert_eq!(svc.oneshot(request).await.unwrap().status(), 401);

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].client, Some(peer.ip()));
    assert_eq!(seen[0].subject.as_deref(), Some("dana"));
    assert_eq!(seen[1].client, None);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A subscriber recording everything at `TRACE` into a buffer, the
/// thread's default until the guard drops.
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// Runs `requests` through a layer built with `log_subjects(on)` and a
/// revocation cache on `store` under a subscriber that records everything
/// at `TRACE`; returns the log text. The store must be older than the
/// tokens: it refuses tokens issued before it was created.
async fn logs_of(on: bool, store: MemoryStore, tokens: &[Option<String>]) -> String {
    let (captured, _guard) = capture();
    let revocation = RevocationCache::builder(store).build().unwrap();
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .revocation(revocation)
        .log_subjects(on)
        .build()
        .unwrap();
    let svc = behind(&auth);
    for token in tokens {
        let _ = svc.clone().oneshot(tower_request(token.as_deref())).await;
    }
    captured.text()
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_names_each_decision_and_never_the_token() {
    let _serial = SERIAL.lock().await;
    let (quiet_store, verbose_store) = (MemoryStore::new(), MemoryStore::new());
    let good = hs256(&claims_with("erin-subject", json!({ "jti": "jti-erin" })));
    let expired = hs256(&claims_with("frank-subject", json!({ "exp": 1_000_000 })));
    let tokens = [
        Some(good.clone()),
        Some(good.clone()),
        Some(expired.clone()),
        None,
    ];

    let quiet = logs_of(false, quiet_store, &tokens).await;
    assert_eq!(quiet.matches("outcome=\"allowed\"").count(), 2, "{quiet}");
    assert!(quiet.contains("reason=\"token_expired\""), "{quiet}");
    assert!(quiet.contains("reason=\"token_missing\""), "{quiet}");
    assert!(quiet.contains("status=401"), "{quiet}");
    assert!(
        !quiet.contains("erin-subject") && !quiet.contains("jti-erin"),
        "{quiet}"
    );

    let verbose = logs_of(true, verbose_store, &tokens).await;
    assert!(verbose.contains("sub=\"erin-subject\""), "{verbose}");
    assert!(verbose.contains("jti=\"jti-erin\""), "{verbose}");
    // An expired token's claims were never accepted: not logged as facts.
    assert!(!verbose.contains("frank-subject"), "{verbose}");

    for log in [&quiet, &verbose] {
        for token in [&good, &expired] {
            let signature = token.rsplit('.').next().unwrap();
            let payload = token.split('.').nth(1).unwrap();
            assert!(!log.contains(signature) && !log.contains(payload), "{log}");
        }
    }
}

/// A scope guard after the layer refuses a token: the refusal is logged
/// with its reason, and with the subject only when the layer logs subjects.
#[tokio::test(flavor = "current_thread")]
async fn guard_refusals_are_logged_like_the_layer_s_rejections() {
    let _serial = SERIAL.lock().await;
    let token = hs256(&claims_with("gail-subject", json!({ "scope": "a" })));
    for on in [false, true] {
        let (captured, _guard) = capture();
        let auth = JwtAuth::builder()
            .hmac_secret(SECRET)
            .log_subjects(on)
            .build()
            .unwrap();
        let guarded = tower::Layer::layer(
            &auth,
            tower::Layer::layer(
                &auth_layer::require::Require::role(&auth, "admin"),
                tower::service_fn(|_: Request<String>| async {
                    Ok::<_, Infallible>(Response::new(String::new()))
                }),
            ),
        );
        let response = guarded.oneshot(tower_request(Some(&token))).await.unwrap();
        assert_eq!(response.status(), 403);
        let log = captured.text();
        assert!(
            log.contains("outcome=\"forbidden\"")
                && log.contains("reason=\"insufficient_role\"")
                && log.contains("status=403")
                && log.contains("required=\"admin\""),
            "{log}"
        );
        assert_eq!(log.contains("gail-subject"), on, "{log}");
    }
}

/// A trivial `200` behind the layer, as a tower service.
fn behind(
    auth: &JwtAuth,
) -> impl tower::Service<Request<String>, Response = Response<String>, Error = Infallible, Future: Send>
+ Clone {
    tower::Layer::layer(
        auth,
        tower::service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }),
    )
}
