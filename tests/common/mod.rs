//! What the end-to-end tests share, compiled once as this package's
//! library (`auth_tests`): test keys, token minting (valid and hostile), a
//! real axum server on an ephemeral loopback port, a real HTTP client with
//! assertions on RFC 6750 rejections, and, in the modules below, identity
//! providers, stores and their faults, and the services the store tests
//! use.
#![allow(
    missing_docs,
    missing_debug_implementations,
    reason = "test support: each helper says what it is for where it helps, and none is printed"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code, linked only into the tests: a failed step fails the test, as in a #[test] fn"
)]

pub mod actix;
pub mod dpop_client;
pub mod fake_store;
pub mod grpc;
pub mod idp;
pub mod logs;
pub mod matrix;
pub mod proxy;
pub mod revocation_contract;
pub mod servers;
pub mod services;
pub mod session_scenarios;

use std::fmt;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_extract::Claims;
use auth_layer::keys::{Algorithm, algorithm_name};
use auth_layer::{JwtAuth, JwtAuthBuilder};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

/// The HMAC secret of the HS* tests (at least 32 bytes, as the layer demands).
/// Long enough for HS512 (64 bytes; RFC 7518 section 3.2).
pub const SECRET: &str = "end-to-end-test-secret-of-at-least-64-bytes-so-that-hs512-is-allowed";

/// Every algorithm the layer supports, with its JWA name.
pub const ALGORITHMS: [(&str, Algorithm); 12] = [
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

// ---------------------------------------------------------------------------
// Keys and time
// ---------------------------------------------------------------------------

/// The bytes of a fixture file under `tests/keys/`.
pub fn key_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("keys")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read test key {}: {e}", path.display()))
}

/// The public key (PEM) that verifies `alg`; `None` for the HMAC family.
pub fn public_pem(alg: Algorithm) -> Option<Vec<u8>> {
    let name = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
        Algorithm::ES256 => "ec_p256_public.pem",
        Algorithm::ES384 => "ec_p384_public.pem",
        Algorithm::EdDSA => "ed25519_public.pem",
        _ => "rsa_public.pem",
    };
    Some(key_file(name))
}

/// The key that signs `alg` tokens the test servers accept.
pub fn signing_key(alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(SECRET.as_bytes())
        }
        Algorithm::ES256 => {
            EncodingKey::from_ec_pem(&key_file("ec_p256_private.pem")).expect("P-256 key")
        }
        Algorithm::ES384 => {
            EncodingKey::from_ec_pem(&key_file("ec_p384_private.pem")).expect("P-384 key")
        }
        Algorithm::EdDSA => {
            EncodingKey::from_ed_pem(&key_file("ed25519_private.pem")).expect("Ed25519 key")
        }
        _ => EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).expect("RSA key"),
    }
}

/// The second RSA key, which no test server trusts.
pub fn other_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("other_rsa_private.pem")).expect("other RSA key")
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit in i64")
}

/// Claims a server accepts: `sub`, `iat` now, `exp` in ten minutes.
pub fn claims(sub: &str) -> Value {
    claims_at(sub, now())
}

/// Like [`claims`], issued at `at` (for servers on a manual clock).
pub fn claims_at(sub: &str, at: i64) -> Value {
    json!({ "sub": sub, "iat": at, "exp": at + 600 })
}

/// `claims(sub)` with `extra`'s fields added or replaced (`null` removes one).
pub fn claims_with(sub: &str, extra: Value) -> Value {
    merge(claims(sub), extra)
}

