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

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, Serialize};

use crate::grants::{ClaimList, Grants, ListSeed};

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
    session: SessionClaims,
    algorithm: Algorithm,
    kid: Option<String>,
}

/// The claims the layer reads besides the registered ones: the revocation
/// claims (the user's token version and the session id) and the grants
/// (`scope`/`scp`, `roles`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SessionClaims {
    pub(crate) ver: Option<u64>,
    pub(crate) sid: Option<String>,
    pub(crate) grants: Grants,
}

impl<C> VerifiedToken<C> {
    pub(crate) fn new(
        claims: C,
        registered: RegisteredClaims,
        session: SessionClaims,
        algorithm: Algorithm,
        kid: Option<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                claims,
                registered,
                session,
                algorithm,
                kid,
            }),
        }
    }

    /// The token version claim (`ver` unless configured otherwise), if any.
    pub fn version(&self) -> Option<u64> {
        self.inner.session.ver
    }

    /// The session id claim (`sid` unless configured otherwise), if any.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session.sid.as_deref()
    }

    pub(crate) fn facts(&self) -> crate::revocation::Facts<'_> {
        crate::revocation::Facts {
            sub: self.inner.registered.sub.as_deref(),
            ver: self.inner.session.ver.unwrap_or(0),
            sid: self.inner.session.sid.as_deref(),
            jti: self.inner.registered.jti.as_deref(),
        }
    }

    /// What the token grants: scopes and roles, whatever `C` is.
    pub fn grants(&self) -> &Grants {
        &self.inner.session.grants
    }

    /// The scopes (`scope` and `scp` claims).
    pub fn scopes(&self) -> &ClaimList {
        self.inner.session.grants.scopes()
    }

    /// The roles (`roles` claim).
    pub fn roles(&self) -> &ClaimList {
        self.inner.session.grants.roles()
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.session.grants.has_scope(scope)
    }

    /// Whether the token grants `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.session.grants.has_role(role)
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
            .field("session", &self.inner.session)
            .field("algorithm", &self.inner.algorithm)
            .field("kid", &self.inner.kid)
            .finish()
    }
}

/// Marker the layer stores in optional mode when a request had no token, so
/// extractors can tell "no token" from "layer missing".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthenticated;

/// The names of the revocation claims, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimNames {
    pub(crate) version: String,
    pub(crate) session: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            version: "ver".to_owned(),
            session: "sid".to_owned(),
        }
    }
}

