//! Rejections as HTTP answers (RFC 6750 section 3).
//!
//! One function maps an [`ErrorKind`] to status, RFC 6750 error code and
//! `WWW-Authenticate`; a [`Responder`] decides the body. The default,
//! [`JsonResponder`], sends `{"error","error_description","code"}`;
//! [`EmptyResponder`] (`JwtAuth::empty_error_bodies()`) sends status and
//! headers only, for body types that cannot be built from a `String`, such as
//! tonic's; any `Fn(Rejection<'_>) -> Response<B>` can replace both
//! (`JwtAuth::with_responder`; keep the status and `WWW-Authenticate` with
//! [`Rejection::response`]`(body)`). `JwtAuth::json_errors()` goes back to
//! the default after another responder.
//!
//! The `code` is in the JSON body and in `AuthError::kind().code()`, which
//! the rejection response also carries in its extensions for outer layers to
//! log.
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::response::Rejection;
//! use http::Response;
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap()
//!     .with_responder(|rejection: Rejection<'_>| {
//!         // keep status and headers, replace the body
//!         rejection.response(format!("denied: {}", rejection.error().kind().code()))
//!     });
//! # let _ = auth;
//! ```
//!
//! # What each request gets
//!
//! RFC 6750, RFC 9068 and RFC 8725:
//!
//! | situation | status | `WWW-Authenticate` | `code` |
//! |---|---|---|---|
//! | no token (or another scheme, e.g. `Basic`) | 401 | `Bearer realm="api"` | `token_missing` |
//! | token larger than the cap | 401 | `Bearer realm="api", error="invalid_token", error_description="token is larger than allowed"` | `token_too_large` |
//! | not three base64url segments, bad JSON, JWE | 401 | `invalid_token` | `token_malformed` |
//! | `alg` `none` (any spelling), unknown or not allowed, or not the key's | 401 | `invalid_token` | `algorithm_not_allowed` |
//! | no key for the `kid` / algorithm | 401 | `invalid_token` | `unknown_key` |
//! | bad signature | 401 | `invalid_token` | `invalid_signature` |
//! | `crit` header | 401 | `invalid_token` | `unsupported_crit` |
//! | wrong `typ` | 401 | `invalid_token` | `invalid_token_type` |
//! | claims not a JSON object of the expected shape | 401 | `invalid_token` | `invalid_claims` |
//! | required claim absent | 401 | `invalid_token` | `missing_claim` |
//! | expired | 401 | `invalid_token`, `error_description="token expired"` | `token_expired` (refresh) |
//! | `nbf` / `iat` in the future | 401 | `invalid_token` | `token_not_yet_valid` / `token_issued_in_future` |
//! | wrong `iss` / `aud` | 401 | `invalid_token` | `invalid_issuer` / `invalid_audience` |
//! | a DPoP-bound token (`cnf.jkt`) as a bearer token | 401 | `invalid_token` (`DPoP …, error="invalid_dpop_proof"` when the layer checks proofs) | `token_bound_to_key` |
//! | a DPoP proof that breaks a rule of RFC 9449 section 4.3 | 401 | `DPoP …, error="invalid_dpop_proof"` | `dpop_*` ([`dpop`](crate::dpop)) |
//! | a DPoP proof by another key than the token's, `Authorization: DPoP` with an unbound token, a bearer token where DPoP is required | 401 | `DPoP …, error="invalid_token"` | `dpop_key_mismatch` / `dpop_token_not_bound` / `dpop_required` |
//! | a DPoP proof without the server's current nonce | 401 | `DPoP …, error="use_dpop_nonce"` and `DPoP-Nonce` | `use_dpop_nonce` |
//! | two different tokens in one request | 400 | `error="invalid_request"` | `multiple_tokens` |
//! | `access_token` in the query when the query is not a source | 400 | `error="invalid_request"` | `token_in_query` |
//! | revoked (version, session, jti) | 401 | `invalid_token`, `error_description="token has been revoked"` | `token_revoked` |
//! | revocation store unreachable, no usable cached answer | 503 | none; `Retry-After` | `store_unavailable` |
//! | valid, but a guard's scope is missing | 403 | `error="insufficient_scope"`, `scope="orders:write"` | `insufficient_scope` |
//! | valid, but a guard's role is missing | 403 | `error="insufficient_scope"` | `insufficient_role` |
//! | valid, but a step-up rule (RFC 9470) is not met | 401 | `error="insufficient_user_authentication"`, `acr_values="…"`, `max_age="…"` | `insufficient_user_authentication` |
//!
//! No token input produces a 5xx or a panic. Error descriptions name the rule
//! and never echo the token. With a resource configured, every challenge also
//! names the protected-resource metadata (`resource_metadata="…"`, see
//! [`metadata`](crate::metadata)).
//!
//! # gRPC
//!
//! A gRPC request (`content-type` starting with `application/grpc`) is
//! answered the gRPC way by the same function, whatever the responder: HTTP
//! 200, `content-type: application/grpc`, an empty body (a trailers-only
//! response), `grpc-status` 16 `UNAUTHENTICATED` for every 401 and 400 row, 7
//! `PERMISSION_DENIED` for the 403 rows, 14 `UNAVAILABLE` for the 503, and the
//! `error_description` in `grpc-message` (percent-encoded as the gRPC spec
//! says). Both built-in responders do this; [`Rejection::response`] does it
//! for custom ones. A tonic server uses the layer with
//! `.empty_error_bodies()`, since tonic's body cannot be built from a
//! `String`.
//!
//! # actix-web
//!
//! The actix-web middleware (`auth_extract::actix::JwtAuthMiddleware`) gives
//! the same answers: one table of requests in `tests/common/matrix.rs` is run
//! against an axum server and an actix-web server, in HTTP and gRPC form, and
//! the two must agree header for header.
//!
//! # Step-up (RFC 9470)
//!
//! A route that needs a stronger login (an `acr` value of a set) or a recent
//! one (`auth_time` at most N seconds ago) answers a token that falls short
//! with 401 and tells the client what would do, so that it sends the user
//! back to the identity provider with `acr_values` / `max_age` instead of
//! failing:
//!
//! ```
//! use std::time::Duration;
//! use auth_layer::JwtAuth;
//! use auth_layer::require::{Require, StepUp};
//! use axum::{Router, routing::post};
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .build()
//!     .unwrap();
//! let recent_mfa = StepUp::acr(["mfa", "hwk"]).max_age(Duration::from_secs(300));
//! let app: Router = Router::new()
//!     .route("/payouts", post(|| async { "sent" }).route_layer(Require::step_up(&auth, recent_mfa)))
//!     .layer(auth);
//! ```
//!
//! ```text
//! POST /payouts   (a token with "acr":"pwd", or an auth_time an hour old)
//! 401 WWW-Authenticate: Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="mfa hwk", max_age="300"
//! {"error":"insufficient_user_authentication","error_description":"…","code":"insufficient_user_authentication","acr_values":"mfa hwk","max_age":300}
//! ```
//!
//! - A token without `acr` facing an `acr` rule, or without `auth_time`
//!   facing a `max_age` rule, is refused the same way. `auth_time` is
//!   compared with the layer's clock, with no leeway.
//! - The same rule as a guard in actix-web (`RequireMiddleware`), in tonic
//!   (`Server::layer`: status 16, the description as message), as the
//!   `Guarded` extractor of `auth_extract` (a `Guard` returning
//!   `Requirement::step_up(..)`), or on every route
//!   (`.require(Requirement::step_up(..))`).
//! - `Grants::acr()` and `Grants::auth_time()` (also on
//!   `VerifiedToken::grants()`) for your own decisions.
//! - The `server` example mounts `GET /step-up` when `AUTH_STEP_UP_ACR`
//!   (comma list) and/or `AUTH_STEP_UP_MAX_AGE_SECS` are set.

