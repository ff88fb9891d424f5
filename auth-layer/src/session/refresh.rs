//! [`Sessions::refresh`]: rotating a refresh token, and what each outcome means.

use super::error::{SessionError, SessionErrorKind, internal};
use super::outcome::{Refreshed, SessionEvent, TokenPair};
use super::sessions::{Sessions, system_time};
use super::store::{EndReason, RotateOutcome, Rotation};
use super::token::RefreshToken;
use crate::observe::metrics;

impl Sessions {
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
                "subject",
                inner
                    .revocation
                    .store()
                    .subject(inner.issuer.iss(), &session.subject),
            )
            .await?
            .version;
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
                let now = system_time(inner.issuer.now());
                self.bounded(
                    "revoke_session",
                    inner
                        .revocation
                        .revoke_session_at(inner.issuer.iss(), sid, now),
                )
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
}
