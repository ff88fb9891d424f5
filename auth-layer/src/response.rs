//! Rejections as HTTP answers (RFC 6750 section 3).
//!
//! One function maps an [`ErrorKind`](crate::ErrorKind) to status, RFC 6750
//! error code and `WWW-Authenticate`; a [`Responder`] decides the body. The
//! default sends an empty body; [`JsonResponder`] adds
//! `{"error","error_description","code"}`; any
//! `Fn(Rejection<'_>) -> Response<B>` can replace both.
//!
//! ```
//! use auth_layer::{JwtAuth, Rejection};
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

use std::time::Duration;

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::error::AuthError;

/// A rejected request, handed to a [`Responder`] to build the answer.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    error: &'a AuthError,
    realm: &'a str,
    retry_after: Duration,
    request_headers: &'a HeaderMap,
}

impl<'a> Rejection<'a> {
    pub(crate) fn new(
        error: &'a AuthError,
        realm: &'a str,
        retry_after: Duration,
        request_headers: &'a HeaderMap,
    ) -> Self {
        Self {
            error,
            realm,
            retry_after,
            request_headers,
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

    /// The status for this rejection.
    pub fn status(&self) -> StatusCode {
        self.error.kind().status()
    }

    /// The `WWW-Authenticate` challenge, e.g.
    /// `Bearer realm="api", error="invalid_token", error_description="token expired"`.
    pub fn www_authenticate(&self) -> HeaderValue {
        let kind = self.error.kind();
        let value = match kind.rfc6750_error() {
            None => format!("Bearer realm=\"{}\"", self.realm),
            Some(code) => format!(
                "Bearer realm=\"{}\", error=\"{code}\", error_description=\"{}\"",
                self.realm,
                self.error.description()
            ),
        };
        // The realm is checked at build time and descriptions are constants,
        // so this cannot fail; fall back to the bare scheme if it ever did.
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer"))
    }

    /// The JSON body: `{"error","error_description","code"}`.
    pub fn json_body(&self) -> String {
        let kind = self.error.kind();
        serde_json::json!({
            "error": kind.rfc6750_error().unwrap_or(match kind {
                crate::ErrorKind::StoreUnavailable => "temporarily_unavailable",
                _ => "unauthorized",
            }),
            "error_description": self.error.description(),
            "code": kind.code(),
        })
        .to_string()
    }

    /// A response with this rejection's status and headers, the
    /// [`AuthError`] in its extensions, and `body`. A 503 carries
    /// `Retry-After` instead of a challenge: the client did nothing wrong.
    pub fn response<B>(&self, body: B) -> Response<B> {
        let mut response = Response::new(body);
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
        response.extensions_mut().insert(self.error.clone());
        response
    }
}

/// Builds the response for a rejected request.
///
/// Implemented by [`DefaultResponder`], [`JsonResponder`] and every
/// `Fn(Rejection<'_>) -> Response<B> + Clone + Send + Sync + 'static`.
pub trait Responder<B>: Clone + Send + Sync + 'static {
    /// The answer to send instead of calling the inner service.
    fn respond(&self, rejection: Rejection<'_>) -> Response<B>;
}

/// Status and headers only, with an empty body (`B::default()`), so the
/// layer composes with any body type: axum's, hyper's, tonic's.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultResponder;

impl<B: Default> Responder<B> for DefaultResponder {
    fn respond(&self, rejection: Rejection<'_>) -> Response<B> {
        rejection.response(B::default())
    }
}

/// Status and headers plus a JSON body
/// `{"error","error_description","code"}`, for bodies built from a `String`
/// (axum's `Body`, `Full<Bytes>`, `String`, ...).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonResponder;

impl<B: From<String>> Responder<B> for JsonResponder {
    fn respond(&self, rejection: Rejection<'_>) -> Response<B> {
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
    fn store_outage_is_503_with_retry_after_and_no_challenge() {
        let e = AuthError::new(
            ErrorKind::StoreUnavailable,
            "the revocation store is unavailable",
        );
        let h = HeaderMap::new();
        let r = Rejection::new(&e, "api", Duration::from_secs(2), &h);
        let resp: Response<()> = DefaultResponder.respond(r);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[RETRY_AFTER], "2");
        assert!(!resp.headers().contains_key(WWW_AUTHENTICATE));
        let body: serde_json::Value = serde_json::from_str(&r.json_body()).unwrap();
        assert_eq!(body["code"], "store_unavailable");
    }
}