use std::time::Duration;

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::dpop::{DpopMode, DpopResource};
use crate::error::{AuthError, ErrorKind};

/// A rejected request, handed to a [`Responder`] to build the answer.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    error: &'a AuthError,
    realm: Option<&'a str>,
    retry_after: Duration,
    request_headers: &'a HeaderMap,
    dpop: Option<DpopView<'a>>,
    resource_metadata: Option<&'a str>,
}

/// What a rejection needs of the layer's DPoP settings.
#[derive(Debug, Clone, Copy)]
struct DpopView<'a> {
    mode: DpopMode,
    algs: &'a str,
    /// Where fresh nonces come from (the layer's own answers only).
    nonces: Option<&'a crate::dpop::DpopVerifier>,
}

/// The layer's challenge settings (realm, DPoP schemes, resource
/// metadata), for answers built after it: by extractors, which find it on
/// the [`VerifiedToken`](crate::VerifiedToken) (or, in optional mode
/// without a token, in the request's extensions), so that their 401 and
/// 403 challenges read as the layer's own. Cheap to clone.
///
/// ```
/// use auth_layer::{AuthError, JwtAuth};
/// use http::HeaderMap;
///
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .realm("orders")
///     .build()
///     .unwrap();
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64 }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let verified = auth.verifier().verify(&token).unwrap();
/// let error = AuthError::insufficient_role("admin");
/// let headers = HeaderMap::new();
/// let rejection = verified.challenge().unwrap().rejection(&error, &headers);
/// assert!(rejection.www_authenticate().to_str().unwrap().starts_with(r#"Bearer realm="orders", error="insufficient_scope""#));
/// ```
#[derive(Clone)]
pub struct Challenge {
    inner: std::sync::Arc<ChallengeInner>,
}

