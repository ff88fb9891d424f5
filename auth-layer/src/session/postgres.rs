//! The PostgreSQL session store: sessions and refresh-token hashes in two
//! tables, rotation in one transaction holding the session row.
//!
//! The storage contract is on [`PostgresSessionStore`].

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPool};

use super::rotation::{Decision, Presented, decide};
use super::{
    BoxFuture, EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SessionRecord,
    SessionStore, SessionStoreError, TokenHash,
};
use crate::backend::postgres as backend;

/// Key of the advisory lock held while creating the schema (the bytes of `authsesn`).
const SCHEMA_LOCK: i64 = 7_022_647_185_915_605_870;
/// The schema, run by [`PostgresSessionStore::migrate`].
const SCHEMA: &str = include_str!("postgres_schema.sql");
/// Sessions past their retention deleted at most per new session.
const SWEEP: i64 = 100;
/// A session's columns, as [`Row`] reads them.
const COLUMNS: &str = "subject, claims::text, version, \
    extract(epoch FROM created_at)::bigint, extract(epoch FROM expires_at)::bigint, \
    extract(epoch FROM last_used_at)::bigint, ended_reason";

type Row = (String, String, i64, i64, i64, i64, Option<String>);

/// A [`SessionStore`] in PostgreSQL, shared by every instance and by
/// services in other languages. Cheap to clone: clones share the pool.
/// `Debug` never shows the password.
///
/// # Storage contract
///
/// Public and stable, so services in other languages can read and end
/// sessions:
///
/// - `auth_sessions(sid text primary key, subject text, claims jsonb,
///   version bigint, created_at timestamptz, expires_at timestamptz,
///   last_used_at timestamptz, ended_at timestamptz null, ended_reason text null)`:
///   one row per session. Live while `ended_at` is null; `ended_reason` is
///   `logout`, `logout_all`, `reuse`, `reauth` or `revoked` (any other value
///   reads as `revoked`). Another service ends a session with
///   `UPDATE auth_sessions SET ended_at = now(), ended_reason = 'revoked'
///   WHERE sid = $1 AND ended_at IS NULL`, and must also revoke its `sid` in
///   the revocation store for its access tokens to stop passing.
/// - `auth_refresh_tokens(token_hash bytea primary key, sid text references
///   auth_sessions on delete cascade, issued_at timestamptz, spent_at
///   timestamptz null, replaced_by bytea null)`: every refresh token, as the
///   SHA-256 of the whole token (`{sid}.{secret}`). The current token has
///   `spent_at` null; a spent one names its successor in `replaced_by`.
/// - A session and its tokens are deleted one day after `expires_at`: this
///   store deletes up to 100 such sessions each time it creates one.
///
/// A rotation is one transaction: `SELECT … FOR UPDATE` of the session row,
/// a read of the presented token's row, then, if the token may rotate,
/// one statement `UPDATE auth_refresh_tokens SET spent_at = …, replaced_by = …
/// WHERE token_hash = $1 AND spent_at IS NULL RETURNING sid` feeding the
/// insert of the new token and the update of `last_used_at`. Of many
/// concurrent refreshes with one token, exactly one commits a rotation.
///
/// # Schema
///
/// [`PostgresSessionStore::connect`] (or [`migrate`](PostgresSessionStore::migrate))
/// creates the tables with `CREATE TABLE IF NOT EXISTS`
/// ([`PostgresSessionStore::SCHEMA`]) inside a transaction holding
/// `pg_advisory_xact_lock(7022647185915605870)`, and keeps no bookkeeping
/// table of its own. When every table and index already exists it runs no
/// DDL at all, so an instance starting never takes table locks that the
/// running instances' rotations would wait on.
///
/// ```no_run
/// use auth_layer::revocation::{PostgresStore, RevocationCache};
/// use auth_layer::session::{PostgresSessionStore, Sessions, SigningKey, TokenIssuer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let url = "postgres://app@db.internal/app";
/// let revocation = RevocationCache::builder(PostgresStore::connect(url).await?).build()?;
/// let issuer = TokenIssuer::builder(SigningKey::hmac(std::env::var("AUTH_HMAC_SECRET")?)?).build()?;
/// let store = PostgresSessionStore::connect(url).await?;
/// let sessions = Sessions::builder(issuer, store, revocation).build()?;
/// # let _ = sessions;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresSessionStore {
    pool: PgPool,
}

impl PostgresSessionStore {
    /// The idempotent schema [`migrate`](Self::migrate) runs.
    pub const SCHEMA: &'static str = SCHEMA;

    /// Opens a pool to the database at `url` (up to 10 connections, a query
    /// waits at most 2 s for one) and creates the tables if they are missing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), auth_layer::session::SessionStoreError> {
    /// let store = auth_layer::session::PostgresSessionStore::connect("postgres://app@db.internal/app").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The URL does not parse, the database cannot be reached within 2 s,
    /// or the schema cannot be created.
    pub async fn connect(url: &str) -> Result<Self, SessionStoreError> {
        let options = PgConnectOptions::from_str(url).map_err(SessionStoreError::unavailable)?;
        Self::connect_with(options).await
    }

