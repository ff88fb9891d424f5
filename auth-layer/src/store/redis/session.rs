//! [`SessionStore`] for [`RedisStore`]: a hash per session and a set per
//! subject, every decision in one single-key Lua script.

use redis::AsyncCommands;
use serde_json::{Map, Value};

use super::store::RedisStore;
use crate::backend::{BoxFuture, StoreError};
use crate::session::{
    EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SPENT_TOKENS_KEPT, SessionRecord,
    SessionStore, TokenHash,
};

/// The session fields the scripts answer with, in order.
const FIELDS: [&str; 9] = [
    "sub",
    "claims",
    "ver",
    "created_at",
    "expires_at",
    "last_used_at",
    "ended",
    "dpop_jkt",
    "idle_timeout",
];

impl SessionStore for RedisStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let retention = i64::try_from(RETENTION_AFTER_EXPIRY.as_secs()).unwrap_or(i64::MAX);
            let ttl = session
                .expires_at
                .saturating_add(retention)
                .saturating_sub(session.created_at)
                .max(1);
            let claims = serde_json::to_string(&session.claims)
                .map_err(|_| StoreError::corrupt("claims"))?;
            // One key per step (a cluster may hold them on two nodes): the
            // subject's index, then the session, then the index again. The
            // first makes "log out everywhere" find every session that may
            // exist; `end_all` drops an entry whose session is missing, and
            // the last step puts back one it dropped while this session was
            // being created, so no live session is left out of its index.
            let mut index = self
                .scripts
                .index_session
                .key(self.key("sessions", &session.subject));
            index.arg(&session.sid).arg(ttl);
            let add_to_index = || self.invoke::<i64>(&index);
            add_to_index().await?;
            let mut create = self.scripts.create.key(self.key("session", &session.sid));
            create
                .arg(&session.subject)
                .arg(claims)
                .arg(session.version)
                .arg(session.created_at)
                .arg(session.expires_at)
                .arg(session.last_used_at)
                .arg(token.to_hex())
                .arg(ttl)
                .arg(session.dpop_jkt.as_deref().unwrap_or_default())
                .arg(
                    session
                        .idle_timeout
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                );
            self.invoke::<i64>(&create).await?;
            add_to_index().await?;
            Ok(())
        })
    }

    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(async move {
            let key = self.key("session", sid);
            let fields: Vec<Option<String>> = self
                .connection
                .run(|mut c| {
                    let key = &key;
                    async move {
                        redis::cmd("HMGET")
                            .arg(key)
                            .arg(&FIELDS)
                            .query_async(&mut c)
                            .await
                    }
                })
                .await?;
            if fields.first().is_none_or(Option::is_none) {
                return Ok(None);
            }
            record(sid, fields).map(Some)
        })
    }

    fn rotate<'a>(
        &'a self,
        r: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>> {
        Box::pin(async move {
            let claims = match r.claims {
                Some(claims) => {
                    serde_json::to_string(claims).map_err(|_| StoreError::corrupt("claims"))?
                }
                None => String::new(),
            };
            let mut rotate = self.scripts.rotate.key(self.key("session", r.sid));
            rotate
                .arg(r.presented.to_hex())
                .arg(r.next.to_hex())
                .arg(r.now)
                .arg(r.idle_timeout)
                .arg(r.grace)
                .arg(r.min_version)
                .arg(r.retry)
                .arg(claims)
                .arg(SPENT_TOKENS_KEPT);
            // Safe to run twice: the same rotation in its second answers `retried`.
            let reply: Vec<String> = self.invoke(&rotate).await?;
            let (status, session) = parse_reply(r.sid, reply)?;
            let Some(session) = session else {
                if status == "mismatch" {
                    crate::session::rotation::warn_mismatch(r.sid);
                }
                return Ok(RotateOutcome::Unknown);
            };
            Ok(match status.as_str() {
                "rotated" => RotateOutcome::Rotated(session),
                "retried" => RotateOutcome::Retried(session),
                "duplicate" => RotateOutcome::Duplicate(session),
                "reused" => RotateOutcome::Reused(session),
                "ended" => RotateOutcome::Ended(session),
                "expired" => RotateOutcome::Expired(session),
                "idle" => RotateOutcome::Idle(session),
                "version_bumped" => RotateOutcome::VersionBumped(session),
                _ => return Err(StoreError::corrupt("unknown rotation status")),
            })
        })
    }

    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(async move { Ok(self.end_one(sid, reason, now).await?.1) })
    }

    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let set = self.key("sessions", subject);
            let sids: Vec<String> = self
                .connection
                .run(|mut c| {
                    let set = &set;
                    async move { c.smembers(set).await }
                })
                .await?;
            let mut ended = Vec::new();
            let mut gone = Vec::new();
            for sid in sids {
                match self.end_one(&sid, reason, now).await? {
                    (status, Some(_)) if status == "ended" => ended.push(sid),
                    (_, Some(_)) => {}
                    (_, None) => gone.push(sid),
                }
            }
            if !gone.is_empty() {
                self.connection
                    .run(|mut c| {
                        let (set, gone) = (&set, &gone);
                        async move { c.srem::<_, _, ()>(set, gone).await }
                    })
                    .await?;
                // A session being created right now has its index entry
                // before its hash: one that appeared meanwhile goes back.
                for sid in gone {
                    let key = self.key("session", &sid);
                    let created: bool = self
                        .connection
                        .run(|mut c| {
                            let key = &key;
                            async move { c.exists(key).await }
                        })
                        .await?;
                    if created {
                        self.connection
                            .run(|mut c| {
                                let (set, sid) = (&set, &sid);
                                async move { c.sadd::<_, _, ()>(set, sid).await }
                            })
                            .await?;
                    }
                }
            }
            Ok(ended)
        })
    }
}