struct ChallengeInner {
    realm: String,
    dpop: Option<(DpopMode, String)>,
    resource_metadata: Option<String>,
}

impl Challenge {
    pub(crate) fn new(
        realm: &str,
        dpop: Option<&DpopResource>,
        resource_metadata: Option<&str>,
    ) -> Self {
        Self {
            inner: std::sync::Arc::new(ChallengeInner {
                realm: realm.to_owned(),
                dpop: dpop.map(|d| (d.mode, d.algs.clone())),
                resource_metadata: resource_metadata.map(str::to_owned),
            }),
        }
    }

    /// The rejection of `error`, with the layer's realm, DPoP challenge
    /// and `resource_metadata`, as the layer would answer it.
    pub fn rejection<'a>(
        &'a self,
        error: &'a AuthError,
        request_headers: &'a HeaderMap,
    ) -> Rejection<'a> {
        let inner = &*self.inner;
        Rejection {
            error,
            realm: Some(&inner.realm),
            retry_after: Duration::from_secs(1),
            request_headers,
            dpop: inner.dpop.as_ref().map(|(mode, algs)| DpopView {
                mode: *mode,
                algs,
                nonces: None,
            }),
            resource_metadata: inner.resource_metadata.as_deref(),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("realm", &self.inner.realm)
            .field("dpop", &self.inner.dpop)
            .field("resource_metadata", &self.inner.resource_metadata)
            .finish()
    }
}

/// `DPoP-Nonce` (RFC 9449 section 8).
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// `grpc-status`
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

impl<'a> Rejection<'a> {
    pub(crate) fn new(
        error: &'a AuthError,
        realm: &'a str,
        retry_after: Duration,
        request_headers: &'a HeaderMap,
    ) -> Self {
        Self {
            error,
            realm: Some(realm),
            retry_after,
            request_headers,
            dpop: None,
            resource_metadata: None,
        }
    }

    /// With the URL of the layer's RFC 9728 metadata, which every
    /// challenge then names (`resource_metadata`, RFC 9728 section 5.1).
    pub(crate) fn with_resource_metadata(mut self, url: Option<&'a str>) -> Self {
        self.resource_metadata = url;
        self
    }

    /// With the layer's DPoP settings: `DPoP` challenges and nonces.
    pub(crate) fn with_dpop(mut self, dpop: Option<&'a DpopResource>) -> Self {
        self.dpop = dpop.map(|d| DpopView {
            mode: d.mode,
            algs: &d.algs,
            nonces: Some(&d.verifier),
        });
        self
    }

