//! Opening a [`PostgresStore`]: the URL, TLS, the pool, the schema.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use super::store::{ACQUIRE_TIMEOUT, MAX_CONNECTIONS, PostgresStore};
use crate::backend::StoreError;
use crate::error::ConfigError;
use crate::store::url::redact;

impl PostgresStore {
    /// Opens a pool to the database at `url` (up to 10 connections; a query
    /// waits at most 2 s for one, so a database that is down makes calls
    /// fail rather than hang) and creates the tables if they are missing.
    ///
    /// ```no_run
    /// use auth_layer::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_layer::ConfigError> {
    /// let store = PostgresStore::connect("postgres://app:secret@db.internal:5432/app?sslmode=require").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A [`ConfigError`] naming the URL (password redacted) and the cause:
    /// the URL does not parse, the database cannot be reached within 2 s
    /// (a TLS handshake that fails included), or the schema cannot be
    /// created.
    pub async fn connect(url: &str) -> Result<Self, ConfigError> {
        Self::connect_with_ca(url, None).await
    }

    /// As [`connect`](Self::connect), trusting the CA certificates in
    /// `ca` (PEM): TLS is then verified, `sslmode=require` as `verify-ca`
    /// (as libpq does with a root certificate) and anything weaker as
    /// `verify-full`.
    pub(crate) async fn connect_with_ca(url: &str, ca: Option<&[u8]>) -> Result<Self, ConfigError> {
        let failed = |cause: String| {
            ConfigError::setting(
                "postgres store",
                format!("cannot connect to {}: {cause}", redact(url)),
            )
        };
        let mut options = PgConnectOptions::from_str(url).map_err(|e| failed(e.to_string()))?;
        if let Some(pem) = ca {
            let mode = match options.get_ssl_mode() {
                PgSslMode::Require | PgSslMode::VerifyCa => PgSslMode::VerifyCa,
                _ => PgSslMode::VerifyFull,
            };
            options = options.ssl_mode(mode).ssl_root_cert_from_pem(pem.to_vec());
        }
        Self::connect_with(options)
            .await
            .map_err(|e| failed(cause(&e)))
    }

    /// As [`connect`](Self::connect), from parsed connection options.
    ///
    /// ```no_run
    /// use auth_layer::store::PostgresStore;
    /// use sqlx::postgres::{PgConnectOptions, PgSslMode};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_layer::store::StoreError> {
    /// let options = PgConnectOptions::new()
    ///     .host("db.internal")
    ///     .username("app")
    ///     .database("app")
    ///     .ssl_mode(PgSslMode::VerifyFull)
    ///     .application_name("orders");
    /// let store = PostgresStore::connect_with(options).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database cannot be reached within 2 s, or the schema cannot be
    /// created.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(StoreError::unavailable)?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }
}

/// The innermost cause of a failed connection, which says what went wrong
/// (a refused connection, a certificate the CA does not vouch for).
fn cause(error: &StoreError) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unparsable_url_is_a_start_up_error_naming_it_without_the_password() {
        let error = PostgresStore::connect("postgres://app:hunter2@db:notaport/app")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("postgres store"), "{error}");
        assert!(
            error.contains("postgres://app:***@db:notaport/app"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }
}
