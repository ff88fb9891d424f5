//! The revocation cache's verdict remembered in the verified token it
//! judged ([`Memo`]), valid while nothing the verdict was read from has
//! changed ([`Epoch`]).
//!
//! A token the verified-token cache hands out again and again is judged by
//! the same cached answers again and again: its subject's, its session's.
//! So a pass is remembered in the token (one word in its shared
//! allocation), with the cache's epoch at the time and the second the
//! first of those answers goes stale. The next request with that token
//! passes on the memo alone while both hold; otherwise it probes the
//! caches as before.
//!
//! Why a memo never passes a token the probes would refuse, but on answers
//! still within their TTL:
//! - The epoch changes after every entry the cache drops: an invalidation
//!   (a revocation here or another instance's event), a cleared cache (a
//!   resubscribed listener, a new store marker), an answer a load kept
//!   despite a revocation during it, the versioned issuer set. A memo
//!   reads the epoch before it probes, so an entry dropped after that read
//!   leaves the memo with an epoch that is no longer current.
//! - Entries are otherwise only added (a miss loaded) or replaced once
//!   stale, and the memo ends at the earliest staleness of what it read.
//! - An evicted entry's answer was good until its end of life: the memo
//!   keeps it no longer than the entry would have been kept, the TTL bound
//!   every cached answer already has (the probes would ask the store
//!   again sooner). A pass that read nothing (no subject, session or token
//!   id to look up) rests on the marker alone, and is kept one TTL.
//!
//! Epochs are drawn from one process-wide counter, so an epoch names one
//! cache: a token judged by two caches (two layers) finds the other's memo
//! stale. The counter is 32 bits: a stale memo would need the counter to
//! come round to the same value, 2^32 drops later, within one TTL.
//!
//! Every dropped entry ends every memo of the cache, not only those made
//! of it: under a steady stream of revocations, tokens are probed again
//! after each one (as every request was before memos).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// The process-wide source of epochs.
static EPOCHS: AtomicU32 = AtomicU32::new(1);

fn next_epoch() -> u32 {
    EPOCHS.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

/// The epoch of one revocation cache and the instant its memo times count
/// from.
#[derive(Debug)]
pub(crate) struct Epoch {
    current: AtomicU32,
    base: Instant,
}

impl Epoch {
    pub(crate) fn new() -> Self {
        Self {
            current: AtomicU32::new(next_epoch()),
            base: Instant::now(),
        }
    }

    /// The epoch now: read before the entries a memo is made of.
    #[inline]
    pub(crate) fn current(&self) -> u32 {
        self.current.load(Ordering::Acquire)
    }

    /// Called after entries were dropped: every memo made before is stale.
    pub(crate) fn bump(&self) {
        self.current.store(next_epoch(), Ordering::Release);
    }

    /// `at` in whole seconds since this cache began, rounded down (an end
    /// of life rounds down too: a memo never outlives what it read).
    #[inline]
    pub(crate) fn seconds(&self, at: Instant) -> u32 {
        u32::try_from(at.saturating_duration_since(self.base).as_secs()).unwrap_or(u32::MAX)
    }
}

/// A pass remembered in a verified token: the epoch it was made in and the
/// second (of that cache's [`Epoch::seconds`]) it ends. Zero: none.
#[derive(Debug, Default)]
pub(crate) struct Memo(AtomicU64);

impl Memo {
    /// Whether a pass made in `epoch` holds at `now` (seconds).
    #[inline]
    pub(crate) fn passes(&self, epoch: u32, now: u32) -> bool {
        let memo = self.0.load(Ordering::Relaxed);
        let (made_in, until) = ((memo >> 32) as u32, memo as u32);
        made_in == epoch && now < until
    }

    /// Remembers a pass made in `epoch`, good before `until` (seconds).
    #[inline]
    pub(crate) fn remember(&self, epoch: u32, until: u32) {
        self.0.store(
            (u64::from(epoch) << 32) | u64::from(until),
            Ordering::Relaxed,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_memo_holds_in_its_epoch_before_its_end_and_nowhere_else() {
        let memo = Memo::default();
        let epoch = Epoch::new();
        assert!(!memo.passes(epoch.current(), 0), "none yet");
        memo.remember(epoch.current(), 30);
        assert!(memo.passes(epoch.current(), 29));
        assert!(!memo.passes(epoch.current(), 30), "ends at its second");
        let other = Epoch::new();
        assert!(!memo.passes(other.current(), 0), "another cache's epoch");
        epoch.bump();
        assert!(!memo.passes(epoch.current(), 0), "entries dropped since");
    }

    #[test]
    fn seconds_round_down() {
        let epoch = Epoch::new();
        let base = epoch.base;
        assert_eq!(epoch.seconds(base + Duration::from_millis(1999)), 1);
        assert_eq!(epoch.seconds(base), 0);
        assert_eq!(epoch.seconds(base - Duration::from_secs(1)), 0);
    }
}
