//! [`SessionStore`] for [`MemoryStore`]: one lock per decision.

use std::collections::{HashMap, VecDeque};

use super::store::{Entry, MemoryStore, Sessions};
use crate::backend::{BoxFuture, StoreError};
use crate::session::rotation::{Decision, Presented, decide};
use crate::session::{
    EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SPENT_TOKENS_KEPT, SessionRecord,
    SessionStore, TokenHash,
};

impl Sessions {
    fn sweep(&mut self, now: i64) {
        while let Some((forget_at, _)) = self.expiry.first()
            && *forget_at <= now
        {
            let Some((_, sid)) = self.expiry.pop_first() else {
                break;
            };
            if let Some(entry) = self.by_sid.remove(&sid)
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
        let entry = self.by_sid.get_mut(sid)?;
        entry.record.ended.get_or_insert(reason);
        Some(entry.record.clone())
    }
}

fn forget_at(record: &SessionRecord) -> i64 {
    let retention = i64::try_from(RETENTION_AFTER_EXPIRY.as_secs()).unwrap_or(i64::MAX);
    record.expires_at.saturating_add(retention)
}

impl SessionStore for MemoryStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        {
            let mut state = self.session_state();
            state.sweep(session.created_at);
            state
                .expiry
                .insert((forget_at(session), session.sid.clone()));
            state
                .by_subject
                .entry(session.subject.clone())
                .or_default()
                .insert(session.sid.clone());
            state.by_sid.insert(
                session.sid.clone(),
                Entry {
                    record: session.clone(),
                    current: token,
                    spent: HashMap::new(),
                    spent_order: VecDeque::new(),
                },
            );
        }
        Box::pin(async { Ok(()) })
    }

    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        let record = self
            .session_state()
            .by_sid
            .get(sid)
            .map(|e| e.record.clone());
        Box::pin(async move { Ok(record) })
    }

    fn rotate<'a>(
        &'a self,
        r: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>> {
        let outcome = {
            let mut state = self.session_state();
            match state.by_sid.get_mut(r.sid) {
                None => RotateOutcome::Unknown,
                Some(entry) => {
                    let presented = if entry.current == r.presented {
                        Some(Presented::Current)
                    } else {
                        let latest = entry.spent_order.back() == Some(&r.presented);
                        entry.spent.get(&r.presented).map(|at| Presented::Spent {
                            at: *at,
                            latest,
                            repeated: latest && entry.current == r.next,
                        })
                    };
                    match presented {
                        None => RotateOutcome::Unknown,
                        Some(presented) => match decide(&entry.record, presented, r) {
                            Decision::Rotate => {
                                entry.spent.insert(r.presented, r.now);
                                entry.spent_order.push_back(r.presented);
                                while entry.spent_order.len() > SPENT_TOKENS_KEPT {
                                    if let Some(oldest) = entry.spent_order.pop_front() {
                                        entry.spent.remove(&oldest);
                                    }
                                }
                                entry.current = r.next;
                                entry.record.last_used_at = r.now;
                                if let Some(claims) = r.claims {
                                    entry.record.claims = claims.clone();
                                }
                                RotateOutcome::Rotated(entry.record.clone())
                            }
                            Decision::Repeat => RotateOutcome::Retried(entry.record.clone()),
                            Decision::Duplicate => RotateOutcome::Duplicate(entry.record.clone()),
                            Decision::Mismatch => {
                                crate::session::rotation::warn_mismatch(r.sid);
                                RotateOutcome::Unknown
                            }
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
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        let record = self.session_state().end(sid, reason);
        Box::pin(async move { Ok(record) })
    }

    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        _now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let ended = {
            let mut state = self.session_state();
            let sids: Vec<String> = state
                .by_subject
                .get(subject)
                .map(|sids| sids.iter().cloned().collect())
                .unwrap_or_default();
            sids.into_iter()
                .filter(|sid| {
                    let live = state
                        .by_sid
                        .get(sid)
                        .is_some_and(|e| e.record.ended.is_none());
                    live && state.end(sid, reason).is_some()
                })
                .collect()
        };
        Box::pin(async move { Ok(ended) })
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
            dpop_jkt: None,
            idle_timeout: None,
        }
    }

    #[tokio::test]
    async fn sessions_are_forgotten_a_day_after_they_expire() {
        let store = MemoryStore::new();
        store
            .create(&record("old", "alice", 100), TokenHash::of("a"))
            .await
            .unwrap();
        let mut young = record("young", "alice", 100 + 86_400);
        young.created_at = 100 + 86_400;
        store.create(&young, TokenHash::of("b")).await.unwrap();
        assert!(store.session("old").await.unwrap().is_none());
        assert!(store.session("young").await.unwrap().is_some());
        assert_eq!(store.sessions(), 1);
        assert_eq!(
            store.end_all("alice", EndReason::Logout, 0).await.unwrap(),
            ["young"]
        );
    }

    #[tokio::test]
    async fn ending_keeps_the_first_reason() {
        let store = MemoryStore::new();
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
