//! Sessions with rotating refresh tokens, end to end: an axum app that logs
//! users in, refreshes through an `HttpOnly` cookie, and logs out of one
//! session or everywhere, with `GET /me` behind the layer.
//!
//! ```sh
//! cargo run --example refresh_flow              # serves on 127.0.0.1:3000
//! cargo run --example refresh_flow -- --demo    # the whole story, step by step
//! AUTH_DPOP=required cargo run --example refresh_flow -- --demo   # refresh tokens bound to a key
//! ```
//!
//! | route | what |
//! |---|---|
//! | `POST /login` | JSON `{"username","password"}` (demo user `alice` / `alice-password`) → `{"access_token","token_type":"Bearer","expires_in"}` (`"DPoP"` when bound, below) and the refresh cookie |
//! | `POST /refresh` | the refresh cookie → a new access token (same JSON) and a new cookie; the old one is spent. A browser request from another origin is 403 `cross_origin_request`, two different refresh cookies are 400 `multiple_tokens` (both `invalid_request`, nothing spent or cleared) |
//! | `POST /token` | RFC 6749 section 6 for OAuth client libraries: `grant_type=refresh_token&refresh_token=…` (form) → `{"access_token","token_type","expires_in","refresh_token"}`, `Cache-Control: no-store`; refusals 400 `invalid_grant` (with `code`), `invalid_scope`, `unsupported_grant_type`, `invalid_request`, 503 `temporarily_unavailable` |
//! | `POST /logout` | bearer token → ends its session (204) |
//! | `POST /logout-all` | bearer token → ends every session of the user (200) |
//! | `GET /me` | bearer token → the subject, session and claims |
//!
//! The refresh token lives in `__Host-refresh_token=…; Path=/; HttpOnly;
//! Secure; SameSite=Strict`: scripts cannot read it, and browsers send it
//! to this host only, over HTTPS only. The `__Host-` prefix makes browsers
//! accept the cookie only from this host, over HTTPS, with `Path=/` and no
//! `Domain`, so no other host, a sibling subdomain included, can plant or
//! shadow it (cookie tossing: fixing a victim's session, or locking it
//! out). The prefix requires `Path=/`, so browsers send the cookie with
//! every request to this origin, not only to `/refresh`; that costs little,
//! since a path is no boundary within one origin, scripts cannot read the
//! cookie and only `/refresh` reads it. `__Secure-` with `Path=/refresh`
//! would keep the cookie off the other routes but leave it open to a
//! sibling's cookie of the same name.
//!
//! `/refresh` acts on a cookie the browser attaches by itself, so it also
//! checks where a browser request comes from, besides `SameSite=Strict`
//! (which lets sibling subdomains through, being same-site, and which old
//! browsers ignore): `Sec-Fetch-Site` must be `same-origin` or `none` (the
//! user's own navigation), so `same-site` (a sibling subdomain) and
//! `cross-site` are refused, and `Origin` must be the app's own:
//! `AUTH_PUBLIC_ORIGIN` when set, else `http://` or `https://` and the
//! request's `Host` (the app cannot know whether TLS ends in front of it).
//! A request with neither header is not from a browser (curl, a mobile
//! app) and passes. A refused request spends nothing and clears nothing, so
//! another site cannot log the user out either.
//!
//! Refresh failures are 401 with a `code`: `refresh_invalid`,
//! `refresh_reused`, `session_expired`, `session_idle`, `reauth_required` or
//! `session_revoked`.
//!
//! With `AUTH_DPOP` (RFC 9449), `/login` and `/refresh` read the request's
//! `DPoP` proof: its `htm` must be `POST`, its `htu` `AUTH_PUBLIC_ORIGIN`
//! and the route's path when set, else `http://` or `https://`, the
//! request's `Host` and the path. A login with a proof binds the session to
//! the proof's key: the access tokens carry `cnf.jkt` and are answered with
//! `"token_type":"DPoP"`, and every refresh needs a proof by that key, so a
//! stolen refresh cookie is useless without the key, which a browser keeps
//! non-extractable. A refresh of a bound session without a proof is 400
//! `dpop_proof_required`, with a proof by another key 400
//! `dpop_key_mismatch`; a proof that fails a check is 400 with its own
//! code (`dpop_replayed`, `dpop_uri_mismatch`, …); all have `"error":
//! "invalid_dpop_proof"`, and none spends or clears the cookie. A session
//! that logged in without a proof stays unbound. `required` refuses a login
//! or refresh without a proof (400 `dpop_proof_missing`); `allowed` binds
//! the sessions of clients that send one.
//!
//! | variable | default |
//! |---|---|
//! | `AUTH_LISTEN` | `127.0.0.1:3000` |
//! | `AUTH_HMAC_SECRET` | a random secret for this run |
//! | `AUTH_ACCESS_TTL_SECS` | 900 (15 minutes) |
//! | `AUTH_IDLE_TIMEOUT_SECS` | 86400 (24 hours) |
//! | `AUTH_SESSION_TTL_SECS` | 604800 (7 days) |
//! | `AUTH_STORE_URL` | `memory:`; or `redis://…`, `rediss://…` (TLS), `redis+cluster://host:port,host:port`, `rediss+cluster://…`, `postgres://…` (`?sslmode=verify-full`) for sessions and revocation: one store serves both |
//! | `AUTH_STORE_CA_FILE` | none: the public roots; or a PEM file of the CA a TLS store's certificate is checked against |
//! | `AUTH_PUBLIC_ORIGIN` | none: an `Origin` must name the request's `Host`; or the app's origin as browsers see it, e.g. `https://app.example` (behind a proxy that rewrites `Host`), the only `Origin` `/refresh` accepts, and the origin of a DPoP proof's `htu` |
//! | `AUTH_DPOP` | `off`: `DPoP` headers are ignored; `allowed`: a login with a DPoP proof binds its session to the proof's key; `required`: `/login` and `/refresh` need a proof |

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_extract::Claims;
use auth_layer::clock::{Clock, ManualClock};
use auth_layer::dpop::{DpopError, DpopVerifier, ProofRequest, VerifiedProof, jwk_thumbprint};
use auth_layer::revocation::RevocationCache;
use auth_layer::session::{LifetimePolicy, RefreshCookie, Sessions, SigningKey, TokenIssuer};
use auth_layer::store::{DEFAULT_STORE_TIMEOUT, StoreOptions};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// The name of the refresh cookie (`Path=/`, as its prefix requires).
pub(crate) const REFRESH_COOKIE: &str = "__Host-refresh_token";
/// The route that reads it.
pub(crate) const REFRESH_PATH: &str = "/refresh";
const ISSUER: &str = "refresh-flow-example";
const AUDIENCE: &str = "refresh-flow-api";

