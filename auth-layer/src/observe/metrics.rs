//! Counters and histograms through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`): install any recorder (e.g.
//! `metrics-exporter-prometheus`) and the layer reports to it. Without a
//! recorder every recording is a no-op.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `auth_requests_total` | counter | `outcome` (`allowed`, `anonymous`, `rejected`; `forbidden` for a guard's 403 after the layer allowed the request), `reason` (the [`ErrorKind::code`], on rejections and refusals) |
//! | `auth_verify_duration_seconds` | histogram | — (a full verification: a verified-token cache miss, or every token with the cache off) |
//! | `auth_token_cache_total` | counter | `result` (`hit`, `miss`) |
//! | `auth_revocation_cache_total` | counter | `result` (`hit`, `miss`) |
//! | `auth_store_duration_seconds` | histogram | `store` (`revocation`, `session`), `op` |
//! | `auth_store_errors_total` | counter | `store`, `op`, `error` (`timeout`, `unavailable`) |
//! | `auth_jwks_fetches_total` | counter | `result` (`ok`, `error`) |
//! | `auth_refresh_total` | counter | `outcome` (`rotated`, `retried`, `duplicate`, `reuse_detected`, or the refusal's code: `refresh_invalid`, `session_expired`, `session_idle`, `session_revoked`, `reauth_required`, `dpop_proof_required`, `dpop_key_mismatch`, `store_unavailable`) |
//!
//! A revocation store read is recorded under the concern that made it
//! (`op`: `subject`, `session`, `jti_denied`); a token missing several
//! reads their records in one call, recorded under the first of them.
//!
//! The per-request recordings (requests, caches) use keys built once, so
//! the hot path allocates nothing for them. Call [`describe`] after
//! installing the recorder to give every metric its help text.
//!
//! ```
//! use std::convert::Infallible;
//! use std::task::{Context, Waker};
//!
//! use auth_layer::JwtAuth;
//! use http::{Request, Response};
//! use metrics_exporter_prometheus::PrometheusBuilder;
//! use tower::{Layer, Service, service_fn};
//!
//! // A service would install it globally: `PrometheusBuilder::new().install_recorder()`.
//! let recorder = PrometheusBuilder::new().build_recorder();
//! let prometheus = recorder.handle();
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let mut svc = auth.layer(service_fn(|_: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(String::new()))
//! }));
//! metrics::with_local_recorder(&recorder, || {
//!     auth_layer::observe::metrics::describe();
//!     // The layer decides in `call`, before any await.
//!     let _ = svc.poll_ready(&mut Context::from_waker(Waker::noop()));
//!     let _ = svc.call(Request::new(()));
//! });
//! let text = prometheus.render();
//! assert!(text.contains(r#"auth_requests_total{outcome="rejected",reason="token_missing"} 1"#));
//! ```

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use metrics::{Key, Label, Level, Metadata, Unit};

use crate::error::ErrorKind;
use crate::observe::audit::Outcome;

/// Requests by outcome and reason.
pub const REQUESTS: &str = "auth_requests_total";
/// Time of a full verification (signature and claims): a verified-token
/// cache miss, or every token with the cache off.
pub const VERIFY_DURATION: &str = "auth_verify_duration_seconds";
/// Verified-token cache lookups by result.
pub const TOKEN_CACHE: &str = "auth_token_cache_total";
/// Revocation-cache lookups by result.
pub const REVOCATION_CACHE: &str = "auth_revocation_cache_total";
/// Time of one store call (revocation or session store).
pub const STORE_DURATION: &str = "auth_store_duration_seconds";
/// Failed store calls (timeout or unavailable).
pub const STORE_ERRORS: &str = "auth_store_errors_total";
/// JWKS fetches by result.
pub const JWKS_FETCHES: &str = "auth_jwks_fetches_total";
/// Refresh-token exchanges by outcome.
pub const REFRESHES: &str = "auth_refresh_total";

static METADATA: Metadata<'static> = Metadata::new("auth_layer", Level::INFO, Some(module_path!()));

static ALLOWED_LABELS: [Label; 1] = [Label::from_static_parts("outcome", "allowed")];
static ANONYMOUS_LABELS: [Label; 1] = [Label::from_static_parts("outcome", "anonymous")];
static HIT: [Label; 1] = [Label::from_static_parts("result", "hit")];
static MISS: [Label; 1] = [Label::from_static_parts("result", "miss")];

static ALLOWED: Key = Key::from_static_parts(REQUESTS, &ALLOWED_LABELS);
static ANONYMOUS: Key = Key::from_static_parts(REQUESTS, &ANONYMOUS_LABELS);
static REJECTED: LazyLock<Vec<Key>> = LazyLock::new(|| by_reason("rejected"));
static FORBIDDEN: LazyLock<Vec<Key>> = LazyLock::new(|| by_reason("forbidden"));
static VERIFY: Key = Key::from_static_name(VERIFY_DURATION);
static TOKEN_HIT: Key = Key::from_static_parts(TOKEN_CACHE, &HIT);
static TOKEN_MISS: Key = Key::from_static_parts(TOKEN_CACHE, &MISS);
static REVOCATION_HIT: Key = Key::from_static_parts(REVOCATION_CACHE, &HIT);
static REVOCATION_MISS: Key = Key::from_static_parts(REVOCATION_CACHE, &MISS);

/// One request key per [`ErrorKind`], in its order, for `outcome`.
fn by_reason(outcome: &'static str) -> Vec<Key> {
    ErrorKind::ALL
        .iter()
        .map(|kind| {
            Key::from_parts(
                REQUESTS,
                vec![
                    Label::from_static_parts("outcome", outcome),
                    Label::new("reason", kind.code()),
                ],
            )
        })
        .collect()
}

fn increment(key: &Key) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA)).increment(1);
}

