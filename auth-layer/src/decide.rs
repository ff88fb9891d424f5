//! What the layer decides for a request: everything that needs no waiting
//! (token source, verification, the revocation caches), and the store round
//! trip when a revocation cache has no answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Extensions, HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;

use crate::backend::BoxFuture;
use crate::claims::VerifiedToken;
use crate::dpop::{DpopMode, ProofRequest};
use crate::error::AuthError;
use crate::layer::{JwtAuth, Shared};
use crate::observe::metrics;
use crate::revocation::Probe;
use crate::source::{self, Found, Scheme};

/// What the layer decides without waiting.
pub(crate) enum Decision<C> {
    /// Let through, with the token or unauthenticated (optional mode).
    Pass(Option<VerifiedToken<C>>),
    /// Answer with this error.
    Reject(AuthError),
    /// Verified, but the revocation caches missed: ask the store.
    Check(VerifiedToken<C>),
    /// Something must be awaited before the token is known good: the key
    /// fetch an unknown `kid` caused (then the token is verified again), or
    /// the shared store that records DPoP proofs; then the layer decides as
    /// usual. Resolves to the token to hand to the handler; every outcome is
    /// reported.
    Wait(BoxFuture<'static, Result<VerifiedToken<C>, AuthError>>),
}

impl<C, R> JwtAuth<C, R> {
    /// What the layer decides for a request with this method, headers and
    /// URI (the method and URI are what a DPoP proof speaks for):
    /// `Ok(Some(token))` to pass with claims, `Ok(None)` to pass
    /// unauthenticated (optional mode, no token), `Err` to reject. Asks the
    /// revocation store only when its cache has no answer. Framework
    /// adapters call this; they never verify on their own.
    ///
    /// # Errors
    /// Why the request must be rejected.
    pub async fn authenticate(
        &self,
        method: &Method,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Option<VerifiedToken<C>>, AuthError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        self.authenticate_request(method, headers, uri, &Extensions::new())
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
        method: &Method,
        headers: &HeaderMap,
        uri: &Uri,
        extensions: &Extensions,
    ) -> Result<Option<VerifiedToken<C>>, AuthError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let client = self.shared.observer.client_addr(headers, extensions);
        match self.decide(method, headers, uri, client) {
            Decision::Pass(token) => Ok(token),
            Decision::Reject(e) => Err(e),
            Decision::Check(token) => self
                .check_revocation(token.clone(), client)
                .await
                .map(|()| Some(token)),
            Decision::Wait(verdict) => verdict.await.map(Some),
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
        method: &Method,
        headers: &HeaderMap,
        uri: &Uri,
        client: Option<IpAddr>,
    ) -> Decision<C>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let shared = &*self.shared;
        let found = match source::find(&shared.sources, headers, uri, shared.dpop.is_some()) {
            Ok(Some(found)) => found,
            Ok(None) if shared.optional => {
                shared.observer.anonymous(client);
                return Decision::Pass(None);
            }
            Ok(None) => return settle(shared, Err(AuthError::missing()), client),
            Err(e) => return settle(shared, Err(e), client),
        };
        let verified = match shared.verifier.verify_any(found.token) {
            #[cfg(feature = "jwks")]
            Err(e) if e.pending_fetch().is_some() => {
                let request = OwnedRequest::new(method, headers, uri, found);
                return Decision::Wait(after_fetch(Arc::clone(&self.shared), e, request, client));
            }
            Err(e) => return settle(shared, Err(e), client),
            Ok(verified) => verified,
        };
        match bind(shared, verified, found, method, headers, uri) {
            Ok(Bound::Ready(token)) => settle(shared, Ok(token), client),
            Ok(Bound::Shared(token, proof)) => {
                Decision::Wait(shared_proof(Arc::clone(&self.shared), token, proof, client))
            }
            Err((e, token)) => {
                shared.observer.rejected(&e, Some(&token), client);
                Decision::Reject(e)
            }
        }
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

/// A verified token, bound to the request's DPoP proof where it must be.
enum Bound<C> {
    /// No proof needed, or the proof checked.
    Ready(VerifiedToken<C>),
    /// The proof passed every check but the shared store's, still to ask.
    Shared(VerifiedToken<C>, OwnedProof),
}

/// A proof to record in the shared store, and the request it speaks for.
struct OwnedProof {
    proof: String,
    method: String,
    htu: String,
    token: String,
    jkt: String,
}

/// What RFC 9449 section 7 asks of a verified token and its request: a
/// bound token only as `Authorization: DPoP` with a proof by its key, the
/// `DPoP` scheme only with a bound token, and (in required mode) no bearer
/// tokens. Without DPoP configured, a bound token is refused.
fn bind<C>(
    shared: &Shared<C>,
    token: VerifiedToken<C>,
    found: Found<'_>,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Bound<C>, (AuthError, VerifiedToken<C>)> {
    let jkt = token.registered().cnf_jkt();
    let Some(dpop) = &shared.dpop else {
        return match jkt {
            Some(_) => Err((AuthError::key_bound(), token)),
            None => Ok(Bound::Ready(token)),
        };
    };
    let Some(jkt) = jkt else {
        return match (found.scheme, dpop.mode) {
            (Scheme::Dpop, _) => Err((
                AuthError::new(
                    crate::ErrorKind::DpopTokenNotBound,
                    "the token is not bound to a DPoP key: send it as a Bearer token",
                ),
                token,
            )),
            (_, DpopMode::Required) => Err((
                AuthError::new(
                    crate::ErrorKind::DpopRequired,
                    "this resource requires a DPoP-bound token and its proof",
                ),
                token,
            )),
            (_, _) => Ok(Bound::Ready(token)),
        };
    };
    if found.scheme != Scheme::Dpop {
        return Err((AuthError::key_bound(), token));
    }
    let proof = match crate::dpop::proof_header(headers) {
        Ok(proof) => proof,
        Err(e) => return Err((e.into(), token)),
    };
    let htu = match dpop.htu(uri, headers) {
        Ok(htu) => htu,
        Err(e) => return Err((e.into(), token)),
    };
    let access_token = match crate::verify::text(found.token) {
        Ok(access_token) => access_token,
        Err(e) => return Err((e, token)),
    };
    if dpop.verifier.is_shared() {
        let proof = OwnedProof {
            proof: proof.to_owned(),
            method: method.as_str().to_owned(),
            htu,
            token: access_token.to_owned(),
            jkt: jkt.to_owned(),
        };
        return Ok(Bound::Shared(token, proof));
    }
    let request = ProofRequest::new(method.as_str(), &htu)
        .access_token(access_token)
        .bound_to(jkt);
    match dpop.verifier.verify(proof, &request) {
        Ok(_) => Ok(Bound::Ready(token)),
        Err(e) => Err((e.into(), token)),
    }
}

/// Records the proof in the shared store, then decides as usual.
fn shared_proof<C: Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    token: VerifiedToken<C>,
    proof: OwnedProof,
    client: Option<IpAddr>,
) -> BoxFuture<'static, Result<VerifiedToken<C>, AuthError>> {
    Box::pin(async move {
        if let Some(dpop) = &shared.dpop {
            let request = ProofRequest::new(&proof.method, &proof.htu)
                .access_token(&proof.token)
                .bound_to(&proof.jkt);
            if let Err(e) = dpop.verifier.verify_shared(&proof.proof, &request).await {
                let e = AuthError::from(e);
                shared.observer.rejected(&e, Some(&token), client);
                return Err(e);
            }
        }
        settled(shared, Ok(token), client).await
    })
}