/// Reads the registered claims, the revocation claims and the grants
/// (`scope`, `scp`, `roles`) in one pass over the payload; other claims are
/// skipped. A repeated name is an error.
pub(crate) fn parse_registered(
    payload: &[u8],
    names: &ClaimNames,
) -> Result<(RegisteredClaims, SessionClaims), serde_json::Error> {
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};

    struct Seed<'n>(&'n ClaimNames);
    struct Date;

    impl<'de> DeserializeSeed<'de> for Date {
        type Value = Option<i64>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            numeric_date(d)
        }
    }

    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = (RegisteredClaims, SessionClaims);
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = (RegisteredClaims, SessionClaims);

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object of claims")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            fn set<T, E: serde::de::Error>(
                slot: &mut Option<T>,
                seen: &mut bool,
                v: Option<T>,
                name: &str,
            ) -> Result<(), E> {
                if std::mem::replace(seen, true) {
                    return Err(E::custom(format_args!("duplicate claim `{name}`")));
                }
                *slot = v;
                Ok(())
            }
            let mut r = RegisteredClaims::default();
            let mut s = SessionClaims::default();
            let (mut scopes, mut roles) = (ClaimList::default(), ClaimList::default());
            let mut seen = [false; 12];
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                let [
                    iss,
                    sub,
                    aud,
                    exp,
                    nbf,
                    iat,
                    jti,
                    ver,
                    sid,
                    scope,
                    scp,
                    role,
                ] = &mut seen;
                match key.as_ref() {
                    "iss" => set(&mut r.iss, iss, map.next_value()?, "iss")?,
                    "sub" => set(&mut r.sub, sub, map.next_value()?, "sub")?,
                    "aud" => set(&mut r.aud, aud, map.next_value()?, "aud")?,
                    "exp" => set(&mut r.exp, exp, map.next_value_seed(Date)?, "exp")?,
                    "nbf" => set(&mut r.nbf, nbf, map.next_value_seed(Date)?, "nbf")?,
                    "iat" => set(&mut r.iat, iat, map.next_value_seed(Date)?, "iat")?,
                    "jti" => set(&mut r.jti, jti, map.next_value()?, "jti")?,
                    k if k == self.0.version => set(&mut s.ver, ver, map.next_value()?, k)?,
                    k if k == self.0.session => set(&mut s.sid, sid, map.next_value()?, k)?,
                    k @ ("scope" | "scp" | "roles") => {
                        let seen = match k {
                            "scope" => scope,
                            "scp" => scp,
                            _ => role,
                        };
                        if std::mem::replace(seen, true) {
                            return Err(A::Error::custom(format_args!("duplicate claim `{k}`")));
                        }
                        let (list, split) = match k {
                            "roles" => (&mut roles, false),
                            _ => (&mut scopes, true),
                        };
                        map.next_value_seed(ListSeed { list, split })?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            if s.ver.is_none() && seen[7] {
                return Err(A::Error::custom("null version claim"));
            }
            s.grants = Grants::from_lists(scopes, roles);
            Ok((r, s))
        }
    }

    let mut de = serde_json::Deserializer::from_slice(payload);
    let value = Seed(names).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

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
        let names = ClaimNames::default();
        for json in [
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"ver":1,"ver":1}"#,
        ] {
            assert!(parse_registered(json.as_bytes(), &names).is_err(), "{json}");
        }
    }

    #[test]
    fn one_pass_reads_registered_and_revocation_claims() {
        let names = ClaimNames {
            version: "tv".into(),
            session: "session".into(),
        };
        let json = br#"{"sub":"alice","exp":10.5,"aud":["a"],"tv":3,"session":"s1","ver":"ignored","x":{"y":[1]}}"#;
        let (r, s) = parse_registered(json, &names).unwrap();
        assert_eq!(
            (r.sub.as_deref(), r.exp, s.ver, s.sid.as_deref()),
            (Some("alice"), Some(10), Some(3), Some("s1"))
        );
        for bad in [
            &br#"{"tv":"3"}"#[..],
            br#"{"tv":-1}"#,
            br#"[1]"#,
            br#"{"exp":"soon"}"#,
            br#"{} x"#,
        ] {
            assert!(
                parse_registered(bad, &names).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn grants(json: &str) -> Grants {
        parse_registered(json.as_bytes(), &ClaimNames::default())
            .unwrap()
            .1
            .grants
    }

    fn items(list: &ClaimList) -> Vec<&str> {
        list.iter().collect()
    }

    #[test]
    fn scope_is_split_on_spaces_and_scp_arrays_are_taken_whole() {
        let g = grants(r#"{"scope":"orders:read  orders:write ","scp":["admin:all","a b"]}"#);
        assert_eq!(
            items(g.scopes()),
            ["orders:read", "orders:write", "admin:all", "a b"]
        );
        assert!(g.has_scope("a b") && !g.has_scope("a") && !g.has_scope(""));
        // Azure AD sends `scp` as a space-separated string.
        assert_eq!(items(grants(r#"{"scp":"x y"}"#).scopes()), ["x", "y"]);
        // Escaped JSON strings are decoded, not borrowed.
        assert_eq!(
            items(grants(r#"{"scp":["caf\u00e9"]}"#).scopes()),
            ["caf\u{e9}"]
        );
        assert!(!g.has_scope("ORDERS:READ"), "scopes are case-sensitive");
    }

    #[test]
    fn a_role_string_is_one_role_never_split() {
        let g = grants(r#"{"roles":"Org Admin"}"#);
        assert_eq!(items(g.roles()), ["Org Admin"]);
        assert!(!g.has_role("Admin"));
        let g = grants(r#"{"roles":["reader","Org Admin"]}"#);
        assert_eq!(g.roles().len(), 2);
        assert!(g.has_role("Org Admin") && g.scopes().is_empty());
    }

    #[test]
    fn grant_claims_of_another_shape_grant_nothing_and_keep_the_token_valid() {
        for json in [
            r#"{"scope":null}"#,
            r#"{"scope":7}"#,
            r#"{"scope":{"orders":["write"]}}"#,
            r#"{"roles":{"app":["admin"]}}"#,
            r#"{"roles":true}"#,
            r#"{"scp":[1,{"a":[2]},[3],null,false]}"#,
        ] {
            let g = grants(json);
            assert!(g.scopes().is_empty() && g.roles().is_empty(), "{json}");
            assert_eq!(g, Grants::default(), "{json}: no allocation for no grants");
        }
        let g = grants(r#"{"scp":[1,"orders:read",{"x":"y"}]}"#);
        assert_eq!(items(g.scopes()), ["orders:read"]);
    }

    #[test]
    fn repeated_grant_claims_are_refused() {
        let names = ClaimNames::default();
        for json in [
            r#"{"scope":"read","scope":"admin"}"#,
            r#"{"scp":["a"],"scp":["b"]}"#,
            r#"{"roles":[],"roles":["admin"]}"#,
        ] {
            assert!(parse_registered(json.as_bytes(), &names).is_err(), "{json}");
        }
        // `scope` and `scp` together are both read.
        let g = grants(r#"{"scope":"a","scp":["b"]}"#);
        assert_eq!(items(g.scopes()), ["a", "b"]);
    }

    #[test]
    fn a_configured_claim_name_wins_over_the_grant_claims() {
        let names = ClaimNames {
            version: "ver".into(),
            session: "scope".into(),
        };
        let (_, s) = parse_registered(br#"{"scope":"s1"}"#, &names).unwrap();
        assert_eq!(s.sid.as_deref(), Some("s1"));
        assert!(s.grants.scopes().is_empty());
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
        let t = VerifiedToken::new(
            7_u32,
            RegisteredClaims::default(),
            SessionClaims::default(),
            Algorithm::HS256,
            None,
        );
        let u = t.clone();
        assert_eq!(*u, 7);
        assert!(Arc::ptr_eq(&t.inner, &u.inner));
    }
}
