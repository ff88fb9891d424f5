//! [`Sessions`]: login, rotating refresh, logout, logout everywhere.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::access_token::{AccessToken, TokenRequest};
use super::builder::SessionsBuilder;
use super::error::{SessionError, SessionErrorKind};
use super::issuer::{IssueError, TokenIssuer};
use super::outcome::{Refreshed, SessionEvent, TokenPair};
use super::token::{RefreshToken, new_session_id};
use super::{EndReason, RotateOutcome, Rotation, SessionRecord, SessionStore, SessionStoreError};
use crate::observe::metrics;
use crate::revocation::RevocationCache;

pub(super) type Hook = Arc<dyn Fn(&SessionEvent) + Send + Sync>;

/// Sessions and rotating refresh tokens: a [`TokenIssuer`], a
/// [`SessionStore`] and the [`RevocationCache`] the layer checks, composed.
/// Cheap to clone. See the [module docs](super) for the rules and an example.
///
/// The revocation side: [`login`](Self::login) reads the subject's current
/// token version from the revocation store and puts it in every access
/// token of the session (`ver`); a refresh is refused once that version was
/// bumped; a reused refresh token and [`logout`](Self::logout) revoke the
/// session's `sid`; [`logout_all`](Self::logout_all) bumps the version.
#[derive(Clone)]
pub struct Sessions {
    pub(super) inner: Arc<Inner>,
}

/// The configuration, checked by [`SessionsBuilder::build`]; durations in seconds.
pub(super) struct Inner {
    pub(super) issuer: TokenIssuer,
    pub(super) store: Arc<dyn SessionStore>,
    pub(super) revocation: RevocationCache,
    pub(super) lifetime: i64,
    pub(super) idle: i64,
    pub(super) grace: i64,
    pub(super) timeout: Duration,
    pub(super) hook: Option<Hook>,
}

impl Sessions {
    /// Starts a configuration; the defaults are a 7-day absolute lifetime,
    /// a 24-hour idle timeout and no reuse grace window.
    pub fn builder(
        issuer: TokenIssuer,
        store: impl SessionStore,
        revocation: RevocationCache,
    ) -> SessionsBuilder {
        SessionsBuilder::new(issuer, Arc::new(store), revocation)
    }

    /// Starts a session for `subject` (already authenticated by you) whose
    /// access tokens carry `claims` (a JSON object, or `null` for none), and
    /// returns its first access and refresh tokens.
    ///
    /// # Errors
    /// `invalid_claims` (not an object, or a claim the issuer sets),
    /// `store_unavailable`, `internal_error`.
    pub async fn login(
        &self,
        subject: &str,
        claims: impl Serialize,
    ) -> Result<TokenPair, SessionError> {
        let inner = &*self.inner;
        let claims = to_claims(claims)?;
        inner.issuer.check_claims(&claims).map_err(issue_error)?;
        let version = self
            .bounded(
                "user_version",
                inner.revocation.store().user_version(subject),
            )
            .await?;
        let sid = new_session_id().map_err(internal)?;
        let refresh = RefreshToken::generate(&sid).map_err(internal)?;
        let now = inner.issuer.now();
        let session = SessionRecord {
            sid,
            subject: subject.to_owned(),
            claims,
            version,
            created_at: now,
            expires_at: now.saturating_add(inner.lifetime),
            last_used_at: now,
            ended: None,
        };
        let access = self.mint(&session)?;
        self.bounded("create", inner.store.create(&session, refresh.hash()))
            .await?;
        self.emit(SessionEvent::LoggedIn {
            sid: session.sid.clone(),
            subject: session.subject.clone(),
        });
        Ok(TokenPair::new(access, refresh, session))
    }

    /// Rotates the presented refresh token: it is spent, and a new access
    /// and refresh token are returned ([`Refreshed::Rotated`]). Within the
    /// grace window, a racing duplicate gets [`Refreshed::Duplicate`]: an
    /// access token, no refresh token.
    ///
    /// # Errors
    /// `refresh_invalid` (nothing changed), `refresh_reused` (the session
    /// is now revoked), `session_expired`, `session_idle`,
    /// `reauth_required`, `session_revoked`, `store_unavailable`.
    pub async fn refresh(&self, presented: &str) -> Result<Refreshed, SessionError> {
        let span = tracing::debug_span!(target: "auth_layer", "refresh");
        let result = tracing::Instrument::instrument(self.rotate(presented), span).await;
        metrics::refresh(match &result {
            Ok(Refreshed::Rotated(_)) => "rotated",
            Ok(Refreshed::Duplicate { .. }) => "duplicate",
            Err(e) if e.kind() == SessionErrorKind::RefreshReused => "reuse_detected",
            Err(e) => e.code(),
        });
        result
    }