/// `base` with the fields of `extra` added or replaced; a `null` removes the field.
pub fn merge(mut base: Value, extra: Value) -> Value {
    let (Some(map), Value::Object(extra)) = (base.as_object_mut(), extra) else {
        panic!("merge expects two JSON objects");
    };
    for (k, v) in extra {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    base
}

// ---------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------

/// Builds the layer; a configuration the test gets wrong fails the test.
pub fn build(builder: JwtAuthBuilder) -> JwtAuth {
    builder
        .build()
        .unwrap_or_else(|e| panic!("the test configuration is refused: {e}"))
}

/// A layer that trusts [`SECRET`] for HS256/384/512.
pub fn hmac_auth() -> JwtAuth {
    build(JwtAuth::builder().hmac_secret(SECRET))
}

/// A layer that trusts [`SECRET`] and every public test key (RSA, P-256,
/// P-384, Ed25519), none with a `kid`.
pub fn every_key_auth() -> JwtAuth {
    build(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .public_key_pem(key_file("rsa_public.pem"))
            .public_key_pem(key_file("ec_p256_public.pem"))
            .public_key_pem(key_file("ec_p384_public.pem"))
            .public_key_pem(key_file("ed25519_public.pem")),
    )
}

// ---------------------------------------------------------------------------
// Minting tokens
// ---------------------------------------------------------------------------

/// A valid token for `alg`, signed with the key the test servers trust.
pub fn mint(alg: Algorithm, claims: &Value) -> String {
    mint_with(&Header::new(alg), claims, &signing_key(alg))
}

/// An HS256 token signed with [`SECRET`].
pub fn hs256(claims: &Value) -> String {
    mint(Algorithm::HS256, claims)
}

/// A token with this header, signed with `key` by jsonwebtoken.
pub fn mint_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("jsonwebtoken encodes the token")
}

/// base64url without padding, as JWS segments are encoded.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Three segments joined by dots, taken as given.
pub fn raw_token(header: &str, payload: &str, signature: &str) -> String {
    format!("{header}.{payload}.{signature}")
}

/// A token from literal header and payload JSON (any text, valid JSON or
/// not) with a literal, already encoded signature segment.
pub fn raw_json_token(header_json: &str, payload_json: &str, signature: &str) -> String {
    raw_token(&b64(header_json), &b64(payload_json), signature)
}

/// Signs two already encoded segments with the trusted key of `alg`, so the
/// token passes the signature check and reaches what comes after it.
pub fn sign_segments(alg: Algorithm, header_b64: &str, payload_b64: &str) -> String {
    let message = format!("{header_b64}.{payload_b64}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &signing_key(alg), alg)
        .expect("jsonwebtoken signs");
    format!("{message}.{signature}")
}

/// A correctly signed HS256 token from literal payload JSON, e.g. with
/// duplicate or oddly typed claims.
pub fn signed_payload(payload_json: &str) -> String {
    signed_json(r#"{"alg":"HS256","typ":"JWT"}"#, payload_json)
}

/// A correctly signed HS256 token from literal header and payload JSON. The
/// header should name HS256 for the signature to verify.
pub fn signed_json(header_json: &str, payload_json: &str) -> String {
    sign_segments(Algorithm::HS256, &b64(header_json), &b64(payload_json))
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// `GET /protected`: the subject, the algorithm and every claim, as JSON.
pub async fn whoami(claims: Claims) -> Json<Value> {
    let token = claims.token();
    Json(json!({
        "sub": token.subject(),
        "alg": algorithm_name(token.algorithm()),
        "kid": token.key_id(),
        "claims": token.all_claims(),
    }))
}

/// The router every verification test runs against: `GET /protected` behind `auth`.
pub fn protected_app(auth: JwtAuth) -> Router {
    Router::new()
        .route("/protected", get(whoami))
        .layer(auth.json_errors())
}

/// Serves `auth` (with JSON error bodies) on `GET /protected`.
pub async fn serve(auth: JwtAuth) -> TestServer {
    serve_router(protected_app(auth)).await
}

/// Serves `router` on 127.0.0.1 at a port the OS picks. The server lives as
/// long as the test's runtime.
pub async fn serve_router(router: Router) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("server runs") });
    TestServer::new(format!("http://{addr}"))
}

/// Serves `service` (a tower service of axum requests, e.g. a layer around
/// a `Router` or around a plain `service_fn`) as [`serve_router`] does.
pub async fn serve_service<S>(service: S) -> TestServer
where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let make_service = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
    tokio::spawn(async move {
        axum::serve(listener, make_service)
            .await
            .expect("server runs")
    });
    TestServer::new(format!("http://{addr}"))
}

/// An example's binary (`target/…/examples/NAME`), which `cargo test
/// --workspace` builds beside the tests.
pub fn example_binary(name: &str) -> PathBuf {
    let deps = std::env::current_exe().expect("the test's path");
    let binary = deps
        .parent()
        .and_then(|d| d.parent())
        .expect("the test runs from target/…/deps")
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: `cargo test --workspace` builds it (or `cargo build -p examples --example {name}`)",
        binary.display()
    );
    binary
}

