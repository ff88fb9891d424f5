//! Faults of the services the layer depends on, with the real services on
//! loopback behind a TCP proxy that can take them down or slow them down
//! (the services themselves are never stopped: other tests share them):
//!
//! - Redis, then PostgreSQL, going away in the middle of a load of
//!   authenticated requests: never a 401 for a valid token, 503 with
//!   `Retry-After` while the store is down, every answer a 200 again
//!   within seconds of it coming back;
//! - with `serve_stale_for`, subjects cached before the outage keep passing
//!   until the stale bound, then get 503;
//! - a JWKS endpoint down for several refresh intervals: the cached keys
//!   keep verifying tokens;
//! - a store that answers slowly: within the store timeout requests pass,
//!   beyond it they get 503 by the timeout, never after the store (after
//!   the first timeout, misses are answered at once for the `Retry-After`).
//!
//! Each test prints a one-line report. Redis and PostgreSQL come from
//! `AUTH_TEST_REDIS_URL` and `AUTH_TEST_DATABASE_URL`; a test whose service
//! is not configured shows as ignored. The tests measure latencies
//! and recovery times, so they run one at a time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;
use auth_tests::idp;
use auth_tests::proxy;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_layer::JwtAuth;
use auth_layer::jwks::KeySource;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_tests::proxy::{postgres_via_proxy, redis_via_proxy};
use auth_tests::services::{database_url, redis_url, unique};
use common::{SECRET, TestServer, build, claims, hs256, key_file, mint_with, serve};
use idp::idp;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proxy::{Mode, Proxy};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing_subscriber::layer::SubscriberExt as _;

/// One test at a time: they measure latencies and recovery times.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The longest any single request may take before it counts as unanswered.
const REQUEST_BOUND: Duration = Duration::from_secs(5);
/// Concurrent clients of the load tests.
const CLIENTS: usize = 16;
/// Revocation cache TTL of the store tests.
const TTL: Duration = Duration::from_millis(200);

// ---------------------------------------------------------------------------
// Requests and what came back
// ---------------------------------------------------------------------------

/// One request and its answer, timed from the start of the test.
#[derive(Clone)]
struct Outcome {
    sent: Duration,
    took: Duration,
    /// 0 when no answer came (transport error, or nothing within [`REQUEST_BOUND`]).
    status: u16,
    retry_after: Option<String>,
    www_authenticate: Option<String>,
    /// The `code` of a JSON rejection body.
    code: Option<String>,
    /// What went wrong beyond the status: no answer, or a 200 for another subject.
    error: Option<String>,
}

impl Outcome {
    fn answered(&self) -> Duration {
        self.sent + self.took
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at +{:?} (took {:?}) code={:?} retry-after={:?} www-authenticate={:?}",
            self.status, self.sent, self.took, self.code, self.retry_after, self.www_authenticate
        )?;
        if let Some(error) = &self.error {
            write!(f, " error={error}")?;
        }
        Ok(())
    }
}

