//! The load test's server: `GET /bare` (and `GET /`) bare and `GET /auth`
//! behind `JwtAuth`, as a user writes it: the handler of `/auth` extracts
//! `Claims`, the bare ones nothing; all answer `ok`. The load test compares
//! `/bare` with `/auth`: paths of one length cost the same to parse and
//! route (`/` alone has a shortcut in `http`'s URI parser, about 250
//! instructions a request that are not the layer's). It mints its own
//! tokens (with `sub` and `sid`, so that a revocation cache probes the
//! subject and the session), warms the caches, writes the tokens for the
//! load generator, prints `listening on http://ADDR` and then prints
//! nothing per request.
//! `loadtest/run.sh` drives it; see `loadtest/README.md`.
//!
//! ```sh
//! LOADTEST_ALG=RS256 LOADTEST_OUT=/tmp/lt cargo run --release -p examples --example loadtest_server
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `LOADTEST_ALG` | `HS256` (default), `RS256`, `PS256`, `ES256`, `EdDSA` |
//! | `LOADTEST_TOKEN_CACHE` | `on` (default) or `off`: the verified-token cache |
//! | `LOADTEST_REVOCATION` | `none` (default), `memory`, or a `redis://` URL |
//! | `LOADTEST_HOT_TOKENS` | tokens of distinct subjects, all cached at start (default 1000) |
//! | `LOADTEST_COLD_TOKENS` | tokens of further subjects, verified at start but unknown to the revocation cache (default 0) |
//! | `LOADTEST_OUT` | folder for `hot.txt` and `cold.txt`, one token a line (required) |
//! | `LOADTEST_LISTEN` | address (default `127.0.0.1:0`, an ephemeral port) |
//! | `LOADTEST_MAX_SECS` | the server stops by itself after this long (default 900) |
//! | `LOADTEST_DPOP` | `ES256` or `EdDSA`: DPoP requests, the tokens bound to a client key of this algorithm (default: none, bearer tokens) |
//! | `LOADTEST_COMPOSE` | `route-layer` (default): `Router::route_layer`, as the README's `Router::layer` does it, each route wrapped in a boxed service; `service`: the layer wraps a `Router` of `/auth` as a tower service (`JwtAuth::layer(router)`), no per-route wrapping; both paths then pass one path comparison that picks the bare or the wrapped router |
//! | `LOADTEST_LAYER` | `jwt` (default): `JwtAuth`; `floor`: the least any authentication layer does, in its place (it looks the `Authorization` header up and hands over a token verified at start, which `Claims` takes; it decides nothing, so it is a measure, not a layer) |
//! | `LOADTEST_DPOP_PROOFS` | with `LOADTEST_DPOP`: how many proofs to make (default 100000), written to `proofs.txt` as `TOKEN_LINE PROOF`, each good once for `GET /auth` with that line's token |
//!
//! A cold token is in the verified-token cache but its subject is not in
//! the revocation cache: its first request asks the revocation store once.

use std::convert::Infallible;
use std::error::Error;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use auth_extract::Claims;
use auth_layer::dpop::{DpopVerifier, jwk_thumbprint};
use auth_layer::keys::Algorithm;
use auth_layer::revocation::RevocationCache;
use auth_layer::store::MemoryStore;
use auth_layer::{JwtAuth, JwtAuthBuilder, VerifiedToken};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Uri, header::AUTHORIZATION};
use axum::response::IntoResponse;
use axum::routing::Route;
use axum::{Router, ServiceExt, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use tower::{Layer, Service};

const SECRET: &[u8] = b"load-test-secret-of-at-least-32-bytes!";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "orders-api";
const RSA_PRIVATE: &str = include_str!("../tests/keys/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("../tests/keys/rsa_public.pem");
const EC_PRIVATE: &str = include_str!("../tests/keys/ec_p256_private.pem");
const EC_PUBLIC: &str = include_str!("../tests/keys/ec_p256_public.pem");
const ED_PRIVATE: &str = include_str!("../tests/keys/ed25519_private.pem");
const ED_PUBLIC: &str = include_str!("../tests/keys/ed25519_public.pem");

/// The bare route.
async fn ok() -> &'static str {
    "ok"
}

/// The route behind the layer: the verified claims handed over, as every
/// handler behind it takes them.
async fn claimed(claims: Claims) -> &'static str {
    std::hint::black_box(&claims);
    "ok"
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn number(name: &str, default: usize) -> Result<usize, String> {
    var(name, &default.to_string())
        .parse()
        .map_err(|_| format!("{name}: not a whole number"))
}

/// The signing key and a builder that trusts its public half.
fn keys(alg: &str) -> Result<(Algorithm, EncodingKey, JwtAuthBuilder), Box<dyn Error>> {
    let builder = JwtAuth::builder().issuer(ISSUER).audience(AUDIENCE);
    Ok(match alg {
        "HS256" => (
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET),
            builder.hmac_secret(SECRET),
        ),
        "RS256" | "PS256" => (
            if alg == "RS256" {
                Algorithm::RS256
            } else {
                Algorithm::PS256
            },
            EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes())?,
            builder.public_key_pem(RSA_PUBLIC),
        ),
        "ES256" => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes())?,
            builder.public_key_pem(EC_PUBLIC),
        ),
        "EdDSA" => (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes())?,
            builder.public_key_pem(ED_PUBLIC),
        ),
        other => {
            return Err(format!(
                "LOADTEST_ALG: {other:?} is not HS256, RS256, PS256, ES256 or EdDSA"
            )
            .into());
        }
    })
}

