//! Reading a compact JWS before its signature is checked: segments,
//! base64url, the JOSE header, the algorithm name, and (only to pick a
//! trusted issuer's keys) the unverified `iss`.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::error::{AuthError, ErrorKind};
use crate::keys::parse_algorithm;

/// The JOSE header fields the verifier reads.
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) typ: Option<Cow<'a, str>>,
    /// `None` when absent; `Some(true)` for a non-empty array of names,
    /// `Some(false)` for anything else (`null`, `[]`, a string): RFC 7515
    /// section 4.1.11 allows only the former.
    #[serde(default, deserialize_with = "crit")]
    pub(crate) crit: Option<bool>,
}

fn crit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(Some(matches!(
        &value,
        serde_json::Value::Array(names) if !names.is_empty() && names.iter().all(serde_json::Value::is_string)
    )))
}

/// The `iss` of a payload not yet verified, read leniently: only to pick
/// the trusted issuer's keys.
pub(crate) fn unverified_issuer(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss<'a> {
        #[serde(borrow, default)]
        iss: Option<Cow<'a, str>>,
    }
    serde_json::from_slice::<Iss<'_>>(payload)
        .ok()?
        .iss
        .map(Cow::into_owned)
}

/// A token found in a request, as text. Every token source yields ASCII
/// text, so this cannot fail for a token the layer found; an error is
/// still an answer, not a panic.
pub(crate) fn text(token: &[u8]) -> Result<&str, AuthError> {
    std::str::from_utf8(token).map_err(|_| AuthError::malformed("token is not UTF-8"))
}

pub(crate) fn too_large() -> AuthError {
    AuthError::new(ErrorKind::TokenTooLarge, "token is larger than allowed")
}

pub(crate) fn split(token: &str) -> Result<(&str, &str, &str), AuthError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() => Ok((h, p, s)),
        (Some(_), Some(_), Some(_), Some(_)) if token.split('.').count() == 5 => Err(
            AuthError::malformed("encrypted tokens (JWE) are not supported"),
        ),
        _ => Err(AuthError::malformed(
            "token is not a compact JWS (three base64url segments)",
        )),
    }
}

pub(crate) fn b64(segment: &str, description: &'static str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| AuthError::malformed(description).with_source(e))
}

pub(crate) fn algorithm(name: &str) -> Result<Algorithm, AuthError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(AuthError::new(
            ErrorKind::AlgorithmNotAllowed,
            "unsigned tokens (alg none) are never accepted",
        ));
    }
    parse_algorithm(name).ok_or_else(|| {
        AuthError::new(
            ErrorKind::AlgorithmNotAllowed,
            "token algorithm is not supported",
        )
    })
}

/// RFC 9068 section 4 / RFC 7515 section 4.1.9: `typ` is a media type whose
/// `application/` prefix may be omitted; compared case-insensitively.
pub(crate) fn media_type_eq(a: &str, b: &str) -> bool {
    fn short(s: &str) -> &str {
        match s.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                s.get(12..).unwrap_or_default()
            }
            _ => s,
        }
    }
    short(a).eq_ignore_ascii_case(short(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_without_application_prefix() {
        assert!(media_type_eq("at+jwt", "at+jwt"));
        assert!(media_type_eq("application/AT+JWT", "at+jwt"));
        assert!(media_type_eq("at+jwt", "application/at+jwt"));
        assert!(!media_type_eq("JWT", "at+jwt"));
        assert!(!media_type_eq("application/", "at+jwt"));
    }

    #[test]
    fn bytes_that_are_not_text_are_a_malformed_token_not_a_panic() {
        assert_eq!(text(b"a.b.c").unwrap(), "a.b.c");
        let e = text(b"a.\xff.c").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    #[test]
    fn segments_are_counted() {
        assert!(split("a.b.c").is_ok());
        assert!(
            split("a.b.").is_ok(),
            "an empty signature is left to the signature check"
        );
        for bad in ["", "a", "a.b", "a.b.c.d", ".b.c", "a..c"] {
            assert_eq!(
                split(bad).unwrap_err().kind(),
                ErrorKind::Malformed,
                "{bad:?}"
            );
        }
        assert_eq!(
            split("a.b.c.d.e").unwrap_err().description(),
            "encrypted tokens (JWE) are not supported"
        );
    }

    #[test]
    fn none_is_refused_in_every_spelling() {
        for name in ["none", "None", "NONE", "nOnE"] {
            let e = algorithm(name).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlgorithmNotAllowed);
            assert_eq!(
                e.description(),
                "unsigned tokens (alg none) are never accepted"
            );
        }
        assert_eq!(
            algorithm("hs256").unwrap_err().kind(),
            ErrorKind::AlgorithmNotAllowed
        );
        assert_eq!(algorithm("HS256").unwrap(), Algorithm::HS256);
    }
}
