//! A JWKS document to keys: every usable key, each unusable one skipped
//! with its reason.

use serde::Deserialize;

use crate::jwks::fetch::FetchError;
use crate::keys::Key;

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

/// The usable keys of a JWKS; an unusable key is logged and skipped, never
/// a failure of the whole set. A document that is not a JWKS is an error.
pub(super) fn parse(body: &[u8]) -> Result<Vec<Key>, FetchError> {
    let document: Document = serde_json::from_slice(body)
        .map_err(|e| FetchError::Invalid(format!("not a JWKS: {e}")))?;
    let mut keys = Vec::with_capacity(document.keys.len());
    for value in document.keys {
        let fingerprint = value.to_string();
        let kid = value
            .get("kid")
            .and_then(|k| k.as_str())
            .unwrap_or("(no kid)")
            .to_owned();
        let key = serde_json::from_value(value)
            .map_err(|e| e.to_string())
            .and_then(|jwk| Key::jwk(&jwk).map_err(|e| e.to_string()));
        match key {
            Ok(key) => keys.push(key.with_fingerprint(fingerprint)),
            Err(reason) => tracing::warn!(kid, reason, "skipping a key of the key set"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCT: &str =
        r#"{"kty":"oct","kid":"h1","k":"YS1zZWNyZXQtb2YtYXQtbGVhc3QtdGhpcnR5LXR3by1ieXRlcyE"}"#;

    #[test]
    fn unusable_keys_are_skipped_not_fatal() {
        let body = format!(
            r#"{{"keys":[{OCT},{{"kty":"oct","kid":"short","k":"c2hvcnQ"}},{{"kty":"oct","kid":"enc","use":"enc","k":"YS1zZWNyZXQtb2YtYXQtbGVhc3QtdGhpcnR5LXR3by1ieXRlcyE"}},{{"kty":"XYZ","kid":"alien"}},{{"kid":"no-kty"}}]}}"#
        );
        let keys = parse(body.as_bytes()).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.kid()).collect::<Vec<_>>(),
            [Some("h1")]
        );
    }

    #[test]
    fn a_document_that_is_not_a_jwks_is_an_error() {
        for body in [&b"<html>"[..], b"{}", b"{\"keys\":{}}", b"[]"] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert!(parse(b"{\"keys\":[]}").unwrap().is_empty());
    }
}
