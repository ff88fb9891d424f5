//! [`JwtAuth`], the tower `Layer`: the configuration every request is
//! checked against, shared by the services it makes. What it decides for a
//! request has a module of its own (`decide`); its `Layer` impl is next to
//! the service it makes (`service`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::builder::JwtAuthBuilder;
use crate::claims::DefaultClaims;
use crate::error::AuthError;
use crate::observe::Observer;
use crate::response::{EmptyResponder, JsonResponder, Rejection};
use crate::revocation::RevocationCache;
use crate::source::TokenSource;
use crate::verify::Verifier;

/// The tower `Layer` that verifies JWT access tokens on every request.
///
/// A verified request reaches the inner service with a
/// [`VerifiedToken<C>`](crate::VerifiedToken) in its extensions; any other request is answered by
/// the layer (401, or 400 for an ambiguous request) with an RFC 6750
/// `WWW-Authenticate` challenge. Cheap to clone: the configuration is shared.
///
/// `C` is the claims type, deserialised once per request; `R` the
/// [`Responder`](crate::response::Responder) that builds rejection responses.
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
///     Ok::<_, std::convert::Infallible>(Response::new(format!("{:?}", token.map(|t| t.subject().to_owned()))))
/// }));
///
/// let res = svc.oneshot(Request::new(())).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"api\"");
/// # }
/// ```
pub struct JwtAuth<C = DefaultClaims, R = JsonResponder> {
    pub(crate) shared: Arc<Shared<C>>,
    responder: R,
}

pub(crate) struct Shared<C> {
    pub(crate) verifier: Verifier<C>,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) realm: String,
    pub(crate) optional: bool,
    pub(crate) revocation: Option<RevocationCache>,
    pub(crate) observer: Observer,
    pub(crate) dpop: Option<crate::dpop::DpopResource>,
    pub(crate) metadata: Option<crate::metadata::ResourceMetadata>,
    /// What every token must grant or show (layer-wide guards).
    pub(crate) requirements: Box<[crate::require::Requirement]>,
    /// The realm, DPoP and metadata settings of challenges, shared with
    /// the tokens this layer verifies.
    pub(crate) challenge: crate::response::Challenge,
    /// Whether the layer warned that tokens made for revocation pass a
    /// layer without it (once).
    pub(crate) warned_no_revocation: std::sync::atomic::AtomicBool,
}

impl JwtAuth {
    /// Starts a configuration with the default claims type; see
    /// [`JwtAuthBuilder::claims`] for your own.
    pub fn builder() -> JwtAuthBuilder {
        JwtAuthBuilder::new()
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

    /// The revocation cache the layer checks tokens against, if any.
    pub fn revocation(&self) -> Option<&crate::revocation::RevocationCache> {
        self.shared.revocation.as_ref()
    }

    /// Replaces the rejection responder; see [`Responder`](crate::response::Responder).
    pub fn with_responder<R2>(self, responder: R2) -> JwtAuth<C, R2> {
        JwtAuth {
            shared: self.shared,
            responder,
        }
    }

    /// Rejections carry a JSON body `{"error","error_description","code"}`:
    /// the default, and back to it after another responder.
    pub fn json_errors(self) -> JwtAuth<C, JsonResponder> {
        self.with_responder(JsonResponder)
    }

    /// Rejections carry status and headers only, with an empty body: for
    /// body types that cannot be built from a `String`, such as tonic's
    /// (see [`EmptyResponder`]).
    pub fn empty_error_bodies(self) -> JwtAuth<C, EmptyResponder> {
        self.with_responder(EmptyResponder)
    }

    /// The responder.
    pub fn responder(&self) -> &R {
        &self.responder
    }

    /// The RFC 9728 protected-resource metadata, when a
    /// [`resource`](crate::JwtAuthBuilder::resource) is configured: its
    /// document, URL and path, and a service that serves it.
    pub fn resource_metadata(&self) -> Option<&crate::metadata::ResourceMetadata> {
        self.shared.metadata.as_ref()
    }

    /// The layer's challenge settings, for answers built after it.
    pub fn challenge(&self) -> &crate::response::Challenge {
        &self.shared.challenge
    }

    /// The verifier's clock, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.shared.verifier.now()
    }

    /// Whether requests without a token pass through.
    pub fn is_optional(&self) -> bool {
        self.shared.optional
    }

    /// The [`Rejection`] for `error` on a request with these headers: the
    /// layer's realm, and its revocation cache's `Retry-After` for a 503.
    /// Guards and framework adapters answer with it.
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
            .with_dpop(self.shared.dpop.as_ref())
            .with_resource_metadata(self.shared.metadata.as_ref().map(|m| m.url()))
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

impl<C, R: fmt::Debug> fmt::Debug for JwtAuth<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("verifier", &self.shared.verifier)
            .field("sources", &self.shared.sources)
            .field("realm", &self.shared.realm)
            .field("optional", &self.shared.optional)
            .field("revocation", &self.shared.revocation)
            .field("observer", &self.shared.observer)
            .field("dpop", &self.shared.dpop)
            .field("metadata", &self.shared.metadata)
            .field("responder", &self.responder)
            .finish()
    }
}
