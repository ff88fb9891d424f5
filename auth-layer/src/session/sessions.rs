//! [`Sessions`]: login, rotating refresh, logout, logout everywhere.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::error::{SessionError, SessionErrorKind, internal, issue_error, to_claims};
use super::issuer::TokenIssuer;
use super::outcome::{SessionEvent, TokenPair};
use super::store::{EndReason, SessionRecord, SessionStore};
use super::token::{RefreshToken, SuccessorKey, new_session_id};
use crate::backend::BoxFuture;
use crate::revocation::RevocationCache;
use crate::verify::MAX_LEEWAY;

pub(super) type Hook = Arc<dyn Fn(&SessionEvent) + Send + Sync>;
/// The `on_refresh` hook: the session as stored → its new claims.
pub(super) type RefreshHook = Arc<
    dyn Fn(SessionRecord) -> BoxFuture<'static, Result<Option<Value>, SessionErrorKind>>
        + Send
        + Sync,
>;

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
    /// The session limits by use case.
    pub(super) policy: super::policy::SessionPolicy,
    /// The default idle timeout (seconds), for sessions stored without one.
    pub(super) idle: i64,
    pub(super) grace: i64,
    /// The retry window; 0 when off (then `successor` is `None`).
    pub(super) retry: i64,
    pub(super) successor: Option<SuccessorKey>,
    pub(super) timeout: Duration,
    pub(super) hook: Option<Hook>,
    pub(super) refresh_hook: Option<RefreshHook>,
    pub(super) log_subjects: bool,
}

impl Sessions {
    /// Starts a session for `subject` (already authenticated by you) whose
    /// access tokens carry `claims` (a JSON object, or `null` for none), and
    /// returns its first access and refresh tokens. Its tokens are bearer
    /// tokens; [`login_with_proof`](Self::login_with_proof) binds them to
    /// the client's DPoP key.
    ///
    /// # Errors
    /// `invalid_claims` (not an object, or a claim the issuer sets),
    /// `store_unavailable`, `internal_error`.
    pub async fn login(
        &self,
        subject: &str,
        claims: impl Serialize,
    ) -> Result<TokenPair, SessionError> {
        self.start(subject, claims, None, false).await
    }

    /// [`login`](Self::login) with options: "remember me" (the longer
    /// absolute lifetime the [policy](super::SessionsBuilder::policy) offers
    /// for these claims, if it offers one) and a DPoP proof to bind the
    /// session to (as [`login_with_proof`](Self::login_with_proof)).
    ///
    /// # Errors
    /// What [`login`](Self::login) answers.
    pub async fn login_with(
        &self,
        subject: &str,
        claims: impl Serialize,
        options: LoginOptions<'_>,
    ) -> Result<TokenPair, SessionError> {
        self.start(
            subject,
            claims,
            options.proof.map(crate::dpop::VerifiedProof::jkt),
            options.remember_me,
        )
        .await
    }