/// What a request that waited for a key fetch needs of itself.
#[cfg(feature = "jwks")]
struct OwnedRequest {
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    token: Vec<u8>,
    scheme: Scheme,
}

#[cfg(feature = "jwks")]
impl OwnedRequest {
    fn new(method: &Method, headers: &HeaderMap, uri: &Uri, found: Found<'_>) -> Self {
        Self {
            method: method.clone(),
            headers: headers.clone(),
            uri: uri.clone(),
            token: found.token.to_vec(),
            scheme: found.scheme,
        }
    }
}

/// Waits for the key fetch that `error` names, verifies the token again
/// (an unknown `kid` is then final) and decides as usual.
#[cfg(feature = "jwks")]
fn after_fetch<C>(
    shared: Arc<Shared<C>>,
    error: AuthError,
    request: OwnedRequest,
    client: Option<IpAddr>,
) -> BoxFuture<'static, Result<VerifiedToken<C>, AuthError>>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    Box::pin(async move {
        if let Some(pending) = error.pending_fetch() {
            pending.wait().await;
        }
        let verified = match shared.verifier.verify_any(&request.token) {
            Ok(verified) => verified,
            Err(e) => {
                shared.observer.rejected::<C>(&e, None, client);
                return Err(e);
            }
        };
        let found = Found {
            token: &request.token,
            scheme: request.scheme,
        };
        let bound = bind(
            &shared,
            verified,
            found,
            &request.method,
            &request.headers,
            &request.uri,
        );
        match bound {
            Ok(Bound::Ready(token)) => settled(shared, Ok(token), client).await,
            Ok(Bound::Shared(token, proof)) => shared_proof(shared, token, proof, client).await,
            Err((e, token)) => {
                shared.observer.rejected(&e, Some(&token), client);
                Err(e)
            }
        }
    })
}

