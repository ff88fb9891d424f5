//! [`RevocationStore`] for [`RedisStore`]: one `GET`/`EXISTS` per read, one
//! script per write (the write and its `PUBLISH` together).

use std::time::{SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;

use super::events::listen;
use super::store::RedisStore;
use crate::backend::{BoxFuture, StoreError};
use crate::revocation::{EventSender, RevocationEvent, RevocationStore};

impl RevocationStore for RedisStore {
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        let key = self.key("ver", sub);
        Box::pin(async move {
            let version: Option<u64> = self
                .connection
                .run(|mut c| {
                    let key = key.clone();
                    async move { c.get(key).await }
                })
                .await?;
            Ok(version.unwrap_or(0))
        })
    }

    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.exists(self.key("sid", sid)))
    }

    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.exists(self.key("jti", jti)))
    }

    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::User {
                sub: sub.to_owned(),
            };
            // The version this bump raises: the script raises it only while
            // it is still this one, so sending it again after a lost answer
            // (or a concurrent bump) does not raise it twice.
            let seen = self.user_version(sub).await?;
            let mut bump = self.scripts.bump.key(self.key("ver", sub));
            bump.arg(self.channel()).arg(event.to_json()).arg(seen);
            self.connection
                .run(|mut c| {
                    let bump = &bump;
                    async move { bump.invoke_async(&mut c).await }
                })
                .await
        })
    }

    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::Session {
                sid: sid.to_owned(),
            };
            let mut revoke = self.scripts.revoke_session.key(self.key("sid", sid));
            revoke
                .arg(self.channel())
                .arg(event.to_json())
                .arg(unix_millis(SystemTime::now()) / 1000);
            self.connection
                .run(|mut c| {
                    let revoke = &revoke;
                    async move { revoke.invoke_async::<()>(&mut c).await }
                })
                .await
        })
    }

    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::Jti {
                jti: jti.to_owned(),
            };
            // A token already expired is refused anyway: nothing to store,
            // but the event still goes out.
            let expiry = if until > SystemTime::now() {
                unix_millis(until)
            } else {
                0
            };
            let mut revoke = self.scripts.revoke_jti.key(self.key("jti", jti));
            revoke.arg(self.channel()).arg(event.to_json()).arg(expiry);
            self.connection
                .run(|mut c| {
                    let revoke = &revoke;
                    async move { revoke.invoke_async::<()>(&mut c).await }
                })
                .await
        })
    }

    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        Some(Box::pin(listen(
            self.target.clone(),
            self.channel(),
            events,
        )))
    }
}

impl RedisStore {
    async fn exists(&self, key: String) -> Result<bool, StoreError> {
        self.connection
            .run(|mut c| {
                let key = key.clone();
                async move { c.exists(key).await }
            })
            .await
    }
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn expiry_is_in_unix_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(unix_millis(t), 1_700_000_000_123);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
