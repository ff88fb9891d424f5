//! [`RevocationStore`] for [`PostgresStore`]: one row per record, each
//! write and its `pg_notify` in one transaction.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Postgres, Transaction};

use super::listen::listen;
use super::store::{CHANNEL, PostgresStore};
use crate::backend::{BoxFuture, StoreError};
use crate::revocation::{
    EventSender, Record, RecordKey, RevocationEvent, RevocationStore, SubjectState,
    read_marked_through_all, read_one_by_one,
};

/// Expired rows deleted at most per write that sweeps.
const SWEEP: i64 = 100;

impl PostgresStore {
    /// Revokes a session, to be forgotten after `forget_after` (`None`:
    /// never; the later end wins, and never wins over a time). Sweeps up to
    /// [`SWEEP`] records whose end is at or before `not_before`, the
    /// caller's now.
    async fn revoke_session_for(
        &self,
        iss: &str,
        sid: &str,
        not_before: i64,
        forget_after: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
        if forget_after.is_some() {
            sqlx::query(
                "DELETE FROM auth_revoked_session_ids WHERE (issuer, sid) IN ( \
                     SELECT issuer, sid FROM auth_revoked_session_ids WHERE forget_after <= $1 \
                     LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(not_before)
            .bind(SWEEP)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
        }
        sqlx::query(
            "INSERT INTO auth_revoked_session_ids (issuer, sid, not_before, forget_after) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer, sid) DO UPDATE \
             SET not_before = GREATEST(auth_revoked_session_ids.not_before, EXCLUDED.not_before), \
                 forget_after = CASE WHEN auth_revoked_session_ids.forget_after IS NULL \
                     OR EXCLUDED.forget_after IS NULL THEN NULL \
                     ELSE GREATEST(auth_revoked_session_ids.forget_after, EXCLUDED.forget_after) END",
        )
        .bind(iss)
        .bind(sid)
        .bind(not_before)
        .bind(forget_after)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unavailable)?;
        let event = RevocationEvent::Session {
            iss: iss.to_owned(),
            sid: sid.to_owned(),
        };
        notify_and_commit(tx, &event)
            .await
            .map_err(StoreError::unavailable)
    }
}

