//! A few tokens per thread kept whole in front of the verified-token cache:
//! a client sending its token again and again skips the cache's digest and
//! probe.
//!
//! A keep-alive connection carries one client's requests, and its task
//! stays on the runtime's thread that polls it, so a worker thread sees the
//! same bytes many times in a row. For those, the cache's keyed SHA-256 of
//! the whole token is most of a hit's cost (more than half of what the
//! layer adds to a route for a 600-byte RS256 token), and its probe waits
//! on memory once the cache is large. Each thread holds a handful of
//! slots, each one token's bytes and its verified token, chosen by a
//! fingerprint of the token's length and last bytes under a secret of the
//! cache's. A slot answers only a token equal to its own in every byte,
//! compared in full without stopping at the first difference, and only for
//! the cache that filled it; what it answers then goes through the checks
//! a hit of the cache goes through (the entry's end of life, its key still
//! in the key set, then `exp`, `nbf` and revocation). So a slot answers
//! what verifying the token again would (also after the cache evicted its
//! entry, which a slot's hits do not keep warm), and nothing an attacker
//! can choose makes it answer for another token: unlike the cache's key,
//! it is the token itself.
//!
//! A token takes a slot the second time in a row the cache serves it there,
//! so traffic that never repeats (every request another token) only pays
//! the fingerprint and the slot's check, under a hundred instructions, and
//! never copies tokens. A slot keeps its token (its bytes are wiped when
//! it lets go of them) until another one takes it, its entry reaches its
//! end of life or its key leaves the key set, or the thread ends, also
//! after its layer is dropped: at most [`SLOTS`] tokens per thread,
//! outside the cache's memory budget.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroize;

/// Slots per thread (a power of two).
pub(crate) const SLOTS: usize = 16;

/// The owner of no slot: what an empty slot holds.
const NOBODY: u64 = 0;

static NEXT_OWNER: AtomicU64 = AtomicU64::new(NOBODY + 1);

/// A number for a cache, never given twice in a process: slots filled by
/// one cache never answer for another (another key set, other rules).
pub(crate) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

struct Slot {
    owner: u64,
    /// The fingerprint of the token held.
    fingerprint: u64,
    token: Vec<u8>,
    /// The verified token, of the owner's claims type.
    verified: Option<Box<dyn Any>>,
    /// The fingerprint of the last token the cache served in this slot and
    /// that the slot does not hold: a second one in a row takes the slot.
    seen: u64,
}

impl Slot {
    const EMPTY: Self = Self {
        owner: NOBODY,
        fingerprint: 0,
        token: Vec::new(),
        verified: None,
        seen: 0,
    };
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.token.zeroize();
    }
}

thread_local! {
    static MEMO: RefCell<[Slot; SLOTS]> = const { RefCell::new([const { Slot::EMPTY }; SLOTS]) };
}

/// A fingerprint's slot: its high bits (a product's best mixed).
fn index(fingerprint: u64) -> usize {
    (fingerprint >> (u64::BITS - SLOTS.trailing_zeros())) as usize
}

/// Whether `a` and `b` are the same bytes, in a time that depends on their
/// lengths only: every byte pair is folded into one difference, no branch
/// on a byte (compiled to vector XOR and OR).
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |differ, (x, y)| differ | (x ^ y)) == 0
}

/// The verified token this thread holds for `token`, if `owner` filled the
/// slot with exactly these bytes.
pub(crate) fn get<T: Clone + 'static>(owner: u64, fingerprint: u64, token: &[u8]) -> Option<T> {
    MEMO.try_with(|memo| {
        let memo = memo.try_borrow().ok()?;
        let slot = memo.get(index(fingerprint))?;
        if slot.owner != owner || slot.fingerprint != fingerprint || !same_bytes(&slot.token, token)
        {
            return None;
        }
        slot.verified.as_ref()?.downcast_ref::<T>().cloned()
    })
    .ok()
    .flatten()
}

/// The cache served `verified` for `token`: the second time in a row in
/// its slot, the slot takes it.
pub(crate) fn served<T: Clone + 'static>(owner: u64, fingerprint: u64, token: &[u8], verified: &T) {
    let _ = MEMO.try_with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return;
        };
        let Some(slot) = memo.get_mut(index(fingerprint)) else {
            return;
        };
        if slot.seen != fingerprint {
            slot.seen = fingerprint;
            return;
        }
        let verified: Box<dyn Any> = Box::new(verified.clone());
        slot.token.zeroize();
        slot.token.extend_from_slice(token);
        slot.owner = owner;
        slot.fingerprint = fingerprint;
        slot.verified = Some(verified);
        slot.seen = 0;
    });
}

/// Empties the slot `owner` filled for a token of this fingerprint (its
/// entry reached its end of life, or its key left the key set).
pub(crate) fn forget(owner: u64, fingerprint: u64) {
    let _ = MEMO.try_with(|memo| {
        if let Ok(mut memo) = memo.try_borrow_mut()
            && let Some(slot) = memo.get_mut(index(fingerprint))
            && slot.owner == owner
            && slot.fingerprint == fingerprint
        {
            *slot = Slot::EMPTY;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_answers_its_own_bytes_for_its_own_owner_only() {
        let (a, b) = (new_owner(), new_owner());
        let token = b"header.payload.signature";
        served(a, 7, token, &1_u32);
        assert_eq!(get::<u32>(a, 7, token), None, "served once: not held yet");
        served(a, 7, token, &1_u32);
        assert_eq!(
            get::<u32>(a, 7, token),
            Some(1),
            "served twice in a row: held"
        );
        assert_eq!(get::<u32>(b, 7, token), None, "another cache's slot");
        assert_eq!(get::<u64>(a, 7, token), None, "another claims type");
        assert_eq!(
            get::<u32>(a, 7, b"header.payloaX.signature"),
            None,
            "one byte differs"
        );
        assert_eq!(
            get::<u32>(a, 7, b"header.payload.signatur"),
            None,
            "a prefix"
        );
        forget(b, 7);
        assert_eq!(
            get::<u32>(a, 7, token),
            Some(1),
            "only the owner empties its slot"
        );
        forget(a, 7);
        assert_eq!(get::<u32>(a, 7, token), None, "forgotten");
    }

    #[test]
    fn another_token_between_two_servings_keeps_the_slot_from_changing_hands() {
        let owner = new_owner();
        let (first, second) = (b"first.token.aa".as_slice(), b"second.token.a".as_slice());
        served(owner, 3, first, &1_u32);
        served(owner, 3, first, &1_u32);
        // `second` shares the slot (same high bits) and alternates with `first`.
        assert_eq!(index(3), index(4));
        served(owner, 4, second, &2_u32);
        assert_eq!(get::<u32>(owner, 3, first), Some(1));
        served(owner, 4, second, &2_u32);
        assert_eq!(get::<u32>(owner, 4, second), Some(2), "twice in a row");
        assert_eq!(get::<u32>(owner, 3, first), None, "taken over");
    }

    #[test]
    fn same_bytes_compares_lengths_and_every_byte() {
        assert!(same_bytes(b"", b""));
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
        assert!(!same_bytes(b"xbc", b"abc"));
    }
}