/// How the app is configured: from `AUTH_*` variables, or by a test.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) listen: String,
    pub(crate) secret: Vec<u8>,
    pub(crate) access_ttl: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) session_ttl: Duration,
    pub(crate) store_url: String,
    /// The CA certificates (PEM file) a TLS store is checked against.
    pub(crate) store_ca_file: Option<String>,
    /// `AUTH_PUBLIC_ORIGIN`, normalised (`https://app.example`): the only
    /// `Origin` `/refresh` accepts. `None`: the request's `Host`.
    pub(crate) public_origin: Option<String>,
    /// Username → password. A real service checks a password hash.
    pub(crate) users: HashMap<String, String>,
    /// `None`: the system clock. The demo and the tests move a manual one.
    pub(crate) clock: Option<ManualClock>,
    /// `AUTH_DPOP`: whether `/login` and `/refresh` read DPoP proofs.
    pub(crate) dpop: DpopMode,
}

/// `AUTH_DPOP`: what `/login` and `/refresh` do with a `DPoP` proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DpopMode {
    /// `off` (the default): proofs are ignored, tokens are bearer tokens.
    Off,
    /// `allowed`: a login with a proof binds its session to the proof's key.
    Allowed,
    /// `required`: a login or refresh without a proof is refused.
    Required,
}

impl DpopMode {
    fn parse(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "allowed" => Ok(Self::Allowed),
            "required" => Ok(Self::Required),
            _ => Err(format!("AUTH_DPOP: {value:?} is not off, allowed or required").into()),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Allowed => "allowed",
            Self::Required => "required",
        }
    }
}

impl Settings {
    /// The defaults: the demo user, 15 min / 24 h / 7 days, in memory.
    pub(crate) fn new(secret: Vec<u8>) -> Self {
        Self {
            listen: "127.0.0.1:3000".to_owned(),
            secret,
            access_ttl: Duration::from_secs(15 * 60),
            idle_timeout: Duration::from_secs(24 * 60 * 60),
            session_ttl: Duration::from_secs(7 * 24 * 60 * 60),
            store_url: "memory:".to_owned(),
            store_ca_file: None,
            public_origin: None,
            users: HashMap::from([("alice".to_owned(), "alice-password".to_owned())]),
            clock: None,
            dpop: DpopMode::Off,
        }
    }

