//! [`Upgraded`]: what moving a 0.1 store's revocations to the issuer-scoped
//! layout did (see `AnyStore::upgrade_from_0_1`).

use std::time::SystemTime;

use super::AnyStore;
use crate::backend::StoreError;
use crate::revocation::unix_seconds;

/// The records moved by [`AnyStore::upgrade_from_0_1`], counted once per
/// 0.1 record (each is written once per issuer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Upgraded {
    /// Subjects whose version 0.1 had raised.
    pub subjects: u64,
    /// Sessions 0.1 had revoked.
    pub sessions: u64,
    /// Token ids 0.1 denied and whose tokens have not expired.
    pub token_ids: u64,
}

impl AnyStore {
    /// Moves the revocations a 0.1 deployment wrote (keyed by bare
    /// subject, session id and token id, for every issuer alike) into the
    /// issuer-scoped records, once for each of `issuers` (the issuers the
    /// 0.1 deployment accepted), and removes the 0.1 records:
    ///
    /// - a subject whose version 0.1 raised keeps that version (tokens the
    ///   project minted with an older `ver` stay refused) and gets a
    ///   not-before of now: every token of it issued before the upgrade is
    ///   refused, as 0.1 refused every token without `ver`, and tokens
    ///   issued afterwards pass;
    /// - a revoked session gets a not-before of now;
    /// - a denied token id stays denied until its token expires.
    ///
    /// Run it once before the first instance of this version starts (the
    /// `admin` example's `upgrade-0.1` command), and again after the last
    /// 0.1 instance stopped if any kept writing meanwhile. Idempotent apart
    /// from moving the not-befores to the later run. A memory store has
    /// nothing to upgrade; neither has a Redis Cluster (0.1 did not support
    /// one).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = auth_layer::store::connect("memory:").await.unwrap();
    /// let moved = store.upgrade_from_0_1(&["https://idp.example"]).await.unwrap();
    /// assert_eq!(moved, auth_layer::store::Upgraded::default());
    /// assert!(store.upgrade_from_0_1(&[]).await.is_err(), "no issuer to move them to");
    /// # }
    /// ```
    ///
    /// # Errors
    /// No issuer given, or the store failed (nothing or part was moved; run
    /// it again).
    pub async fn upgrade_from_0_1(&self, issuers: &[&str]) -> Result<Upgraded, StoreError> {
        if issuers.is_empty() {
            return Err(StoreError::corrupt(
                "no issuer to move the 0.1 records to: name the issuers the 0.1 deployment accepted",
            ));
        }
        let mut issuers = issuers.to_vec();
        issuers.sort_unstable();
        issuers.dedup();
        let issuers = &issuers[..];
        let now = unix_seconds(SystemTime::now());
        match self {
            AnyStore::Memory(_) => {
                // Nothing outlives the process: nothing to move.
                let _ = (issuers, now);
                Ok(Upgraded::default())
            }
            #[cfg(feature = "redis")]
            AnyStore::Redis(store) => store.upgrade_from_0_1(issuers, now).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.upgrade_from_0_1(issuers, now).await,
        }
    }
}
