//! An authenticating reverse proxy on hyper: every request's token is
//! verified by `JwtAuth`, then the request is forwarded to `AUTH_UPSTREAM`
//! with the caller's identity in headers the upstream can trust. Bodies are
//! streamed both ways, never buffered.
//!
//! ```sh
//! AUTH_HMAC_SECRET=… AUTH_UPSTREAM=http://127.0.0.1:8081 \
//!   AUTH_CLAIM_HEADERS=sub=x-auth-subject,scope=x-auth-scope cargo run --example gateway
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_LISTEN` | address to listen on (default `127.0.0.1:3000`) |
//! | `AUTH_UPSTREAM` | where verified requests go, `http://host:port` with an optional path prefix (required) |
//! | `AUTH_CLAIM_HEADERS` | comma list of `claim=header`: each claim of the verified token is sent to the upstream in that header (default `sub=x-auth-subject`); strings as they are, numbers and booleans as text, arrays of strings joined by spaces, anything else as JSON |
//! | `AUTH_FORWARD_AUTHORIZATION` | `true` to forward the client's `Authorization` header; `false` (default) strips it |
//! | `AUTH_HMAC_SECRET`, `AUTH_PUBLIC_KEY_FILE`, `AUTH_ALGORITHMS`, `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_LEEWAY_SECS`, `AUTH_TOKEN_TYPE` | verification, as for the `server` example |
//! | `AUTH_REVOCATION_URL`, `AUTH_REVOCATION_TTL_SECS`, `AUTH_STORE_CA_FILE` | revocation, as for the `server` example |
//!
//! What the upstream receives:
//!
//! - only requests with a valid token; the others are answered by the
//!   gateway (401/400/403/503 with a JSON body, or `grpc-status` for gRPC);
//! - every header named in `AUTH_CLAIM_HEADERS` set from the token and from
//!   nothing else: a client's own `x-auth-subject` (any case, any number of
//!   times) is removed first, so identity headers cannot be spoofed;
//!   a claim the token lacks leaves its header absent;
//! - no `Authorization` unless `AUTH_FORWARD_AUTHORIZATION=true`, no
//!   hop-by-hop headers (`Connection` and the headers it names, `Keep-Alive`,
//!   `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-*`), and the
//!   upstream's `Host`.
//!
//! An upstream that cannot be reached is a 502.
#![cfg_attr(
    test,
    allow(
        dead_code,
        reason = "the tests include this file as a module and call the proxy, not main"
    )
)]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_layer::response::{JsonResponder, Rejection, Responder};
use auth_layer::{JwtAuth, VerifiedToken};
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::net::TcpListener;
use tower::Layer;

/// The body of every answer: the upstream's, streamed, or the gateway's own.
pub(crate) type Body = UnsyncBoxBody<Bytes, hyper::Error>;

/// The gateway's settings (besides the layer's).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `AUTH_UPSTREAM`
    pub(crate) upstream: Uri,
    /// `AUTH_CLAIM_HEADERS`: claim name and the header it is sent in.
    pub(crate) claim_headers: Vec<(String, HeaderName)>,
    /// `AUTH_FORWARD_AUTHORIZATION`
    pub(crate) forward_authorization: bool,
}

impl Config {
    /// Reads the settings through `lookup` (e.g. `std::env::var(..).ok()`).
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let upstream = lookup("AUTH_UPSTREAM").ok_or(
            "AUTH_UPSTREAM: not set; set it to the upstream's base URL, e.g. http://127.0.0.1:8081",
        )?;
        let upstream: Uri = upstream
            .trim()
            .parse()
            .map_err(|e| format!("AUTH_UPSTREAM: {upstream:?} is not a URL: {e}"))?;
        if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
            return Err(format!(
                "AUTH_UPSTREAM: {upstream} must be an http:// URL with a host"
            ));
        }
        let mappings = lookup("AUTH_CLAIM_HEADERS").unwrap_or_else(|| "sub=x-auth-subject".into());
        let claim_headers = parse_claim_headers(&mappings)?;
        let forward_authorization = match lookup("AUTH_FORWARD_AUTHORIZATION")
            .as_deref()
            .map(str::trim)
        {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(format!(
                    "AUTH_FORWARD_AUTHORIZATION: {other:?} is not true or false"
                ));
            }
        };
        Ok(Self {
            upstream,
            claim_headers,
            forward_authorization,
        })
    }
}

