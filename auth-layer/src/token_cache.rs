//! The verified-token cache: a token seen before skips the signature check.
//!
//! Signature verification dominates the cost of a request with asymmetric
//! keys (about 20 µs for RS256, 50 µs for ES256 against a few µs for a whole
//! axum route). The cache keys entries by the SHA-256 of the token's bytes —
//! a token that differs in any byte, one signature bit included, is a miss —
//! and holds the verified token. An entry never outlives the token's `exp`
//! (plus leeway) nor the configured maximum age, and is ignored once the key
//! that verified it has left the key set. `exp`/`nbf` and revocation are
//! still checked on every request, against the current clock.
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

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use crate::claims::VerifiedToken;
use crate::keys::Key;

/// The default memory budget of the verified-token cache.
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// The default longest time a verified token is kept.
pub const DEFAULT_TOKEN_CACHE_MAX_AGE: Duration = Duration::from_secs(600);

/// Bytes an entry costs beyond the token's own length, as measured resident
/// with `DefaultClaims` (the digest key, the entry, the `Arc`'d verified
/// token and its claims, moka's bookkeeping): about 2 050 bytes for a
/// 300-byte token (`BENCHMARKS.md`). Claims types with fewer allocations
/// cost less, so the budget errs on the safe side.
const ENTRY_OVERHEAD: u32 = 1750;

pub(crate) struct TokenCache<C> {
    cache: Cache<[u8; 32], Entry<C>>,
}

struct Entry<C> {
    token: VerifiedToken<C>,
    key: Weak<Key>,
    /// How long the entry may live, from its insertion: until `exp` plus
    /// leeway, at most the configured maximum age.
    lifetime: Duration,
    weight: u32,
}

impl<C> Clone for Entry<C> {
    fn clone(&self) -> Self {
        Self {
            token: self.token.clone(),
            key: self.key.clone(),
            lifetime: self.lifetime,
            weight: self.weight,
        }
    }
}

struct Lifetime;

impl<C> Expiry<[u8; 32], Entry<C>> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        entry: &Entry<C>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(entry.lifetime)
    }
}

/// The cache key of a token: its SHA-256.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl<C: Send + Sync + 'static> TokenCache<C> {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .name("auth-verified-tokens")
            .max_capacity(max_bytes)
            .weigher(|_, entry: &Entry<C>| entry.weight)
            .expire_after(Lifetime)
            .build();
        Self { cache }
    }

    /// The verified token for `digest`, if cached and its key is still trusted.
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<VerifiedToken<C>> {
        let entry = self.cache.get(digest)?;
        if entry.key.strong_count() == 0 {
            // The key left the key set: verify again (and fail) from now on.
            self.cache.invalidate(digest);
            return None;
        }
        Some(entry.token)
    }

    pub(crate) fn insert(
        &self,
        digest: [u8; 32],
        token: VerifiedToken<C>,
        key: &Arc<Key>,
        token_len: usize,
        lifetime: Duration,
    ) {
        if lifetime.is_zero() {
            return;
        }
        let weight = u32::try_from(token_len)
            .unwrap_or(u32::MAX)
            .saturating_add(ENTRY_OVERHEAD);
        self.cache.insert(
            digest,
            Entry {
                token,
                key: Arc::downgrade(key),
                lifetime,
                weight,
            },
        );
    }

    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}

impl<C> fmt::Debug for TokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}
