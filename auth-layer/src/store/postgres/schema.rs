//! The schema: one file of SQL, created once, only when something is missing.

use super::store::PostgresStore;
use crate::backend::StoreError;

/// Key of the transaction-level advisory lock held while creating the
/// schema (the bytes of `authrevk`).
const SCHEMA_LOCK: i64 = 7_022_647_185_898_829_419;
/// The lock 0.1's session store took for its tables (the bytes of
/// `authsesn`), taken too, so that during a rolling upgrade an instance of
/// 0.1 and one of this version do not create the same tables at once.
const SESSION_SCHEMA_LOCK: i64 = 7_022_647_185_915_605_870;
/// The schema, run by [`PostgresStore::migrate`].
pub(super) const SCHEMA: &str = include_str!("schema.sql");
/// Every table and index [`SCHEMA`] creates: when all exist, no DDL runs.
const RELATIONS: [&str; 13] = [
    "auth_revoked_subjects",
    "auth_revoked_session_ids",
    "auth_revoked_session_ids_forget_after_idx",
    "auth_denied_token_ids",
    "auth_denied_token_ids_expires_at_idx",
    "auth_used_token_ids",
    "auth_used_token_ids_expires_at_idx",
    "auth_store_marker",
    "auth_sessions",
    "auth_sessions_live_subject_idx",
    "auth_sessions_expires_at_idx",
    "auth_refresh_tokens",
    "auth_refresh_tokens_sid_idx",
];

/// Every column [`SCHEMA`] adds to a table created before it (`ALTER TABLE
/// … ADD COLUMN IF NOT EXISTS`): when one is missing, the schema runs again.
const ADDED_COLUMNS: [(&str, &str); 3] = [
    ("auth_revoked_session_ids", "forget_after"),
    ("auth_sessions", "dpop_jkt"),
    ("auth_sessions", "idle_timeout"),
];

impl PostgresStore {
    /// Creates the tables, columns and indexes of the contract if any is
    /// missing ([`SCHEMA`](Self::SCHEMA)), inside a transaction holding
    /// `pg_advisory_xact_lock(7022647185898829419)` (and 0.1's session-store
    /// lock, `7022647185915605870`) so instances starting together do not
    /// race. When everything exists it runs no DDL at all,
    /// so an instance starting never takes table locks that running
    /// rotations would wait on. It keeps no bookkeeping table of its own (in
    /// particular not sqlx's `_sqlx_migrations`, which belongs to the
    /// application). Where the application role may not create tables, run
    /// [`SCHEMA`](Self::SCHEMA) once with a privileged role.
    ///
    /// ```no_run
    /// # async fn run(store: auth_layer::store::PostgresStore) -> Result<(), auth_layer::store::StoreError> {
    /// store.migrate().await?;
    /// store.migrate().await?; // does nothing the second time
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database cannot be reached, or the role may not create tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrate = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)")
                .bind(SCHEMA_LOCK)
                .bind(SESSION_SCHEMA_LOCK)
                .execute(&mut *tx)
                .await?;
            let (tables, columns): (Vec<&str>, Vec<&str>) = ADDED_COLUMNS.into_iter().unzip();
            let complete: bool = sqlx::query_scalar(
                "SELECT (SELECT bool_and(to_regclass(r) IS NOT NULL) FROM unnest($1::text[]) AS r) \
                    AND (SELECT bool_and(EXISTS ( \
                        SELECT 1 FROM pg_attribute \
                        WHERE attrelid = to_regclass(c.t) AND attname = c.n AND NOT attisdropped)) \
                    FROM unnest($2::text[], $3::text[]) AS c(t, n))",
            )
            .bind(&RELATIONS[..])
            .bind(&tables)
            .bind(&columns)
            .fetch_one(&mut *tx)
            .await?;
            if !complete {
                sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
            }
            tx.commit().await
        };
        migrate.await.map_err(StoreError::unavailable)?;
        // The continuity marker is written now, before any token is checked
        // against this store, rather than at its first read.
        crate::revocation::RevocationStore::marker(self).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_creates_every_relation_of_the_contract_idempotently() {
        for relation in RELATIONS {
            let table = format!("CREATE TABLE IF NOT EXISTS {relation} (");
            let index = format!("CREATE INDEX IF NOT EXISTS {relation}\n");
            assert!(
                SCHEMA.contains(&table) || SCHEMA.contains(&index),
                "{relation}"
            );
        }
        assert_eq!(
            SCHEMA.matches("CREATE ").count(),
            RELATIONS.len(),
            "every relation is listed"
        );
        assert!(!SCHEMA.contains("_sqlx_migrations"));
        for (table, column) in ADDED_COLUMNS {
            let added = format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} ");
            assert!(SCHEMA.contains(&added), "{table}.{column}");
        }
        assert_eq!(
            SCHEMA
                .lines()
                .filter(|line| line.starts_with("ALTER TABLE "))
                .count(),
            ADDED_COLUMNS.len(),
            "every added column is listed"
        );
    }
}
