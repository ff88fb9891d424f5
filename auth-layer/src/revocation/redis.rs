//! The Redis store: revocations shared by every instance, with pub/sub
//! invalidation.
//!
//! # Storage contract
//!
//! Other services (in any language) may read and write these keys directly;
//! the layout is public and stable. With the default prefix `auth:` (see
//! [`RedisStore::with_prefix`]):
//!
//! | Key | Meaning |
//! |-----|---------|
//! | `auth:ver:{sub}` | The subject's token version, an integer. Absent means version 0. A bump is `INCR`. |
//! | `auth:sid:{sid}` | Present means the session is revoked. This store writes the revocation time (unix seconds) as the value; only presence matters. No expiry. |
//! | `auth:jti:{jti}` | Present means the token id is denied. Written as `1` with an expiry at the token's `exp` (`SET` then `PEXPIREAT`, or `SET … PXAT`), so it disappears with the token. A denial whose `exp` is already past stores nothing. |
//!
//! Every write is followed by `PUBLISH auth:revocations <event>` (the channel
//! is the prefix followed by `revocations`), where the event is one of
//! `{"kind":"user","sub":"…"}`, `{"kind":"session","sid":"…"}` or
//! `{"kind":"jti","jti":"…"}`. This store sends the write and the `PUBLISH`
//! in one `MULTI`/`EXEC` transaction. Every instance subscribes to the channel
//! and drops the named entry from its cache at once; a writer that only does
//! the `INCR` (or `SET`) without publishing is still honoured by every
//! instance once its cache TTL has run out.
//!
//! Payloads on the channel that are not one of the events above are ignored.

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use futures_util::future::{Either, select};
use redis::aio::{ConnectionManager, PubSub};

use super::{BoxFuture, EventSender, RevocationEvent, RevocationStore, StoreError};
use crate::backend::redis::{
    self as backend, CONNECT_TIMEOUT, ConnectError, DEFAULT_PREFIX, RESPONSE_TIMEOUT,
};
use crate::error::ConfigError;

/// The first wait before the listener reconnects.
const LISTEN_MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two reconnection attempts of the listener.
const LISTEN_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long the listener waits for a message before checking the
/// connection with a `PING` (catches connections that died silently).
const LISTEN_HEALTH_CHECK: Duration = Duration::from_secs(10);

/// A [`RevocationStore`] in Redis, shared by every instance of a service.
///
/// Reads are single `GET`/`EXISTS` commands; each write and its event go out
/// in one `MULTI`/`EXEC` transaction, and [`listen`](RevocationStore::listen)
/// subscribes to the event channel on a dedicated connection. Commands run on
/// a [`redis::aio::ConnectionManager`], which reconnects by itself; while
/// Redis is unreachable every call fails with [`StoreError::Unavailable`]
/// (the layer answers 503), and the store recovers as soon as Redis is back.
///
/// # Storage contract
///
/// The layout is public and stable, so services in other languages can
/// revoke tokens too. With the default prefix `auth:`:
///
/// - `auth:ver:{sub}`: the subject's token version, an integer (absent = 0);
///   a bump is `INCR`.
/// - `auth:sid:{sid}`: present = the session is revoked (this store writes
///   the revocation time in unix seconds; only presence matters).
/// - `auth:jti:{jti}`: present = the token id is denied; written as `1` with
///   an expiry at the token's `exp` (`PEXPIREAT`), nothing stored when that
///   is already past.
/// - Every write is followed by `PUBLISH auth:revocations <event>`, the event
///   being `{"kind":"user","sub":"…"}`, `{"kind":"session","sid":"…"}` or
///   `{"kind":"jti","jti":"…"}` (this store sends write and publish in one
///   `MULTI`/`EXEC`). A writer that only does the `INCR` is still honoured by
///   every instance once its cache TTL has run out.
///
/// Cheap to clone: clones share the connection. The `Debug` output shows the
/// server address and the prefix, never the credentials.
///
/// ```no_run
/// use auth_layer::JwtAuth;
/// use auth_layer::revocation::{RedisStore, RevocationCache};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let revocation = RevocationCache::builder(store).build()?;
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .revocation(revocation.clone())
///     .build()?;
///
/// // Every other instance hears of it through `auth:revocations`.
/// revocation.bump_user_version("alice").await?;
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    connection: ConnectionManager,
    prefix: Arc<str>,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// `redis+unix:///path` or, with TLS support compiled into `redis`,
    /// `rediss://…`), with the default key prefix `auth:`.
    ///
    /// The attempt is bounded: an unreachable server gives an error within a
    /// few seconds (one second per attempt, a few quick retries). After that,
    /// a dropped connection is re-established by itself.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] for an invalid URL or a server that refused
    /// the connection or the handshake; [`StoreError::Timeout`] when the whole
    /// attempt took too long.
    ///
    /// ```no_run
    /// use auth_layer::revocation::RedisStore;
    ///
    /// # async fn run() -> Result<(), auth_layer::revocation::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?;
    /// println!("{store:?}"); // RedisStore { addr: "127.0.0.1:6379", db: 0, prefix: "auth:" }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (client, connection) = backend::connect(url).await.map_err(|e| match e {
            ConnectError::Unavailable(e) => StoreError::unavailable(e),
            ConnectError::Timeout => StoreError::Timeout(backend::CONNECT_DEADLINE),
        })?;
        Ok(Self {
            client,
            connection,
            prefix: Arc::from(DEFAULT_PREFIX),
        })
    }

    /// Uses `prefix` instead of `auth:` in front of every key and the event
    /// channel, e.g. `myapp:` for `myapp:ver:{sub}` and `myapp:revocations`.
    /// Every instance (and every other service writing revocations) must use
    /// the same prefix.
    ///
    /// # Errors
    /// An empty prefix.
    ///
    /// ```no_run
    /// use auth_layer::revocation::RedisStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379")
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

    /// The prefix in front of every key and the channel (`auth:` by default).
    ///
    /// ```no_run
    /// use auth_layer::revocation::RedisStore;
    ///
    /// # async fn run() -> Result<(), auth_layer::revocation::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.prefix(), "auth:");
    /// # Ok(())
    /// # }
    /// ```
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The channel events are published on: the prefix followed by
    /// `revocations` (`auth:revocations` by default).
    ///
    /// ```no_run
    /// use auth_layer::revocation::RedisStore;
    ///
    /// # async fn run() -> Result<(), auth_layer::revocation::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.channel(), "auth:revocations");
    /// # Ok(())
    /// # }
    /// ```
    pub fn channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// A handle on the shared connection (the manager is a cheap clone).
    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

