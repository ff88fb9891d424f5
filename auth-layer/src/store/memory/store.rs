//! [`MemoryStore`]: its state and the locks around it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::broadcast;

use crate::revocation::{RevocationEvent, ScopedKey, SubjectState, unix_seconds};
use crate::session::{SessionRecord, TokenHash};

/// Revocations and sessions in this process's memory: the embedded default,
/// implementing [`RevocationStore`](crate::revocation::RevocationStore) and
/// [`SessionStore`](crate::session::SessionStore). Clones share the data.
///
/// Every operation holds one lock for its whole decision, which is what
/// makes rotation atomic here. A session is forgotten one day
/// ([`RETENTION_AFTER_EXPIRY`](crate::session::RETENTION_AFTER_EXPIRY))
/// after its absolute expiry, swept as new sessions start; a session keeps
/// its [`SPENT_TOKENS_KEPT`](crate::session::SPENT_TOKENS_KEPT) most recently
/// spent refresh-token hashes; a session revoked with an end
/// ([`revoke_session_until`](crate::revocation::RevocationStore::revoke_session_until),
/// as [`Sessions`](crate::session::Sessions) does) is forgotten from that
/// end on, swept as sessions are revoked; a denied `jti` is forgotten once
/// its token has expired.
///
/// ```
/// use auth_layer::revocation::RevocationStore;
/// use auth_layer::session::SessionStore;
/// use auth_layer::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let state = store.revoke_subject("https://idp.example", "alice", 1_700_000_000).await.unwrap();
/// assert_eq!(state.version, 1);
/// assert!(store.session("s1").await.unwrap().is_none());
/// assert_eq!(store.sessions(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    pub(super) revocations: Arc<Mutex<Revocations>>,
    pub(super) sessions: Arc<Mutex<Sessions>>,
    pub(super) events: broadcast::Sender<RevocationEvent>,
}

/// What revocation keeps.
#[derive(Default)]
pub(super) struct Revocations {
    pub(super) subjects: HashMap<ScopedKey, SubjectState>,
    /// Session → its not-before and when it may be forgotten (`None`: never).
    pub(super) sessions: HashMap<ScopedKey, (i64, Option<i64>)>,
    /// The second of the last sweep of `sessions`: at most one per second,
    /// so that a burst of logouts does not scan the map each time.
    pub(super) swept_at: i64,
    pub(super) jtis: HashMap<ScopedKey, SystemTime>,
    /// One-time ids (logout tokens' `jti`) → until when they are remembered.
    pub(super) used: HashMap<ScopedKey, SystemTime>,
    /// When the store was created (Unix seconds): its continuity marker.
    pub(super) marker: i64,
}

/// What sessions keep.
#[derive(Default)]
pub(super) struct Sessions {
    pub(super) by_sid: HashMap<String, Entry>,
    pub(super) by_subject: HashMap<String, HashSet<String>>,
    /// (forget at, sid), to sweep without scanning.
    pub(super) expiry: BTreeSet<(i64, String)>,
}

/// One session and its refresh-token hashes.
pub(super) struct Entry {
    pub(super) record: SessionRecord,
    pub(super) current: TokenHash,
    /// Spent token → when it was spent; at most
    /// [`SPENT_TOKENS_KEPT`](crate::session::SPENT_TOKENS_KEPT).
    pub(super) spent: HashMap<TokenHash, i64>,
    /// The spent tokens, oldest first; the last is the most recently spent.
    pub(super) spent_order: VecDeque<TokenHash>,
}

impl MemoryStore {
    /// An empty store: nothing revoked, no session. Its continuity marker
    /// is now: a process that starts a new memory store refuses every token
    /// issued before (what it revoked earlier is gone with the old process).
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            revocations: Arc::new(Mutex::new(Revocations {
                marker: unix_seconds(SystemTime::now()),
                ..Revocations::default()
            })),
            sessions: Arc::default(),
            events,
        }
    }

    /// Sessions held, live or ended but not yet forgotten.
    ///
    /// ```
    /// assert_eq!(auth_layer::store::MemoryStore::new().sessions(), 0);
    /// ```
    pub fn sessions(&self) -> usize {
        self.session_state().by_sid.len()
    }

    /// Refresh-token hashes held, current and spent, over every session.
    ///
    /// ```
    /// assert_eq!(auth_layer::store::MemoryStore::new().refresh_token_hashes(), 0);
    /// ```
    pub fn refresh_token_hashes(&self) -> usize {
        self.session_state()
            .by_sid
            .values()
            .map(|e| 1 + e.spent.len())
            .sum()
    }

    /// Revoked session ids held (not yet forgotten).
    ///
    /// ```
    /// assert_eq!(auth_layer::store::MemoryStore::new().revoked_sessions(), 0);
    /// ```
    pub fn revoked_sessions(&self) -> usize {
        self.revocation_state().sessions.len()
    }

    // Every update completes under its lock before any code that could
    // panic runs, so a poisoned lock still guards consistent maps.
    pub(super) fn revocation_state(&self) -> MutexGuard<'_, Revocations> {
        self.revocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn session_state(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn publish(&self, event: RevocationEvent) {
        // No receiver is fine: nobody caches.
        let _ = self.events.send(event);
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (subjects, revoked_sessions, denied_jtis) = {
            let state = self.revocation_state();
            (state.subjects.len(), state.sessions.len(), state.jtis.len())
        };
        let (sessions, session_subjects) = {
            let state = self.session_state();
            (state.by_sid.len(), state.by_subject.len())
        };
        f.debug_struct("MemoryStore")
            .field("subjects", &subjects)
            .field("revoked_sessions", &revoked_sessions)
            .field("denied_jtis", &denied_jtis)
            .field("sessions", &sessions)
            .field("session_subjects", &session_subjects)
            .finish()
    }
}
