//! The Redis session store: sessions shared by every instance, rotation in
//! one Lua script.
//!
//! The storage contract is on [`RedisSessionStore`].

use std::fmt;
use std::sync::Arc;

use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

use super::{
    BoxFuture, EndReason, RETENTION_AFTER_EXPIRY, RotateOutcome, Rotation, SessionRecord,
    SessionStore, SessionStoreError, TokenHash,
};
use crate::backend::redis::{self as backend, ConnectError, DEFAULT_PREFIX};
use crate::error::ConfigError;

/// The session fields the scripts answer with, in order.
const FIELDS: [&str; 7] = [
    "sub",
    "claims",
    "ver",
    "created_at",
    "expires_at",
    "last_used_at",
    "ended",
];

/// A [`SessionStore`] in Redis (standalone, or any server speaking its
/// protocol), shared by every instance of a service.
///
/// A hash per session and a set per subject, rotation in one Lua script
/// (see the contract below). Commands run on a
/// [`ConnectionManager`] that reconnects by itself; while Redis is
/// unreachable every call fails with [`SessionStoreError::Unavailable`].
/// Cheap to clone: clones share the connection. `Debug` shows the address
/// and prefix, never credentials.
///
/// # Storage contract
///
/// Public and stable, so services in other languages can read sessions or
/// end them. With the default prefix `auth:` (see
/// [`RedisSessionStore::with_prefix`]); times are Unix seconds, written as
/// decimal strings:
///
/// | Key | Meaning |
/// |-----|---------|
/// | `auth:session:{sid}` | A hash, one per session: `sub`, `claims` (a JSON object), `ver` (the subject's token version at login), `created_at`, `expires_at` (absolute end), `last_used_at` (login or last rotation), `token` (lowercase hex SHA-256 of the current refresh token), `prev` (hex hash of the most recently spent token), one `spent:{hash}` field per spent token (when it was spent), and `ended` (`logout`, `logout_all`, `reuse`, `reauth` or `revoked`) with `ended_at` once the session has ended. Expires one day after `expires_at`. |
/// | `auth:sessions:{sub}` | A set of the subject's session ids (live or ended); expires with the last of them. |
///
/// A refresh token is `{sid}.{secret}`; its hash is the SHA-256 of the
/// whole token. Another service ends a session with
/// `HSET auth:session:{sid} ended revoked ended_at {now}` (only if `ended`
/// is absent, to keep the first reason), and must also revoke its `sid` in
/// the revocation store for its access tokens to stop passing.
///
/// Rotation is one Lua script (`EVALSHA`) on the session's key: it reads
/// the session, compares the presented hash with `token` and the `spent:`
/// fields, and rotates or ends the session in the same step, so of many
/// concurrent refreshes with one token exactly one rotates.
///
/// ```no_run
/// use auth_layer::revocation::{RedisStore, RevocationCache};
/// use auth_layer::session::{RedisSessionStore, Sessions, SigningKey, TokenIssuer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let url = "redis://127.0.0.1:6379";
/// let revocation = RevocationCache::builder(RedisStore::connect(url).await?).build()?;
/// let issuer = TokenIssuer::builder(SigningKey::hmac(std::env::var("AUTH_HMAC_SECRET")?)?).build()?;
/// let sessions = Sessions::builder(issuer, RedisSessionStore::connect(url).await?, revocation).build()?;
/// let pair = sessions.login("alice", serde_json::json!({})).await?;
/// # let _ = pair;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore {
    client: redis::Client,
    connection: ConnectionManager,
    prefix: Arc<str>,
    scripts: Arc<Scripts>,
}

struct Scripts {
    create: Script,
    rotate: Script,
    end: Script,
}