/// [`settle`], and the store round trip when the caches missed.
async fn settled<C: Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    token: Result<VerifiedToken<C>, AuthError>,
    client: Option<IpAddr>,
) -> Result<VerifiedToken<C>, AuthError> {
    match settle(&shared, token, client) {
        Decision::Pass(Some(token)) => Ok(token),
        Decision::Reject(e) => Err(e),
        Decision::Check(token) => revocation_check(Arc::clone(&shared), token.clone(), client)
            .await
            .map(|()| token),
        // Neither comes out of `settle`.
        Decision::Pass(None) | Decision::Wait(_) => Err(AuthError::missing()),
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

/// Warns, once per layer, that a token carrying a version or session id
/// (made to be revoked: by logout, logout-everywhere, a version bump)
/// passes a layer that checks no revocation, so that such revocations are
/// not enforced here.
#[cold]
fn warn_no_revocation<C>(shared: &Shared<C>, token: &VerifiedToken<C>) {
    if shared.warned_no_revocation.swap(true, Ordering::Relaxed) {
        return;
    }
    tracing::warn!(
        target: "auth_layer",
        iss = token.registered().iss().unwrap_or(""),
        "a token carrying a version or session id (`{}`/`{}` claims: tokens that logout and logout-everywhere revoke) passed this JwtAuth, which checks no revocation: revocations are NOT enforced here. Build the layer with `.revocation(..)` (the sessions' cache: `sessions.revocation().clone()`), or from the sessions themselves with `sessions.jwt_auth()`",
        shared.verifier.claim_names().version,
        shared.verifier.claim_names().session,
    );
}

/// The first layer-wide requirement `token` does not meet, reported.
/// Out of line: the hit path without requirements stays as it was.
#[inline(never)]
fn unmet<C>(
    shared: &Shared<C>,
    token: &VerifiedToken<C>,
    client: Option<IpAddr>,
) -> Option<AuthError> {
    let now = shared.verifier.now();
    let e = shared
        .requirements
        .iter()
        .find_map(|r| r.check_at(Some(token.grants()), now).err())?;
    if e.kind().status() == http::StatusCode::FORBIDDEN {
        shared.observer.forbidden(&e, Some(token), client);
    } else {
        shared.observer.rejected(&e, Some(token), client);
    }
    Some(e)
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
    if !shared.requirements.is_empty()
        && let Some(e) = unmet(shared, &token, client)
    {
        return Decision::Reject(e);
    }
    let Some(revocation) = &shared.revocation else {
        if (token.version().is_some() || token.session_id().is_some())
            && !shared.warned_no_revocation.load(Ordering::Relaxed)
        {
            warn_no_revocation(shared, &token);
        }
        observer.allowed(&token, client);
        return Decision::Pass(Some(token));
    };
    match revocation.probe(&token) {
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
