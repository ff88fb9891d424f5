//! The Redis store (feature `redis`): revocations and sessions shared by
//! every instance, on one server or a Redis Cluster, with or without TLS.
//!
//! [`RedisStore`] implements both store traits on one connection.
//!
//! The storage contract (keys, channel, scripts) is documented
//! once, on [`RedisStore`].

mod connection;
mod events;
mod revocation;
mod session;
mod store;
mod upgrade;

pub use store::RedisStore;
