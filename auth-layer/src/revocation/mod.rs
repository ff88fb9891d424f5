//! Revocation: taking a JWT back before it expires.
//!
//! A token carries `ver` (the user's token version when it was issued) and
//! may carry `sid` (its session) and `jti` (its id). A [`RevocationStore`]
//! holds the current version of every subject (0 for one it has never seen),
//! the revoked sessions and, optionally, denied token ids. A token is revoked
//! when its `ver` is below the subject's current version, its `sid` is
//! revoked, or its `jti` is denied; the layer then answers 401
//! `invalid_token` with the code `token_revoked`.
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
//! // "log out everywhere": every token of alice issued before now stops passing.
//! let version = revocation.bump_user_version("alice").await.unwrap();
//! assert_eq!(version, 1);
//! # let _ = auth;
//! # }
//! ```

mod builder;
mod cache;
mod event;
mod lookup;
mod store;

pub use builder::{DEFAULT_CAPACITY, DEFAULT_TTL, RevocationCacheBuilder};
pub use cache::RevocationCache;
pub(crate) use cache::{Facts, Probe};
pub use event::{EventSender, RevocationEvent};
pub use store::RevocationStore;
