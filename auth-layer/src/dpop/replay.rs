//! The memory of seen proofs: each proof's id kept at least as long as the
//! proof could pass again, refusing rather than forgetting when full.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A proof's id: SHA-256 of its key's thumbprint and its `jti`.
pub(crate) type ProofId = [u8; 32];

/// How many locks the ids are spread over.
const SHARDS: usize = 16;

/// Two generations of ids per shard: an id goes into the current one,
/// which becomes the previous one `keep` seconds after it was started, and
/// is dropped a generation later. So an id is kept at least `keep` seconds
/// (by the verifier's clock) and at most about three times that, each
/// insert and look-up a hash-set operation under one of 16 locks.
pub(crate) struct ReplayMemory {
    shards: [Mutex<Shard>; SHARDS],
    /// The least time an id is kept, in seconds.
    keep: i64,
    /// How many ids may be held before proofs are refused.
    capacity: u64,
    /// How many ids are held.
    live: AtomicU64,
}

struct Shard {
    current: HashSet<ProofId, ahash::RandomState>,
    previous: HashSet<ProofId, ahash::RandomState>,
    /// When `current` was started.
    since: i64,
}

/// Why an id was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotRecorded {
    /// Seen before: a replay.
    Seen,
    /// The memory is full: refuse rather than forget.
    Full,
}

impl ReplayMemory {
    pub(crate) fn new(keep: i64, capacity: u64, now: i64) -> Self {
        let shards = std::array::from_fn(|_| {
            Mutex::new(Shard {
                current: HashSet::with_hasher(ahash::RandomState::new()),
                previous: HashSet::with_hasher(ahash::RandomState::new()),
                since: now,
            })
        });
        Self {
            shards,
            keep: keep.max(1),
            capacity,
            live: AtomicU64::new(0),
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "the index is taken modulo the array's length"
    )]
    fn shard(&self, id: &ProofId) -> &Mutex<Shard> {
        let [first, ..] = *id;
        &self.shards[usize::from(first) % SHARDS]
    }

    /// Records `id` at `now`, unless it was seen or the memory is full.
    pub(crate) fn record(&self, id: ProofId, now: i64) -> Result<(), NotRecorded> {
        let mut shard = self
            .shard(&id)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.rotate(&mut shard, now);
        if shard.current.contains(&id) || shard.previous.contains(&id) {
            return Err(NotRecorded::Seen);
        }
        if self.live.load(Ordering::Acquire) >= self.capacity {
            return Err(NotRecorded::Full);
        }
        shard.current.insert(id);
        self.live.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Forgets `id` (a proof the shared store could not record).
    pub(crate) fn forget(&self, id: &ProofId) {
        let mut shard = self
            .shard(id)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shard.current.remove(id) || shard.previous.remove(id) {
            self.live.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// How many ids are held.
    pub(crate) fn len(&self) -> u64 {
        self.live.load(Ordering::Acquire)
    }

    /// Starts a new generation once the current one is `keep` old. Every
    /// id in `current` was recorded before `since + keep` (a later record
    /// rotates first), so one dropped here was recorded more than `keep`
    /// seconds ago.
    fn rotate(&self, shard: &mut Shard, now: i64) {
        let age = now.saturating_sub(shard.since);
        if age < self.keep {
            return;
        }
        let dropped = if age >= self.keep.saturating_mul(2) {
            let n = shard.current.len() + shard.previous.len();
            shard.current.clear();
            shard.previous.clear();
            n
        } else {
            let n = shard.previous.len();
            shard.previous = std::mem::replace(
                &mut shard.current,
                HashSet::with_hasher(ahash::RandomState::new()),
            );
            n
        };
        shard.since = now;
        self.live
            .fetch_sub(u64::try_from(dropped).unwrap_or(0), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ProofId {
        [n; 32]
    }

    #[test]
    fn an_id_is_kept_at_least_keep_seconds_and_then_forgotten() {
        let memory = ReplayMemory::new(10, 100, 0);
        assert_eq!(memory.record(id(1), 9), Ok(()));
        // Through a rotation at 10 and up to its own 9 + 10.
        for now in [10, 15, 19] {
            assert_eq!(memory.record(id(1), now), Err(NotRecorded::Seen), "{now}");
        }
        // Dropped at the rotation after next.
        assert_eq!(memory.record(id(1), 20), Ok(()));
        assert_eq!(memory.len(), 1);
        assert_eq!(memory.record(id(2), 100), Ok(()));
        assert_eq!(memory.record(id(1), 100), Ok(()), "long gone");
    }

    #[test]
    fn full_means_refused_until_ids_age_out() {
        let memory = ReplayMemory::new(10, 2, 0);
        assert_eq!(memory.record(id(1), 0), Ok(()));
        assert_eq!(memory.record(id(2), 0), Ok(()));
        assert_eq!(memory.record(id(3), 0), Err(NotRecorded::Full));
        memory.forget(&id(2));
        assert_eq!(memory.record(id(3), 1), Ok(()));
        assert_eq!(memory.record(id(4), 1), Err(NotRecorded::Full));
        // The shards age on their own; all three ids are gone by 25.
        for n in 1..=3 {
            let _ = memory.record(id(n), 25);
        }
        assert!(memory.len() <= 2);
    }
}