impl RevocationStore for RedisStore {
    fn user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let version: Option<u64> = redis::cmd("GET")
                .arg(self.key("ver", sub))
                .query_async(&mut self.connection())
                .await
                .map_err(StoreError::unavailable)?;
            Ok(version.unwrap_or(0))
        })
    }

    fn session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            redis::cmd("EXISTS")
                .arg(self.key("sid", sid))
                .query_async(&mut self.connection())
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn jti_denied<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            redis::cmd("EXISTS")
                .arg(self.key("jti", jti))
                .query_async(&mut self.connection())
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn bump_user_version<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::User {
                sub: sub.to_owned(),
            };
            let (version,): (u64,) = redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg(self.key("ver", sub))
                .cmd("PUBLISH")
                .arg(self.channel())
                .arg(event.to_json())
                .ignore()
                .query_async(&mut self.connection())
                .await
                .map_err(StoreError::unavailable)?;
            Ok(version)
        })
    }

    fn revoke_session<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let event = RevocationEvent::Session {
                sid: sid.to_owned(),
            };
            let revoked_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(self.key("sid", sid))
                .arg(revoked_at)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.channel())
                .arg(event.to_json())
                .ignore()
                .exec_async(&mut self.connection())
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
            let event = RevocationEvent::Jti {
                jti: jti.to_owned(),
            };
            let mut pipe = redis::pipe();
            pipe.atomic();
            // A token already expired is rejected anyway: nothing to store,
            // but the event still goes out.
            if until > SystemTime::now() {
                let key = self.key("jti", jti);
                pipe.cmd("SET").arg(&key).arg(1).ignore();
                pipe.cmd("PEXPIREAT")
                    .arg(&key)
                    .arg(unix_millis(until))
                    .ignore();
            }
            pipe.cmd("PUBLISH")
                .arg(self.channel())
                .arg(event.to_json())
                .ignore();
            pipe.exec_async(&mut self.connection())
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        let client = self.client.clone();
        let channel = self.channel();
        Some(Box::pin(listen(client, channel, events)))
    }
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why one subscription ended.
enum Ended {
    /// Nobody listens any more: stop for good.
    Closed,
    /// The connection dropped or stopped answering: reconnect.
    Lost(&'static str),
}

/// Subscribes to `channel` and forwards its events, reconnecting with a
/// growing backoff, until `events` is closed.
async fn listen(client: redis::Client, channel: String, events: EventSender) {
    let mut backoff = LISTEN_MIN_BACKOFF;
    let mut reconnecting = false;
    loop {
        if events.is_closed() {
            return;
        }
        match subscribe(&client, &channel).await {
            Ok(pubsub) => {
                if reconnecting {
                    tracing::warn!(%channel, "revocation events: subscribed again; dropping cached answers");
                    if events.send(RevocationEvent::Resubscribed).is_err() {
                        return;
                    }
                } else {
                    tracing::debug!(%channel, "revocation events: subscribed");
                }
                backoff = LISTEN_MIN_BACKOFF;
                match forward(pubsub, &events).await {
                    Ended::Closed => return,
                    Ended::Lost(reason) => tracing::warn!(
                        %channel,
                        reason,
                        retry_in_ms = backoff.as_millis(),
                        "revocation events: connection lost, reconnecting (missed events are bounded by the cache TTL)"
                    ),
                }
            }
            Err(error) => tracing::warn!(
                %channel,
                %error,
                retry_in_ms = backoff.as_millis(),
                "revocation events: cannot subscribe, retrying"
            ),
        }
        reconnecting = true;
        let wait = pin!(tokio::time::sleep(backoff));
        let closed = pin!(events.closed());
        if let Either::Right(_) = select(wait, closed).await {
            return;
        }
        backoff = backoff.saturating_mul(2).min(LISTEN_MAX_BACKOFF);
    }
}

/// A dedicated pub/sub connection subscribed to `channel`, in bounded time.
async fn subscribe(client: &redis::Client, channel: &str) -> Result<PubSub, StoreError> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    tokio::time::timeout(CONNECT_TIMEOUT.saturating_add(RESPONSE_TIMEOUT), attempt)
        .await
        .map_err(|_| StoreError::Timeout(CONNECT_TIMEOUT.saturating_add(RESPONSE_TIMEOUT)))?
        .map_err(StoreError::unavailable)
}

