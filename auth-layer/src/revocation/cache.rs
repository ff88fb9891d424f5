//! [`RevocationCache`]: in-process caches in front of a [`RevocationStore`], and
//! the rules a token is judged by.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;

use super::event::RevocationEvent;
use super::lookup::{Breaker, Lookup};
use super::memo::Epoch;
use super::store::{Record, RecordKey, RevocationStore, SubjectState};
use crate::backend::StoreError;
use crate::claims::VerifiedToken;
use crate::error::{AuthError, ConfigError, ErrorKind};

/// Caches the answers of a [`RevocationStore`] in this process and applies
/// the revocations every instance publishes.
///
/// One cache per concern (subjects, sessions, denied token ids), each
/// keyed by issuer and id, with the configured TTL and capacity (entries
/// per concern; S3-FIFO eviction). Concurrent misses for one key make one
/// store query. Cheap to clone; clones share the caches.
///
/// ```
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::store::MemoryStore;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cache = RevocationCache::builder(MemoryStore::new())
///     .ttl(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// cache.revoke_session("https://idp.example", "s1").await.unwrap();
/// let not_before = cache.store().session_not_before("https://idp.example", "s1").await.unwrap();
/// assert!(not_before.is_some());
/// # }
/// ```
#[derive(Clone)]
pub struct RevocationCache {
    pub(super) inner: Arc<Inner>,
}

/// The caches and settings, built by [`RevocationCacheBuilder::build`](super::RevocationCacheBuilder::build).
pub(super) struct Inner {
    pub(super) store: Arc<dyn RevocationStore>,
    pub(super) breaker: Breaker,
    pub(super) users: Lookup<SubjectState>,
    pub(super) sessions: Lookup<Option<i64>>,
    pub(super) jtis: Lookup<bool>,
    pub(super) check_jti: bool,
    pub(super) require_subject: bool,
    pub(super) require_session: bool,
    /// The issuer whose tokens' `ver` counts (the project's own).
    pub(super) versioned: OnceLock<Box<str>>,
    /// The store's continuity marker as last read; 0 before the first read.
    pub(super) marker: AtomicI64,
    /// Bumped after any entry is dropped (see [`memo`](super::memo)).
    pub(super) epoch: Arc<Epoch>,
    pub(super) timeout: Duration,
    pub(super) retry_after: Duration,
    pub(super) tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What the caches say about a token without waiting.
pub(crate) enum Probe {
    Pass,
    Reject(AuthError),
    Miss,
}

impl RevocationCache {
    /// The store behind the cache.
    pub fn store(&self) -> &dyn RevocationStore {
        &*self.inner.store
    }

    /// The longest one store call may take (see
    /// [`store_timeout`](super::RevocationCacheBuilder::store_timeout)).
    pub fn store_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The `Retry-After` sent with a 503 when the store is down.
    pub fn retry_after(&self) -> Duration {
        self.inner.retry_after
    }

    /// Logs `sub` of `iss` out everywhere, now: every token of that subject
    /// issued at or before this second is refused (`token_revoked`), tokens
    /// issued afterwards pass. Also raises the subject's version, which
    /// tokens the project mints carry in `ver`. The store tells the other
    /// instances. Returns the subject's new state.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_user(&self, iss: &str, sub: &str) -> Result<SubjectState, StoreError> {
        self.revoke_user_at(iss, sub, SystemTime::now()).await
    }

