//! [`SessionStore`]: where sessions and refresh-token hashes live, and the
//! records it exchanges with [`Sessions`](super::Sessions).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::token::TokenHash;
use crate::backend::{BoxFuture, StoreError};

/// How many spent refresh-token hashes a store keeps per session: the most
/// recently spent ones. A spent hash only serves to recognise reuse (and a
/// retry of its rotation); a token spent longer ago than the last
/// `SPENT_TOKENS_KEPT` rotations of its session is no longer recognised and
/// is answered `refresh_invalid` (nothing changes) instead of ending the
/// session. The most recently spent token is always kept.
pub const SPENT_TOKENS_KEPT: usize = 16;

/// How long a store keeps a session after its absolute expiry, so that a
/// late refresh is told `session_expired` (and a late reuse is still
/// recognised) rather than `refresh_invalid`. After that the session and
/// its tokens are deleted.
pub const RETENTION_AFTER_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

/// Where sessions and refresh-token hashes live. Object-safe;
/// implementations are cheap-to-clone handles.
///
/// [`rotate`](Self::rotate) and [`end`](Self::end) are each one atomic step
/// in the store (a Lua script in Redis, one transaction in PostgreSQL, one
/// lock in memory): two concurrent rotations with one token cannot both
/// succeed. [`create`](Self::create) and [`end_all`](Self::end_all) may take
/// several steps (a Redis Cluster holds a session and its subject's index
/// on different nodes), but never leave a live session out of its
/// subject's index. Times are Unix
/// seconds from the caller's clock, never the store's. A session's
/// [`dpop_jkt`](SessionRecord::dpop_jkt) is written by `create` and never
/// changes; every call that returns the session returns it too (a store
/// that dropped it would unbind the session's refresh tokens).
///
/// ```
/// use auth_layer::session::{EndReason, SessionRecord, SessionStore, TokenHash};
/// use auth_layer::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let session = SessionRecord {
///     sid: "s1".into(),
///     subject: "alice".into(),
///     claims: serde_json::Map::new(),
///     version: 0,
///     created_at: 1_000,
///     expires_at: 2_000,
///     last_used_at: 1_000,
///     ended: None,
///     dpop_jkt: None,
///     idle_timeout: Some(86_400),
/// };
/// store.create(&session, TokenHash::of("s1.secret")).await.unwrap();
/// let ended = store.end("s1", EndReason::Logout, 1_500).await.unwrap().unwrap();
/// assert_eq!(ended.ended, Some(EndReason::Logout));
/// # }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new, live session whose current refresh token hashes to `token`.
    fn create<'a>(
        &'a self,
        session: &'a SessionRecord,
        token: TokenHash,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The session `sid`, if the store still holds it.
    fn session<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>>;

    /// Atomically: finds the presented token in session `rotation.sid` and
    /// decides as [`RotateOutcome`] documents. Only
    /// [`Rotated`](RotateOutcome::Rotated) (the presented token becomes spent,
    /// `next` becomes current, `last_used_at` becomes `now`, the claims
    /// become `rotation.claims` when given, and spent hashes beyond the
    /// [`SPENT_TOKENS_KEPT`] most recent are deleted) and a first
    /// [`Reused`](RotateOutcome::Reused) (the session is ended with
    /// [`EndReason::Reuse`]) write anything.
    fn rotate<'a>(
        &'a self,
        rotation: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>>;

    /// Ends the session `sid` for `reason` (a session already ended keeps its
    /// first reason) and returns it as it now is; `None` if unknown.
    fn end<'a>(
        &'a self,
        sid: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>>;

    /// Ends every live session of `subject` for `reason` and returns their ids.
    fn end_all<'a>(
        &'a self,
        subject: &'a str,
        reason: EndReason,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
}

macro_rules! forward_store {
    ($ty:ty) => {
        impl SessionStore for $ty {
            fn create<'a>(
                &'a self,
                session: &'a SessionRecord,
                token: TokenHash,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                (**self).create(session, token)
            }
            fn session<'a>(
                &'a self,
                sid: &'a str,
            ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
                (**self).session(sid)
            }
            fn rotate<'a>(
                &'a self,
                rotation: &'a Rotation<'a>,
            ) -> BoxFuture<'a, Result<RotateOutcome, StoreError>> {
                (**self).rotate(rotation)
            }
            fn end<'a>(
                &'a self,
                sid: &'a str,
                reason: EndReason,
                now: i64,
            ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
                (**self).end(sid, reason, now)
            }
            fn end_all<'a>(
                &'a self,
                subject: &'a str,
                reason: EndReason,
                now: i64,
            ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
                (**self).end_all(subject, reason, now)
            }
        }
    };
}

forward_store!(Box<dyn SessionStore>);
forward_store!(Arc<dyn SessionStore>);

