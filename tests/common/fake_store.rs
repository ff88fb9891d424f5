//! [`FakeStore`]: a store for the tests that need no service, or that need
//! a real one to misbehave on cue: it wraps a store (the memory store
//! unless told otherwise), counts the reads, and fails or slows down when a
//! test says so.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_layer::revocation::{EventSender, Record, RecordKey, RevocationStore, SubjectState};
use auth_layer::session::{
    EndReason, RotateOutcome, Rotation, SessionRecord, SessionStore, TokenHash,
};
use auth_layer::store::{BoxFuture, MemoryStore, StoreError};

/// A store that behaves like `S` until a test switches a fault on:
/// [`set_down`](Self::set_down) (every call fails, as when the server is
/// gone), [`set_delay`](Self::set_delay) (every read answers late),
/// [`set_answer_late`](Self::set_answer_late) (every read answers what the
/// store held when asked, late, as a slow reply does) or
/// [`fail_for`](Self::fail_for) (reads of one subject, session or token id
/// fail). Clones share the faults and the counters.
#[derive(Clone)]
pub struct FakeStore<S = MemoryStore> {
    inner: S,
    faults: Arc<Faults>,
}

#[derive(Default)]
struct Faults {
    reads: AtomicUsize,
    calls: AtomicUsize,
    down: AtomicBool,
    delay_micros: AtomicU64,
    late_micros: AtomicU64,
    failing: Mutex<HashSet<String>>,
    marker: Mutex<Option<i64>>,
}

impl FakeStore {
    /// The memory store, with no fault.
    pub fn new() -> Self {
        Self::wrap(MemoryStore::new())
    }
}

impl Default for FakeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> FakeStore<S> {
    /// `store`, with no fault.
    pub fn wrap(store: S) -> Self {
        Self {
            inner: store,
            faults: Arc::default(),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Reads made so far: versions, revoked sessions, denied ids, sessions.
    pub fn reads(&self) -> usize {
        self.faults.reads.load(Ordering::SeqCst)
    }

    /// Store calls that read so far: a read of several records together
    /// ([`RevocationStore::read_all_marked`]) is one, as it is one round
    /// trip to a real store.
    pub fn calls(&self) -> usize {
        self.faults.calls.load(Ordering::SeqCst)
    }

    /// Every call fails from now on (`true`) or works again (`false`).
    pub fn set_down(&self, down: bool) {
        self.faults.down.store(down, Ordering::SeqCst);
    }

    /// Every read waits `delay` before it answers.
    pub fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.faults.delay_micros.store(micros, Ordering::SeqCst);
    }

    /// Every read takes its answer from the wrapped store at once and
    /// gives it `delay` later: a write made meanwhile is not in it.
    pub fn set_answer_late(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.faults.late_micros.store(micros, Ordering::SeqCst);
    }

    /// The store answers `marker` as its continuity marker from now on
    /// (`None`: the wrapped store's), as a store that lost its data would.
    pub fn set_marker(&self, marker: Option<i64>) {
        *self.faults.marker.lock().unwrap() = marker;
    }

    /// Reads of `key` (a subject, session id or token id) fail.
    pub fn fail_for(&self, key: &str) {
        self.faults.failing.lock().unwrap().insert(key.to_owned());
    }
}

impl<S: Send + Sync> FakeStore<S> {
    fn failure(&self, key: &str) -> Option<StoreError> {
        let failing = self.faults.down.load(Ordering::SeqCst)
            || self.faults.failing.lock().unwrap().contains(key);
        failing.then(|| {
            StoreError::unavailable(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "the store is down",
            ))
        })
    }