impl RedisSessionStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`),
    /// with the default key prefix `auth:`. An unreachable server gives an
    /// error within a few seconds; after that, a dropped connection is
    /// re-established by itself.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), auth_layer::session::SessionStoreError> {
    /// let store = auth_layer::session::RedisSessionStore::connect("redis://127.0.0.1:6379/0").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`SessionStoreError::Unavailable`] for an invalid URL or a server
    /// that refused the connection; [`SessionStoreError::Timeout`] when
    /// the whole attempt took too long.
    pub async fn connect(url: &str) -> Result<Self, SessionStoreError> {
        let (client, connection) = backend::connect(url).await.map_err(|e| match e {
            ConnectError::Unavailable(e) => SessionStoreError::unavailable(e),
            ConnectError::Timeout => SessionStoreError::Timeout(backend::CONNECT_DEADLINE),
        })?;
        Ok(Self::from_parts(client, connection))
    }

    fn from_parts(client: redis::Client, connection: ConnectionManager) -> Self {
        Self {
            client,
            connection,
            prefix: Arc::from(DEFAULT_PREFIX),
            scripts: Arc::new(Scripts {
                create: Script::new(include_str!("redis_create.lua")),
                rotate: Script::new(include_str!("redis_rotate.lua")),
                end: Script::new(include_str!("redis_end.lua")),
            }),
        }
    }

    /// Uses `prefix` instead of `auth:` in front of every key, e.g.
    /// `myapp:` for `myapp:session:{sid}`.
    ///
    /// # Errors
    /// An empty prefix.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = auth_layer::session::RedisSessionStore::connect("redis://127.0.0.1:6379")
    ///     .await?
    ///     .with_prefix("myapp:")?;
    /// assert_eq!(store.prefix(), "myapp:");
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Result<Self, ConfigError> {
        let prefix = prefix.into();
        if prefix.is_empty() {
            return Err(ConfigError::setting(
                "redis key prefix",
                "must not be empty",
            ));
        }
        self.prefix = Arc::from(prefix);
        Ok(self)
    }

    /// The prefix in front of every key (`auth:` by default).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn session_key(&self, sid: &str) -> String {
        format!("{}session:{sid}", self.prefix)
    }

    fn subject_key(&self, subject: &str) -> String {
        format!("{}sessions:{subject}", self.prefix)
    }

    async fn end_one(
        &self,
        sid: &str,
        reason: EndReason,
        now: i64,
    ) -> Result<(String, Option<SessionRecord>), SessionStoreError> {
        let reply: Vec<String> = self
            .scripts
            .end
            .key(self.session_key(sid))
            .arg(reason.as_str())
            .arg(now)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(SessionStoreError::unavailable)?;
        let (status, record) = parse_reply(sid, reply)?;
        Ok((status, record))
    }
}

/// A script's answer: the status and, unless `unknown`, the session.
fn parse_reply(
    sid: &str,
    reply: Vec<String>,
) -> Result<(String, Option<SessionRecord>), SessionStoreError> {
    let mut reply = reply.into_iter();
    let status = reply
        .next()
        .ok_or_else(|| SessionStoreError::corrupt("empty script answer"))?;
    let fields: Vec<Option<String>> = reply.map(Some).collect();
    if fields.is_empty() {
        return Ok((status, None));
    }
    Ok((status, Some(record(sid, fields)?)))
}

/// A session from its [`FIELDS`], as `HMGET` or a script answers them.
fn record(sid: &str, fields: Vec<Option<String>>) -> Result<SessionRecord, SessionStoreError> {
    let [
        sub,
        claims,
        ver,
        created_at,
        expires_at,
        last_used_at,
        ended,
    ]: [Option<String>; 7] = fields
        .try_into()
        .map_err(|_| SessionStoreError::corrupt("wrong number of fields"))?;
    let number = |value: Option<String>, name: &str| -> Result<i64, SessionStoreError> {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| SessionStoreError::corrupt(name))
    };
    let claims: Map<String, Value> = match claims.as_deref() {
        None | Some("") => Map::new(),
        Some(json) => {
            serde_json::from_str(json).map_err(|_| SessionStoreError::corrupt("claims"))?
        }
    };
    Ok(SessionRecord {
        sid: sid.to_owned(),
        subject: sub.ok_or_else(|| SessionStoreError::corrupt("sub"))?,
        claims,
        version: ver
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| SessionStoreError::corrupt("ver"))?,
        created_at: number(created_at, "created_at")?,
        expires_at: number(expires_at, "expires_at")?,
        last_used_at: number(last_used_at, "last_used_at")?,
        ended: ended
            .filter(|e| !e.is_empty())
            .map(|e| EndReason::parse(&e)),
    })
}

impl SessionStore for RedisSessionStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), SessionStoreError>> {
        Box::pin(async move {
            let retention = i64::try_from(RETENTION_AFTER_EXPIRY.as_secs()).unwrap_or(i64::MAX);
            let ttl = session
                .expires_at
                .saturating_add(retention)
                .saturating_sub(session.created_at)
                .max(1);
            let claims = serde_json::to_string(&session.claims)
                .map_err(|_| SessionStoreError::corrupt("claims"))?;
            self.scripts
                .create
                .key(self.session_key(&session.sid))
                .key(self.subject_key(&session.subject))
                .arg(&session.sid)
                .arg(&session.subject)
                .arg(claims)
                .arg(session.version)
                .arg(session.created_at)
                .arg(session.expires_at)
                .arg(session.last_used_at)
                .arg(token.to_hex())
                .arg(ttl)
                .invoke_async::<i64>(&mut self.connection.clone())
                .await
                .map_err(SessionStoreError::unavailable)?;
            Ok(())
        })
    }

    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
        Box::pin(async move {
            let fields: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(self.session_key(sid))
                .arg(&FIELDS)
                .query_async(&mut self.connection.clone())
                .await
                .map_err(SessionStoreError::unavailable)?;
            if fields.first().is_none_or(Option::is_none) {
                return Ok(None);
            }
            record(sid, fields).map(Some)
        })
    }

    fn rotate<'a>(
        &'a self,
        r: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, SessionStoreError>> {
        Box::pin(async move {
            let reply: Vec<String> = self
                .scripts
                .rotate
                .key(self.session_key(r.sid))
                .arg(r.presented.to_hex())
                .arg(r.next.to_hex())
                .arg(r.now)
                .arg(r.idle_timeout)
                .arg(r.grace)
                .arg(r.min_version)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(SessionStoreError::unavailable)?;
            let (status, session) = parse_reply(r.sid, reply)?;
            let Some(session) = session else {
                return Ok(RotateOutcome::Unknown);
            };
            Ok(match status.as_str() {
                "rotated" => RotateOutcome::Rotated(session),
                "duplicate" => RotateOutcome::Duplicate(session),
                "reused" => RotateOutcome::Reused(session),
                "ended" => RotateOutcome::Ended(session),
                "expired" => RotateOutcome::Expired(session),
                "idle" => RotateOutcome::Idle(session),
                "version_bumped" => RotateOutcome::VersionBumped(session),
                _ => return Err(SessionStoreError::corrupt("unknown rotation status")),
            })
        })
    }

    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionStoreError>> {
        Box::pin(async move { Ok(self.end_one(sid, reason, now).await?.1) })
    }

    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, SessionStoreError>> {
        Box::pin(async move {
            let set = self.subject_key(subject);
            let mut connection = self.connection.clone();
            let sids: Vec<String> = redis::cmd("SMEMBERS")
                .arg(&set)
                .query_async(&mut connection)
                .await
                .map_err(SessionStoreError::unavailable)?;
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
                redis::cmd("SREM")
                    .arg(&set)
                    .arg(&gone)
                    .exec_async(&mut connection)
                    .await
                    .map_err(SessionStoreError::unavailable)?;
            }
            Ok(ended)
        })
    }
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.client.get_connection_info();
        f.debug_struct("RedisSessionStore")
            .field("addr", &info.addr().to_string())
            .field("db", &info.redis_settings().db())
            .field("prefix", &&*self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy_store(url: &str) -> RedisSessionStore {
        let client = redis::Client::open(url).unwrap();
        let connection = ConnectionManager::new_lazy_with_config(
            client.clone(),
            redis::aio::ConnectionManagerConfig::new(),
        )
        .unwrap();
        RedisSessionStore::from_parts(client, connection)
    }

    #[tokio::test]
    async fn keys_follow_the_documented_layout() {
        let store = lazy_store("redis://127.0.0.1:6379");
        assert_eq!(store.session_key("s1"), "auth:session:s1");
        assert_eq!(store.subject_key("alice"), "auth:sessions:alice");
        let store = store.with_prefix("svc:").unwrap();
        assert_eq!(store.session_key("s1"), "svc:session:s1");
        assert!(
            lazy_store("redis://127.0.0.1:6379")
                .with_prefix("")
                .is_err()
        );
    }

    #[tokio::test]
    async fn debug_never_shows_the_password() {
        let store = lazy_store("redis://alice:hunter2-secret@cache.internal:6380/3");
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("cache.internal:6380"), "{debug}");
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let good = || -> Vec<Option<String>> {
            ["alice", "{}", "1", "10", "20", "15", ""]
                .map(|v| Some(v.to_owned()))
                .to_vec()
        };
        assert_eq!(record("s1", good()).unwrap().version, 1);
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
