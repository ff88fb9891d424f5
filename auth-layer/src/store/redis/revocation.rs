//! [`RevocationStore`] for [`RedisStore`]: one read per lookup, one script
//! per write (the write and its `PUBLISH` together).

use std::time::{SystemTime, UNIX_EPOCH};

use super::events::listen;
use super::store::RedisStore;
use crate::backend::{BoxFuture, StoreError};
use crate::revocation::{
    EventSender, Record, RecordKey, RevocationEvent, RevocationStore, SubjectState,
    read_marked_through_all, read_one_by_one,
};

impl RedisStore {
    /// Revokes a session: for good, or for `ttl` seconds at least.
    async fn revoke_session_for(
        &self,
        iss: &str,
        sid: &str,
        not_before: i64,
        ttl: Option<i64>,
    ) -> Result<(), StoreError> {
        let event = RevocationEvent::Session {
            iss: iss.to_owned(),
            sid: sid.to_owned(),
        };
        let mut revoke =
            self.scripts
                .revoke_session
                .key(self.scoped_key("revoked-session", iss, sid));
        revoke
            .arg(self.channel())
            .arg(event.to_json())
            .arg(not_before)
            .arg(ttl.map(|t| t.to_string()).unwrap_or_default());
        self.invoke::<()>(&revoke).await
    }
}

