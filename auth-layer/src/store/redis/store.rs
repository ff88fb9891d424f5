//! [`RedisStore`]: one connection, the key prefix, the scripts.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use redis::Script;

use super::connection::{ConnectError, Connection, Target};
use crate::backend::StoreError;
use crate::error::ConfigError;
use crate::store::url::redact;

/// The key prefix used unless the store is given another.
const DEFAULT_PREFIX: &str = "auth:";

/// Revocations and sessions in Redis, shared by every instance of a
/// service: implements [`RevocationStore`](crate::revocation::RevocationStore)
/// and [`SessionStore`](crate::session::SessionStore) on one connection.
///
/// One server (`redis://`, `rediss://` for TLS, `redis+unix://`) or a Redis
/// Cluster (`redis+cluster://host:port[,host:port…]`, `rediss+cluster://`
/// for TLS). Every script touches exactly one key, so every operation works
/// on a cluster; revocation events are published with `PUBLISH`, which a
/// cluster delivers to the subscribers of every node. The keys, the channel
/// and the scripts are the storage contract below.
///
/// Commands run on a connection manager (one server) or the cluster
/// connection, which reconnect by themselves; while Redis is unreachable
/// every call fails with [`StoreError::Unavailable`](crate::store::StoreError)
/// (the layer answers 503). A command whose connection was reset is sent
/// once more on the new connection, so the first request after Redis comes
/// back does not fail. Cheap to clone: clones share the connection.
/// `Debug` shows the address and prefix, never the credentials.
///
/// ```no_run
/// use auth_layer::JwtAuth;
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::store::RedisStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis+cluster://10.0.0.1:6379,10.0.0.2:6379").await?;
/// let revocation = RevocationCache::builder(store.clone()).build()?;
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .revocation(revocation.clone())
///     .build()?;
///
/// // Every other instance hears of it through `auth:revocations`.
/// revocation.revoke_user("https://idp.example", "alice").await?;
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
///
/// # Storage contract
///
/// Other services (in any language) may read and write these keys directly;
/// the layout is public and stable. Keys start with the prefix, `auth:`
/// unless set with [`Self::with_prefix`]; `{sub}`, `{sid}` and `{jti}`
/// below stand for the values themselves (no braces are written), `{iss}`
/// for the token's issuer (`""` for a token without one) and `{n}` for the
/// issuer's length in bytes (so that an issuer containing `:` never reads as
/// another issuer's id). Times are Unix seconds written as decimal strings.
///
/// | Key | Meaning |
/// |-----|---------|
/// | `auth:subject:{n}:{iss}:{sub}` | A hash: `nbf`, the subject's not-before (a token of it whose `iat` is at or before it is revoked; it only moves forward), and `ver`, its token version (absent: 0), which tokens of the versioned issuer carry in `ver`. A revocation raises both; this store also writes `rev`, a random id of the last revocation applied, so that the same revocation sent again after its answer was lost counts once. |
/// | `auth:revoked-session:{n}:{iss}:{sid}` | The session's not-before: a token of the session whose `iat` is at or before it is revoked. Only moves forward. A session revoked by [`Sessions`](crate::session::Sessions) (`revoke_session_until`) expires once none of its access tokens can pass: a TTL of the longest access-token lifetime plus the longest leeway (300 s), counted from the revocation or the session's absolute end if earlier; revoking again keeps the longer TTL. A session revoked without an end (`revoke_session`, back-channel logout, other services) has no expiry, and revoking it so removes one. |
/// | `auth:denied-jti:{n}:{iss}:{jti}` | Present means the token id is denied. Written as `1` with an expiry at the token's `exp` (`PEXPIREAT`, milliseconds), so it disappears with the token; denying again keeps the later expiry. A denial whose `exp` is already past stores nothing. |
/// | `auth:used-jti:{n}:{iss}:{jti}` | A one-time token id already used (a logout token's `jti`; a DPoP proof's id, hex SHA-256 of its key's thumbprint and `jti`, under the scope `dpop-proof` in place of an issuer): `SET … NX PXAT` until that token would stop passing. |
/// | `auth:marker` | The store's continuity marker: the second (the server's `TIME`) its data began. Written at connect and whenever it is missing; read after every lookup. When it changes, every instance refuses the tokens issued before it. |
/// | `auth:session:{sid}` | A hash, one per session: `sub`, `claims` (a JSON object), `ver` (the subject's token version at login), `created_at`, `expires_at` (absolute end), `last_used_at` (login or last rotation), `token` (lowercase hex SHA-256 of the current refresh token), `prev` (hex hash of the most recently spent token), one `spent:{hash}` field per spent token (when it was spent; the 16 most recent are kept, [`SPENT_TOKENS_KEPT`](crate::session::SPENT_TOKENS_KEPT), `prev` always among them, older ones deleted by each rotation), and `ended` (`logout`, `logout_all`, `reuse`, `reauth` or `revoked`) with `ended_at` once the session has ended; `dpop_jkt` (the RFC 7638 thumbprint of the DPoP key the session's refresh tokens are bound to, written at login and never changed) only for a bound session. Expires one day after `expires_at`. |
/// | `auth:sessions:{sub}` | A set of the subject's session ids (live or ended); expires with the last of them. A session id is added before its session is created, so an id whose hash is missing means nothing (it is removed by "log out everywhere"). |
///
/// A refresh token is `{sid}.{secret}`; its hash is the SHA-256 of the whole
/// token.
///
/// ## Events
///
/// Every revocation is published with `PUBLISH auth:revocations <event>`
/// (the prefix followed by `revocations`), where the event is one of
/// `{"kind":"user","iss":"…","sub":"…"}`,
/// `{"kind":"session","iss":"…","sid":"…"}` or
/// `{"kind":"jti","iss":"…","jti":"…"}`. Every instance subscribes to the
/// channel on a dedicated connection and drops the named entry from its
/// cache at once; after its subscription was lost it drops every cached
/// answer, since events may have been missed, and so does an event in 0.1's
/// shape (without `iss`). In a cluster, `PUBLISH` on any node reaches the
/// subscribers of every node, and the subscription moves to another of the
/// nodes the URL names when its node goes away (name several). Other
/// payloads are ignored.
///
/// ## Writing from another service
///
/// - Log a subject out everywhere: `HINCRBY auth:subject:{n}:{iss}:{sub} ver 1`
///   and `HSET … nbf {now}` unless it holds a later one, then
///   `PUBLISH auth:revocations '{"kind":"user","iss":"…","sub":"…"}'`.
/// - Revoke a session: `SET auth:revoked-session:{n}:{iss}:{sid} {now}`
///   unless it holds a later one, then publish the session event; to also
///   stop its refresh tokens (sessions of this project),
///   `HSET auth:session:{sid} ended revoked ended_at {now}` if `ended` is
///   absent (the first reason stays).
/// - A writer that does not publish is still honoured by every instance,
///   once its cached answer expires (the cache TTL).
///
/// ## Scripts
///
/// Each write runs as one Lua script (`EVALSHA`) touching exactly one key,
/// so it is atomic and works on a Redis Cluster without hash tags: the
/// revocation writes (`revocation_*.lua`: the write and its `PUBLISH`
/// together), the session index (`session_index.lua`), session creation
/// (`session_create.lua`), rotation (`session_rotate.lua`: reads the session,
/// compares the presented hash with `token` and the `spent:` fields, and
/// rotates or ends the session in the same step, so of many concurrent
/// refreshes with one token exactly one rotates; it also writes `claims`
/// when an `on_refresh` hook gave new ones, and prunes the `spent:` fields) and ending a session
/// (`session_end.lua`). Each is safe to run twice, which is what lets a
/// command be sent again after its connection was reset.
///
/// ## Failover
///
/// A Redis Cluster node that fails over (a replica promoted) makes calls to
/// its slots fail or time out until the cluster has settled: the layer
/// answers 503 meanwhile, never a wrong 200. Replication is asynchronous, so
/// a write acknowledged by a primary that dies before its replica copied it
/// is lost; the cache TTL and the revocation events do not bring it back.
/// Revocations are security state: run the cluster with `appendonly yes`
/// and replicas, and see the README's section on durability.
#[derive(Clone)]
pub struct RedisStore {
    pub(super) connection: Connection,
    pub(super) target: Arc<Target>,
    url: Arc<str>,
    prefix: Arc<str>,
    pub(super) scripts: Arc<Scripts>,
}

