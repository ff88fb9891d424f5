//! Moving a 0.1 PostgreSQL store's revocations (`auth_user_versions`,
//! `auth_revoked_sessions`, `auth_denied_jtis`) to the issuer-scoped tables,
//! in one transaction.

use super::store::PostgresStore;
use crate::backend::StoreError;
use crate::store::Upgraded;

/// Each statement takes the 0.1 rows out (`DELETE … RETURNING`, so a row a
/// 0.1 instance writes meanwhile is either moved or stays for the next run)
/// and writes them once per issuer (`$1`), not-before `$2`.
const MOVES: [(&str, &str); 3] = [
    (
        "auth_user_versions",
        "WITH moved AS (DELETE FROM auth_user_versions RETURNING subject, version) \
         INSERT INTO auth_revoked_subjects (issuer, subject, version, not_before) \
         SELECT i, subject, version, $2 FROM moved, unnest($1::text[]) AS i \
         ON CONFLICT (issuer, subject) DO UPDATE \
         SET version = GREATEST(auth_revoked_subjects.version, EXCLUDED.version), \
             not_before = GREATEST(auth_revoked_subjects.not_before, EXCLUDED.not_before)",
    ),
    (
        "auth_revoked_sessions",
        "WITH moved AS (DELETE FROM auth_revoked_sessions RETURNING sid) \
         INSERT INTO auth_revoked_session_ids (issuer, sid, not_before) \
         SELECT i, sid, $2 FROM moved, unnest($1::text[]) AS i \
         ON CONFLICT (issuer, sid) DO UPDATE \
         SET not_before = GREATEST(auth_revoked_session_ids.not_before, EXCLUDED.not_before)",
    ),
    (
        "auth_denied_jtis",
        "WITH moved AS (DELETE FROM auth_denied_jtis RETURNING jti, expires_at) \
         INSERT INTO auth_denied_token_ids (issuer, jti, expires_at) \
         SELECT i, jti, expires_at FROM moved, unnest($1::text[]) AS i \
         WHERE expires_at > now() AND $2::bigint IS NOT NULL \
         ON CONFLICT (issuer, jti) DO UPDATE \
         SET expires_at = GREATEST(auth_denied_token_ids.expires_at, EXCLUDED.expires_at)",
    ),
];

impl PostgresStore {
    pub(crate) async fn upgrade_from_0_1(
        &self,
        issuers: &[&str],
        now: i64,
    ) -> Result<Upgraded, StoreError> {
        let upgrade = async {
            let mut tx = self.pool.begin().await?;
            let mut counts = [0_u64; 3];
            for ((table, moving), count) in MOVES.iter().zip(&mut counts) {
                let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(table)
                    .fetch_one(&mut *tx)
                    .await?;
                if !exists {
                    continue;
                }
                let written = sqlx::query(moving)
                    .bind(issuers)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                *count = written / u64::try_from(issuers.len()).unwrap_or(1).max(1);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(counts)
        };
        let [subjects, sessions, token_ids] = upgrade.await.map_err(StoreError::unavailable)?;
        Ok(Upgraded {
            subjects,
            sessions,
            token_ids,
        })
    }
}