    pub(crate) fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings `lookup` gives (`AUTH_*` variables by name), defaults
    /// for the rest.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let secs = |name: &str, default: Duration| -> Result<Duration, Error> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|_| format!("{name}: {v:?} is not a number of seconds").into()),
            }
        };
        let secret = match var("AUTH_HMAC_SECRET") {
            Some(secret) => secret.into_bytes(),
            None => {
                println!("AUTH_HMAC_SECRET is not set: signing with a random secret for this run");
                random_secret()?
            }
        };
        let defaults = Self::new(secret);
        Ok(Self {
            listen: var("AUTH_LISTEN").unwrap_or(defaults.listen.clone()),
            access_ttl: secs("AUTH_ACCESS_TTL_SECS", defaults.access_ttl)?,
            idle_timeout: secs("AUTH_IDLE_TIMEOUT_SECS", defaults.idle_timeout)?,
            session_ttl: secs("AUTH_SESSION_TTL_SECS", defaults.session_ttl)?,
            store_url: var("AUTH_STORE_URL").unwrap_or(defaults.store_url.clone()),
            store_ca_file: var("AUTH_STORE_CA_FILE"),
            public_origin: var("AUTH_PUBLIC_ORIGIN")
                .map(|v| {
                    RefreshCookie::new()
                        .public_origin(&v)
                        .map(|cookie| cookie.origin().unwrap_or_default().to_owned())
                        .map_err(|e| format!("AUTH_PUBLIC_ORIGIN: {e}"))
                })
                .transpose()?,
            dpop: var("AUTH_DPOP")
                .map(|v| DpopMode::parse(&v))
                .transpose()?
                .unwrap_or(DpopMode::Off),
            ..defaults
        })
    }
}

pub(crate) fn random_secret() -> Result<Vec<u8>, Error> {
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret)?;
    Ok(secret)
}

/// The app's router, and the sessions behind it (for tests and the demo).
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) sessions: Sessions,
}

#[derive(Clone)]
struct AppState {
    sessions: Sessions,
    users: HashMap<String, String>,
    /// The refresh cookie, checked against `AUTH_PUBLIC_ORIGIN` when set.
    cookie: RefreshCookie,
    public_origin: Option<String>,
    /// With `AUTH_DPOP`: the mode, and the verifier of `/login` and `/refresh`.
    dpop: Option<(DpopMode, DpopVerifier)>,
}