    /// [`revoke_user`](Self::revoke_user) with the not-before given: tokens
    /// issued at or before `not_before` are refused. A not-before never moves
    /// back: an earlier one than the stored one keeps the stored one.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_user_at(
        &self,
        iss: &str,
        sub: &str,
        not_before: SystemTime,
    ) -> Result<SubjectState, StoreError> {
        let inner = &*self.inner;
        let state = inner
            .store
            .revoke_subject(iss, sub, unix_seconds(not_before))
            .await?;
        inner.users.invalidate(iss, sub);
        Ok(state)
    }

    /// Revokes the session `sid` of `iss`, now: every token of that session
    /// issued at or before this second is refused.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_session(&self, iss: &str, sid: &str) -> Result<(), StoreError> {
        self.revoke_session_at(iss, sid, SystemTime::now()).await
    }

    /// [`revoke_session`](Self::revoke_session) with the not-before given.
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_session_at(
        &self,
        iss: &str,
        sid: &str,
        not_before: SystemTime,
    ) -> Result<(), StoreError> {
        let inner = &*self.inner;
        inner
            .store
            .revoke_session(iss, sid, unix_seconds(not_before))
            .await?;
        inner.sessions.invalidate(iss, sid);
        Ok(())
    }

    /// [`revoke_session_at`](Self::revoke_session_at) for a session none of
    /// whose tokens can pass after `forget_after` (Unix seconds): the store
    /// may forget the record from then on
    /// ([`RevocationStore::revoke_session_until`]).
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_session_until(
        &self,
        iss: &str,
        sid: &str,
        not_before: SystemTime,
        forget_after: i64,
    ) -> Result<(), StoreError> {
        let inner = &*self.inner;
        inner
            .store
            .revoke_session_until(iss, sid, unix_seconds(not_before), forget_after)
            .await?;
        inner.sessions.invalidate(iss, sid);
        Ok(())
    }

    /// Denies the token id `jti` of `iss` until `until` in the store and in
    /// this cache (checked only with
    /// [`check_jti`](super::RevocationCacheBuilder::check_jti)).
    ///
    /// # Errors
    /// The store failed; nothing was revoked.
    pub async fn revoke_jti(
        &self,
        iss: &str,
        jti: &str,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        self.inner.store.revoke_jti(iss, jti, until).await?;
        self.inner.jtis.invalidate(iss, jti);
        Ok(())
    }

    /// Drops the entries an event names, as the event listener does.
    pub async fn invalidate(&self, event: &RevocationEvent) {
        self.inner.invalidate(event);
    }

    /// Drops every cached answer.
    pub fn invalidate_all(&self) {
        self.inner.invalidate_all();
    }

    /// Cached subjects: the entries the subjects' cache holds, stale ones
    /// and failed loads not yet replaced or evicted included.
    pub fn cached_users(&self) -> u64 {
        self.inner.users.len()
    }

    /// The store's continuity marker as this instance last read it (Unix
    /// seconds): no token issued before it passes. `None` before the store
    /// first answered.
    pub fn store_marker(&self) -> Option<i64> {
        match self.inner.marker.load(Ordering::Acquire) {
            0 => None,
            marker => Some(marker),
        }
    }

    /// The issuer whose tokens' `ver` claim counts, if any (see
    /// [`versioned_issuer`](super::RevocationCacheBuilder::versioned_issuer)).
    pub fn versioned_issuer(&self) -> Option<&str> {
        self.inner.versioned.get().map(|iss| &**iss)
    }

    /// Makes `ver` count for tokens of `iss` (the issuer of
    /// [`Sessions`](crate::session::Sessions) built on this cache).
    pub(crate) fn honour_versions_of(&self, iss: &str) -> Result<(), ConfigError> {
        let mut now_set = false;
        let set = self.inner.versioned.get_or_init(|| {
            now_set = true;
            iss.into()
        });
        if now_set {
            // Versions count from now on: passes remembered before did not
            // read them.
            self.inner.epoch.bump();
        }
        if **set == *iss {
            Ok(())
        } else {
            Err(ConfigError::setting(
                "revocation versioned_issuer",
                "is already another issuer: one revocation cache serves the sessions of one issuer",
            ))
        }
    }

    /// The verdict on `token` from the caches alone, without waiting:
    /// `Some(Ok(()))` not revoked, `Some(Err(_))` refused, `None` when a
    /// cache has no answer and the store would have to be asked. This is
    /// the layer's per-request hot path.
    #[inline]
    pub fn cached_verdict<C>(&self, token: &VerifiedToken<C>) -> Option<Result<(), AuthError>> {
        match self.probe(token) {
            Probe::Pass => Some(Ok(())),
            Probe::Reject(e) => Some(Err(e)),
            Probe::Miss => None,
        }
    }

    /// Answers from the caches alone, without waiting: from the pass
    /// remembered in `token` while nothing it was read from has changed
    /// (see [`memo`](super::memo)), else by probing the caches, and a pass
    /// is remembered.
    #[inline]
    pub(crate) fn probe<C>(&self, token: &VerifiedToken<C>) -> Probe {
        let inner = &*self.inner;
        // Read before the entries: an entry dropped after this read makes
        // a memo made of it stale.
        let epoch = inner.epoch.current();
        // One clock reading for every concern's freshness.
        let now = Instant::now();
        if token
            .revocation_memo()
            .passes(epoch, inner.epoch.seconds(now))
        {
            return Probe::Pass;
        }
        match inner.probe(&token.facts(), now) {
            Ok(Some(until)) => {
                // With nothing looked up, the pass rests on the marker
                // alone; it is still kept no longer than an answer would be.
                let until = until.unwrap_or_else(|| now + inner.users.ttl());
                token
                    .revocation_memo()
                    .remember(epoch, inner.epoch.seconds(until));
                Probe::Pass
            }
            Ok(None) => Probe::Miss,
            Err(e) => Probe::Reject(e),
        }
    }

    /// Answers from the caches, asking the store for what they miss: the
    /// first concern to load reads the records the others miss with its
    /// own, in one store call, and hands them their answers.
    pub(crate) async fn check(&self, facts: Facts<'_>) -> Result<(), AuthError> {
        let inner = &*self.inner;
        let iat = inner.admit(&facts)?;
        let limits = (inner.timeout, &inner.breaker);
        let iss = facts.iss;
        let now = Instant::now();
        let missing: Vec<RecordKey<'_>> = [
            facts.sub.map(|sub| RecordKey::Subject { iss, sub }),
            facts.sid.map(|sid| RecordKey::Session { iss, sid }),
            facts
                .jti
                .filter(|_| inner.check_jti)
                .map(|jti| RecordKey::Jti { iss, jti }),
        ]
        .into_iter()
        .flatten()
        .filter(|key| !inner.cached(*key, now))
        .collect();
        if let Some(sub) = facts.sub {
            let state = inner
                .users
                .load((iss, sub), "subject", limits, || async {
                    match inner
                        .fetch(RecordKey::Subject { iss, sub }, &missing)
                        .await?
                    {
                        Record::Subject(state) => Ok(state),
                        other => Err(mismatch(other)),
                    }
                })
                .await
                .map_err(unavailable)?;
            if inner.subject_revoked(&state, &facts, iat) {
                return Err(revoked());
            }
        }
        if let Some(sid) = facts.sid {
            let nb = inner
                .sessions
                .load((iss, sid), "session", limits, || async {
                    match inner
                        .fetch(RecordKey::Session { iss, sid }, &missing)
                        .await?
                    {
                        Record::Session(nb) => Ok(nb),
                        other => Err(mismatch(other)),
                    }
                })
                .await
                .map_err(unavailable)?;
            if before(iat, nb) {
                return Err(revoked());
            }
        }
        if inner.check_jti
            && let Some(jti) = facts.jti
            && inner
                .jtis
                .load((iss, jti), "jti_denied", limits, || async {
                    match inner.fetch(RecordKey::Jti { iss, jti }, &missing).await? {
                        Record::Jti(denied) => Ok(denied),
                        other => Err(mismatch(other)),
                    }
                })
                .await
                .map_err(unavailable)?
        {
            return Err(revoked());
        }
        // Known once any record was read; a token with nothing to look up
        // reads it alone.
        inner.ensure_marker().await.map_err(unavailable)?;
        // Read after the records: a marker that changed meanwhile refuses
        // what the records (from before the loss) let through.
        if iat < inner.marker.load(Ordering::Acquire) {
            return Err(revoked());
        }
        Ok(())
    }
}

