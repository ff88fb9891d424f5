//! Revocation: taking a JWT back before it expires.
//!
//! Every record is keyed by the token's issuer (`iss`) plus its subject
//! (`sub`), session id (`sid`) or token id (`jti`): the same `sub` from two
//! issuers is two people, and logging one out never touches the other.
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
//! JWT avoids, so a [`RevocationCache`] (moka) sits in front of it. Its TTL is
//! the upper bound on how long a revoked token can still pass on an instance
//! that missed the revocation event; every instance subscribes to the store's
//! events (Redis pub/sub, PostgreSQL `LISTEN`) and drops the affected entries
//! at once. When the store cannot answer and no cached answer is usable, the
//! layer answers 503 with `Retry-After`: never a 401, never a pass.
//!
//! The stores themselves (memory, Redis, PostgreSQL) are in
//! [`store`](crate::store); one store serves revocation and sessions alike.
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

mod builder;
mod cache;
mod event;
mod key;
mod lookup;
mod store;

pub use builder::{DEFAULT_CAPACITY, DEFAULT_TTL, RevocationCacheBuilder};
pub use cache::RevocationCache;
pub(crate) use cache::{Facts, Probe, unix_seconds};
pub use event::{EventSender, RevocationEvent};
pub(crate) use key::ScopedKey;
pub use store::{Record, RecordKey, RevocationStore, SubjectState};
