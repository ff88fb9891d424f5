//! [`Sessions::refresh`]: rotating a refresh token, and what each outcome means.

use super::binding::binding;
use super::error::{SessionError, SessionErrorKind, internal, issue_error, to_claims};
use super::outcome::{Refreshed, SessionEvent, TokenPair};
use super::sessions::Sessions;
use super::store::{EndReason, RotateOutcome, Rotation, SessionRecord};
use super::token::RefreshToken;
use crate::observe::metrics;
use serde_json::{Map, Value};

impl Sessions {
    /// Rotates the presented refresh token: it is spent, and a new access
    /// and refresh token are returned ([`Refreshed::Rotated`]). Within the
    /// [retry window](super::SessionsBuilder::retry_window), the same token
    /// presented again (its answer was lost) gets the same new refresh token
    /// and a fresh access token. Within the grace window, a racing duplicate
    /// gets [`Refreshed::Duplicate`]: an access token, no refresh token.
    /// The [`on_refresh`](super::SessionsBuilder::on_refresh) hook, if any,
    /// decides the claims first.
    ///
    /// A session bound to a DPoP key (started with
    /// [`login_with_proof`](Self::login_with_proof)) refuses this call with
    /// `dpop_proof_required`: refresh it with
    /// [`refresh_with_proof`](Self::refresh_with_proof).
    ///
    /// # Errors
    /// `refresh_invalid` (nothing changed), `refresh_reused` (the session
    /// is now revoked), `session_expired`, `session_idle`,
    /// `reauth_required`, `session_revoked`, `store_unavailable`, what
    /// the `on_refresh` hook answers (`refresh_denied`, say; nothing
    /// changed), and `dpop_proof_required` for a bound session (nothing
    /// changed).
    pub async fn refresh(&self, presented: &str) -> Result<Refreshed, SessionError> {
        self.refresh_proven(presented, None, None).await
    }

