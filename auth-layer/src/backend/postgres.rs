//! The PostgreSQL pool and schema creation shared by every PostgreSQL store.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// How long a query waits for a pooled connection: a database that is down
/// makes calls fail rather than hang.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections per pool.
const MAX_CONNECTIONS: u32 = 10;

/// A pool to the database `options` names, bounded as above.
pub(crate) async fn pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

/// Runs the idempotent `schema` under the transaction-level advisory lock
/// `lock`, so instances starting together do not race, and only when one of
/// `relations` is missing: `CREATE INDEX IF NOT EXISTS` locks its table
/// before looking, which would wait on (or deadlock with) running writes.
pub(crate) async fn migrate(
    pool: &PgPool,
    lock: i64,
    schema: &str,
    relations: &[&str],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock)
        .execute(&mut *tx)
        .await?;
    let complete: bool = sqlx::query_scalar(
        "SELECT bool_and(to_regclass(r) IS NOT NULL) FROM unnest($1::text[]) AS r",
    )
    .bind(relations)
    .fetch_one(&mut *tx)
    .await?;
    if !complete {
        sqlx::raw_sql(schema).execute(&mut *tx).await?;
    }
    tx.commit().await
}
