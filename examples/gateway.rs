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
//! | `AUTH_TRUSTED_PROXIES` | comma list of IP addresses and CIDR networks (`10.0.0.0/8`, `::1`) of proxies in front of the gateway whose `X-Forwarded-*` and `Forwarded` headers are kept and extended; default empty: no one is trusted |
//! | `AUTH_HMAC_SECRET`, `AUTH_PUBLIC_KEY_FILE`, `AUTH_ALGORITHMS`, `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_LEEWAY_SECS`, `AUTH_TOKEN_TYPE` | verification, as for the `server` example |
//! | `AUTH_REVOCATION_URL`, `AUTH_REVOCATION_TTL_SECS`, `AUTH_STORE_CA_FILE` | revocation, as for the `server` example |
//!
//! What the upstream receives:
//!
//! - only requests with a valid token; the others are answered by the
//!   gateway (401/400/403/503 with a JSON body, or `grpc-status` for gRPC);
//! - every header named in `AUTH_CLAIM_HEADERS` set from the token and from
//!   nothing else: a client's own `x-auth-subject` is removed first, in any
//!   case, any number of times and in every spelling with `_` for `-`
//!   (`X_Auth_Subject`, `x_auth-subject`), because nginx, CGI and WSGI
//!   upstreams read those as the same header; so identity headers cannot be
//!   spoofed; a claim the token lacks leaves its header absent;
//! - `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`,
//!   `X-Real-IP` and `Forwarded` (RFC 7239) written by the gateway: the client's copies (in
//!   every spelling, as above) are dropped and replaced with the peer's
//!   address, `http` (the scheme the gateway serves) and the request's
//!   `Host`, e.g. `Forwarded: for=192.0.2.7;host="api.example:3000";proto=http`
//!   (an IPv6 peer is quoted, `for="[2001:db8::7]"`). Only when the peer is
//!   in `AUTH_TRUSTED_PROXIES` are its headers kept: the peer is appended to
//!   its `X-Forwarded-For` chain and its `Forwarded` list, and its
//!   `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Real-IP` (an IP
//!   address) stay (set from this hop when it sent none);
//! - a path under the prefix of `AUTH_UPSTREAM`, always: a path with a dot
//!   segment (`.` or `..`, also percent-encoded as `%2e`, or hidden behind
//!   an encoded slash as in `..%2f` or `..%5c`) is refused with 400
//!   `invalid_request` and never forwarded. Refusing rather than resolving
//!   the segments leaves no room for the gateway and the upstream to
//!   disagree about what a path means; browsers and HTTP clients resolve
//!   dot segments before sending (RFC 3986 section 5.2.4), so only a
//!   crafted request has them. Encoded slashes between ordinary names
//!   (`group%2Fproject`) pass unchanged;
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
use std::net::{IpAddr, SocketAddr};
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
use tower::{Layer, ServiceExt as _};

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
    /// `AUTH_TRUSTED_PROXIES`
    pub(crate) trusted_proxies: Vec<IpNet>,
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
        let trusted_proxies = parse_trusted_proxies(
            lookup("AUTH_TRUSTED_PROXIES")
                .as_deref()
                .unwrap_or_default(),
        )?;
        Ok(Self {
            upstream,
            claim_headers,
            forward_authorization,
            trusted_proxies,
        })
    }

    fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(peer))
    }
}

/// An IP network: an address and the number of leading bits that must
/// match it (all of them for a single address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `192.0.2.7`, `10.0.0.0/8`, `::1` or `2001:db8::/32`.
    fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix.parse().ok().filter(|p| *p <= bits)?,
        };
        Some(Self { addr, prefix })
    }

    /// Whether `ip` is in the network. An IPv4 peer seen on an IPv6 socket
    /// (`::ffff:192.0.2.7`) counts as the IPv4 address.
    fn contains(&self, ip: IpAddr) -> bool {
        let (net, ip, bits) = match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                (u128::from(u32::from(net)), u128::from(u32::from(ip)), 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => (u128::from(net), u128::from(ip), 128),
            _ => return false,
        };
        // The bits past the prefix are shifted out; all of them for /0.
        let host_bits = bits - u32::from(self.prefix);
        (net ^ ip).checked_shr(host_bits).unwrap_or(0) == 0
    }
}

