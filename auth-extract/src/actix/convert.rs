//! Between actix-web's `http` 0.2 types and the core's `http` 1 types, by
//! bytes.

use actix_web::HttpResponse;
use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header as actix_header;
use auth_layer::response::{Rejection, Responder};
use auth_layer::{AuthError, JwtAuth};

/// The responder's answer to `error`, as an actix-web response.
pub(super) fn respond<C, R: Responder<String>>(
    auth: &JwtAuth<C, R>,
    error: &AuthError,
    request_headers: &http::HeaderMap,
) -> HttpResponse {
    let rejection: Rejection<'_> = auth.rejection(error, request_headers);
    to_actix_response(auth.responder().respond(rejection))
}

/// Copies an actix-web (`http` 0.2) header map into an `http` 1 one, by
/// bytes. Standard header names are matched without allocating.
pub(super) fn to_http_headers(headers: &actix_header::HeaderMap) -> http::HeaderMap {
    let mut out = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let converted = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(mut converted)) = (name, converted) {
            converted.set_sensitive(value.is_sensitive());
            out.append(name, converted);
        }
    }
    out
}

/// The request URI as far as the core reads it: the query (a token source,
/// and the `access_token` check). Without a query nothing is parsed.
pub(super) fn to_http_uri(uri: &actix_web::http::Uri) -> http::Uri {
    // An absolute URI (HTTP/2) keeps its scheme and authority, which a
    // DPoP proof's `htu` is compared with; else the path and query.
    let text = match (uri.scheme(), uri.authority()) {
        (Some(_), Some(_)) => uri.to_string(),
        _ => uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
    };
    http::Uri::try_from(text).unwrap_or_default()
}

/// The request method as an `http` 1 one.
pub(super) fn to_http_method(method: &actix_web::http::Method) -> http::Method {
    // Both parse the same tokens; what actix-web accepted parses here.
    http::Method::from_bytes(method.as_str().as_bytes()).unwrap_or_default()
}

pub(super) fn to_actix_status(status: http::StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

/// An `http` 1 response as an actix-web one: status, headers (by bytes),
/// body, and the [`AuthError`] in the extensions for outer middleware.
pub(super) fn to_actix_response(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let mut builder = HttpResponse::build(to_actix_status(parts.status));
    for (name, value) in &parts.headers {
        let name = actix_header::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = actix_header::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            builder.append_header((name, value));
        }
    }
    let mut response = builder.body(body);
    if let Some(error) = parts.extensions.get::<AuthError>() {
        response.extensions_mut().insert(error.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_copied_whole_with_repeated_values_and_sensitivity() {
        let mut actix = actix_header::HeaderMap::new();
        actix.append(
            actix_header::AUTHORIZATION,
            actix_header::HeaderValue::from_static("Bearer a"),
        );
        actix.append(
            actix_header::COOKIE,
            actix_header::HeaderValue::from_static("a=1"),
        );
        actix.append(
            actix_header::COOKIE,
            actix_header::HeaderValue::from_static("b=2"),
        );
        let mut secret = actix_header::HeaderValue::from_static("s");
        secret.set_sensitive(true);
        actix.append(actix_header::HeaderName::from_static("x-api-token"), secret);
        let out = to_http_headers(&actix);
        assert_eq!(out["authorization"], "Bearer a");
        let cookies: Vec<_> = out.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(out["x-api-token"].is_sensitive());
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn only_a_query_is_parsed_from_the_uri() {
        let with = actix_web::http::Uri::from_static("/orders?access_token=x&y=1");
        assert_eq!(to_http_uri(&with).query(), Some("access_token=x&y=1"));
        let without = actix_web::http::Uri::from_static("/orders");
        assert_eq!(to_http_uri(&without).query(), None);
    }
}