/// Builds the app: one store from `AUTH_STORE_URL` for sessions and
/// revocation, the issuer and the layer sharing one secret, one revocation
/// cache and one clock.
pub(crate) async fn app(settings: &Settings) -> Result<App, Error> {
    let mut options = StoreOptions::new(&settings.store_url);
    if let Some(ca) = &settings.store_ca_file {
        options = options.ca_file(ca);
    }
    let store = options.connect().await?;
    let revocation = RevocationCache::builder(store.clone()).build()?;
    let dpop = match settings.dpop {
        DpopMode::Off => None,
        mode => {
            // Proofs are remembered in the store, so that one replayed at
            // another instance is refused too.
            let mut verifier =
                DpopVerifier::builder().shared_replay(store.clone(), DEFAULT_STORE_TIMEOUT);
            if let Some(clock) = &settings.clock {
                verifier = verifier.clock(clock.clone());
            }
            Some((mode, verifier.build()?))
        }
    };
    let mut issuer = TokenIssuer::builder(SigningKey::hmac(&settings.secret)?)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .lifetimes(LifetimePolicy::new(settings.access_ttl));
    if let Some(clock) = &settings.clock {
        issuer = issuer.clock(clock.clone());
    }
    let sessions = Sessions::builder(issuer.build()?, store, revocation)
        .absolute_lifetime(settings.session_ttl)
        .idle_timeout(settings.idle_timeout)
        .build()?;
    // The layer from the sessions: their key, issuer, audience, token type,
    // clock and revocation, so that the two cannot disagree.
    let mut auth = sessions.jwt_auth();
    // Bound access tokens pass `/me` only as `Authorization: DPoP` with a
    // proof by their key; with `required`, every token is bound.
    if let Some((mode, verifier)) = &dpop {
        let mode = match mode {
            DpopMode::Required => auth_layer::dpop::DpopMode::Required,
            _ => auth_layer::dpop::DpopMode::Allowed,
        };
        auth = auth.dpop(verifier.clone()).dpop_mode(mode);
        if let Some(origin) = &settings.public_origin {
            auth = auth.public_url(origin.clone());
        }
    }
    let state = AppState {
        sessions: sessions.clone(),
        users: settings.users.clone(),
        cookie: match &settings.public_origin {
            Some(origin) => RefreshCookie::new().public_origin(origin)?,
            None => RefreshCookie::new(),
        },
        public_origin: settings.public_origin.clone(),
        dpop,
    };
    let protected = Router::new()
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .route_layer(auth.build()?);
    let router = Router::new()
        .route("/login", post(login))
        .route(REFRESH_PATH, post(refresh))
        // RFC 6749 section 6, for OAuth client libraries: the refresh token
        // in the form, not in a cookie.
        .route_service("/token", sessions.token_endpoint())
        .merge(protected)
        .with_state(state);
    Ok(App { router, sessions })
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Json(request): Json<LoginRequest>,
) -> Response {
    let known = state.users.get(&request.username);
    if !known.is_some_and(|password| same(password.as_bytes(), request.password.as_bytes())) {
        let body = error_body(
            "invalid_grant",
            "wrong username or password",
            "invalid_credentials",
        );
        return (StatusCode::UNAUTHORIZED, body).into_response();
    }
    // After the password: proofs from anyone would fill the memory of seen
    // proofs.
    let proof = match dpop_proof(&state, &headers, &uri, "/login").await {
        Ok(proof) => proof,
        Err(refused) => return refused,
    };
    match state
        .sessions
        .login_with_proof(
            &request.username,
            json!({ "roles": ["user"] }),
            proof.as_ref(),
        )
        .await
    {
        Ok(pair) => state.cookie.login(&pair).into_response(),
        Err(e) => state.cookie.refused(&e).into_response(),
    }
}

async fn refresh(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    // Another site's request, two different cookies (the cookie kept) or
    // none: refused before anything is spent.
    let presented = match state.cookie.read(&headers, &uri) {
        Ok(presented) => presented,
        Err(e) => return state.cookie.refused(&e).into_response(),
    };
    let proof = match dpop_proof(&state, &headers, &uri, REFRESH_PATH).await {
        Ok(proof) => proof,
        Err(refused) => return refused,
    };
    let refreshed = state
        .sessions
        .refresh_with_proof(presented, proof.as_ref())
        .await;
    // The new access token and the rotated cookie (a racing duplicate
    // leaves the cookie the winning request set), or the refusal with the
    // dead cookie cleared.
    match refreshed {
        Ok(refreshed) => state.cookie.refreshed(&refreshed),
        Err(e) => state.cookie.refused(&e),
    }
    .into_response()
}

async fn me(claims: Claims) -> Json<Value> {
    let token = claims.token();
    Json(json!({
        "sub": token.subject(),
        "sid": token.session_id(),
        "ver": token.version(),
        "claims": *claims,
    }))
}

async fn logout(State(state): State<AppState>, claims: Claims) -> Response {
    let Some(sid) = claims.token().session_id() else {
        let body = error_body("invalid_request", "the token has no session", "no_session");
        return (StatusCode::BAD_REQUEST, body).into_response();
    };
    match state.sessions.logout(sid).await {
        Ok(_) => (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, state.cookie.clear())],
        )
            .into_response(),
        Err(e) => state.cookie.refused(&e).into_response(),
    }
}

async fn logout_all(State(state): State<AppState>, claims: Claims) -> Response {
    let subject = claims.token().subject();
    match state.sessions.logout_all(subject).await {
        Ok(ended) => (
            [(header::SET_COOKIE, state.cookie.clear())],
            Json(json!({ "sessions_ended": ended })),
        )
            .into_response(),
        Err(e) => state.cookie.refused(&e).into_response(),
    }
}

fn error_body(error: &str, description: &str, code: &str) -> Json<Value> {
    Json(json!({ "error": error, "error_description": description, "code": code }))
}

