//! [`LogoutTarget`]: what a verified logout token does, implemented by
//! whatever holds the sessions (the revocation cache, an application's own
//! session store).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::backend::{BoxFuture, StoreError};
use crate::revocation::RevocationCache;

/// What a verified logout token does.
///
/// The receiver asks [`was_used`](Self::was_used) (a replay is refused
/// before anything changes), then calls [`revoke_session`](Self::revoke_session)
/// when the token names a session, else [`revoke_subject`](Self::revoke_subject),
/// and only then records the `jti` with [`first_use`](Self::first_use). A
/// failure anywhere answers the provider 503 with `Retry-After`, and since
/// nothing was recorded before the revocation succeeded, its retry (at any
/// instance) does the logout again; the revocations take the logout token's
/// `iat` as not-before, so doing one twice changes nothing. Implementations
/// bound their own calls (a store timeout).
///
/// ```
/// use std::sync::Mutex;
/// use std::time::SystemTime;
/// use auth_layer::logout::LogoutTarget;
/// use auth_layer::store::{BoxFuture, StoreError};
///
/// /// Keeps what it is told in memory (one process only).
/// #[derive(Default)]
/// struct Sessions {
///     used: Mutex<Vec<(String, String)>>,
///     ended: Mutex<Vec<(String, String, SystemTime)>>,
/// }
///
/// impl LogoutTarget for Sessions {
///     fn was_used<'a>(&'a self, issuer: &'a str, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
///         let used = self.used.lock().unwrap().contains(&(issuer.to_owned(), jti.to_owned()));
///         Box::pin(async move { Ok(used) })
///     }
///     fn first_use<'a>(&'a self, issuer: &'a str, jti: &'a str, _until: SystemTime) -> BoxFuture<'a, Result<bool, StoreError>> {
///         Box::pin(async move {
///             let mut used = self.used.lock().unwrap();
///             let key = (issuer.to_owned(), jti.to_owned());
///             if used.contains(&key) {
///                 return Ok(false);
///             }
///             used.push(key);
///             Ok(true)
///         })
///     }
///     fn revoke_subject<'a>(&'a self, issuer: &'a str, subject: &'a str, not_before: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
///         Box::pin(async move {
///             self.ended.lock().unwrap().push((issuer.to_owned(), subject.to_owned(), not_before));
///             Ok(())
///         })
///     }
///     fn revoke_session<'a>(&'a self, issuer: &'a str, sid: &'a str, not_before: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
///         Box::pin(async move {
///             self.ended.lock().unwrap().push((issuer.to_owned(), sid.to_owned(), not_before));
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait LogoutTarget: Send + Sync + 'static {
    /// Whether `jti` of `issuer` was recorded as used (and is still
    /// remembered).
    ///
    /// # Errors
    /// The record could not be read.
    fn was_used<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Records `jti` of `issuer` as used until `until`; `Ok(false)` when it
    /// was already recorded.
    ///
    /// # Errors
    /// The record could not be read or written.
    fn first_use<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Refuses every token of `subject` from `issuer` issued at or before
    /// `not_before`.
    ///
    /// # Errors
    /// The revocation could not be recorded.
    fn revoke_subject<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Refuses every token of session `sid` from `issuer` issued at or
    /// before `not_before`.
    ///
    /// # Errors
    /// The revocation could not be recorded.
    fn revoke_session<'a>(
        &'a self,
        issuer: &'a str,
        sid: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<T: LogoutTarget + ?Sized> LogoutTarget for Arc<T> {
    fn was_used<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).was_used(issuer, jti)
    }

    fn first_use<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).first_use(issuer, jti, until)
    }

    fn revoke_subject<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).revoke_subject(issuer, subject, not_before)
    }

    fn revoke_session<'a>(
        &'a self,
        issuer: &'a str,
        sid: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).revoke_session(issuer, sid, not_before)
    }
}

/// The revocation cache as a logout target: the store remembers the
/// logout token's `jti`, and the session or subject is revoked for its
/// issuer in the store, which tells every instance. Each call is bounded by
/// the cache's store timeout.
impl LogoutTarget for RevocationCache {
    fn was_used<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(bounded(
            self.store_timeout(),
            self.store().was_used(issuer, jti),
        ))
    }

    fn first_use<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(bounded(
            self.store_timeout(),
            self.store().first_use(issuer, jti, until),
        ))
    }

    fn revoke_subject<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let revoke = self.revoke_user_at(issuer, subject, not_before);
            bounded(self.store_timeout(), revoke).await.map(drop)
        })
    }

    fn revoke_session<'a>(
        &'a self,
        issuer: &'a str,
        sid: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(bounded(
            self.store_timeout(),
            self.revoke_session_at(issuer, sid, not_before),
        ))
    }
}

async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(StoreError::Timeout(timeout)))
}