    /// [`login`](Self::login), the session bound to the DPoP key `dpop_jkt`
    /// when given.
    pub(super) async fn start(
        &self,
        subject: &str,
        claims: impl Serialize,
        dpop_jkt: Option<&str>,
        remember_me: bool,
    ) -> Result<TokenPair, SessionError> {
        let inner = &*self.inner;
        let claims = to_claims(claims)?;
        inner.issuer.check_claims(&claims).map_err(issue_error)?;
        let version = self
            .bounded(
                "subject",
                inner
                    .revocation
                    .store()
                    .subject(inner.issuer.iss(), subject),
            )
            .await?
            .version;
        let sid = new_session_id().map_err(internal)?;
        let refresh = RefreshToken::generate(&sid).map_err(internal)?;
        let now = inner.issuer.now();
        let limits = inner.policy.limits_for(&claims);
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let session = SessionRecord {
            sid,
            subject: subject.to_owned(),
            claims,
            version,
            created_at: now,
            expires_at: now.saturating_add(secs(limits.absolute_for(remember_me))),
            last_used_at: now,
            ended: None,
            dpop_jkt: dpop_jkt.map(str::to_owned),
            idle_timeout: Some(secs(limits.idle())),
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

    /// Ends the session `sid` and revokes it, so its access tokens stop
    /// passing the layer too. Returns whether the store knew the session.
    ///
    /// The revocation record is kept only while a token of the session can
    /// still pass: it may be forgotten once the longest access-token
    /// lifetime of the issuer's [`LifetimePolicy`](super::LifetimePolicy)
    /// plus the longest leeway a layer grants
    /// ([`MAX_LEEWAY`](crate::verify::MAX_LEEWAY)) have passed since the
    /// revocation (or since the session's absolute end, if earlier: no token
    /// is minted after it).
    ///
    /// # Errors
    /// `store_unavailable`.
    pub async fn logout(&self, sid: &str) -> Result<bool, SessionError> {
        let inner = &*self.inner;
        let now = inner.issuer.now();
        let ended = self
            .bounded("end", inner.store.end(sid, EndReason::Logout, now))
            .await?;
        self.revoke(sid, ended.as_ref(), now).await?;
        self.emit(SessionEvent::LoggedOut {
            sid: sid.to_owned(),
            subject: ended.as_ref().map(|s| s.subject.clone()),
        });
        Ok(ended.is_some())
    }

    /// Logs `subject` out everywhere: revokes it for this issuer (its
    /// version rises and its not-before becomes now, so every access token
    /// it holds stops passing the layer) and ends every session.
    /// Returns how many live sessions were ended.
    ///
    /// # Errors
    /// `store_unavailable`. Once the version is bumped no session of the
    /// subject can refresh, even if ending them failed.
    pub async fn logout_all(&self, subject: &str) -> Result<usize, SessionError> {
        let inner = &*self.inner;
        let now = inner.issuer.now();
        let version = self
            .bounded(
                "revoke_subject",
                inner
                    .revocation
                    .revoke_user_at(inner.issuer.iss(), subject, system_time(now)),
            )
            .await?
            .version;
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

    /// Revokes the session `sid` (as `session`, if the store knew it) at
    /// `now`, to be forgotten once none of its access tokens can pass.
    pub(super) async fn revoke(
        &self,
        sid: &str,
        session: Option<&SessionRecord>,
        now: i64,
    ) -> Result<(), SessionError> {
        let inner = &*self.inner;
        let last_minted = session.map_or(now, |s| s.expires_at.min(now));
        let lasts = inner
            .issuer
            .lifetimes()
            .longest()
            .saturating_add(MAX_LEEWAY)
            .as_secs();
        let forget_after = last_minted
            .saturating_add(i64::try_from(lasts).unwrap_or(i64::MAX))
            .saturating_add(1);
        self.bounded(
            "revoke_session",
            inner.revocation.revoke_session_until(
                inner.issuer.iss(),
                sid,
                system_time(now),
                forget_after,
            ),
        )
        .await
    }

    /// The issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// The revocation cache.
    pub fn revocation(&self) -> &RevocationCache {
        &self.inner.revocation
    }

    /// A layer builder that verifies these sessions' access tokens, wired
    /// from this configuration so that the two cannot disagree: the signing
    /// key's verifying half (pinned to its algorithm, named by its `kid`),
    /// the issuer and audiences, `typ` `at+jwt`, `sub`, `iat` and `jti`
    /// required, the version and session claim names, the issuer's clock
    /// and, above all, the revocation cache, without which logout and
    /// logout-everywhere would end sessions that the layer still lets
    /// through. Add what else the layer needs (token sources, DPoP, a
    /// resource, guards) before `build()`.
    ///
    /// ```
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?)
    ///     .issuer("https://auth.example")
    ///     .audience("orders-api")
    ///     .build()?;
    /// let sessions = Sessions::builder(issuer, store.clone(), RevocationCache::builder(store).build()?).build()?;
    /// let auth = sessions.jwt_auth().build()?;
    ///
    /// let pair = sessions.login("alice", serde_json::json!({ "roles": ["admin"] })).await?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", format!("Bearer {}", pair.access_token().as_str()).parse()?);
    /// let (get, uri) = (http::Method::GET, http::Uri::from_static("/me"));
    /// let token = auth.authenticate(&get, &headers, &uri).await?.expect("a token");
    /// assert_eq!(token.subject(), "alice");
    ///
    /// // Logout everywhere: the layer refuses the session's access token at once.
    /// sessions.logout_all("alice").await?;
    /// let refused = auth.authenticate(&get, &headers, &uri).await.unwrap_err();
    /// assert_eq!(refused.kind(), auth_layer::ErrorKind::Revoked);
    /// # Ok(()) }
    /// ```
    pub fn jwt_auth(&self) -> crate::JwtAuthBuilder {
        let issuer = &*self.inner.issuer.inner;
        self.verifying()
            .audiences(issuer.audiences.iter().cloned())
            .token_type("at+jwt")
            .version_claim(issuer.names.version.clone())
            .session_claim(issuer.names.session.clone())
            .revocation(self.inner.revocation.clone())
    }

    /// A layer's builder that verifies what the issuer signs: its key,
    /// `iss` and clock, with `sub`, `iat` and `jti` required.
    pub(super) fn verifying(&self) -> crate::JwtAuthBuilder {
        let issuer = &*self.inner.issuer.inner;
        let mut builder = crate::JwtAuth::builder();
        match issuer.key.verifying_key() {
            Ok(key) => builder = builder.key(key),
            Err(e) => builder.push_error(e),
        }
        if let Some(iss) = &issuer.issuer {
            builder = builder.issuer(iss.clone());
        }
        builder
            .required_claims(["sub", "iat", "jti"])
            .shared_clock(std::sync::Arc::clone(&issuer.clock))
    }
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Sessions")
            .field("issuer", &inner.issuer)
            .field("policy", &inner.policy)
            .field("reuse_grace_secs", &inner.grace)
            .field("retry_window_secs", &inner.retry)
            .field("log_subjects", &inner.log_subjects)
            .finish_non_exhaustive()
    }
}

/// The issuer's clock reading (Unix seconds) as a `SystemTime`.
pub(super) fn system_time(unix_seconds: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(unix_seconds).unwrap_or(0))
}

/// What a login asks for beyond its subject and claims; see
/// [`Sessions::login_with`].
///
/// ```
/// use auth_layer::session::LoginOptions;
///
/// let options = LoginOptions::new().remember_me(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginOptions<'a> {
    remember_me: bool,
    proof: Option<&'a crate::dpop::VerifiedProof>,
}

impl<'a> LoginOptions<'a> {
    /// A plain login: the usual lifetime, bearer tokens.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the user asked to be remembered ("keep me signed in").
    #[must_use]
    pub fn remember_me(mut self, remember_me: bool) -> Self {
        self.remember_me = remember_me;
        self
    }

    /// Binds the session to the key of this verified DPoP proof, when
    /// given.
    #[must_use]
    pub fn proof(mut self, proof: Option<&'a crate::dpop::VerifiedProof>) -> Self {
        self.proof = proof;
        self
    }
}