/// The request's DPoP proof for `POST path`, checked, when `AUTH_DPOP` is
/// on: `None` without one (unless required) or when off; a refused proof
/// is a 400 `invalid_dpop_proof` (503 when the store of seen proofs is
/// down). The `htu` must be `AUTH_PUBLIC_ORIGIN` and `path`, or without it
/// `http://` or `https://`, the request's `Host` and `path`.
async fn dpop_proof(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    path: &str,
) -> Result<Option<VerifiedProof>, Response> {
    let Some((mode, verifier)) = &state.dpop else {
        return Ok(None);
    };
    let refused = |e: DpopError| {
        let status = match e {
            DpopError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        (
            status,
            error_body(e.oauth_error(), e.description(), e.code()),
        )
            .into_response()
    };
    let mut proofs = headers.get_all("dpop").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) if *mode == DpopMode::Allowed => return Ok(None),
        (None, _) => return Err(refused(DpopError::Missing)),
        (Some(_), Some(_)) => return Err(refused(DpopError::Multiple)),
        (Some(proof), None) => proof.to_str().map_err(|_| refused(DpopError::Malformed))?,
    };
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    let origins = match &state.public_origin {
        Some(public) => vec![public.clone()],
        None => vec![format!("https://{host}"), format!("http://{host}")],
    };
    let mut outcome = Err(DpopError::UriMismatch);
    for origin in origins {
        let htu = format!("{origin}{path}");
        // A proof refused for its `htu` is not remembered: it may be tried
        // against the other scheme.
        outcome = verifier
            .verify_shared(proof.trim(), &ProofRequest::new("POST", &htu))
            .await;
        if outcome != Err(DpopError::UriMismatch) {
            break;
        }
    }
    outcome.map(Some).map_err(refused)
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The walkthrough: the app on its own loopback port and a manual clock,
/// driven over HTTP, each step printed and checked.
pub(crate) async fn demo(mut settings: Settings) -> Result<(), Error> {
    let clock = ManualClock::new(unix_now());
    settings.clock = Some(clock.clone());
    let (user, password) = settings
        .users
        .iter()
        .next()
        .map(|(u, p)| (u.clone(), p.clone()))
        .ok_or("no user to log in with")?;
    let App { router, sessions } = app(&settings).await?;
    // Now, after the store was opened: its continuity marker (the second
    // its data began) refuses tokens issued before it.
    clock.set(unix_now());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = Demo {
        http: reqwest::Client::builder().no_proxy().build()?,
        base,
    };
    println!(
        "the app serves on {} with the {} store",
        client.base, settings.store_url
    );
    if settings.dpop != DpopMode::Off {
        dpop_story(&client, &clock, &settings, (&user, &password)).await?;
        println!("\nthe story is complete");
        server.abort();
        return Ok(());
    }

    println!("\n1. {user} logs in");
    let (access, cookie) = client.login(&user, &password).await?;
    println!(
        "   the refresh token is in the {REFRESH_COOKIE} cookie: this host only, HttpOnly, Secure, SameSite=Strict"
    );
    let me = client
        .me("2. GET /me with the access token", &access, 200, None)
        .await?;
    let sid = me
        .get("sid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    println!("   session {sid}");

    let later = settings.access_ttl.as_secs() + 61;
    clock.advance(i64::try_from(later)?);
    println!("\n   ... {later} s later (the demo moves its clock) ...");
    client
        .me(
            "3. the access token has expired",
            &access,
            401,
            Some("token_expired"),
        )
        .await?;

    let res = client
        .send_refresh_from(&cookie, Some("https://elsewhere.example"))
        .await?;
    expect(
        "4. a page on another site posts to /refresh with the cookie",
        res,
        403,
        Some("cross_origin_request"),
    )
    .await?;
    println!("   refused before the cookie is read: it is neither spent nor cleared");
    let (fresh, fresh_cookie) = client
        .refresh("   POST /refresh with the cookie, from the app", &cookie)
        .await?;
    client
        .me("   GET /me with the new access token", &fresh, 200, None)
        .await?;

    // Past the retry window, which would take the replay for a client
    // retrying a refresh whose answer it lost.
    clock.advance(10);
    println!("\n5. a thief replays the first refresh token, 10 s later");
    client
        .refused(
            "   POST /refresh with the spent cookie",
            &cookie,
            "refresh_reused",
        )
        .await?;
    let stored = sessions.session(&sid).await?.and_then(|s| s.ended);
    println!(
        "   reuse detected: the session store marks it ended ({stored:?}), its sid is revoked"
    );
    client
        .me(
            "   the live access token",
            &fresh,
            401,
            Some("token_revoked"),
        )
        .await?;
    client
        .refused(
            "   the newest refresh cookie (never replayed: its session is revoked)",
            &fresh_cookie,
            "session_revoked",
        )
        .await?;

    println!("\n6. {user} logs in on a laptop and a phone, then logs out everywhere");
    let (laptop, laptop_cookie) = client.login(&user, &password).await?;
    let (phone, phone_cookie) = client.login(&user, &password).await?;
    let ended = client.post("/logout-all", &phone).await?;
    println!("   POST /logout-all: {ended}");
    client
        .me(
            "   the laptop's access token",
            &laptop,
            401,
            Some("token_revoked"),
        )
        .await?;
    client
        .refused(
            "   the laptop's refresh cookie",
            &laptop_cookie,
            "reauth_required",
        )
        .await?;
    client
        .refused(
            "   the phone's refresh cookie",
            &phone_cookie,
            "reauth_required",
        )
        .await?;

    println!("\n7. {user} logs in again");
    let (access, _) = client.login(&user, &password).await?;
    client.me("   GET /me", &access, 200, None).await?;
    println!("\nthe story is complete");
    server.abort();
    Ok(())
}

/// The demo with `AUTH_DPOP`: the session bound to the client's key, and a
/// thief holding the refresh cookie but not the key.
async fn dpop_story(
    client: &Demo,
    clock: &ManualClock,
    settings: &Settings,
    (user, password): (&str, &str),
) -> Result<(), Error> {
    println!(
        "DPoP {}: {user}'s client keeps a P-256 key pair (in a browser, a non-extractable WebCrypto key) and signs a proof for each token request",
        settings.dpop.as_str()
    );
    let key = DpopKey::generate()?;
    let login_url = format!("{}/login", client.base);
    let refresh_url = format!("{}{REFRESH_PATH}", client.base);

    println!("\n1. {user} logs in with a proof by the key {}", key.jkt());
    let proof = key.proof(&login_url, clock.now())?;
    let (access, cookie, token_type) = client.login_with(user, password, Some(&proof)).await?;
    let jkt = access_claims(&access, &settings.secret)?
        .pointer("/cnf/jkt")
        .and_then(Value::as_str)
        .map(str::to_owned);
    println!(
        "   token_type {token_type}; the access token's cnf.jkt is {}",
        jkt.as_deref().unwrap_or("missing")
    );
    if token_type != "DPoP" || jkt.as_deref() != Some(key.jkt().as_str()) {
        return Err("the tokens are not bound to the client's key".into());
    }
    client
        .me(
            "2. GET /me with the bound access token as a bearer token",
            &access,
            401,
            Some("token_bound_to_key"),
        )
        .await?;
    println!("   refused: a bound token is good only with a proof by its key");
    let me_url = format!("{}/me", client.base);
    let proof = key.proof_for("GET", &me_url, clock.now(), Some(&access))?;
    let res = client.me_proven(&access, &proof).await?;
    let me = expect(
        "   GET /me with Authorization: DPoP and a proof",
        res,
        200,
        None,
    )
    .await?;
    println!("   200 for {}", me.get("sub").unwrap_or(&Value::Null));
    let res = client.me_proven(&access, &proof).await?;
    expect("   the same proof again", res, 401, Some("dpop_replayed")).await?;

    clock.advance(60);
    let proof = key.proof(&refresh_url, clock.now())?;
    let res = client.send_refresh_proven(&cookie, Some(&proof)).await?;
    let (_, stolen, token_type) = tokens(res, 200).await?;
    let stolen = stolen.ok_or("no new refresh cookie")?;
    println!(
        "\n3. POST /refresh with the cookie and a fresh proof: 200, token_type {token_type}, a new cookie"
    );

    println!("\n4. a thief copies the new refresh cookie, but cannot copy the key");
    let res = client.send_refresh_proven(&stolen, None).await?;
    let missing = match settings.dpop {
        DpopMode::Required => "dpop_proof_missing",
        _ => "dpop_proof_required",
    };
    expect(
        "   POST /refresh with the cookie alone",
        res,
        400,
        Some(missing),
    )
    .await?;
    let thief = DpopKey::generate()?;
    let forged = thief.proof(&refresh_url, clock.now())?;
    let res = client.send_refresh_proven(&stolen, Some(&forged)).await?;
    expect(
        "   with a proof signed by a key of its own",
        res,
        400,
        Some("dpop_key_mismatch"),
    )
    .await?;
    let res = client.send_refresh_proven(&stolen, Some(&proof)).await?;
    expect(
        "   with the client's proof of step 3, copied from the wire",
        res,
        400,
        Some("dpop_replayed"),
    )
    .await?;
    println!("   nothing was spent and the session lives: these are not reuse");

    clock.advance(60);
    let proof = key.proof(&refresh_url, clock.now())?;
    let res = client.send_refresh_proven(&stolen, Some(&proof)).await?;
    let (_, _, token_type) = tokens(res, 200).await?;
    println!(
        "\n5. {user}'s client refreshes with that same cookie and its key: 200, token_type {token_type}"
    );
    Ok(())
}

/// The claims of an access token the app issued, read with its secret.
fn access_claims(access: &str, secret: &[u8]) -> Result<Value, Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    // The demo's clock runs ahead of the system's.
    validation.validate_exp = false;
    let key = DecodingKey::from_secret(secret);
    Ok(jsonwebtoken::decode::<Value>(access, &key, &validation)?.claims)
}