    /// As [`connect`](Self::connect), from parsed connection options.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), auth_layer::session::SessionStoreError> {
    /// let options = sqlx::postgres::PgConnectOptions::new().host("db.internal").database("app");
    /// let store = auth_layer::session::PostgresSessionStore::connect_with(options).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database cannot be reached within 2 s, or the schema cannot be created.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, SessionStoreError> {
        let pool = backend::pool(options)
            .await
            .map_err(SessionStoreError::unavailable)?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool the application already has. Creates nothing: call
    /// [`migrate`](Self::migrate), or create the tables beforehand.
    ///
    /// ```no_run
    /// # async fn run(pool: sqlx::PgPool) -> Result<(), auth_layer::session::SessionStoreError> {
    /// let store = auth_layer::session::PostgresSessionStore::from_pool(pool);
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Creates the tables of the contract if they are missing, under a
    /// transaction-level advisory lock so instances starting together are
    /// safe. Idempotent.
    ///
    /// ```no_run
    /// # async fn run(store: auth_layer::session::PostgresSessionStore) -> Result<(), auth_layer::session::SessionStoreError> {
    /// store.migrate().await?;
    /// store.migrate().await?; // does nothing the second time
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database cannot be reached, or the role may not create tables.
    pub async fn migrate(&self) -> Result<(), SessionStoreError> {
        const RELATIONS: [&str; 5] = [
            "auth_sessions",
            "auth_sessions_live_subject_idx",
            "auth_sessions_expires_at_idx",
            "auth_refresh_tokens",
            "auth_refresh_tokens_sid_idx",
        ];
        backend::migrate(&self.pool, SCHEMA_LOCK, SCHEMA, &RELATIONS)
            .await
            .map_err(SessionStoreError::unavailable)
    }

    /// The connection pool, for the application's own queries.
    ///
    /// ```no_run
    /// # async fn run(store: auth_layer::session::PostgresSessionStore) -> Result<(), sqlx::Error> {
    /// let live: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_sessions WHERE ended_at IS NULL")
    ///     .fetch_one(store.pool())
    ///     .await?;
    /// # let _ = live;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn record(sid: &str, row: Row) -> Result<SessionRecord, SessionStoreError> {
    let (subject, claims, version, created_at, expires_at, last_used_at, ended) = row;
    let claims: Map<String, Value> =
        serde_json::from_str(&claims).map_err(|_| SessionStoreError::corrupt("claims"))?;
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
    })
}

fn db(e: sqlx::Error) -> SessionStoreError {
    SessionStoreError::unavailable(e)
}

impl SessionStore for PostgresSessionStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), SessionStoreError>> {
        Box::pin(async move {
            let version = i64::try_from(session.version)
                .map_err(|_| SessionStoreError::corrupt("version above i64::MAX"))?;
            let claims = serde_json::to_string(&session.claims)
                .map_err(|_| SessionStoreError::corrupt("claims"))?;
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
                     (sid, subject, claims, version, created_at, expires_at, last_used_at) \
                 VALUES ($1, $2, $3::jsonb, $4, to_timestamp($5), to_timestamp($6), to_timestamp($7))",
            )
            .bind(&session.sid)
            .bind(&session.subject)
            .bind(claims)
            .bind(version)
            .bind(session.created_at)
            .bind(session.expires_at)
            .bind(session.last_used_at)
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
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
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
    ) -> BoxFuture<'a, Result<RotateOutcome, SessionStoreError>> {
        Box::pin(async move {
            let presented = r.presented.as_bytes().as_slice();
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
            let found: Option<(Option<i64>, Option<bool>)> = sqlx::query_as(
                "SELECT extract(epoch FROM t.spent_at)::bigint, \
                     (SELECT n.spent_at IS NULL FROM auth_refresh_tokens n WHERE n.token_hash = t.replaced_by) \
                 FROM auth_refresh_tokens t WHERE t.token_hash = $1 AND t.sid = $2",
            )
            .bind(presented)
            .bind(r.sid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some((spent_at, successor_current)) = found else {
                return Ok(RotateOutcome::Unknown);
            };
            let token = match spent_at {
                None => Presented::Current,
                Some(at) => Presented::Spent {
                    at,
                    latest: successor_current.unwrap_or(false),
                },
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
                             UPDATE auth_sessions SET last_used_at = to_timestamp($3) \
                             WHERE sid IN (SELECT sid FROM fresh) RETURNING sid) \
                         SELECT count(*) FROM touched",
                    )
                    .bind(presented)
                    .bind(r.sid)
                    .bind(r.now)
                    .bind(r.next.as_bytes().as_slice())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                    if rotated != 1 {
                        // Cannot happen while the row is locked; refuse rather than guess.
                        return Err(SessionStoreError::corrupt("rotation raced"));
                    }
                    session.last_used_at = r.now;
                    RotateOutcome::Rotated(session)
                }
                Decision::Duplicate => RotateOutcome::Duplicate(session),
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
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
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
    ) -> BoxFuture<'a, Result<Vec<String>, SessionStoreError>> {
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

impl fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field by field: the connect options hold the password.
        let options = self.pool.connect_options();
        f.debug_struct("PostgresSessionStore")
            .field("host", &options.get_host())
            .field("port", &options.get_port())
            .field("database", &options.get_database())
            .field("username", &options.get_username())
            .field("connections", &self.pool.size())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn debug_never_shows_the_password() {
        let options =
            PgConnectOptions::from_str("postgres://app:hunter2-secret@db.internal:5433/orders")
                .unwrap();
        let store = PostgresSessionStore::from_pool(
            sqlx::postgres::PgPoolOptions::new().connect_lazy_with(options),
        );
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
    }

    #[test]
    fn the_schema_creates_the_contract_tables_idempotently() {
        for table in ["auth_sessions", "auth_refresh_tokens"] {
            assert!(
                SCHEMA.contains(&format!("CREATE TABLE IF NOT EXISTS {table} (")),
                "{table}"
            );
        }
        assert!(!SCHEMA.contains("_sqlx_migrations"));
    }

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
            )
        };
        let read = record("s1", row(r#"{"a":1}"#, -4)).unwrap();
        assert_eq!((read.version, read.ended), (0, Some(EndReason::Logout)));
        assert!(record("s1", row("not json", 1)).is_err());
    }
}
