//! The verified-token cache: a token seen before skips the signature check.
//!
//! Signature verification dominates the cost of a request with asymmetric
//! keys (`BENCHMARKS.md` has the figures). The cache keys entries by a
//! keyed digest of the token's bytes (below) — a token that differs in any
//! byte, one signature bit included, is a miss — and holds the verified
//! token. An entry never outlives the token's `exp`
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
//! The key is the first 128 bits of SHA-256 over a 512-bit secret, drawn
//! from the operating system for each cache, followed by the token: a
//! keyed PRF (the secret is one SHA-256 block, hashed once; a lookup costs
//! what the plain digest of the token costs). Without the secret no one can
//! compute keys, so a collision cannot be searched for offline: a forged
//! token sharing the key of any of `n` cached tokens would take about
//! 2^128 / `n` requests (2^111 for the 170 000 entries of the default
//! budget), and any two tokens sharing a key about 2^64. The key never
//! leaves the process. Where the system has no randomness to give, the verifier runs
//! without the cache (every token is verified in full) rather than with a
//! guessable key.
//!
//! Why a digest and not the token itself as key: the token as key saves
//! the digest on a hit but keeps every token's bytes a second time, which a
//! memory budget of about 400 bytes per entry leaves no room for; the
//! 16-byte key does. Both were measured (`BENCHMARKS.md`, "Where the time
//! goes": cache hit). What an entry weighs sits beside its key in the
//! table's slot, in bytes the slot has anyway.
//!
//! In front of the table, each thread keeps a few tokens whole, with their
//! verified tokens: those the table served it twice in a row, as it does
//! for a client's connection sending its token on every request. One of
//! those bytes-for-bytes again skips the digest and the probe, and goes
//! through the same checks as a hit of the table. A slot answers only its
//! own bytes and only for the cache that filled it; at most 16 tokens a
//! thread are kept this way, besides the memory budget.
//!
//! Between the two, a small table every thread shares keeps whole the
//! tokens the digest's table served twice ([`hot`]): the tokens of many
//! clients, which each thread sees in turn. There the token itself is the
//! key after all, for the few thousand tokens a sixteenth of the budget
//! (at most 4 MiB) holds: a hit compares bytes instead of hashing them.
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
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{Equivalent, Weighter};
use sha2::{Digest, Sha256};

use crate::claims::{
    DefaultClaims, RegisteredClaims, SharedStr, VerifiedToken, VersionAndGrants, heap_chunk,
    shared_str_bytes,
};
use crate::keys::Key;

use super::hot::{self, HotTable};
use super::memo;

/// The default memory budget of the verified-token cache.
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// The default longest time a verified token is kept.
pub const DEFAULT_TOKEN_CACHE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Bytes an entry costs in the cache's own structures, beyond the verified
/// token's allocations (which [`VerifiedToken`] counts itself): the 40-byte
/// slot of the key, its weight and the `Arc` in the table, the hash index,
/// the slack of the tables' growth (59 bytes in all, measured resident),
/// and the eviction policy's ghost entries once the cache is full (at most
/// one per two 512-byte shares of the budget, a 40-byte slot and its index
/// each: about 17 bytes per entry) (`BENCHMARKS.md`, "Memory of the
/// verified-token cache").
const ENTRY_OVERHEAD: u32 = 80;

/// A token's key in the cache: its keyed digest (see the module docs).
type Digest128 = [u8; 16];

/// An entry's key as the table keeps it: the digest, and what the entry
/// weighs (the verifier's measure when it built the token), which fills
/// bytes the slot would otherwise pad. Equal and hashed by the digest only.
#[derive(Clone, Copy)]
struct Slot {
    digest: Digest128,
    weight: u32,
}

impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
    }
}

impl Eq for Slot {}

impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

/// A lookup by digest alone.
#[derive(Hash)]
struct ByDigest(Digest128);

impl Equivalent<Slot> for ByDigest {
    fn equivalent(&self, key: &Slot) -> bool {
        self.0 == key.digest
    }
}