/// Forwards the events of one subscription until it ends.
async fn forward(pubsub: PubSub, events: &EventSender) -> Ended {
    let (mut sink, mut stream) = pubsub.split();
    loop {
        let next = pin!(tokio::time::timeout(LISTEN_HEALTH_CHECK, stream.next()));
        let closed = pin!(events.closed());
        let message = match select(next, closed).await {
            Either::Right(_) => return Ended::Closed,
            Either::Left((Ok(Some(message)), _)) => message,
            Either::Left((Ok(None), _)) => return Ended::Lost("connection closed"),
            Either::Left((Err(_), _)) => {
                // Quiet for a while: make sure the connection is still alive.
                match tokio::time::timeout(RESPONSE_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => continue,
                    Ok(Err(_)) => return Ended::Lost("ping failed"),
                    Err(_) => return Ended::Lost("ping timed out"),
                }
            }
        };
        let payload = String::from_utf8_lossy(message.get_payload_bytes());
        match RevocationEvent::from_json(&payload) {
            Some(event) => {
                if events.send(event).is_err() {
                    return Ended::Closed;
                }
            }
            None => tracing::debug!(
                channel = message.get_channel_name(),
                %payload,
                "revocation events: ignoring an unknown payload"
            ),
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address and database only: the URL's credentials stay out of logs.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &info.addr().to_string())
            .field("db", &info.redis_settings().db())
            .field("prefix", &&*self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy_store(url: &str) -> RedisStore {
        let client = redis::Client::open(url).unwrap();
        let connection = ConnectionManager::new_lazy_with_config(
            client.clone(),
            redis::aio::ConnectionManagerConfig::new(),
        )
        .unwrap();
        RedisStore {
            client,
            connection,
            prefix: Arc::from(DEFAULT_PREFIX),
        }
    }

    #[tokio::test]
    async fn debug_shows_the_address_and_prefix_but_never_the_password() {
        let store = lazy_store("redis://alice:hunter2-secret@cache.internal:6380/3")
            .with_prefix("myapp:")
            .unwrap();
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("alice"), "{debug}");
        assert!(debug.contains("cache.internal:6380"), "{debug}");
        assert!(debug.contains("myapp:"), "{debug}");
    }

    #[tokio::test]
    async fn keys_and_channel_follow_the_documented_layout() {
        let store = lazy_store("redis://127.0.0.1:6379");
        assert_eq!(store.key("ver", "alice"), "auth:ver:alice");
        assert_eq!(store.key("sid", "s1"), "auth:sid:s1");
        assert_eq!(store.key("jti", "j1"), "auth:jti:j1");
        assert_eq!(store.channel(), "auth:revocations");
        let store = store.with_prefix("svc:").unwrap();
        assert_eq!(store.key("ver", "alice"), "svc:ver:alice");
        assert_eq!(store.channel(), "svc:revocations");
    }

    #[tokio::test]
    async fn an_empty_prefix_is_refused() {
        assert!(
            lazy_store("redis://127.0.0.1:6379")
                .with_prefix("")
                .is_err()
        );
    }

    #[test]
    fn expiry_is_in_unix_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(unix_millis(t), 1_700_000_000_123);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
