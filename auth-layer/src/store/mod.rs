//! Where revocations and sessions live: one store per backend, each
//! implementing every store trait, built once from one URL.
//!
//! | URL | store | feature |
//! |---|---|---|
//! | `memory:` (or empty) | [`MemoryStore`]: this process only | always |
//! | `redis://host[:port][/db]`, `rediss://…` (TLS), `redis+unix:///path` | `RedisStore`, one server | `redis` |
//! | `redis+cluster://host:port[,host:port…]`, `rediss+cluster://…` (TLS) | `RedisStore` on a Redis Cluster | `redis` |
//! | `postgres://…` / `postgresql://…` (`sslmode=require`, `verify-ca`, `verify-full`, `sslrootcert=…`) | `PostgresStore` | `postgres` |
//!
//! [`connect`] opens the store a URL names as an [`AnyStore`], which
//! implements [`RevocationStore`](crate::revocation::RevocationStore) and
//! [`SessionStore`](crate::session::SessionStore); pass clones of the same
//! store to [`RevocationCache`](crate::revocation::RevocationCache) and
//! [`Sessions`](crate::session::Sessions), so one pool or connection serves
//! both. [`StoreOptions`] adds a private CA for TLS. Each backend documents
//! its storage contract (keys, tables, channels) once, on its type:
//! `RedisStore`, `PostgresStore`.
//!
//! ```
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = auth_layer::store::connect("memory:").await?;
//! let revocation = RevocationCache::builder(store.clone()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
//! let sessions = Sessions::builder(issuer, store, revocation).build()?;
//!
//! let pair = sessions.login("alice", serde_json::json!({})).await?;
//! assert_eq!(sessions.logout_all("alice").await?, 1);
//! # let _ = pair;
//! # Ok(())
//! # }
//! ```

mod any;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod upgrade;
pub(crate) mod url;

pub use crate::backend::{BoxFuture, DEFAULT_STORE_TIMEOUT, StoreError};
pub use any::{AnyStore, StoreOptions, connect};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use upgrade::Upgraded;
