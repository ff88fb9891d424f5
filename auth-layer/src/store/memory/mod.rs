//! The in-memory store: the embedded default, for one process.
//!
//! [`MemoryStore`] keeps revocations and sessions in this process's memory;
//! clones share them, and every
//! [`RevocationCache`](crate::revocation::RevocationCache) built on a clone
//! hears every revocation. Nothing survives a restart and no other process
//! sees it: use Redis or PostgreSQL for more than one instance.

mod revocation;
mod session;
mod store;

pub use store::MemoryStore;