/// A running server and an HTTP client for it.
pub struct TestServer {
    base: String,
    client: reqwest::Client,
}

impl TestServer {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:1234`).
    pub fn new(base: String) -> Self {
        // No proxy: the tests talk to loopback only, whatever the environment says.
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("HTTP client");
        Self { base, client }
    }

    /// The base URL, e.g. `http://127.0.0.1:1234`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A GET request to `path_and_query` (e.g. `/protected?x=1`).
    pub fn get(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path_and_query}", self.base))
    }

    /// `GET /protected` with `Authorization: Bearer <token>`.
    pub async fn bearer(&self, token: &str) -> Reply {
        self.bearer_at("/protected", token).await
    }

    /// `GET path` with `Authorization: Bearer <token>`.
    pub async fn bearer_at(&self, path: &str, token: &str) -> Reply {
        send(
            self.get(path)
                .header("authorization", format!("Bearer {token}")),
        )
        .await
    }

    /// `GET path` without credentials.
    pub async fn anonymous(&self, path: &str) -> Reply {
        send(self.get(path)).await
    }
}

/// A request for calling a tower service directly, with `Authorization:
/// Bearer <token>` if a token is given.
pub fn tower_request(token: Option<&str>) -> axum::http::Request<String> {
    let mut request = axum::http::Request::new(String::new());
    if let Some(token) = token {
        let value =
            axum::http::HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
        request.headers_mut().insert("authorization", value);
    }
    request
}

/// Sends the request and reads the whole answer.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    };
    let www_authenticate = header("www-authenticate");
    let content_type = header("content-type");
    let headers = response.headers().clone();
    let body = response.text().await.expect("a readable body");
    Reply {
        status,
        www_authenticate,
        content_type,
        headers,
        body,
    }
}

/// An HTTP answer, read whole.
pub struct Reply {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub content_type: Option<String>,
    /// Every response header.
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} www-authenticate={:?} body={:?}",
            self.status, self.www_authenticate, self.body
        )
    }
}

impl Reply {
    /// The value of header `name`, if present and ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// The `code` of a JSON rejection body, if any.
    pub fn code(&self) -> Option<String> {
        let body: Value = serde_json::from_str(&self.body).ok()?;
        body.get("code")?.as_str().map(str::to_owned)
    }

    /// Asserts a 200 from [`whoami`] for subject `sub`; returns the body.
    #[track_caller]
    pub fn assert_ok(&self, sub: &str) -> Value {
        assert_eq!(self.status, 200, "expected 200: {self:?}");
        let body = self.json();
        assert_eq!(body["sub"], sub, "{self:?}");
        body
    }

    /// Asserts the answer to a request without a token: 401 and a bare
    /// `Bearer realm="api"` challenge (RFC 6750 section 3.1: no error code).
    #[track_caller]
    pub fn assert_missing(&self) {
        assert_eq!(self.status, 401, "{self:?}");
        assert_eq!(
            self.www_authenticate.as_deref(),
            Some(r#"Bearer realm="api""#),
            "{self:?}"
        );
        assert_eq!(self.code().as_deref(), Some("token_missing"), "{self:?}");
    }

    /// Asserts an RFC 6750 rejection: the status (401 `invalid_token` or
    /// 400 `invalid_request`), a `WWW-Authenticate` challenge naming the
    /// error and the same description as the JSON body, and the body's `code`.
    #[track_caller]
    pub fn assert_rejected(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "expected {status} {code}: {self:?}");
        let error = match status {
            400 => "invalid_request",
            401 => "invalid_token",
            other => panic!("a rejection is 400 or 401, not {other}"),
        };
        let body = self.json();
        assert_eq!(body["code"], code, "{self:?}");
        assert_eq!(body["error"], error, "{self:?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json"),
            "{self:?}"
        );
        let description = body["error_description"]
            .as_str()
            .expect("error_description is a string");
        assert!(!description.is_empty(), "{self:?}");
        let expected =
            format!(r#"Bearer realm="api", error="{error}", error_description="{description}""#);
        assert_eq!(
            self.www_authenticate.as_deref(),
            Some(expected.as_str()),
            "{self:?}"
        );
    }

    /// Asserts a 401 `invalid_token` rejection with this code.
    #[track_caller]
    pub fn assert_invalid(&self, code: &str) {
        self.assert_rejected(401, code);
    }
}
