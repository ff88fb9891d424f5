//! Configuration from environment variables or a config file (serde).
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_HMAC_SECRET` | HMAC secret; its UTF-8 bytes are the key for every allowed HS* algorithm |
//! | `AUTH_PUBLIC_KEY_FILE` | path to an RSA, EC (P-256/P-384) or Ed25519 public key in PEM |
//! | `AUTH_ALGORITHMS` | comma list of allowed algorithms, e.g. `RS256,ES256` (default: every algorithm of the configured keys) |
//! | `AUTH_ISSUER` | comma list of accepted `iss` values |
//! | `AUTH_AUDIENCE` | comma list of accepted `aud` values |
//! | `AUTH_LEEWAY_SECS` | clock-skew leeway in seconds (default 60, at most 300) |
//! | `AUTH_TOKEN_TYPE` | required header `typ`, e.g. `at+jwt` |
//! | `AUTH_SUBJECT_OPTIONAL` | `true` lets tokens without `sub` pass (default `false`: RFC 9068 requires `sub`) |
//! | `AUTH_JWKS_URL` | a JWKS URL to take keys from (feature `jwks`) |
//! | `AUTH_OIDC_ISSUER` | an OpenID Connect issuer: keys by discovery, and accepted as `iss` (feature `jwks`) |
//! | `AUTH_REVOCATION_URL` | revocation store: `memory:` (default), `redis://…`, `rediss://…`, `redis+cluster://host:port,…`, `postgres://…` ([`AuthConfig::connect`], [`store::connect`](crate::store::connect)) |
//! | `AUTH_STORE_CA_FILE` | a PEM bundle of CA certificates for a store's TLS with a private CA ([`StoreOptions::ca_file`](crate::store::StoreOptions::ca_file)) |
//! | `AUTH_REVOCATION_TTL_SECS` | revocation cache TTL in seconds (default 30) |
//! | `AUTH_DPOP` | DPoP proofs (RFC 9449): `allowed`, `required` or `off` (default); with a shared revocation store, proofs are remembered across instances |
//! | `AUTH_RESOURCE` | the RFC 9728 resource identifier (`https://api.example.com/orders`): protected-resource metadata, and `resource_metadata` in every challenge; default: the first audience when it is an `https` URL |
//! | `AUTH_SCOPES_SUPPORTED` | comma list of the scopes the metadata lists |
//! | `AUTH_GRANT_PRESET` | where the identity provider puts scopes and roles: `keycloak:<client id>` (realm and that client's roles), `entra-id` (`roles`, `groups`), `auth0` (`permissions` as scopes), `okta` (`groups`); see [`GrantClaims`](crate::claims::GrantClaims) |
//! | `AUTH_ROLE_CLAIMS`, `AUTH_SCOPE_CLAIMS` | comma lists of more claims to read roles and scopes from: dotted paths (`realm_access.roles`) or JSON pointers (`/https:~1~1shop.example~1roles`) |
//! | `AUTH_STEP_UP_ACR`, `AUTH_STEP_UP_MAX_AGE_SECS` | a step-up rule (RFC 9470) for the routes that need it: accepted `acr` values (comma list), and the oldest login (`auth_time`) accepted, in seconds ([`AuthConfig::step_up`]) |
//! | `AUTH_PUBLIC_URL` | the external base URL (`https://api.example.com`) DPoP proofs' `htu` is compared with; default `http://` and the request's `Host` |
//!
//! Unset or empty variables keep the defaults; a malformed one is an error
//! that names it. The same fields, in snake case without the prefix, can be
//! read by serde from any format:
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::config::AuthConfig;
//!
//! let config: AuthConfig = serde_json::from_str(r#"{
//!     "hmac_secret": "a-secret-of-at-least-thirty-two-bytes!",
//!     "algorithms": ["HS256"],
//!     "issuers": ["https://issuer.example"],
//!     "audiences": ["orders-api"],
//!     "leeway_secs": 30
//! }"#).unwrap();
//! let auth = JwtAuth::builder().config(&config).build().unwrap();
//! # let _ = auth;
//!
//! let from_env = AuthConfig::from_lookup(|name| match name {
//!     "AUTH_LEEWAY_SECS" => Some("soon".into()),
//!     _ => None,
//! });
//! assert_eq!(
//!     from_env.unwrap_err().to_string(),
//!     "AUTH_LEEWAY_SECS: \"soon\" is not a whole number of seconds"
//! );
//! ```

mod apply;
mod read;

pub use read::AuthConfig;