    /// A rejection made outside the layer, which does not know the realm:
    /// the challenge has no `realm` attribute. Inside a layer, use
    /// [`JwtAuth::rejection`](crate::JwtAuth::rejection); after it, the
    /// layer's [`Challenge`].
    ///
    /// ```
    /// use auth_layer::AuthError;
    /// use auth_layer::response::Rejection;
    /// use http::HeaderMap;
    ///
    /// let error = AuthError::insufficient_scope("orders:write");
    /// let headers = HeaderMap::new();
    /// let rejection = Rejection::without_realm(&error, &headers);
    /// assert_eq!(rejection.status(), 403);
    /// assert_eq!(
    ///     rejection.www_authenticate(),
    ///     "Bearer error=\"insufficient_scope\", error_description=\"token lacks the scope this request requires\", scope=\"orders:write\""
    /// );
    /// ```
    pub fn without_realm(error: &'a AuthError, request_headers: &'a HeaderMap) -> Self {
        Self {
            error,
            realm: None,
            retry_after: Duration::from_secs(1),
            request_headers,
            dpop: None,
            resource_metadata: None,
        }
    }

    /// Why the request was rejected.
    pub fn error(&self) -> &'a AuthError {
        self.error
    }

    /// The headers of the rejected request (e.g. to honour `Accept`).
    pub fn request_headers(&self) -> &'a HeaderMap {
        self.request_headers
    }

    /// The HTTP status of this rejection's kind (401, 400, 403 or 503). A
    /// gRPC request is answered 200 with this as [`grpc_status`](Self::grpc_status).
    pub fn status(&self) -> StatusCode {
        self.error.kind().status()
    }

    /// Whether the request is a gRPC call (`content-type` starting with
    /// `application/grpc`), answered with `grpc-status` instead.
    pub fn is_grpc(&self) -> bool {
        self.request_headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.as_bytes().get(..16))
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"application/grpc"))
    }

    /// The gRPC status code for this rejection (see [`ErrorKind::grpc_status`]).
    pub fn grpc_status(&self) -> i32 {
        self.error.kind().grpc_status()
    }

    /// The `WWW-Authenticate` challenges, e.g.
    /// `Bearer realm="api", error="invalid_token", error_description="token expired"`,
    /// or for a missing scope
    /// `Bearer realm="api", error="insufficient_scope", error_description="…", scope="orders:write"`.
    ///
    /// A layer that checks DPoP proofs also offers
    /// `DPoP realm="api", algs="ES256 …"` (RFC 9449 section 7.1), after the
    /// `Bearer` challenge, or alone in [required](DpopMode::Required) mode.
    /// The error goes on the challenge of the scheme it is about: `DPoP`
    /// for a proof's refusal or a request that used `Authorization: DPoP`,
    /// `Bearer` otherwise; e.g.
    /// `Bearer realm="api", DPoP realm="api", algs="ES256", error="invalid_dpop_proof", error_description="…"`.
    pub fn www_authenticate(&self) -> HeaderValue {
        let kind = self.error.kind();
        let mut value = String::new();
        let on_dpop = self.dpop.is_some_and(|dpop| {
            kind.is_dpop() || dpop.mode == DpopMode::Required || self.used_dpop_scheme()
        });
        if self.dpop.is_none_or(|dpop| dpop.mode == DpopMode::Allowed) {
            self.challenge(&mut value, "Bearer", None, !on_dpop);
        }
        if let Some(dpop) = self.dpop {
            if !value.is_empty() {
                value.push_str(", ");
            }
            self.challenge(&mut value, "DPoP", Some(dpop.algs), on_dpop);
        }
        // The realm is checked at build time, descriptions are constants and
        // the scope is checked, so this cannot fail; fall back to the bare
        // scheme if it ever did.
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer"))
    }

    /// One challenge: the scheme, the realm, `algs` for DPoP, and the error
    /// when it is this challenge's.
    fn challenge(&self, value: &mut String, scheme: &str, algs: Option<&str>, error: bool) {
        value.push_str(scheme);
        let mut sep = " ";
        let mut attribute = |name: &str, v: &str| {
            value.push_str(sep);
            value.push_str(name);
            value.push_str("=\"");
            value.push_str(v);
            value.push('"');
            sep = ", ";
        };
        if let Some(realm) = self.realm {
            attribute("realm", realm);
        }
        if let Some(algs) = algs {
            attribute("algs", algs);
        }
        if let Some(url) = self.resource_metadata {
            attribute("resource_metadata", url);
        }
        if !error {
            return;
        }
        let kind = self.error.kind();
        if let Some(code) = self.oauth_error() {
            attribute("error", code);
            attribute("error_description", self.error.description());
        }
        // Values that a quoted string cannot carry are left out (they
        // cannot be asked for either).
        let spaced = || {
            let values: Vec<&str> = self
                .error
                .required_values()
                .filter(|s| is_scope_token(s))
                .collect();
            values.join(" ")
        };
        match kind {
            ErrorKind::InsufficientScope => {
                let scopes = spaced();
                if !scopes.is_empty() {
                    attribute("scope", &scopes);
                }
            }
            ErrorKind::InsufficientUserAuthentication => {
                let acr = spaced();
                if !acr.is_empty() {
                    attribute("acr_values", &acr);
                }
                if let Some(max_age) = self.error.max_age() {
                    attribute("max_age", &max_age.to_string());
                }
            }
            _ => {}
        }
    }

    /// The OAuth `error` this rejection is answered with: the kind's
    /// [RFC 6750 error](ErrorKind::rfc6750_error), except that a bound
    /// token sent as a bearer token to a layer that checks proofs lacks a
    /// valid proof (`invalid_dpop_proof`).
    fn oauth_error(&self) -> Option<&'static str> {
        let kind = self.error.kind();
        if kind == ErrorKind::KeyBound && self.dpop.is_some() {
            return Some("invalid_dpop_proof");
        }
        kind.rfc6750_error()
    }

    /// Whether the request sent `Authorization: DPoP`.
    fn used_dpop_scheme(&self) -> bool {
        self.request_headers
            .get_all(http::header::AUTHORIZATION)
            .iter()
            .any(|v| {
                v.as_bytes()
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"dpop "))
            })
    }

    /// The JSON body: `{"error","error_description","code"}`, plus `scope`
    /// (or `role`) when a guard refused the request.
    pub fn json_body(&self) -> String {
        let kind = self.error.kind();
        let mut body = serde_json::json!({
            "error": self.oauth_error().unwrap_or(match kind {
                ErrorKind::StoreUnavailable => "temporarily_unavailable",
                _ => "unauthorized",
            }),
            "error_description": self.error.description(),
            "code": kind.code(),
        });
        let values: Vec<&str> = self.error.required_values().collect();
        if let Some(map) = body.as_object_mut() {
            match (kind, values.as_slice()) {
                (_, []) => {}
                (ErrorKind::InsufficientScope, _) => {
                    map.insert("scope".to_owned(), values.join(" ").into());
                }
                (ErrorKind::InsufficientRole, [role]) => {
                    map.insert("role".to_owned(), (*role).into());
                }
                (ErrorKind::InsufficientRole, roles) => {
                    map.insert("roles".to_owned(), roles.into());
                }
                (ErrorKind::InsufficientUserAuthentication, acr) => {
                    map.insert("acr_values".to_owned(), acr.join(" ").into());
                }
                _ => {}
            }
            if let Some(max_age) = self.error.max_age() {
                map.insert("max_age".to_owned(), max_age.into());
            }
        }
        body.to_string()
    }

    /// A response with this rejection's status and headers, the
    /// [`AuthError`] in its extensions, and `body`. A 503 carries
    /// `Retry-After` instead of a challenge: the client did nothing wrong.
    ///
    /// A gRPC request (see [`is_grpc`](Self::is_grpc)) gets HTTP 200,
    /// `content-type: application/grpc`, `grpc-status` and `grpc-message`
    /// instead; its body should be empty (the built-in responders send none).
    pub fn response<B>(&self, body: B) -> Response<B> {
        let mut response = Response::new(body);
        response.extensions_mut().insert(self.error.clone());
        if self.error.kind() == ErrorKind::UseDpopNonce
            && let Some(nonce) = self.dpop.and_then(|dpop| dpop.nonces?.nonce())
            && let Ok(nonce) = HeaderValue::from_str(&nonce)
        {
            response.headers_mut().insert(DPOP_NONCE, nonce);
        }
        if self.is_grpc() {
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            headers.insert(GRPC_STATUS, HeaderValue::from(self.grpc_status()));
            if let Ok(message) =
                HeaderValue::from_str(&grpc_percent_encode(self.error.description()))
            {
                headers.insert(GRPC_MESSAGE, message);
            }
            return response;
        }
        *response.status_mut() = self.status();
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            let secs = self.retry_after.as_secs().max(1);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        } else {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, self.www_authenticate());
        }
        response
    }
}

