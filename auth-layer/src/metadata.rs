//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that
//! tells a client which authorization servers issue tokens for this
//! resource, which scopes it knows and how tokens are sent, served at the
//! well-known path RFC 9728 section 3.1 derives from the resource
//! identifier, and named by every challenge (`resource_metadata`, section
//! 5.1). It is built from the layer's own configuration, so the two cannot
//! disagree: the accepted issuers are the authorization servers, the token
//! sources the bearer methods, the DPoP verifier's algorithms the DPoP ones.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use axum::Router;
//! use axum::routing::get;
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .issuer("https://sso.example.com/realms/shop")
//!     .resource("https://api.example.com/orders")
//!     .scopes_supported(["orders:read", "orders:write"])
//!     .build()
//!     .unwrap();
//! let metadata = auth.resource_metadata().unwrap();
//! assert_eq!(
//!     metadata.path(),
//!     "/.well-known/oauth-protected-resource/orders"
//! );
//! let app: Router = Router::new()
//!     .route("/orders", get(|| async { "orders" }))
//!     .layer(auth.clone())
//!     // Outside the layer: the document is public.
//!     .route_service(metadata.path(), metadata.service());
//! # let _ = app;
//! ```
//!
//! A client that meets a 401 learns where to get a token from the resource
//! itself: every challenge names the resource's metadata document, and the
//! document lists the authorization servers, the scopes and how tokens are
//! sent. MCP clients require it. What the two routes answer:
//!
//! ```text
//! GET /.well-known/oauth-protected-resource/orders
//! {"resource":"https://api.example.com/orders","authorization_servers":["https://sso.example.com/realms/shop"],"scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header"]}
//!
//! GET /orders
//! WWW-Authenticate: Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/orders"
//! ```
//!
//! - The path is RFC 9728 section 3.1's: the well-known string between the
//!   host and the resource's path (`https://api.example.com` →
//!   `/.well-known/oauth-protected-resource`).
//! - `resource` is the identifier as configured. A client that found the
//!   document through a challenge checks that `resource` is the URL it
//!   requested (section 3.3), so name the URL clients call: the origin, or
//!   the one endpoint an MCP client uses. (A client calling `/orders/42` may
//!   refuse a document whose `resource` is `…/orders`.) `build()` refuses a
//!   resource that is not `https` (plain `http` only on a loopback host), or
//!   holds a fragment, user information or characters a URL may not hold
//!   unencoded.
//! - `authorization_servers` are the accepted issuers (the builder's and the
//!   trusted ones; `.authorization_servers(..)` to name others);
//!   `bearer_methods_supported` follows the token sources (`header`, `query`
//!   for an `access_token` query source; a cookie is none of RFC 6750's);
//!   with DPoP, `dpop_signing_alg_values_supported` and
//!   `dpop_bound_access_tokens_required`. `.resource_name(..)` and
//!   `.resource_documentation(..)` are optional.
//! - Every challenge of the layer, of its `Require` guards and of the
//!   extractors (`Claims` in optional mode, `WithScope`, `WithRole`,
//!   `Guarded`), Bearer and DPoP alike, names the document; a 503 has no
//!   challenge.
//! - From the environment: `AUTH_RESOURCE`, the RFC 9728 resource identifier
//!   (`https://api.example.com/orders`; default: the first `AUTH_AUDIENCE`
//!   when it is an `https` URL) and `AUTH_SCOPES_SUPPORTED` (comma list of
//!   the scopes the metadata lists). The `server` example then serves the
//!   document, and so does the `actix` one (`metadata.json()` in a handler).

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use serde::Serialize;
use tower_service::Service;

use crate::error::ConfigError;

/// The well-known URI suffix of RFC 9728 section 3.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The document of RFC 9728 section 2, as this layer serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Document {
    /// The resource identifier: an `https` URL without fragment.
    pub resource: String,
    /// The issuers whose tokens the layer accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// The scopes the resource knows (`scopes_supported`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens are sent, of RFC 6750's `header`, `body` and `query`
    /// (a cookie is none of them; an empty list says so).
    pub bearer_methods_supported: Vec<&'static str>,
    /// A human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Where developers read about the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// The algorithms DPoP proofs may be signed with, when the layer checks
    /// them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Whether every token must be DPoP-bound (present when the layer
    /// checks proofs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens_required: Option<bool>,
}

