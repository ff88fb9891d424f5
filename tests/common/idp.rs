//! A stand-in identity provider on loopback: serves what a test sets per
//! path (JWKS, discovery documents, failures) and counts every hit, so a
//! test can assert what was fetched, and that some URL never was.
//!

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// What the identity provider answers on a path.
#[derive(Clone)]
pub enum Answer {
    Json(Value, Option<&'static str>),
    Status(StatusCode),
    Garbage,
    Huge,
    Slow(Duration, Value),
}

#[derive(Default)]
pub struct Idp {
    answers: Mutex<HashMap<String, Answer>>,
    hits: Mutex<HashMap<String, usize>>,
}

impl Idp {
    pub fn set(&self, path: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(path.to_owned(), answer);
    }
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn answer(State(idp): State<Arc<Idp>>, Path(path): Path<String>) -> Response {
    let path = format!("/{path}");
    *idp.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let answer = idp.answers.lock().unwrap().get(&path).cloned();
    match answer {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Answer::Json(body, cache_control)) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
            if let Some(cc) = cache_control {
                headers.insert(header::CACHE_CONTROL, cc.parse().unwrap());
            }
            (headers, body.to_string()).into_response()
        }
        Some(Answer::Status(status)) => status.into_response(),
        Some(Answer::Garbage) => "<html>not a key set</html>".into_response(),
        Some(Answer::Huge) => {
            format!("{{\"keys\":[{}]}}", "{\"kty\":\"oct\"},".repeat(200_000)).into_response()
        }
        Some(Answer::Slow(delay, body)) => {
            tokio::time::sleep(delay).await;
            body.to_string().into_response()
        }
    }
}

/// Starts an identity provider on 127.0.0.1 at a port the OS picks.
pub async fn idp() -> (Arc<Idp>, String) {
    let idp = Arc::new(Idp::default());
    let app = Router::new()
        .route("/{*path}", get(answer))
        .with_state(Arc::clone(&idp));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (idp, base)
}