/// The Lua scripts, each loaded once per server and run by its SHA-1.
pub(super) struct Scripts {
    pub(super) revoke_subject: Script,
    pub(super) revoke_session: Script,
    pub(super) marker: Script,
    pub(super) revoke_jti: Script,
    pub(super) index_session: Script,
    pub(super) create: Script,
    pub(super) rotate: Script,
    pub(super) end: Script,
}

impl RedisStore {
    /// Connects to the Redis (or Redis Cluster) at `url`, with the default
    /// key prefix `auth:`: `redis://[user:password@]host[:port][/db]`,
    /// `rediss://…` (TLS, public roots), `redis+unix:///path`, or
    /// `redis+cluster://[user:password@]host:port[,host:port…]` and
    /// `rediss+cluster://…`. For TLS with a private CA use
    /// [`StoreOptions::ca_file`](crate::store::StoreOptions::ca_file).
    ///
    /// The attempt is bounded: an unreachable server gives an error within
    /// a few seconds. After that, a dropped connection is re-established by
    /// itself.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the URL (password redacted) and the cause:
    /// a URL that does not parse, a server that refused the connection or
    /// the TLS handshake, or no answer in time.
    ///
    /// ```no_run
    /// use auth_layer::store::RedisStore;
    ///
    /// # async fn run() -> Result<(), auth_layer::ConfigError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?;
    /// println!("{store:?}"); // RedisStore { url: "redis://127.0.0.1:6379/0", prefix: "auth:" }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, ConfigError> {
        Self::connect_with_ca(url, None).await
    }

    pub(crate) async fn connect_with_ca(url: &str, ca: Option<&[u8]>) -> Result<Self, ConfigError> {
        let target = Target::parse(url, ca).map_err(|e| failed(url, e))?;
        let connection = target.connect().await.map_err(|e| failed(url, e))?;
        let store = Self {
            connection,
            target: Arc::new(target),
            url: Arc::from(redact(url)),
            prefix: Arc::from(DEFAULT_PREFIX),
            scripts: Arc::new(Scripts {
                revoke_subject: Script::new(include_str!("revocation_subject.lua")),
                revoke_session: Script::new(include_str!("revocation_session.lua")),
                marker: Script::new(include_str!("revocation_marker.lua")),
                revoke_jti: Script::new(include_str!("revocation_jti.lua")),
                index_session: Script::new(include_str!("session_index.lua")),
                create: Script::new(include_str!("session_create.lua")),
                rotate: Script::new(include_str!("session_rotate.lua")),
                end: Script::new(include_str!("session_end.lua")),
            }),
        };
        // The continuity marker is written now, before any token is checked
        // against this store, rather than at its first read.
        crate::revocation::RevocationStore::marker(&store)
            .await
            .map_err(|e| {
                ConfigError::setting(
                    "redis store",
                    format!("cannot read the continuity marker at {}: {e}", redact(url)),
                )
            })?;
        Ok(store)
    }

    /// Uses `prefix` instead of `auth:` in front of every key and the event
    /// channel, e.g. `myapp:` for `myapp:session:{sid}` and `myapp:revocations`.
    /// Every instance (and every other service writing revocations) must use
    /// the same prefix. The prefix's continuity marker is written at its
    /// first lookup: tokens issued before that are refused.
    ///
    /// # Errors
    /// An empty prefix.
    ///
    /// ```no_run
    /// use auth_layer::store::RedisStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379")
    ///     .await?
    ///     .with_prefix("myapp:")?;
    /// assert_eq!(store.prefix(), "myapp:");
    /// assert_eq!(store.channel(), "myapp:revocations");
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

    /// The prefix in front of every key and the channel (`auth:` by default).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The channel revocation events are published on: the prefix followed
    /// by `revocations` (`auth:revocations` by default).
    pub fn channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    /// The key of a record: the prefix, `kind`, `:` and `id`
    /// (`auth:session:{sid}`, `auth:sessions:{sub}`).
    pub(super) fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// The key of a revocation record of an issuer: the prefix, `kind`, `:`,
    /// the issuer's length in bytes, `:`, the issuer, `:` and `id`
    /// (`auth:subject:25:https://idp.example.com:alice`). The length keeps
    /// an issuer containing `:` from reading as another issuer's id.
    pub(super) fn scoped_key(&self, kind: &str, iss: &str, id: &str) -> String {
        // Pieces pushed into one allocation: a cold token builds two or
        // three of these, and `format!` took a third of its store call.
        let mut key =
            String::with_capacity(self.prefix.len() + kind.len() + iss.len() + id.len() + 24);
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push(':');
        // Writing to a `String` cannot fail.
        let _ = write!(key, "{}", iss.len());
        for piece in [":", iss, ":", id] {
            key.push_str(piece);
        }
        key
    }

    /// One command, sent again once if its connection was reset.
    pub(super) async fn query<T: redis::FromRedisValue + Send>(
        &self,
        cmd: &mut redis::Cmd,
    ) -> Result<T, StoreError> {
        let cmd = &*cmd;
        self.connection
            .run(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// One script (every script is safe to run twice), sent again once if
    /// its connection was reset.
    pub(super) async fn invoke<T: redis::FromRedisValue + Send>(
        &self,
        script: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.connection
            .run(|mut c| async move { script.invoke_async(&mut c).await })
            .await
    }

    /// Whether the URL named a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(*self.target, Target::Cluster { .. })
    }
}

