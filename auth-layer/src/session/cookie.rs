//! [`RefreshCookie`]: the refresh token in a `__Host-` cookie, set on a
//! login, rotated on a refresh, cleared on a refusal, and read back with
//! two different cookies refused.

use std::borrow::Cow;

use http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Response, StatusCode, Uri};

use super::answers::TokenResponse;
use super::error::{SessionError, SessionErrorKind};
use super::outcome::{Refreshed, TokenPair};
use crate::error::ConfigError;

/// The `SameSite` attribute of the refresh cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent only with requests from the site itself (the default).
    #[default]
    Strict,
    /// Also sent on top-level navigations from other sites.
    Lax,
}

/// The refresh token in a cookie: `__Host-refresh_token` (the name is
/// configurable, the prefix is not), `HttpOnly`, `Secure`, `Path=/`,
/// `SameSite=Strict`, no `Domain`, and a `Max-Age` that ends with the
/// session's absolute limit.
///
/// The `__Host-` prefix makes browsers accept the cookie only from this
/// host, over HTTPS, with `Path=/` and without `Domain`, so a sibling
/// subdomain cannot set one that shadows it (cookie tossing). Since a
/// browser attaches the cookie by itself, [`read`](Self::read) also refuses
/// a request another site sent (`Sec-Fetch-Site`, `Origin`), and a request
/// carrying two different refresh cookies, before anything is spent.
///
/// The answers are framework-free `http::Response<String>`s; in axum they
/// are responses as they are, and `auth_extract` has an extractor
/// (`RefreshCookieToken`) and the actix-web conversion.
///
/// ```
/// use auth_layer::revocation::RevocationCache;
/// use auth_layer::session::{RefreshCookie, Sessions, SigningKey, TokenIssuer};
/// use auth_layer::store::MemoryStore;
/// use http::{HeaderMap, Uri};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap()).build().unwrap();
/// let revocation = RevocationCache::builder(store.clone()).build().unwrap();
/// let sessions = Sessions::builder(issuer, store, revocation).build().unwrap();
/// let cookie = RefreshCookie::new();
///
/// // Login: the access token in the JSON body, the refresh token in the cookie.
/// let pair = sessions.login("alice", ()).await.unwrap();
/// let response = cookie.login(&pair);
/// let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
/// assert!(set_cookie.starts_with("__Host-refresh_token="));
/// assert!(set_cookie.contains("HttpOnly; Secure; SameSite=Strict"));
/// assert!(!response.body().contains("refresh_token"));
///
/// // Refresh: the browser sends the cookie back.
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", format!("__Host-refresh_token={}", pair.refresh_token().as_str()).parse().unwrap());
/// let token = cookie.read(&headers, &Uri::from_static("/refresh")).unwrap();
/// let response = match sessions.refresh(token).await {
///     Ok(refreshed) => cookie.refreshed(&refreshed),
///     Err(e) => cookie.refused(&e),
/// };
/// assert_eq!(response.status(), 200);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RefreshCookie {
    name: Cow<'static, str>,
    same_site: SameSite,
    public_origin: Option<String>,
}

impl Default for RefreshCookie {
    fn default() -> Self {
        Self::new()
    }
}

impl RefreshCookie {
    /// The default name.
    pub const NAME: &'static str = "__Host-refresh_token";

    /// The cookie named [`NAME`](Self::NAME).
    pub fn new() -> Self {
        Self {
            name: Cow::Borrowed(Self::NAME),
            same_site: SameSite::Strict,
            public_origin: None,
        }
    }

