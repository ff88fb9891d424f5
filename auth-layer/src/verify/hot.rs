//! A small table of whole tokens in front of the verified-token cache's
//! digest: the tokens many clients send again and again, found by their
//! bytes.
//!
//! The cache's key is a keyed SHA-256 of the whole token, and that digest is
//! most of what a hit of the cache costs (a 600-byte RS256 token is ten
//! blocks). The per-thread slots ([`memo`](super::memo)) spare it to a
//! thread that sees one client's token many times in a row; a server with
//! many clients per thread sees their tokens in turn and never fills a slot.
//! This table serves those: it holds the tokens the cache served twice, each
//! with its verified token, keyed by the token's bytes themselves, in a
//! sixteenth of the cache's memory budget (taken from it), at most 4 MiB.
//!
//! A lookup hashes the token's fingerprint (its length and last 8 bytes,
//! under a secret of the cache's) and compares the candidate's bytes with
//! the token's in full, without stopping at the first difference: so only
//! the same bytes are ever answered, whatever the fingerprints of two tokens.
//! What it answers then goes through the checks a hit of the cache goes
//! through (the entry's end of life, its key still in the key set, then
//! `exp`, `nbf` and revocation).
//!
//! In front of the table, one cache line per two entries holds hints: the
//! fingerprints of the tokens the table holds (a token it does not hold
//! costs one read of that line, not a probe of the table) and of the last
//! two served once. A token enters the second time the cache serves it,
//! unless two others of its line came between: traffic where every token
//! comes once costs that line's read and write per hit and copies
//! nothing. The table evicts as the cache does (S3-FIFO, by weight), takes
//! the line from its budget, and wipes a token's bytes when it lets go of
//! them.

use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Lifecycle, Weighter};
use zeroize::Zeroize;

use super::memo::same_bytes;

/// The largest budget of the table, in bytes.
const MAX_BYTES: u64 = 4 << 20;
/// The smallest: below it (a cache of under 256 KiB), no table.
const MIN_BYTES: u64 = 16 << 10;
/// Bytes an entry costs besides its token: the key and its boxed bytes'
/// allocation, the verified token's handle, the table's slot and index.
const ENTRY_OVERHEAD: u64 = 96;
/// The weight of a typical entry, to size the table.
const TYPICAL_WEIGHT: u64 = 512;

/// The table's budget out of a cache of `max_bytes`: a sixteenth, at most
/// [`MAX_BYTES`]; `0` (no table) for a cache too small to spare one.
pub(crate) fn budget(max_bytes: u64) -> u64 {
    let bytes = (max_bytes / 16).min(MAX_BYTES);
    if bytes < MIN_BYTES { 0 } else { bytes }
}

/// A token held whole, and its fingerprint. Its bytes are wiped on drop.
struct HotKey {
    fingerprint: u64,
    token: Box<[u8]>,
}

impl PartialEq for HotKey {
    fn eq(&self, other: &Self) -> bool {
        other.as_lookup().equivalent(self)
    }
}

impl HotKey {
    /// This key as a lookup: the one comparison both use.
    fn as_lookup(&self) -> ByToken<'_> {
        ByToken {
            fingerprint: self.fingerprint,
            token: &self.token,
        }
    }
}

impl Eq for HotKey {}

impl Hash for HotKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint);
    }
}

impl Drop for HotKey {
    fn drop(&mut self) {
        self.token.zeroize();
    }
}

/// A lookup by a request's token.
struct ByToken<'a> {
    fingerprint: u64,
    token: &'a [u8],
}

impl Hash for ByToken<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint);
    }
}

impl Equivalent<HotKey> for ByToken<'_> {
    fn equivalent(&self, key: &HotKey) -> bool {
        self.fingerprint == key.fingerprint && same_bytes(self.token, &key.token)
    }
}

/// The table's hash: the fingerprint as it is (mixed in all its bits by the
/// cache, under a secret: no one choosing tokens can aim at one bucket).
#[derive(Default)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called; this keeps any other use sound.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An entry's weight: its token's bytes and [`ENTRY_OVERHEAD`].
#[derive(Debug, Clone, Copy)]
struct TokenWeight;

impl<V> Weighter<HotKey, V> for TokenWeight {
    fn weight(&self, key: &HotKey, _value: &V) -> u64 {
        key.token.len() as u64 + ENTRY_OVERHEAD
    }
}

/// One place of the array in front of the table (one cache line), chosen
/// by a fingerprint's high bits: the fingerprints last served once there
/// (admission), and those of the tokens the table holds (so that a token
/// it does not hold costs one read of this line, not a probe of the
/// table). Both are hints, read and written without order: the table
/// alone answers, by the token's bytes.
#[derive(Default)]
#[repr(C, align(64))]
struct Place {
    seen: [AtomicU64; 2],
    held: [AtomicU64; 6],
}

