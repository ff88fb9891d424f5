//! [`connect`]: the store a URL names, as one [`AnyStore`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::memory::MemoryStore;
#[cfg(feature = "postgres")]
use super::postgres::PostgresStore;
#[cfg(feature = "redis")]
use super::redis::RedisStore;
use super::url::redact;
use crate::backend::{BoxFuture, StoreError};
use crate::error::ConfigError;
use crate::revocation::{EventSender, Record, RecordKey, RevocationStore, SubjectState};
use crate::session::{EndReason, RotateOutcome, Rotation, SessionRecord, SessionStore, TokenHash};

/// The store a URL named: whichever backend it is, it implements
/// [`RevocationStore`] and [`SessionStore`]. Cheap to clone; clones share
/// the connection.
///
/// ```
/// use auth_layer::store::AnyStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = auth_layer::store::connect("memory:").await.unwrap();
/// assert!(matches!(store, AnyStore::Memory(_)));
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyStore {
    /// `memory:`
    Memory(MemoryStore),
    /// `redis://`, `rediss://`, `redis+unix://`, `redis+cluster://`, `rediss+cluster://`
    #[cfg(feature = "redis")]
    Redis(RedisStore),
    /// `postgres://`, `postgresql://`
    #[cfg(feature = "postgres")]
    Postgres(PostgresStore),
}

/// Opens the store `url` names; see [`StoreOptions`] for a private CA.
/// This is what the examples' `AUTH_REVOCATION_URL` and `AUTH_STORE_URL`
/// mean.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use auth_layer::revocation::RevocationStore;
///
/// let store = auth_layer::store::connect("memory:").await.unwrap();
/// assert_eq!(store.subject("https://idp.example", "alice").await.unwrap().version, 0);
///
/// let unknown = auth_layer::store::connect("ftp://user:secret@x").await.unwrap_err();
/// assert!(unknown.to_string().contains("ftp://user:***@x"));
/// # }
/// ```
///
/// # Errors
/// A [`ConfigError`] naming the store and its URL (password redacted) and
/// the cause: an unknown scheme, a scheme whose feature is off, a URL that
/// does not parse, or a store that cannot be reached (a failed TLS
/// handshake included).
pub async fn connect(url: &str) -> Result<AnyStore, ConfigError> {
    StoreOptions::new(url).connect().await
}

/// A store URL and how to reach it: the URL and, for TLS with a private
/// CA, the CA's certificates (a PEM bundle, the examples'
/// `AUTH_STORE_CA_FILE`).
///
/// ```no_run
/// use auth_layer::store::StoreOptions;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_layer::ConfigError> {
/// let store = StoreOptions::new("rediss+cluster://10.0.0.1:6380,10.0.0.2:6380")
///     .ca_file("/etc/ssl/private/redis-ca.pem")
///     .connect()
///     .await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct StoreOptions {
    url: String,
    ca_file: Option<PathBuf>,
}

impl StoreOptions {
    /// The store at `url` (see [`connect`] for the schemes).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca_file: None,
        }
    }

    /// Trusts the CA certificates in the PEM file at `path` (instead of the
    /// public roots) for TLS: with `rediss://` and `rediss+cluster://`, and
    /// with PostgreSQL, whose TLS is then verified (`sslmode=require`
    /// becomes `verify-ca`, and an unset or weaker mode `verify-full`). A
    /// plain `redis://` URL with a CA file is refused: it would not use TLS.
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Opens the store.
    ///
    /// # Errors
    /// As [`connect`]; also a CA file that cannot be read or holds no PEM
    /// certificate, named with its path.
    pub async fn connect(&self) -> Result<AnyStore, ConfigError> {
        let url = self.url.trim();
        let ca = self.ca_file.as_deref().map(read_ca).transpose()?;
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme {
            "" | "memory" if ca.is_some() => Err(ConfigError::setting(
                "store CA file",
                "is set, but the memory: store uses no TLS: name a rediss:// or postgres:// store, or drop the CA file",
            )),
            "" | "memory" => Ok(AnyStore::Memory(MemoryStore::new())),
            "redis" | "rediss" | "redis+unix" | "unix" | "redis+cluster" | "rediss+cluster" => {
                #[cfg(feature = "redis")]
                return Ok(AnyStore::Redis(
                    RedisStore::connect_with_ca(url, ca.as_deref()).await?,
                ));
                #[cfg(not(feature = "redis"))]
                {
                    let _ = ca;
                    return Err(feature_off(url, "redis"));
                }
            }
            "postgres" | "postgresql" => {
                #[cfg(feature = "postgres")]
                return Ok(AnyStore::Postgres(
                    PostgresStore::connect_with_ca(url, ca.as_deref()).await?,
                ));
                #[cfg(not(feature = "postgres"))]
                {
                    let _ = ca;
                    return Err(feature_off(url, "postgres"));
                }
            }
            _ => Err(ConfigError::setting(
                "store",
                format!(
                    "{}: unknown scheme; use memory:, redis://host:port, rediss://…, \
                     redis+cluster://host:port,host:port or postgres://user@host/db",
                    redact(url)
                ),
            )),
        }
    }
}

