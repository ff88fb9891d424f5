//! The memory of seen proofs: each proof's id kept at least as long as the
//! proof could pass again, refusing rather than forgetting when full.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A proof's id: SHA-256 of its key's thumbprint and its `jti`.
pub(crate) type ProofId = [u8; 32];

/// How many locks the ids are spread over.
const SHARDS: usize = 16;

/// How many epochs an id is kept for: at least `keep` seconds and at most
/// `keep × EPOCHS / (EPOCHS − 1)` (about 1.14 × `keep`), so a steady rate
/// `r` holds about `r × 1.14 × keep` ids.
const EPOCHS: i64 = 8;

/// The ids of each shard with the epoch (`now / span`) they were recorded
/// in. When a shard sees a new epoch, it drops the ids more than
/// `EPOCHS − 1` epochs old: so an id is kept at least
/// `(EPOCHS − 1) × span ≥ keep` seconds by the verifier's clock. Each record
/// is one hash-map look-up under one of 16 locks; the sweep is once per
/// epoch and shard.
pub(crate) struct ReplayMemory {
    shards: [Mutex<Shard>; SHARDS],
    /// The length of an epoch, in seconds.
    span: i64,
    /// How many ids may be held before proofs are refused.
    capacity: u64,
    /// How many ids are held.
    live: AtomicU64,
}

struct Shard {
    ids: HashMap<ProofId, i64, ahash::RandomState>,
    /// The last epoch this shard swept in.
    swept: i64,
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
    /// A memory keeping each id at least `keep` seconds, holding at most
    /// `capacity` ids.
    pub(crate) fn new(keep: i64, capacity: u64) -> Self {
        let span = (keep.max(1) + EPOCHS - 2) / (EPOCHS - 1);
        Self {
            shards: std::array::from_fn(|_| {
                Mutex::new(Shard {
                    ids: HashMap::with_hasher(ahash::RandomState::new()),
                    swept: i64::MIN,
                })
            }),
            span,
            capacity,
            live: AtomicU64::new(0),
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "the index is taken modulo the array's length"
    )]
    fn shard(&self, id: &ProofId) -> MutexGuard<'_, Shard> {
        let [first, ..] = *id;
        lock(&self.shards[usize::from(first) % SHARDS])
    }

    /// Records `id` at `now`, unless it was seen or the memory is full.
    pub(crate) fn record(&self, id: ProofId, now: i64) -> Result<(), NotRecorded> {
        let epoch = now.div_euclid(self.span);
        let mut shard = self.shard(&id);
        self.sweep(&mut shard, epoch);
        if shard.ids.contains_key(&id) {
            return Err(NotRecorded::Seen);
        }
        if self.live.load(Ordering::Acquire) >= self.capacity {
            // The other shards may hold ids that are due to go.
            drop(shard);
            for other in &self.shards {
                self.sweep(&mut lock(other), epoch);
            }
            shard = self.shard(&id);
            if self.live.load(Ordering::Acquire) >= self.capacity {
                return Err(NotRecorded::Full);
            }
        }
        match shard.ids.entry(id) {
            Entry::Occupied(_) => Err(NotRecorded::Seen),
            Entry::Vacant(slot) => {
                slot.insert(epoch);
                self.live.fetch_add(1, Ordering::AcqRel);
                Ok(())
            }
        }
    }

    /// Forgets `id` (a proof the shared store could not record).
    pub(crate) fn forget(&self, id: &ProofId) {
        if self.shard(id).ids.remove(id).is_some() {
            self.live.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// How many ids are held.
    pub(crate) fn len(&self) -> u64 {
        self.live.load(Ordering::Acquire)
    }

    /// Once per epoch: drops the ids recorded more than `EPOCHS − 1`
    /// epochs before, so at least `keep` seconds ago. (A clock that goes
    /// back sweeps nothing until it is past the last sweep again.)
    fn sweep(&self, shard: &mut Shard, epoch: i64) {
        if epoch <= shard.swept {
            return;
        }
        shard.swept = epoch;
        let oldest = epoch.saturating_sub(EPOCHS - 1);
        let before = shard.ids.len();
        shard.ids.retain(|_, at| *at >= oldest);
        let dropped = before - shard.ids.len();
        if dropped > 0 {
            self.live
                .fetch_sub(u64::try_from(dropped).unwrap_or(0), Ordering::AcqRel);
        }
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ProofId {
        [n; 32]
    }

    #[test]
    fn an_id_is_kept_at_least_keep_seconds_and_not_much_longer() {
        // keep 121 s: epochs of 18 s, an id kept 126 to 144 s.
        let memory = ReplayMemory::new(121, 100);
        for at in [0_u8, 17, 35] {
            let t = i64::from(at);
            assert_eq!(memory.record(id(at), t), Ok(()));
            for later in [t, t + 60, t + 120, t + 121] {
                assert_eq!(
                    memory.record(id(at), later),
                    Err(NotRecorded::Seen),
                    "{at} {later}"
                );
            }
            assert_eq!(memory.record(id(at), t + 145), Ok(()), "{at}: forgotten");
        }
    }

    #[test]
    fn full_means_refused_until_ids_age_out() {
        let memory = ReplayMemory::new(10, 2);
        assert_eq!(memory.record(id(1), 0), Ok(()));
        assert_eq!(memory.record(id(2), 0), Ok(()));
        assert_eq!(memory.record(id(3), 0), Err(NotRecorded::Full));
        memory.forget(&id(2));
        assert_eq!(memory.len(), 1);
        assert_eq!(memory.record(id(3), 1), Ok(()));
        assert_eq!(memory.record(id(4), 1), Err(NotRecorded::Full));
        // Every shard's old ids are swept before refusing.
        assert_eq!(memory.record(id(4), 30), Ok(()));
        assert_eq!(memory.len(), 1);
    }
}