/// The table's hash of a key: the digest's first 64 bits, as they are.
///
/// The digest is a keyed PRF of the token, so its bits are already uniform
/// and unknown to whoever chooses tokens; hashing them again (quick_cache
/// uses ahash by default) would buy no protection against flooding one
/// bucket, only cost a hash per lookup.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        // A digest is the only thing written, besides its length prefix.
        if let Some(first) = bytes.first_chunk::<8>() {
            self.0 = u64::from_le_bytes(*first);
        }
    }

    fn write_usize(&mut self, _len: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A cache entry's weight: what the verifier measured when it built the token.
#[derive(Debug, Clone, Copy)]
struct Weight;

impl<C> Weighter<Slot, VerifiedToken<C>> for Weight {
    fn weight(&self, key: &Slot, _token: &VerifiedToken<C>) -> u64 {
        u64::from(key.weight.max(1))
    }
}

type Table<C> = Cache<
    Slot,
    VerifiedToken<C>,
    Weight,
    BuildHasherDefault<DigestHasher>,
    DefaultLifecycle<Slot, VerifiedToken<C>>,
>;

pub(crate) struct TokenCache<C> {
    cache: Table<C>,
    /// SHA-256 with the cache's secret block already hashed.
    keyed: Sha256,
    /// Tokens many clients send again and again, kept whole ([`hot`]).
    hot: Option<HotTable<VerifiedToken<C>>>,
    /// This cache's number in the per-thread slots ([`memo`]).
    owner: u64,
    /// The slots' fingerprint: a secret to mix in, a secret odd multiplier.
    fingerprints: (u64, u64),
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
    kid: Option<&SharedStr>,
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
                shared_str_bytes(k.len())
            }
        })
        + claims_bytes;
    u32::try_from(weight).unwrap_or(u32::MAX)
}

/// The weight of a typical entry, to size the table's shards.
const TYPICAL_WEIGHT: u64 = 512;

