//! The PostgreSQL store: revocations in three tables, invalidation through
//! `LISTEN`/`NOTIFY`.
//!
//! # Storage contract
//!
//! Services written in other languages read and write the same tables, so
//! their layout, the channel and the payloads are public and stable:
//!
//! - `auth_user_versions(subject text primary key, version bigint not null)`:
//!   the current token version of each subject; a subject without a row is at
//!   version 0. A bump is
//!   `INSERT INTO auth_user_versions (subject, version) VALUES ($1, 1)
//!   ON CONFLICT (subject) DO UPDATE SET version = auth_user_versions.version + 1
//!   RETURNING version`.
//! - `auth_revoked_sessions(sid text primary key, revoked_at timestamptz not null)`:
//!   a session is revoked when its row exists. Revoking it again keeps the
//!   first `revoked_at`.
//! - `auth_denied_jtis(jti text primary key, expires_at timestamptz not null)`:
//!   a token id is denied while `expires_at > now()`. Denying it again keeps
//!   the later expiry. Expired rows mean nothing and anyone may delete them;
//!   this store deletes up to 100 of them on each
//!   [`revoke_jti`](RevocationStore::revoke_jti), in the same transaction
//!   (rows locked by another transaction are skipped), and an index on
//!   `expires_at` keeps that cheap.
//! - Every write is followed, in the same transaction, by
//!   `SELECT pg_notify('auth_revocations', <event>)` where `<event>` is the
//!   JSON of a [`RevocationEvent`]: `{"kind":"user","sub":"…"}`,
//!   `{"kind":"session","sid":"…"}` or `{"kind":"jti","jti":"…"}`. PostgreSQL
//!   delivers a notification only if its transaction commits, so no instance
//!   drops a cached answer for a write that did not happen. A payload must
//!   stay under 8000 bytes, which bounds the length of a subject, session id
//!   or token id that can be revoked.
//!
//! A service that writes the tables without notifying is still honoured, but
//! only once the other instances' cached answers expire (the cache TTL).
//!
//! # Schema
//!
//! [`PostgresStore::connect`] (or [`PostgresStore::migrate`]) creates the
//! tables with `CREATE TABLE IF NOT EXISTS` ([`PostgresStore::SCHEMA`])
//! inside a transaction holding `pg_advisory_xact_lock(7022647185898829419)`,
//! so instances starting together do not race. It keeps no bookkeeping table
//! of its own (in particular not sqlx's `_sqlx_migrations`, which belongs to
//! the application). Where the application role may not create tables, run
//! [`PostgresStore::SCHEMA`] once with a privileged role and build the store
//! with [`PostgresStore::from_pool`].
//!
//! # Events
//!
//! [`RevocationStore::listen`] holds one extra connection, outside the pool,
//! named by its `application_name` (`auth-layer-revocations` unless set with
//! [`PostgresStore::listener_application_name`]) so operators can find it in
//! `pg_stat_activity`. It reconnects by itself after the connection drops,
//! with a backoff from 100 ms to 2 s while the server is unreachable, and
//! checks an idle connection every 30 s. Notifications sent while it was
//! disconnected are lost: the cache TTL bounds how long they go unseen.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::{Either, select};
use sqlx::Transaction;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, Postgres};

use super::{BoxFuture, EventSender, RevocationEvent, RevocationStore, StoreError};
use crate::backend::postgres as backend;

/// The channel every write notifies.
const CHANNEL: &str = "auth_revocations";
/// Key of the transaction-level advisory lock held while creating the schema
/// (the bytes of `authrevk`).
const SCHEMA_LOCK: i64 = 7_022_647_185_898_829_419;
/// The schema, run by [`PostgresStore::migrate`].
const SCHEMA: &str = include_str!("postgres_schema.sql");
/// The `application_name` of the listener connection unless set otherwise.
const LISTENER_APPLICATION_NAME: &str = "auth-layer-revocations";
/// Expired `jti` denials deleted at most per [`RevocationStore::revoke_jti`].
const JTI_SWEEP: i64 = 100;
/// The listener's first and longest wait before reconnecting.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long the listener waits for a notification before checking that its
/// connection is still alive, and how long that check may take.
const IDLE_CHECK: Duration = Duration::from_secs(30);
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`RevocationStore`] in PostgreSQL, shared by every instance and by
/// services in other languages.
///
/// # Storage contract
///
/// - `auth_user_versions(subject text primary key, version bigint not null)`;
///   no row means version 0; a bump is `INSERT … VALUES ($1, 1) ON CONFLICT
///   (subject) DO UPDATE SET version = auth_user_versions.version + 1
///   RETURNING version`.
/// - `auth_revoked_sessions(sid text primary key, revoked_at timestamptz not null)`;
///   a session is revoked when its row exists.
/// - `auth_denied_jtis(jti text primary key, expires_at timestamptz not null)`;
///   denied while `expires_at > now()`. Expired rows may be deleted by
///   anyone; [`revoke_jti`](RevocationStore::revoke_jti) deletes up to 100.
/// - Every write is followed, in its transaction, by
///   `SELECT pg_notify('auth_revocations', <event>)` with the JSON of a
///   [`RevocationEvent`] (`{"kind":"user","sub":"…"}`,
///   `{"kind":"session","sid":"…"}`, `{"kind":"jti","jti":"…"}`), so the
///   notification is delivered only if the write commits. A service that
///   writes without notifying is honoured once cached answers expire.
///
/// [`connect`](Self::connect) creates the tables if they are missing
/// ([`SCHEMA`](Self::SCHEMA), under `pg_advisory_xact_lock(7022647185898829419)`);
/// it creates no migration bookkeeping table. [`listen`](RevocationStore::listen)
/// holds one extra connection named `auth-layer-revocations` in
/// `pg_stat_activity` (see
/// [`listener_application_name`](Self::listener_application_name)) and
/// reconnects by itself, with a backoff from 100 ms to 2 s; notifications
/// sent while it is disconnected are lost, and the cache TTL bounds how long
/// they go unseen.
///
/// Cheap to clone: clones share the connection pool.
///
/// ```no_run
/// use auth_layer::revocation::{PostgresStore, RevocationCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
/// let revocation = RevocationCache::builder(store).build()?;
/// revocation.revoke_session("a-session-id").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    listener_name: Arc<str>,
}

