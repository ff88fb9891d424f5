//! [`RevocationStore`] for [`MemoryStore`].

use std::time::SystemTime;

use tokio::sync::broadcast;

use super::store::MemoryStore;
use crate::backend::{BoxFuture, StoreError};
use crate::revocation::{EventSender, RevocationEvent, RevocationStore, ScopedKey, SubjectState};

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, Result<T, StoreError>> {
    Box::pin(async move { Ok(value) })
}

impl MemoryStore {
    /// Raises the session's not-before; `forget_after` `None` keeps it for
    /// good, otherwise the later of the two ends counts. Records whose end
    /// is at or before `not_before` (the caller's now) are swept.
    fn revoke_session_record(
        &self,
        iss: &str,
        sid: &str,
        not_before: i64,
        forget_after: Option<i64>,
    ) {
        {
            let mut revocations = self.revocation_state();
            if forget_after.is_some() && not_before > revocations.swept_at {
                revocations.swept_at = not_before;
                revocations
                    .sessions
                    .retain(|_, (_, end)| end.is_none_or(|end| end > not_before));
            }
            let (nb, end) = revocations
                .sessions
                .entry(ScopedKey::new(iss, sid))
                .or_insert((not_before, forget_after));
            *nb = (*nb).max(not_before);
            *end = match (*end, forget_after) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        self.publish(RevocationEvent::Session {
            iss: iss.to_owned(),
            sid: sid.to_owned(),
        });
    }
}

impl RevocationStore for MemoryStore {
    fn subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        let key = ScopedKey::new(iss, sub);
        ready(
            self.revocation_state()
                .subjects
                .get(&key)
                .copied()
                .unwrap_or_default(),
        )
    }

    fn session_not_before<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        let key = ScopedKey::new(iss, sid);
        ready(
            self.revocation_state()
                .sessions
                .get(&key)
                .map(|(nbf, _)| *nbf),
        )
    }

    fn jti_denied<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = SystemTime::now();
        let key = ScopedKey::new(iss, jti);
        let mut state = self.revocation_state();
        let denied = match state.jtis.get(&key) {
            Some(until) if *until > now => true,
            Some(_) => {
                state.jtis.remove(&key);
                false
            }
            None => false,
        };
        ready(denied)
    }

    fn revoke_subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        let state = {
            let mut revocations = self.revocation_state();
            let state = revocations
                .subjects
                .entry(ScopedKey::new(iss, sub))
                .or_default();
            state.version = state.version.saturating_add(1);
            state.not_before = Some(state.not_before.map_or(not_before, |nb| nb.max(not_before)));
            *state
        };
        self.publish(RevocationEvent::User {
            iss: iss.to_owned(),
            sub: sub.to_owned(),
        });
        ready(state)
    }

    fn revoke_session<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.revoke_session_record(iss, sid, not_before, None);
        ready(())
    }

    fn revoke_session_until<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
        forget_after: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.revoke_session_record(iss, sid, not_before, Some(forget_after));
        ready(())
    }

    fn revoke_jti<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        {
            let now = SystemTime::now();
            let mut state = self.revocation_state();
            state.jtis.retain(|_, t| *t > now);
            let entry = state.jtis.entry(ScopedKey::new(iss, jti)).or_insert(until);
            *entry = (*entry).max(until);
        }
        self.publish(RevocationEvent::Jti {
            iss: iss.to_owned(),
            jti: jti.to_owned(),
        });
        ready(())
    }

    fn first_use<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = SystemTime::now();
        let mut state = self.revocation_state();
        state.used.retain(|_, t| *t > now);
        let first = match state.used.entry(ScopedKey::new(iss, id)) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(until);
                true
            }
        };
        ready(first)
    }

    fn was_used<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = SystemTime::now();
        let key = ScopedKey::new(iss, id);
        ready(
            self.revocation_state()
                .used
                .get(&key)
                .is_some_and(|t| *t > now),
        )
    }

    fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        ready(self.revocation_state().marker)
    }

    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        let mut rx = self.events.subscribe();
        Some(Box::pin(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        if events.send(event).is_err() {
                            return;
                        }
                    }
                    // Fell behind: events were missed, so nothing cached
                    // can be trusted any more.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if events.send(RevocationEvent::Resubscribed).is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const A: &str = "https://a.example";
    const B: &str = "https://b.example";

    #[tokio::test]
    async fn a_revocation_raises_version_and_not_before_of_one_issuer_only() {
        let store = MemoryStore::new();
        assert_eq!(
            store.subject(A, "bob").await.unwrap(),
            SubjectState::default()
        );
        let first = store.revoke_subject(A, "bob", 100).await.unwrap();
        assert_eq!(first, SubjectState::new(1, Some(100)));
        // An earlier not-before does not move it back.
        let second = store.revoke_subject(A, "bob", 90).await.unwrap();
        assert_eq!(second, SubjectState::new(2, Some(100)));
        assert_eq!(
            store.subject(B, "bob").await.unwrap(),
            SubjectState::default()
        );
        store.revoke_session(A, "s1", 50).await.unwrap();
        store.revoke_session(A, "s1", 40).await.unwrap();
        assert_eq!(store.session_not_before(A, "s1").await.unwrap(), Some(50));
        assert_eq!(store.session_not_before(B, "s1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn jti_denials_expire_with_the_token() {
        let store = MemoryStore::new();
        let now = SystemTime::now();
        store
            .revoke_jti(A, "live", now + Duration::from_secs(60))
            .await
            .unwrap();
        store
            .revoke_jti(A, "dead", now - Duration::from_secs(1))
            .await
            .unwrap();
        assert!(store.jti_denied(A, "live").await.unwrap());
        assert!(!store.jti_denied(B, "live").await.unwrap());
        assert!(!store.jti_denied(A, "dead").await.unwrap());
        assert!(!store.jti_denied(A, "never").await.unwrap());
    }

    #[tokio::test]
    async fn a_one_time_id_is_new_once_per_issuer() {
        let store = MemoryStore::new();
        let until = SystemTime::now() + Duration::from_secs(60);
        assert!(!store.was_used(A, "j1").await.unwrap());
        assert!(store.first_use(A, "j1", until).await.unwrap());
        assert!(store.was_used(A, "j1").await.unwrap());
        assert!(!store.first_use(A, "j1", until).await.unwrap());
        assert!(store.first_use(B, "j1", until).await.unwrap());
    }

    #[tokio::test]
    async fn every_write_is_heard_by_listeners() {
        let store = MemoryStore::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let listener = tokio::spawn(store.listen(tx).unwrap());
        store.revoke_session(A, "s1", 1).await.unwrap();
        store.revoke_subject(A, "alice", 1).await.unwrap();
        assert_eq!(
            rx.recv().await,
            Some(RevocationEvent::Session {
                iss: A.into(),
                sid: "s1".into()
            })
        );
        assert_eq!(
            rx.recv().await,
            Some(RevocationEvent::User {
                iss: A.into(),
                sub: "alice".into()
            })
        );
        listener.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_listener_that_fell_behind_drops_every_cached_answer() {
        let store = MemoryStore::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let listener = tokio::spawn(store.listen(tx).unwrap());
        // More revocations than the channel holds, before the listener runs.
        for i in 0..1100 {
            store.revoke_session(A, &format!("s{i}"), 1).await.unwrap();
        }
        assert_eq!(rx.recv().await, Some(RevocationEvent::Resubscribed));
        listener.abort();
    }
}