/// The DPoP `htu` the layer checks proofs against (its public URL and path).
const DPOP_HTU: &str = "http://loadtest.example/auth";

/// A DPoP client: its key and public JWK header, and the thumbprint its
/// tokens are bound to.
struct DpopClient {
    alg: Algorithm,
    key: EncodingKey,
    header_b64: String,
    jkt: String,
}

impl DpopClient {
    fn new(alg: &str) -> Result<Self, Box<dyn Error>> {
        let (alg, key) = match alg {
            "ES256" => (
                Algorithm::ES256,
                EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes())?,
            ),
            "EdDSA" => (
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes())?,
            ),
            other => return Err(format!("LOADTEST_DPOP: {other:?} is not ES256 or EdDSA").into()),
        };
        let jwk = serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&key, alg)?)?;
        let jkt = jwk_thumbprint(jwk.as_object().ok_or("a JWK is an object")?)
            .ok_or("the client key has a thumbprint")?;
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": auth_layer::keys::algorithm_name(alg),
            "jwk": jwk,
        });
        Ok(Self {
            alg,
            key,
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            jkt,
        })
    }

    /// A proof for `GET /auth` with `token`, proof id `n`.
    fn proof(&self, token: &str, n: usize) -> Result<String, Box<dyn Error>> {
        let claims = serde_json::json!({
            "jti": format!("p{n:x}"),
            "htm": "GET",
            "htu": DPOP_HTU,
            "iat": jsonwebtoken::get_current_timestamp(),
            "ath": URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(token)),
        });
        let input = format!(
            "{}.{}",
            self.header_b64,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg)?;
        Ok(format!("{input}.{signature}"))
    }
}