impl RevocationStore for RedisStore {
    fn subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        let key = self.scoped_key("subject", iss, sub);
        Box::pin(async move {
            let (version, not_before): (Option<u64>, Option<i64>) = self
                .query(redis::cmd("HMGET").arg(key).arg("ver").arg("nbf"))
                .await?;
            Ok(SubjectState::new(version.unwrap_or(0), not_before))
        })
    }

    fn session_not_before<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        let key = self.scoped_key("revoked-session", iss, sid);
        Box::pin(async move { self.query(redis::cmd("GET").arg(key)).await })
    }

    fn jti_denied<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let key = self.scoped_key("denied-jti", iss, jti);
        Box::pin(async move { self.query(redis::cmd("EXISTS").arg(key)).await })
    }

    fn revoke_subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::User {
                iss: iss.to_owned(),
                sub: sub.to_owned(),
            };
            // This revocation's id: sent again after a lost answer, the
            // script finds it applied and does not raise the version twice.
            let mut id = [0_u8; 16];
            getrandom::fill(&mut id)
                .map_err(|e| StoreError::unavailable(std::io::Error::other(e.to_string())))?;
            let id = crate::mac::hex(&id);
            let mut revoke = self
                .scripts
                .revoke_subject
                .key(self.scoped_key("subject", iss, sub));
            revoke
                .arg(self.channel())
                .arg(event.to_json())
                .arg(id)
                .arg(not_before);
            let (version, not_before): (u64, i64) = self.invoke(&revoke).await?;
            Ok(SubjectState::new(version, Some(not_before)))
        })
    }

    fn revoke_session<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.revoke_session_for(iss, sid, not_before, None))
    }

    fn revoke_session_until<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
        forget_after: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // Redis expires keys on its own clock: the record lives as many
        // seconds as the caller's clock has left until `forget_after`.
        let ttl = forget_after.saturating_sub(not_before).max(1);
        Box::pin(self.revoke_session_for(iss, sid, not_before, Some(ttl)))
    }

    fn revoke_jti<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::Jti {
                iss: iss.to_owned(),
                jti: jti.to_owned(),
            };
            // A token already expired is refused anyway: nothing to store,
            // but the event still goes out.
            let expiry = if until > SystemTime::now() {
                unix_millis(until)
            } else {
                0
            };
            let mut revoke = self
                .scripts
                .revoke_jti
                .key(self.scoped_key("denied-jti", iss, jti));
            revoke.arg(self.channel()).arg(event.to_json()).arg(expiry);
            self.invoke::<()>(&revoke).await
        })
    }

    fn first_use<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let key = self.scoped_key("used-jti", iss, id);
        // At least a second from now, so that the key is written at all.
        let expiry = unix_millis(until).max(unix_millis(SystemTime::now()) + 1000);
        Box::pin(async move {
            // `SET … NX` answers OK when it wrote and nil when the key was
            // there. Sent again after a lost answer it finds its own write:
            // a replay is then refused, never a second use allowed.
            let written: Option<String> = self
                .query(
                    redis::cmd("SET")
                        .arg(key)
                        .arg(1)
                        .arg("NX")
                        .arg("PXAT")
                        .arg(expiry),
                )
                .await?;
            Ok(written.is_some())
        })
    }

    fn was_used<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let key = self.scoped_key("used-jti", iss, id);
        Box::pin(async move { self.query(redis::cmd("EXISTS").arg(key)).await })
    }

    fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let marker = self.scripts.marker.key(self.marker_key());
            self.invoke(&marker).await
        })
    }

    fn read_marked<'a>(
        &'a self,
        key: RecordKey<'a>,
    ) -> BoxFuture<'a, Result<(Record, i64), StoreError>> {
        Box::pin(read_marked_through_all(self, key))
    }

    fn read_all_marked<'a>(
        &'a self,
        keys: &'a [RecordKey<'a>],
    ) -> BoxFuture<'a, Result<(Vec<Record>, i64), StoreError>> {
        Box::pin(async move {
            if self.is_cluster() {
                // The records and the marker live on different nodes: one
                // after the other, in that order.
                return read_one_by_one(self, keys).await;
            }
            // One server runs a connection's commands in order: the marker
            // is read after the records, all in one round trip.
            let mut pipe = redis::pipe();
            for key in keys {
                match *key {
                    RecordKey::Subject { iss, sub } => pipe
                        .cmd("HMGET")
                        .arg(self.scoped_key("subject", iss, sub))
                        .arg("ver")
                        .arg("nbf"),
                    RecordKey::Session { iss, sid } => {
                        pipe.cmd("GET")
                            .arg(self.scoped_key("revoked-session", iss, sid))
                    }
                    RecordKey::Jti { iss, jti } => {
                        pipe.cmd("EXISTS")
                            .arg(self.scoped_key("denied-jti", iss, jti))
                    }
                };
            }
            pipe.cmd("GET").arg(self.marker_key());
            let mut values: Vec<redis::Value> = self
                .connection
                .run(|mut c| {
                    let pipe = &pipe;
                    async move { pipe.query_async(&mut c).await }
                })
                .await?;
            let marker: Option<i64> = match values.pop() {
                Some(value) if values.len() == keys.len() => {
                    redis::from_redis_value(value).map_err(StoreError::unavailable)?
                }
                _ => return Err(StoreError::corrupt("the pipeline's answers do not match")),
            };
            let records = keys
                .iter()
                .zip(values)
                .map(|(key, value)| record(*key, value))
                .collect::<Result<Vec<_>, _>>()?;
            // No marker: the data is new or was lost; write one now.
            let marker = match marker {
                Some(marker) => marker,
                None => self.marker().await?,
            };
            Ok((records, marker))
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
    fn marker_key(&self) -> String {
        let mut key = String::with_capacity(self.prefix().len() + 6);
        key.push_str(self.prefix());
        key.push_str("marker");
        key
    }
}

/// The record `key` from the answer to its command.
fn record(key: RecordKey<'_>, value: redis::Value) -> Result<Record, StoreError> {
    Ok(match key {
        RecordKey::Subject { .. } => {
            let (version, nb): (Option<u64>, Option<i64>) =
                redis::from_redis_value(value).map_err(StoreError::unavailable)?;
            Record::Subject(SubjectState::new(version.unwrap_or(0), nb))
        }
        RecordKey::Session { .. } => {
            Record::Session(redis::from_redis_value(value).map_err(StoreError::unavailable)?)
        }
        RecordKey::Jti { .. } => {
            Record::Jti(redis::from_redis_value(value).map_err(StoreError::unavailable)?)
        }
    })
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
