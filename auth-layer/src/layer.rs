//! [`JwtAuth`], the tower `Layer`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use http::{Extensions, HeaderMap, Uri};
use serde::de::DeserializeOwned;
use tower_layer::Layer;

use crate::backend::BoxFuture;
use crate::builder::JwtAuthBuilder;
use crate::claims::{DefaultClaims, VerifiedToken};
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError};
use crate::observe::{Observer, metrics};
use crate::response::{DefaultResponder, JsonResponder, Rejection};
use crate::revocation::{Probe, RevocationCache};
use crate::service::JwtAuthService;
use crate::source::{self, TokenSource};
use crate::verify::Verifier;

/// The tower `Layer` that verifies JWT access tokens on every request.
///
/// A verified request reaches the inner service with a
/// [`VerifiedToken<C>`] in its extensions; any other request is answered by
/// the layer (401, or 400 for an ambiguous request) with an RFC 6750
/// `WWW-Authenticate` challenge. Cheap to clone: the configuration is shared.
///
/// `C` is the claims type, deserialised once per request; `R` the
/// [`Responder`](crate::Responder) that builds rejection responses.
///
/// ```
/// use auth_layer::{JwtAuth, VerifiedToken};
/// use http::{Request, Response, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let svc = ServiceBuilder::new().layer(auth).service(service_fn(|req: Request<()>| async move {
///     let token = req.extensions().get::<VerifiedToken>().cloned();
///     Ok::<_, std::convert::Infallible>(Response::new(format!("{:?}", token.map(|t| t.subject().map(str::to_owned)))))
/// }));
///
/// let res = svc.oneshot(Request::new(())).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"api\"");
/// # }
/// ```
pub struct JwtAuth<C = DefaultClaims, R = DefaultResponder> {
    shared: Arc<Shared<C>>,
    responder: R,
}

pub(crate) struct Shared<C> {
    pub(crate) verifier: Verifier<C>,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) realm: String,
    pub(crate) optional: bool,
    pub(crate) revocation: Option<RevocationCache>,
    pub(crate) observer: Observer,
}

/// What the layer decides without waiting.
pub(crate) enum Decision<C> {
    /// Let through, with the token or unauthenticated (optional mode).
    Pass(Option<VerifiedToken<C>>),
    /// Answer with this error.
    Reject(AuthError),
    /// Verified, but the revocation caches missed: ask the store.
    Check(VerifiedToken<C>),
}

impl JwtAuth {
    /// Starts a configuration with the default claims type; see
    /// [`JwtAuthBuilder::claims`] for your own.
    pub fn builder() -> JwtAuthBuilder {
        JwtAuthBuilder::new()
    }

    /// Builds a layer from the `AUTH_*` environment variables; see
    /// [`AuthConfig::from_env`].
    ///
    /// # Errors
    /// A malformed variable (the error names it) or an inconsistent configuration.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().config(&AuthConfig::from_env()?).build()
    }
}

impl<C, R> JwtAuth<C, R> {
    pub(crate) fn from_shared(shared: Shared<C>, responder: R) -> Self {
        Self {
            shared: Arc::new(shared),
            responder,
        }
    }

    /// The verifier, for use outside HTTP (e.g. WebSocket messages, benches).
    pub fn verifier(&self) -> &Verifier<C> {
        &self.shared.verifier
    }

    /// Replaces the rejection responder; see [`Responder`](crate::Responder).
    pub fn with_responder<R2>(self, responder: R2) -> JwtAuth<C, R2> {
        JwtAuth {
            shared: self.shared,
            responder,
        }
    }

    /// Rejections carry a JSON body `{"error","error_description","code"}`.
    pub fn json_errors(self) -> JwtAuth<C, JsonResponder> {
        self.with_responder(JsonResponder)
    }

    /// The responder.
    pub fn responder(&self) -> &R {
        &self.responder
    }

    /// Whether requests without a token pass through.
    pub fn is_optional(&self) -> bool {
        self.shared.optional
    }

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
    /// [`JwtAuthBuilder::client_addr`]): adapters put the peer's
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
        }
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
        let observer = &shared.observer;
        let token = match source::find(&shared.sources, headers, uri) {
            Ok(Some(token)) => shared.verifier.verify(token),
            Ok(None) if shared.optional => {
                observer.anonymous(client);
                return Decision::Pass(None);
            }
            Ok(None) => Err(AuthError::missing()),
            Err(e) => Err(e),
        };
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
            Probe::Revoked(e) => {
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
        let shared = Arc::clone(&self.shared);
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

    /// The [`Rejection`] for `error` on a request with these headers.
    pub fn rejection<'a>(
        &'a self,
        error: &'a AuthError,
        request_headers: &'a HeaderMap,
    ) -> Rejection<'a> {
        let retry_after = self
            .shared
            .revocation
            .as_ref()
            .map_or(Duration::from_secs(1), RevocationCache::retry_after);
        Rejection::new(error, &self.shared.realm, retry_after, request_headers)
    }
}

impl<C, R: Clone> Clone for JwtAuth<C, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            responder: self.responder.clone(),
        }
    }
}

impl<S, C, R: Clone> Layer<S> for JwtAuth<C, R> {
    type Service = JwtAuthService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuthService::new(inner, self.clone())
    }
}

impl<C, R: fmt::Debug> fmt::Debug for JwtAuth<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("verifier", &self.shared.verifier)
            .field("sources", &self.shared.sources)
            .field("realm", &self.shared.realm)
            .field("optional", &self.shared.optional)
            .field("revocation", &self.shared.revocation)
            .field("observer", &self.shared.observer)
            .field("responder", &self.responder)
            .finish()
    }
}
