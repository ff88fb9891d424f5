//! [`SessionStore`] for [`PostgresStore`]: sessions and refresh-token
//! hashes in two tables, rotation in one transaction holding the session row.

use serde_json::{Map, Value};

use super::store::PostgresStore;
use crate::backend::{BoxFuture, StoreError};
use crate::session::rotation::{Decision, Presented, decide};
use crate::session::{
    EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SPENT_TOKENS_KEPT, SessionRecord,
    SessionStore, TokenHash,
};

/// Sessions past their retention deleted at most per new session.
const SWEEP: i64 = 100;
/// Spent tokens kept per session besides the one spent last.
const KEPT_BESIDES_LATEST: i64 = SPENT_TOKENS_KEPT as i64 - 1;
/// A session's columns, as [`Row`] reads them.
const COLUMNS: &str = "subject, claims::text, version, \
    extract(epoch FROM created_at)::bigint, extract(epoch FROM expires_at)::bigint, \
    extract(epoch FROM last_used_at)::bigint, ended_reason, dpop_jkt, idle_timeout";

type Row = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn record(sid: &str, row: Row) -> Result<SessionRecord, StoreError> {
    let (
        subject,
        claims,
        version,
        created_at,
        expires_at,
        last_used_at,
        ended,
        dpop_jkt,
        idle_timeout,
    ) = row;
    let claims: Map<String, Value> =
        serde_json::from_str(&claims).map_err(|_| StoreError::corrupt("claims"))?;
    Ok(SessionRecord {
        sid: sid.to_owned(),
        subject,
        claims,
        // A negative version, which no writer of the contract produces, counts as 0.
        version: u64::try_from(version).unwrap_or(0),
        created_at,
        expires_at,
        last_used_at,
        ended: ended.map(|e| EndReason::parse(&e)),
        dpop_jkt,
        idle_timeout,
    })
}

fn db(e: sqlx::Error) -> StoreError {
    StoreError::unavailable(e)
}

