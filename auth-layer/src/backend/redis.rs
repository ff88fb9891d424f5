//! Connecting to Redis, bounded in time, for every Redis-backed store.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The key prefix used unless a store is given another.
pub(crate) const DEFAULT_PREFIX: &str = "auth:";
/// One TCP connect plus handshake.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One command's answer.
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Retries of one (re)connection by the connection manager; a failed
/// reconnection is retried again on the next command.
const CONNECT_RETRIES: usize = 2;
/// The longest wait between two of those retries.
const CONNECT_MAX_DELAY: Duration = Duration::from_millis(500);
/// The bound on connecting as a whole, retries included.
pub(crate) const CONNECT_DEADLINE: Duration = Duration::from_secs(5);

/// Why a connection could not be made.
pub(crate) enum ConnectError {
    /// An invalid URL, or a server that refused the connection or handshake.
    Unavailable(redis::RedisError),
    /// The whole attempt took longer than [`CONNECT_DEADLINE`].
    Timeout,
}

/// A client for `url` and a connection manager that reconnects by itself;
/// an unreachable server is an error within [`CONNECT_DEADLINE`].
pub(crate) async fn connect(url: &str) -> Result<(redis::Client, ConnectionManager), ConnectError> {
    let client = redis::Client::open(url).map_err(ConnectError::Unavailable)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(CONNECT_RETRIES)
        .set_max_delay(CONNECT_MAX_DELAY);
    let connection = tokio::time::timeout(
        CONNECT_DEADLINE,
        ConnectionManager::new_with_config(client.clone(), config),
    )
    .await
    .map_err(|_| ConnectError::Timeout)?
    .map_err(ConnectError::Unavailable)?;
    Ok((client, connection))
}
