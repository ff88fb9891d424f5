//! What the layer decides for a request: everything that needs no waiting
//! (token source, verification, the revocation caches), and the store round
//! trip when a revocation cache has no answer.

use std::net::IpAddr;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Uri};
use serde::de::DeserializeOwned;

use crate::backend::BoxFuture;
use crate::claims::VerifiedToken;
use crate::error::AuthError;
use crate::layer::{JwtAuth, Shared};
use crate::observe::metrics;
use crate::revocation::Probe;
use crate::source;

/// What the layer decides without waiting.
pub(crate) enum Decision<C> {
    /// Let through, with the token or unauthenticated (optional mode).
    Pass(Option<VerifiedToken<C>>),
    /// Answer with this error.
    Reject(AuthError),
    /// Verified, but the revocation caches missed: ask the store.
    Check(VerifiedToken<C>),
    /// The token's `kid` is unknown and a key fetch is under way: verify
    /// again when it completes (bounded), then decide as usual. Resolves to
    /// the token to hand to the handler; every outcome is reported.
    #[cfg_attr(
        not(feature = "jwks"),
        expect(dead_code, reason = "only key sources fetch")
    )]
    Refetch(BoxFuture<'static, Result<VerifiedToken<C>, AuthError>>),
}

impl<C, R> JwtAuth<C, R> {
    /// What the layer decides for a request with these headers and URI:
    /// `Ok(Some(token))` to pass with claims, `Ok(None)` to pass
    /// unauthenticated (optional mode, no token), `Err` to reject. Asks the
    /// revocation store only when its cache has no answer. Framework
    /// adapters call this; they never verify on their own.
    ///
    /// # Errors
    /// Why the request must be rejected.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Option<VerifiedToken<C>>, AuthError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        self.authenticate_request(headers, uri, &Extensions::new())
            .await
    }

    /// [`authenticate`](Self::authenticate), with the request's extensions,
    /// where the audit hook finds the client's address (see
    /// [`JwtAuthBuilder::client_addr`](crate::JwtAuthBuilder::client_addr)): adapters put the peer's
    /// `SocketAddr` there.
    ///
    /// # Errors
    /// Why the request must be rejected.
    pub async fn authenticate_request(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        extensions: &Extensions,
    ) -> Result<Option<VerifiedToken<C>>, AuthError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let client = self.shared.observer.client_addr(headers, extensions);
        match self.decide(headers, uri, client) {
            Decision::Pass(token) => Ok(token),
            Decision::Reject(e) => Err(e),
            Decision::Check(token) => self
                .check_revocation(token.clone(), client)
                .await
                .map(|()| Some(token)),
            Decision::Refetch(verdict) => verdict.await.map(Some),
        }
    }

    /// What a framework adapter leaves in a request the layer let through,
    /// so that guards after it report their refusals to this layer's audit
    /// hook (see [`Reporter`](crate::observe::Reporter)); `None` when the
    /// layer has no audit hook and does not log subjects.
    pub fn reporter(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<crate::observe::Reporter> {
        let client = self.client_addr(headers, extensions);
        self.shared.observer.reporter(client)
    }

    /// The client address the audit hook is given; `None` without a hook.
    pub(crate) fn client_addr(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<IpAddr> {
        self.shared.observer.client_addr(headers, extensions)
    }

    /// Everything that can be decided without waiting. Every outcome but
    /// `Check` is reported here; `Check`'s by [`check_revocation`](Self::check_revocation).
    pub(crate) fn decide(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        client: Option<IpAddr>,
    ) -> Decision<C>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let shared = &*self.shared;
        let token = match source::find(&shared.sources, headers, uri) {
            Ok(Some(token)) => match shared.verifier.verify(token) {
                #[cfg(feature = "jwks")]
                Err(e) if e.pending_fetch().is_some() => {
                    return Decision::Refetch(self.after_fetch(e, token, client));
                }
                verified => verified,
            },
            Ok(None) if shared.optional => {
                shared.observer.anonymous(client);
                return Decision::Pass(None);
            }
            Ok(None) => Err(AuthError::missing()),
            Err(e) => Err(e),
        };
        settle(shared, token, client)
    }

    /// Waits for the key fetch that `error` names, verifies `token` again
    /// (an unknown `kid` is then final) and decides as usual.
    #[cfg(feature = "jwks")]
    fn after_fetch(
        &self,
        error: AuthError,
        token: &str,
        client: Option<IpAddr>,
    ) -> BoxFuture<'static, Result<VerifiedToken<C>, AuthError>>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let token = token.to_owned();
        Box::pin(async move {
            if let Some(pending) = error.pending_fetch() {
                pending.wait().await;
            }
            let verified = shared.verifier.verify(&token);
            match settle(&shared, verified, client) {
                Decision::Pass(Some(token)) => Ok(token),
                Decision::Reject(e) => Err(e),
                Decision::Check(token) => {
                    revocation_check(Arc::clone(&shared), token.clone(), client)
                        .await
                        .map(|()| token)
                }
                // Neither comes out of `settle`.
                Decision::Pass(None) | Decision::Refetch(_) => Err(error),
            }
        })
    }

    /// The store round trip for a token the revocation caches missed, and
    /// the report of its outcome.
    pub(crate) fn check_revocation(
        &self,
        token: VerifiedToken<C>,
        client: Option<IpAddr>,
    ) -> BoxFuture<'static, Result<(), AuthError>>
    where
        C: Send + Sync + 'static,
    {
        revocation_check(Arc::clone(&self.shared), token, client)
    }
}

/// The store round trip for a token the revocation caches missed, in its
/// span, and the report of its outcome.
fn revocation_check<C: Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    token: VerifiedToken<C>,
    client: Option<IpAddr>,
) -> BoxFuture<'static, Result<(), AuthError>> {
    let span = tracing::debug_span!(target: "auth_layer", "revocation_check");
    Box::pin(tracing::Instrument::instrument(
        async move {
            let result = match &shared.revocation {
                Some(revocation) => revocation.check(token.facts()).await,
                None => Ok(()),
            };
            match &result {
                Ok(()) => shared.observer.allowed(&token, client),
                Err(e) => shared.observer.rejected(e, Some(&token), client),
            }
            result
        },
        span,
    ))
}

/// Everything after verification that needs no waiting: the revocation
/// caches. Every outcome but `Check` is reported here.
fn settle<C>(
    shared: &Shared<C>,
    token: Result<VerifiedToken<C>, AuthError>,
    client: Option<IpAddr>,
) -> Decision<C> {
    let observer = &shared.observer;
    let token = match token {
        Ok(token) => token,
        Err(e) => {
            observer.rejected::<C>(&e, None, client);
            return Decision::Reject(e);
        }
    };
    let Some(revocation) = &shared.revocation else {
        observer.allowed(&token, client);
        return Decision::Pass(Some(token));
    };
    match revocation.probe(&token.facts()) {
        Probe::Pass => {
            metrics::revocation_cache(true);
            observer.allowed(&token, client);
            Decision::Pass(Some(token))
        }
        Probe::Reject(e) => {
            metrics::revocation_cache(true);
            observer.rejected(&e, Some(&token), client);
            Decision::Reject(e)
        }
        Probe::Miss => {
            metrics::revocation_cache(false);
            Decision::Check(token)
        }
    }
}