/// The metadata of a layer: the document, its URL and path, and a tower
/// service that serves it.
#[derive(Clone)]
pub struct ResourceMetadata {
    inner: Arc<Inner>,
}

struct Inner {
    document: Document,
    json: String,
    url: String,
    path: String,
}

impl ResourceMetadata {
    pub(crate) fn new(document: Document) -> Result<Self, ConfigError> {
        let (url, path) = metadata_url(&document.resource)?;
        let json = serde_json::to_string(&document)
            .map_err(|e| ConfigError::setting("resource", e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                document,
                json,
                url,
                path,
            }),
        })
    }

    /// The document.
    pub fn document(&self) -> &Document {
        &self.inner.document
    }

    /// The document as JSON, as served.
    pub fn json(&self) -> &str {
        &self.inner.json
    }

    /// The document's URL (`https://api.example.com/.well-known/oauth-protected-resource/orders`),
    /// which every challenge names in `resource_metadata`.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The path the document is served at
    /// (`/.well-known/oauth-protected-resource/orders`), for the router.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// A tower service answering `GET` and `HEAD` with the document
    /// (`200`, `application/json`), any other method with `405`. Mount it
    /// at [`path`](Self::path), outside the layer.
    pub fn service(&self) -> MetadataService {
        MetadataService {
            metadata: self.clone(),
        }
    }
}

impl fmt::Debug for ResourceMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceMetadata")
            .field("url", &self.inner.url)
            .field("document", &self.inner.document)
            .finish()
    }
}

/// Serves a [`ResourceMetadata`] document; see
/// [`ResourceMetadata::service`].
#[derive(Clone, Debug)]
pub struct MetadataService {
    metadata: ResourceMetadata,
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.method();
        let mut response = if method == Method::GET || method == Method::HEAD {
            let body = if method == Method::GET {
                self.metadata.json().to_owned()
            } else {
                String::new()
            };
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
            response
        } else {
            let mut response = Response::new(String::new());
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        // A document any web client may read (RFC 9728 section 3.2 has no
        // credentials in it).
        response.headers_mut().insert(
            http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        ready(Ok(response))
    }
}

/// Checks a resource identifier (RFC 9728 section 2: an `https` URL
/// without fragment; plain `http` only on a loopback host, for development)
/// and derives its metadata URL and path (section 3.1: the well-known
/// string inserted between the host and the path, a terminating `/` after
/// the host removed).
pub(crate) fn metadata_url(resource: &str) -> Result<(String, String), ConfigError> {
    let bad = |why: &str| ConfigError::setting("resource", format!("{resource:?} {why}"));
    if resource.contains('#') {
        return Err(bad("must not hold a fragment"));
    }
    // RFC 3986 characters only: the URL goes into a quoted challenge.
    if !resource
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?[]@!$&'()*+,;=%".contains(&b))
    {
        return Err(bad("holds characters a URL may not hold unencoded"));
    }
    let uri: Uri = resource
        .parse()
        .map_err(|_| bad("is not an absolute https URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(bad("is not an absolute https URL"));
    };
    let loopback = matches!(authority.host(), "localhost" | "127.0.0.1" | "[::1]");
    if scheme != "https" && !(scheme == "http" && loopback) {
        return Err(bad("must use https (plain http only on a loopback host)"));
    }
    if authority.as_str().contains('@') {
        return Err(bad("must not hold user information"));
    }
    // Only a `/` right after the host goes; a path keeps its own.
    let path = match uri.path() {
        "/" => "",
        path => path,
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let well_known = format!("{WELL_KNOWN}{path}");
    let url = format!("{scheme}://{}{well_known}{query}", authority.as_str());
    Ok((url, well_known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_path_goes_between_host_and_path() {
        let cases = [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/orders/v1",
                "https://api.example.com/.well-known/oauth-protected-resource/orders/v1",
            ),
            (
                "https://api.example.com:8443/orders/",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/orders/",
            ),
            (
                "http://127.0.0.1:3000/x",
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/x",
            ),
        ];
        for (resource, url) in cases {
            assert_eq!(metadata_url(resource).unwrap().0, url, "{resource}");
        }
        for bad in [
            "api.example.com",
            "http://api.example.com",
            "https://api.example.com/#x",
            "https://u@api.example.com/",
            "/orders",
            "https://api.example.com/a\"b",
            "https://api.example.com/a\\",
        ] {
            assert!(metadata_url(bad).is_err(), "{bad}");
        }
    }
}
