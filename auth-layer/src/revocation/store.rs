//! [`RevocationStore`]: where revocations live, as the cache asks for them.

use std::sync::Arc;
use std::time::SystemTime;

use super::event::EventSender;
use crate::backend::{BoxFuture, StoreError};

/// Where revocations live. Object-safe; implementations are cheap to clone
/// handles (an `Arc` or a connection pool inside). The stores in
/// [`store`](crate::store) implement it, each also implementing
/// [`SessionStore`](crate::session::SessionStore) on the same connection.
///
/// Every write must be followed by publishing the matching
/// [`RevocationEvent`](super::RevocationEvent) to the other instances, and
/// [`listen`](Self::listen) delivers the events published by any instance.
///
/// ```
/// use auth_layer::revocation::RevocationStore;
/// use auth_layer::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store: Box<dyn RevocationStore> = Box::new(MemoryStore::new());
/// assert_eq!(store.user_version("alice").await.unwrap(), 0);
/// assert_eq!(store.bump_user_version("alice").await.unwrap(), 1);
/// assert!(!store.session_revoked("s1").await.unwrap());
/// # }
/// ```
pub trait RevocationStore: Send + Sync + 'static {
    /// The current token version of `sub`; 0 for a subject never seen.
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Whether the session `sid` is revoked.
    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Whether the token id `jti` is denied.
    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Raises the version of `sub` by one and returns the new version: every
    /// token issued before stops passing (log out everywhere, password change).
    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Revokes the session `sid`.
    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Denies the token id `jti` until `until` (the token's `exp`), after
    /// which the entry may be forgotten.
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A future that delivers every revocation published by any instance to
    /// `events` until `events` is closed, reconnecting by itself after the
    /// connection drops. `None` for a store with no events to deliver.
    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>>;
}

macro_rules! forward_store {
    ($ty:ty) => {
        impl RevocationStore for $ty {
            fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
                (**self).user_version(sub)
            }
            fn session_revoked<'a>(
                &'a self,
                sid: &'a str,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).session_revoked(sid)
            }
            fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).jti_denied(jti)
            }
            fn bump_user_version<'a>(
                &'a self,
                sub: &'a str,
            ) -> BoxFuture<'a, Result<u64, StoreError>> {
                (**self).bump_user_version(sub)
            }
            fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_session(sid)
            }
            fn revoke_jti<'a>(
                &'a self,
                jti: &'a str,
                until: SystemTime,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_jti(jti, until)
            }
            fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
                (**self).listen(events)
            }
        }
    };
}

forward_store!(Box<dyn RevocationStore>);
forward_store!(Arc<dyn RevocationStore>);