/// A typical access token (about 300 bytes with HS256) for `sub`, with
/// token id `n`; bound to `jkt` when given.
fn mint(
    alg: Algorithm,
    key: &EncodingKey,
    sub: &str,
    n: usize,
    jkt: Option<&str>,
) -> Result<String, Box<dyn Error>> {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = serde_json::json!({
        "iss": ISSUER,
        "sub": sub,
        "aud": AUDIENCE,
        "exp": now + 3600,
        "iat": now,
        "jti": format!("{n:016x}"),
        "sid": format!("s-{n:012x}"),
        "ver": 0,
        "scope": "orders:read",
    });
    if let (Some(jkt), Some(map)) = (jkt, claims.as_object_mut()) {
        map.insert("cnf".to_owned(), serde_json::json!({ "jkt": jkt }));
    }
    Ok(encode(&Header::new(alg), &claims, key)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let alg = var("LOADTEST_ALG", "HS256");
    let token_cache = match var("LOADTEST_TOKEN_CACHE", "on").as_str() {
        "on" => true,
        "off" => false,
        other => return Err(format!("LOADTEST_TOKEN_CACHE: {other:?} is not on or off").into()),
    };
    let revocation_url = var("LOADTEST_REVOCATION", "none");
    let hot = number("LOADTEST_HOT_TOKENS", 1000)?;
    let cold = number("LOADTEST_COLD_TOKENS", 0)?;
    let max_secs = number("LOADTEST_MAX_SECS", 900)?;
    let out = std::env::var("LOADTEST_OUT").map_err(|_| "LOADTEST_OUT: not set")?;
    let dpop = match std::env::var("LOADTEST_DPOP") {
        Ok(alg) if !alg.is_empty() && alg != "none" => Some(DpopClient::new(&alg)?),
        _ => None,
    };
    let proofs = number("LOADTEST_DPOP_PROOFS", 100_000)?;

    let (alg, signing, mut builder) = keys(&alg)?;
    builder = builder.algorithms([alg]);
    if token_cache {
        // Every token stays cached for the whole run.
        builder = builder
            .token_cache_max_bytes(1 << 30)
            .token_cache_max_age(Duration::from_secs(3600));
    } else {
        builder = builder.disable_token_cache();
    }
    let revocation = match revocation_url.as_str() {
        "none" => None,
        "memory" => Some(RevocationCache::builder(MemoryStore::new())),
        url if url.starts_with("redis://") => Some(RevocationCache::builder(
            auth_layer::store::connect(url).await?,
        )),
        other => {
            return Err(
                format!("LOADTEST_REVOCATION: {other:?} is not none, memory or redis://…").into(),
            );
        }
    };
    if let Some(revocation) = revocation {
        let capacity = u64::try_from(hot + cold)?.max(1);
        builder = builder.revocation(
            revocation
                .ttl(Duration::from_secs(3600))
                .capacity(capacity)
                .build()?,
        );
    }
    if dpop.is_some() {
        // Proofs are made at start and used over the whole run.
        builder = builder
            .dpop(
                DpopVerifier::builder()
                    .iat_window(Duration::from_secs(300))
                    .replay_capacity(u64::try_from(proofs)?.max(1_000))
                    .build()?,
            )
            .public_url("http://loadtest.example");
    }
    let auth = builder.build()?;

    // Hot tokens: verified and their subjects cached, as in steady state.
    let uri = Uri::from_static("/auth");
    let mut hot_lines = String::new();
    let mut hot_tokens = Vec::with_capacity(hot);
    let mut handed_over = None;
    for i in 0..hot {
        let jkt = dpop.as_ref().map(|client| client.jkt.as_str());
        let token = mint(alg, &signing, &format!("hot-{i:010}"), i, jkt)?;
        let mut headers = HeaderMap::new();
        match &dpop {
            None => {
                headers.insert(
                    AUTHORIZATION,
                    HeaderValue::try_from(format!("Bearer {token}"))?,
                );
            }
            Some(client) => {
                headers.insert(
                    AUTHORIZATION,
                    HeaderValue::try_from(format!("DPoP {token}"))?,
                );
                headers.insert(
                    "dpop",
                    HeaderValue::try_from(client.proof(&token, usize::MAX - i)?)?,
                );
            }
        }
        let verified = auth
            .authenticate(&axum::http::Method::GET, &headers, &uri)
            .await?;
        if handed_over.is_none() {
            handed_over = verified;
        }
        writeln!(hot_lines, "{token}")?;
        hot_tokens.push(token);
    }
    // Proofs, each good once, for the hot tokens in turn.
    if let Some(client) = &dpop {
        let mut proof_lines = String::with_capacity(proofs * 520);
        for n in 0..proofs {
            let line = n % hot_tokens.len().max(1);
            let token = hot_tokens.get(line).ok_or("no hot tokens")?;
            writeln!(proof_lines, "{} {}", line + 1, client.proof(token, n)?)?;
        }
        std::fs::create_dir_all(&out)?;
        std::fs::write(format!("{out}/proofs.txt"), proof_lines)?;
    }
    // Cold tokens: verified, subjects unknown to the revocation cache.
    let mut cold_lines = String::new();
    for i in 0..cold {
        let token = mint(alg, &signing, &format!("cold-{i:09}"), hot + i, None)?;
        auth.verifier().verify(&token)?;
        writeln!(cold_lines, "{token}")?;
    }
    std::fs::create_dir_all(&out)?;
    std::fs::write(format!("{out}/hot.txt"), hot_lines)?;
    std::fs::write(format!("{out}/cold.txt"), cold_lines)?;

    let listener = tokio::net::TcpListener::bind(var("LOADTEST_LISTEN", "127.0.0.1:0")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let stop = tokio::time::sleep(Duration::from_secs(u64::try_from(max_secs)?));
    let shutdown = async move {
        tokio::select! {
            () = stop => eprintln!("LOADTEST_MAX_SECS reached: stopping"),
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let compose = var("LOADTEST_COMPOSE", "route-layer");
    match var("LOADTEST_LAYER", "jwt").as_str() {
        "jwt" => serve(listener, &compose, auth, shutdown).await?,
        "floor" => {
            let token = handed_over.ok_or("LOADTEST_LAYER=floor: no hot token")?;
            serve(listener, &compose, HandOverLayer { token }, shutdown).await?;
        }
        other => return Err(format!("LOADTEST_LAYER: {other:?} is not jwt or floor").into()),
    }
    Ok(())
}

/// Serves `/auth` behind `layer`, composed as `LOADTEST_COMPOSE` says, and
/// the bare routes, until `shutdown`.
async fn serve<L>(
    listener: tokio::net::TcpListener,
    compose: &str,
    layer: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn Error>>
where
    L: Layer<Route> + Layer<Router> + Clone + Send + Sync + 'static,
    <L as Layer<Route>>::Service:
        Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
    <<L as Layer<Route>>::Service as Service<Request>>::Response: IntoResponse + 'static,
    <<L as Layer<Route>>::Service as Service<Request>>::Future: Send + 'static,
    <L as Layer<Router>>::Service: Service<Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    <<L as Layer<Router>>::Service as Service<Request>>::Future: Unpin + Send + 'static,
{
    match compose {
        "route-layer" => {
            let app = Router::new()
                .route("/auth", get(claimed))
                .route_layer(layer)
                .route("/bare", get(ok))
                .route("/", get(ok));
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        "service" => {
            let app = Split {
                bare: Router::new().route("/bare", get(ok)).route("/", get(ok)),
                auth: layer.layer(Router::new().route("/auth", get(claimed))),
            };
            axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        other => {
            return Err(
                format!("LOADTEST_COMPOSE: {other:?} is not route-layer or service").into(),
            );
        }
    }
    Ok(())
}

/// `LOADTEST_COMPOSE=service`: `/auth` to the router the layer wraps as a
/// tower service, every other path to the bare router; both pay the one
/// comparison.
#[derive(Clone)]
struct Split<A> {
    bare: Router,
    auth: A,
}

impl<A> Service<Request> for Split<A>
where
    A: Service<Request, Response = axum::response::Response, Error = Infallible>,
    A::Future: Unpin,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = SplitFuture<<Router as Service<Request>>::Future, A::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both are always ready (a router is); asked anyway, as tower wants.
        std::task::ready!(Service::<Request>::poll_ready(&mut self.bare, cx))?;
        Service::<Request>::poll_ready(&mut self.auth, cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.uri().path() == "/auth" {
            SplitFuture::Auth(self.auth.call(request))
        } else {
            SplitFuture::Bare(self.bare.call(request))
        }
    }
}

/// `LOADTEST_LAYER=floor`: the least an authentication layer does, and
/// nothing else: it looks the `Authorization` header up and, when there is
/// one, hands over the token verified at start, as `JwtAuth` hands over a
/// cache hit; the same `Claims` extractor takes it. It checks nothing: the
/// load test measures with it what the hand-over itself costs a request,
/// composed as `JwtAuth` is.
#[derive(Clone)]
struct HandOverLayer {
    token: VerifiedToken,
}

impl<S> Layer<S> for HandOverLayer {
    type Service = HandOver<S>;

    fn layer(&self, inner: S) -> HandOver<S> {
        HandOver {
            inner,
            token: self.token.clone(),
        }
    }
}

/// The service of [`HandOverLayer`].
#[derive(Clone)]
struct HandOver<S> {
    inner: S,
    token: VerifiedToken,
}

impl<S: Service<Request>> Service<Request> for HandOver<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> S::Future {
        if request.headers().contains_key(AUTHORIZATION) {
            request.extensions_mut().insert(self.token.clone());
        }
        self.inner.call(request)
    }
}

/// The future of [`Split`]: the one of the router that took the request.
enum SplitFuture<A, B> {
    Bare(A),
    Auth(B),
}

impl<A, B> Future for SplitFuture<A, B>
where
    A: Future + Unpin,
    B: Future<Output = A::Output> + Unpin,
{
    type Output = A::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A::Output> {
        match self.get_mut() {
            Self::Bare(future) => Pin::new(future).poll(cx),
            Self::Auth(future) => Pin::new(future).poll(cx),
        }
    }
}
