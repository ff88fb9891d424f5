//! [`RevocationStore`]: where revocations live, as the cache asks for them.

use std::sync::Arc;
use std::time::SystemTime;

use super::event::EventSender;
use crate::backend::{BoxFuture, StoreError};

/// What a store holds for one subject of one issuer.
///
/// `not_before` refuses every token of the subject issued at or before that
/// second (Unix seconds); `version` is what tokens the project mints carry
/// in `ver`, and a token whose `ver` is below it is refused. A subject the
/// store has never seen is `SubjectState::default()`: version 0, no
/// not-before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubjectState {
    /// The subject's token version.
    pub version: u64,
    /// Tokens issued at or before this second (Unix seconds) are refused.
    pub not_before: Option<i64>,
}

impl SubjectState {
    /// A state with this version and not-before.
    ///
    /// ```
    /// use auth_layer::revocation::SubjectState;
    ///
    /// let state = SubjectState::new(2, Some(1_700_000_000));
    /// assert_eq!(state.version, 2);
    /// assert_eq!(SubjectState::default(), SubjectState::new(0, None));
    /// ```
    pub fn new(version: u64, not_before: Option<i64>) -> Self {
        Self {
            version,
            not_before,
        }
    }
}

/// A record to read, as [`RevocationStore::read_marked`] is asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKey<'a> {
    /// [`RevocationStore::subject`].
    Subject {
        /// The issuer.
        iss: &'a str,
        /// The subject.
        sub: &'a str,
    },
    /// [`RevocationStore::session_not_before`].
    Session {
        /// The issuer.
        iss: &'a str,
        /// The session id.
        sid: &'a str,
    },
    /// [`RevocationStore::jti_denied`].
    Jti {
        /// The issuer.
        iss: &'a str,
        /// The token id.
        jti: &'a str,
    },
}

/// A record as read, the answer of the matching [`RecordKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// What [`RevocationStore::subject`] answers.
    Subject(SubjectState),
    /// What [`RevocationStore::session_not_before`] answers.
    Session(Option<i64>),
    /// What [`RevocationStore::jti_denied`] answers.
    Jti(bool),
}

