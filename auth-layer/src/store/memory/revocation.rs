//! [`RevocationStore`] for [`MemoryStore`].

use std::time::SystemTime;

use tokio::sync::broadcast;

use super::store::MemoryStore;
use crate::backend::{BoxFuture, StoreError};
use crate::revocation::{EventSender, RevocationEvent, RevocationStore};

impl RevocationStore for MemoryStore {
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        let version = self
            .revocation_state()
            .versions
            .get(sub)
            .copied()
            .unwrap_or(0);
        Box::pin(async move { Ok(version) })
    }

    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let revoked = self.revocation_state().sessions.contains(sid);
        Box::pin(async move { Ok(revoked) })
    }

    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = SystemTime::now();
        let mut state = self.revocation_state();
        let denied = match state.jtis.get(jti) {
            Some(until) if *until > now => true,
            Some(_) => {
                state.jtis.remove(jti);
                false
            }
            None => false,
        };
        Box::pin(async move { Ok(denied) })
    }

    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        let version = {
            let mut state = self.revocation_state();
            let v = state.versions.entry(sub.to_owned()).or_insert(0);
            *v = v.saturating_add(1);
            *v
        };
        self.publish(RevocationEvent::User {
            sub: sub.to_owned(),
        });
        Box::pin(async move { Ok(version) })
    }

    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.revocation_state().sessions.insert(sid.to_owned());
        self.publish(RevocationEvent::Session {
            sid: sid.to_owned(),
        });
        Box::pin(async { Ok(()) })
    }

    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        {
            let now = SystemTime::now();
            let mut state = self.revocation_state();
            state.jtis.retain(|_, t| *t > now);
            state.jtis.insert(jti.to_owned(), until);
        }
        self.publish(RevocationEvent::Jti {
            jti: jti.to_owned(),
        });
        Box::pin(async { Ok(()) })
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

    #[tokio::test]
    async fn versions_start_at_zero_and_bump_by_one() {
        let store = MemoryStore::new();
        assert_eq!(store.user_version("alice").await.unwrap(), 0);
        assert_eq!(store.bump_user_version("alice").await.unwrap(), 1);
        assert_eq!(store.bump_user_version("alice").await.unwrap(), 2);
        assert_eq!(store.user_version("alice").await.unwrap(), 2);
        assert_eq!(store.user_version("bob").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn jti_denials_expire_with_the_token() {
        let store = MemoryStore::new();
        let now = SystemTime::now();
        store
            .revoke_jti("live", now + Duration::from_secs(60))
            .await
            .unwrap();
        store
            .revoke_jti("dead", now - Duration::from_secs(1))
            .await
            .unwrap();
        assert!(store.jti_denied("live").await.unwrap());
        assert!(!store.jti_denied("dead").await.unwrap());
        assert!(!store.jti_denied("never").await.unwrap());
    }

    #[tokio::test]
    async fn every_write_is_heard_by_listeners() {
        let store = MemoryStore::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let listener = tokio::spawn(store.listen(tx).unwrap());
        store.revoke_session("s1").await.unwrap();
        store.bump_user_version("alice").await.unwrap();
        assert_eq!(
            rx.recv().await,
            Some(RevocationEvent::Session { sid: "s1".into() })
        );
        assert_eq!(
            rx.recv().await,
            Some(RevocationEvent::User {
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
            store.revoke_session(&format!("s{i}")).await.unwrap();
        }
        assert_eq!(rx.recv().await, Some(RevocationEvent::Resubscribed));
        listener.abort();
    }
}
