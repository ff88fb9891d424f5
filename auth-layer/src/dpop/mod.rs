//! DPoP (RFC 9449): proofs that the client holds the private key a token is
//! bound to, so that a leaked access or refresh token is useless alone.
//!
//! The layer checks them once given a verifier
//! ([`JwtAuthBuilder::dpop`](crate::JwtAuthBuilder::dpop), with a
//! [`DpopMode`]): a bound token (`cnf.jkt`) passes only as
//! `Authorization: DPoP <token>` with a proof by its key for the request,
//! and is refused as a bearer token. [`DpopVerifier`] applies every rule of
//! RFC 9449 section 4.3 to a proof and the request it came with (a
//! resource checking a bound token's proof, or a token endpoint binding
//! new tokens to the proof's key), and [`jwk_thumbprint`] computes the RFC
//! 7638 thumbprint that `cnf.jkt` carries. Proofs are remembered in
//! memory, and with [`shared_replay`](DpopVerifierBuilder::shared_replay)
//! in the store the instances share, so that a replay at another instance
//! is refused ([`DpopVerifier::verify_shared`]).
//!
//! ```
//! use auth_layer::dpop::{DpopVerifier, ProofRequest};
//! use http::HeaderMap;
//!
//! fn check(verifier: &DpopVerifier, headers: &HeaderMap, token: &str, jkt: &str) -> bool {
//!     let request = ProofRequest::new("GET", "https://api.example/orders")
//!         .access_token(token)
//!         .bound_to(jkt);
//!     verifier.verify_header(headers, &request).is_ok()
//! }
//! # let verifier = DpopVerifier::builder().build().unwrap();
//! # assert!(!check(&verifier, &HeaderMap::new(), "t", "k"));
//! ```
//!
//! # What it protects against
//!
//! A bearer token works for whoever holds it: one leaked through XSS, a log
//! line, a proxy or a stolen device is as good as the user's. A DPoP-bound
//! token (`cnf.jkt`) is useless alone: with every request the client sends a
//! proof, a JWS signed by its private key naming the request's method and
//! URI, the token's hash and a fresh `jti`. Short lifetimes and refresh
//! rotation limit the damage of a leak; DPoP removes it.
//!
//! # Turning it on
//!
//! Give the layer a [`DpopVerifier`]:
//!
//! ```no_run
//! use auth_layer::JwtAuth;
//! use auth_layer::dpop::{DpopMode, DpopVerifier};
//!
//! # #[cfg(feature = "jwks")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! # use auth_layer::jwks::KeySource;
//! let issuer = "https://sso.example.com/realms/shop";
//! let auth = JwtAuth::builder()
//!     .key_source(KeySource::oidc(issuer).start().await?)
//!     .issuer(issuer)
//!     .audience("orders-api")
//!     .dpop(DpopVerifier::builder().build()?)
//!     .dpop_mode(DpopMode::Allowed) // the default; Required refuses bearer tokens
//!     .public_url("https://api.example.com") // what clients address, behind a proxy
//!     .build()?;
//! # let _ = auth; Ok(()) }
//! ```
//!
//! From the environment: `AUTH_DPOP=allowed|required` and `AUTH_PUBLIC_URL`
//! (the `server`, `actix` and `grpc` examples read them). `AUTH_DPOP`:
//! `allowed` (bound tokens need `Authorization: DPoP` and a proof, unbound
//! tokens pass as bearer tokens), `required` (every token bound) or `off`
//! (the default; bound tokens are refused). With a shared
//! `AUTH_REVOCATION_URL`, a proof used at one instance is refused at the
//! others. `AUTH_PUBLIC_URL` is the external base URL clients address the
//! service by (`https://api.example.com`, with any path prefix a proxy
//! strips): proofs' `htu` must name it; by default `http://` and the
//! request's `Host`.
//!
//! With a provider (Keycloak, Auth0, Okta, panva's oidc-provider), turn DPoP
//! on for the client or API there; the provider then binds the tokens it
//! issues to the key of the proof the client sent to its token endpoint, and
//! the client sends `Authorization: DPoP <token>` with a proof to this
//! service. Tokens this project mints are bound by
//! [`Sessions`](crate::session::Sessions) (see
//! [binding refresh tokens to a DPoP key](crate::session#binding-refresh-tokens-to-a-dpop-key)).
//!
//! # What the layer does
//!
//! - A bound token passes only as `Authorization: DPoP <token>` with one
//!   `DPoP` proof header by its key for this request. As a bearer token
//!   (`Authorization: Bearer`, a cookie, the query) it is refused
//!   (`token_bound_to_key`): the downgrade of section 7.2.
//! - `Authorization: DPoP` with a token that is not bound is refused
//!   (`dpop_token_not_bound`).
//! - An unbound bearer token passes in `Allowed` mode and is refused in
//!   `Required` mode (`dpop_required`).
//! - The proof is checked as section 4.3 lists, each rule with its own code:
//!   one header (`dpop_proof_missing`, `dpop_proof_multiple`); a compact JWS
//!   read strictly (`dpop_proof_malformed`); `typ` `dpop+jwt`
//!   (`dpop_wrong_type`); an allowed asymmetric `alg`, ES256, ES384, EdDSA,
//!   RS256 and PS256 by default, never `none` or HS*
//!   (`dpop_algorithm_not_allowed`); a public `jwk` of that family, no private
//!   member (`dpop_invalid_key`); the signature (`dpop_invalid_signature`);
//!   `jti`, `htm`, `htu`, `iat` present (`dpop_missing_claim`); `htm` the
//!   method (`dpop_method_mismatch`); `htu` the URI, both normalised, query
//!   and fragment ignored (`dpop_uri_mismatch`); `iat` within ±60 s
//!   (`dpop_stale`); `ath` the token's hash (`dpop_ath_mismatch`); the key the
//!   token is bound to (`dpop_key_mismatch`); a `jti` not seen before within
//!   the window (`dpop_replayed`).
//! - `htu` is compared with `public_url` and the request's path, or without
//!   it with the request's own scheme and authority (HTTP/2), else `http://`
//!   and its `Host`. Set `public_url`: the request's authority and `Host` are
//!   the client's to choose, so without it a proof made for another server
//!   with the same path could be sent here (and a server terminating TLS
//!   itself over HTTP/1.1 would expect `http://` proofs). `build()` logs a
//!   warning when it is missing. A path with dot segments (`/a/../b`, also
//!   percent-encoded) is refused, since a router that keeps them would serve
//!   another route than the proof names.
//! - The verified-token cache still serves the token; only the proof is
//!   verified on each request.
//! - Proofs are remembered in memory for twice the window and a second
//!   (`replay_capacity`, one million ids by default: a steady 7 000 proofs a
//!   second with the 60 s window); full, the memory refuses proofs (503)
//!   rather than forget one.
//! - With `shared_replay(store, timeout)`, proofs are recorded in the store
//!   the revocation cache uses (one-time ids under the scope `dpop-proof`),
//!   so a proof replayed at another instance is refused. A store that does
//!   not answer is a 503, never a pass. `AUTH_DPOP` with a shared
//!   `AUTH_REVOCATION_URL` does this.
//! - Server nonces (sections 8 and 9) without shared state:
//!   `nonces(secret, lifetime)`. A proof without a current nonce gets 401
//!   `use_dpop_nonce` and a fresh `DPoP-Nonce` header; the client retries.
//!
//! # Answers
//!
//! Section 7.1. Challenges offer `DPoP algs="…"` beside `Bearer` (`Allowed`)
//! or alone (`Required`); the error goes on the challenge of the scheme it is
//! about:
//!
//! ```text
//! WWW-Authenticate: Bearer realm="api", DPoP realm="api", algs="ES256 ES384 EdDSA RS256 PS256", error="invalid_dpop_proof", error_description="the DPoP proof was used before"
//! ```
//!
//! A proof that breaks a rule is `invalid_dpop_proof`; a proof by another key
//! than the token's, a token that is not bound, and a bearer token where DPoP
//! is required are `invalid_token` (the token does not fit); a missing nonce
//! is `use_dpop_nonce`. gRPC calls get `grpc-status` 16 with the description,
//! and actix-web answers alike: `tests/dpop_layer.rs` runs one table against
//! both. The full table of answers is in [`response`](crate::response).
//!
//! # Your own token endpoint
//!
//! The verifier also serves code of your own, a token endpoint binding the
//! tokens it issues to a proof's key say:
//!
//! ```
//! use auth_layer::dpop::{DpopVerifier, ProofRequest};
//!
//! # fn check(headers: &http::HeaderMap) -> Result<(), auth_layer::dpop::DpopError> {
//! let verifier = DpopVerifier::builder().build().expect("the defaults are valid");
//! let proof = verifier.verify_header(headers, &ProofRequest::new("POST", "https://api.example/token"))?;
//! let jkt = proof.jkt(); // the RFC 7638 thumbprint to put in `cnf.jkt`
//! # let _ = jkt; Ok(()) }
//! ```

mod error;
mod htu;
mod replay;
mod resource;
mod thumbprint;
mod verifier;

pub use error::DpopError;
pub use resource::DpopMode;
pub(crate) use resource::{DpopResource, check_public_url};
pub use thumbprint::jwk_thumbprint;
pub(crate) use verifier::proof_header;
pub use verifier::{
    DEFAULT_IAT_WINDOW, DEFAULT_REPLAY_CAPACITY, DpopVerifier, DpopVerifierBuilder,
    MAX_PROOF_BYTES, ProofRequest, SHARED_PROOF_SCOPE, VerifiedProof,
};