impl Inner {
    /// The verdict of the cached answers at `now`: `Ok(Some(until))` passes
    /// until the earliest of their ends of life (`None`: nothing was
    /// looked up), `Ok(None)` when one is missing, `Err` to refuse.
    #[inline]
    fn probe(&self, facts: &Facts<'_>, now: Instant) -> Result<Option<Option<Instant>>, AuthError> {
        let iat = self.admit(facts)?;
        let marker = self.marker.load(Ordering::Relaxed);
        if marker == 0 {
            return Ok(None);
        }
        if iat < marker {
            return Err(revoked());
        }
        let mut until: Option<Instant> = None;
        let mut read = |end: Instant| until = Some(until.map_or(end, |u| u.min(end)));
        let mut miss = false;
        if let Some(sub) = facts.sub {
            match self.users.probe(facts.iss, sub, now) {
                Some((state, _)) if self.subject_revoked(&state, facts, iat) => {
                    return Err(revoked());
                }
                Some((_, end)) => read(end),
                None => miss = true,
            }
        }
        if let Some(sid) = facts.sid {
            match self.sessions.probe(facts.iss, sid, now) {
                Some((nb, _)) if before(iat, nb) => return Err(revoked()),
                Some((_, end)) => read(end),
                None => miss = true,
            }
        }
        if self.check_jti
            && let Some(jti) = facts.jti
        {
            match self.jtis.probe(facts.iss, jti, now) {
                Some((true, _)) => return Err(revoked()),
                Some((false, end)) => read(end),
                None => miss = true,
            }
        }
        Ok(if miss { None } else { Some(until) })
    }