/// Parses `claim=header,claim=header` (spaces allowed around the items).
pub(crate) fn parse_claim_headers(list: &str) -> Result<Vec<(String, HeaderName)>, String> {
    let mut mappings = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((claim, name)) = item.split_once('=') else {
            return Err(format!("AUTH_CLAIM_HEADERS: {item:?} is not claim=header"));
        };
        let (claim, name) = (claim.trim(), name.trim());
        let header = HeaderName::try_from(name)
            .map_err(|_| format!("AUTH_CLAIM_HEADERS: {name:?} is not a header name"))?;
        if claim.is_empty()
            || is_hop_by_hop(&header)
            || header == header::AUTHORIZATION
            || header == header::HOST
        {
            return Err(format!(
                "AUTH_CLAIM_HEADERS: {item:?} cannot be used: name a claim and a header other than Host, Authorization or a hop-by-hop header"
            ));
        }
        mappings.push((claim.to_owned(), header));
    }
    Ok(mappings)
}

/// The answer to a rejected request: the layer's status and headers with a
/// JSON body (empty for gRPC calls).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GatewayResponder;

impl Responder<Body> for GatewayResponder {
    fn respond(&self, rejection: Rejection<'_>) -> Response<Body> {
        let response: Response<String> = JsonResponder.respond(rejection);
        response.map(full)
    }
}

/// The proxy: forwards a verified request, rewritten, to the upstream.
#[derive(Clone)]
pub(crate) struct Proxy {
    client: Client<HttpConnector, Incoming>,
    config: Arc<Config>,
}

impl Proxy {
    pub(crate) fn new(config: Config) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            client,
            config: Arc::new(config),
        }
    }

    /// The request the upstream receives.
    fn rewrite(&self, request: Request<Incoming>) -> Result<Request<Incoming>, StatusCode> {
        let (mut parts, body) = request.into_parts();
        let claims = parts.extensions.get::<VerifiedToken<Value>>().cloned();
        let Some(claims) = claims else {
            eprintln!("the gateway's proxy ran without the JwtAuth<Value> layer");
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        };
        parts.uri = upstream_uri(&self.config.upstream, &parts.uri)?;
        parts.version = Version::HTTP_11;
        let headers = &mut parts.headers;
        strip_hop_by_hop(headers);
        headers.remove(header::HOST);
        if !self.config.forward_authorization {
            headers.remove(header::AUTHORIZATION);
        }
        // Whatever the client sent under an identity header's name goes,
        // every occurrence (names are case-insensitive and normalised).
        for (_, name) in &self.config.claim_headers {
            headers.remove(name);
        }
        for (claim, name) in &self.config.claim_headers {
            if let Some(value) = claims.get(claim.as_str()).and_then(claim_header_value) {
                headers.insert(name.clone(), value);
            }
        }
        Ok(Request::from_parts(parts, body))
    }
}

impl tower::Service<Request<Incoming>> for Proxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let upstream_request = self.rewrite(request);
        let client = self.client.clone();
        Box::pin(async move {
            let request = match upstream_request {
                Ok(request) => request,
                Err(status) => return Ok(error(status, "the gateway is misconfigured")),
            };
            match client.request(request).await {
                Ok(response) => {
                    let (mut parts, body) = response.into_parts();
                    strip_hop_by_hop(&mut parts.headers);
                    Ok(Response::from_parts(parts, body.boxed_unsync()))
                }
                Err(e) => {
                    eprintln!("upstream request failed: {e}");
                    Ok(error(
                        StatusCode::BAD_GATEWAY,
                        "the upstream cannot be reached",
                    ))
                }
            }
        })
    }
}

/// Accepts connections on `listener` (HTTP/1.1 and HTTP/2) until the task
/// is dropped; each request goes through `auth`, then the proxy.
pub(crate) async fn serve(
    listener: TcpListener,
    auth: JwtAuth<Value, GatewayResponder>,
    config: Config,
) -> std::io::Result<()> {
    let service = auth.layer(Proxy::new(config));
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let connection = auto::Builder::new(TokioExecutor::new());
            if let Err(e) = connection
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}