/// Whether `words` has `fingerprint`.
fn has(words: &[AtomicU64], fingerprint: u64) -> bool {
    words
        .iter()
        .any(|word| word.load(Ordering::Relaxed) == fingerprint)
}

/// Puts `fingerprint` in a free word of `words`, or else in the one it
/// picks (whose fingerprint is forgotten).
fn put(words: &[AtomicU64], fingerprint: u64) {
    let free = words.iter().find(|word| word.load(Ordering::Relaxed) == 0);
    let pick = usize::try_from(fingerprint % words.len() as u64).unwrap_or(0);
    if let Some(word) = free.or_else(|| words.get(pick)) {
        word.store(fingerprint, Ordering::Relaxed);
    }
}

/// Takes `fingerprint` out of `words` (only where it still is).
fn take(words: &[AtomicU64], fingerprint: u64) {
    for word in words {
        let _ = word.compare_exchange(fingerprint, 0, Ordering::Relaxed, Ordering::Relaxed);
    }
}

impl Place {
    fn holds(&self, fingerprint: u64) -> bool {
        has(&self.held, fingerprint)
    }

    fn hold(&self, fingerprint: u64) {
        if !self.holds(fingerprint) {
            // All taken: the token whose hint gives way stays in the table,
            // unseen until it is taken in again.
            put(&self.held, fingerprint);
        }
    }

    fn let_go(&self, fingerprint: u64) {
        if self.holds(fingerprint) {
            take(&self.held, fingerprint);
        }
    }

    /// Whether the token was served once already; if not, it is noted.
    /// (Plain reads first: most tokens served are not there, and spare
    /// the line a locked instruction.)
    fn seen_before(&self, fingerprint: u64) -> bool {
        if has(&self.seen, fingerprint) {
            take(&self.seen, fingerprint);
            return true;
        }
        put(&self.seen, fingerprint);
        false
    }
}

/// The places, shared with the table's eviction hook.
struct Places(Box<[Place]>);

impl Places {
    /// A fingerprint's place: its high bits.
    fn of(&self, fingerprint: u64) -> Option<&Place> {
        let bits = self.0.len().trailing_zeros();
        let index = if bits == 0 {
            0
        } else {
            usize::try_from(fingerprint >> (u64::BITS - bits)).unwrap_or(0)
        };
        self.0.get(index)
    }
}

/// The table's eviction hook: an evicted token's hint goes with it.
#[derive(Clone)]
struct LetGo(Arc<Places>);

impl<V> Lifecycle<HotKey, V> for LetGo {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn on_evict(&self, _state: &mut Self::RequestState, key: HotKey, _value: V) {
        if let Some(place) = self.0.of(key.fingerprint) {
            place.let_go(key.fingerprint);
        }
    }
}

type Table<V> = Cache<HotKey, V, TokenWeight, BuildHasherDefault<FingerprintHasher>, LetGo>;

pub(crate) struct HotTable<V> {
    table: Table<V>,
    places: Arc<Places>,
}