impl<C: Send + Sync + 'static> TokenCache<C> {
    /// A cache of at most `max_bytes`, keyed with a secret from the
    /// operating system; its error when the system gives none.
    pub(crate) fn new(max_bytes: u64) -> Result<Self, getrandom::Error> {
        Self::keyed_by(max_bytes, getrandom::fill)
    }

    /// [`new`](Self::new), with the secret drawn by `fill`.
    pub(crate) fn keyed_by(
        max_bytes: u64,
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Result<Self, getrandom::Error> {
        let mut secret = [0_u8; 80];
        fill(&mut secret)?;
        let (block, seeds) = secret.split_at(64);
        let keyed = Sha256::new_with_prefix(block);
        let mut words = seeds
            .chunks_exact(8)
            .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()));
        let mut word = || words.next().unwrap_or_default();
        let fingerprints = (word(), word() | 1);
        secret.fill(0);
        let hot_bytes = hot::budget(max_bytes);
        let max_bytes = max_bytes - hot_bytes;
        let items = usize::try_from(max_bytes / TYPICAL_WEIGHT).unwrap_or(usize::MAX);
        Ok(Self {
            cache: Cache::with(
                items.max(1),
                max_bytes,
                Weight,
                BuildHasherDefault::default(),
                DefaultLifecycle::default(),
            ),
            keyed,
            hot: (hot_bytes > 0).then(|| HotTable::new(hot_bytes)),
            owner: memo::new_owner(),
            fingerprints,
        })
    }

    /// A token's fingerprint in the per-thread slots and the table of whole
    /// tokens: its last 8 bytes (the end of its signature) and its length,
    /// multiplied by a secret odd number in 128 bits and folded, so that
    /// every bit depends on all of them. It only picks a slot or a bucket,
    /// and spares most misses the comparison of every byte, which is what
    /// decides.
    #[inline]
    fn fingerprint(&self, token: &[u8]) -> u64 {
        let mut last = [0_u8; 8];
        let start = token.len().saturating_sub(last.len());
        for (l, b) in last.iter_mut().zip(token.get(start..).unwrap_or(token)) {
            *l = *b;
        }
        let (key, multiplier) = self.fingerprints;
        let product = u128::from(u64::from_le_bytes(last) ^ key) * u128::from(multiplier);
        (product as u64) ^ ((product >> 64) as u64) ^ token.len() as u64
    }

    /// The cache key of a token.
    #[inline]
    fn digest(&self, token: &[u8]) -> ByDigest {
        let full = self.keyed.clone().chain_update(token).finalize();
        let mut key = [0; 16];
        for (k, f) in key.iter_mut().zip(full) {
            *k = f;
        }
        ByDigest(key)
    }

    /// The verified token for `token` if cached, still within its lifetime
    /// at `now` (Unix seconds, the verifier's clock) and its key still trusted.
    ///
    /// This thread's slots ([`memo`]) answer first: the same bytes as a
    /// token the cache served here twice in a row; then the table of whole
    /// tokens ([`hot`]); then the table keyed by digest.
    pub(crate) fn get(&self, token: &[u8], now: i64) -> Option<VerifiedToken<C>> {
        let fingerprint = self.fingerprint(token);
        if let Some(verified) = memo::get::<VerifiedToken<C>>(self.owner, fingerprint, token) {
            if usable(&verified, now) {
                return Some(verified);
            }
            memo::forget(self.owner, fingerprint);
        }
        let verified = self.shared(token, fingerprint, now)?;
        memo::served(self.owner, fingerprint, token, &verified);
        Some(verified)
    }

    /// What the tables every thread shares hold for `token`: the table of
    /// whole tokens, then the digest's.
    fn shared(&self, token: &[u8], fingerprint: u64, now: i64) -> Option<VerifiedToken<C>> {
        if let Some(hot) = &self.hot
            && let Some(verified) = hot.get(fingerprint, token)
        {
            if usable(&verified, now) {
                return Some(verified);
            }
            hot.remove(fingerprint, token);
        }
        let digest = self.digest(token);
        let verified = self.cache.get(&digest)?;
        if !usable(&verified, now) {
            // Past its lifetime, or its key left the key set: verify again
            // (and fail, for a removed key) from now on.
            self.cache.remove(&digest);
            return None;
        }
        if let Some(hot) = &self.hot {
            hot.served(fingerprint, token, &verified);
        }
        Some(verified)
    }

    /// Caches `verified` (the token `token`, weighing `weight` bytes) if it
    /// has a lifetime left at `now`.
    pub(crate) fn insert(&self, token: &[u8], verified: VerifiedToken<C>, weight: u32, now: i64) {
        if verified.cached_until() > now {
            let ByDigest(digest) = self.digest(token);
            self.cache.insert(Slot { digest, weight }, verified);
        }
    }

    pub(crate) fn entry_count(&self) -> u64 {
        u64::try_from(self.cache.len()).unwrap_or(u64::MAX)
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.cache.weight() + self.hot.as_ref().map_or(0, HotTable::weight)
    }
}

/// Whether a cached token may answer at `now`: within its end of life, and
/// its key still in the key set.
fn usable<C>(verified: &VerifiedToken<C>, now: i64) -> bool {
    now < verified.cached_until() && verified.verifying_key().strong_count() != 0
}

impl<C> fmt::Debug for TokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_lookup_hashes_as_the_stored_key_and_spreads_by_the_digest() {
        let hasher = BuildHasherDefault::<DigestHasher>::default();
        let digest: Digest128 = *b"0123456789abcdef";
        let stored = hasher.hash_one(Slot { digest, weight: 7 });
        assert_eq!(
            stored,
            hasher.hash_one(ByDigest(digest)),
            "the lookup finds the slot"
        );
        assert_eq!(
            stored,
            hasher.hash_one(Slot { digest, weight: 9 }),
            "the weight is not hashed"
        );
        let mut other = digest;
        other[0] ^= 1;
        assert_ne!(stored, hasher.hash_one(ByDigest(other)));
        assert_eq!(stored, u64::from_le_bytes(*b"01234567"));
    }
}
