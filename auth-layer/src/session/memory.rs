//! The in-memory session store: the embedded default, for one process.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::rotation::{Decision, Presented, decide};
use super::{
    BoxFuture, EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SessionRecord,
    SessionStore, SessionStoreError, TokenHash,
};

/// A [`SessionStore`] in this process's memory. Clones share the data.
///
/// Every operation holds one lock for its whole decision, which is what
/// makes rotation atomic here. A session is forgotten one day
/// ([`RETENTION_AFTER_EXPIRY`]) after its absolute expiry, swept as new
/// sessions start.
///
/// ```
/// use auth_layer::session::{MemorySessionStore, SessionStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemorySessionStore::new();
/// assert!(store.session("s1").await.unwrap().is_none());
/// assert_eq!(store.len(), 0);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemorySessionStore {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Entry>,
    by_subject: HashMap<String, HashSet<String>>,
    /// (forget at, sid), to sweep without scanning.
    expiry: BTreeSet<(i64, String)>,
}

struct Entry {
    record: SessionRecord,
    current: TokenHash,
    /// Spent token → when it was spent.
    spent: HashMap<TokenHash, i64>,
    /// The most recently spent token.
    latest_spent: Option<TokenHash>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sessions held, live or ended but not yet forgotten.
    pub fn len(&self) -> usize {
        self.state().sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update completes under the lock before any code that could
        // panic runs, so a poisoned lock still guards consistent maps.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn sweep(&mut self, now: i64) {
        while let Some((forget_at, _)) = self.expiry.first()
            && *forget_at <= now
        {
            let Some((_, sid)) = self.expiry.pop_first() else {
                break;
            };
            if let Some(entry) = self.sessions.remove(&sid)
                && let Some(sids) = self.by_subject.get_mut(&entry.record.subject)
            {
                sids.remove(&sid);
                if sids.is_empty() {
                    self.by_subject.remove(&entry.record.subject);
                }
            }
        }
    }

    fn end(&mut self, sid: &str, reason: EndReason) -> Option<SessionRecord> {
        let entry = self.sessions.get_mut(sid)?;
        entry.record.ended.get_or_insert(reason);
        Some(entry.record.clone())
    }
}

fn forget_at(record: &SessionRecord) -> i64 {
    let retention = i64::try_from(RETENTION_AFTER_EXPIRY.as_secs()).unwrap_or(i64::MAX);
    record.expires_at.saturating_add(retention)
}

impl SessionStore for MemorySessionStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), SessionStoreError>> {
        {
            let mut state = self.state();
            state.sweep(session.created_at);
            state
                .expiry
                .insert((forget_at(session), session.sid.clone()));
            state
                .by_subject
                .entry(session.subject.clone())
                .or_default()
                .insert(session.sid.clone());
            state.sessions.insert(
                session.sid.clone(),
                Entry {
                    record: session.clone(),
                    current: token,
                    spent: HashMap::new(),
                    latest_spent: None,
                },
            );
        }
        Box::pin(async { Ok(()) })
    }

    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
        let record = self.state().sessions.get(sid).map(|e| e.record.clone());
        Box::pin(async move { Ok(record) })
    }

    fn rotate<'a>(
        &'a self,
        r: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, SessionStoreError>> {
        let outcome = {
            let mut state = self.state();
            match state.sessions.get_mut(r.sid) {
                None => RotateOutcome::Unknown,
                Some(entry) => {
                    let presented = if entry.current == r.presented {
                        Some(Presented::Current)
                    } else {
                        entry.spent.get(&r.presented).map(|at| Presented::Spent {
                            at: *at,
                            latest: entry.latest_spent == Some(r.presented),
                        })
                    };
                    match presented {
                        None => RotateOutcome::Unknown,
                        Some(presented) => match decide(&entry.record, presented, r) {
                            Decision::Rotate => {
                                entry.spent.insert(r.presented, r.now);
                                entry.latest_spent = Some(r.presented);
                                entry.current = r.next;
                                entry.record.last_used_at = r.now;
                                RotateOutcome::Rotated(entry.record.clone())
                            }
                            Decision::Duplicate => RotateOutcome::Duplicate(entry.record.clone()),
                            Decision::Reuse => {
                                entry.record.ended.get_or_insert(EndReason::Reuse);
                                RotateOutcome::Reused(entry.record.clone())
                            }
                            Decision::Refuse(refusal) => refusal.outcome(entry.record.clone()),
                        },
                    }
                }
            }
        };
        Box::pin(async move { Ok(outcome) })
    }

    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        _now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
        let record = self.state().end(sid, reason);
        Box::pin(async move { Ok(record) })
    }

    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        _now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, SessionStoreError>> {
        let ended = {
            let mut state = self.state();
            let sids: Vec<String> = state
                .by_subject
                .get(subject)
                .map(|sids| sids.iter().cloned().collect())
                .unwrap_or_default();
            sids.into_iter()
                .filter(|sid| {
                    let live = state
                        .sessions
                        .get(sid)
                        .is_some_and(|e| e.record.ended.is_none());
                    live && state.end(sid, reason).is_some()
                })
                .collect()
        };
        Box::pin(async move { Ok(ended) })
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemorySessionStore")
            .field("sessions", &state.sessions.len())
            .field("subjects", &state.by_subject.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn record(sid: &str, subject: &str, expires_at: i64) -> SessionRecord {
        SessionRecord {
            sid: sid.into(),
            subject: subject.into(),
            claims: Map::new(),
            version: 0,
            created_at: 0,
            expires_at,
            last_used_at: 0,
            ended: None,
        }
    }

    #[tokio::test]
    async fn sessions_are_forgotten_a_day_after_they_expire() {
        let store = MemorySessionStore::new();
        store
            .create(&record("old", "alice", 100), TokenHash::of("a"))
            .await
            .unwrap();
        let mut young = record("young", "alice", 100 + 86_400);
        young.created_at = 100 + 86_400;
        store.create(&young, TokenHash::of("b")).await.unwrap();
        assert!(store.session("old").await.unwrap().is_none());
        assert!(store.session("young").await.unwrap().is_some());
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.end_all("alice", EndReason::Logout, 0).await.unwrap(),
            ["young"]
        );
    }

    #[tokio::test]
    async fn ending_keeps_the_first_reason() {
        let store = MemorySessionStore::new();
        store
            .create(&record("s1", "alice", 100), TokenHash::of("a"))
            .await
            .unwrap();
        let first = store.end("s1", EndReason::Reuse, 0).await.unwrap().unwrap();
        let again = store
            .end("s1", EndReason::Logout, 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (first.ended, again.ended),
            (Some(EndReason::Reuse), Some(EndReason::Reuse))
        );
        assert!(
            store
                .end_all("alice", EndReason::Logout, 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .end("nobody", EndReason::Logout, 0)
                .await
                .unwrap()
                .is_none()
        );
    }
}
