//! The `gateway` example against a real upstream on loopback: only verified
//! requests reach it, with the identity headers set from the token and the
//! client's own copies removed, `Authorization` stripped or forwarded as
//! configured, and bodies streamed both ways without buffering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;
#[path = "../examples/gateway.rs"]
mod gateway;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_layer::JwtAuth;
use bytes::Bytes;
use common::{SECRET, TestServer, claims, claims_with, hs256, now};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// A real upstream on loopback. `/echo` streams the request body back as it
/// arrives; anything else answers, as JSON, the method, path, headers and
/// body length it received. Counts the requests that reached it.
async fn upstream() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move { Ok::<_, Infallible>(answer(request).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

async fn answer(
    request: Request<Incoming>,
) -> Response<http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>> {
    if request.uri().path() == "/echo" {
        return Response::new(request.into_body().boxed_unsync());
    }
    let mut headers = serde_json::Map::new();
    for name in request.headers().keys() {
        let values: Vec<Value> = request
            .headers()
            .get_all(name)
            .iter()
            .map(|v| Value::from(v.to_str().unwrap_or("<binary>")))
            .collect();
        headers.insert(name.as_str().to_owned(), Value::Array(values));
    }
    let method = request.method().to_string();
    let path = request.uri().to_string();
    let length = request
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .len();
    let body = json!({ "method": method, "path": path, "headers": headers, "length": length });
    Response::new(
        http_body_util::Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    )
}

/// Starts the gateway in front of `upstream` with the given variables
/// (`AUTH_UPSTREAM` is set to the upstream).
async fn gateway(upstream: &str, vars: &[(&str, &str)]) -> TestServer {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([("AUTH_UPSTREAM".to_owned(), upstream.to_owned())])
        .collect();
    let config = gateway::Config::from_lookup(|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .claims::<Value>()
        .build()
        .unwrap()
        .with_responder(gateway::GatewayResponder);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gateway::serve(listener, auth, config));
    TestServer::new(base)
}

fn seen(reply: &common::Reply) -> Value {
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

#[tokio::test]
async fn only_verified_requests_reach_the_upstream() {
    let (upstream, hits) = upstream().await;
    let server = gateway(&upstream, &[]).await;

    server.anonymous("/orders").await.assert_missing();
    let expired = {
        let t = now() - 3600;
        hs256(&json!({ "sub": "alice", "iat": t - 60, "exp": t }))
    };
    server
        .bearer_at("/orders", &expired)
        .await
        .assert_invalid("token_expired");
    server
        .bearer_at("/orders", "not-a-jwt")
        .await
        .assert_invalid("token_malformed");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a rejected request reached the upstream"
    );

    let reply = server
        .bearer_at("/orders/7?include=items", &hs256(&claims("alice")))
        .await;
    let body = seen(&reply);
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/orders/7?include=items");
    assert_eq!(body["headers"]["x-auth-subject"], json!(["alice"]));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn spoofed_identity_headers_are_removed_and_authorization_is_stripped_by_default() {
    let (upstream, _) = upstream().await;
    let server = gateway(
        &upstream,
        &[(
            "AUTH_CLAIM_HEADERS",
            "sub=x-auth-subject, scope=X-Auth-Scope, tenant=x-auth-tenant",
        )],
    )
    .await;
    let token = hs256(&claims_with(
        "alice",
        json!({ "scope": "orders:read", "tenant": 7 }),
    ));
    let reply = common::send(
        server
            .get("/orders")
            .header("authorization", format!("Bearer {token}"))
            .header("x-auth-subject", "admin")
            .header("X-Auth-Subject", "root")
            .header("x-AUTH-scope", "orders:write admin")
            .header("x-auth-other", "kept")
            .header("connection", "x-hop")
            .header("x-hop", "dropped"),
    )
    .await;
    let headers = &seen(&reply)["headers"];
    assert_eq!(headers["x-auth-subject"], json!(["alice"]), "{headers}");
    assert_eq!(headers["x-auth-scope"], json!(["orders:read"]), "{headers}");
    assert_eq!(headers["x-auth-tenant"], json!(["7"]), "{headers}");
    assert_eq!(headers["x-auth-other"], json!(["kept"]));
    assert!(headers.get("authorization").is_none(), "{headers}");
    assert!(headers.get("x-hop").is_none(), "{headers}");
    assert_eq!(
        headers["host"],
        json!([upstream.trim_start_matches("http://")])
    );

    // A claim the token lacks leaves its header absent, even when the client sent one.
    let reply = common::send(
        server
            .get("/orders")
            .header("authorization", format!("Bearer {}", hs256(&claims("bob"))))
            .header("x-auth-tenant", "1"),
    )
    .await;
    let headers = &seen(&reply)["headers"];
    assert_eq!(headers["x-auth-subject"], json!(["bob"]));
    assert!(headers.get("x-auth-tenant").is_none(), "{headers}");
    assert!(headers.get("x-auth-scope").is_none(), "{headers}");
}

#[tokio::test]
async fn authorization_is_forwarded_when_configured() {
    let (upstream, _) = upstream().await;
    let server = gateway(&upstream, &[("AUTH_FORWARD_AUTHORIZATION", "true")]).await;
    let token = hs256(&claims("alice"));
    let headers = seen(&server.bearer_at("/", &token).await)["headers"].clone();
    assert_eq!(headers["authorization"], json!([format!("Bearer {token}")]));
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    // A port that was just free: nothing listens there any more.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let server = gateway(&closed, &[]).await;
    let reply = server.bearer_at("/", &hs256(&claims("alice"))).await;
    assert_eq!(reply.status, 502, "{reply:?}");
    assert_eq!(reply.json()["error"], "gateway_error");
}

/// Request and response bodies are streamed: the client sends the next
/// chunk only after the upstream's echo of the previous one came back
/// through the gateway, which would never happen if the gateway buffered
/// either body. Then a large body is streamed through whole.
#[tokio::test]
async fn bodies_are_streamed_both_ways_without_buffering() {
    let (upstream, _) = upstream().await;
    let server = gateway(&upstream, &[]).await;
    let authority = server.base().trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);

    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
    let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    let request = Request::post("/echo")
        .header("host", &authority)
        .header(
            "authorization",
            format!("Bearer {}", hs256(&claims("alice"))),
        )
        .body(body)
        .unwrap();
    let limit = Duration::from_secs(60);

    // Ping-pong: one chunk out, the same chunk back, ten times.
    tx.send(Ok(Frame::data(Bytes::from_static(b"chunk-0"))))
        .await
        .unwrap();
    let response = timeout(limit, sender.send_request(request))
        .await
        .expect("the response starts before the request body ends")
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut echo = response.into_body();
    let mut received = Vec::new();
    for i in 0..10 {
        if i > 0 {
            tx.send(Ok(Frame::data(Bytes::from(format!("chunk-{i}")))))
                .await
                .unwrap();
        }
        let expected = format!("chunk-{i}");
        while received.len() < expected.len() {
            let frame = timeout(limit, echo.frame())
                .await
                .expect("the echo of a chunk arrives while the request is still open")
                .expect("the body goes on")
                .unwrap();
            if let Ok(data) = frame.into_data() {
                received.extend_from_slice(&data);
            }
        }
        assert_eq!(received, expected.as_bytes());
        received.clear();
    }

    // Then 64 MiB in 256 KiB chunks, read back while it is being sent.
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: usize = 256;
    let sending = tokio::spawn(async move {
        for i in 0..CHUNKS {
            let chunk = Bytes::from(vec![u8::try_from(i % 251).unwrap(); CHUNK]);
            tx.send(Ok(Frame::data(chunk))).await.unwrap();
        }
    });
    let mut total = 0_usize;
    let mut checksum = 0_u64;
    while let Some(frame) = timeout(limit, echo.frame())
        .await
        .expect("the echo keeps flowing")
    {
        if let Ok(data) = frame.unwrap().into_data() {
            checksum += data.iter().map(|&b| u64::from(b)).sum::<u64>();
            total += data.len();
        }
    }
    sending.await.unwrap();
    assert_eq!(total, CHUNK * CHUNKS);
    let expected: u64 = (0..CHUNKS).map(|i| (i % 251) as u64 * CHUNK as u64).sum();
    assert_eq!(checksum, expected);
}

/// Sends `GET path_and_query` with a valid token exactly as written: no
/// client-side clean-up of dot segments, which reqwest (like browsers)
/// would do. Answers the status and the JSON body (`null` if none).
async fn raw_get(server: &TestServer, path_and_query: &str) -> (u16, Value) {
    let authority = server.base().trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get(path_and_query)
        .header("host", &authority)
        .header(
            "authorization",
            format!("Bearer {}", hs256(&claims("alice"))),
        )
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Regression: upstreams behind nginx, CGI or WSGI read `X_Auth_Subject`
/// as `X-Auth-Subject`, so a client could set its own identity by spelling
/// the header with underscores.
#[tokio::test]
async fn identity_headers_spelled_with_underscores_are_removed_too() {
    let (upstream, _) = upstream().await;
    let server = gateway(
        &upstream,
        &[(
            "AUTH_CLAIM_HEADERS",
            "sub=x-auth-subject, scope=x_auth_scope",
        )],
    )
    .await;
    let token = hs256(&claims_with("alice", json!({ "scope": "orders:read" })));
    let reply = common::send(
        server
            .get("/orders")
            .header("authorization", format!("Bearer {token}"))
            .header("X_Auth_Subject", "admin")
            .header("x_auth-subject", "root")
            .header("x-auth_SUBJECT", "root")
            .header("x-auth-scope", "orders:write admin")
            .header("x_other", "kept"),
    )
    .await;
    let headers = seen(&reply)["headers"].as_object().unwrap().clone();
    let spellings = |wanted: &str| -> Vec<(String, Value)> {
        headers
            .iter()
            .filter(|(name, _)| name.replace('_', "-") == wanted)
            .map(|(name, values)| (name.clone(), values.clone()))
            .collect()
    };
    assert_eq!(
        spellings("x-auth-subject"),
        [("x-auth-subject".to_owned(), json!(["alice"]))],
        "{headers:?}"
    );
    assert_eq!(
        spellings("x-auth-scope"),
        [("x_auth_scope".to_owned(), json!(["orders:read"]))],
        "{headers:?}"
    );
    assert_eq!(headers["x_other"], json!(["kept"]));
}

/// Regression: the client's `X-Forwarded-*` and `Forwarded` headers went
/// through as they were, so a client could pose as any address, scheme or
/// host to an upstream that logs or trusts them.
#[tokio::test]
async fn forwarding_headers_are_the_gateway_s_unless_the_peer_is_a_trusted_proxy() {
    let (upstream, _) = upstream().await;
    let token = hs256(&claims("alice"));
    let spoofed = |server: &TestServer| {
        server
            .get("/orders")
            .header("authorization", format!("Bearer {token}"))
            .header("x-forwarded-for", "203.0.113.7")
            .header("X-Forwarded-For", "198.51.100.1")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "app.example")
            .header("forwarded", "for=203.0.113.7;proto=https;host=app.example")
            .header("x_forwarded_for", "192.0.2.1")
            .header("X_Forwarded-Host", "evil.example")
            .header("x-real-ip", "203.0.113.7")
    };

    // No trusted proxy (the default), and a list that does not hold the
    // peer: the client's values are replaced.
    for trusted in [None, Some("10.0.0.0/8, ::1, 192.0.2.1")] {
        let vars: Vec<(&str, &str)> = trusted
            .map(|list| ("AUTH_TRUSTED_PROXIES", list))
            .into_iter()
            .collect();
        let server = gateway(&upstream, &vars).await;
        let host = server.base().trim_start_matches("http://").to_owned();
        for request in [
            spoofed(&server),
            server
                .get("/orders")
                .header("authorization", format!("Bearer {token}")),
        ] {
            let headers = seen(&common::send(request).await)["headers"].clone();
            assert_eq!(
                headers["x-forwarded-for"],
                json!(["127.0.0.1"]),
                "{headers}"
            );
            assert_eq!(headers["x-forwarded-proto"], json!(["http"]), "{headers}");
            assert_eq!(headers["x-real-ip"], json!(["127.0.0.1"]), "{headers}");
            assert_eq!(headers["x-forwarded-host"], json!([host]), "{headers}");
            assert_eq!(
                headers["forwarded"],
                json!([format!("for=127.0.0.1;host=\"{host}\";proto=http")]),
                "{headers}"
            );
            for name in ["x_forwarded_for", "x_forwarded-host"] {
                assert!(headers.get(name).is_none(), "{name}: {headers}");
            }
        }
    }

    // The peer is a trusted proxy: its chain goes on, with the peer added.
    let server = gateway(
        &upstream,
        &[("AUTH_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")],
    )
    .await;
    let host = server.base().trim_start_matches("http://").to_owned();
    let headers = seen(&common::send(spoofed(&server)).await)["headers"].clone();
    assert_eq!(
        headers["x-forwarded-for"],
        json!(["203.0.113.7, 198.51.100.1, 127.0.0.1"]),
        "{headers}"
    );
    assert_eq!(headers["x-forwarded-proto"], json!(["https"]), "{headers}");
    assert_eq!(headers["x-real-ip"], json!(["203.0.113.7"]), "{headers}");
    assert_eq!(
        headers["x-forwarded-host"],
        json!(["app.example"]),
        "{headers}"
    );
    assert_eq!(
        headers["forwarded"],
        json!([format!(
            "for=203.0.113.7;proto=https;host=app.example, for=127.0.0.1;host=\"{host}\";proto=http"
        )]),
        "{headers}"
    );
    assert!(headers.get("x_forwarded_for").is_none(), "{headers}");
}

/// Regression: `/../admin` was joined to the upstream's prefix as
/// `/api/../admin`, which an upstream that resolves dot segments serves
/// as `/admin`, outside the prefix the gateway was meant to expose.
#[tokio::test]
async fn dot_segments_are_refused_so_requests_stay_under_the_upstream_prefix() {
    let (upstream, hits) = upstream().await;
    let server = gateway(&format!("{upstream}/api"), &[]).await;
    for path in [
        "/../admin",
        "/..",
        "/orders/../../admin",
        "/./admin",
        "/%2e%2e/admin",
        "/%2E%2E/admin",
        "/.%2e/admin",
        "/%2e./admin",
        "/%2e/admin",
        "/..%2fadmin",
        "/%2e%2e%2Fadmin",
        "/orders/..%5cadmin",
        "/../admin?x=1",
    ] {
        let (status, body) = raw_get(&server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"], "invalid_request", "{path}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains("dot segment")),
            "{path}: {body}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a request with a dot segment reached the upstream"
    );

    // Dots inside a segment and encoded slashes between ordinary names pass.
    for (path, upstream_path) in [
        ("/orders/7", "/api/orders/7"),
        ("/.well-known/jwks.json", "/api/.well-known/jwks.json"),
        ("/files/a..b", "/api/files/a..b"),
        ("/projects/group%2Fproject", "/api/projects/group%2Fproject"),
    ] {
        let (status, body) = raw_get(&server, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["path"], upstream_path);
    }
}