/// RFC 6749 section 3.3 `scope-token`: printable ASCII except space, `"` and
/// `\`, so it can be quoted in a challenge as it is.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The gRPC spec's `Percent-Encoded` for `grpc-message`: bytes outside
/// 0x20..=0x7E and `%` itself become `%XX`.
fn grpc_percent_encode(message: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(message.len());
    for b in message.bytes() {
        if (0x20..=0x7E).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Builds the response for a rejected request.
///
/// Implemented by [`EmptyResponder`], [`JsonResponder`] and every
/// `Fn(Rejection<'_>) -> Response<B> + Clone + Send + Sync + 'static`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot answer with a `Response<{B}>`",
    label = "the layer's rejections need a body of this type",
    note = "the default `JsonResponder` builds its body from a `String`; for another body type (tonic's, say) call `.empty_error_bodies()` on the `JwtAuth`"
)]
pub trait Responder<B>: Clone + Send + Sync + 'static {
    /// The answer to send instead of calling the inner service.
    fn respond(&self, rejection: Rejection<'_>) -> Response<B>;
}

/// Status and headers only, with an empty body (`B::default()`), for body
/// types that cannot be built from a `String`, such as tonic's (whose
/// answers carry `grpc-status` and no body anyway). Chosen with
/// [`JwtAuth::empty_error_bodies`](crate::JwtAuth::empty_error_bodies).
///
/// ```
/// use auth_layer::JwtAuth;
/// use auth_layer::response::EmptyResponder;
///
/// let auth: JwtAuth<_, EmptyResponder> = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap()
///     .empty_error_bodies();
/// # let _ = auth;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyResponder;

