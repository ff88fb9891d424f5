//! Where the token comes from.
//!
//! Sources are tried in the configured order; by default only the
//! `Authorization: Bearer` header (scheme case-insensitive, RFC 6750 section
//! 2.1). Two *different* tokens in one request are refused with 400
//! `invalid_request`, and so is an `access_token` query parameter unless the
//! query is a configured source (RFC 6750 section 2.3 discourages it).
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::source::TokenSource;
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .token_sources([TokenSource::Bearer, TokenSource::cookie("access_token")])
//!     .build()
//!     .unwrap();
//! # let _ = auth;
//! ```

use http::header::{AUTHORIZATION, COOKIE, HeaderName};
use http::{HeaderMap, Uri};

use crate::error::{AuthError, ErrorKind};

/// One place a token may be found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A cookie with this name.
    Cookie(String),
    /// A custom header whose whole value is the token (e.g. `x-access-token`).
    Header(HeaderName),
    /// A query parameter (RFC 6750 section 2.3; leaks into logs, use only when
    /// nothing else works, e.g. WebSocket upgrades from browsers).
    Query(String),
}

impl TokenSource {
    /// A cookie source.
    pub fn cookie(name: impl Into<String>) -> Self {
        Self::Cookie(name.into())
    }

    /// A query parameter source.
    pub fn query(name: impl Into<String>) -> Self {
        Self::Query(name.into())
    }
}

/// How the token came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 section 7.1), read only when the
    /// layer checks DPoP proofs.
    Dpop,
    /// A cookie, a custom header or the query: a bearer token too.
    Other,
}

/// The token found in a request, borrowed from it, and how it came.
///
/// The token is kept as bytes: every source yields ASCII text (visible
/// ASCII on the usual `Authorization` path), but a cache hit looks it up by
/// its bytes and never needs it as a `str`, which would cost a UTF-8 check
/// of the whole token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'a> {
    pub(crate) token: &'a [u8],
    pub(crate) scheme: Scheme,
}

/// The token found in a request. `dpop`: whether `Authorization: DPoP`
/// carries a token (else it is another scheme, like `Basic`).
pub(crate) fn find<'a>(
    sources: &'a [TokenSource],
    headers: &'a HeaderMap,
    uri: &'a Uri,
    dpop: bool,
) -> Result<Option<Found<'a>>, AuthError> {
    let mut found: Option<Found<'a>> = None;
    let mut add = |token: &'a [u8], scheme: Scheme| -> Result<(), AuthError> {
        let this = Found { token, scheme };
        match found {
            // The same token twice is one token (a header and a cookie,
            // say); but sent both as `DPoP` and as a bearer token, it is
            // two ways of reading it.
            Some(seen)
                if seen.token != token
                    || (seen.scheme == Scheme::Dpop) != (scheme == Scheme::Dpop) =>
            {
                Err(AuthError::new(
                    ErrorKind::MultipleTokens,
                    "the request carries more than one token",
                ))
            }
            _ => {
                found = Some(this);
                Ok(())
            }
        }
    };
    let mut query_allowed = false;
    for source in sources {
        match source {
            TokenSource::Bearer => {
                for value in headers.get_all(AUTHORIZATION) {
                    if let Some((token, scheme)) = authorization(value, dpop)? {
                        add(token, scheme)?;
                    }
                }
            }
            TokenSource::Cookie(name) => {
                for value in headers.get_all(COOKIE) {
                    let Ok(value) = value.to_str() else { continue };
                    for token in cookies(value, name) {
                        add(token.as_bytes(), Scheme::Other)?;
                    }
                }
            }
            TokenSource::Header(name) => {
                for value in headers.get_all(name) {
                    let token = value
                        .to_str()
                        .map_err(|_| AuthError::malformed("token header is not visible ASCII"))?
                        .trim();
                    if token.is_empty() {
                        return Err(AuthError::malformed("token header is empty"));
                    }
                    add(token.as_bytes(), Scheme::Other)?;
                }
            }
            TokenSource::Query(name) => {
                query_allowed |= name == "access_token";
                for token in query_params(uri, name) {
                    add(token.as_bytes(), Scheme::Other)?;
                }
            }
        }
    }
    // Most requests have no query at all: asked first, it spares them the
    // iterator's set-up.
    if !query_allowed && uri.query().is_some() && query_params(uri, "access_token").next().is_some()
    {
        return Err(AuthError::new(
            ErrorKind::TokenInQuery,
            "tokens are not accepted in the query string; use the Authorization header",
        ));
    }
    Ok(found)
}

