//! RFC 7638 JWK thumbprints: the SHA-256 of a key's required members, the
//! value DPoP-bound tokens carry in `cnf.jkt`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The RFC 7638 SHA-256 thumbprint of a public JWK (base64url, no padding):
/// its required members (`EC`: `crv`, `kty`, `x`, `y`; `RSA`: `e`, `kty`,
/// `n`; `OKP`: `crv`, `kty`, `x`) in lexicographic order, as JSON without
/// whitespace. `None` for another key type or a required member missing or
/// not a string.
///
/// ```
/// use auth_layer::dpop::jwk_thumbprint;
///
/// // RFC 9449, figures 2 and 9.
/// let jwk = serde_json::json!({
///     "kty": "EC",
///     "crv": "P-256",
///     "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
///     "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
/// });
/// let jwk = jwk.as_object().unwrap();
/// assert_eq!(
///     jwk_thumbprint(jwk).as_deref(),
///     Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
/// );
/// ```
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let required: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in required.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        // Names and values as JSON strings: escaped exactly as RFC 7638
        // section 3 asks (serde_json writes no whitespace).
        canonical.push_str(&Value::from(*name).to_string());
        canonical.push(':');
        canonical.push_str(&Value::from(value).to_string());
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn rfc_7638_example() {
        // RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1.
        let jwk = object(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn members_beyond_the_required_ones_do_not_count() {
        let bare = object(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"}));
        let dressed = object(
            serde_json::json!({"x": "abc", "kid": "k", "crv": "Ed25519", "use": "sig", "kty": "OKP"}),
        );
        assert!(jwk_thumbprint(&bare).is_some());
        assert_eq!(jwk_thumbprint(&bare), jwk_thumbprint(&dressed));
    }

    #[test]
    fn unknown_types_and_missing_members_have_none() {
        for jwk in [
            serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}),
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": "a"}),
            serde_json::json!({"kty": "RSA", "n": "a", "e": 3}),
        ] {
            assert_eq!(jwk_thumbprint(&object(jwk.clone())), None, "{jwk}");
        }
    }
}