    /// The claims revocation needs: `iat` always, `sub` unless opted out,
    /// `sid` when asked for. Returns `iat`.
    #[inline]
    fn admit(&self, facts: &Facts<'_>) -> Result<i64, AuthError> {
        if self.require_subject && facts.sub.is_none() {
            return Err(missing("token has no `sub`, which revocation needs"));
        }
        if self.require_session && facts.sid.is_none() {
            return Err(missing("token has no session id, which revocation needs"));
        }
        facts
            .iat
            .ok_or_else(|| missing("token has no `iat`, which revocation needs"))
    }

    /// The subject's record refuses the token: by version for a token of
    /// the versioned issuer carrying `ver`, else by not-before.
    #[inline]
    fn subject_revoked(&self, state: &SubjectState, facts: &Facts<'_>, iat: i64) -> bool {
        match facts.ver {
            Some(ver) if self.versioned.get().is_some_and(|v| **v == *facts.iss) => {
                ver < state.version
            }
            _ => before(iat, state.not_before),
        }
    }

    /// Whether the cache for `key`'s concern holds a fresh answer at `now`.
    fn cached(&self, key: RecordKey<'_>, now: Instant) -> bool {
        match key {
            RecordKey::Subject { iss, sub } => self.users.probe(iss, sub, now).is_some(),
            RecordKey::Session { iss, sid } => self.sessions.probe(iss, sid, now).is_some(),
            RecordKey::Jti { iss, jti } => self.jtis.probe(iss, jti, now).is_some(),
        }
    }

