//! Moving a 0.1 Redis store's revocations (`ver:`, `sid:`, `jti:` keys) to
//! the issuer-scoped keys.

use std::time::{Duration, SystemTime};

use super::store::RedisStore;
use crate::backend::StoreError;
use crate::revocation::RevocationStore;
use crate::store::Upgraded;

/// Deletes `KEYS[1]` if it still holds `ARGV[1]`.
static DEL_IF_UNCHANGED: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
    )
});

impl RedisStore {
    pub(crate) async fn upgrade_from_0_1(
        &self,
        issuers: &[&str],
        now: i64,
    ) -> Result<Upgraded, StoreError> {
        if self.is_cluster() {
            return Ok(Upgraded::default());
        }
        let mut moved = Upgraded::default();
        for key in self.scan(&format!("{}ver:*", self.prefix())).await? {
            let sub = &key[self.prefix().len() + "ver:".len()..];
            let read: Option<String> = self.query(redis::cmd("GET").arg(&key)).await?;
            let Some(read) = read else { continue };
            let version: u64 = read.parse().unwrap_or(0);
            for iss in issuers {
                let current = self.subject(iss, sub).await?;
                let nb = current.not_before.map_or(now, |nb| nb.max(now));
                let _: () = self
                    .query(
                        redis::cmd("HSET")
                            .arg(self.scoped_key("subject", iss, sub))
                            .arg("ver")
                            .arg(current.version.max(version))
                            .arg("nbf")
                            .arg(nb),
                    )
                    .await?;
            }
            // Removed only if no 0.1 instance raised it meanwhile (then the
            // next run moves the new value).
            let _: i64 = self.invoke(DEL_IF_UNCHANGED.key(&key).arg(&read)).await?;
            moved.subjects += 1;
        }
        for key in self.scan(&format!("{}sid:*", self.prefix())).await? {
            let sid = &key[self.prefix().len() + "sid:".len()..];
            for iss in issuers {
                self.revoke_session(iss, sid, now).await?;
            }
            let _: () = self.query(redis::cmd("DEL").arg(&key)).await?;
            moved.sessions += 1;
        }
        for key in self.scan(&format!("{}jti:*", self.prefix())).await? {
            let jti = &key[self.prefix().len() + "jti:".len()..];
            let left: i64 = self.query(redis::cmd("PTTL").arg(&key)).await?;
            if left > 0 {
                let until = SystemTime::now() + Duration::from_millis(left.unsigned_abs());
                for iss in issuers {
                    self.revoke_jti(iss, jti, until).await?;
                }
                moved.token_ids += 1;
            }
            let _: () = self.query(redis::cmd("DEL").arg(&key)).await?;
        }
        Ok(moved)
    }

    /// Every key matching `pattern` (`SCAN`, so the server is not blocked).
    async fn scan(&self, pattern: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }
}