impl<B: Default> Responder<B> for EmptyResponder {
    fn respond(&self, rejection: Rejection<'_>) -> Response<B> {
        rejection.response(B::default())
    }
}

/// Status and headers plus a JSON body
/// `{"error","error_description","code"}`, for bodies built from a `String`
/// (axum's `Body`, `Full<Bytes>`, `String`, ...): the layer's default.
/// A gRPC request's answer has no body.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonResponder;

impl<B: From<String>> Responder<B> for JsonResponder {
    fn respond(&self, rejection: Rejection<'_>) -> Response<B> {
        if rejection.is_grpc() {
            return rejection.response(B::from(String::new()));
        }
        let mut response = rejection.response(B::from(rejection.json_body()));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl<B, F> Responder<B> for F
where
    F: Fn(Rejection<'_>) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn respond(&self, rejection: Rejection<'_>) -> Response<B> {
        self(rejection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        let e = AuthError::missing();
        let h = HeaderMap::new();
        let r = Rejection::new(&e, "api", Duration::from_secs(1), &h);
        assert_eq!(r.www_authenticate(), "Bearer realm=\"api\"");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn expired_challenge_and_json_body() {
        let e = AuthError::new(ErrorKind::Expired, "token expired");
        let h = HeaderMap::new();
        let r = Rejection::new(&e, "api", Duration::from_secs(1), &h);
        assert_eq!(
            r.www_authenticate(),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\""
        );
        let body: serde_json::Value = serde_json::from_str(&r.json_body()).unwrap();
        assert_eq!(body["code"], "token_expired");
        assert_eq!(body["error"], "invalid_token");
        let resp: Response<String> = JsonResponder.respond(r);
        assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            resp.extensions().get::<AuthError>().map(AuthError::kind),
            Some(ErrorKind::Expired)
        );
    }

    #[test]
    fn insufficient_scope_names_the_scope_in_challenge_and_body() {
        let e = AuthError::insufficient_scope("orders:write");
        let h = HeaderMap::new();
        let r = Rejection::new(&e, "api", Duration::from_secs(1), &h);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.www_authenticate(),
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"token lacks the scope this request requires\", scope=\"orders:write\""
        );
        let body: serde_json::Value = serde_json::from_str(&r.json_body()).unwrap();
        assert_eq!(body["scope"], "orders:write");
        assert_eq!(body["code"], "insufficient_scope");
        // A scope that cannot be quoted is left out rather than breaking the header.
        let odd = AuthError::insufficient_scope("a \"b\"");
        let r = Rejection::new(&odd, "api", Duration::from_secs(1), &h);
        assert!(!r.www_authenticate().to_str().unwrap().contains("scope="));
        let role = AuthError::insufficient_role("admin");
        let r = Rejection::new(&role, "api", Duration::from_secs(1), &h);
        assert!(!r.www_authenticate().to_str().unwrap().contains("scope="));
        let body: serde_json::Value = serde_json::from_str(&r.json_body()).unwrap();
        assert_eq!(
            (&body["role"], &body["code"]),
            (&"admin".into(), &"insufficient_role".into())
        );
    }

    #[test]
    fn grpc_requests_get_a_trailers_only_answer_from_every_responder() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        for (error, code) in [
            (AuthError::missing(), "16"),
            (AuthError::new(ErrorKind::Expired, "token expired"), "16"),
            (
                AuthError::new(ErrorKind::MultipleTokens, "two tokens"),
                "16",
            ),
            (AuthError::insufficient_scope("orders:write"), "7"),
            (
                AuthError::new(ErrorKind::StoreUnavailable, "store down"),
                "14",
            ),
        ] {
            let r = Rejection::new(&error, "api", Duration::from_secs(1), &h);
            assert!(r.is_grpc());
            let json: Response<String> = JsonResponder.respond(r);
            let empty: Response<String> = EmptyResponder.respond(r);
            for resp in [json, empty] {
                assert_eq!(resp.status(), StatusCode::OK);
                assert_eq!(resp.headers()[CONTENT_TYPE], "application/grpc");
                assert_eq!(resp.headers()["grpc-status"], code);
                assert_eq!(resp.headers()["grpc-message"], error.description());
                assert!(resp.body().is_empty());
                assert!(!resp.headers().contains_key(WWW_AUTHENTICATE));
                assert!(resp.extensions().get::<AuthError>().is_some());
            }
        }
        // Not gRPC: a JSON request, a missing content type, grpc as a suffix.
        for ct in [
            "application/json",
            "text/application/grpc",
            "application/gr",
        ] {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            let e = AuthError::missing();
            assert!(
                !Rejection::new(&e, "api", Duration::from_secs(1), &h).is_grpc(),
                "{ct}"
            );
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static("Application/GRPC"));
        let e = AuthError::missing();
        assert!(Rejection::new(&e, "api", Duration::from_secs(1), &h).is_grpc());
    }