    /// The cookie named `name`, which must start with `__Host-` and be a
    /// cookie name (RFC 6265 section 4.1.1: a token, no separators).
    ///
    /// # Errors
    ///
    /// A name without the prefix, or not a token.
    pub fn named(name: impl Into<Cow<'static, str>>) -> Result<Self, ConfigError> {
        let name = name.into();
        let token = |b: u8| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b);
        if !name.starts_with("__Host-") || name.len() == "__Host-".len() {
            return Err(ConfigError::setting(
                "refresh cookie",
                format!(
                    "{name:?} must start with __Host- and go on: the prefix keeps other hosts from shadowing it"
                ),
            ));
        }
        if !name.bytes().all(token) {
            return Err(ConfigError::setting(
                "refresh cookie",
                format!("{name:?} is not a cookie name (RFC 6265 section 4.1.1)"),
            ));
        }
        Ok(Self {
            name,
            ..Self::new()
        })
    }

    /// `SameSite=Lax` instead of `Strict`.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The origin browsers address the app by (`https://app.example`),
    /// which a request's `Origin` must be; without it, `Origin` must be
    /// the request's own host over `https` (or `http` on `localhost`,
    /// `127.x.y.z` and `[::1]`).
    ///
    /// # Errors
    /// Not an `http` or `https` origin (scheme and host, a port at most).
    pub fn public_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        let normal = normalised_origin(origin.trim_end_matches('/')).ok_or_else(|| {
            ConfigError::setting(
                "public_origin",
                format!("{origin:?} is not an origin; set scheme and host only, e.g. https://app.example"),
            )
        })?;
        self.public_origin = Some(normal);
        Ok(self)
    }

    /// The public origin, lowercase and without a default port, if set.
    pub fn origin(&self) -> Option<&str> {
        self.public_origin.as_deref()
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` value for `token`, kept for `max_age_secs`.
    pub fn set(&self, token: &str, max_age_secs: i64) -> HeaderValue {
        let same_site = match self.same_site {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
        };
        let cookie = format!(
            "{}={token}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite={same_site}",
            self.name,
            max_age_secs.max(0)
        );
        // A refresh token is base64url and a dot, the name a token: always
        // a header value; an empty one (never sent) otherwise.
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `Set-Cookie` value that removes the cookie (logout, a refused
    /// refresh).
    pub fn clear(&self) -> HeaderValue {
        self.set("", 0)
    }

    /// The `Set-Cookie` value for the pair's refresh token, kept until the
    /// session's absolute limit.
    pub fn set_for(&self, pair: &TokenPair) -> HeaderValue {
        self.set(
            pair.refresh_token().as_str(),
            pair.session().expires_at - pair.access_token().issued_at(),
        )
    }

    /// The answer to a login: the token response (RFC 6749 section 5.1)
    /// with the access token, and the refresh token in the cookie only.
    pub fn login(&self, pair: &TokenPair) -> Response<String> {
        let mut response = TokenResponse::new(pair.access_token()).response();
        response
            .headers_mut()
            .insert(SET_COOKIE, self.set_for(pair));
        response
    }

    /// The answer to a refresh: the new access token, and the rotated
    /// refresh token in the cookie. A [duplicate](Refreshed::Duplicate)
    /// within the grace window leaves the cookie the winning request set.
    pub fn refreshed(&self, refreshed: &Refreshed) -> Response<String> {
        let mut response = TokenResponse::new(refreshed.access_token()).response();
        if let Refreshed::Rotated(pair) = refreshed {
            response
                .headers_mut()
                .insert(SET_COOKIE, self.set_for(pair));
        }
        response
    }

    /// The answer to a failed refresh ([`SessionError::response`]), with
    /// the cookie cleared when the refresh token is dead (401); a 400 or a
    /// 503 spent nothing and keeps it.
    pub fn refused(&self, error: &SessionError) -> Response<String> {
        let mut response = error.response::<String>();
        if response.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(SET_COOKIE, self.clear());
        }
        response
    }

    /// The refresh token of a request, refused with nothing spent when:
    ///
    /// | the request | kind | answer |
    /// |---|---|---|
    /// | sent by another site: `Sec-Fetch-Site` other than `same-origin` or `none`, or an `Origin` other than the app's | [`CrossOrigin`](SessionErrorKind::CrossOrigin) | 403 `invalid_request`, `cross_origin_request` |
    /// | two different cookies of this name (one shadowing the other) | [`MultipleTokens`](SessionErrorKind::MultipleTokens) | 400 `invalid_request`, `multiple_tokens` |
    /// | no such cookie | [`RefreshInvalid`](SessionErrorKind::RefreshInvalid) | 401 `invalid_grant`, `refresh_invalid` |
    ///
    /// A request with neither `Sec-Fetch-Site` nor `Origin` is not a
    /// browser's and passes the origin check. `uri` gives the host when
    /// there is no `Host` header (HTTP/2).
    ///
    /// # Errors
    ///
    /// The refusals above.
    pub fn read<'a>(&self, headers: &'a HeaderMap, uri: &Uri) -> Result<&'a str, SessionError> {
        self.check_origin(headers, uri)?;
        let mut presented = cookies(headers, &self.name);
        let first = presented.next();
        if first.is_some_and(|first| presented.any(|other| other != first)) {
            return Err(SessionError::new(SessionErrorKind::MultipleTokens));
        }
        first
            .filter(|token| !token.is_empty())
            .ok_or_else(|| SessionError::new(SessionErrorKind::RefreshInvalid))
    }

    fn check_origin(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), SessionError> {
        let refused = || SessionError::new(SessionErrorKind::CrossOrigin);
        let values = |name| {
            headers
                .get_all(name)
                .iter()
                .map(|value| value.to_str().unwrap_or_default())
        };
        if values("sec-fetch-site").any(|site| !matches!(site.trim(), "same-origin" | "none")) {
            return Err(refused());
        }
        let host = headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()));
        let own = |origin: &str| {
            let Some(origin) = normalised_origin(origin) else {
                return false;
            };
            match (self.public_origin.as_deref(), host) {
                (Some(public), _) => public == origin,
                (None, Some(host)) => {
                    let scheme = origin.split_once("://").map_or("", |(scheme, _)| scheme);
                    // Plain http only on loopback (development): elsewhere a
                    // page served over http may be anyone's.
                    (scheme == "https" || loopback(host))
                        && normalised_origin(&format!("{scheme}://{host}")).as_deref()
                            == Some(origin.as_str())
                }
                (None, None) => false,
            }
        };
        if values(ORIGIN.as_str()).any(|origin| !own(origin)) {
            return Err(refused());
        }
        Ok(())
    }
}

/// Every value of the cookie `name` in the request, in order, read by the
/// bytes: another cookie's non-ASCII value does not hide this one. A value
/// of this name that is not UTF-8 counts as an empty one.
fn cookies<'a, 'n>(headers: &'a HeaderMap, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
where
    'a: 'n,
{
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b';'))
        .filter_map(move |pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|b| *b == b'=')?;
            let (key, value) = pair.split_at(eq);
            if key != name.as_bytes() {
                return None;
            }
            let value = value.get(1..).unwrap_or_default();
            Some(std::str::from_utf8(value).map_or("", |v| v.trim_matches('"')))
        })
}

/// Whether a `Host` names this machine: `localhost`, `127.x.y.z` or `[::1]`.
fn loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    name.eq_ignore_ascii_case("localhost") || name.starts_with("127.") || name == "[::1]"
}

/// An http(s) origin as `scheme://host[:port]`, lowercase and without the
/// scheme's default port; `None` for anything else (`null` included).
fn normalised_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    let plain = !authority.is_empty() && !authority.contains(['/', '?', '#', '@', ' ']);
    plain.then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn reads_one_cookie_and_refuses_two_different_ones() {
        let cookie = RefreshCookie::new();
        let uri = Uri::from_static("/refresh");
        let one = headers(&[("cookie", "a=1; __Host-refresh_token=t1.x; b=2")]);
        assert_eq!(cookie.read(&one, &uri).unwrap(), "t1.x");
        let same_twice = headers(&[
            ("cookie", "__Host-refresh_token=t1.x"),
            ("cookie", "__Host-refresh_token=t1.x"),
        ]);
        assert_eq!(cookie.read(&same_twice, &uri).unwrap(), "t1.x");
        let two = headers(&[(
            "cookie",
            "__Host-refresh_token=t1.x; __Host-refresh_token=t2.y",
        )]);
        assert_eq!(
            cookie.read(&two, &uri).unwrap_err().kind(),
            SessionErrorKind::MultipleTokens
        );
        let mut other_non_ascii = HeaderMap::new();
        other_non_ascii.append(
            "cookie",
            http::HeaderValue::from_bytes(
                "lang=fran\u{e7}ais; __Host-refresh_token=t1.x".as_bytes(),
            )
            .unwrap(),
        );
        assert_eq!(cookie.read(&other_non_ascii, &uri).unwrap(), "t1.x");
        let none = headers(&[("cookie", "refresh_token=t1.x")]);
        assert_eq!(
            cookie.read(&none, &uri).unwrap_err().kind(),
            SessionErrorKind::RefreshInvalid
        );
    }

    #[test]
    fn refuses_other_sites() {
        let uri = Uri::from_static("/refresh");
        let cookie = RefreshCookie::new();
        let token = ("cookie", "__Host-refresh_token=t1.x");
        let refused = |c: &RefreshCookie, h: &HeaderMap| {
            c.read(h, &uri)
                .err()
                .map(|e| (e.kind(), e.kind().status().as_u16()))
        };
        let cross = Some((SessionErrorKind::CrossOrigin, 403));
        assert_eq!(
            refused(
                &cookie,
                &headers(&[token, ("sec-fetch-site", "cross-site")])
            ),
            cross
        );
        assert_eq!(
            refused(&cookie, &headers(&[token, ("sec-fetch-site", "same-site")])),
            cross
        );
        assert_eq!(
            refused(
                &cookie,
                &headers(&[token, ("sec-fetch-site", "same-origin")])
            ),
            None
        );
        let own = [
            token,
            ("host", "app.example"),
            ("origin", "https://app.example:443"),
        ];
        assert_eq!(refused(&cookie, &headers(&own)), None);
        let plain = [
            token,
            ("host", "app.example"),
            ("origin", "http://app.example"),
        ];
        assert_eq!(
            refused(&cookie, &headers(&plain)),
            cross,
            "http only on loopback"
        );
        let local = [
            token,
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        assert_eq!(refused(&cookie, &headers(&local)), None);
        let other = [
            token,
            ("host", "app.example"),
            ("origin", "https://evil.example"),
        ];
        assert_eq!(refused(&cookie, &headers(&other)), cross);
        assert_eq!(
            refused(&cookie, &headers(&[token, ("origin", "null")])),
            cross
        );
        let public = RefreshCookie::new()
            .public_origin("https://APP.example:443/")
            .unwrap();
        assert_eq!(public.origin(), Some("https://app.example"));
        assert!(RefreshCookie::new().public_origin("app.example").is_err());
        let proxied = [
            token,
            ("host", "10.0.0.7:8080"),
            ("origin", "https://app.example"),
        ];
        assert_eq!(refused(&public, &headers(&proxied)), None);
        assert_eq!(refused(&cookie, &headers(&proxied)), cross);
    }

    #[test]
    fn names_keep_the_prefix() {
        assert!(RefreshCookie::named("__Host-rt").is_ok());
        assert!(RefreshCookie::named("refresh").is_err());
        assert!(RefreshCookie::named("__Secure-refresh").is_err());
        assert!(RefreshCookie::named("__Host-").is_err());
        assert!(RefreshCookie::named("__Host-a;b").is_err());
        let lax = RefreshCookie::named("__Host-rt")
            .unwrap()
            .same_site(SameSite::Lax);
        assert_eq!(
            lax.set("t.x", 60),
            "__Host-rt=t.x; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            lax.clear(),
            "__Host-rt=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
        );
    }
}
