//! Keys from identity providers: a JWKS URL or OIDC discovery, refreshed in
//! the background (feature `jwks`).
//!
//! Most deployments verify tokens that an identity provider (Keycloak, Auth0,
//! Okta, Entra ID, Cognito, Dex, …) signs with keys it publishes as a JWKS and
//! rotates. A [`KeySource`] fetches the key set when it starts, refreshes it
//! on an interval (the server's `Cache-Control: max-age`, kept between 1 min
//! and 24 h; 5 min without one), and fetches it again when a token names a
//! `kid` it does not know. That request waits for the fetch (at most
//! `unknown_kid_wait`, default 1 s), so a key published a moment ago verifies
//! on its first use; requests arriving while the fetch runs wait for the same
//! one. Fetches are bounded: a kid that a fetch did not find causes no other
//! fetch for `refetch_window` (default 30 s), and kids never looked for cause
//! at most one fetch per `refetch_min_interval` (default 5 s). Outside a
//! fetch, a token whose kid may not cause one gets 401 `unknown_key` at once.
//! So a flood of made-up kids costs one fetch per interval, and cannot keep a
//! newly published key unknown for longer than that. When a fetch fails or
//! returns garbage, the last good key set stays in use (logged); fetches are
//! bounded in time and size (5 s, 512 KiB). Keys without a usable form
//! (`use: enc`, unsupported types, RSA under 2048 bits, HMAC secrets under 32 bytes)
//! are skipped with a logged reason; the rest of the set is used. A key
//! removed from the JWKS stops verifying after the next refresh, cached
//! verifications included. Only `https` URLs are fetched, except loopback
//! hosts, unless [`danger_allow_http`](KeySourceBuilder::danger_allow_http)
//! is set.
//!
//! A source found by OIDC discovery verifies the tokens of its issuer only;
//! a JWKS URL signs for the builder's issuer (see [`keys`](crate::keys)).
//! Provider tokens that carry many groups run 8–12 KB: within the layer's
//! size cap ([`max_token_bytes`](crate::JwtAuthBuilder::max_token_bytes),
//! 16384 bytes by default, checked before anything is decoded).
//!
//! Worked example: a Keycloak realm `shop` whose access tokens are for the
//! client `orders-api`.
//!
//! ```no_run
//! use auth_layer::JwtAuth;
//! use auth_layer::jwks::KeySource;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = "https://sso.example.com/realms/shop";
//! let keys = KeySource::oidc(issuer).start().await?; // reads {issuer}/.well-known/openid-configuration
//! let auth = JwtAuth::builder()
//!     .issuer(issuer)             // must equal the token's `iss` exactly
//!     .audience("orders-api")     // Keycloak: an audience mapper adds the client to `aud`
//!     .key_source(keys)
//!     .build()?;
//! # let _ = auth; Ok(()) }
//! ```
//!
//! or, with the examples: `AUTH_OIDC_ISSUER=https://sso.example.com/realms/shop
//! AUTH_AUDIENCE=orders-api cargo run --example server`. Discovery refuses a
//! document whose `issuer` is not exactly the configured one.
//! [`KeySource::jwks`]`(url)` takes a JWKS URL directly (Auth0:
//! `https://TENANT.auth0.com/.well-known/jwks.json`).
//!
//! # Several issuers
//!
//! Several issuers at once (multi-tenant): each
//! [`TrustedIssuer`](crate::keys::TrustedIssuer) has its own keys and
//! audiences; the token's `iss` picks them, and a token from any other issuer
//! is rejected before any key is looked up or fetched.
//!
//! Every key signs for one issuer only, so whoever holds one issuer's keys
//! cannot mint another's tokens. A key source found by OIDC discovery belongs
//! to its issuer; keys and JWKS URLs given to the builder belong to the
//! builder's one `issuer(..)`. `build()` refuses two accepted issuers sharing
//! the builder's keys, and says how to fix it: give each issuer its keys with
//! a `TrustedIssuer` (the same key or key source may be given to several, by
//! name: a provider's v1 and v2 issuers, say). From the environment,
//! `AUTH_ISSUER` (a comma list) names the issuers the static keys
//! (`AUTH_HMAC_SECRET`, `AUTH_PUBLIC_KEY_FILE`) and `AUTH_JWKS_URL` sign for;
//! it is required with `AUTH_OIDC_ISSUER` when any of them is set.
//!
//! ```no_run
//! use auth_layer::JwtAuth;
//! use auth_layer::jwks::KeySource;
//! use auth_layer::keys::TrustedIssuer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuth::builder()
//!     .trusted_issuer(TrustedIssuer::new("https://a.example").key_source(KeySource::oidc("https://a.example").start().await?).audience("api"))
//!     .trusted_issuer(TrustedIssuer::new("https://b.example").key_source(KeySource::oidc("https://b.example").start().await?).audience("api"))
//!     .build()?;
//! # let _ = auth; Ok(()) }
//! ```
//!
//! # Where providers put roles
//!
//! Identity providers do not agree on where roles go.
//! [`GrantClaims`](crate::claims::GrantClaims) says where the layer reads
//! them, in the same one pass, kept with the cached token like the default
//! claims: `GrantClaims::keycloak(["orders-api"])` (scopes from `scope`;
//! roles from `realm_access.roles` and `resource_access.orders-api.roles`),
//! `GrantClaims::entra_id()` (`scp`; `roles`, the app roles, and `groups`,
//! object ids), `GrantClaims::auth0()` (`scope` and `permissions`, RBAC; add
//! the namespaced claim your Action writes), `GrantClaims::okta()` (`scp`;
//! `groups`), and `GrantClaims::default()` (`scope`, `scp`; `roles`).
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::claims::{ClaimPath, GrantClaims};
//! use auth_layer::require::Require;
//! use axum::{Router, routing::get};
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .grant_claims(
//!         GrantClaims::auth0()
//!             .roles_from(ClaimPath::from_segments(["https://shop.example/roles"]).unwrap()),
//!     )
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/orders", get(|| async { "orders" }).route_layer(Require::scope(&auth, "read:orders")))
//!     .layer(auth);
//! ```
//!
//! - A path is a dotted path (`realm_access.roles`) or a JSON pointer
//!   (`/https:~1~1shop.example~1roles`, for names holding dots or slashes);
//!   `roles_from`, `scopes_from` and `spaced_roles_from` add one. Arrays of
//!   strings, or strings (split on spaces for scopes; one role otherwise).
//! - A claim of another shape grants nothing and keeps the token valid; a
//!   member named twice on a grant path refuses the token (`invalid_claims`),
//!   since JSON parsers disagree on which one wins.
//! - Keycloak's realm and client roles are one list: name them apart in
//!   Keycloak if they could clash.
//! - From the environment: `AUTH_GRANT_PRESET` (`keycloak:<client id>`,
//!   `entra-id`, `auth0`, `okta`), `AUTH_ROLE_CLAIMS` and `AUTH_SCOPE_CLAIMS`
//!   (comma lists of paths).

mod builder;
mod fetch;
mod set;
mod source;

pub use builder::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_REFRESH_INTERVAL,
    DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_REFETCH_MIN_INTERVAL, DEFAULT_REFETCH_WINDOW,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_UNKNOWN_KID_WAIT, KeySourceBuilder, MIN_REFRESH_INTERVAL,
};
pub use fetch::FetchError;
pub use source::KeySource;
pub(crate) use source::PendingFetch;
