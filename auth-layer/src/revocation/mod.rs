//! Revocation: taking a JWT back before it expires.
//!
//! A JWT is checked by cryptography alone, so it cannot be taken back before
//! it expires, unless every request also checks a small piece of state. This
//! module keeps that state per **issuer**: every record is keyed by the
//! token's issuer (`iss`) plus its subject (`sub`), session id (`sid`) or
//! token id (`jti`), so the same `sub` from two issuers (two identity
//! providers, two tenants) is two people, and logging one out never touches
//! the other.
//!
//! Two rules decide, both kept by one [`RevocationStore`]:
//!
//! - **Not-before, for every token.** [`RevocationCache::revoke_user`]
//!   remembers the second a subject was logged out everywhere, and
//!   [`RevocationCache::revoke_session`] the second a session ended; a token
//!   of that subject or session whose `iat` is at or before that second is
//!   refused, and tokens issued afterwards pass. This works for tokens from
//!   identity providers that know nothing of this crate (Keycloak, Auth0,
//!   Entra ID, Okta), and no sequence of revocations bans anyone for good.
//! - **Version, for tokens the project mints.** [`TokenIssuer`](crate::session::TokenIssuer)
//!   writes the subject's current version into `ver`; revoking the subject
//!   raises it, so the tokens minted before are refused to the exact
//!   request rather than the second. It applies to the
//!   [versioned issuer](RevocationCacheBuilder::versioned_issuer) only.
//!
//! The store also keeps a continuity marker, the second its data began. A
//! store that lost its data (a restart without persistence, a flush, a new
//! cluster) starts a new marker, and every token issued before it is
//! refused and logged at ERROR: users sign in again once, and nobody
//! revoked comes back. Optionally, token ids (`jti`) can be denied one by one.
//!
//! With revocation, a token must carry `iat`, and `sub` unless
//! [`require_subject(false)`](RevocationCacheBuilder::require_subject):
//! without them a token cannot be judged, and is refused with the code
//! `missing_claim`. A revoked token gets 401 `invalid_token` with the code
//! `token_revoked`.
//!
//! Looking the store up on every request would bring back the database hit
//! JWT avoids, so a [`RevocationCache`] sits in front of it. Its TTL is
//! the upper bound on how long a revoked token can still pass on an instance
//! that missed the revocation event; every instance subscribes to the store's
//! events (Redis pub/sub, PostgreSQL `LISTEN`) and drops the affected entries
//! at once. When the store cannot answer and no cached answer is usable, the
//! layer answers 503 with `Retry-After`: never a 401, never a pass.
//!
//! The stores themselves (memory, Redis, PostgreSQL) are in
//! [`store`](crate::store); one store serves revocation and sessions alike.
//! In the examples, `AUTH_REVOCATION_URL` names it; the storage contracts
//! there say how another service revokes by writing the store directly.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::store::MemoryStore;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let revocation = RevocationCache::builder(MemoryStore::new())
//!     .ttl(Duration::from_secs(30))
//!     .build()
//!     .unwrap();
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .revocation(revocation.clone())
//!     .build()
//!     .unwrap();
//!
//! // "log out everywhere": every token of this alice issued up to now stops passing.
//! revocation.revoke_user("https://idp.example", "alice").await.unwrap();
//! # let _ = auth;
//! # }
//! ```
//!
//! # Tokens from an identity provider
//!
//! Keycloak, Auth0, Entra ID or Okta mint the tokens; you cannot re-mint them
//! or add claims. Revocation works by **not-before**, as Keycloak's own
//! `notBefore` does: the store remembers the second a user (or one session)
//! was logged out, and a token of that user (or session) **issued at or
//! before that second** is refused with 401 `invalid_token`, code
//! `token_revoked`. Tokens issued afterwards (the user signs in again) pass.
//!
//! ```no_run
//! use std::time::Duration;
//! use auth_layer::JwtAuth;
//! use auth_layer::revocation::RevocationCache;
//!
//! # async fn run(keys: auth_layer::keys::TrustedIssuer) -> Result<(), Box<dyn std::error::Error>> {
//! let iss = "https://login.example.com/realms/main";
//! let store = auth_layer::store::connect("redis://127.0.0.1:6379").await?;
//! let revocation = RevocationCache::builder(store).ttl(Duration::from_secs(30)).build()?;
//! let auth = JwtAuth::builder()
//!     .trusted_issuer(keys) // the issuer's keys: TrustedIssuer::new(iss).key_source(…)
//!     .audience("orders-api")
//!     .revocation(revocation.clone())
//!     .build()?;
//!
//! // log out everywhere / password change / account deleted:
//! revocation.revoke_user(iss, "f81d4fae-7dec-11d0").await?;
//! // one stolen device (the provider's session id, `sid`):
//! revocation.revoke_session(iss, "2c1e5a9e-53c1").await?;
//! # let _ = auth; Ok(()) }
//! ```
//!
//! The rules, exactly:
//!
//! - **The revocation's own second is refused.** `iat` has one-second
//!   resolution, so a token issued in the same second as the revocation
//!   cannot be told from one issued just before it; a user who signs in again
//!   within that second is refused once and succeeds a second later.
//! - **No leeway.** The clock leeway that tolerates skew for `exp` and `nbf`
//!   is not applied to not-before: it would let revoked tokens through. A
//!   provider whose clock runs ahead of yours by *d* seconds has tokens issued
//!   in the *d* seconds before a revocation pass; back-channel logout (below)
//!   uses the provider's own clock and has no such gap.
//! - **What a token must carry.** With revocation configured, a token without
//!   `iat` is refused (`missing_claim`): no not-before could be applied to it.
//!   So is one without `sub` (RFC 9068 makes `sub` mandatory), unless
//!   `.require_subject(false)` (`AUTH_REVOCATION_REQUIRE_SUB=false`;
//!   client-credentials tokens of some providers);
//!   `.require_session_id(true)` (`AUTH_REVOCATION_REQUIRE_SID=true`; off by
//!   default) also requires `sid`, where sessions are revoked one by one, so
//!   that every token can be revoked by session.
//! - `revoke_user_at` / `revoke_session_at` take the instant; a not-before
//!   never moves back.
//!
//! # OpenID Connect Back-Channel Logout
//!
//! When a user logs out at the provider, the provider posts a logout token to
//! your service; [`BackChannelLogout`](crate::logout::BackChannelLogout) (a
//! tower service, for axum, hyper and actix-web) validates it as section 2.6
//! of the specification says (that issuer's keys, `aud` = your client id,
//! `iat`, `events`, `sid` and/or `sub`, no `nonce`, `jti` never seen before,
//! remembered in the store so that a replay at another instance is refused
//! too) and revokes the session (or, with only `sub`, the user) for that
//! issuer. It answers 200, or 400 `{"error":"invalid_request"}` with no
//! detail, or 503 with `Retry-After` when the store is down. Mount it
//! **outside** the bearer-token layer: the provider sends no access token, the
//! signed logout token is the credential.
//!
//! The `server` example mounts it at `POST /backchannel-logout` when
//! `AUTH_OIDC_ISSUER` and `AUTH_OIDC_CLIENT_ID` (this service's client id at
//! that issuer) are set; register
//! `https://your-service/backchannel-logout` as the client's back-channel
//! logout URL at the provider. A logout naming a session reaches only the
//! access tokens that carry that `sid` (Keycloak's do; Auth0's and Entra ID's
//! carry none): where the provider's access tokens carry `sid`, set
//! `require_session_id(true)` (`AUTH_REVOCATION_REQUIRE_SID=true`) so that
//! none escapes; where they do not, ask the provider to send `sub` alone (log
//! out everywhere) or revoke the subject yourself.
//!
//! ```no_run
//! use auth_layer::logout::BackChannelLogout;
//! # async fn run(auth: auth_layer::JwtAuth, revocation: auth_layer::revocation::RevocationCache) -> Result<(), Box<dyn std::error::Error>> {
//! let logout = BackChannelLogout::builder(&auth)
//!     .issuer("https://login.example.com/realms/main")
//!     .client_id("orders-api")
//!     .build(revocation)?;
//! let app: axum::Router = axum::Router::new()
//!     .route("/orders", axum::routing::get(|| async { "orders" }))
//!     .layer(auth)
//!     .route_service("/backchannel-logout", logout); // after .layer: outside it
//! # let _ = app; Ok(()) }
//! ```
//!
//! # An operator's command line
//!
//! The `admin` example revokes through the store every instance shares
//! (`AUTH_REVOCATION_URL`; `memory:` is refused, another process cannot see
//! it) and prints the result as JSON; running instances enforce it within
//! milliseconds:
//!
//! ```sh
//! export AUTH_REVOCATION_URL=redis://127.0.0.1:6379
//! cargo run --example admin -- revoke-user    --issuer https://login.example.com --subject alice
//! cargo run --example admin -- revoke-session --issuer https://login.example.com --session 2c1e5a9e
//! cargo run --example admin -- revoke-token   --issuer https://login.example.com --jti 9c1e --expires 1767225600
//! cargo run --example admin -- show           --issuer https://login.example.com --subject alice
//! ```
//!
//! # Tokens this project mints: versions
//!
//! [`TokenIssuer`](crate::session::TokenIssuer) (see [`session`](crate::session))
//! writes `ver`, the subject's token version, into every token. Revoking a
//! subject also raises its version, so the tokens minted before are refused to
//! the exact request, not the second: logging out everywhere and signing in
//! again at once works. [`Sessions`](crate::session::Sessions) make their
//! issuer the cache's **versioned issuer** by themselves; an instance that
//! only verifies sets it with [`RevocationCacheBuilder::versioned_issuer`].
//! `ver` counts only for that issuer: providers use `ver` for other things
//! (Okta `1`, Entra ID `"2.0"`), so their tokens are always judged by
//! not-before, whatever `ver` they carry. `Sessions::logout` and `logout_all`
//! go through the same issuer-scoped records as `revoke_session` and
//! `revoke_user`. The claim names are configurable (`version_claim`,
//! `session_claim`); with `check_jti(true)`, single token ids can also be
//! denied until they expire (`revoke_jti`).
//!
//! # The store's continuity
//!
//! A revocation store that loses its data (Redis restarted without
//! persistence, a flushed database, a new empty cluster) would otherwise let
//! every revoked token pass again. The store keeps a **continuity marker**,
//! the second its data began, written with the data and read after every
//! lookup. No token issued before the marker passes; when it changes, every
//! instance logs it at ERROR and refuses the tokens issued before the new one.
//! Users sign in again once; nobody revoked comes back. (A memory store's
//! marker is the process start: its revocations die with the process, and so
//! do the tokens issued before.) A partial loss is another matter: see
//! [durability](crate::store#durability).
//!
//! # The cache and what its TTL means
//!
//! Looking the store up on every request would bring back the database hit
//! JWT exists to avoid, so a [`RevocationCache`] (one cache each for
//! subjects, sessions and token ids, keyed by issuer and id; TTL and capacity
//! configured) answers from memory, without waiting (`BENCHMARKS.md` has the
//! figures). Concurrent misses for one key make a single store query, whose
//! answer, or failure, they all share. A pass is also remembered in the
//! verified token it judged, so that the next request with the same token
//! (the verified-token cache hands out the same one) passes without
//! probing, for as long as no entry was dropped since and the answers it
//! read are fresh: a revocation takes effect on the next request all the
//! same. Every instance subscribes to
//! the store's revocation events and drops the affected entries at once:
//! measured here, a revocation made through one instance is enforced by
//! another in about 1 ms with Redis and 3 ms with PostgreSQL. The **TTL
//! (default 30 s, `AUTH_REVOCATION_TTL_SECS`) is the upper bound** on how long
//! a revoked token can still pass on an instance that missed the event (e.g.
//! while its subscription reconnects).
//!
//! # When the store is down
//!
//! By default the layer fails closed: a request whose answer is not cached
//! gets **503 with `Retry-After`**, never a 401 (the user did nothing wrong),
//! never a pass. `serve_stale_for(d)` instead keeps answering from the last
//! known answer for at most `d` beyond the TTL. A slow store is cut off at
//! `store_timeout` (default 2 s). After a store call times out, misses do not
//! each wait for that timeout: for the next second (the `Retry-After`) they
//! are answered at once, then one request tries the store again and its
//! success ends the outage. (A store that answers with an error, e.g. for one
//! malformed key, is not treated as down: other keys are still asked.) Every
//! backend reconnects by itself.
//!
//! `tests/faults.rs` stops the store (a TCP proxy in front of the real Redis
//! or PostgreSQL closes every connection and refuses new ones) in the middle
//! of a load of 16 clients, each request for a subject not yet cached:
//!
//! | fault | requests | answers | recovery after the store returns |
//! |---|---|---|---|
//! | Redis down 2 s (store timeout 300 ms) | 22 537 | 200 × 7 069, 503 × 15 468; all 8 665 requests made while down 503, p50 3.1 ms, max 307 ms (the timeouts that open the breaker) | 1.3 s |
//! | PostgreSQL down 2 s (store timeout 500 ms) | 16 237 | 200 × 3 177, 503 × 13 060; all 7 765 made while down 503, p50 3.0 ms, max 503 ms | 1.0 s |
//! | Redis down 1.8 s, `serve_stale_for(1 s)`, TTL 200 ms | 325 | cached subjects (260 requests): 200 × 156 until TTL + 1 s after the store's last answer (the last 1.19 s after it), then 503 × 104; new subjects: 503 × 65 | 0.57 s |
//! | Redis answers 150 ms late (timeout 500 ms) | 40 | 200 × 40, p50 155 ms, max 201 ms | — |
//! | Redis answers 1 s late (timeout 300 ms) | 32 | 503 × 32, p50 1.7 ms, max 306 ms | 200 again 1.0 s after the delay is removed |
//! | JWKS endpoint down 1.6 s (refresh every 200 ms, verified-token cache off) | 3 181 | 200 × 3 181 (1 618 while down): the last good keys keep verifying | first fetch 33 ms after it returns |
//!
//! Recovery is bounded by the one-second breaker: the first request after it
//! closes tries the store. Before the breaker (the same tests, one run):
//! every request made while Redis was down waited the full timeout (p50
//! 302 ms, PostgreSQL 503 ms), recovery 0–2 ms.
//!
//! No 401 and no panic in any of them.
//!
//! # Example: two instances, one Redis
//!
//! ```sh
//! cargo run --example revocation    # AUTH_REVOCATION_URL=postgres://… for PostgreSQL
//! ```
//!
//! starts two servers with their own connections and 60 s caches, revokes
//! through the first and prints the second's 401 and how long it took.

mod builder;
mod cache;
mod event;
mod key;
mod lookup;
mod memo;
mod store;

pub use builder::{DEFAULT_CAPACITY, DEFAULT_TTL, RevocationCacheBuilder};
pub use cache::RevocationCache;
pub(crate) use cache::{Facts, Probe, unix_seconds};
pub use event::{EventSender, RevocationEvent};
pub(crate) use key::ScopedKey;
pub(crate) use memo::Memo;
pub use store::{Record, RecordKey, RevocationStore, SubjectState};
pub(crate) use store::{read_marked_through_all, read_one_by_one};