/// A client's DPoP key (RFC 9449): a P-256 key pair, as a browser makes
/// with `crypto.subtle.generateKey`, and the proofs it signs.
pub(crate) struct DpopKey {
    key: EncodingKey,
    jwk: Jwk,
}

impl DpopKey {
    pub(crate) fn generate() -> Result<Self, Error> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "no P-256 key pair could be made")?;
        let pkcs8 = pair
            .to_pkcs8v1()
            .map_err(|_| "the key pair could not be encoded")?;
        let key = EncodingKey::from_ec_der(pkcs8.as_ref());
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)?;
        Ok(Self { key, jwk })
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens
    /// bound to it.
    pub(crate) fn jkt(&self) -> String {
        serde_json::to_value(&self.jwk)
            .ok()
            .and_then(|jwk| jwk.as_object().and_then(jwk_thumbprint))
            .unwrap_or_default()
    }

    /// A proof for `POST htu` at `iat`: a JWS (ES256) whose header holds
    /// `typ` `dpop+jwt` and the public key, and whose claims are a fresh
    /// `jti`, `htm`, `htu` and `iat`.
    pub(crate) fn proof(&self, htu: &str, iat: i64) -> Result<String, Error> {
        self.proof_for("POST", htu, iat, None)
    }

    /// A proof for `method htu` at `iat`; at a resource, with `ath`, the
    /// hash of the access token it comes with.
    pub(crate) fn proof_for(
        &self,
        method: &str,
        htu: &str,
        iat: i64,
        access_token: Option<&str>,
    ) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".to_owned());
        header.jwk = Some(self.jwk.clone());
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti)?;
        let jti: String = jti.iter().map(|b| format!("{b:02x}")).collect();
        let mut claims = json!({ "jti": jti, "htm": method, "htu": htu, "iat": iat });
        if let (Some(token), Some(map)) = (access_token, claims.as_object_mut()) {
            let hash = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes());
            let ath =
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, hash);
            map.insert("ath".to_owned(), json!(ath));
        }
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}

