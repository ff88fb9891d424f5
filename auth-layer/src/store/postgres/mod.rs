//! The PostgreSQL store (feature `postgres`): revocations and sessions in
//! five tables, invalidation through `LISTEN`/`NOTIFY`, TLS through rustls.
//!
//! [`PostgresStore`] implements both store traits on one pool.
//!
//! The storage contract (tables, channel, schema) is documented
//! once, on [`PostgresStore`].

mod connect;
mod listen;
mod revocation;
mod schema;
mod session;
mod store;
mod upgrade;

pub use store::PostgresStore;
