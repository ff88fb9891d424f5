//! The harness behind the `verify` fuzz target: arbitrary bytes as a token
//! (for two verifiers with HMAC, RSA, EC and Ed25519 keys), as a header and
//! payload that get a valid HMAC signature (so the claim checks after the
//! signature are reached too), and as request header values and a query
//! string for the token sources, through the tower service.
//!
//! Oracles besides "no panic": a cached and an uncached verification of the
//! same token agree, and the service never answers a 5xx.
//!
//! Input layout: the first byte picks the mode, the rest is its input.
//!
//! | first byte % 3 | the rest |
//! |---|---|
//! | 0 | a token, verified as it is |
//! | 1 | one byte picking HS256/384/512, then header JSON, a 0 byte, payload JSON; signed with the trusted secret |
//! | 2 | request header values (`Authorization`, `Cookie`, `x-access-token`) and a query string, split at 0 bytes |
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use auth_layer::clock::ManualClock;
use auth_layer::keys::{Algorithm, Key};
use auth_layer::source::TokenSource;
use auth_layer::{ErrorKind, JwtAuth, JwtAuthService};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, Request, Response, Uri};
use jsonwebtoken::EncodingKey;
use tower_layer::Layer as _;
use tower_service::Service;

/// The HMAC secret the harness trusts (and signs mode-1 inputs with).
pub const SECRET: &[u8] = b"fuzzing-secret-of-at-least-thirty-two-bytes";

/// The fixed "now" of the verifiers, so that runs are reproducible.
pub const NOW: i64 = 1_700_000_000;

/// A trusted public key from the end-to-end tests' fixtures.
pub fn public_key(name: &str) -> &'static [u8] {
    match name {
        "rsa" => include_bytes!("../../tests/keys/rsa_public.pem"),
        "p256" => include_bytes!("../../tests/keys/ec_p256_public.pem"),
        "p384" => include_bytes!("../../tests/keys/ec_p384_public.pem"),
        _ => include_bytes!("../../tests/keys/ed25519_public.pem"),
    }
}

/// The private keys matching [`public_key`], for the seed corpus.
pub fn private_key(name: &str) -> &'static [u8] {
    match name {
        "rsa" => include_bytes!("../../tests/keys/rsa_private.pem"),
        "p256" => include_bytes!("../../tests/keys/ec_p256_private.pem"),
        "p384" => include_bytes!("../../tests/keys/ec_p384_private.pem"),
        _ => include_bytes!("../../tests/keys/ed25519_private.pem"),
    }
}

struct Harness {
    /// Every key without a `kid`, no claim rules beyond the defaults, no
    /// verified-token cache; every token source.
    lenient: JwtAuth,
    /// Keys named by `kid`, issuer, audience, token type and required
    /// claims, with the verified-token cache.
    strict: JwtAuth,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let lenient = JwtAuth::builder()
            .hmac_secret(SECRET)
            .public_key_pem(public_key("rsa"))
            .public_key_pem(public_key("p256"))
            .public_key_pem(public_key("p384"))
            .public_key_pem(public_key("ed25519"))
            .clock(ManualClock::new(NOW))
            .disable_token_cache()
            .token_sources([
                TokenSource::Bearer,
                TokenSource::cookie("session"),
                TokenSource::Header(http::HeaderName::from_static("x-access-token")),
                TokenSource::query("access_token"),
            ])
            .build();
        let strict = JwtAuth::builder()
            .try_key(Key::hmac(SECRET).map(|k| k.with_kid("h1")))
            .try_key(Key::rsa_pem(public_key("rsa")).map(|k| k.with_kid("r1")))
            .try_key(Key::ec_pem(public_key("p256")).map(|k| k.with_kid("e1")))
            .try_key(Key::ec_pem(public_key("p384")).map(|k| k.with_kid("e2")))
            .try_key(Key::ed_pem(public_key("ed25519")).map(|k| k.with_kid("d1")))
            .issuer("https://issuer.example")
            .audience("api")
            .token_type("at+jwt")
            .required_claims(["sub", "iat"])
            .clock(ManualClock::new(NOW))
            .build();
        match (lenient, strict) {
            (Ok(lenient), Ok(strict)) => Harness { lenient, strict },
            (Err(e), _) | (_, Err(e)) => {
                // A broken harness must not be mistaken for a finding: stop loudly.
                eprintln!("the fuzzing configuration is refused: {e}");
                std::process::abort()
            }
        }
    })
}

