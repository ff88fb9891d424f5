//! The `server` example (same `AUTH_*` variables, `GET /protected`) with the
//! layer's metrics on `GET /metrics` (unauthenticated, Prometheus text
//! format, same address) and an audit log of every decision:
//!
//! ```sh
//! AUTH_HMAC_SECRET=a-secret-of-at-least-thirty-two-bytes! cargo run --example metrics
//! curl -s localhost:3000/protected                         # 401, token_missing
//! curl -s localhost:3000/protected -H 'authorization: Bearer x.y.z'   # 401, token_malformed
//! curl -s localhost:3000/metrics
//! ```
//!
//! After those two requests and one with a valid token, `/metrics` shows
//! (among the histograms):
//!
//! ```text
//! # HELP auth_requests_total Requests decided by the JWT layer, by outcome and rejection reason.
//! # TYPE auth_requests_total counter
//! auth_requests_total{outcome="rejected",reason="token_missing"} 1
//! auth_requests_total{outcome="rejected",reason="token_malformed"} 1
//! auth_requests_total{outcome="allowed"} 1
//!
//! # HELP auth_token_cache_total Verified-token cache lookups, by result.
//! # TYPE auth_token_cache_total counter
//! auth_token_cache_total{result="miss"} 1
//!
//! # HELP auth_revocation_cache_total Revocation cache lookups (one per request with revocation on), by result.
//! # TYPE auth_revocation_cache_total counter
//! auth_revocation_cache_total{result="miss"} 1
//! ```
//!
//! The audit hook logs each decision at `INFO` on the `audit` target, with
//! the verified subject, token id and client address (from axum's
//! `ConnectInfo`); the token itself is never logged. See
//! `auth_layer::observe::metrics` for every metric and its labels.

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use auth_extract::Claims;
use auth_layer::claims::DefaultClaims;
use auth_layer::observe::AuditEvent;
use axum::extract::ConnectInfo;
use axum::{Json, Router, routing::get};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};

async fn protected(claims: Claims) -> Json<Value> {
    Json(json!({ "sub": claims.subject(), "claims": claims.token().all_claims() }))
}

fn audit(event: &AuditEvent<'_>) {
    tracing::info!(
        target: "audit",
        outcome = %event.outcome(),
        reason = event.reason().map(|r| r.code()),
        sub = event.subject(),
        jti = event.token_id(),
        client = event.client_addr().map(tracing::field::display),
        "auth decision"
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    // The recorder first: the layer reports to whichever is installed.
    // Histograms with buckets (not summaries), so they aggregate across
    // instances: from 1 µs (a cached token) to 1 s (a store timeout).
    let recorder = PrometheusBuilder::new().set_buckets_for_metric(
        Matcher::Suffix("_seconds".to_owned()),
        &[
            1e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0,
        ],
    );
    let metrics = match recorder.and_then(PrometheusBuilder::install_recorder) {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("cannot install the metrics recorder: {e}");
            return ExitCode::FAILURE;
        }
    };
    auth_layer::observe::metrics::describe();
    tokio::spawn(upkeep(metrics.clone()));

    let configured = common::builder::<DefaultClaims>()
        .await
        .and_then(|builder| {
            builder
                .audit(audit)
                .client_addr(|_headers, extensions| {
                    extensions
                        .get::<ConnectInfo<SocketAddr>>()
                        .map(|info| info.0.ip())
                })
                .build()
                .map_err(|e| e.to_string())
        });
    let auth = match configured {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(listener) = common::bind().await else {
        return ExitCode::from(2);
    };
    let app = Router::new()
        .route("/protected", get(protected).layer(auth))
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        );
    match listener.local_addr() {
        Ok(local) => {
            println!("listening on http://{local}/protected, metrics on http://{local}/metrics")
        }
        Err(e) => eprintln!("listening (address unknown: {e})"),
    }
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
    {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Histograms keep their samples until drained: the exporter's upkeep,
/// which its own HTTP listener would run, is ours to run here.
async fn upkeep(handle: PrometheusHandle) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
