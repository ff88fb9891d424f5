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
