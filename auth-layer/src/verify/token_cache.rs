//! The verified-token cache: a token seen before skips the signature check.
//!
//! Signature verification dominates the cost of a request with asymmetric
//! keys (`BENCHMARKS.md` has the figures). The cache keys entries by the SHA-256 of the token's bytes —
//! a token that differs in any byte, one signature bit included, is a miss —
//! and holds the verified token. An entry never outlives the token's `exp`
//! (plus leeway) nor the configured maximum age, and is ignored once the key
//! that verified it has left the key set. `exp`/`nbf` and revocation are
//! still checked on every request, against the current clock.
//!
//! The table is a [`quick_cache`] weighted cache (S3-FIFO eviction, keys
//! inline in a hash table per shard, reads under a shared lock). An entry's
//! end of life is a Unix second on the verifier's clock, set when the token
//! is verified and checked on each hit with the clock reading the `exp`/`nbf`
//! checks use anyway: one clock read per hit, and tests that move a
//! [`ManualClock`](crate::clock::ManualClock) expire entries too. An entry
//! past its end of life that is never asked for again is not swept: it
//! waits for eviction, within the memory budget like any other.
//!
//! Why the SHA-256 and not the token itself as key: the token as key saves
//! the digest on a hit but keeps every token's bytes a second time, which a
//! memory budget of about 400 bytes per entry leaves no room for; the
//! 32-byte digest does. Both were measured (`BENCHMARKS.md`, "Where the
//! time goes": cache hit). A digest collision would need a SHA-256 second
//! preimage.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use std::time::Duration;
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .token_cache_max_bytes(64 * 1024 * 1024)
//!     .token_cache_max_age(Duration::from_secs(300))
//!     .build()
//!     .unwrap();
//! # let _ = auth;
//! ```

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use crate::claims::{DefaultClaims, RegisteredClaims, VerifiedToken, VersionAndGrants, heap_chunk};
use crate::keys::Key;

/// The default memory budget of the verified-token cache.
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// The default longest time a verified token is kept.
pub const DEFAULT_TOKEN_CACHE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Bytes an entry costs in the cache's own structures, beyond the verified
/// token's allocations (which [`VerifiedToken`] counts itself): the slot of
/// the key and the `Arc` in the table, the hash index, the slack of the
/// tables' growth and the eviction policy's ghost entries, as measured
/// resident (`BENCHMARKS.md`, "Memory of the verified-token cache").
const ENTRY_OVERHEAD: u32 = 96;

/// A cache entry's weight: what the verifier measured when it built the token.
#[derive(Debug, Clone, Copy)]
struct Weight;

impl<C> Weighter<[u8; 32], VerifiedToken<C>> for Weight {
    fn weight(&self, _key: &[u8; 32], token: &VerifiedToken<C>) -> u64 {
        u64::from(token.cache_facts().weight.max(1))
    }
}

pub(crate) struct TokenCache<C> {
    cache: Cache<[u8; 32], VerifiedToken<C>, Weight>,
}

/// The cache key of a token: its SHA-256.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a verified token costs as an entry, in bytes: the cache's own
/// structures, the token's shared allocation and what the verifier keeps
/// for it, its `kid` unless shared with the key that verified it, and the
/// claims (measured for [`DefaultClaims`]; another claims type keeps at
/// most the claims' text, in a few allocations: counted as the payload's
/// size, to err on the safe side of the memory budget).
pub(crate) fn entry_weight<C: 'static>(
    claims: &C,
    payload_len: usize,
    registered: &RegisteredClaims,
    extra: &VersionAndGrants,
    kid: Option<&Arc<str>>,
    key: &Key,
) -> u32 {
    let claims_bytes = match (claims as &dyn Any).downcast_ref::<DefaultClaims>() {
        Some(default) => default.heap_bytes(),
        None if size_of::<C>() == 0 => 0,
        None => heap_chunk(payload_len),
    };
    let weight = usize::try_from(ENTRY_OVERHEAD).unwrap_or(usize::MAX)
        + VerifiedToken::<C>::own_bytes(registered, extra)
        + kid.map_or(0, |k| {
            if key.shared_kid().is_some_and(|s| Arc::ptr_eq(s, k)) {
                0
            } else {
                heap_chunk(2 * size_of::<usize>() + k.len())
            }
        })
        + claims_bytes;
    u32::try_from(weight).unwrap_or(u32::MAX)
}

/// The weight of a typical entry, to size the table's shards.
const TYPICAL_WEIGHT: u64 = 512;

impl<C: Send + Sync + 'static> TokenCache<C> {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let items = usize::try_from(max_bytes / TYPICAL_WEIGHT).unwrap_or(usize::MAX);
        Self {
            cache: Cache::with_weighter(items.max(1), max_bytes, Weight),
        }
    }

    /// The verified token for `token` if cached, still within its lifetime
    /// at `now` (Unix seconds, the verifier's clock) and its key still trusted.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedToken<C>> {
        let digest = digest(token);
        let verified = self.cache.get(&digest)?;
        let facts = verified.cache_facts();
        if now >= facts.until || facts.key.strong_count() == 0 {
            // Past its lifetime, or its key left the key set: verify again
            // (and fail, for a removed key) from now on.
            self.cache.remove(&digest);
            return None;
        }
        Some(verified)
    }

    /// Caches `verified` (the token `token`) if it has a lifetime left at `now`.
    pub(crate) fn insert(&self, token: &str, verified: VerifiedToken<C>, now: i64) {
        if verified.cache_facts().until > now {
            self.cache.insert(digest(token), verified);
        }
    }

    pub(crate) fn entry_count(&self) -> u64 {
        u64::try_from(self.cache.len()).unwrap_or(u64::MAX)
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.cache.weight()
    }
}

impl<C> fmt::Debug for TokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.len())
            .finish_non_exhaustive()
    }
}
