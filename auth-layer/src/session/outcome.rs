//! What [`Sessions`](super::Sessions) hands back: token pairs, refresh
//! results and events.

use super::access_token::AccessToken;
use super::store::SessionRecord;
use super::token::RefreshToken;

/// An access token and the refresh token that replaces it, with the session
/// they belong to. `Debug` redacts both tokens.
#[derive(Debug, Clone)]
pub struct TokenPair {
    access: AccessToken,
    refresh: RefreshToken,
    session: SessionRecord,
}

impl TokenPair {
    pub(crate) fn new(access: AccessToken, refresh: RefreshToken, session: SessionRecord) -> Self {
        Self {
            access,
            refresh,
            session,
        }
    }

    /// The access token, for `Authorization: Bearer`.
    pub fn access_token(&self) -> &AccessToken {
        &self.access
    }

    /// The refresh token, for the client to keep (an `HttpOnly` cookie).
    pub fn refresh_token(&self) -> &RefreshToken {
        &self.refresh
    }

    /// The session id (`sid`).
    pub fn session_id(&self) -> &str {
        &self.session.sid
    }

    /// The session as stored, e.g. its `expires_at` for a cookie's `Max-Age`.
    pub fn session(&self) -> &SessionRecord {
        &self.session
    }

    /// The two tokens.
    pub fn into_tokens(self) -> (AccessToken, RefreshToken) {
        (self.access, self.refresh)
    }
}

/// A successful refresh.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Refreshed {
    /// The presented token is spent; use the new pair.
    Rotated(TokenPair),
    /// A racing duplicate within the grace window: a new access token, no
    /// refresh token. Keep the refresh token the winning request received
    /// (a browser's cookie jar already has it).
    Duplicate {
        /// The new access token.
        access: AccessToken,
        /// The session.
        session: SessionRecord,
    },
}

impl Refreshed {
    /// The new access token.
    pub fn access_token(&self) -> &AccessToken {
        match self {
            Self::Rotated(pair) => pair.access_token(),
            Self::Duplicate { access, .. } => access,
        }
    }

    /// The new refresh token; `None` for a duplicate.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        match self {
            Self::Rotated(pair) => Some(pair.refresh_token()),
            Self::Duplicate { .. } => None,
        }
    }

    /// The session.
    pub fn session(&self) -> &SessionRecord {
        match self {
            Self::Rotated(pair) => pair.session(),
            Self::Duplicate { session, .. } => session,
        }
    }

    /// The new pair; `None` for a duplicate.
    pub fn into_pair(self) -> Option<TokenPair> {
        match self {
            Self::Rotated(pair) => Some(pair),
            Self::Duplicate { .. } => None,
        }
    }
}

/// Something that happened to a session, for audit logs and alerts. Every
/// event is logged through `tracing` (reuse at `WARN`, the rest at `INFO`,
/// with an `event` field holding [`name`](Self::name)) and passed to the
/// hook set with [`SessionsBuilder::on_event`](super::SessionsBuilder::on_event).
/// Events never carry a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// `logged_in`: a session started.
    LoggedIn {
        /// The session.
        sid: String,
        /// Its subject.
        subject: String,
    },
    /// `refreshed`: a refresh token was rotated.
    Refreshed {
        /// The session.
        sid: String,
        /// Its subject.
        subject: String,
    },
    /// `retried_refresh`: the token a rotation had just spent was presented
    /// again within the retry window (its answer was lost, or tabs raced):
    /// answered with the same new refresh token. Frequent ones for one
    /// session are worth a look: a thief within the window looks the same.
    RetriedRefresh {
        /// The session.
        sid: String,
        /// Its subject.
        subject: String,
    },
    /// `duplicate_refresh`: a racing duplicate was answered in the grace window.
    DuplicateRefresh {
        /// The session.
        sid: String,
        /// Its subject.
        subject: String,
    },
    /// `reuse_detected`: a spent refresh token was presented; the session
    /// is revoked.
    ReuseDetected {
        /// The session.
        sid: String,
        /// Its subject.
        subject: String,
    },
    /// `logged_out`: one session ended.
    LoggedOut {
        /// The session.
        sid: String,
        /// Its subject, if the store still knew the session.
        subject: Option<String>,
    },
    /// `logged_out_everywhere`: the subject's version was bumped and every
    /// session ended.
    LoggedOutEverywhere {
        /// The subject.
        subject: String,
        /// Live sessions ended.
        sessions: usize,
        /// The subject's new token version.
        version: u64,
    },
    /// `reauth_required`: the subject must authenticate again.
    ReauthRequired {
        /// The subject.
        subject: String,
        /// Live sessions ended.
        sessions: usize,
    },
}

impl SessionEvent {
    /// The event's stable name, e.g. `reuse_detected`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LoggedIn { .. } => "logged_in",
            Self::Refreshed { .. } => "refreshed",
            Self::RetriedRefresh { .. } => "retried_refresh",
            Self::DuplicateRefresh { .. } => "duplicate_refresh",
            Self::ReuseDetected { .. } => "reuse_detected",
            Self::LoggedOut { .. } => "logged_out",
            Self::LoggedOutEverywhere { .. } => "logged_out_everywhere",
            Self::ReauthRequired { .. } => "reauth_required",
        }
    }
}