/// A connection failure as the start-up error a user sees.
fn failed(url: &str, error: ConnectError) -> ConfigError {
    let cause = match error {
        ConnectError::Url(reason) => reason,
        ConnectError::Refused(e) => e.to_string(),
        ConnectError::Timeout => format!(
            "no answer within {} s",
            super::connection::CONNECT_DEADLINE.as_secs()
        ),
    };
    ConfigError::setting(
        "redis store",
        format!("cannot connect to {}: {cause}", redact(url)),
    )
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &&*self.url)
            .field("prefix", &&*self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use redis::aio::{ConnectionManager, ConnectionManagerConfig};

    use super::*;

    /// A store that connects on first use (never, here).
    fn lazy_store(url: &str) -> RedisStore {
        let target = Target::parse(url, None).ok().unwrap();
        let Target::Single(client) = &target else {
            panic!("one server")
        };
        let manager =
            ConnectionManager::new_lazy_with_config(client.clone(), ConnectionManagerConfig::new())
                .unwrap();
        RedisStore {
            connection: Connection::Single(manager),
            target: Arc::new(target),
            url: Arc::from(redact(url)),
            prefix: Arc::from(DEFAULT_PREFIX),
            scripts: Arc::new(Scripts {
                revoke_subject: Script::new(""),
                revoke_session: Script::new(""),
                marker: Script::new(""),
                revoke_jti: Script::new(""),
                index_session: Script::new(""),
                create: Script::new(""),
                rotate: Script::new(""),
                end: Script::new(""),
            }),
        }
    }

    #[tokio::test]
    async fn debug_shows_the_address_and_prefix_but_never_the_password() {
        let store = lazy_store("redis://alice:hunter2-secret@cache.internal:6380/3")
            .with_prefix("myapp:")
            .unwrap();
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("cache.internal:6380"), "{debug}");
        assert!(debug.contains("myapp:"), "{debug}");
    }

    #[tokio::test]
    async fn keys_and_channel_follow_the_documented_layout() {
        let store = lazy_store("redis://127.0.0.1:6379");
        let iss = "https://idp.example.com";
        assert_eq!(
            store.scoped_key("subject", iss, "alice"),
            "auth:subject:23:https://idp.example.com:alice"
        );
        assert_eq!(
            store.scoped_key("revoked-session", "", "s1"),
            "auth:revoked-session:0::s1"
        );
        assert_ne!(
            store.scoped_key("subject", "a:b", "c"),
            store.scoped_key("subject", "a", "b:c")
        );
        assert_eq!(store.key("session", "s1"), "auth:session:s1");
        assert_eq!(store.key("sessions", "alice"), "auth:sessions:alice");
        assert_eq!(store.channel(), "auth:revocations");
        let store = store.with_prefix("svc:").unwrap();
        assert_eq!(
            store.scoped_key("denied-jti", "i", "j"),
            "svc:denied-jti:1:i:j"
        );
        assert_eq!(store.channel(), "svc:revocations");
        assert!(!store.is_cluster());
    }

    #[tokio::test]
    async fn an_empty_prefix_is_refused() {
        assert!(
            lazy_store("redis://127.0.0.1:6379")
                .with_prefix("")
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_url_that_cannot_work_is_a_start_up_error_naming_it_without_the_password() {
        for (url, cause) in [
            (
                "redis://u:hunter2@127.0.0.1:notaport",
                "redis://u:***@127.0.0.1:notaport",
            ),
            ("redis+cluster://u:hunter2@", "redis+cluster://u:***@"),
            ("redis+cluster://u:hunter2@a:1/5", "no database"),
        ] {
            let error = RedisStore::connect(url).await.unwrap_err().to_string();
            assert!(error.starts_with("redis store"), "{error}");
            assert!(error.contains(cause), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