/// A session as stored: who, with which claims, since when, until when.
///
/// Holds no token: the store keeps refresh tokens only as [`TokenHash`]es.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id: access tokens carry it as `sid`.
    pub sid: String,
    /// The subject (`sub`) the session belongs to.
    pub subject: String,
    /// The caller's claims given at login, put into every access token of
    /// the session.
    pub claims: Map<String, Value>,
    /// The subject's token version at login (`ver` in its access tokens);
    /// once the subject's current version is higher, the session cannot
    /// refresh.
    pub version: u64,
    /// When the session started (Unix seconds).
    pub created_at: i64,
    /// The absolute end of the session (Unix seconds): no refresh from then on.
    pub expires_at: i64,
    /// The login or the last rotation (Unix seconds); the idle timeout
    /// counts from here.
    pub last_used_at: i64,
    /// Why the session ended; `None` while it is live.
    pub ended: Option<EndReason>,
    /// The RFC 7638 thumbprint of the DPoP key the session's refresh
    /// tokens are bound to (RFC 9449 section 5), set at login with a proof
    /// ([`Sessions::login_with_proof`](super::Sessions::login_with_proof))
    /// and never changed: every refresh must come with a proof by that key,
    /// and every access token of the session carries it as `cnf.jkt`.
    /// `None`: the session is not bound (bearer tokens). A store must keep
    /// it exactly as given and return it with the session.
    pub dpop_jkt: Option<String>,
    /// The session's idle timeout in seconds, set at login from the
    /// [`SessionPolicy`](super::SessionPolicy) and never changed. `None`:
    /// the [`Sessions`](super::Sessions)' default idle timeout (a session
    /// stored before timeouts were kept per session). A store must keep it
    /// exactly as given and return it with the session.
    pub idle_timeout: Option<i64>,
}

/// Why a session ended. Stored as the string of [`as_str`](Self::as_str).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// `logout`: the user logged out of this session.
    Logout,
    /// `logout_all`: the user logged out everywhere (the token version was bumped).
    LogoutAll,
    /// `reuse`: a spent refresh token of the session was presented again.
    Reuse,
    /// `reauth`: the subject must authenticate again.
    Reauth,
    /// `revoked`: ended by someone else (an administrator, another
    /// service); also how any other stored value reads.
    Revoked,
}

impl EndReason {
    /// The stored form: `logout`, `logout_all`, `reuse`, `reauth` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Reuse => "reuse",
            Self::Reauth => "reauth",
            Self::Revoked => "revoked",
        }
    }

    /// Reads a stored reason; anything unknown is [`Revoked`](Self::Revoked).
    pub fn parse(stored: &str) -> Self {
        match stored {
            "logout" => Self::Logout,
            "logout_all" => Self::LogoutAll,
            "reuse" => Self::Reuse,
            "reauth" => Self::Reauth,
            _ => Self::Revoked,
        }
    }
}

/// One refresh, as [`SessionStore::rotate`] receives it.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The session the presented token names.
    pub sid: &'a str,
    /// The hash of the presented token.
    pub presented: TokenHash,
    /// The hash of the token that replaces it.
    pub next: TokenHash,
    /// The caller's time (Unix seconds).
    pub now: i64,
    /// Seconds without a rotation after which the session is idle.
    pub idle_timeout: i64,
    /// Seconds after a rotation during which the token it spent is answered
    /// as a duplicate rather than reuse; 0 turns the window off.
    pub grace: i64,
    /// Seconds after a rotation during which the same rotation presented
    /// again (the token it spent, with the same `next`, whose successor is
    /// still current) is answered [`Retried`](RotateOutcome::Retried)
    /// without writing anything. The second of the rotation always counts.
    pub retry: i64,
    /// The subject's current token version: a session with a lower version
    /// cannot refresh.
    pub min_version: u64,
    /// Claims replacing the session's on a rotation (`None` keeps them).
    pub claims: Option<&'a Map<String, Value>>,
}

/// What [`SessionStore::rotate`] decided. Every variant but `Unknown` holds
/// the session as it is after the call.
///
/// The decision, in order:
/// 1. the session or the presented token is not in the store → `Unknown`;
/// 2. the token is spent: within the retry window after its rotation, if
///    it is the most recently spent token, was replaced by `next` and the
///    session is otherwise refreshable → `Retried` (nothing written; the
///    same rotation again); within the retry window, the most recently
///    spent token with another `next` (instances derive successors
///    differently) → `Unknown` (nothing written); otherwise within the grace window, if
///    it is the most recently spent token and the session is live and
///    otherwise refreshable → `Duplicate` (nothing written); otherwise
///    → `Reused` (a live session is ended with [`EndReason::Reuse`]);
/// 3. the token is current: session ended → `Ended`; `now >= expires_at`
///    → `Expired`; `now >= last_used_at + idle_timeout` → `Idle`; session
///    version below `min_version` → `VersionBumped`; otherwise → `Rotated`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The presented token is spent, `next` is current (by this call).
    Rotated(SessionRecord),
    /// The same rotation presented again within the retry window (its
    /// answer was lost): `next` is current already; nothing written.
    Retried(SessionRecord),
    /// A racing duplicate within the grace window: nothing changed.
    Duplicate(SessionRecord),
    /// The presented token was already spent.
    Reused(SessionRecord),
    /// The session had ended (see its `ended`).
    Ended(SessionRecord),
    /// The session is past its absolute lifetime.
    Expired(SessionRecord),
    /// The session went unused longer than the idle timeout.
    Idle(SessionRecord),
    /// The subject's token version was bumped after the session started.
    VersionBumped(SessionRecord),
    /// No such session or token.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_reasons_round_trip_and_unknown_reads_as_revoked() {
        for reason in [
            EndReason::Logout,
            EndReason::LogoutAll,
            EndReason::Reuse,
            EndReason::Reauth,
            EndReason::Revoked,
        ] {
            assert_eq!(EndReason::parse(reason.as_str()), reason);
        }
        assert_eq!(EndReason::parse("banned-by-admin"), EndReason::Revoked);
    }
}