/// Gives every metric of the layer its unit and help text in the installed
/// recorder. Call it once, after installing the recorder.
pub fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        Unit::Count,
        "Requests decided by the JWT layer, by outcome and rejection reason."
    );
    metrics::describe_histogram!(
        VERIFY_DURATION,
        Unit::Seconds,
        "Time of a full token verification (signature and claims): verified-token cache misses, or every token with the cache off."
    );
    metrics::describe_counter!(
        TOKEN_CACHE,
        Unit::Count,
        "Verified-token cache lookups, by result."
    );
    metrics::describe_counter!(
        REVOCATION_CACHE,
        Unit::Count,
        "Revocation cache lookups (one per request with revocation on), by result."
    );
    metrics::describe_histogram!(
        STORE_DURATION,
        Unit::Seconds,
        "Time of one revocation or session store call."
    );
    metrics::describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Store calls that failed or timed out."
    );
    metrics::describe_counter!(JWKS_FETCHES, Unit::Count, "JWKS fetches, by result.");
    metrics::describe_counter!(
        REFRESHES,
        Unit::Count,
        "Refresh-token exchanges, by outcome (reuse_detected revokes the session)."
    );
}

pub(crate) fn request(outcome: Outcome, reason: Option<ErrorKind>) {
    match (outcome, reason) {
        (Outcome::Allowed, _) => increment(&ALLOWED),
        (Outcome::Anonymous, _) => increment(&ANONYMOUS),
        (Outcome::Rejected, Some(kind)) => {
            if let Some(key) = REJECTED.get(kind as usize) {
                increment(key);
            }
        }
        (Outcome::Forbidden, Some(kind)) => {
            if let Some(key) = FORBIDDEN.get(kind as usize) {
                increment(key);
            }
        }
        (Outcome::Rejected | Outcome::Forbidden, None) => {}
    }
}

pub(crate) fn timer() -> Option<Instant> {
    Some(Instant::now())
}

pub(crate) fn verify_duration(elapsed: Duration) {
    metrics::with_recorder(|recorder| recorder.register_histogram(&VERIFY, &METADATA))
        .record(elapsed.as_secs_f64());
}

pub(crate) fn token_cache(hit: bool) {
    increment(if hit { &TOKEN_HIT } else { &TOKEN_MISS });
}

pub(crate) fn revocation_cache(hit: bool) {
    increment(if hit {
        &REVOCATION_HIT
    } else {
        &REVOCATION_MISS
    });
}

/// One store call of `store` (`revocation`, `session`): its duration, and
/// its error (`timeout`, `unavailable`) if it failed.
pub(crate) fn store_call(
    store: &'static str,
    op: &'static str,
    elapsed: Duration,
    error: Option<&'static str>,
) {
    metrics::histogram!(STORE_DURATION, "store" => store, "op" => op).record(elapsed.as_secs_f64());
    if let Some(error) = error {
        metrics::counter!(STORE_ERRORS, "store" => store, "op" => op, "error" => error)
            .increment(1);
    }
}

#[cfg_attr(
    not(feature = "jwks"),
    expect(dead_code, reason = "recorded by key sources (feature `jwks`)")
)]
pub(crate) fn jwks_fetch(result: &'static str) {
    metrics::counter!(JWKS_FETCHES, "result" => result).increment(1);
}

pub(crate) fn refresh(outcome: &'static str) {
    metrics::counter!(REFRESHES, "outcome" => outcome).increment(1);
}
