//! [`PostgresStore`]: one pool, one schema, created once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

/// The channel every revocation notifies.
pub(super) const CHANNEL: &str = "auth_revocations";
/// The `application_name` of the listener connection unless set otherwise.
const LISTENER_APPLICATION_NAME: &str = "auth-layer-revocations";
/// How long a query waits for a pooled connection: a database that is down
/// makes calls fail rather than hang.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections per pool.
pub(super) const MAX_CONNECTIONS: u32 = 10;

/// Revocations and sessions in PostgreSQL, shared by every instance and by
/// services in other languages: implements
/// [`RevocationStore`](crate::revocation::RevocationStore) and
/// [`SessionStore`](crate::session::SessionStore) on one pool. The tables,
/// the channel and the payloads are the storage contract below.
///
/// TLS follows the URL's `sslmode` (`require`, `verify-ca`, `verify-full`)
/// and `sslrootcert`, through rustls; a private CA can also be given with
/// [`StoreOptions::ca_file`](crate::store::StoreOptions::ca_file).
///
/// Cheap to clone: clones share the pool. `Debug` never shows the password.
///
/// ```no_run
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
/// use auth_layer::store::PostgresStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://app@db.internal/app?sslmode=verify-full").await?;
/// let revocation = RevocationCache::builder(store.clone()).build()?;
/// let issuer = TokenIssuer::builder(SigningKey::hmac(std::env::var("AUTH_HMAC_SECRET")?)?).build()?;
/// let sessions = Sessions::builder(issuer, store, revocation).build()?;
/// # let _ = sessions;
/// # Ok(())
/// # }
/// ```
///
/// # Storage contract
///
/// Services written in other languages read and write the same tables, so
/// their layout, the channel and the payloads are public and stable. The
/// schema is [`Self::SCHEMA`] (`schema.sql` in the source, beside this type).
///
/// Revocation (every record keyed by the token's issuer, `''` for a token
/// without `iss`; times in `bigint` columns are Unix seconds):
///
/// - `auth_revoked_subjects(issuer text, subject text, version bigint not
///   null default 0, not_before bigint null, primary key (issuer, subject))`:
///   a token of the subject whose `iat` is at or before `not_before` is
///   revoked, and so is a token of the versioned issuer whose `ver` is below
///   `version`; no row: version 0, no not-before. A revocation is
///   `INSERT INTO auth_revoked_subjects (issuer, subject, version, not_before)
///   VALUES ($1, $2, 1, $3) ON CONFLICT (issuer, subject) DO UPDATE SET
///   version = auth_revoked_subjects.version + 1, not_before =
///   GREATEST(auth_revoked_subjects.not_before, EXCLUDED.not_before)`.
/// - `auth_revoked_session_ids(issuer text, sid text, not_before bigint not
///   null, forget_after bigint null, primary key (issuer, sid))`: a token of
///   the session whose `iat` is at or before `not_before` is revoked;
///   revoking again keeps the later not-before. `forget_after` (Unix
///   seconds) is when none of the session's tokens can pass any more (set
///   by [`Sessions`](crate::session::Sessions): the longest access-token
///   lifetime plus the longest leeway after the revocation, or after the
///   session's absolute end if earlier); null keeps the row for good, and a
///   revocation without an end makes it null. Rows past it mean nothing and
///   anyone may delete them; this store deletes up to 100 with each such
///   revocation (index `auth_revoked_session_ids_forget_after_idx`). The
///   column is added by the migration to tables created before it.
/// - `auth_denied_token_ids(issuer text, jti text, expires_at timestamptz not
///   null, primary key (issuer, jti))`: a token id is denied while
///   `expires_at > now()`. Denying it again keeps the later expiry. Expired
///   rows mean nothing and anyone may delete them; this store deletes up to
///   100 of them with each denial, in the same transaction (rows locked by
///   another transaction are skipped), and an index on `expires_at` keeps
///   that cheap.
/// - `auth_used_token_ids(issuer text, jti text, expires_at timestamptz not
///   null, primary key (issuer, jti))`: one-time token ids already used (a
///   logout token's `jti`; a DPoP proof's id under the issuer `dpop-proof`,
///   see [`SHARED_PROOF_SCOPE`](crate::dpop::SHARED_PROOF_SCOPE)), swept
///   like the denials.
/// - `auth_store_marker(id boolean primary key default true check (id),
///   began bigint not null)`: the continuity marker, one row, the second the
///   store's data began; written by the migration and whenever missing, and
///   read with every lookup in the same statement. When it changes, every
///   instance refuses the tokens issued before it.
///
/// Sessions:
///
/// - `auth_sessions(sid text primary key, subject text, claims jsonb,
///   version bigint, created_at timestamptz, expires_at timestamptz,
///   last_used_at timestamptz, ended_at timestamptz null, ended_reason text
///   null, dpop_jkt text null)`:
///   one row per session. Live while `ended_at` is null; `ended_reason` is
///   `logout`, `logout_all`, `reuse`, `reauth` or `revoked` (any other value
///   reads as `revoked`). `dpop_jkt` is the RFC 7638 thumbprint of the DPoP
///   key the session's refresh tokens are bound to (set at login, never
///   changed; null: not bound); the column is added by the migration to
///   tables created before it.
/// - `auth_refresh_tokens(token_hash bytea primary key, sid text references
///   auth_sessions on delete cascade, issued_at timestamptz, spent_at
///   timestamptz null, replaced_by bytea null)`: every refresh token, as the
///   SHA-256 of the whole token (`{sid}.{secret}`). The current token has
///   `spent_at` null; a spent one names its successor in `replaced_by`. A
///   session keeps its 16 most recently spent tokens
///   ([`SPENT_TOKENS_KEPT`](crate::session::SPENT_TOKENS_KEPT)); each
///   rotation deletes older ones. An `on_refresh` hook's claims are written
///   to `auth_sessions.claims` by the rotation.
/// - A session and its tokens are deleted one day after `expires_at`: this
///   store deletes up to 100 such sessions each time it creates one.
///
/// A rotation is one transaction: `SELECT … FOR UPDATE` of the session row,
/// a read of the presented token's row, then, if the token may rotate, one
/// statement `UPDATE auth_refresh_tokens SET spent_at = …, replaced_by = …
/// WHERE token_hash = $1 AND spent_at IS NULL RETURNING sid` feeding the
/// insert of the new token and the update of `last_used_at`. Of many
/// concurrent refreshes with one token, exactly one commits a rotation; the
/// same rotation repeated within the retry window (a retry whose answer was
/// lost: the same successor, still unspent) is answered as rotated again.
///
/// ## Events
///
/// Every revocation is followed, in its transaction, by
/// `SELECT pg_notify('auth_revocations', <event>)`, where `<event>` is
/// `{"kind":"user","iss":"…","sub":"…"}`,
/// `{"kind":"session","iss":"…","sid":"…"}` or
/// `{"kind":"jti","iss":"…","jti":"…"}`. PostgreSQL delivers a notification only if
/// its transaction commits, so no instance drops a cached answer for a write
/// that did not happen. A payload must stay under 8000 bytes, which bounds
/// the length of a subject, session id or token id that can be revoked.
///
/// Each instance listens on one extra connection, outside the pool, named
/// by its `application_name` (`auth-layer-revocations` unless set with
/// [`Self::listener_application_name`]) so operators can find it in
/// `pg_stat_activity`. It reconnects by itself after the connection drops,
/// with a backoff from 100 ms to 2 s, checks an idle connection every 30 s,
/// and drops every cached answer after reconnecting (notifications sent
/// while it was away are lost).
///
/// ## Writing from another service
///
/// - Log a subject out everywhere: the revocation above, then
///   `SELECT pg_notify('auth_revocations', '{"kind":"user","iss":"…","sub":"…"}')`
///   in the same transaction.
/// - End a session of this project: `UPDATE auth_sessions SET ended_at =
///   now(), ended_reason = 'revoked' WHERE sid = $1 AND ended_at IS NULL`,
///   and revoke its `sid` (`INSERT INTO auth_revoked_session_ids …` plus its
///   notification) for its access tokens to stop passing.
/// - A service that writes without notifying is still honoured, once the
///   other instances' cached answers expire (the cache TTL).
///
/// ## Schema
///
/// [`Self::connect`] (or [`Self::migrate`]) creates the
/// tables with `CREATE TABLE IF NOT EXISTS` inside a transaction holding
/// `pg_advisory_xact_lock(7022647185898829419)`, and only when one of them
/// is missing, and writes the continuity marker. It keeps no bookkeeping
/// table of its own. The session tables are those of 0.1; 0.1's revocation
/// tables (keyed without issuer) are left as they are, and their rows are
/// moved by [`AnyStore::upgrade_from_0_1`](crate::store::AnyStore::upgrade_from_0_1).
#[derive(Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
    pub(super) listener_name: Arc<str>,
}

impl PostgresStore {
    /// The channel every revocation notifies, and the listener listens to.
    pub const CHANNEL: &'static str = CHANNEL;

    /// The idempotent schema [`migrate`](Self::migrate) runs: every table
    /// and index of the contract.
    pub const SCHEMA: &'static str = super::schema::SCHEMA;

    /// A store on a pool the application already has. Creates nothing: call
    /// [`migrate`](Self::migrate), or create the tables beforehand. Give the
    /// pool a bounded `acquire_timeout` so a database that is down makes
    /// calls fail rather than hang.
    ///
    /// ```no_run
    /// use auth_layer::store::PostgresStore;
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

    /// Sets the `application_name` of the connection the revocation
    /// listener opens (default `auth-layer-revocations`), to tell instances
    /// apart in `pg_stat_activity`. PostgreSQL keeps the first 63 bytes.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_layer::ConfigError> {
    /// let store = auth_layer::store::PostgresStore::connect("postgres://app@db.internal/app")
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
    /// # async fn run(store: auth_layer::store::PostgresStore) -> Result<(), sqlx::Error> {
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
    use std::str::FromStr;

    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

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
}