impl PostgresStore {
    /// The channel every write notifies, and [`listen`](RevocationStore::listen)
    /// listens to.
    pub const CHANNEL: &'static str = CHANNEL;

    /// The idempotent schema [`migrate`](Self::migrate) runs: the three
    /// tables of the contract and an index on `auth_denied_jtis.expires_at`.
    pub const SCHEMA: &'static str = SCHEMA;

    /// Opens a pool to the database at `url` (up to 10 connections; a query
    /// waits at most 2 s for one, so a database that is down makes calls fail
    /// rather than hang) and creates the tables if they are missing.
    ///
    /// ```no_run
    /// use auth_layer::revocation::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_layer::revocation::StoreError> {
    /// let store = PostgresStore::connect("postgres://app:secret@db.internal:5432/app").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The URL does not parse, the database cannot be reached within 2 s, or
    /// the schema cannot be created.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::unavailable)?;
        Self::connect_with(options).await
    }

    /// As [`connect`](Self::connect), from parsed connection options.
    ///
    /// ```no_run
    /// use auth_layer::revocation::PostgresStore;
    /// use sqlx::postgres::PgConnectOptions;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_layer::revocation::StoreError> {
    /// let options = PgConnectOptions::new()
    ///     .host("db.internal")
    ///     .username("app")
    ///     .database("app")
    ///     .application_name("orders");
    /// let store = PostgresStore::connect_with(options).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database cannot be reached within 2 s, or the schema cannot be
    /// created.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = backend::pool(options)
            .await
            .map_err(StoreError::unavailable)?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool the application already has. Creates nothing: call
    /// [`migrate`](Self::migrate), or create the tables beforehand. Give the
    /// pool a bounded `acquire_timeout` so a database that is down makes
    /// calls fail rather than hang.
    ///
    /// ```no_run
    /// use auth_layer::revocation::PostgresStore;
    /// use sqlx::postgres::PgPoolOptions;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = PgPoolOptions::new()
    ///     .acquire_timeout(Duration::from_secs(2))
    ///     .connect("postgres://app@db.internal/app")
    ///     .await?;
    /// let store = PostgresStore::from_pool(pool.clone());
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            listener_name: Arc::from(LISTENER_APPLICATION_NAME),
        }
    }

    /// Creates the tables of the contract if they are missing
    /// ([`SCHEMA`](Self::SCHEMA)), under a transaction-level advisory lock so
    /// concurrent calls from several instances are safe. Idempotent; existing
    /// tables are left as they are.
    ///
    /// ```no_run
    /// # use auth_layer::revocation::PostgresStore;
    /// # async fn run(store: PostgresStore) -> Result<(), auth_layer::revocation::StoreError> {
    /// store.migrate().await?;
    /// store.migrate().await?; // does nothing the second time
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database cannot be reached, or the role may not create tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        const RELATIONS: [&str; 4] = [
            "auth_user_versions",
            "auth_revoked_sessions",
            "auth_denied_jtis",
            "auth_denied_jtis_expires_at_idx",
        ];
        backend::migrate(&self.pool, SCHEMA_LOCK, SCHEMA, &RELATIONS)
            .await
            .map_err(StoreError::unavailable)
    }

    /// Sets the `application_name` of the connection
    /// [`listen`](RevocationStore::listen) opens (default
    /// `auth-layer-revocations`), to tell instances apart in
    /// `pg_stat_activity`. PostgreSQL keeps the first 63 bytes.
    ///
    /// ```no_run
    /// # use auth_layer::revocation::PostgresStore;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_layer::revocation::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@db.internal/app")
    ///     .await?
    ///     .listener_application_name("orders-revocations");
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn listener_application_name(mut self, name: &str) -> Self {
        self.listener_name = Arc::from(name);
        self
    }

    /// The connection pool, for the application's own queries.
    ///
    /// ```no_run
    /// # use auth_layer::revocation::PostgresStore;
    /// # async fn run(store: PostgresStore) -> Result<(), sqlx::Error> {
    /// let subjects: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_user_versions")
    ///     .fetch_one(store.pool())
    ///     .await?;
    /// # let _ = subjects;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pool(&self) -> &PgPool {
        &self.pool
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