/// `GET /protected` with `token` (for subject `sub`), timed from `start`.
async fn request(server: &TestServer, sub: &str, token: &str, start: Instant) -> Outcome {
    let sent = start.elapsed();
    let began = Instant::now();
    let exchange = async {
        let response = server
            .get("/protected")
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let (retry_after, www_authenticate) = (header("retry-after"), header("www-authenticate"));
        let body = response.text().await?;
        Ok::<_, reqwest::Error>((status, retry_after, www_authenticate, body))
    };
    let result = tokio::time::timeout(REQUEST_BOUND, exchange).await;
    let took = began.elapsed();
    let mut outcome = Outcome {
        sent,
        took,
        status: 0,
        retry_after: None,
        www_authenticate: None,
        code: None,
        error: None,
    };
    match result {
        Ok(Ok((status, retry_after, www_authenticate, body))) => {
            let json: Option<Value> = serde_json::from_str(&body).ok();
            let field = |name: &str| {
                json.as_ref()
                    .and_then(|j| j.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            if status == 200 && field("sub").as_deref() != Some(sub) {
                outcome.error = Some(format!("a 200 for another subject than {sub}: {body}"));
            }
            outcome.status = status;
            outcome.retry_after = retry_after;
            outcome.www_authenticate = www_authenticate;
            outcome.code = field("code");
        }
        Ok(Err(e)) => outcome.error = Some(format!("no answer: {e}")),
        Err(_) => outcome.error = Some(format!("no answer within {REQUEST_BOUND:?}")),
    }
    outcome
}

/// Asserts the answer the layer documents for a store that cannot answer:
/// 503, `Retry-After` (whole seconds, at least 1), no `WWW-Authenticate`
/// challenge (the client did nothing wrong), and the code `store_unavailable`.
#[track_caller]
fn assert_store_unavailable(outcome: &Outcome, what: &str) {
    assert_eq!(outcome.status, 503, "{what}: {outcome:?}");
    assert_eq!(
        outcome.code.as_deref(),
        Some("store_unavailable"),
        "{what}: {outcome:?}"
    );
    let secs: Option<u64> = outcome.retry_after.as_deref().and_then(|v| v.parse().ok());
    assert!(
        secs.is_some_and(|s| s >= 1),
        "{what}: a 503 needs Retry-After in whole seconds: {outcome:?}"
    );
    assert_eq!(
        outcome.www_authenticate, None,
        "{what}: a 503 carries Retry-After instead of a challenge: {outcome:?}"
    );
}

/// Asserts that every request was answered, with a 200 for its own
/// subject or a 503, and never a 401 (or any other status).
#[track_caller]
fn assert_answered_200_or_503(outcomes: &[Outcome], what: &str) {
    let unanswered: Vec<_> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    assert!(
        unanswered.is_empty(),
        "{what}: {} request(s) without a proper answer, e.g. {:?}",
        unanswered.len(),
        unanswered.first()
    );
    let refused: Vec<_> = outcomes.iter().filter(|o| o.status == 401).collect();
    assert!(
        refused.is_empty(),
        "{what}: {} valid token(s) answered 401, e.g. {:?}",
        refused.len(),
        refused.first()
    );
    let other: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status != 200 && o.status != 503)
        .collect();
    assert!(
        other.is_empty(),
        "{what}: answers other than 200 and 503, e.g. {:?}",
        other.first()
    );
    for outcome in outcomes.iter().filter(|o| o.status == 503) {
        assert_store_unavailable(outcome, what);
    }
}

/// `200 ×12, 503 ×3`
fn by_status(outcomes: &[Outcome]) -> String {
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for outcome in outcomes {
        *counts.entry(outcome.status).or_default() += 1;
    }
    counts
        .iter()
        .map(|(status, n)| format!("{status} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The median and the maximum of the latencies.
fn p50_max(outcomes: &[&Outcome]) -> (Duration, Duration) {
    let mut took: Vec<Duration> = outcomes.iter().map(|o| o.took).collect();
    took.sort();
    (
        took.get(took.len() / 2).copied().unwrap_or_default(),
        took.last().copied().unwrap_or_default(),
    )
}

/// Clients sending requests with valid tokens, each for a subject never
/// seen before (so the revocation cache misses and asks the store every
/// time), until stopped.
struct Load {
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(server: &Arc<TestServer>, clients: usize, start: Instant) -> Self {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let run = unique("load");
        let clients = (0..clients)
            .map(|client| {
                let (server, outcomes, stop) =
                    (Arc::clone(server), Arc::clone(&outcomes), Arc::clone(&stop));
                let run = run.clone();
                tokio::spawn(async move {
                    let mut i = 0_u64;
                    while !stop.load(Ordering::SeqCst) {
                        let sub = format!("{run}-{client}-{i}");
                        let outcome = request(&server, &sub, &hs256(&claims(&sub)), start).await;
                        outcomes.lock().unwrap().push(outcome);
                        i += 1;
                    }
                })
            })
            .collect();
        Self {
            outcomes,
            stop,
            clients,
        }
    }

    /// When the last answer other than a 200 arrived, if any.
    fn last_not_ok(&self) -> Option<Duration> {
        self.outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.status != 200)
            .map(Outcome::answered)
            .max()
    }

    async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients {
            client.await.expect("a load client panicked");
        }
        let mut outcomes = std::mem::take(&mut *self.outcomes.lock().unwrap());
        outcomes.sort_by_key(|o| o.sent);
        outcomes
    }
}

// ---------------------------------------------------------------------------
// The stores, through the proxy
// ---------------------------------------------------------------------------

/// A server whose layer checks revocation through `cache`.
async fn revocation_server(cache: RevocationCache) -> TestServer {
    serve(build(
        JwtAuth::builder().hmac_secret(SECRET).revocation(cache),
    ))
    .await
}

// ---------------------------------------------------------------------------
// A store going away under load
// ---------------------------------------------------------------------------

/// Load before the outage.
const BEFORE: Duration = Duration::from_secs(1);
/// How long the store is down.
const DOWN: Duration = Duration::from_secs(2);
/// Load after the store is back, at least.
const AFTER: Duration = Duration::from_secs(2);
/// Every answer must be a 200 again within this of the store coming back.
const RECOVERY_BOUND: Duration = Duration::from_secs(5);
/// The stretch of nothing but 200s that ends the load after recovery.
const ALL_OK_FOR: Duration = Duration::from_secs(1);

/// Runs [`CLIENTS`] clients against `server` while `proxy` (in front of the
/// store behind `server`'s revocation cache) goes down for [`DOWN`] and
/// comes back; checks and prints what they saw.
async fn outage_under_load(
    name: &str,
    store: impl RevocationStore,
    proxy: &mut Proxy,
    timeout: Duration,
) {
    let cache = RevocationCache::builder(store)
        .ttl(TTL)
        .store_timeout(timeout)
        .build()
        .unwrap();
    let server = Arc::new(revocation_server(cache).await);
    let start = Instant::now();
    let load = Load::start(&server, CLIENTS, start);

    tokio::time::sleep(BEFORE).await;
    let going_down = start.elapsed();
    proxy.set(Mode::Down).await;
    let down_at = start.elapsed();
    tokio::time::sleep(DOWN).await;
    proxy.set(Mode::Forward).await;
    let up_at = start.elapsed();

    // Load on until every answer has been a 200 for a while (bounded).
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = start.elapsed();
        let all_ok_since = load.last_not_ok().map_or(up_at, |t| t.max(up_at));
        if now >= up_at + AFTER && now >= all_ok_since + ALL_OK_FOR {
            break;
        }
        if now >= up_at + RECOVERY_BOUND + ALL_OK_FOR {
            break;
        }
    }
    let outcomes = load.stop().await;
    let end = outcomes.iter().map(Outcome::answered).max().unwrap();

    assert_answered_200_or_503(&outcomes, name);

    let before: Vec<_> = outcomes
        .iter()
        .filter(|o| o.answered() < going_down)
        .collect();
    assert!(
        before.len() >= 50,
        "{name}: only {} answers before the outage: is the load running?",
        before.len()
    );
    assert!(
        before.iter().all(|o| o.status == 200),
        "{name}: answers other than 200 while the store was up: {:?}",
        before.iter().find(|o| o.status != 200)
    );

    // Sent after the store went down and answered before it came back: the
    // store cannot have answered, and nothing was cached for these subjects.
    let while_down: Vec<_> = outcomes
        .iter()
        .filter(|o| o.sent >= down_at && o.answered() <= up_at)
        .collect();
    assert!(
        while_down.len() >= 10,
        "{name}: only {} requests made while the store was down",
        while_down.len()
    );
    for outcome in &while_down {
        assert_eq!(
            outcome.status, 503,
            "{name}: an uncached subject while the store was down must get 503: {outcome:?}"
        );
    }
    let (down_p50, down_max) = p50_max(&while_down);
    assert!(
        down_max <= timeout + Duration::from_secs(1),
        "{name}: a 503 took {down_max:?} with a store timeout of {timeout:?}"
    );

    let recovered_at = outcomes
        .iter()
        .filter(|o| o.status != 200)
        .map(Outcome::answered)
        .max()
        .map_or(up_at, |t| t.max(up_at));
    let recovery = recovered_at - up_at;
    assert!(
        recovery <= RECOVERY_BOUND,
        "{name}: answers other than 200 until {recovery:?} after the store came back"
    );
    let after: Vec<_> = outcomes.iter().filter(|o| o.sent > recovered_at).collect();
    assert!(
        after.len() >= 50 && end - recovered_at >= ALL_OK_FOR,
        "{name}: after recovering at +{recovered_at:?}, only {} answers over {:?}",
        after.len(),
        end - recovered_at
    );

    eprintln!(
        "REPORT {name} outage under load: {} requests sent by {CLIENTS} clients over {end:.1?}; \
         answers: {}; store down {:.1?} (from +{down_at:.1?}): {} requests made in it, all 503, \
         latency p50 {down_p50:.1?} max {down_max:.1?} (store timeout {timeout:?}); \
         recovery {recovery:.1?} after the store came back, then {} answers, all 200",
        outcomes.len(),
        by_status(&outcomes),
        up_at - down_at,
        while_down.len(),
        after.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_outage_under_load() {
    let url = redis_url();
    let _serial = SERIAL.lock().await;
    let (mut proxy, store) = redis_via_proxy(&url).await;
    let timeout = Duration::from_millis(300);
    outage_under_load("redis", store, &mut proxy, timeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_outage_under_load() {
    let url = database_url();
    let _serial = SERIAL.lock().await;
    let (mut proxy, store) = postgres_via_proxy(&url).await;
    let timeout = Duration::from_millis(500);
    outage_under_load("postgres", store, &mut proxy, timeout).await;
}

// ---------------------------------------------------------------------------
// Serving the last known answers for a bounded time
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_outage_serves_bounded_stale() {
    let url = redis_url();
    let _serial = SERIAL.lock().await;
    let (mut proxy, store) = redis_via_proxy(&url).await;
    let stale_for = Duration::from_secs(1);
    let bound = TTL + stale_for;
    // Timers and clocks differ by a few milliseconds, and an answer takes
    // a moment to reach the client once decided.
    let tolerance = Duration::from_millis(100);
    let cache = RevocationCache::builder(store)
        .ttl(TTL)
        .serve_stale_for(stale_for)
        .store_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let server = Arc::new(revocation_server(cache).await);
    let start = Instant::now();

    let subjects: Vec<String> = (0..4).map(|i| unique(&format!("stale-{i}"))).collect();
    let tokens: Vec<String> = subjects.iter().map(|s| hs256(&claims(s))).collect();
    // The store's last answer for subject i came before `known[i]`.
    let mut known = Vec::new();
    for (sub, token) in subjects.iter().zip(&tokens) {
        let outcome = request(&server, sub, token, start).await;
        assert_eq!(outcome.status, 200, "{outcome:?}");
        known.push(outcome.answered());
    }
    proxy.set(Mode::Down).await;
    let down_at = start.elapsed();

    // Rounds of concurrent requests: every cached subject and a new one.
    let until = *known.iter().max().unwrap() + bound + Duration::from_millis(600);
    let mut cached: Vec<(usize, Outcome)> = Vec::new();
    let mut uncached: Vec<Outcome> = Vec::new();
    while start.elapsed() < until {
        let rounds: Vec<_> = (0..=subjects.len())
            .map(|i| {
                let server = Arc::clone(&server);
                let (sub, token) = match subjects.get(i) {
                    Some(sub) => (sub.clone(), tokens[i].clone()),
                    None => {
                        let sub = unique("stale-new");
                        let token = hs256(&claims(&sub));
                        (sub, token)
                    }
                };
                tokio::spawn(async move { (i, request(&server, &sub, &token, start).await) })
            })
            .collect();
        for round in rounds {
            let (i, outcome) = round.await.unwrap();
            if i < subjects.len() {
                cached.push((i, outcome));
            } else {
                uncached.push(outcome);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.set(Mode::Forward).await;
    let up_at = start.elapsed();

    let cached_outcomes: Vec<Outcome> = cached.iter().map(|(_, o)| o.clone()).collect();
    assert_answered_200_or_503(&cached_outcomes, "cached subjects during the outage");
    assert_answered_200_or_503(&uncached, "new subjects during the outage");
    for outcome in &uncached {
        assert_eq!(
            outcome.status, 503,
            "a subject never cached, while the store is down: {outcome:?}"
        );
    }
    let mut last_stale = Duration::ZERO;
    let mut first_refused = Duration::MAX;
    for (i, outcome) in &cached {
        // How long after the store's last answer for this subject the
        // request was made, and answered. The layer decides in between.
        let sent_age = outcome.sent.saturating_sub(known[*i]);
        let answered_age = outcome.answered().saturating_sub(known[*i]);
        match outcome.status {
            200 => {
                assert!(
                    answered_age < bound + tolerance,
                    "subject {i} passed {answered_age:?} after the store's last answer, beyond \
                     TTL + serve_stale_for = {bound:?}: {outcome:?}"
                );
                last_stale = last_stale.max(answered_age);
            }
            _ => {
                assert!(
                    sent_age >= TTL,
                    "subject {i} was refused within its fresh TTL: {outcome:?}"
                );
                first_refused = first_refused.min(answered_age);
            }
        }
        if sent_age >= bound + tolerance {
            assert_eq!(
                outcome.status, 503,
                "subject {i}, {sent_age:?} after the store's last answer (bound {bound:?})"
            );
        }
    }
    assert!(
        last_stale >= TTL + stale_for / 2,
        "cached subjects should keep passing from the last known answer until near \
         TTL + serve_stale_for = {bound:?}; the last 200 came {last_stale:?} after the store's answer"
    );
    assert!(
        first_refused < Duration::MAX,
        "no cached subject got 503 after the stale bound"
    );

    // Back: cached and new subjects pass again.
    let recovery = loop {
        let sub = unique("stale-back");
        let mut outcomes = vec![request(&server, &sub, &hs256(&claims(&sub)), start).await];
        for (sub, token) in subjects.iter().zip(&tokens) {
            outcomes.push(request(&server, sub, token, start).await);
        }
        assert_answered_200_or_503(&outcomes, "after the store came back");
        if outcomes.iter().all(|o| o.status == 200) {
            break start.elapsed() - up_at;
        }
        assert!(
            start.elapsed() - up_at < RECOVERY_BOUND,
            "still 503 {RECOVERY_BOUND:?} after the store came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let stale: Vec<&Outcome> = cached
        .iter()
        .filter(|(i, o)| o.status == 200 && o.sent >= known[*i] + TTL)
        .map(|(_, o)| o)
        .collect();
    let (stale_p50, stale_max) = p50_max(&stale);
    eprintln!(
        "REPORT redis stale answers (TTL {TTL:?} + serve_stale_for {stale_for:?}): store down {:.1?}; \
         {} cached subjects, {} requests: {} ({} of the 200s past the TTL, from the last known \
         answer, latency p50 {stale_p50:.1?} max {stale_max:.1?}; the last 200 answered \
         {last_stale:.2?} after the store's last answer, the first 503 {first_refused:.2?} after); \
         new subjects: {} requests, {}; recovery {recovery:.1?} after the store came back",
        up_at - down_at,
        subjects.len(),
        cached.len(),
        by_status(&cached_outcomes),
        stale.len(),
        uncached.len(),
        by_status(&uncached),
    );
}

// ---------------------------------------------------------------------------
// The JWKS endpoint down for longer than the refresh interval
// ---------------------------------------------------------------------------

/// Collects the `error` field of the key source's warnings (each failed
/// fetch is logged at WARN).
#[derive(Clone, Default)]
struct FetchWarnings(Arc<Mutex<Vec<String>>>);

impl FetchWarnings {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn since(&self, from: usize) -> Vec<String> {
        self.0.lock().unwrap()[from..].to_vec()
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FetchWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() == tracing::Level::WARN && meta.target().starts_with("auth_layer::jwks") {
            let mut error = ErrorField(None);
            event.record(&mut error);
            self.0
                .lock()
                .unwrap()
                .push(error.0.unwrap_or_else(|| "(no error field)".to_owned()));
        }
    }
}

struct ErrorField(Option<String>);

impl tracing::field::Visit for ErrorField {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "error" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[tokio::test]
async fn jwks_down_longer_than_refresh() {
    let _serial = SERIAL.lock().await;
    // Everything runs on this thread, so a thread-local subscriber sees the
    // key source's background refreshes.
    let warnings = FetchWarnings::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));

    let key = EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!("r1");
    let (idp, base) = idp().await;
    idp.set("/jwks", idp::Answer::Json(json!({ "keys": [jwk] }), None));
    let mut proxy = Proxy::start(base.trim_start_matches("http://")).await;

    // No bound applies to the interval used when the server sends no
    // max-age (the bounds only clamp a max-age), so refresh often.
    let interval = Duration::from_millis(200);
    let source = KeySource::jwks(format!("http://{}/jwks", proxy.addr()))
        .refresh_interval(interval)
        .timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let auth = build(
        JwtAuth::builder()
            .key_source(source.clone())
            .disable_token_cache(),
    );
    let server = Arc::new(serve(auth).await);
    // Signing RS256 is slow: sign a set of tokens once and send them in turn.
    let tokens: Arc<Vec<(String, String)>> = Arc::new(
        (0..16)
            .map(|i| {
                let sub = format!("jwks-{i}");
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some("r1".to_owned());
                let token = mint_with(&header, &claims(&sub), &key);
                (sub, token)
            })
            .collect(),
    );

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (server, tokens, stop) =
                (Arc::clone(&server), Arc::clone(&tokens), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut i = client;
                while !stop.load(Ordering::SeqCst) {
                    let (sub, token) = &tokens[i % tokens.len()];
                    outcomes.push(request(&server, sub, token, start).await);
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                outcomes
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let hits_before = idp.hits("/jwks");
    assert!(
        hits_before >= 3,
        "the key set is refreshed every {interval:?}: {hits_before} fetches in the first second"
    );

    proxy.set(Mode::Down).await;
    let down_at = start.elapsed();
    let down_since = Instant::now();
    let warnings_at_down = warnings.count();
    // A refresh asked for by hand fails at once, keeping the keys.
    let asked = Instant::now();
    let manual = source.refresh().await;
    let manual_took = asked.elapsed();
    let manual_error = manual.expect_err("the JWKS endpoint is down").to_string();
    assert!(
        manual_took < Duration::from_secs(1),
        "a refresh with the endpoint down took {manual_took:?}"
    );
    let down_for = interval * 8;
    tokio::time::sleep_until(down_since + down_for).await;
    let hits_while_down = idp.hits("/jwks") - hits_before;
    let failed = warnings.since(warnings_at_down);
    proxy.set(Mode::Forward).await;
    let up_at = start.elapsed();

    // The refreshes go on: a fetch reaches the endpoint within an interval or so.
    let refetched_after = loop {
        if idp.hits("/jwks") > hits_before {
            break start.elapsed() - up_at;
        }
        assert!(
            start.elapsed() - up_at < interval + Duration::from_secs(2),
            "no fetch reached the endpoint within {:?} of it coming back",
            interval + Duration::from_secs(2)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.unwrap());
    }
    let hits_after = idp.hits("/jwks") - hits_before;

    let unanswered: Vec<_> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    assert!(unanswered.is_empty(), "{:?}", unanswered.first());
    let not_ok: Vec<_> = outcomes.iter().filter(|o| o.status != 200).collect();
    assert!(
        not_ok.is_empty(),
        "the cached keys must keep verifying tokens: {} of {} answers were not 200, e.g. {:?}",
        not_ok.len(),
        outcomes.len(),
        not_ok.first()
    );
    let while_down = outcomes
        .iter()
        .filter(|o| o.sent >= down_at && o.answered() <= up_at)
        .count();
    assert!(
        while_down >= 50,
        "only {while_down} requests while the endpoint was down"
    );
    assert_eq!(
        hits_while_down, 0,
        "a fetch reached the endpoint while it was down"
    );
    // The schedule runs on during the outage: about one failed fetch per interval.
    let intervals = usize::try_from(down_for.as_millis() / interval.as_millis()).unwrap();
    assert!(
        failed.len() > intervals / 2,
        "{} failed fetches logged in {intervals} refresh intervals of outage",
        failed.len()
    );
    let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
    for error in &failed {
        *errors.entry(error.as_str()).or_default() += 1;
    }

    eprintln!(
        "REPORT jwks down {:.1?} ({intervals} refresh intervals of {interval:?}): {} requests by 4 clients, {} \
         ({while_down} while down); fetches that reached the endpoint: {hits_before} in the first {down_at:.1?}, \
         {hits_while_down} while down, {hits_after} after; failed fetch attempts while down: {} \
         (1 asked by hand, failing in {manual_took:.1?} with {manual_error:?}; errors: {errors:?}); \
         first fetch {refetched_after:.0?} after the endpoint came back",
        up_at - down_at,
        outcomes.len(),
        by_status(&outcomes),
        failed.len(),
    );
}

/// A refresh interval of zero is refused by `start` like a zero refetch
/// window or timeout, or else fetches stay paced: it must not turn the
/// schedule into a loop that fetches the key set as fast as the endpoint
/// answers (the interval is used as it is when the server sends no max-age).
#[tokio::test]
async fn a_refresh_interval_that_would_flood_the_jwks_endpoint_is_refused() {
    let _serial = SERIAL.lock().await;
    let (idp, base) = idp().await;
    let url = format!("{base}/jwks");
    let cases = [
        (
            "refresh_interval(0)",
            KeySource::jwks(&url).refresh_interval(Duration::ZERO),
        ),
        (
            "refresh_interval(1 ms)",
            KeySource::jwks(&url).refresh_interval(Duration::from_millis(1)),
        ),
        // A server's `max-age=0` would be clamped to this lower bound.
        (
            "refresh_bounds(0, 1 h)",
            KeySource::jwks(&url).refresh_bounds(Duration::ZERO, Duration::from_secs(3600)),
        ),
    ];
    for (name, builder) in cases {
        let Err(e) = builder.start().await else {
            panic!("{name} was accepted");
        };
        assert!(e.to_string().contains("refresh_interval"), "{name}: {e}");
    }
    assert_eq!(idp.hits("/jwks"), 0, "a refused key source fetched");
}

// ---------------------------------------------------------------------------
// A store that answers slowly
// ---------------------------------------------------------------------------

/// `clients` clients each sending `each` requests in turn, every one for a
/// subject never seen before.
async fn burst(server: &Arc<TestServer>, clients: usize, each: usize) -> Vec<Outcome> {
    let start = Instant::now();
    let run = unique("slow");
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let server = Arc::clone(server);
            let run = run.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in 0..each {
                    let sub = format!("{run}-{client}-{i}");
                    outcomes.push(request(&server, &sub, &hs256(&claims(&sub)), start).await);
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn slow_store_within_timeout() {
    let url = redis_url();
    let _serial = SERIAL.lock().await;
    let (mut proxy, store) = redis_via_proxy(&url).await;

    // Slower than usual, but within the store timeout: every request passes.
    let (delay, timeout) = (Duration::from_millis(150), Duration::from_millis(500));
    proxy.set(Mode::Delayed(delay)).await;
    let cache = RevocationCache::builder(store.clone())
        .ttl(TTL)
        .store_timeout(timeout)
        .build()
        .unwrap();
    let server = Arc::new(revocation_server(cache).await);
    let within = burst(&server, 8, 5).await;
    assert_answered_200_or_503(&within, "slow store within the timeout");
    assert!(
        within.iter().all(|o| o.status == 200),
        "a store answering in {delay:?} with a timeout of {timeout:?}: {}",
        by_status(&within)
    );
    let (within_p50, within_max) = p50_max(&within.iter().collect::<Vec<_>>());
    assert!(
        within_p50 >= delay,
        "the store's answers were not delayed (p50 {within_p50:?}): is the proxy in the path?"
    );
    assert!(
        within_max < timeout,
        "a request took {within_max:?}, beyond the store timeout {timeout:?}"
    );

    // Slower than the timeout: 503 once the timeout has passed, without
    // waiting for the store; after that first failure, the other misses
    // are answered at once rather than each waiting for the timeout.
    let (slow_delay, short_timeout) = (Duration::from_secs(1), Duration::from_millis(300));
    let margin = Duration::from_millis(400);
    proxy.set(Mode::Delayed(slow_delay)).await;
    let cache = RevocationCache::builder(store)
        .ttl(TTL)
        .store_timeout(short_timeout)
        .build()
        .unwrap();
    let server = Arc::new(revocation_server(cache).await);
    let beyond = burst(&server, 8, 4).await;
    assert_answered_200_or_503(&beyond, "slow store beyond the timeout");
    for outcome in &beyond {
        assert_eq!(
            outcome.status, 503,
            "a store answering in {slow_delay:?} with a timeout of {short_timeout:?}: {outcome:?}"
        );
        assert!(
            outcome.took < short_timeout + margin,
            "a 503 should come by the {short_timeout:?} timeout, well before the store's \
             {slow_delay:?}: {outcome:?}"
        );
    }
    let waited = beyond.iter().filter(|o| o.took >= short_timeout).count();
    assert!(
        waited >= 1,
        "no request waited for the store timeout: was the store asked at all?"
    );
    assert!(
        waited <= 8,
        "{waited} requests waited for the timeout: after the first failures, misses should fail at once"
    );
    let (beyond_p50, beyond_max) = p50_max(&beyond.iter().collect::<Vec<_>>());

    // The store answers promptly again: requests pass again.
    proxy.set(Mode::Forward).await;
    let back = Instant::now();
    let recovery = loop {
        let sub = unique("slow-back");
        let outcome = request(&server, &sub, &hs256(&claims(&sub)), back).await;
        assert_answered_200_or_503(std::slice::from_ref(&outcome), "store fast again");
        if outcome.status == 200 {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < slow_delay + Duration::from_secs(2),
            "still 503 {:?} after the store became fast again",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    eprintln!(
        "REPORT slow redis: answers delayed {delay:?}, store timeout {timeout:?}: {} requests by 8 clients, {}, \
         latency p50 {within_p50:.1?} max {within_max:.1?}; answers delayed {slow_delay:?}, store timeout \
         {short_timeout:?}: {} requests, {}, latency p50 {beyond_p50:.1?} max {beyond_max:.1?}; \
         200 again {recovery:.1?} after the delay was removed",
        within.len(),
        by_status(&within),
        beyond.len(),
        by_status(&beyond),
    );
}