    async fn rotate(&self, presented: &str) -> Result<Refreshed, SessionError> {
        let inner = &*self.inner;
        let Some(token) = RefreshToken::parse(presented) else {
            tracing::debug!("refresh refused: not a refresh token");
            return Err(SessionError::new(SessionErrorKind::RefreshInvalid));
        };
        let sid = token.session_id();
        let Some(session) = self.bounded("session", inner.store.session(sid)).await? else {
            tracing::debug!("refresh refused: no such session");
            return Err(SessionError::new(SessionErrorKind::RefreshInvalid));
        };
        let current = self
            .bounded(
                "user_version",
                inner.revocation.store().user_version(&session.subject),
            )
            .await?;
        let next = RefreshToken::generate(sid).map_err(internal)?;
        let rotation = Rotation {
            sid,
            presented: token.hash(),
            next: next.hash(),
            now: inner.issuer.now(),
            idle_timeout: inner.idle,
            grace: inner.grace,
            min_version: current,
        };
        let refused = |kind: SessionErrorKind| {
            tracing::debug!(%sid, reason = kind.code(), "refresh refused");
            Err(SessionError::new(kind))
        };
        match self
            .bounded("rotate", inner.store.rotate(&rotation))
            .await?
        {
            RotateOutcome::Rotated(session) => {
                let access = self.mint(&session)?;
                self.emit(SessionEvent::Refreshed {
                    sid: session.sid.clone(),
                    subject: session.subject.clone(),
                });
                Ok(Refreshed::Rotated(TokenPair::new(access, next, session)))
            }
            RotateOutcome::Duplicate(session) => {
                let access = self.mint(&session)?;
                self.emit(SessionEvent::DuplicateRefresh {
                    sid: session.sid.clone(),
                    subject: session.subject.clone(),
                });
                Ok(Refreshed::Duplicate { access, session })
            }
            RotateOutcome::Reused(session) => {
                // Idempotent, so a failure here is repaired by the next attempt.
                self.bounded("revoke_session", inner.revocation.revoke_session(sid))
                    .await?;
                self.emit(SessionEvent::ReuseDetected {
                    sid: session.sid,
                    subject: session.subject,
                });
                Err(SessionError::new(SessionErrorKind::RefreshReused))
            }
            RotateOutcome::Ended(session) => refused(match session.ended {
                Some(EndReason::Reuse) => SessionErrorKind::RefreshReused,
                Some(EndReason::LogoutAll | EndReason::Reauth) => SessionErrorKind::ReauthRequired,
                _ => SessionErrorKind::SessionRevoked,
            }),
            RotateOutcome::Expired(_) => refused(SessionErrorKind::SessionExpired),
            RotateOutcome::Idle(_) => refused(SessionErrorKind::SessionIdle),
            RotateOutcome::VersionBumped(_) => refused(SessionErrorKind::ReauthRequired),
            RotateOutcome::Unknown => refused(SessionErrorKind::RefreshInvalid),
        }
    }

    /// Ends the session `sid` and revokes it, so its access tokens stop
    /// passing the layer too. Returns whether the store knew the session.
    ///
    /// # Errors
    /// `store_unavailable`.
    pub async fn logout(&self, sid: &str) -> Result<bool, SessionError> {
        let inner = &*self.inner;
        let now = inner.issuer.now();
        let ended = self
            .bounded("end", inner.store.end(sid, EndReason::Logout, now))
            .await?;
        self.bounded("revoke_session", inner.revocation.revoke_session(sid))
            .await?;
        self.emit(SessionEvent::LoggedOut {
            sid: sid.to_owned(),
            subject: ended.as_ref().map(|s| s.subject.clone()),
        });
        Ok(ended.is_some())
    }

