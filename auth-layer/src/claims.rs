//! The verified token handed to handlers, and the registered claims.
//!
//! The layer deserialises the claims once, into your type `C`, and stores a
//! [`VerifiedToken<C>`] in the request extensions. Cloning it clones an `Arc`.
//!
//! ```
//! use auth_layer::DefaultClaims;
//!
//! let claims: DefaultClaims =
//!     serde_json::from_str(r#"{"sub":"alice","exp":1700000000,"scope":"read"}"#).unwrap();
//! assert_eq!(claims.sub.as_deref(), Some("alice"));
//! assert_eq!(claims.extra["scope"], "read");
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, Serialize};

/// The `aud` claim: one string or an array of strings (RFC 7519 section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "api"`
    One(String),
    /// `"aud": ["api", "admin"]`
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` names `value`.
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(a) => a == value,
            Self::Many(all) => all.iter().any(|a| a == value),
        }
    }

    /// Every audience named.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Self::One(a) => std::slice::from_ref(a),
            Self::Many(all) => all,
        };
        slice.iter().map(String::as_str)
    }
}

/// The registered claims of RFC 7519, as checked by the verifier.
///
/// Times are Unix seconds; a fractional `NumericDate` is truncated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisteredClaims {
    /// `iss`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `sub`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `aud`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// `exp`
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<i64>,
    /// `nbf`
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// `iat`
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// `jti`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The default claims type: the registered claims plus every other claim in
/// `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DefaultClaims {
    /// `iss`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `sub`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `aud`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// `exp`
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<i64>,
    /// `nbf`
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// `iat`
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// `jti`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A token that passed every check, as stored in the request extensions.
///
/// Holds your claims type `C` (reachable through `Deref`), the registered
/// claims, and the header facts that selected the key. Cheap to clone.
pub struct VerifiedToken<C = DefaultClaims> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    claims: C,
    registered: RegisteredClaims,
    algorithm: Algorithm,
    kid: Option<String>,
}

impl<C> VerifiedToken<C> {
    pub(crate) fn new(
        claims: C,
        registered: RegisteredClaims,
        algorithm: Algorithm,
        kid: Option<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                claims,
                registered,
                algorithm,
                kid,
            }),
        }
    }

    /// Your claims.
    pub fn claims(&self) -> &C {
        &self.inner.claims
    }

    /// The registered claims (`sub`, `exp`, ...) as verified.
    pub fn registered(&self) -> &RegisteredClaims {
        &self.inner.registered
    }

    /// The `sub` claim, if any.
    pub fn subject(&self) -> Option<&str> {
        self.inner.registered.sub.as_deref()
    }

    /// The algorithm the signature was verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The `kid` from the token's header, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }
}

impl<C> Clone for VerifiedToken<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> Deref for VerifiedToken<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.inner.claims
    }
}

impl<C: fmt::Debug> fmt::Debug for VerifiedToken<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("claims", &self.inner.claims)
            .field("registered", &self.inner.registered)
            .field("algorithm", &self.inner.algorithm)
            .field("kid", &self.inner.kid)
            .finish()
    }
}

/// Marker the layer stores in optional mode when a request had no token, so
/// extractors can tell "no token" from "layer missing".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthenticated;

/// Deserialises a `NumericDate`: a JSON number, integer or not, truncated to
/// whole seconds (saturating). Strings, booleans and the like are refused.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate (seconds since the epoch)")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(i64::try_from(v).unwrap_or(i64::MAX)))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "saturating float-to-int is the intent"
                )]
                Ok(Some(v as i64))
            } else {
                Err(E::custom("NumericDate is not finite"))
            }
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(json: &str) -> Result<RegisteredClaims, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numeric_dates_accept_integers_and_floats_only() {
        assert_eq!(
            reg(r#"{"exp":1700000000}"#).unwrap().exp,
            Some(1_700_000_000)
        );
        assert_eq!(
            reg(r#"{"exp":1700000000.9}"#).unwrap().exp,
            Some(1_700_000_000)
        );
        assert_eq!(reg(r#"{"exp":-5}"#).unwrap().exp, Some(-5));
        assert_eq!(reg(r#"{"exp":1e300}"#).unwrap().exp, Some(i64::MAX));
        assert_eq!(
            reg(r#"{"exp":18446744073709551615}"#).unwrap().exp,
            Some(i64::MAX)
        );
        assert!(reg(r#"{"exp":"1700000000"}"#).is_err());
        assert!(reg(r#"{"exp":true}"#).is_err());
        assert_eq!(reg(r#"{}"#).unwrap().exp, None);
    }

    #[test]
    fn duplicate_claim_names_are_refused() {
        assert!(reg(r#"{"sub":"a","sub":"b"}"#).is_err());
    }

    #[test]
    fn audience_is_string_or_array() {
        let one = reg(r#"{"aud":"api"}"#).unwrap().aud.unwrap();
        let many = reg(r#"{"aud":["x","api"]}"#).unwrap().aud.unwrap();
        assert!(one.contains("api") && many.contains("api") && !many.contains("y"));
        assert_eq!(many.iter().collect::<Vec<_>>(), ["x", "api"]);
        assert!(reg(r#"{"aud":5}"#).is_err());
    }

    #[test]
    fn verified_token_derefs_to_claims_and_clones_cheaply() {
        let t = VerifiedToken::new(7_u32, RegisteredClaims::default(), Algorithm::HS256, None);
        let u = t.clone();
        assert_eq!(*u, 7);
        assert!(Arc::ptr_eq(&t.inner, &u.inner));
    }
}