/// Why the listener dropped its connection.
#[derive(Debug)]
enum Lost {
    Database(sqlx::Error),
    CheckTimedOut,
    Dropped,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(e) => e.fmt(f),
            Self::Dropped => f.write_str("the connection was closed"),
            Self::CheckTimedOut => write!(
                f,
                "the idle connection did not answer within {} s",
                CHECK_TIMEOUT.as_secs()
            ),
        }
    }
}

/// Delivers the notifications of [`CHANNEL`] to `events` until it closes,
/// reconnecting forever with a bounded backoff.
async fn listen(options: PgConnectOptions, events: EventSender) {
    let mut backoff = BACKOFF_MIN;
    let mut first_attempt = true;
    loop {
        let missed_events = !std::mem::replace(&mut first_attempt, false);
        match until_closed(&events, subscribe(&options)).await {
            None => return,
            Some(Ok(mut listener)) => {
                // Events published while disconnected were missed.
                if missed_events && events.send(RevocationEvent::Resubscribed).is_err() {
                    return;
                }
                let connected = Instant::now();
                let Some(lost) = forward(&mut listener, &events).await else {
                    return;
                };
                // A connection that lasted resets the backoff; one that
                // keeps dropping right after connecting does not.
                if connected.elapsed() > BACKOFF_MAX {
                    backoff = BACKOFF_MIN;
                }
                tracing::warn!(
                    error = %lost,
                    retry_in_ms = backoff.as_millis(),
                    "revocation listener lost its PostgreSQL connection; reconnecting (revocations published meanwhile are seen when cached answers expire)"
                );
            }
            Some(Err(e)) => tracing::warn!(
                error = %e,
                retry_in_ms = backoff.as_millis(),
                "revocation listener cannot connect to PostgreSQL; retrying"
            ),
        }
        if until_closed(&events, tokio::time::sleep(backoff))
            .await
            .is_none()
        {
            return;
        }
        backoff = backoff.saturating_mul(2).min(BACKOFF_MAX);
    }
}

/// A listener on its own single-connection pool (a fresh one each time, so a
/// connection left behind by a broken listener cannot hold up the next).
async fn subscribe(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(backend::ACQUIRE_TIMEOUT)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    tracing::debug!(channel = CHANNEL, "revocation listener connected");
    Ok(listener)
}

/// Forwards notifications until `events` closes (`None`) or the connection
/// is lost for good.
async fn forward(listener: &mut PgListener, events: &EventSender) -> Option<Lost> {
    loop {
        let received = until_closed(
            events,
            tokio::time::timeout(IDLE_CHECK, listener.try_recv()),
        )
        .await?;
        match received {
            Ok(Ok(Some(notification))) => {
                let payload = notification.payload();
                match RevocationEvent::from_json(payload) {
                    Some(event) => {
                        if events.send(event).is_err() {
                            return None;
                        }
                    }
                    None => {
                        tracing::debug!(payload, "ignoring an unknown revocation notification");
                    }
                }
            }
            // The connection dropped: subscribe again ourselves, so the
            // cache can be told exactly when events flow again.
            Ok(Ok(None)) => return Some(Lost::Dropped),
            Ok(Err(e)) => return Some(Lost::Database(e)),
            // Quiet for a while: make sure the connection is still there (a
            // dead peer behind a silent network never closes it).
            Err(_idle) => {
                let check = tokio::time::timeout(
                    CHECK_TIMEOUT,
                    sqlx::query("SELECT 1").execute(&mut *listener),
                );
                match until_closed(events, check).await? {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Some(Lost::Database(e)),
                    Err(_) => return Some(Lost::CheckTimedOut),
                }
            }
        }
    }
}

/// Runs `work` unless `events` closes first (`None`).
async fn until_closed<F: Future>(events: &EventSender, work: F) -> Option<F::Output> {
    let work = pin!(work);
    let closed = pin!(events.closed());
    match select(work, closed).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(((), _)) => None,
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field by field: the connect options hold the password.
        let options = self.pool.connect_options();
        f.debug_struct("PostgresStore")
            .field("host", &options.get_host())
            .field("port", &options.get_port())
            .field("database", &options.get_database())
            .field("username", &options.get_username())
            .field("listener_application_name", &&*self.listener_name)
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
        let store = PostgresStore::from_pool(PgPoolOptions::new().connect_lazy_with(options));
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("db.internal") && shown.contains("5433"),
            "{shown}"
        );
    }

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

    #[test]
    fn the_schema_creates_the_contract_tables_idempotently() {
        for table in [
            "auth_user_versions",
            "auth_revoked_sessions",
            "auth_denied_jtis",
        ] {
            assert!(
                SCHEMA.contains(&format!("CREATE TABLE IF NOT EXISTS {table} (")),
                "{table}"
            );
        }
        assert!(!SCHEMA.contains("_sqlx_migrations"));
    }
}