/// `upstream` (scheme, authority, optional path prefix) joined with the
/// request's path and query.
fn upstream_uri(upstream: &Uri, request: &Uri) -> Result<Uri, StatusCode> {
    let prefix = upstream.path().trim_end_matches('/');
    let path_and_query = request.path_and_query().map_or("/", |pq| pq.as_str());
    let mut parts = upstream.clone().into_parts();
    parts.path_and_query = format!("{prefix}{path_and_query}").parse().ok();
    Uri::from_parts(parts).map_err(|_| StatusCode::BAD_REQUEST)
}

const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("proxy-connection"),
];

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || name.as_str().starts_with("proxy-")
}

/// Removes the hop-by-hop headers, including those `Connection` names
/// (RFC 9110 section 7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name))
        .cloned()
        .collect();
    for name in proxy {
        headers.remove(name);
    }
}

/// A claim as a header value: strings as they are, numbers and booleans as
/// text, arrays of strings joined by spaces, other values as JSON. A value
/// that cannot be a header (a control character) is left out.
fn claim_header_value(claim: &Value) -> Option<HeaderValue> {
    let text = match claim {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_) => claim.to_string(),
    };
    HeaderValue::from_str(&text).ok()
}

fn full(text: String) -> Body {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn error(status: StatusCode, description: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": "gateway_error", "error_description": description });
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(not(test))]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    let config = match Config::from_lookup(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let auth = match common::configure::<Value>().await {
        Ok(auth) => auth.with_responder(GatewayResponder),
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(listener) = common::bind().await else {
        return ExitCode::from(2);
    };
    match listener.local_addr() {
        Ok(local) => println!(
            "listening on http://{local}, forwarding to {}",
            config.upstream
        ),
        Err(e) => eprintln!("listening (address unknown: {e})"),
    }
    tokio::select! {
        result = serve(listener, auth, config) => {
            if let Err(e) = result {
                eprintln!("server error: {e}");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_header_mappings_are_parsed_and_checked() {
        let parsed = parse_claim_headers(" sub = X-Auth-Subject , scope=x-auth-scope,").unwrap();
        assert_eq!(
            parsed,
            [
                ("sub".to_owned(), HeaderName::from_static("x-auth-subject")),
                ("scope".to_owned(), HeaderName::from_static("x-auth-scope")),
            ]
        );
        for bad in [
            "sub",
            "sub=bad header",
            "=x-a",
            "sub=authorization",
            "sub=connection",
            "sub=proxy-x",
        ] {
            assert!(parse_claim_headers(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configuration_defaults_and_errors_name_the_variable() {
        let config = Config::from_lookup(|name| {
            (name == "AUTH_UPSTREAM").then(|| "http://127.0.0.1:9/api/".to_owned())
        })
        .unwrap();
        assert!(!config.forward_authorization);
        assert_eq!(config.claim_headers[0].1, "x-auth-subject");
        assert_eq!(
            upstream_uri(&config.upstream, &"/orders?x=1".parse().unwrap()).unwrap(),
            "http://127.0.0.1:9/api/orders?x=1"
        );
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert!(err.starts_with("AUTH_UPSTREAM"), "{err}");
        let err = Config::from_lookup(|name| match name {
            "AUTH_UPSTREAM" => Some("http://u".into()),
            "AUTH_FORWARD_AUTHORIZATION" => Some("yes".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(err.starts_with("AUTH_FORWARD_AUTHORIZATION"), "{err}");
        assert!(Config::from_lookup(|_| Some("https://u".into())).is_err());
    }

    #[test]
    fn claims_become_header_values() {
        use serde_json::json;
        let value = |v: Value| claim_header_value(&v).map(|h| h.to_str().unwrap().to_owned());
        assert_eq!(value(json!("alice")).as_deref(), Some("alice"));
        assert_eq!(value(json!(7)).as_deref(), Some("7"));
        assert_eq!(value(json!(["a", "b"])).as_deref(), Some("a b"));
        assert_eq!(value(json!({"id": 1})).as_deref(), Some(r#"{"id":1}"#));
        assert_eq!(value(json!("line\nbreak")), None);
        assert_eq!(value(Value::Null), None);
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("proxy-authorization", "Basic x"),
            ("transfer-encoding", "chunked"),
            ("x-kept", "1"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        strip_hop_by_hop(&mut headers);
        assert_eq!(
            headers.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["x-kept"]
        );
    }
}