/// Runs one input; panics (a finding) if an oracle fails.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let harness = harness();
    match mode % 3 {
        0 => verify_everywhere(harness, &String::from_utf8_lossy(rest)),
        1 => {
            if let Some(token) = signed(rest) {
                verify_everywhere(harness, &token);
            }
        }
        _ => through_the_service(harness, rest),
    }
}

/// Verifies `token` with both verifiers, cached and uncached: the answers agree.
fn verify_everywhere(harness: &Harness, token: &str) {
    for auth in [&harness.lenient, &harness.strict] {
        let verifier = auth.verifier();
        let uncached = outcome(verifier.verify_uncached(token));
        let first = outcome(verifier.verify(token));
        let second = outcome(verifier.verify(token));
        assert_eq!(uncached, first, "cached and uncached verification differ");
        assert_eq!(first, second, "a cache hit answers differently");
    }
}

fn outcome<T>(result: Result<T, auth_layer::AuthError>) -> Result<(), ErrorKind> {
    result.map(|_| ()).map_err(|e| e.kind())
}

/// A token from `header JSON \0 payload JSON`, signed with [`SECRET`].
fn signed(input: &[u8]) -> Option<String> {
    let (&pick, rest) = input.split_first()?;
    let alg = match pick % 3 {
        0 => Algorithm::HS256,
        1 => Algorithm::HS384,
        _ => Algorithm::HS512,
    };
    let split = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    let (header, payload) = rest.split_at(split);
    let payload = payload.get(1..).unwrap_or_default();
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = EncodingKey::from_secret(SECRET);
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg).ok()?;
    Some(format!("{message}.{signature}"))
}

/// The request's header values and query from `input`; the lenient layer
/// answers, never with a 5xx.
fn through_the_service(harness: &Harness, input: &[u8]) {
    let mut parts = input.split(|b| *b == 0);
    let mut request = Request::new(());
    for name in ["authorization", "cookie", "x-access-token"] {
        if let Some(value) = parts.next().and_then(|v| HeaderValue::from_bytes(v).ok()) {
            request.headers_mut().append(name, value);
        }
    }
    // A second Authorization header, to reach the "two tokens" rule.
    if let Some(value) = parts.next().and_then(|v| HeaderValue::from_bytes(v).ok()) {
        request.headers_mut().append("authorization", value);
    }
    if let Some(query) = parts.next()
        && let Ok(uri) = Uri::try_from([b"/protected?".as_slice(), query].concat())
    {
        *request.uri_mut() = uri;
    }
    let mut service: JwtAuthService<Echo> = harness.lenient.clone().layer(Echo);
    let response = ready(service.call(request));
    match response {
        Some(Ok(response)) => assert!(
            response.status().as_u16() < 500,
            "a server error: {}",
            response.status()
        ),
        Some(Err(never)) => match never {},
        // Without a revocation store nothing waits; a pending future would
        // be a finding of its own.
        None => panic!("the layer's future did not complete without a store"),
    }
}

/// Polls `future` a bounded number of times with a waker that does nothing.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..16 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
    }
    None
}

/// The inner service: always 200.
#[derive(Clone, Copy, Debug)]
struct Echo;

impl Service<Request<()>> for Echo {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<()>) -> Self::Future {
        std::future::ready(Ok(Response::new(String::new())))
    }
}