impl RedisStore {
    /// Ends one session; the script's status (`ended` by this call,
    /// `already`, `unknown`) and the session as it now is.
    async fn end_one(
        &self,
        sid: &str,
        reason: EndReason,
        now: i64,
    ) -> Result<(String, Option<SessionRecord>), StoreError> {
        let mut end = self.scripts.end.key(self.key("session", sid));
        end.arg(reason.as_str()).arg(now);
        let reply: Vec<String> = self.invoke(&end).await?;
        parse_reply(sid, reply)
    }
}

/// A script's answer: the status and, unless `unknown`, the session.
fn parse_reply(
    sid: &str,
    reply: Vec<String>,
) -> Result<(String, Option<SessionRecord>), StoreError> {
    let mut reply = reply.into_iter();
    let status = reply
        .next()
        .ok_or_else(|| StoreError::corrupt("empty script answer"))?;
    let fields: Vec<Option<String>> = reply.map(Some).collect();
    if fields.is_empty() {
        return Ok((status, None));
    }
    Ok((status, Some(record(sid, fields)?)))
}

/// A session from its [`FIELDS`], as `HMGET` or a script answers them.
fn record(sid: &str, fields: Vec<Option<String>>) -> Result<SessionRecord, StoreError> {
    let [
        sub,
        claims,
        ver,
        created_at,
        expires_at,
        last_used_at,
        ended,
        dpop_jkt,
        idle_timeout,
    ]: [Option<String>; 9] = fields
        .try_into()
        .map_err(|_| StoreError::corrupt("wrong number of fields"))?;
    let number = |value: Option<String>, name: &str| -> Result<i64, StoreError> {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::corrupt(name))
    };
    let claims: Map<String, Value> = match claims.as_deref() {
        None | Some("") => Map::new(),
        Some(json) => serde_json::from_str(json).map_err(|_| StoreError::corrupt("claims"))?,
    };
    Ok(SessionRecord {
        sid: sid.to_owned(),
        subject: sub.ok_or_else(|| StoreError::corrupt("sub"))?,
        claims,
        version: ver
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::corrupt("ver"))?,
        created_at: number(created_at, "created_at")?,
        expires_at: number(expires_at, "expires_at")?,
        last_used_at: number(last_used_at, "last_used_at")?,
        ended: ended
            .filter(|e| !e.is_empty())
            .map(|e| EndReason::parse(&e)),
        dpop_jkt: dpop_jkt.filter(|jkt| !jkt.is_empty()),
        idle_timeout: match idle_timeout.as_deref() {
            None | Some("") => None,
            Some(secs) => Some(
                secs.parse()
                    .map_err(|_| StoreError::corrupt("idle_timeout"))?,
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let good = || -> Vec<Option<String>> {
            ["alice", "{}", "1", "10", "20", "15", "", "", ""]
                .map(|v| Some(v.to_owned()))
                .to_vec()
        };
        assert_eq!(record("s1", good()).unwrap().version, 1);
        assert_eq!(
            record("s1", good()).unwrap().dpop_jkt,
            None,
            "empty: unbound"
        );
        let mut bound = good();
        bound[7] = Some("jkt-1".into());
        assert_eq!(
            record("s1", bound).unwrap().dpop_jkt.as_deref(),
            Some("jkt-1")
        );
        assert_eq!(
            record("s1", good()).unwrap().idle_timeout,
            None,
            "empty: the default"
        );
        let mut idle = good();
        idle[8] = Some("900".into());
        assert_eq!(record("s1", idle.clone()).unwrap().idle_timeout, Some(900));
        idle[8] = Some("soon".into());
        assert!(record("s1", idle).is_err());
        for broken in 0..6 {
            let mut fields = good();
            if let Some(field) = fields.get_mut(broken) {
                *field = Some("not-a-number-or-json".into());
            }
            let parsed = record("s1", fields);
            assert_eq!(parsed.is_err(), broken != 0, "field {broken}");
        }
        assert!(record("s1", vec![None; 3]).is_err());
    }
}
