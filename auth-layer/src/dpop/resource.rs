//! DPoP at a resource: the layer's [`DpopMode`], and the request URI a
//! proof's `htu` is compared with.

use std::fmt;
use std::str::FromStr;

use http::header::HOST;
use http::{HeaderMap, Uri};

use crate::dpop::{DpopError, DpopVerifier};
use crate::error::ConfigError;

/// How a layer that checks DPoP proofs treats the tokens it is given (RFC
/// 9449 section 7). Set with
/// [`JwtAuthBuilder::dpop_mode`](crate::JwtAuthBuilder::dpop_mode).
///
/// In both modes a DPoP-bound token (`cnf.jkt`) must come as
/// `Authorization: DPoP <token>` with a proof by its key; as a bearer token
/// it is refused (`token_bound_to_key`), so a leaked bound token is useless
/// alone. The modes differ on tokens that are not bound.
///
/// ```
/// use auth_layer::dpop::DpopMode;
///
/// assert_eq!("required".parse::<DpopMode>().unwrap(), DpopMode::Required);
/// assert_eq!(DpopMode::default(), DpopMode::Allowed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// Unbound tokens pass as bearer tokens; challenges offer both
    /// `Bearer` and `DPoP` (section 7.2).
    #[default]
    Allowed,
    /// Every token must be bound and come with a proof; a bearer token is
    /// refused (`dpop_required`) and challenges offer `DPoP` only.
    Required,
}

impl FromStr for DpopMode {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allowed" => Ok(Self::Allowed),
            "required" => Ok(Self::Required),
            other => Err(ConfigError::setting(
                "dpop_mode",
                format!("{other:?} is not a DPoP mode; use allowed or required"),
            )),
        }
    }
}

impl fmt::Display for DpopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allowed => "allowed",
            Self::Required => "required",
        })
    }
}

/// What the layer checks proofs with.
pub(crate) struct DpopResource {
    pub(crate) verifier: DpopVerifier,
    pub(crate) mode: DpopMode,
    /// The external base URL (`https://api.example`, no trailing `/`), or
    /// `None` to use the request's own scheme and authority, else
    /// `http://` and its `Host`.
    pub(crate) public_url: Option<String>,
    /// The `algs` challenge parameter: the allowed algorithms, spaced.
    pub(crate) algs: String,
}

impl DpopResource {
    pub(crate) fn new(verifier: DpopVerifier, mode: DpopMode, public_url: Option<String>) -> Self {
        let algs = verifier
            .algorithms()
            .iter()
            .map(|alg| format!("{alg:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            verifier,
            mode,
            public_url,
            algs,
        }
    }

    /// The URI the client addressed, for `htu`: the public URL (or the
    /// request's scheme and authority, else `http://` and `Host`) and the
    /// request's path. A path with dot segments (also percent-encoded) is
    /// refused: `htu` is compared after they are removed, and a router that
    /// does not remove them would serve another route than the proof names.
    pub(crate) fn htu(&self, uri: &Uri, headers: &HeaderMap) -> Result<String, DpopError> {
        let path = uri.path();
        if has_dot_segment(path) {
            return Err(DpopError::UriMismatch);
        }
        if let Some(base) = &self.public_url {
            return Ok(format!("{base}{path}"));
        }
        if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
            return Ok(format!("{scheme}://{}{path}", authority.as_str()));
        }
        let mut hosts = headers.get_all(HOST).iter();
        match (hosts.next().and_then(|h| h.to_str().ok()), hosts.next()) {
            (Some(host), None) if !host.is_empty() => Ok(format!("http://{host}{path}")),
            _ => Err(DpopError::UriMismatch),
        }
    }
}

impl fmt::Debug for DpopResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopResource")
            .field("mode", &self.mode)
            .field("public_url", &self.public_url)
            .field("algs", &self.algs)
            .finish_non_exhaustive()
    }
}

/// Checks a configured public URL: an absolute `http`/`https` URL without
/// user information, query or fragment; returned without a trailing `/`.
pub(crate) fn check_public_url(url: &str) -> Result<String, ConfigError> {
    let bad = |why: &str| ConfigError::setting("public_url", format!("{url:?} {why}"));
    let trimmed = url.trim().trim_end_matches('/');
    if trimmed.contains(['?', '#']) {
        return Err(bad("must not carry a query or fragment"));
    }
    let parsed: Uri = trimmed
        .parse()
        .map_err(|_| bad("is not an absolute http(s) URL"))?;
    match (parsed.scheme_str(), parsed.authority()) {
        (Some("http" | "https"), Some(authority)) if !authority.as_str().contains('@') => {}
        _ => {
            return Err(bad(
                "is not an absolute http(s) URL without user information",
            ));
        }
    }
    if has_dot_segment(parsed.path()) {
        return Err(bad("must not hold dot segments"));
    }
    Ok(trimmed.to_owned())
}

/// Whether a raw path holds a `.` or `..` segment, also percent-encoded.
pub(crate) fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let mut dots = 0;
        let mut rest = segment;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                rest = r;
            } else if rest.len() >= 3
                && rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%2e"))
            {
                rest = rest.get(3..).unwrap_or_default();
            } else {
                return false;
            }
            dots += 1;
        }
        dots == 1 || dots == 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_in_any_spelling() {
        for path in [
            "/a/../b",
            "/a/./b",
            "/..",
            "/a/%2e%2E/b",
            "/a/.%2e",
            "/%2E",
            "/a/..",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in [
            "/",
            "/a/b",
            "/a/.../b",
            "/a/.b",
            "/a/b.",
            "/a/%2e%2e%2e",
            "/.well-known/x",
        ] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }

    #[test]
    fn the_request_uri_from_the_public_url_the_request_or_its_host() {
        let verifier = DpopVerifier::builder().build().unwrap();
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(HOST, "api.example:8080".parse().unwrap());
        let plain = DpopResource::new(verifier.clone(), DpopMode::Allowed, None);
        assert_eq!(
            plain.htu(&uri("/orders?x=1"), &headers).unwrap(),
            "http://api.example:8080/orders"
        );
        assert_eq!(
            plain
                .htu(&uri("https://h2.example/orders"), &headers)
                .unwrap(),
            "https://h2.example/orders"
        );
        assert_eq!(
            plain.htu(&uri("/orders"), &HeaderMap::new()),
            Err(DpopError::UriMismatch)
        );
        let public = check_public_url("https://api.example.com/v1/").unwrap();
        assert_eq!(public, "https://api.example.com/v1");
        let proxied = DpopResource::new(verifier, DpopMode::Allowed, Some(public));
        assert_eq!(
            proxied.htu(&uri("/orders"), &headers).unwrap(),
            "https://api.example.com/v1/orders"
        );
        assert_eq!(
            proxied.htu(&uri("/x/../orders"), &headers),
            Err(DpopError::UriMismatch)
        );
        for bad in [
            "api.example.com",
            "ftp://x",
            "https://u@x",
            "https://x/?q",
            "https://x/a/../b",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }
}
