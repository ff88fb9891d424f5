//! What every store trait shares: the boxed future its methods return, the
//! one error a store answers with, and the default bound on one call.
//!
//! The traits live with the logic that uses them
//! ([`RevocationStore`](crate::revocation::RevocationStore),
//! [`SessionStore`](crate::session::SessionStore)); the backends that
//! implement them live in [`store`](crate::store), which is also where these
//! items are public.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed, `Send` future, as returned by the store traits' methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The default bound on one store call, for revocation lookups and session
/// operations alike: a slower store is treated as down (503).
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// A store that could not answer. Every store answers with this one type,
/// whichever trait the call belongs to.
///
/// ```
/// use auth_layer::store::StoreError;
/// use std::time::Duration;
///
/// let down = StoreError::unavailable(std::io::Error::other("connection refused"));
/// assert_eq!(down.to_string(), "store unavailable");
/// assert_eq!(
///     StoreError::Timeout(Duration::from_millis(250)).to_string(),
///     "store did not answer within 250 ms"
/// );
/// assert!(std::error::Error::source(&StoreError::corrupt("claims")).is_some());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable, failed, or holds a value that does not
    /// follow its storage contract.
    #[error("store unavailable")]
    Unavailable(#[source] Arc<dyn StdError + Send + Sync>),
    /// The store did not answer in time.
    #[error("store did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The store timed out moments ago and is not asked again until this
    /// much time has passed since (one request then tries it).
    #[error("store timed out within the last {} ms: not asked again yet", .0.as_millis())]
    Backoff(Duration),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn unavailable(error: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Arc::new(error))
    }

    /// A stored value that does not follow the storage contract (`what`
    /// names it; never the value itself).
    pub fn corrupt(what: &str) -> Self {
        Self::unavailable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("malformed stored value: {what}"),
        ))
    }
}