impl RevocationStore for PostgresStore {
    fn subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        Box::pin(async move {
            let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT version, not_before FROM auth_revoked_subjects \
                 WHERE issuer = $1 AND subject = $2",
            )
            .bind(iss)
            .bind(sub)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::unavailable)?;
            Ok(row.map_or_else(SubjectState::default, |(v, nb)| {
                SubjectState::new(version(v), nb)
            }))
        })
    }

    fn session_not_before<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar(
                "SELECT not_before FROM auth_revoked_session_ids WHERE issuer = $1 AND sid = $2",
            )
            .bind(iss)
            .bind(sid)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::unavailable)
        })
    }

    fn jti_denied<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM auth_denied_token_ids \
                 WHERE issuer = $1 AND jti = $2 AND expires_at > now())",
            )
            .bind(iss)
            .bind(jti)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::unavailable)
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
            let (stored, nb): (i64, Option<i64>) = sqlx::query_as(
                "INSERT INTO auth_revoked_subjects (issuer, subject, version, not_before) \
                 VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (issuer, subject) DO UPDATE \
                 SET version = auth_revoked_subjects.version + 1, \
                     not_before = GREATEST(auth_revoked_subjects.not_before, EXCLUDED.not_before) \
                 RETURNING version, not_before",
            )
            .bind(iss)
            .bind(sub)
            .bind(not_before)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
            let event = RevocationEvent::User {
                iss: iss.to_owned(),
                sub: sub.to_owned(),
            };
            notify_and_commit(tx, &event)
                .await
                .map_err(StoreError::unavailable)?;
            Ok(SubjectState::new(version(stored), nb))
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
        Box::pin(self.revoke_session_for(iss, sid, not_before, Some(forget_after)))
    }

    fn revoke_jti<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
            sweep(&mut tx, "auth_denied_token_ids").await?;
            sqlx::query(
                "INSERT INTO auth_denied_token_ids (issuer, jti, expires_at) \
                 VALUES ($1, $2, to_timestamp($3)) \
                 ON CONFLICT (issuer, jti) DO UPDATE \
                 SET expires_at = GREATEST(auth_denied_token_ids.expires_at, EXCLUDED.expires_at)",
            )
            .bind(iss)
            .bind(jti)
            .bind(epoch_seconds(until))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
            let event = RevocationEvent::Jti {
                iss: iss.to_owned(),
                jti: jti.to_owned(),
            };
            notify_and_commit(tx, &event)
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn first_use<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
            sweep(&mut tx, "auth_used_token_ids").await?;
            // An expired row is taken over; a live one is a replay.
            let written = sqlx::query(
                "INSERT INTO auth_used_token_ids (issuer, jti, expires_at) \
                 VALUES ($1, $2, to_timestamp($3)) \
                 ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 WHERE auth_used_token_ids.expires_at <= now()",
            )
            .bind(iss)
            .bind(id)
            .bind(epoch_seconds(until))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?
            .rows_affected();
            tx.commit().await.map_err(StoreError::unavailable)?;
            Ok(written == 1)
        })
    }

    fn was_used<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM auth_used_token_ids \
                 WHERE issuer = $1 AND jti = $2 AND expires_at > now())",
            )
            .bind(iss)
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::unavailable)
        })
    }

    fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            // The insert, or the row that was there: `DO UPDATE` (to the
            // same value) waits for a concurrent insert and returns its row,
            // so exactly one row comes back even when instances race.
            sqlx::query_scalar(
                "INSERT INTO auth_store_marker (id, began) \
                 VALUES (true, floor(extract(epoch FROM now()))::bigint) \
                 ON CONFLICT (id) DO UPDATE SET began = auth_store_marker.began \
                 RETURNING began",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::unavailable)
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
            // At most one record of each kind, read in one statement: one
            // snapshot, the records and the marker as they were together.
            let (mut subject, mut session, mut jti) = (None, None, None);
            for key in keys {
                let taken = match *key {
                    RecordKey::Subject { iss, sub } => subject.replace((iss, sub)),
                    RecordKey::Session { iss, sid } => session.replace((iss, sid)),
                    RecordKey::Jti { iss, jti: id } => jti.replace((iss, id)),
                };
                if taken.is_some() {
                    return read_one_by_one(self, keys).await;
                }
            }
            // The row always comes back; what was not asked for reads as
            // null (or false) and is not looked at.
            let (version, subject_nb, session_nb, denied, marker): (
                Option<i64>,
                Option<i64>,
                Option<i64>,
                bool,
                Option<i64>,
            ) = sqlx::query_as(
                "SELECT s.version, s.not_before, \
                        (SELECT not_before FROM auth_revoked_session_ids \
                         WHERE issuer = $3 AND sid = $4), \
                        EXISTS (SELECT 1 FROM auth_denied_token_ids \
                                WHERE issuer = $5 AND jti = $6 AND expires_at > now()), \
                        (SELECT began FROM auth_store_marker) \
                 FROM (SELECT 1) AS one \
                 LEFT JOIN auth_revoked_subjects s ON s.issuer = $1 AND s.subject = $2",
            )
            .bind(subject.map(|(iss, _)| iss))
            .bind(subject.map(|(_, sub)| sub))
            .bind(session.map(|(iss, _)| iss))
            .bind(session.map(|(_, sid)| sid))
            .bind(jti.map(|(iss, _)| iss))
            .bind(jti.map(|(_, jti)| jti))
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::unavailable)?;
            let records = keys
                .iter()
                .map(|key| match key {
                    RecordKey::Subject { .. } => Record::Subject(SubjectState::new(
                        version.map_or(0, self::version),
                        subject_nb,
                    )),
                    RecordKey::Session { .. } => Record::Session(session_nb),
                    RecordKey::Jti { .. } => Record::Jti(denied),
                })
                .collect();
            // No marker: the data is new or was lost; write one now.
            let marker = match marker {
                Some(marker) => marker,
                None => self.marker().await?,
            };
            Ok((records, marker))
        })
    }

    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        let options = (*self.pool.connect_options())
            .clone()
            .application_name(&self.listener_name);
        Some(Box::pin(listen(options, events)))
    }
}

/// Deletes up to [`SWEEP`] expired rows of `table` (which has `issuer`,
/// `jti` and `expires_at`), skipping rows another transaction holds.
async fn sweep(
    tx: &mut Transaction<'static, Postgres>,
    table: &'static str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "DELETE FROM {table} WHERE (issuer, jti) IN ( \
             SELECT issuer, jti FROM {table} WHERE expires_at <= now() \
             LIMIT $1 FOR UPDATE SKIP LOCKED)"
    ))
    .bind(SWEEP)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::unavailable)?;
    Ok(())
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