    /// A read of `key`: counted, delayed, failed or passed on.
    fn read<'a, T: Send + 'a>(
        &'a self,
        key: &'a str,
        call: BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        Box::pin(async move {
            self.faults.reads.fetch_add(1, Ordering::SeqCst);
            self.faults.calls.fetch_add(1, Ordering::SeqCst);
            let delay = Duration::from_micros(self.faults.delay_micros.load(Ordering::SeqCst));
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let answer = match self.failure(key) {
                Some(error) => Err(error),
                None => call.await,
            };
            let late = Duration::from_micros(self.faults.late_micros.load(Ordering::SeqCst));
            if !late.is_zero() {
                tokio::time::sleep(late).await;
            }
            answer
        })
    }

    /// A write: failed while the store is down, else passed on.
    fn write<'a, T: Send + 'a>(
        &'a self,
        call: BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        match self.failure("") {
            Some(error) => Box::pin(async move { Err(error) }),
            None => call,
        }
    }
}

impl<S: RevocationStore> RevocationStore for FakeStore<S> {
    fn subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        self.read(sub, self.inner.subject(iss, sub))
    }
    fn session_not_before<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        self.read(sid, self.inner.session_not_before(iss, sid))
    }
    fn jti_denied<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.read(jti, self.inner.jti_denied(iss, jti))
    }
    fn revoke_subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        self.write(self.inner.revoke_subject(iss, sub, not_before))
    }
    fn revoke_session<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.write(self.inner.revoke_session(iss, sid, not_before))
    }
    fn revoke_session_until<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
        forget_after: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.write(
            self.inner
                .revoke_session_until(iss, sid, not_before, forget_after),
        )
    }
    fn revoke_jti<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.write(self.inner.revoke_jti(iss, jti, until))
    }
    fn first_use<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.write(self.inner.first_use(iss, id, until))
    }
    fn was_used<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.read(id, self.inner.was_used(iss, id))
    }
    /// Not counted as a read (it follows every read), but failed and
    /// delayed like one.
    fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            if let Some(error) = self.failure("") {
                return Err(error);
            }
            let set = *self.faults.marker.lock().unwrap();
            match set {
                Some(marker) => Ok(marker),
                None => self.inner.marker().await,
            }
        })
    }
    /// The wrapped store's read of several records, as one call: counted
    /// as one call and a read per record, failed when one of the records
    /// fails, delayed once; the marker as [`marker`](Self::marker) answers.
    fn read_all_marked<'a>(
        &'a self,
        keys: &'a [RecordKey<'a>],
    ) -> BoxFuture<'a, Result<(Vec<Record>, i64), StoreError>> {
        let [first, rest @ ..] = keys else {
            return self.inner.read_all_marked(keys);
        };
        if rest.is_empty() {
            return Box::pin(async move {
                let (record, marker) = self.read_marked(*first).await?;
                Ok((vec![record], marker))
            });
        }
        let id = keys
            .iter()
            .map(|key| record_id(*key))
            .find(|id| self.failure(id).is_some())
            .unwrap_or_else(|| record_id(*first));
        self.faults.reads.fetch_add(rest.len(), Ordering::SeqCst);
        let read = self.read(id, self.inner.read_all_marked(keys));
        Box::pin(async move {
            let (records, marker) = read.await?;
            let set = *self.faults.marker.lock().unwrap();
            Ok((records, set.unwrap_or(marker)))
        })
    }
    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        self.inner.listen(events)
    }
}

/// The subject, session id or token id a record is read by.
fn record_id<'a>(key: RecordKey<'a>) -> &'a str {
    match key {
        RecordKey::Subject { sub, .. } => sub,
        RecordKey::Session { sid, .. } => sid,
        RecordKey::Jti { jti, .. } => jti,
        _ => "",
    }
}

impl<S: SessionStore> SessionStore for FakeStore<S> {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.write(self.inner.create(session, token))
    }
    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        self.read(sid, self.inner.session(sid))
    }
    fn rotate<'a>(
        &'a self,
        rotation: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>> {
        self.write(self.inner.rotate(rotation))
    }
    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        self.write(self.inner.end(sid, reason, now))
    }
    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.write(self.inner.end_all(subject, reason, now))
    }
}
