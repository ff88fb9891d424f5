//! The receiver's answers (section 2.8): 200 on success, 400
//! `{"error":"invalid_request"}` for every refusal (no detail: the reason is
//! logged, and put in the response's extensions), 405 for a method other
//! than POST, 503 with `Retry-After` when the logout could not be recorded.
//! Every answer carries `Cache-Control: no-store`.

use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};

use crate::logout::rejection::LogoutRejection;

/// The body of every 400: the one error code section 2.8 names.
pub(crate) const INVALID_REQUEST: &str = r#"{"error":"invalid_request"}"#;

fn answer(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 200: the logout succeeded (or had already happened).
pub(crate) fn logged_out() -> Response<String> {
    answer(StatusCode::OK, String::new())
}

/// 400 `invalid_request`, the same for every reason.
pub(crate) fn refused(reason: LogoutRejection) -> Response<String> {
    let mut response = answer(StatusCode::BAD_REQUEST, INVALID_REQUEST.to_owned());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(reason);
    response
}

/// 405 with `Allow: POST`.
pub(crate) fn method_not_allowed() -> Response<String> {
    let mut response = answer(StatusCode::METHOD_NOT_ALLOWED, String::new());
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    response
}

/// 503 with `Retry-After`: the provider may send the token again.
pub(crate) fn unavailable(retry_after: &HeaderValue) -> Response<String> {
    let mut response = answer(StatusCode::SERVICE_UNAVAILABLE, String::new());
    response
        .headers_mut()
        .insert(RETRY_AFTER, retry_after.clone());
    response
}