    /// Logs `subject` out everywhere: bumps its token version (every access
    /// token it holds stops passing the layer) and ends every session.
    /// Returns how many live sessions were ended.
    ///
    /// # Errors
    /// `store_unavailable`. Once the version is bumped no session of the
    /// subject can refresh, even if ending them failed.
    pub async fn logout_all(&self, subject: &str) -> Result<usize, SessionError> {
        let inner = &*self.inner;
        let version = self
            .bounded(
                "bump_user_version",
                inner.revocation.bump_user_version(subject),
            )
            .await?;
        let now = inner.issuer.now();
        let ended = self
            .bounded(
                "end_all",
                inner.store.end_all(subject, EndReason::LogoutAll, now),
            )
            .await?;
        self.emit(SessionEvent::LoggedOutEverywhere {
            subject: subject.to_owned(),
            sessions: ended.len(),
            version,
        });
        Ok(ended.len())
    }

    /// Flags `subject` as having to authenticate again: every session ends,
    /// and refreshing answers `reauth_required`. Access tokens already
    /// issued run out by themselves (use [`logout_all`](Self::logout_all)
    /// to cut them off too). Returns how many live sessions were ended.
    ///
    /// # Errors
    /// `store_unavailable`.
    pub async fn require_reauth(&self, subject: &str) -> Result<usize, SessionError> {
        let inner = &*self.inner;
        let now = inner.issuer.now();
        let ended = self
            .bounded(
                "end_all",
                inner.store.end_all(subject, EndReason::Reauth, now),
            )
            .await?;
        self.emit(SessionEvent::ReauthRequired {
            subject: subject.to_owned(),
            sessions: ended.len(),
        });
        Ok(ended.len())
    }

    /// The session `sid` as stored, if it is.
    ///
    /// # Errors
    /// `store_unavailable`.
    pub async fn session(&self, sid: &str) -> Result<Option<SessionRecord>, SessionError> {
        self.bounded("session", self.inner.store.session(sid)).await
    }

    /// The issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// The revocation cache.
    pub fn revocation(&self) -> &RevocationCache {
        &self.inner.revocation
    }

    fn mint(&self, session: &SessionRecord) -> Result<AccessToken, SessionError> {
        let request = TokenRequest::new(session.subject.as_str())
            .version(session.version)
            .session(session.sid.as_str())
            .claims(session.claims.clone());
        self.inner.issuer.issue(&request).map_err(issue_error)
    }

    /// One store call, bounded by the store timeout.
    async fn bounded<T, E>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, SessionError>
    where
        E: StdError + Send + Sync + 'static,
    {
        let timeout = self.inner.timeout;
        let failed = |e: &dyn StdError| {
            tracing::warn!(error = %e, "session operation failed: store unavailable");
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(timeout, call).await;
        let error = match &answer {
            Ok(Ok(_)) => None,
            Ok(Err(_)) => Some("unavailable"),
            Err(_) => Some("timeout"),
        };
        metrics::store_call("session", op, started.elapsed(), error);
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                failed(&e);
                Err(SessionError::with_source(
                    SessionErrorKind::StoreUnavailable,
                    e,
                ))
            }
            Err(_) => {
                let e = SessionStoreError::Timeout(timeout);
                failed(&e);
                Err(SessionError::with_source(
                    SessionErrorKind::StoreUnavailable,
                    e,
                ))
            }
        }
    }

    fn emit(&self, event: SessionEvent) {
        if let SessionEvent::ReuseDetected { sid, subject } = &event {
            tracing::warn!(
                event = event.name(),
                %sid,
                %subject,
                "refresh token reuse detected: the session is revoked"
            );
        } else {
            tracing::info!(event = event.name(), details = ?event, "session event");
        }
        if let Some(hook) = &self.inner.hook {
            hook(&event);
        }
    }
}

fn to_claims(claims: impl Serialize) -> Result<Map<String, Value>, SessionError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(issue_error(IssueError::NotAnObject)),
        Err(e) => Err(SessionError::with_source(
            SessionErrorKind::InvalidClaims,
            e,
        )),
    }
}

fn issue_error(e: IssueError) -> SessionError {
    let kind = match e {
        IssueError::ReservedClaim(_) | IssueError::NotAnObject => SessionErrorKind::InvalidClaims,
        _ => SessionErrorKind::Internal,
    };
    SessionError::with_source(kind, e)
}

fn internal(e: getrandom::Error) -> SessionError {
    issue_error(IssueError::Random(e))
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Sessions")
            .field("issuer", &inner.issuer)
            .field("absolute_lifetime_secs", &inner.lifetime)
            .field("idle_timeout_secs", &inner.idle)
            .field("reuse_grace_secs", &inner.grace)
            .finish_non_exhaustive()
    }
}