impl SessionStore for PostgresStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let version = i64::try_from(session.version)
                .map_err(|_| StoreError::corrupt("version above i64::MAX"))?;
            let claims = serde_json::to_string(&session.claims)
                .map_err(|_| StoreError::corrupt("claims"))?;
            let retention = i64::try_from(RETENTION_AFTER_EXPIRY.as_secs()).unwrap_or(i64::MAX);
            let mut tx = self.pool.begin().await.map_err(db)?;
            sqlx::query(
                "DELETE FROM auth_sessions WHERE sid IN ( \
                     SELECT sid FROM auth_sessions WHERE expires_at < to_timestamp($1) \
                     LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(session.created_at.saturating_sub(retention))
            .bind(SWEEP)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "INSERT INTO auth_sessions \
                     (sid, subject, claims, version, created_at, expires_at, last_used_at, dpop_jkt, \
                      idle_timeout) \
                 VALUES ($1, $2, $3::jsonb, $4, to_timestamp($5), to_timestamp($6), to_timestamp($7), $8, $9)",
            )
            .bind(&session.sid)
            .bind(&session.subject)
            .bind(claims)
            .bind(version)
            .bind(session.created_at)
            .bind(session.expires_at)
            .bind(session.last_used_at)
            .bind(session.dpop_jkt.as_deref())
            .bind(session.idle_timeout)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "INSERT INTO auth_refresh_tokens (token_hash, sid, issued_at) \
                 VALUES ($1, $2, to_timestamp($3))",
            )
            .bind(token.as_bytes().as_slice())
            .bind(&session.sid)
            .bind(session.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)
        })
    }

    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(async move {
            let row: Option<Row> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM auth_sessions WHERE sid = $1"
            ))
            .bind(sid)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
            row.map(|row| record(sid, row)).transpose()
        })
    }

    fn rotate<'a>(
        &'a self,
        r: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>> {
        Box::pin(async move {
            let presented = r.presented.as_bytes().as_slice();
            let claims = r
                .claims
                .map(serde_json::to_string)
                .transpose()
                .map_err(|_| StoreError::corrupt("claims"))?;
            let mut tx = self.pool.begin().await.map_err(db)?;
            // The session row stays locked until commit: rotations of one
            // session take turns. The token is read by a second statement,
            // so with a snapshot taken after the lock was granted (a join
            // in the locking statement would show the token as it was
            // before the previous holder's rotation).
            let row: Option<Row> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM auth_sessions WHERE sid = $1 FOR UPDATE"
            ))
            .bind(r.sid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some(row) = row else {
                return Ok(RotateOutcome::Unknown);
            };
            let mut session = record(r.sid, row)?;
            let found: Option<(Option<i64>, Option<bool>, bool)> = sqlx::query_as(
                "SELECT extract(epoch FROM t.spent_at)::bigint, \
                     (SELECT n.spent_at IS NULL FROM auth_refresh_tokens n WHERE n.token_hash = t.replaced_by), \
                     t.replaced_by IS NOT DISTINCT FROM $3 \
                 FROM auth_refresh_tokens t WHERE t.token_hash = $1 AND t.sid = $2",
            )
            .bind(presented)
            .bind(r.sid)
            .bind(r.next.as_bytes().as_slice())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some((spent_at, successor_current, repeated)) = found else {
                return Ok(RotateOutcome::Unknown);
            };
            let token = match spent_at {
                None => Presented::Current,
                Some(at) => {
                    let latest = successor_current.unwrap_or(false);
                    Presented::Spent {
                        at,
                        latest,
                        // This very rotation committed already (a retry
                        // whose first answer was lost).
                        repeated: latest && repeated,
                    }
                }
            };
            let outcome = match decide(&session, token, r) {
                Decision::Rotate => {
                    let rotated: i64 = sqlx::query_scalar(
                        "WITH spent AS ( \
                             UPDATE auth_refresh_tokens SET spent_at = to_timestamp($3), replaced_by = $4 \
                             WHERE token_hash = $1 AND sid = $2 AND spent_at IS NULL RETURNING sid), \
                         fresh AS ( \
                             INSERT INTO auth_refresh_tokens (token_hash, sid, issued_at) \
                             SELECT $4, sid, to_timestamp($3) FROM spent RETURNING sid), \
                         touched AS ( \
                             UPDATE auth_sessions SET last_used_at = to_timestamp($3), \
                                 claims = COALESCE($5::jsonb, claims) \
                             WHERE sid IN (SELECT sid FROM fresh) RETURNING sid) \
                         SELECT count(*) FROM touched",
                    )
                    .bind(presented)
                    .bind(r.sid)
                    .bind(r.now)
                    .bind(r.next.as_bytes().as_slice())
                    .bind(claims.as_deref())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                    if rotated != 1 {
                        // Cannot happen while the row is locked; refuse rather than guess.
                        return Err(StoreError::corrupt("rotation raced"));
                    }
                    // The token just spent is kept, with the most recent
                    // others: SPENT_TOKENS_KEPT in all.
                    sqlx::query(
                        "DELETE FROM auth_refresh_tokens WHERE sid = $1 AND spent_at IS NOT NULL \
                             AND token_hash <> $2 AND token_hash NOT IN ( \
                                 SELECT token_hash FROM auth_refresh_tokens \
                                 WHERE sid = $1 AND spent_at IS NOT NULL AND token_hash <> $2 \
                                 ORDER BY spent_at DESC, issued_at DESC LIMIT $3)",
                    )
                    .bind(r.sid)
                    .bind(presented)
                    .bind(KEPT_BESIDES_LATEST)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                    session.last_used_at = r.now;
                    if let Some(claims) = r.claims {
                        session.claims = claims.clone();
                    }
                    RotateOutcome::Rotated(session)
                }
                Decision::Repeat => RotateOutcome::Retried(session),
                Decision::Duplicate => RotateOutcome::Duplicate(session),
                Decision::Mismatch => {
                    crate::session::rotation::warn_mismatch(r.sid);
                    RotateOutcome::Unknown
                }
                Decision::Reuse => {
                    if session.ended.is_none() {
                        sqlx::query(
                            "UPDATE auth_sessions SET ended_at = to_timestamp($2), ended_reason = 'reuse' \
                             WHERE sid = $1 AND ended_at IS NULL",
                        )
                        .bind(r.sid)
                        .bind(r.now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                        session.ended = Some(EndReason::Reuse);
                    }
                    RotateOutcome::Reused(session)
                }
                Decision::Refuse(refusal) => refusal.outcome(session),
            };
            tx.commit().await.map_err(db)?;
            Ok(outcome)
        })
    }

    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(async move {
            let row: Option<Row> = sqlx::query_as(&format!(
                "UPDATE auth_sessions SET ended_at = COALESCE(ended_at, to_timestamp($3)), \
                     ended_reason = COALESCE(ended_reason, $2) \
                 WHERE sid = $1 RETURNING {COLUMNS}"
            ))
            .bind(sid)
            .bind(reason.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
            row.map(|row| record(sid, row)).transpose()
        })
    }

    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar(
                "UPDATE auth_sessions SET ended_at = to_timestamp($3), ended_reason = $2 \
                 WHERE subject = $1 AND ended_at IS NULL RETURNING sid",
            )
            .bind(subject)
            .bind(reason.as_str())
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_records_read_back_and_bad_ones_are_errors() {
        let row = |claims: &str, version: i64| -> Row {
            (
                "alice".into(),
                claims.into(),
                version,
                1,
                2,
                1,
                Some("logout".into()),
                Some("jkt-1".into()),
                Some(900),
            )
        };
        let read = record("s1", row(r#"{"a":1}"#, -4)).unwrap();
        assert_eq!((read.version, read.ended), (0, Some(EndReason::Logout)));
        assert_eq!(read.dpop_jkt.as_deref(), Some("jkt-1"));
        assert_eq!(read.idle_timeout, Some(900));
        assert!(record("s1", row("not json", 1)).is_err());
    }
}