impl<V: Clone> HotTable<V> {
    /// A table of at most `max_bytes`, its places included.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let items = usize::try_from(max_bytes / TYPICAL_WEIGHT)
            .unwrap_or(usize::MAX)
            .max(1);
        // Six hints a place: a place for every two entries leaves room.
        let places = items.div_ceil(2).next_power_of_two();
        let places_bytes = (places * size_of::<Place>()) as u64;
        let places = Arc::new(Places((0..places).map(|_| Place::default()).collect()));
        Self {
            table: Cache::with(
                items,
                max_bytes.saturating_sub(places_bytes).max(1),
                TokenWeight,
                BuildHasherDefault::default(),
                LetGo(Arc::clone(&places)),
            ),
            places,
        }
    }

    /// What the table holds for exactly these bytes.
    pub(crate) fn get(&self, fingerprint: u64, token: &[u8]) -> Option<V> {
        if !self.places.of(fingerprint)?.holds(fingerprint) {
            return None;
        }
        self.table.get(&ByToken { fingerprint, token })
    }

    /// Lets go of `token` (its entry reached its end of life, or its key
    /// left the key set).
    pub(crate) fn remove(&self, fingerprint: u64, token: &[u8]) {
        if let Some(place) = self.places.of(fingerprint) {
            place.let_go(fingerprint);
        }
        self.table.remove(&ByToken { fingerprint, token });
    }

    /// The cache served `value` for `token`: the second time, unless two
    /// other tokens of its line came between, the table takes it.
    pub(crate) fn served(&self, fingerprint: u64, token: &[u8], value: &V) {
        let Some(place) = self.places.of(fingerprint) else {
            return;
        };
        if !place.seen_before(fingerprint) {
            return;
        }
        // The hint first: a token the table turns away (too large for
        // it) is let go of during the insert.
        place.hold(fingerprint);
        let key = HotKey {
            fingerprint,
            token: token.into(),
        };
        self.table.insert(key, value.clone());
    }

    /// The bytes the table holds, by its weights.
    pub(crate) fn weight(&self) -> u64 {
        self.table.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_enters_the_second_time_it_is_served_and_answers_only_its_bytes() {
        let hot = HotTable::<u32>::new(64 << 10);
        let token = b"header.payload.signature";
        assert_eq!(hot.get(7, token), None);
        hot.served(7, token, &1);
        assert_eq!(hot.get(7, token), None, "served once: not held yet");
        hot.served(7, token, &1);
        assert_eq!(hot.get(7, token), Some(1), "served twice: held");
        assert_eq!(
            hot.get(7, b"header.payloaX.signature"),
            None,
            "same fingerprint, one byte differs"
        );
        assert_eq!(hot.get(7, b"header.payload.signatur"), None, "shorter");
        assert_eq!(hot.get(8, token), None, "another fingerprint");
        assert!(hot.weight() >= token.len() as u64 + ENTRY_OVERHEAD);
        hot.remove(7, token);
        assert_eq!(hot.get(7, token), None, "removed");
        assert_eq!(hot.weight(), 0);
    }

    #[test]
    fn tokens_in_the_same_place_between_two_servings_keep_it_out() {
        let hot = HotTable::<u32>::new(64 << 10);
        // The same high bits, so one place.
        let [a, b, c, d] = [4, 5, 2, 3].map(|low| u64::MAX - 8 + low);
        let place = hot.places.of(a).unwrap();
        for other in [b, c, d] {
            assert!(std::ptr::eq(place, hot.places.of(other).unwrap()));
        }
        hot.served(a, b"token-a", &1);
        hot.served(b, b"token-b", &2);
        hot.served(a, b"token-a", &1);
        assert_eq!(hot.get(a, b"token-a"), Some(1), "one other token between");
        hot.served(c, b"token-c", &3);
        hot.served(d, b"token-d", &4);
        // Both words taken: a fifth token's notice takes `c`'s word.
        hot.served(a - 1, b"token-e", &5);
        hot.served(c, b"token-c", &3);
        assert_eq!(hot.get(c, b"token-c"), None, "two others between");
        hot.served(c, b"token-c", &3);
        assert_eq!(hot.get(c, b"token-c"), Some(3));
    }

    #[test]
    fn the_budget_is_a_sixteenth_of_the_cache_within_bounds() {
        assert_eq!(budget(64 << 20), 4 << 20);
        assert_eq!(budget(1 << 30), MAX_BYTES, "at most 4 MiB");
        assert_eq!(budget(1 << 20), 64 << 10);
        assert_eq!(budget(128 << 10), 0, "a small cache has no table");
    }

    #[test]
    fn the_table_keeps_to_its_budget() {
        let hot = HotTable::<u32>::new(MIN_BYTES);
        let token = [b'x'; 400];
        for i in 0..1000_u64 {
            let mut t = token;
            t[..8].copy_from_slice(&i.to_le_bytes());
            let fingerprint = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            hot.served(fingerprint, &t, &1);
            hot.served(fingerprint, &t, &1);
        }
        assert!(hot.weight() <= MIN_BYTES, "{} bytes", hot.weight());
        assert!(hot.weight() > 0);
        // The tokens it let go of left no hints behind.
        let hints = hot
            .places
            .0
            .iter()
            .flat_map(|place| &place.held)
            .filter(|held| held.load(Ordering::Relaxed) != 0)
            .count();
        assert!(hints > 0);
        assert!(hints <= hot.table.len(), "{hints} hints");
    }

    #[test]
    fn a_token_too_large_for_the_table_leaves_no_hint() {
        let hot = HotTable::<u32>::new(MIN_BYTES);
        let token = vec![b'x'; 2 * MIN_BYTES as usize];
        hot.served(7, &token, &1);
        hot.served(7, &token, &1);
        assert_eq!(hot.get(7, &token), None);
        assert!(!hot.places.of(7).unwrap().holds(7));
    }

    #[test]
    fn a_removed_token_leaves_no_hint() {
        let hot = HotTable::<u32>::new(MIN_BYTES);
        hot.served(7, b"token", &1);
        hot.served(7, b"token", &1);
        assert!(hot.places.of(7).unwrap().holds(7));
        hot.remove(7, b"token");
        assert!(!hot.places.of(7).unwrap().holds(7));
    }
}