    /// The record `key`, with the ones of `missing` that later concerns
    /// would load (subject, then session, then token id), and then the
    /// store's marker, in one store call
    /// ([`RevocationStore::read_all_marked`]); the marker is noted and the
    /// later records are offered to their caches.
    async fn fetch(
        &self,
        key: RecordKey<'_>,
        missing: &[RecordKey<'_>],
    ) -> Result<Record, StoreError> {
        let mut keys = Vec::with_capacity(missing.len().max(1));
        keys.push(key);
        keys.extend(
            missing
                .iter()
                .copied()
                .filter(|other| rank(*other) > rank(key)),
        );
        if keys.len() == 1 {
            return self.fetch_one(key).await;
        }
        // Read before the store is: an invalidation after them keeps the
        // offered answers out.
        let generations = (self.sessions.generation(), self.jtis.generation());
        let (records, marker) = match self.store.read_all_marked(&keys).await {
            Ok(read) => read,
            Err(e) => {
                // One bad record of a later concern (a value of the wrong
                // type, say) must not fail this one: its own record alone,
                // within the same timeout.
                tracing::debug!(error = %e, "revocation records read together failed: reading one");
                return self.fetch_one(key).await;
            }
        };
        if records.len() != keys.len() {
            return Err(StoreError::corrupt(
                "the store answered another number of records than asked for",
            ));
        }
        self.note_marker(marker);
        let mut records = records.into_iter();
        let first = records
            .next()
            .ok_or_else(|| StoreError::corrupt("the store answered no record"))?;
        for (asked, record) in keys.iter().skip(1).zip(records) {
            match (*asked, record) {
                (RecordKey::Session { iss, sid }, Record::Session(nb)) => {
                    self.sessions.offer(iss, sid, nb, generations.0);
                }
                (RecordKey::Jti { iss, jti }, Record::Jti(denied)) => {
                    self.jtis.offer(iss, jti, denied, generations.1);
                }
                (_, other) => return Err(mismatch(other)),
            }
        }
        Ok(first)
    }

    /// The record `key` and then the store's marker, in one call
    /// ([`RevocationStore::read_marked`]); the marker is noted.
    async fn fetch_one(&self, key: RecordKey<'_>) -> Result<Record, StoreError> {
        let (record, marker) = self.store.read_marked(key).await?;
        self.note_marker(marker);
        Ok(record)
    }

    /// Reads the marker unless it is known, through the breaker like any
    /// store call.
    async fn ensure_marker(&self) -> Result<(), StoreError> {
        if self.marker.load(Ordering::Acquire) != 0 {
            return Ok(());
        }
        if !self.breaker.admit() {
            return Err(StoreError::Backoff(self.breaker.window));
        }
        let answer = tokio::time::timeout(self.timeout, self.store.marker()).await;
        match &answer {
            Ok(Ok(_)) => self.breaker.record(false),
            Ok(Err(_)) => {}
            Err(_) => self.breaker.record(true),
        }
        let marker = answer.unwrap_or(Err(StoreError::Timeout(self.timeout)))?;
        self.note_marker(marker);
        Ok(())
    }

    fn note_marker(&self, marker: i64) {
        let known = self.marker.load(Ordering::Acquire);
        if marker <= known {
            // The same, or older than one already seen (a slow writer's
            // clock, an old backup): what is known stays, nothing to drop.
            return;
        }
        let known = self.marker.fetch_max(marker, Ordering::AcqRel);
        if known >= marker {
            return; // another caller noted it first
        }
        if known == 0 {
            tracing::info!(
                marker,
                "revocation store read: tokens issued before its data began are refused"
            );
            return;
        }
        tracing::error!(
            previous = known,
            marker,
            "the revocation store's continuity marker changed: its data was lost or replaced \
             (a restart without persistence, a flush, a new cluster). Every token issued before \
             the new marker is refused; users sign in again"
        );
        self.invalidate_all();
    }

    fn invalidate_all(&self) {
        self.users.invalidate_all();
        self.sessions.invalidate_all();
        self.jtis.invalidate_all();
    }

    pub(super) fn invalidate(&self, event: &RevocationEvent) {
        match event {
            RevocationEvent::User { iss, sub } => self.users.invalidate(iss, sub),
            RevocationEvent::Session { iss, sid } => self.sessions.invalidate(iss, sid),
            RevocationEvent::Jti { iss, jti } => self.jtis.invalidate(iss, jti),
            RevocationEvent::Resubscribed => self.invalidate_all(),
        }
    }
}

/// Whether a token issued at `iat` falls under the not-before `nb`. The
/// second of the revocation itself is refused: at one-second resolution a
/// token issued in it cannot be told from one issued just before. No leeway
/// applies.
#[inline]
fn before(iat: i64, nb: Option<i64>) -> bool {
    nb.is_some_and(|nb| iat <= nb)
}

/// Unix seconds of `t` (0 before 1970).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The order concerns load in: subject, session, token id.
fn rank(key: RecordKey<'_>) -> u8 {
    match key {
        RecordKey::Subject { .. } => 0,
        RecordKey::Session { .. } => 1,
        RecordKey::Jti { .. } => 2,
    }
}

/// A store answered a read with another kind of record.
fn mismatch(record: Record) -> StoreError {
    StoreError::corrupt(&format!(
        "the store answered {record:?} to another kind of read"
    ))
}

fn revoked() -> AuthError {
    AuthError::new(ErrorKind::Revoked, "token has been revoked")
}

fn missing(description: &'static str) -> AuthError {
    AuthError::new(ErrorKind::MissingClaim, description)
}

fn unavailable(e: StoreError) -> AuthError {
    if matches!(e, StoreError::Backoff(_)) {
        // The failure that opened the breaker was logged at WARN.
        tracing::debug!(error = %e, "revocation store unavailable");
    } else {
        tracing::warn!(error = %e, "revocation store unavailable");
    }
    AuthError::new(
        ErrorKind::StoreUnavailable,
        "the revocation store is unavailable",
    )
    .with_source(e)
}

impl fmt::Debug for RevocationCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationCache")
            .field("timeout", &self.inner.timeout)
            .field("check_jti", &self.inner.check_jti)
            .field("require_subject", &self.inner.require_subject)
            .field("require_session", &self.inner.require_session)
            .field("versioned_issuer", &self.inner.versioned.get())
            .finish_non_exhaustive()
    }
}

/// What a token says about itself for revocation.
pub(crate) struct Facts<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: Option<&'a str>,
    pub(crate) iat: Option<i64>,
    pub(crate) ver: Option<u64>,
    pub(crate) sid: Option<&'a str>,
    pub(crate) jti: Option<&'a str>,
}

impl fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facts")
            .field("iat", &self.iat)
            .field("ver", &self.ver)
            .finish_non_exhaustive()
    }
}