    /// [`refresh`](Self::refresh) with the new access token's scope
    /// narrowed to `scope` (space-separated), as RFC 6749 section 6 lets a
    /// client ask: the session and its refresh tokens keep the scope they
    /// were granted, and the next refresh without a scope gets all of it
    /// again. A scope the session was not granted (its `scope` claim) is
    /// refused with `invalid_scope` before anything is spent.
    ///
    /// ```
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryStore::new();
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap()).build().unwrap();
    /// let revocation = RevocationCache::builder(store.clone()).build().unwrap();
    /// let sessions = Sessions::builder(issuer, store, revocation).build().unwrap();
    /// let auth = sessions.jwt_auth().build().unwrap();
    /// let pair = sessions.login("alice", json!({ "scope": "orders:read orders:write" })).await.unwrap();
    /// let narrowed = sessions.refresh_narrowed(pair.refresh_token().as_str(), "orders:read").await.unwrap();
    /// let token = auth.verifier().verify(narrowed.access_token().as_str()).unwrap();
    /// assert!(token.has_scope("orders:read") && !token.has_scope("orders:write"));
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of [`refresh`](Self::refresh), and `invalid_scope`.
    pub async fn refresh_narrowed(
        &self,
        presented: &str,
        scope: &str,
    ) -> Result<Refreshed, SessionError> {
        self.refresh_proven(presented, None, Some(scope)).await
    }

    /// [`refresh`](Self::refresh), with the thumbprint of the key of the
    /// verified DPoP proof that came with the request, if one did.
    pub(super) async fn refresh_proven(
        &self,
        presented: &str,
        proven: Option<&str>,
        scope: Option<&str>,
    ) -> Result<Refreshed, SessionError> {
        let span = tracing::debug_span!(target: "auth_layer", "refresh");
        let mut retried = false;
        let result = tracing::Instrument::instrument(
            self.rotate(presented, proven, scope, &mut retried),
            span,
        )
        .await;
        metrics::refresh(match &result {
            Ok(Refreshed::Rotated(_)) if retried => "retried",
            Ok(Refreshed::Rotated(_)) => "rotated",
            Ok(Refreshed::Duplicate { .. }) => "duplicate",
            Err(e) if e.kind() == SessionErrorKind::RefreshReused => "reuse_detected",
            Err(e) => e.code(),
        });
        result
    }

    async fn rotate(
        &self,
        presented: &str,
        proven: Option<&str>,
        scope: Option<&str>,
        retried: &mut bool,
    ) -> Result<Refreshed, SessionError> {
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
        // Before anything else, and outside the rotation: the binding never
        // changes, so a presenter without the key spends nothing and ends
        // nothing. It learns that the session is bound, before its token is
        // checked: what the session's access tokens (`cnf.jkt`) say anyway.
        if let Err(kind) = binding(&session, proven) {
            return refused(sid, kind);
        }
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
        let claims = match &inner.refresh_hook {
            None => None,
            // Application code, bounded like a store call.
            Some(hook) => match tokio::time::timeout(inner.timeout, hook(session.clone())).await {
                Ok(answer) => self.fresh_claims(answer, sid)?,
                Err(_) => {
                    tracing::warn!(%sid, "the on_refresh hook did not answer within the store timeout");
                    return Err(SessionError::new(SessionErrorKind::StoreUnavailable));
                }
            },
        };
        // Narrowed within what the new access token would grant: the
        // hook's claims when it answered, else the session's. Still before
        // anything is spent.
        let narrowed = match scope {
            None => None,
            Some(scope) => {
                match narrowed_scope(claims.as_ref().unwrap_or(&session.claims), scope) {
                    Some(scope) => Some(scope),
                    None => return refused(sid, SessionErrorKind::InvalidScope),
                }
            }
        };
        let next = match &inner.successor {
            Some(key) => token.successor(key),
            None => RefreshToken::generate(sid).map_err(internal)?,
        };
        let rotation = Rotation {
            sid,
            presented: token.hash(),
            next: next.hash(),
            now: inner.issuer.now(),
            idle_timeout: session.idle_timeout.unwrap_or(inner.idle),
            grace: inner.grace,
            retry: inner.retry,
            min_version: current,
            claims: claims.as_ref(),
        };
        // The hook's claims, even when the store answers a retry or a
        // duplicate without writing them.
        let with_claims = |mut session: SessionRecord| {
            if let Some(claims) = &claims {
                session.claims.clone_from(claims);
            }
            session
        };
        // The narrowed scope is the access token's only: the session keeps
        // what it was granted.
        let mint = |session: &SessionRecord| match &narrowed {
            None => self.mint(session),
            Some(scope) => {
                let mut narrowed = session.clone();
                // One claim says what the token grants: `scp` would grant
                // the rest again.
                narrowed.claims.remove("scp");
                narrowed
                    .claims
                    .insert("scope".to_owned(), scope.clone().into());
                self.mint(&narrowed)
            }
        };
        let refused = |kind: SessionErrorKind| refused(sid, kind);
        match self
            .bounded("rotate", inner.store.rotate(&rotation))
            .await?
        {
            RotateOutcome::Rotated(session) => {
                let session = with_claims(session);
                let access = mint(&session)?;
                self.emit(SessionEvent::Refreshed {
                    sid: session.sid.clone(),
                    subject: session.subject.clone(),
                });
                Ok(Refreshed::Rotated(TokenPair::new(access, next, session)))
            }
            RotateOutcome::Retried(session) => {
                let session = with_claims(session);
                let access = mint(&session)?;
                self.emit(SessionEvent::RetriedRefresh {
                    sid: session.sid.clone(),
                    subject: session.subject.clone(),
                });
                *retried = true;
                Ok(Refreshed::Rotated(TokenPair::new(access, next, session)))
            }
            RotateOutcome::Duplicate(session) => {
                let session = with_claims(session);
                let access = mint(&session)?;
                self.emit(SessionEvent::DuplicateRefresh {
                    sid: session.sid.clone(),
                    subject: session.subject.clone(),
                });
                Ok(Refreshed::Duplicate { access, session })
            }
            RotateOutcome::Reused(session) => {
                // Told first, so that a revocation that fails (503) still
                // raises the alarm; the revocation is idempotent, and the
                // next attempt repairs it.
                self.emit(SessionEvent::ReuseDetected {
                    sid: session.sid.clone(),
                    subject: session.subject.clone(),
                });
                self.revoke(sid, Some(&session), inner.issuer.now()).await?;
                Err(SessionError::new(SessionErrorKind::RefreshReused))
            }
            RotateOutcome::Ended(session) => refused(match session.ended {
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

/// `requested` (space-separated) when every scope in it is granted by
/// `claims` (`scope` and `scp`, each a space-separated string or an array
/// of strings, as the layer reads them), in the order asked and each once;
/// `None` when one is not, or when it names none.
fn narrowed_scope(claims: &Map<String, Value>, requested: &str) -> Option<String> {
    let granted = |scope: &str| {
        ["scope", "scp"].iter().any(|name| match claims.get(*name) {
            Some(Value::String(s)) => s.split(' ').any(|g| g == scope),
            Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(scope)),
            _ => false,
        })
    };
    let mut narrowed: Vec<&str> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted(scope) {
            return None;
        }
        if !narrowed.contains(&scope) {
            narrowed.push(scope);
        }
    }
    (!narrowed.is_empty()).then(|| narrowed.join(" "))
}

fn refused<T>(sid: &str, kind: SessionErrorKind) -> Result<T, SessionError> {
    tracing::debug!(%sid, reason = kind.code(), "refresh refused");
    Err(SessionError::new(kind))
}

impl Sessions {
    /// The claims an `on_refresh` hook answered, checked as at login.
    fn fresh_claims(
        &self,
        answer: Result<Option<serde_json::Value>, SessionErrorKind>,
        sid: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, SessionError> {
        match answer {
            Err(kind) => refused(sid, kind),
            Ok(None) => Ok(None),
            Ok(Some(value)) => {
                let claims = to_claims(value)?;
                self.inner
                    .issuer
                    .check_claims(&claims)
                    .map_err(issue_error)?;
                Ok(Some(claims))
            }
        }
    }
}