/// Parses `AUTH_TRUSTED_PROXIES`: addresses and CIDR networks, comma
/// separated (spaces allowed around the items).
pub(crate) fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            IpNet::parse(item).ok_or_else(|| {
                format!(
                    "AUTH_TRUSTED_PROXIES: {item:?} is not an IP address or a CIDR network such as 10.0.0.0/8"
                )
            })
        })
        .collect()
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
            || FORWARDING.contains(&folded(&header).as_str())
        {
            return Err(format!(
                "AUTH_CLAIM_HEADERS: {item:?} cannot be used: name a claim and a header other than Host, Authorization, a forwarding or a hop-by-hop header"
            ));
        }
        if let Some((_, other)) = mappings
            .iter()
            .find(|(_, other)| folded(other) == folded(&header))
        {
            return Err(format!(
                "AUTH_CLAIM_HEADERS: {other} and {header} are one header to upstreams that read `_` as `-`; map one claim to it"
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

    /// The request the upstream receives, or the gateway's own answer.
    fn rewrite(&self, request: Request<Incoming>) -> Result<Request<Incoming>, Refusal> {
        let (mut parts, body) = request.into_parts();
        let claims = parts.extensions.get::<VerifiedToken<Value>>().cloned();
        let peer = parts.extensions.get::<Peer>().copied();
        let (Some(claims), Some(Peer(peer))) = (claims, peer) else {
            eprintln!(
                "the gateway's proxy ran without the JwtAuth<Value> layer or without the peer address `serve` adds"
            );
            return Err(Refusal {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "gateway_error",
                description: "the gateway is misconfigured",
            });
        };
        let host = received_host(&parts.headers, &parts.uri);
        parts.uri =
            upstream_uri(&self.config.upstream, &parts.uri).map_err(|description| Refusal {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_request",
                description,
            })?;
        parts.version = Version::HTTP_11;
        let headers = &mut parts.headers;
        strip_hop_by_hop(headers);
        headers.remove(header::HOST);
        if !self.config.forward_authorization {
            headers.remove(header::AUTHORIZATION);
        }
        set_forwarding(
            headers,
            peer.ip(),
            self.config.trusts(peer.ip()),
            host.as_deref(),
        );
        // Whatever the client sent under an identity header's name goes,
        // every occurrence in every spelling.
        let identity: Vec<String> = self
            .config
            .claim_headers
            .iter()
            .map(|(_, name)| folded(name))
            .collect();
        remove_spellings(headers, &identity);
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
                Err(refusal) => {
                    return Ok(error(refusal.status, refusal.error, refusal.description));
                }
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
                        "gateway_error",
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
        let (stream, peer) = listener.accept().await?;
        let service = service
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(Peer(peer));
                request
            });
        let service = TowerToHyperService::new(service);
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

/// Why the gateway answers a verified request itself.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

/// The address a connection came from, as `serve` accepted it.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

/// `upstream` (scheme, authority, optional path prefix) joined with the
/// request's path and query. A path that could leave the prefix is refused:
/// the error is the description the client gets.
fn upstream_uri(upstream: &Uri, request: &Uri) -> Result<Uri, &'static str> {
    let prefix = upstream.path().trim_end_matches('/');
    let path_and_query = request.path_and_query().map_or("/", |pq| pq.as_str());
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(path, _)| path);
    if !path.starts_with('/') {
        return Err("the request target is not a path; the gateway forwards paths only");
    }
    if has_dot_segment(path) {
        return Err(
            "the path has a dot segment (`.` or `..`, also percent-encoded); the gateway does not forward it",
        );
    }
    let mut parts = upstream.clone().into_parts();
    parts.path_and_query = format!("{prefix}{path_and_query}").parse().ok();
    Uri::from_parts(parts).map_err(|_| "the path cannot be joined to the upstream's")
}

/// Whether `path` has a `.` or `..` segment once each segment is
/// percent-decoded, with `/` and `\` (encoded or not) as separators, the way
/// the most lenient upstream could read it.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        percent_decoded(segment.as_bytes())
            .split(|&b| b == b'/' || b == b'\\')
            .any(|part| part == b"." || part == b"..")
    })
}

/// `input` with every `%XY` (two hex digits) decoded once; anything else,
/// a stray `%` included, as it is.
fn percent_decoded(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut decoded = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        if let (b'%', [high, low, after @ ..]) = (byte, tail)
            && let (Some(high), Some(low)) = (hex(*high), hex(*low))
        {
            decoded.push(high << 4 | low);
            rest = after;
            continue;
        }
        decoded.push(byte);
        rest = tail;
    }
    decoded
}

/// The host the client asked for: `Host`, or the URI's authority (HTTP/2).
fn received_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.or_else(|| uri.authority().map(|a| a.as_str()))
        .map(str::to_owned)
}

/// The forwarding headers (folded names), all written by the gateway.
const FORWARDING: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// A header name as upstreams that read `_` as `-` see it (names are
/// lowercase already).
fn folded(name: &HeaderName) -> String {
    name.as_str().replace('_', "-")
}

