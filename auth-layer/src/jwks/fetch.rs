//! HTTP GET of key documents: bounded in time and size, `https` only
//! (plain `http` to loopback, or anywhere when explicitly allowed).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::ConfigError;

/// Why a key document could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer within the timeout.
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The connection or the request failed.
    #[error("request failed: {0}")]
    Request(String),
    /// An answer other than 200.
    #[error("answered {0}")]
    Status(StatusCode),
    /// A body larger than the cap.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// A body that is not the expected JSON document.
    #[error("not a valid document: {0}")]
    Invalid(String),
}

/// Fetches documents with the configured limits.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
    max_bytes: usize,
    allow_http: bool,
}

/// A fetched document and how long the server says it may be cached.
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
    pub(crate) max_age: Option<Duration>,
}

impl Fetcher {
    pub(crate) fn new(
        timeout: Duration,
        max_bytes: usize,
        allow_http: bool,
    ) -> Result<Self, ConfigError> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| ConfigError::setting("key source TLS", e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            timeout,
            max_bytes,
            allow_http,
        })
    }

    /// Checks that `url` may be fetched: absolute, `https` (or `http` to a
    /// loopback host, or anywhere when allowed).
    pub(crate) fn check_url(&self, url: &str) -> Result<Uri, ConfigError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| ConfigError::setting("key source URL", format!("{url:?} is not a URL")))?;
        let host = uri.host().ok_or_else(|| {
            ConfigError::setting("key source URL", format!("{url:?} has no host"))
        })?;
        match uri.scheme_str() {
            Some("https") => Ok(uri),
            Some("http") if self.allow_http || is_loopback(host) => Ok(uri),
            Some("http") => Err(ConfigError::setting(
                "key source URL",
                format!(
                    "{url:?} is plain http: keys must come over https (plain http is accepted for loopback hosts, or with danger_allow_http())"
                ),
            )),
            _ => Err(ConfigError::setting(
                "key source URL",
                format!("{url:?} is not an http(s) URL"),
            )),
        }
    }

    /// The bound on one fetch.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs `uri`; the whole exchange, body included, is bounded by the timeout.
    pub(crate) async fn get(&self, uri: &Uri) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(self.timeout, self.get_unbounded(uri)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn get_unbounded(&self, uri: &Uri) -> Result<Fetched, FetchError> {
        let request = Request::get(uri.clone())
            .header(ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| FetchError::Request(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| FetchError::Request(e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let body = Limited::new(response.into_body(), self.max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FetchError::TooLarge(self.max_bytes)
                } else {
                    FetchError::Request(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Fetched { body, max_age })
    }
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `max-age` of a `Cache-Control` value; `no-cache`/`no-store` mean 0.
fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            age = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            max_age("Max-Age=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "LOCALHOST"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[tokio::test]
    async fn only_https_except_loopback_unless_allowed() {
        let strict = Fetcher::new(Duration::from_secs(1), 1024, false).unwrap();
        assert!(strict.check_url("https://idp.example/jwks").is_ok());
        assert!(strict.check_url("http://127.0.0.1:8080/jwks").is_ok());
        let err = strict
            .check_url("http://idp.example/jwks")
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain http"), "{err}");
        assert!(strict.check_url("ftp://idp.example/jwks").is_err());
        assert!(strict.check_url("/relative").is_err());
        let lax = Fetcher::new(Duration::from_secs(1), 1024, true).unwrap();
        assert!(lax.check_url("http://idp.example/jwks").is_ok());
    }
}