/// `Bearer <token>`, and `DPoP <token>` when `dpop`; another scheme (e.g.
/// `Basic`) carries no token of ours. The token is ASCII: visible ASCII on
/// the quick path, which reads nearly every header.
///
/// The usual header (the scheme, one space, a token of visible ASCII) is
/// read in one pass over its bytes that the compiler vectorises, and not
/// checked again as UTF-8 (visible ASCII is); anything else is read by
/// [`authorization_in_full`], which gives every header the same answer,
/// only slower.
#[inline]
fn authorization(
    value: &http::HeaderValue,
    dpop: bool,
) -> Result<Option<(&[u8], Scheme)>, AuthError> {
    let bytes = value.as_bytes();
    let (scheme, token) = match bytes.split_first_chunk::<7>() {
        Some((head, token)) if is_scheme(head, b"bearer ") => (Scheme::Bearer, token),
        _ => match bytes.split_first_chunk::<5>() {
            Some((head, token)) if dpop && is_scheme(head, b"dpop ") => (Scheme::Dpop, token),
            _ => return authorization_in_full(value, dpop),
        },
    };
    // Visible ASCII, no space: `0x21..=0x7e`, that is every byte less 0x21
    // (wrapping) below 0x5e. The largest of them, without a branch: a
    // maximum the compiler takes 32 bytes at a time.
    let visible = token
        .iter()
        .fold(0u8, |max, &b| max.max(b.wrapping_sub(0x21)))
        < 0x5e;
    if visible && !token.is_empty() {
        Ok(Some((token, scheme)))
    } else {
        authorization_in_full(value, dpop)
    }
}

/// Whether `head` is `scheme` (lowercase ASCII letters, then one space)
/// with its letters in any case: a letter and its capital differ only in
/// bit 0x20, so the letters are compared with that bit set, the space as it
/// is; without a branch, for the compiler to compare the bytes at once.
#[inline]
fn is_scheme<const N: usize>(head: &[u8; N], scheme: &[u8; N]) -> bool {
    head.iter().zip(scheme).fold(true, |same, (&h, &s)| {
        let case = if s == b' ' { 0 } else { 0x20 };
        same & ((h | case) == s)
    })
}

/// [`authorization`] for any header: a header that is not visible ASCII,
/// spaces around the token, an empty token, a space inside it.
#[cold]
fn authorization_in_full(
    value: &http::HeaderValue,
    dpop: bool,
) -> Result<Option<(&[u8], Scheme)>, AuthError> {
    let value = value
        .to_str()
        .map_err(|_| AuthError::malformed("authorization header is not visible ASCII"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(AuthError::malformed("bearer token is empty"));
    }
    if token.contains(' ') {
        return Err(AuthError::malformed("bearer token contains a space"));
    }
    Ok(Some((token.as_bytes(), scheme)))
}

fn cookies<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    header.split(';').filter_map(move |pair| {
        let (k, v) = pair.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim() == name && !v.is_empty()).then_some(v)
    })
}