/// Removes every header whose folded name is one of `names`.
fn remove_spellings(headers: &mut HeaderMap, names: &[impl AsRef<str>]) {
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = folded(name);
            names.iter().any(|n| n.as_ref() == name)
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// Writes `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded` for this hop,
/// dropping every spelling of them the client sent. A `trusted` peer's
/// values are kept: the peer joins the end of its `X-Forwarded-For` and
/// `Forwarded` lists, its proto and host stay.
fn set_forwarding(headers: &mut HeaderMap, peer: IpAddr, trusted: bool, host: Option<&str>) {
    let peer = peer.to_canonical();
    let kept = |headers: &HeaderMap, name: &str| -> Option<String> {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        (trusted && !values.is_empty()).then(|| values.join(", "))
    };
    let append = |list: Option<String>, item: String| match list {
        Some(list) => format!("{list}, {item}"),
        None => item,
    };
    let chain = kept(headers, "x-forwarded-for");
    let proto = kept(headers, "x-forwarded-proto");
    let forwarded_host = kept(headers, "x-forwarded-host");
    let forwarded = kept(headers, "forwarded");
    // A trusted proxy's client address, else the peer's.
    let real_ip = kept(headers, "x-real-ip")
        .filter(|ip| ip.parse::<IpAddr>().is_ok())
        .unwrap_or_else(|| peer.to_string());
    remove_spellings(headers, &FORWARDING);
    let values = [
        ("x-forwarded-for", Some(append(chain, peer.to_string()))),
        (
            "x-forwarded-proto",
            Some(proto.unwrap_or_else(|| "http".into())),
        ),
        (
            "x-forwarded-host",
            forwarded_host.or(host.map(str::to_owned)),
        ),
        (
            "forwarded",
            Some(append(forwarded, forwarded_element(peer, host))),
        ),
        ("x-real-ip", Some(real_ip)),
    ];
    for (name, value) in values {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// This hop's element of `Forwarded` (RFC 7239 section 4): `for` the peer
/// (an IPv6 address in brackets, quoted: section 6), `host` the request's
/// host, `proto` the scheme the gateway serves; values that are not tokens
/// are quoted strings.
fn forwarded_element(peer: IpAddr, host: Option<&str>) -> String {
    let node = match peer {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("\"[{ip}]\""),
    };
    let mut element = format!("for={node}");
    if let Some(host) = host {
        element.push_str(";host=");
        element.push_str(&token_or_quoted(host));
    }
    element.push_str(";proto=http");
    element
}

/// `value` as it is if it is a token (RFC 9110 section 5.6.2), else as a
/// quoted string with `"` and `\` escaped.
fn token_or_quoted(value: &str) -> String {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !value.is_empty() && value.chars().all(tchar) {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
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

/// The gateway's own answer: `{"error","error_description"}`.
fn error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": code, "error_description": description });
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
            "sub=x-forwarded-for",
            "sub=X_Forwarded_Host",
            "sub=forwarded",
            "sub=x-auth-subject,scope=x_auth_subject",
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
        assert!(config.trusted_proxies.is_empty(), "no one is trusted");
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
    fn trusted_proxies_are_addresses_and_networks() {
        let nets = parse_trusted_proxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1,").unwrap();
        let trusted = |ip: &str| nets.iter().any(|net| net.contains(ip.parse().unwrap()));
        for ip in [
            "10.1.2.3",
            "192.0.2.7",
            "::ffff:10.9.9.9",
            "2001:db8::5",
            "::1",
        ] {
            assert!(trusted(ip), "{ip}");
        }
        for ip in ["11.0.0.1", "192.0.2.8", "127.0.0.1", "2001:db9::1", "::2"] {
            assert!(!trusted(ip), "{ip}");
        }
        let everyone = parse_trusted_proxies("0.0.0.0/0").unwrap();
        assert!(everyone[0].contains("203.0.113.1".parse().unwrap()));
        assert!(!everyone[0].contains("::2".parse().unwrap()));
        assert!(parse_trusted_proxies("").unwrap().is_empty());
        for bad in [
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
        ] {
            let err = parse_trusted_proxies(bad).unwrap_err();
            assert!(err.starts_with("AUTH_TRUSTED_PROXIES"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_forwarded_element_quotes_what_is_not_a_token() {
        let element = |peer: &str, host| forwarded_element(peer.parse().unwrap(), host);
        assert_eq!(
            element("192.0.2.7", Some("api.example")),
            "for=192.0.2.7;host=api.example;proto=http"
        );
        assert_eq!(
            element("2001:db8::7", Some("[2001:db8::1]:8080")),
            r#"for="[2001:db8::7]";host="[2001:db8::1]:8080";proto=http"#
        );
        assert_eq!(element("::1", None), r#"for="[::1]";proto=http"#);
        assert_eq!(token_or_quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn dot_segments_are_found_however_they_are_spelled() {
        for path in [
            "/..",
            "/.",
            "/a/../b",
            "/a/./b",
            "/%2e%2E",
            "/%2e",
            "/.%2E/x",
            "/..%2fx",
            "/x%2F..",
            "/..%5Cx",
            "/..\\x",
            "/a\\..\\b",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in [
            "/",
            "/a",
            "/.well-known/x",
            "/a..b",
            "/...",
            "/%2e%2e%2e",
            "/a%2Fb",
            "/%zz",
            "/%2",
            "/.%2",
        ] {
            assert!(!has_dot_segment(path), "{path}");
        }
        let upstream: Uri = "http://u/api".parse().unwrap();
        assert!(upstream_uri(&upstream, &"*".parse().unwrap()).is_err());
    }

    #[test]
    fn identity_headers_are_removed_in_every_spelling() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-auth-subject",
            "x_auth_subject",
            "x_auth-subject",
            "x-auth-subjects",
        ] {
            headers.append(
                HeaderName::try_from(name).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        remove_spellings(&mut headers, &["x-auth-subject"]);
        assert_eq!(
            headers.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["x-auth-subjects"]
        );
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