    #[test]
    fn grpc_message_is_percent_encoded_per_the_grpc_spec() {
        assert_eq!(grpc_percent_encode("token expired"), "token expired");
        assert_eq!(grpc_percent_encode("100% sure"), "100%25 sure");
        assert_eq!(grpc_percent_encode("caf\u{e9}\n"), "caf%C3%A9%0A");
    }

    #[test]
    fn without_realm_omits_the_realm_attribute() {
        let h = HeaderMap::new();
        let e = AuthError::missing();
        assert_eq!(
            Rejection::without_realm(&e, &h).www_authenticate(),
            "Bearer"
        );
        let e = AuthError::new(ErrorKind::Expired, "token expired");
        assert_eq!(
            Rejection::without_realm(&e, &h).www_authenticate(),
            "Bearer error=\"invalid_token\", error_description=\"token expired\""
        );
    }

    #[test]
    fn store_outage_is_503_with_retry_after_and_no_challenge() {
        let e = AuthError::new(
            ErrorKind::StoreUnavailable,
            "the revocation store is unavailable",
        );
        let h = HeaderMap::new();
        let r = Rejection::new(&e, "api", Duration::from_secs(2), &h);
        let resp: Response<()> = EmptyResponder.respond(r);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[RETRY_AFTER], "2");
        assert!(!resp.headers().contains_key(WWW_AUTHENTICATE));
        let body: serde_json::Value = serde_json::from_str(&r.json_body()).unwrap();
        assert_eq!(body["code"], "store_unavailable");
    }
}
