//! Sessions and rotating refresh tokens: the issuing half of the layer.
//!
//! The layer checks short-lived access tokens; this module hands them out,
//! so that short access tokens, long sessions and revocation work together
//! ("stay signed in for a week, but let me kill a stolen session now"):
//!
//! - [`TokenIssuer`] mints access tokens (`typ` `at+jwt`, `iss`, `aud`,
//!   `sub`, `iat`, `nbf`, `exp`, `jti`, `ver`, `sid`, `cnf.jkt` when bound
//!   to a DPoP key, and your claims), with a
//!   lifetime from a [`LifetimePolicy`]: 15 minutes unless a role, client or
//!   scope says otherwise.
//! - [`Sessions`] composes the issuer, a [`SessionStore`] and the
//!   [`RevocationCache`](crate::revocation::RevocationCache) the layer
//!   checks. [`login`](Sessions::login) starts a session (`sid`) and returns
//!   an access token plus an opaque [`RefreshToken`] (256 random bits, kept
//!   by the store only as a SHA-256 [`TokenHash`]).
//!   [`refresh`](Sessions::refresh) rotates: the presented token is spent
//!   and a new pair returned. Presenting a spent token again is **reuse**:
//!   the whole session is ended, its `sid` revoked (its live access tokens
//!   get 401 `token_revoked` from the layer) and a
//!   [`SessionEvent::ReuseDetected`] emitted.
//! - A session lasts at most its absolute lifetime (7 days by default) and
//!   dies after its idle timeout (24 hours without a refresh). A subject
//!   whose token version was bumped ([`logout_all`](Sessions::logout_all),
//!   or any service writing the revocation store) or who was flagged with
//!   [`require_reauth`](Sessions::require_reauth) cannot refresh and must
//!   log in again.
//! - A lost answer is not reuse: within the
//!   [retry window](SessionsBuilder::retry_window) (5 s by default) the
//!   token just rotated, presented again while its successor is unused, gets
//!   that rotation's refresh token again and a fresh access token. The
//!   successor is derived from the presented token (HMAC-SHA256 under a
//!   per-deployment key), so nothing is stored in clear and every instance
//!   answers alike. After the window, or once the successor was used, it
//!   is reuse as above.
//! - Rotation is atomic in every store: of many concurrent refreshes with one
//!   token exactly one rotates; within the retry window the others get its
//!   result, outside it they are reuse (or, within the optional
//!   [grace window](SessionsBuilder::danger_reuse_grace), answered with an
//!   access token and no new refresh token).
//! - Claims can follow the user: an
//!   [`on_refresh`](SessionsBuilder::on_refresh) hook re-reads roles and
//!   scopes at each refresh (stored with the rotation) or refuses it.
//! - Stores stay bounded: a session keeps its [`SPENT_TOKENS_KEPT`] most
//!   recently spent hashes, and a revoked `sid` is forgotten once none of
//!   its access tokens can pass: the longest access-token lifetime plus the
//!   300 s leeway cap after the revocation, or after the session's absolute
//!   end when that comes first. This assumes every instance has the same
//!   [`LifetimePolicy`] and that the verifiers' leeway and clock skew stay
//!   within that cap.
//! - Refresh tokens can be bound to the client's DPoP key (RFC 9449
//!   section 5): a login with a verified proof
//!   ([`login_with_proof`](Sessions::login_with_proof)) binds the session,
//!   its access tokens carry `cnf.jkt`, and each refresh must come with a
//!   proof by that key ([`refresh_with_proof`](Sessions::refresh_with_proof));
//!   without one it is refused and nothing is spent.
//! - Subjects appear in `tracing` events only with
//!   [`log_subjects`](SessionsBuilder::log_subjects); tokens never do.
//!
//! Stores: every store in [`store`](crate::store) (memory for one process,
//! Redis and PostgreSQL for many) implements [`SessionStore`] and
//! [`RevocationStore`](crate::revocation::RevocationStore) on one
//! connection, so one store, built once from one URL, serves the sessions
//! and the revocation cache alike.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::session::{Sessions, SessionErrorKind, SigningKey, TokenIssuer};
//! use auth_layer::store::MemoryStore;
//! use http::{Request, Response, StatusCode};
//! use serde_json::json;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";
//! let store = MemoryStore::new();
//! let revocation = RevocationCache::builder(store.clone()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac(SECRET)?)
//!     .issuer("https://auth.example")
//!     .audience("orders-api")
//!     .build()?;
//! let sessions = Sessions::builder(issuer, store, revocation).build()?;
//! // The layer that checks their access tokens, wired from the sessions.
//! let auth: JwtAuth = sessions.jwt_auth().build()?;
//! let api = auth.layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//! }));
//! let call = |token: &str| {
//!     let req = Request::builder().header("authorization", format!("Bearer {token}")).body(());
//!     api.clone().oneshot(req.unwrap())
//! };
//!
//! let first = sessions.login("alice", json!({ "roles": ["reader"] })).await?;
//! let second = sessions.refresh(first.refresh_token().as_str()).await?.into_pair().unwrap();
//! assert_eq!(call(second.access_token().as_str()).await?.status(), StatusCode::OK);
//!
//! // The first refresh token again, right away: a retry, answered with the same new token.
//! let retried = sessions.refresh(first.refresh_token().as_str()).await?;
//! assert_eq!(retried.refresh_token(), Some(second.refresh_token()));
//! let third = sessions.refresh(second.refresh_token().as_str()).await?;
//!
//! // The first refresh token again, now that its successor was used: reuse.
//! // The session is gone, and so is its access token.
//! let reused = sessions.refresh(first.refresh_token().as_str()).await.unwrap_err();
//! assert_eq!(reused.kind(), SessionErrorKind::RefreshReused);
//! assert_eq!(call(third.access_token().as_str()).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! # Wiring it up
//!
//! Sessions are always built in: no feature turns them on. Only the Redis
//! and PostgreSQL stores are features (`redis`, `postgres`).
//!
//! ```no_run
//! use std::time::Duration;
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::session::{LifetimePolicy, Sessions, SigningKey, TokenIssuer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // One store for sessions and revocation: memory:, redis://, rediss://,
//! // redis+cluster://…, postgres://…
//! let store = auth_layer::store::connect("redis://127.0.0.1:6379").await?;
//! let secret = std::env::var("AUTH_HMAC_SECRET")?;
//! let revocation = RevocationCache::builder(store.clone()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac(&secret)?.with_kid("2026-11"))
//!     .issuer("https://auth.example")
//!     .audience("orders-api")
//!     .lifetimes(LifetimePolicy::default().role("admin", Duration::from_secs(5 * 60)))
//!     .build()?;
//! let sessions = Sessions::builder(issuer, store, revocation)
//!     .on_event(|event| {
//!         if event.name() == "reuse_detected" {
//!             eprintln!("alert: {event:?}");
//!         }
//!     })
//!     .build()?;
//! // The layer from the sessions: their key, issuer, audience, token type and
//! // revocation, so that logout and logout-everywhere are enforced.
//! let auth: JwtAuth = sessions.jwt_auth().build()?;
//!
//! // After checking the password: an access token (Authorization: Bearer)
//! // and a refresh token (an HttpOnly cookie).
//! let pair = sessions.login("alice", serde_json::json!({ "roles": ["admin"] })).await?;
//! let next = sessions.refresh(pair.refresh_token().as_str()).await?;
//! sessions.logout(pair.session_id()).await?; // this device
//! sessions.logout_all("alice").await?;       // every device
//! # let _ = (auth, next); Ok(()) }
//! ```
//!
//! [`Sessions::jwt_auth`] is the layer's builder wired from the sessions (the
//! signing key's public half or secret, pinned to its algorithm and `kid`;
//! `iss`, `aud`, `typ` `at+jwt`, `sub`/`iat`/`jti` required, the claim names,
//! the clock and the revocation cache); add token sources, DPoP or guards
//! before `build()`. A layer built apart that has no revocation logs a
//! warning, once, the first time a token carrying `ver` or `sid` passes it:
//! such a layer would let through the tokens of sessions that were logged
//! out.
//!
//! | operation | what happens |
//! |---|---|
//! | `TokenIssuer::issue` | an access token: header `typ` `at+jwt` and the key's `kid`; `iss`, `aud`, `sub`, `iat`, `nbf`, `exp`, a random `jti`, `ver`, `sid`, `cnf.jkt` when bound to a DPoP key (`TokenRequest::bound_to`) and your claims (which may not override those). HMAC, RSA, EC (P-256/P-384) or Ed25519 private keys (`SigningKey`), each proven by a test signature at start-up. |
//! | `login(subject, claims)` | starts a session (`sid`, 128 random bits), reads the subject's current version from the revocation store into `ver`, returns an access token and an opaque refresh token `<sid>.<secret>` (the secret is 32 bytes from the OS, base64url). The store keeps only the token's SHA-256. |
//! | `refresh(token)` | rotates: the presented token is spent and a new pair returned. With an `on_refresh` hook, the application's current claims (roles, scopes) go into the new access token and the session, or the refresh is refused (`refresh_denied`, nothing changed). |
//! | the token just rotated, presented again within the retry window | a **retry** (the answer was lost): the same new refresh token again and a fresh access token, while that new token is unused. `SessionsBuilder::retry_window(d)`, default 5 s, at most 60 s, 0 turns it off. |
//! | a spent token presented again otherwise | **reuse**: the session is ended, its `sid` revoked (its live access tokens get 401 `token_revoked` from the layer at once), a `reuse_detected` event is logged at `WARN` and passed to `on_event`, and the answer is `refresh_reused`. |
//! | limits | checked at every refresh: absolute lifetime (default 7 days from login), idle timeout (default 24 h since the last refresh), the subject's version (bumped by `logout_all` or by any service writing the revocation store), and `require_reauth(subject)`. |
//! | `logout(sid)` | ends one session and revokes its `sid`. |
//! | `logout_all(subject)` | bumps the subject's version (every access token it holds fails the layer) and ends every session. |
//! | `login_with_proof` / `refresh_with_proof` | the same with a verified DPoP proof: the session's tokens are bound to the client's key ([below](#binding-refresh-tokens-to-a-dpop-key)). |
//! | `login_with(subject, claims, LoginOptions)` | a login with options: "remember me" (the longer absolute lifetime the [`SessionPolicy`] offers for these claims) and a DPoP proof. |
//! | `refresh_narrowed(token, scope)` | a refresh whose access token carries only `scope` (within the session's `scope` claim, else `invalid_scope` and nothing spent); the session keeps its grant (RFC 6749 section 6). |
//! | `single_use([purposes])` | [`SingleUseTokens`] for email verification, password reset and the like ([below](#single-use-tokens)). |
//!
//! Rotation is atomic in every store (a Lua script in Redis; in PostgreSQL
//! one transaction that locks the session row and spends the token with
//! `UPDATE … WHERE token_hash = $1 AND spent_at IS NULL`): of 50 concurrent
//! refreshes with one token exactly one rotates; within the retry window the
//! other 49 get its result (the same new refresh token), without it they are
//! reuse. The clock is injectable (`TokenIssuerBuilder::clock`, shared by the
//! sessions), so tests move time instead of sleeping.
//!
//! # HTTP answers
//!
//! [`TokenResponse`] is RFC 6749 section 5.1's answer (`access_token`,
//! `token_type`, `expires_in`, `refresh_token` and `scope` when given,
//! `Cache-Control: no-store`). `auth_extract::SessionRejection` answers a
//! [`SessionError`] as section 5.2 does, in axum (`IntoResponse`) and
//! actix-web (`ResponseError`; `auth_extract::actix::http_response` for a
//! `TokenResponse`); `?` converts, so a `POST /refresh` handler whose body is
//! the refresh token is `sessions.refresh(&token).await?` and
//! `Ok(TokenResponse::refreshed(&refreshed).response())`.
//!
//! [`RefreshCookie`] keeps the refresh token in a cookie the page's
//! scripts cannot read: `__Host-refresh_token` (the prefix makes browsers
//! accept it only from this host, over HTTPS, with `Path=/` and no
//! `Domain`, so a sibling subdomain cannot shadow it), `HttpOnly; Secure;
//! SameSite=Strict`, kept until the session's absolute end.
//! [`RefreshCookie::login`] and [`RefreshCookie::refreshed`] answer with the
//! token response and the cookie, [`RefreshCookie::refused`] with the
//! refusal and the cookie cleared on a 401. Reading it back
//! ([`RefreshCookie::read`], or the extractor
//! `auth_extract::RefreshCookieToken` in axum and actix-web) refuses, before
//! anything is spent: a request another site sent (`Sec-Fetch-Site` other
//! than `same-origin`/`none`, or an `Origin` other than the app's: 403
//! `cross_origin_request`), two different cookies of the name (400
//! `multiple_tokens`), and none (401 `refresh_invalid`). A refresh route is
//! then one line:
//!
//! ```
//! use auth_layer::session::{RefreshCookie, Sessions};
//!
//! # async fn refresh(sessions: Sessions, cookie: RefreshCookie, headers: http::HeaderMap, uri: http::Uri) -> http::Response<String> {
//! // With auth_extract: `|State(sessions), cookie: RefreshCookieToken| cookie.answer(sessions.refresh(cookie.token()).await)`
//! match cookie.read(&headers, &uri) {
//!     Ok(token) => match sessions.refresh(token).await {
//!         Ok(refreshed) => cookie.refreshed(&refreshed),
//!         Err(e) => cookie.refused(&e),
//!     },
//!     Err(e) => cookie.refused(&e),
//! }
//! # }
//! ```
//!
//! For OAuth client libraries, [`Sessions::token_endpoint`] is the refresh
//! grant of RFC 6749 section 6 as a tower service: `POST`
//! `grant_type=refresh_token&refresh_token=…[&scope=…]` (form), answered
//! with the rotated pair (section 5.1; a `scope` within the session's
//! narrows the new access token to it and is echoed in `scope`) or
//! `invalid_grant` with the project's `code` (400, section 5.2),
//! `invalid_scope` for a `scope` beyond the session's (nothing spent), `unsupported_grant_type`, `invalid_request`, 503
//! `temporarily_unavailable`; never cached. Mount it outside the layer:
//! `Router::new().route_service("/token", sessions.token_endpoint())`. The
//! `refresh_flow` example serves it at `POST /token` beside its cookie route.
//!
//! Refresh failures are answered by [`SessionErrorKind::status`], 401 unless a
//! store is down (503) or a DPoP proof is missing or by the wrong key (400),
//! with [`SessionErrorKind::oauth_error`] as the OAuth `error`:
//!
//! | `code` | meaning | the client should |
//! |---|---|---|
//! | `refresh_invalid` | not a refresh token this service issued (garbage, truncated, forged, or of a session long gone); nothing was changed | log in |
//! | `refresh_reused` | the token was already spent: the session is revoked | log in; someone else may hold a copy |
//! | `session_expired` | the absolute lifetime is over | log in |
//! | `session_idle` | no refresh within the idle timeout | log in |
//! | `reauth_required` | logged out everywhere, version bumped, or flagged | log in |
//! | `session_revoked` | the session was logged out, ended by an administrator, or ended when another of its tokens was replayed | log in |
//! | `refresh_denied` | the application's `on_refresh` hook refused to renew the session | log in |
//! | `dpop_proof_required` | 400 `invalid_dpop_proof`: the session is bound to a DPoP key and the refresh came without a proof; nothing was changed | refresh again with a proof by its key |
//! | `dpop_key_mismatch` | 400 `invalid_dpop_proof`: the proof is by another key than the session's; nothing was changed | refresh with a proof by the session's key |
//! | `invalid_scope` | 400: a narrowed refresh asked for a scope the session was not granted; nothing was spent | ask within the grant |
//! | `multiple_tokens` | 400 `invalid_request`: two different refresh cookies (one may shadow the other); nothing was spent | clear the cookies and log in |
//! | `cross_origin_request` | 403 `invalid_request`: a browser sent the refresh from another site; nothing was spent | refresh from the app's own pages |
//! | `single_use_invalid`, `single_use_expired`, `single_use_spent` | 400 `invalid_grant`: a single-use token not of this purpose (or not one at all), past its `exp`, or used before | ask for a new link |
//! | `store_unavailable` | 503 with `Retry-After`: the session or revocation store could not answer | retry |
//!
//! No refresh token is ever logged: `RefreshToken`, `AccessToken`,
//! `TokenPair` and `SigningKey` print `[redacted]` in `Debug`, and the tests
//! capture every `tracing` line at `TRACE` (the library, axum and hyper) and
//! search it for every token handed out.
//!
//! # Recommended lifetimes, and why
//!
//! - **Access token: 15 minutes.** It is checked by signature and a cached
//!   revocation probe only, so its lifetime is how long a stolen one stays
//!   useful when nobody revokes it, and how often each active client comes
//!   back to refresh (the refresh is where limits and revocation are
//!   enforced). Shorter for powerful tokens (`LifetimePolicy::role("admin",
//!   5 min)`; when several overrides match, the shortest wins); longer only
//!   for clients that cannot refresh, via `client("…", d)` or `scope("…", d)`.
//! - **Session: 7 days absolute.** "Stay signed in for a week": a user types
//!   the password at most once a week, and a refresh token stolen without
//!   ever being detected still dies within 7 days.
//! - **Idle: 24 hours.** A device nobody uses for a day (a lost laptop, a
//!   shared computer) needs the password again; an active user never notices,
//!   since every refresh resets the idle clock.
//! - Rotation makes theft visible: the thief and the user both refresh from
//!   the same token sooner or later, and the second to do so kills the
//!   session.
//!
//! Change them with `TokenIssuerBuilder::lifetimes(LifetimePolicy::new(d))`,
//! [`SessionsBuilder::absolute_lifetime`] and [`SessionsBuilder::idle_timeout`]
//! (the `refresh_flow` example reads `AUTH_ACCESS_TTL_SECS`,
//! `AUTH_SESSION_TTL_SECS`, `AUTH_IDLE_TIMEOUT_SECS`). Keep access < idle <
//! absolute.
//!
//! ## By use case, and "remember me"
//!
//! One service often serves several kinds of session. A
//! [`SessionPolicy`] gives each its [`SessionLimits`] (absolute lifetime,
//! idle timeout, and the absolute lifetime of a login that asked to be
//! remembered, where the use case offers it), by role, client or scope of
//! the claims given at login, as [`LifetimePolicy`] does for access
//! tokens; when several match, each limit is the shortest of theirs and
//! "remember me" needs all of them to offer it. The limits are fixed at
//! login: the absolute end is the session's `expires_at`, the idle timeout
//! is stored with it (`SessionRecord::idle_timeout`).
//!
//! | use case | absolute | idle | remember me |
//! |---|---|---|---|
//! | consumer web | 1 day | 12 h | 7 to 30 days |
//! | banking | 1 day at most | 5 to 15 min | no |
//! | admin console | a working day (8 h) | 15 min | no |
//! | mobile app | 14 to 90 days | 7 to 30 days | not needed |
//!
//! ```
//! use std::time::Duration;
//! use auth_layer::session::{SessionLimits, SessionPolicy};
//!
//! const MIN: Duration = Duration::from_secs(60);
//! const DAY: Duration = Duration::from_secs(24 * 60 * 60);
//! let policy = SessionPolicy::new(SessionLimits::new(DAY, DAY / 2).remember_me(30 * DAY))
//!     .role("admin", SessionLimits::new(DAY / 3, 15 * MIN))
//!     .client("mobile-app", SessionLimits::new(90 * DAY, 30 * DAY));
//! # let _ = policy;
//! ```
//!
//! Give it with [`SessionsBuilder::policy`], and log in with
//! `sessions.login_with(subject, claims, LoginOptions::new().remember_me(checked))`.
//! A login that asks to be remembered where its use case does not offer it
//! gets the usual lifetime.
//!
//! # Single-use tokens
//!
//! Email verification, password reset and invitations send a link that
//! must work once. [`Sessions::single_use`] gives [`SingleUseTokens`] for a
//! set of purposes: [`mint`](SingleUseTokens::mint) signs a short-lived JWT
//! with the sessions' key, typed `<purpose>+jwt` with the audience
//! `urn:auth-layer:single-use:<purpose>` (so no layer takes it for an access
//! token, and no route of another purpose takes it either), and
//! [`consume`](SingleUseTokens::consume) verifies it and spends its `jti`
//! atomically in the revocation store (Redis `SET NX`, a PostgreSQL insert,
//! the memory store's lock) until it expires: of 50 concurrent uses exactly
//! one succeeds. `auth_extract::SingleUse<P>` does both for a route, from the
//! `token` query parameter. The tokens are spent once extracted: put the
//! extractor on the `POST` a page behind the link sends, since mail scanners
//! follow links.
//!
//! [`SessionsBuilder::danger_reuse_grace`]`(d)` (off by default, at most
//! 60 s) answers a racing duplicate refresh (the most recently spent token,
//! within `d` of its rotation, while the session is live) with an access
//! token and no new refresh token instead of revoking, for clients such as
//! several browser tabs that cannot serialise their refreshes. It weakens
//! reuse detection: within the window a thief racing the user gets an access
//! token. The retry window comes first: within it a duplicate gets the
//! rotation's refresh token too, so the grace window only matters when it is
//! the longer.
//!
//! A retry is answered without storing any token: the successor refresh token
//! is derived from the presented one with HMAC-SHA256 under a per-deployment
//! key, derived from the signing key when it signs deterministically (HMAC,
//! RSA PKCS#1 v1.5, EdDSA) or set with [`SessionsBuilder::retry_secret`]
//! (needed with ECDSA and RSA-PSS keys, whose signatures differ at every
//! call), so every instance derives the same successor. A retry that reaches
//! an instance deriving another successor (a signing key or `retry_secret`
//! being rolled out, a window on some instances only) is refused as
//! `refresh_invalid` with a warning in the log, never taken for reuse: the
//! session lives on. Retries are reported as `SessionEvent::RetriedRefresh`
//! and counted as `auth_refresh_total{outcome="retried"}`: many for one
//! session within its windows is worth a look, since a thief racing the
//! client looks the same. The window must be longer than the store timeout.
//! `retry_secret` is as secret as the signing key; with an HMAC signing key
//! that verifiers share, give the sessions a `retry_secret` of their own.
//!
//! [`SessionsBuilder::on_refresh`]`(|session| async { … })` re-reads the
//! user's claims at every refresh: `Ok(Some(claims))` replaces them (in the
//! new access token and in the stored session, so the next refresh starts
//! from them), `Ok(None)` keeps them, `Err(kind)` refuses the refresh with
//! that kind (`RefreshDenied`, or `StoreUnavailable` for a 503) and changes
//! nothing. A role removed from a user is gone within one access-token
//! lifetime; to cut it off at once, log the session out too.
//!
//! Stores stay bounded: a session keeps its 16 most recently spent refresh
//! token hashes (an older one presented again is `refresh_invalid` rather
//! than reuse), and a `sid` revoked by `Sessions` is forgotten once none of
//! its access tokens can pass (the longest access-token lifetime plus the
//! longest leeway, 300 s). Subjects appear in the sessions' `tracing` events
//! only with `SessionsBuilder::log_subjects(true)`.
//!
//! Sessions live in the same [store](crate::store) as revocations
//! (`AUTH_STORE_URL` in the `refresh_flow` example).
//!
//! Refresh throughput (`cargo bench -p auth-layer --features redis,postgres
//! --bench refresh`, 16 sessions refreshing concurrently, each refresh a
//! session read, a version read, the rotation and an HS256 signature): about
//! 275 000 refreshes/s in memory, 27 000/s with Redis and 2 000/s with
//! PostgreSQL on a 2-core machine with the server local (see
//! `BENCHMARKS.md`). One active user refreshes once per access-token
//! lifetime, so even PostgreSQL covers about 1.8 million active users on
//! 15-minute tokens.
//!
//! # Binding refresh tokens to a DPoP key
//!
//! A refresh token in a browser can be stolen (a cross-site scripting bug, a
//! malicious extension, a copied cookie jar) and replayed from elsewhere for
//! as long as the session lives; rotation only detects the theft once both
//! parties have refreshed. DPoP (RFC 9449) binds the session to a key pair
//! the client made and cannot export: a stolen refresh token is useless
//! without the key.
//!
//! A login that comes with a DPoP proof, checked by a
//! [`DpopVerifier`](crate::dpop::DpopVerifier) against the token endpoint's
//! method and URL, starts a bound session ([`Sessions::login_with_proof`]):
//! its access tokens carry `cnf: {"jkt": …}`, the RFC 7638 thumbprint of the
//! proof's key (section 6.1), with `token_type` `DPoP`, and its refresh tokens
//! are bound to that key (section 5, for public clients). Each refresh must
//! come with a fresh proof by that key ([`Sessions::refresh_with_proof`]);
//! without one it is refused with `dpop_proof_required`, with a proof by
//! another key with `dpop_key_mismatch`. Neither spends the refresh token,
//! ends the session or counts as reuse: the client holding the key refreshes
//! with the same token afterwards, and a thief without the key can neither
//! use a token nor end the session with an old one. With the key, rotation,
//! reuse detection, the retry window and the idle and absolute limits work as
//! for any session, and every new access token carries the same `cnf.jkt`.
//! The binding is made at login only and never changes: a session that
//! logged in without a proof stays unbound, and a proof sent with its
//! refreshes binds nothing (log in again with a proof to bind). The stores
//! keep the thumbprint with the session (`dpop_jkt`).
//!
//! ```
//! use auth_layer::dpop::{DpopError, DpopVerifier, ProofRequest};
//! use auth_layer::session::Sessions;
//!
//! # async fn run(sessions: Sessions, verifier: DpopVerifier, headers: http::HeaderMap, refresh_token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let token_endpoint = ProofRequest::new("POST", "https://auth.example/token");
//! // Login, after the password: a proof binds the session to the client's key.
//! let proof = verifier.verify_header(&headers, &token_endpoint)?;
//! let pair = sessions.login_with_proof("alice", serde_json::json!({}), Some(&proof)).await?;
//! assert_eq!(pair.access_token().jkt(), Some(proof.jkt())); // token_type "DPoP"
//!
//! // Refresh: the request's proof, if it has one (a bad one is a 400).
//! let proof = match verifier.verify_header(&headers, &token_endpoint) {
//!     Ok(proof) => Some(proof),
//!     Err(DpopError::Missing) => None,
//!     Err(refused) => return Err(refused.into()), // refused.oauth_error(): invalid_dpop_proof
//! };
//! let next = sessions.refresh_with_proof(refresh_token, proof.as_ref()).await?;
//! # let _ = next; Ok(()) }
//! ```
//!
//! A browser client makes the key once with WebCrypto, non-extractable (the
//! private key never leaves the browser; its public half always can), keeps
//! the `CryptoKeyPair` in IndexedDB (which stores keys as they are), and signs
//! a proof for each token request:
//!
//! ```js
//! const key = await crypto.subtle.generateKey(
//!   { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
//! await saveInIndexedDb("dpop-key", key); // your IndexedDB put: keys are stored, never exported
//!
//! const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
//!   .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
//! const part = (json) => b64url(new TextEncoder().encode(JSON.stringify(json)));
//!
//! async function dpopProof(key, htm, htu) {
//!   const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key.publicKey);
//!   const header = part({ typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } });
//!   const claims = part({ jti: crypto.randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) });
//!   const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" },
//!     key.privateKey, new TextEncoder().encode(`${header}.${claims}`));
//!   return `${header}.${claims}.${b64url(signature)}`; // WebCrypto signs as r || s, as JWS wants
//! }
//!
//! const url = new URL("/refresh", location.origin).href;
//! const res = await fetch(url, { method: "POST", headers: { DPoP: await dpopProof(key, "POST", url) } });
//! const { access_token, token_type } = await res.json(); // token_type: "DPoP"
//! ```
//!
//! The access tokens of a bound session are DPoP tokens: a resource takes
//! them only as `Authorization: DPoP <token>` with a proof by the same key
//! whose claims also hold `ath`, the base64url SHA-256 of the token (see
//! [`dpop`](crate::dpop)); the layer of the `refresh_flow` example does this
//! at `/me` when `AUTH_DPOP` is set.
//!
//! # The `refresh_flow` example
//!
//! ```sh
//! cargo run --example refresh_flow              # the app on 127.0.0.1:3000 (AUTH_LISTEN)
//! cargo run --example refresh_flow -- --demo    # login, call, expiry, refresh, reuse detected, logout everywhere
//! AUTH_DPOP=required cargo run --example refresh_flow -- --demo   # a stolen refresh cookie without the client's key
//! ```
//!
//! | route | what |
//! |---|---|
//! | `POST /login` | JSON `{"username","password"}` (demo user `alice` / `alice-password`) → `{"access_token","token_type":"Bearer","expires_in"}` (`"DPoP"` when bound) and `Set-Cookie: __Host-refresh_token=…; Path=/; Max-Age=…; HttpOnly; Secure; SameSite=Strict` |
//! | `POST /refresh` | the cookie → the same JSON and a new cookie; a refusal is 401 `{"error":"invalid_grant","code":…}` and clears the cookie. A browser request from another origin is 403 `cross_origin_request`, two different refresh cookies are 400 `multiple_tokens` (both `"error":"invalid_request"`; nothing spent, nothing cleared) |
//! | `POST /token` | the refresh grant of RFC 6749 section 6 ([`Sessions::token_endpoint`], above) |
//! | `POST /logout` | bearer → ends its session (204) |
//! | `POST /logout-all` | bearer → ends every session of the user (200) |
//! | `GET /me` | bearer → subject, `sid`, `ver`, claims |
//!
//! It signs with `AUTH_HMAC_SECRET` (a random secret for the run if unset)
//! and keeps sessions and revocations in `AUTH_STORE_URL` (`memory:` by
//! default, or any URL of `AUTH_REVOCATION_URL`). `AUTH_ACCESS_TTL_SECS`
//! (default 900), `AUTH_IDLE_TIMEOUT_SECS` (default 86400) and
//! `AUTH_SESSION_TTL_SECS` (default 604800) set the access-token lifetime,
//! the idle timeout and the absolute session lifetime.
//!
//! `AUTH_DPOP` (`off` by default) makes `/login` and `/refresh` read a `DPoP`
//! proof, whose `htu` is `AUTH_PUBLIC_ORIGIN` and the route's path when set,
//! else `http://` or `https://`, the request's `Host` and the path: with
//! `allowed`, a login with a proof binds its session to the proof's key
//! (`"token_type":"DPoP"`, `cnf.jkt`), and its refreshes then need a proof by
//! that key; `required` refuses a login or refresh without a proof. A refused
//! proof is 400 `{"error":"invalid_dpop_proof","code":…}`
//! (`dpop_proof_missing`, `dpop_proof_required`, `dpop_key_mismatch`,
//! `dpop_replayed`, …), and spends and clears nothing. Proofs are remembered
//! in the store against replay. The demo then shows a thief holding the
//! refresh cookie refused without the key, with a key of its own and with a
//! proof copied from the client, and the client refreshing with that same
//! cookie.
//!
//! The `__Host-` prefix makes browsers accept the refresh cookie only from
//! this host, over HTTPS, with `Path=/` and no `Domain`, so a sibling
//! subdomain cannot plant or shadow it. `SameSite=Strict` still lets sibling
//! subdomains through (they are the same site), so `/refresh` also refuses a
//! `Sec-Fetch-Site` other than `same-origin` or `none`, and an `Origin` other
//! than the app's own: `AUTH_PUBLIC_ORIGIN` (e.g. `https://app.example`) when
//! set, else `http://` or `https://` with the request's `Host`. Requests
//! without either header (curl, mobile apps) are not from a browser and pass.
//! The demo runs the app on its own loopback port with a clock it moves
//! forward, and prints every step. `tests/refresh_flow.rs` runs every rule
//! above through HTTP against the example's own router, for each store:
//! memory, Redis, a Redis Cluster, Redis over TLS and PostgreSQL.

mod access_token;
mod answers;
mod binding;
mod builder;
mod calls;
mod cookie;
mod endpoint;
mod error;
mod issuer;
mod issuer_builder;
mod lifetime;
mod outcome;
mod policy;
mod refresh;
pub(crate) mod rotation;
mod sessions;
mod signing;
mod single_use;
mod store;
mod token;

pub use access_token::{AccessToken, TokenRequest};
pub use answers::TokenResponse;
pub use builder::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_RETRY_WINDOW, DEFAULT_SESSION_LIFETIME, MAX_RETRY_WINDOW,
    MAX_REUSE_GRACE, SessionsBuilder,
};
pub use cookie::{RefreshCookie, SameSite};
pub use endpoint::TokenEndpoint;
pub use error::{SessionError, SessionErrorKind};
pub use issuer::{IssueError, TokenIssuer};
pub use issuer_builder::TokenIssuerBuilder;
pub use lifetime::{DEFAULT_ACCESS_LIFETIME, LifetimePolicy};
pub use outcome::{Refreshed, SessionEvent, TokenPair};
pub use policy::{SessionLimits, SessionPolicy};
pub use sessions::{LoginOptions, Sessions};
pub use signing::SigningKey;
pub use single_use::{MAX_SINGLE_USE_LIFETIME, SingleUseToken, SingleUseTokens};
pub use store::{
    EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SPENT_TOKENS_KEPT, SessionRecord,
    SessionStore,
};
pub use token::{RefreshToken, TokenHash};
