//! [`RevocationStore`] for [`PostgresStore`]: three tables, each write and
//! its `pg_notify` in one transaction.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Postgres, Transaction};

use super::listen::listen;
use super::store::{CHANNEL, PostgresStore};
use crate::backend::{BoxFuture, StoreError};
use crate::revocation::{EventSender, RevocationEvent, RevocationStore};

/// Expired `jti` denials deleted at most per [`RevocationStore::revoke_jti`].
const JTI_SWEEP: i64 = 100;

impl RevocationStore for PostgresStore {
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT version FROM auth_user_versions WHERE subject = $1")
                    .bind(sub)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(StoreError::unavailable)?;
            Ok(stored.map_or(0, version))
        })
    }

    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM auth_revoked_sessions WHERE sid = $1)")
                .bind(sid)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM auth_denied_jtis WHERE jti = $1 AND expires_at > now())",
            )
            .bind(jti)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::unavailable)
        })
    }

    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
            let stored: i64 = sqlx::query_scalar(
                "INSERT INTO auth_user_versions (subject, version) VALUES ($1, 1) \
                 ON CONFLICT (subject) DO UPDATE SET version = auth_user_versions.version + 1 \
                 RETURNING version",
            )
            .bind(sub)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
            let event = RevocationEvent::User {
                sub: sub.to_owned(),
            };
            notify_and_commit(tx, &event)
                .await
                .map_err(StoreError::unavailable)?;
            Ok(version(stored))
        })
    }

    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
            sqlx::query(
                "INSERT INTO auth_revoked_sessions (sid, revoked_at) VALUES ($1, now()) \
                 ON CONFLICT (sid) DO NOTHING",
            )
            .bind(sid)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
            let event = RevocationEvent::Session {
                sid: sid.to_owned(),
            };
            notify_and_commit(tx, &event)
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
            sqlx::query(
                "DELETE FROM auth_denied_jtis WHERE jti IN ( \
                     SELECT jti FROM auth_denied_jtis WHERE expires_at <= now() \
                     LIMIT $1 FOR UPDATE SKIP LOCKED)",
            )
            .bind(JTI_SWEEP)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
            sqlx::query(
                "INSERT INTO auth_denied_jtis (jti, expires_at) VALUES ($1, to_timestamp($2)) \
                 ON CONFLICT (jti) DO UPDATE \
                 SET expires_at = GREATEST(auth_denied_jtis.expires_at, EXCLUDED.expires_at)",
            )
            .bind(jti)
            .bind(epoch_seconds(until))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
            let event = RevocationEvent::Jti {
                jti: jti.to_owned(),
            };
            notify_and_commit(tx, &event)
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        let options = (*self.pool.connect_options())
            .clone()
            .application_name(&self.listener_name);
        Some(Box::pin(listen(options, events)))
    }
}

/// Notifies `event` and commits: the notification is delivered only if the
/// write it follows is.
async fn notify_and_commit(
    mut tx: Transaction<'static, Postgres>,
    event: &RevocationEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(event.to_json())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A stored version as a token version (a negative one, which no writer of
/// the contract produces, counts as 0).
fn version(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// Seconds since the Unix epoch, for `to_timestamp`.
fn epoch_seconds(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_before_the_epoch_are_negative() {
        assert_eq!(epoch_seconds(UNIX_EPOCH + Duration::from_millis(1500)), 1.5);
        assert_eq!(epoch_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2.0);
    }

    #[test]
    fn negative_stored_versions_count_as_zero() {
        assert_eq!(version(-3), 0);
        assert_eq!(version(7), 7);
    }
}