fn query_params<'a>(uri: &'a Uri, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    uri.query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(move |pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], uri: &str) -> (HeaderMap, Uri) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        (map, uri.parse().unwrap())
    }

    fn run(
        sources: &[TokenSource],
        headers: &[(&str, &str)],
        uri: &str,
    ) -> Result<Option<String>, ErrorKind> {
        let (h, u) = req(headers, uri);
        find(sources, &h, &u, false)
            .map(|t| t.map(|found| String::from_utf8(found.token.to_vec()).unwrap()))
            .map_err(|e| e.kind())
    }

    #[test]
    fn the_dpop_scheme_carries_a_token_only_when_proofs_are_checked() {
        let (h, u) = req(&[("authorization", "DPoP abc")], "/");
        let bearer_only = find(&[TokenSource::Bearer], &h, &u, false).unwrap();
        assert_eq!(bearer_only, None, "DPoP is another scheme then");
        let found = find(&[TokenSource::Bearer], &h, &u, true).unwrap().unwrap();
        assert_eq!((found.token, found.scheme), (&b"abc"[..], Scheme::Dpop));
        let (h, u) = req(
            &[
                ("authorization", "DPoP abc"),
                ("authorization", "Bearer abc"),
            ],
            "/",
        );
        assert_eq!(
            find(&[TokenSource::Bearer], &h, &u, true).map_err(|e| e.kind()),
            Err(ErrorKind::MultipleTokens),
            "one token under two schemes is ambiguous"
        );
    }

    #[test]
    fn a_scheme_matches_its_letters_in_any_case_and_nothing_else() {
        // Every byte in every place of the scheme and its space: the quick
        // comparison agrees with `eq_ignore_ascii_case`.
        for scheme in [&b"bearer "[..], &b"dpop "[..]] {
            for at in 0..scheme.len() {
                for byte in 0..=u8::MAX {
                    let mut head = scheme.to_vec();
                    head[at] = byte;
                    let quick = match scheme.len() {
                        7 => is_scheme::<7>(head[..].try_into().unwrap(), b"bearer "),
                        _ => is_scheme::<5>(head[..].try_into().unwrap(), b"dpop "),
                    };
                    assert_eq!(
                        quick,
                        head.eq_ignore_ascii_case(scheme),
                        "{:?}",
                        String::from_utf8_lossy(&head)
                    );
                }
            }
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "Bearer   abc  "] {
            assert_eq!(
                run(&[TokenSource::Bearer], &[("authorization", value)], "/"),
                Ok(Some("abc".into())),
                "{value}"
            );
        }
    }

    #[test]
    fn the_quick_reading_of_authorization_answers_as_the_full_one() {
        // Every header the quick path reads must get the answer the full
        // reading gives; the others go to the full reading.
        let mut values: Vec<Vec<u8>> = [
            "Bearer abc.def.ghi",
            "bearer abc",
            "BEARER abc",
            "Bearer  abc",
            "Bearer abc ",
            "Bearer a b",
            "Bearer",
            "Bearer ",
            "Bearerx abc",
            "Bear abc",
            "DPoP abc",
            "dpop abc",
            "DPoP  abc",
            "DPoP",
            "Basic YWxpY2U6cHc=",
            "Bearer a\tb",
            "Bearer \tabc",
            "Bearer ~!#$%&'*+-.^_`|",
            "Bearer \u{7f}",
            " Bearer abc",
            "",
        ]
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
        values.push(b"Bearer ab\xc3\xa9".to_vec());
        values.push(b"Bearer \x01abc".to_vec());
        values.push(b"Basic \xff".to_vec());
        /// A reading's answer, owned: the token and scheme, or the error.
        type Described = Result<Option<(Vec<u8>, Scheme)>, (ErrorKind, String)>;
        fn described(r: Result<Option<(&[u8], Scheme)>, AuthError>) -> Described {
            r.map(|found| found.map(|(token, scheme)| (token.to_vec(), scheme)))
                .map_err(|e| (e.kind(), e.to_string()))
        }
        for value in &values {
            let Ok(header) = http::HeaderValue::from_bytes(value) else {
                continue;
            };
            for dpop in [false, true] {
                assert_eq!(
                    described(authorization(&header, dpop)),
                    described(authorization_in_full(&header, dpop)),
                    "{header:?}, dpop {dpop}"
                );
            }
        }
    }

    #[test]
    fn other_schemes_mean_no_token() {
        assert_eq!(
            run(
                &[TokenSource::Bearer],
                &[("authorization", "Basic YWxpY2U6cHc=")],
                "/"
            ),
            Ok(None)
        );
        assert_eq!(run(&[TokenSource::Bearer], &[], "/"), Ok(None));
    }

    #[test]
    fn empty_or_spaced_bearer_is_malformed() {
        for value in ["Bearer", "Bearer  ", "Bearer a b"] {
            assert_eq!(
                run(&[TokenSource::Bearer], &[("authorization", value)], "/"),
                Err(ErrorKind::Malformed),
                "{value}"
            );
        }
    }

    #[test]
    fn two_different_tokens_are_refused_but_the_same_twice_is_fine() {
        let both = [TokenSource::Bearer, TokenSource::cookie("at")];
        assert_eq!(
            run(
                &both,
                &[("authorization", "Bearer a"), ("cookie", "x=1; at=b")],
                "/"
            ),
            Err(ErrorKind::MultipleTokens)
        );
        assert_eq!(
            run(
                &both,
                &[("authorization", "Bearer a"), ("cookie", "at=a")],
                "/"
            ),
            Ok(Some("a".into()))
        );
        assert_eq!(
            run(
                &[TokenSource::Bearer],
                &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
                "/"
            ),
            Err(ErrorKind::MultipleTokens)
        );
    }

    #[test]
    fn cookie_and_custom_header_sources() {
        assert_eq!(
            run(
                &[TokenSource::cookie("at")],
                &[("cookie", "a=1; at=tok; b=2")],
                "/"
            ),
            Ok(Some("tok".into()))
        );
        assert_eq!(
            run(&[TokenSource::cookie("at")], &[("cookie", "xat=tok")], "/"),
            Ok(None)
        );
        let h = TokenSource::Header(HeaderName::from_static("x-access-token"));
        assert_eq!(
            run(&[h], &[("x-access-token", "tok")], "/"),
            Ok(Some("tok".into()))
        );
    }

    #[test]
    fn query_token_refused_unless_configured() {
        assert_eq!(
            run(&[TokenSource::Bearer], &[], "/p?access_token=abc"),
            Err(ErrorKind::TokenInQuery)
        );
        assert_eq!(
            run(
                &[TokenSource::query("access_token")],
                &[],
                "/p?x=1&access_token=abc"
            ),
            Ok(Some("abc".into()))
        );
    }
}
