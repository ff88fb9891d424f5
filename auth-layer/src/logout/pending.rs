//! Logouts whose `jti` was recorded but whose revocation failed. The
//! provider's retry of the same token (after the 503) must complete them
//! rather than be refused as a replay.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The most logouts remembered at once; more are not remembered (their
/// retries are then refused as replays, as without this set).
const CAPACITY: usize = 1024;

/// `(issuer, jti)` of logouts left half done, with until when (Unix
/// seconds) their token passes.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    entries: Mutex<HashMap<(String, String), i64>>,
}

impl Pending {
    /// Remembers a logout whose revocation failed.
    pub(crate) fn insert(&self, issuer: &str, jti: &str, until: i64, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, until| *until >= now);
        if entries.len() < CAPACITY {
            entries.insert((issuer.to_owned(), jti.to_owned()), until);
        }
    }

    /// Whether a logout of this token was left half done (and its token
    /// still passes).
    pub(crate) fn contains(&self, issuer: &str, jti: &str, now: i64) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(&(issuer.to_owned(), jti.to_owned()))
            .is_some_and(|until| *until >= now)
    }

    /// Forgets a logout now done.
    pub(crate) fn remove(&self, issuer: &str, jti: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !entries.is_empty() {
            entries.remove(&(issuer.to_owned(), jti.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pass_until_their_token_expires() {
        let pending = Pending::default();
        pending.insert("https://op", "j1", 100, 50);
        assert!(pending.contains("https://op", "j1", 100));
        assert!(!pending.contains("https://op", "j1", 101), "expired");
        assert!(!pending.contains("https://other", "j1", 60), "per issuer");
        pending.remove("https://op", "j1");
        assert!(!pending.contains("https://op", "j1", 60));
    }

    #[test]
    fn capacity_is_bounded_and_expired_entries_make_room() {
        let pending = Pending::default();
        for i in 0..CAPACITY + 10 {
            pending.insert("https://op", &i.to_string(), 100, 0);
        }
        assert!(!pending.contains("https://op", &CAPACITY.to_string(), 0));
        pending.insert("https://op", "late", 300, 200);
        assert!(pending.contains("https://op", "late", 200));
    }
}
