//! What every session operation shares: store calls bounded in time and
//! measured, minting an access token, emitting events, mapping errors.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Instant;

use super::access_token::{AccessToken, TokenRequest};
use super::error::issue_error;
use super::error::{SessionError, SessionErrorKind};
use super::outcome::SessionEvent;
use super::sessions::Sessions;
use super::store::SessionRecord;
use crate::backend::StoreError;
use crate::observe::metrics;

impl Sessions {
    pub(super) fn mint(&self, session: &SessionRecord) -> Result<AccessToken, SessionError> {
        let mut request = TokenRequest::new(session.subject.as_str())
            .version(session.version)
            .session(session.sid.as_str())
            .claims(session.claims.clone());
        if let Some(jkt) = &session.dpop_jkt {
            request = request.bound_to(jkt.as_str());
        }
        self.inner.issuer.issue(&request).map_err(issue_error)
    }

    /// One store call, bounded by the store timeout.
    pub(super) async fn bounded<T, E>(
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
                let e = StoreError::Timeout(timeout);
                failed(&e);
                Err(SessionError::with_source(
                    SessionErrorKind::StoreUnavailable,
                    e,
                ))
            }
        }
    }

    pub(super) fn emit(&self, event: SessionEvent) {
        let name = event.name();
        let (sid, subject) = match &event {
            SessionEvent::LoggedIn { sid, subject }
            | SessionEvent::Refreshed { sid, subject }
            | SessionEvent::RetriedRefresh { sid, subject }
            | SessionEvent::DuplicateRefresh { sid, subject }
            | SessionEvent::ReuseDetected { sid, subject } => (Some(sid), Some(subject)),
            SessionEvent::LoggedOut { sid, subject } => (Some(sid), subject.as_ref()),
            SessionEvent::LoggedOutEverywhere { subject, .. }
            | SessionEvent::ReauthRequired { subject, .. } => (None, Some(subject)),
        };
        // Subjects are personal data: only with `log_subjects`.
        let subject = subject.filter(|_| self.inner.log_subjects);
        let sid = sid.map(String::as_str);
        let subject = subject.map(String::as_str);
        if matches!(event, SessionEvent::ReuseDetected { .. }) {
            tracing::warn!(
                event = name,
                sid,
                subject,
                "refresh token reuse detected: the session is revoked"
            );
        } else {
            match &event {
                SessionEvent::LoggedOutEverywhere {
                    sessions, version, ..
                } => tracing::info!(event = name, subject, sessions, version, "session event"),
                SessionEvent::ReauthRequired { sessions, .. } => {
                    tracing::info!(event = name, subject, sessions, "session event");
                }
                _ => tracing::info!(event = name, sid, subject, "session event"),
            }
        }
        if let Some(hook) = &self.inner.hook {
            hook(&event);
        }
    }
}