/// Where revocations live. Object-safe; implementations are cheap to clone
/// handles (an `Arc` or a connection pool inside). The stores in
/// [`store`](crate::store) implement it, each also implementing
/// [`SessionStore`](crate::session::SessionStore) on the same connection.
///
/// Every record is keyed by an issuer and an id (subject, session id or
/// token id): the same `sub` from two issuers is two subjects. Tokens
/// without `iss` belong to the empty issuer `""`. Times are Unix seconds.
///
/// Every write must be followed by publishing the matching
/// [`RevocationEvent`](super::RevocationEvent) to the other instances, and
/// [`listen`](Self::listen) delivers the events published by any instance.
///
/// ```
/// use auth_layer::revocation::{RevocationStore, SubjectState};
/// use auth_layer::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store: Box<dyn RevocationStore> = Box::new(MemoryStore::new());
/// let iss = "https://idp.example";
/// assert_eq!(store.subject(iss, "alice").await.unwrap(), SubjectState::default());
/// let state = store.revoke_subject(iss, "alice", 1_700_000_000).await.unwrap();
/// assert_eq!(state, SubjectState::new(1, Some(1_700_000_000)));
/// assert_eq!(store.subject("https://other.example", "alice").await.unwrap().version, 0);
/// # }
/// ```
pub trait RevocationStore: Send + Sync + 'static {
    /// What the store holds for `sub` of `iss`.
    fn subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>>;

    /// The not-before of the session `sid` of `iss`: tokens of that session
    /// issued at or before it are refused. `None` when it was never revoked.
    fn session_not_before<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, StoreError>>;

    /// Whether the token id `jti` of `iss` is denied.
    fn jti_denied<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Logs `sub` of `iss` out everywhere: raises its version by one and its
    /// not-before to `not_before` (it never moves back). Returns the new
    /// state. Two revocations raise the version twice, even when they run at
    /// once.
    fn revoke_subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>>;

    /// Revokes the session `sid` of `iss`: raises its not-before to
    /// `not_before` (it never moves back).
    fn revoke_session<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// [`revoke_session`](Self::revoke_session) for a session none of whose
    /// tokens can pass after `forget_after` (Unix seconds, the caller's
    /// clock): the record may be forgotten from then on. A record revoked
    /// again keeps the later time; one revoked through `revoke_session`
    /// (no end known) is kept for good. The default calls `revoke_session`,
    /// so a store that cannot expire records keeps them.
    ///
    /// `not_before` is the revocation's instant, the caller's now: the
    /// stores count the record's remaining life, and sweep the records of
    /// other sessions past their `forget_after`, from it. (A not-before in
    /// the future would forget records early; use `revoke_session` for it.)
    ///
    /// [`Sessions`](crate::session::Sessions) revokes its sessions this way,
    /// with `forget_after` the moment its last access token expires plus
    /// the longest leeway a layer may grant.
    fn revoke_session_until<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
        forget_after: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = forget_after;
        self.revoke_session(iss, sid, not_before)
    }

    /// Denies the token id `jti` of `iss` until `until` (the token's `exp`),
    /// after which the entry may be forgotten.
    fn revoke_jti<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Records the one-time id `id` of `iss` (a logout token's `jti`) as used
    /// until `until`: `true` the first time, `false` for a replay.
    fn first_use<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Whether the one-time id `id` of `iss` was recorded by
    /// [`first_use`](Self::first_use) and is still remembered.
    fn was_used<'a>(&'a self, iss: &'a str, id: &'a str)
    -> BoxFuture<'a, Result<bool, StoreError>>;

    /// The store's continuity marker: the second (Unix seconds, above 0) its
    /// revocation data began. Written when missing (a new or emptied store),
    /// so it changes exactly when the data was lost. The cache refuses every
    /// token issued before it.
    fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// The record `key` and then the [`marker`](Self::marker), as the
    /// cache reads them on a miss: the marker is read after the record (or
    /// in the same snapshot), so a record read before a loss of data is
    /// still right, and one read after it comes with the new marker. The
    /// default makes two calls; the Redis and PostgreSQL stores make one
    /// round trip.
    fn read_marked<'a>(
        &'a self,
        key: RecordKey<'a>,
    ) -> BoxFuture<'a, Result<(Record, i64), StoreError>> {
        Box::pin(async move {
            let record = read_record(self, key).await?;
            Ok((record, self.marker().await?))
        })
    }

    /// The records `keys`, in their order, and then the
    /// [`marker`](Self::marker), with the same ordering as
    /// [`read_marked`](Self::read_marked): what the cache reads when a token
    /// misses more than one of its caches (a token with `sub` and `sid`
    /// seen for the first time), so that it costs one round trip, not one
    /// per record. The default calls [`read_marked`](Self::read_marked)
    /// for each key, as the cache did before it read records together, and
    /// answers the last marker (read after every record); the Redis store
    /// (one server) pipelines them with the marker, the PostgreSQL store
    /// reads them in one statement.
    ///
    /// ```
    /// use auth_layer::revocation::{Record, RecordKey, RevocationStore, SubjectState};
    /// use auth_layer::store::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let iss = "https://idp.example";
    /// store.revoke_session(iss, "s1", 1_700_000_000).await.unwrap();
    /// let keys = [
    ///     RecordKey::Subject { iss, sub: "alice" },
    ///     RecordKey::Session { iss, sid: "s1" },
    /// ];
    /// let (records, marker) = store.read_all_marked(&keys).await.unwrap();
    /// assert_eq!(
    ///     records,
    ///     [Record::Subject(SubjectState::default()), Record::Session(Some(1_700_000_000))]
    /// );
    /// assert_eq!(marker, store.marker().await.unwrap());
    /// # }
    /// ```
    fn read_all_marked<'a>(
        &'a self,
        keys: &'a [RecordKey<'a>],
    ) -> BoxFuture<'a, Result<(Vec<Record>, i64), StoreError>> {
        Box::pin(async move {
            let mut records = Vec::with_capacity(keys.len());
            let mut last = None;
            for key in keys {
                let (record, marker) = self.read_marked(*key).await?;
                records.push(record);
                last = Some(marker);
            }
            let marker = match last {
                Some(marker) => marker,
                None => self.marker().await?,
            };
            Ok((records, marker))
        })
    }

    /// A future that delivers every revocation published by any instance to
    /// `events` until `events` is closed, reconnecting by itself after the
    /// connection drops. `None` for a store with no events to deliver.
    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>>;
}