/// The PEM at `path`, checked to hold at least one certificate.
fn read_ca(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError::setting("store CA file", format!("{shown}: cannot read: {e}")))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(ConfigError::setting(
            "store CA file",
            format!("{shown}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        ));
    }
    Ok(pem)
}

#[cfg(any(not(feature = "redis"), not(feature = "postgres")))]
fn feature_off(url: &str, feature: &str) -> ConfigError {
    ConfigError::setting(
        "store",
        format!(
            "{}: this URL needs the `{feature}` feature of auth-layer",
            redact(url)
        ),
    )
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("url", &redact(&self.url))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Calls `$call` on whichever store `$self` holds.
macro_rules! each {
    ($self:expr, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call,
            #[cfg(feature = "redis")]
            AnyStore::Redis($store) => $call,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $call,
        }
    };
}

impl RevocationStore for AnyStore {
    fn subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        each!(self, s => s.subject(iss, sub))
    }

    fn session_not_before<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        each!(self, s => s.session_not_before(iss, sid))
    }

    fn jti_denied<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        each!(self, s => s.jti_denied(iss, jti))
    }

    fn revoke_subject<'a>(
        &'a self,
        iss: &'a str,
        sub: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<SubjectState, StoreError>> {
        each!(self, s => s.revoke_subject(iss, sub, not_before))
    }

    fn revoke_session<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        each!(self, s => s.revoke_session(iss, sid, not_before))
    }

    fn revoke_session_until<'a>(
        &'a self,
        iss: &'a str,
        sid: &'a str,
        not_before: i64,
        forget_after: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        each!(self, s => s.revoke_session_until(iss, sid, not_before, forget_after))
    }

    fn revoke_jti<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        each!(self, s => s.revoke_jti(iss, jti, until))
    }

    fn first_use<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        each!(self, s => s.first_use(iss, id, until))
    }

    fn was_used<'a>(
        &'a self,
        iss: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        each!(self, s => s.was_used(iss, id))
    }

    fn marker(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        each!(self, s => s.marker())
    }

    fn read_marked<'a>(
        &'a self,
        key: RecordKey<'a>,
    ) -> BoxFuture<'a, Result<(Record, i64), StoreError>> {
        each!(self, s => s.read_marked(key))
    }

    fn read_all_marked<'a>(
        &'a self,
        keys: &'a [RecordKey<'a>],
    ) -> BoxFuture<'a, Result<(Vec<Record>, i64), StoreError>> {
        each!(self, s => s.read_all_marked(keys))
    }

    fn listen(&self, events: EventSender) -> Option<BoxFuture<'static, ()>> {
        each!(self, s => s.listen(events))
    }
}

impl SessionStore for AnyStore {
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        each!(self, s => s.create(session, token))
    }

    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        each!(self, s => s.session(sid))
    }

    fn rotate<'a>(
        &'a self,
        rotation: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>> {
        each!(self, s => s.rotate(rotation))
    }

    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        each!(self, s => s.end(sid, reason, now))
    }

    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        each!(self, s => s.end_all(subject, reason, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ca_file_that_is_missing_or_not_pem_or_needless_is_named_at_start_up() {
        let missing = StoreOptions::new("memory:")
            .ca_file("/nonexistent/ca.pem")
            .connect()
            .await
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let path = std::env::temp_dir().join(format!("not-a-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "hello").unwrap();
        let garbage = StoreOptions::new("memory:")
            .ca_file(&path)
            .connect()
            .await
            .unwrap_err()
            .to_string();
        assert!(garbage.contains("holds no PEM certificate"), "{garbage}");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let needless = StoreOptions::new("memory:")
            .ca_file(&path)
            .connect()
            .await
            .unwrap_err()
            .to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(needless.contains("uses no TLS"), "{needless}");
    }

    #[tokio::test]
    async fn unknown_schemes_are_named_without_the_password() {
        let error = connect("mysql://root:hunter2@db/app")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("mysql://root:***@db/app"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