/// The demo's HTTP client.
struct Demo {
    http: reqwest::Client,
    base: String,
}

impl Demo {
    async fn login(&self, user: &str, password: &str) -> Result<(String, String), Error> {
        let (access, cookie, _) = self.login_with(user, password, None).await?;
        Ok((access, cookie))
    }

    /// A login, with a DPoP proof if given: the access token, the refresh
    /// cookie and the `token_type`.
    async fn login_with(
        &self,
        user: &str,
        password: &str,
        proof: Option<&str>,
    ) -> Result<(String, String, String), Error> {
        let body = json!({ "username": user, "password": password }).to_string();
        let mut request = self
            .http
            .post(format!("{}/login", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        let (access, cookie, token_type) = tokens(request.send().await?, 200).await?;
        println!("   POST /login: 200, an access token and a refresh cookie");
        Ok((access, cookie.ok_or("no refresh cookie")?, token_type))
    }

    async fn refresh(&self, step: &str, cookie: &str) -> Result<(String, String), Error> {
        let res = self.send_refresh(cookie).await?;
        let (access, cookie, _) = tokens(res, 200).await?;
        println!("{step}: 200, a new access token and a new refresh cookie");
        Ok((access, cookie.ok_or("no new refresh cookie")?))
    }

    async fn refused(&self, step: &str, cookie: &str, code: &str) -> Result<(), Error> {
        let res = self.send_refresh(cookie).await?;
        expect(step, res, 401, Some(code)).await.map(drop)
    }

    async fn send_refresh(&self, cookie: &str) -> Result<reqwest::Response, Error> {
        self.send_refresh_from(cookie, None).await
    }

    /// `POST /refresh` with the cookie and, if given, a DPoP proof.
    async fn send_refresh_proven(
        &self,
        cookie: &str,
        proof: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let mut request = self
            .http
            .post(format!("{}{REFRESH_PATH}", self.base))
            .header("cookie", format!("{REFRESH_COOKIE}={cookie}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        Ok(request.send().await?)
    }

    /// `POST /refresh` as a browser page at `origin` sends it, or as a
    /// non-browser client without one.
    async fn send_refresh_from(
        &self,
        cookie: &str,
        origin: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let mut request = self
            .http
            .post(format!("{}{REFRESH_PATH}", self.base))
            .header("cookie", format!("{REFRESH_COOKIE}={cookie}"));
        if let Some(origin) = origin {
            request = request
                .header("origin", origin)
                .header("sec-fetch-site", "cross-site");
        }
        Ok(request.send().await?)
    }

    async fn me(
        &self,
        step: &str,
        access: &str,
        status: u16,
        code: Option<&str>,
    ) -> Result<Value, Error> {
        let res = self
            .http
            .get(format!("{}/me", self.base))
            .bearer_auth(access)
            .send()
            .await?;
        expect(step, res, status, code).await
    }

    /// `GET /me` with `Authorization: DPoP` and a proof.
    async fn me_proven(&self, access: &str, proof: &str) -> Result<reqwest::Response, Error> {
        Ok(self
            .http
            .get(format!("{}/me", self.base))
            .header("authorization", format!("DPoP {access}"))
            .header("dpop", proof)
            .send()
            .await?)
    }

    async fn post(&self, path: &str, access: &str) -> Result<String, Error> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(access)
            .send()
            .await?;
        let status = res.status().as_u16();
        let body = res.text().await?;
        if status != 200 {
            return Err(format!("{path}: expected 200, got {status} {body}").into());
        }
        Ok(format!("{status} {body}"))
    }
}

/// The access token, the new refresh cookie and the `token_type` of a
/// token response.
async fn tokens(
    res: reqwest::Response,
    status: u16,
) -> Result<(String, Option<String>, String), Error> {
    let got = res.status().as_u16();
    let cookie = set_cookie(res.headers(), REFRESH_COOKIE);
    let body: Value = serde_json::from_str(&res.text().await?)?;
    if got != status {
        return Err(format!("expected {status}, got {got}: {body}").into());
    }
    let access = body
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or("no access_token")?;
    let token_type = body
        .get("token_type")
        .and_then(Value::as_str)
        .ok_or("no token_type")?;
    Ok((access.to_owned(), cookie, token_type.to_owned()))
}

/// The value a `Set-Cookie` header gives the cookie `name`, if any.
pub(crate) fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find_map(|(key, value)| (key == name && !value.is_empty()).then(|| value.to_owned()))
}

/// Prints the step and its answer; an unexpected answer stops the demo.
/// Returns the JSON body (`null` if there is none).
async fn expect(
    step: &str,
    res: reqwest::Response,
    status: u16,
    code: Option<&str>,
) -> Result<Value, Error> {
    let got = res.status().as_u16();
    let body = res.text().await?;
    let json = serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
    let got_code = json.get("code").and_then(Value::as_str).map(str::to_owned);
    let shown = got_code
        .as_deref()
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    println!("{step}: {got}{shown}");
    if got != status || (code.is_some() && got_code.as_deref() != code) {
        return Err(format!("{step}: expected {status} {code:?}, got {got} {body}").into());
    }
    Ok(json)
}

#[cfg(not(test))]
#[tokio::main]
async fn main() -> Result<(), Error> {
    use tracing_subscriber::EnvFilter;

    // The demo shows warnings only (the reuse alert), to keep its story readable.
    let demo_mode = std::env::args().any(|arg| arg == "--demo");
    let level = if demo_mode { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        .init();
    let settings = Settings::from_env()?;
    if demo_mode {
        return demo(settings).await;
    }
    let app = app(&settings).await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("listening on {base} (sessions in {})", settings.store_url);
    println!("  curl -i -X POST {base}/login -H 'content-type: application/json' \\");
    println!("       -d '{{\"username\":\"alice\",\"password\":\"alice-password\"}}'");
    println!("  curl -i {base}/me -H 'authorization: Bearer <access_token>'");
    println!("  curl -i -X POST {base}/refresh -H 'cookie: {REFRESH_COOKIE}=<from Set-Cookie>'");
    axum::serve(listener, app.router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