/// The record `key`, through the store's read for its kind.
pub(crate) async fn read_record<S: RevocationStore + ?Sized>(
    store: &S,
    key: RecordKey<'_>,
) -> Result<Record, StoreError> {
    Ok(match key {
        RecordKey::Subject { iss, sub } => Record::Subject(store.subject(iss, sub).await?),
        RecordKey::Session { iss, sid } => {
            Record::Session(store.session_not_before(iss, sid).await?)
        }
        RecordKey::Jti { iss, jti } => Record::Jti(store.jti_denied(iss, jti).await?),
    })
}

/// [`RevocationStore::read_marked`] through the store's
/// [`read_all_marked`](RevocationStore::read_all_marked), for a store
/// whose read of one record is its read of several.
pub(crate) async fn read_marked_through_all<S: RevocationStore + ?Sized>(
    store: &S,
    key: RecordKey<'_>,
) -> Result<(Record, i64), StoreError> {
    let (records, marker) = store.read_all_marked(&[key]).await?;
    match <[Record; 1]>::try_from(records) {
        Ok([record]) => Ok((record, marker)),
        Err(_) => Err(StoreError::corrupt(
            "the store answered another number of records than asked for",
        )),
    }
}

/// The records `keys` one after the other, then the marker once: what
/// the Redis and PostgreSQL stores' [`RevocationStore::read_all_marked`]
/// do where one round trip is not possible.
pub(crate) async fn read_one_by_one<S: RevocationStore + ?Sized>(
    store: &S,
    keys: &[RecordKey<'_>],
) -> Result<(Vec<Record>, i64), StoreError> {
    let mut records = Vec::with_capacity(keys.len());
    for key in keys {
        records.push(read_record(store, *key).await?);
    }
    Ok((records, store.marker().await?))
}

macro_rules! forward_store {
    ($ty:ty) => {
        impl RevocationStore for $ty {
            fn subject<'a>(
                &'a self,
                iss: &'a str,
                sub: &'a str,
            ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
                (**self).subject(iss, sub)
            }
            fn session_not_before<'a>(
                &'a self,
                iss: &'a str,
                sid: &'a str,
            ) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
                (**self).session_not_before(iss, sid)
            }
            fn jti_denied<'a>(
                &'a self,
                iss: &'a str,
                jti: &'a str,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).jti_denied(iss, jti)
            }
            fn revoke_subject<'a>(
                &'a self,
                iss: &'a str,
                sub: &'a str,
                not_before: i64,
            ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
                (**self).revoke_subject(iss, sub, not_before)
            }
            fn revoke_session<'a>(
                &'a self,
                iss: &'a str,
                sid: &'a str,
                not_before: i64,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_session(iss, sid, not_before)
            }
            fn revoke_session_until<'a>(
                &'a self,
                iss: &'a str,
                sid: &'a str,
                not_before: i64,
                forget_after: i64,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_session_until(iss, sid, not_before, forget_after)
            }
            fn revoke_jti<'a>(
                &'a self,
                iss: &'a str,
                jti: &'a str,
                until: SystemTime,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).revoke_jti(iss, jti, until)
            }
            fn first_use<'a>(
                &'a self,
                iss: &'a str,
                id: &'a str,
                until: SystemTime,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).first_use(iss, id, until)
            }
            fn was_used<'a>(
                &'a self,
                iss: &'a str,
                id: &'a str,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).was_used(iss, id)
            }
            fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
                (**self).marker()
            }
            fn read_marked<'a>(
                &'a self,
                key: RecordKey<'a>,
            ) -> BoxFuture<'a, Result<(Record, i64), StoreError>> {
                (**self).read_marked(key)
            }
            fn read_all_marked<'a>(
                &'a self,
                keys: &'a [RecordKey<'a>],
            ) -> BoxFuture<'a, Result<(Vec<Record>, i64), StoreError>> {
                (**self).read_all_marked(keys)
            }
            fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
                (**self).listen(events)
            }
        }
    };
}

forward_store!(Box<dyn RevocationStore>);
forward_store!(Arc<dyn RevocationStore>);
