//! [`TokenEndpoint`]: the refresh grant of RFC 6749 section 6 as a tower
//! service, so that standard OAuth client libraries refresh against it.

use std::convert::Infallible;
use std::task::{Context, Poll};

use http::header::ALLOW;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use tower_service::Service;

use super::answers::{TokenResponse, no_store};
use super::error::SessionError;
use super::sessions::Sessions;
use crate::backend::BoxFuture;

/// The largest form accepted: a refresh token is about 70 bytes.
const MAX_BODY_BYTES: usize = 8 * 1024;

/// `POST` `application/x-www-form-urlencoded`
/// `grant_type=refresh_token&refresh_token=…[&scope=…]` (RFC 6749 section
/// 6), answered with section 5.1's token response (the new access and
/// refresh tokens) or section 5.2's error, never cached. Mount it where
/// clients expect the token endpoint (`POST /token`), outside the JwtAuth
/// layer: the refresh token is the credential. Made by
/// [`Sessions::token_endpoint`].
///
/// | request | answer |
/// |---|---|
/// | a valid refresh token | 200: `access_token`, `token_type`, `expires_in`, `refresh_token` (rotated) |
/// | a refused one (invalid, reused, expired, idle, revoked) | 400 `invalid_grant`, with the project's `code` (`refresh_reused`, …) |
/// | `scope` beyond what the session was granted | 400 `invalid_scope`; the token is not spent |
/// | `scope` within it | 200 with an access token narrowed to it, named in `scope`; the session and the new refresh token keep the whole grant ([`Sessions::refresh_narrowed`]) |
/// | a bound session without a proof | 400 `invalid_dpop_proof` (the endpoint checks no proofs) |
/// | another `grant_type` | 400 `unsupported_grant_type` |
/// | a missing or repeated parameter, another content type, a body over 8 KiB | 400 `invalid_request` |
/// | another method | 405, `Allow: POST` |
/// | a store that does not answer | 503 `temporarily_unavailable`, `Retry-After: 1` |
#[derive(Clone, Debug)]
pub struct TokenEndpoint {
    sessions: Sessions,
}

impl Sessions {
    /// The RFC 6749 refresh endpoint of these sessions; see [`TokenEndpoint`].
    ///
    /// ```
    /// use auth_layer::revocation::RevocationCache;
    /// use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
    /// use auth_layer::store::MemoryStore;
    /// use axum::Router;
    ///
    /// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
    /// let sessions = Sessions::builder(issuer, store.clone(), RevocationCache::builder(store).build()?).build()?;
    /// let app = Router::new().route_service("/token", sessions.token_endpoint());
    /// # Ok(app) }
    /// ```
    pub fn token_endpoint(&self) -> TokenEndpoint {
        TokenEndpoint {
            sessions: self.clone(),
        }
    }
}

/// A section 5.2 error of the request itself (not of the grant).
fn request_error(error: &'static str, description: &'static str) -> Response<String> {
    let body =
        serde_json::json!({ "error": error, "error_description": description, "code": error });
    let mut response = no_store(Response::new(body.to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// A refused refresh: section 5.2 answers `invalid_grant` (and the other
/// client errors) with 400.
fn grant_error(e: &SessionError) -> Response<String> {
    let mut response = e.response::<String>();
    if response.status() == StatusCode::UNAUTHORIZED {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

impl TokenEndpoint {
    async fn handle<B>(&self, request: Request<B>) -> Response<String>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        if parts.method != Method::POST {
            let mut response = request_error("invalid_request", "the token endpoint takes POST");
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        if !crate::logout::single_form_content_type(&parts.headers) {
            return request_error(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            );
        }
        let Ok(collected) = Limited::new(body, MAX_BODY_BYTES).collect().await else {
            return request_error("invalid_request", "the body is too large or unreadable");
        };
        let bytes = collected.to_bytes();
        let (mut grant_type, mut token, mut scope) = (None, None, None);
        for (name, value) in form_urlencoded::parse(&bytes) {
            let slot = match name.as_ref() {
                "grant_type" => &mut grant_type,
                "refresh_token" => &mut token,
                "scope" => &mut scope,
                _ => continue,
            };
            // Section 3.2: no parameter more than once.
            if slot.replace(value).is_some() {
                return request_error("invalid_request", "a parameter is repeated");
            }
        }
        match grant_type.as_deref() {
            None => return request_error("invalid_request", "grant_type is missing"),
            Some("refresh_token") => {}
            Some(_) => {
                return request_error(
                    "unsupported_grant_type",
                    "this endpoint takes grant_type=refresh_token",
                );
            }
        }
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return request_error("invalid_request", "refresh_token is missing");
        };
        // An empty `scope` asks for nothing narrower.
        let scope = scope.filter(|s| !s.trim().is_empty());
        let refreshed = match &scope {
            None => self.sessions.refresh(&token).await,
            Some(scope) => self.sessions.refresh_narrowed(&token, scope).await,
        };
        match refreshed {
            Ok(refreshed) => {
                let response = TokenResponse::refreshed(&refreshed);
                // Section 5.1: `scope` when it differs from what was asked
                // (here: what the access token grants, when narrowed).
                match scope {
                    Some(scope) => response.scope(each_once(&scope)),
                    None => response,
                }
                .response()
            }
            Err(e) => grant_error(&e),
        }
    }
}

/// The scopes of a `scope` parameter, each once, in the order given: the
/// scope a narrowed access token carries.
fn each_once(scope: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen.join(" ")
}

impl<B> Service<Request<B>> for TokenEndpoint
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let endpoint = self.clone();
        Box::pin(async move { Ok(endpoint.handle(request).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionErrorKind;
    use http::header::RETRY_AFTER;

    #[test]
    fn a_refused_grant_is_400_and_an_outage_503() {
        let refused = grant_error(&SessionError::new(SessionErrorKind::RefreshReused));
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let down = grant_error(&SessionError::new(SessionErrorKind::StoreUnavailable));
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()[RETRY_AFTER], "1");
    }
}
