//! The verified token handed to handlers, and the registered claims.
//!
//! The layer deserialises the claims once, into your type `C`, and stores a
//! [`VerifiedToken<C>`] in the request extensions. Cloning it clones an `Arc`.
//! The registered claims (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`)
//! are always on the token ([`VerifiedToken::registered`]), kept once;
//! [`DefaultClaims`] holds the others.
//!
//! ```
//! use auth_layer::DefaultClaims;
//!
//! let claims: DefaultClaims =
//!     serde_json::from_str(r#"{"sub":"alice","exp":1700000000,"scope":"read"}"#).unwrap();
//! assert_eq!(claims.get("scope"), Some(serde_json::json!("read")));
//! assert_eq!(claims.get("sub"), None, "registered claims are on the VerifiedToken");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, Weak};

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::grants::{ClaimList, Grants, ListBuilder, ListSeed};
use crate::keys::Key;

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

    fn heap_bytes(&self) -> usize {
        match self {
            Self::One(a) => heap_chunk(a.len()),
            Self::Many(all) => {
                heap_chunk(all.len() * size_of::<String>())
                    + all.iter().map(|a| heap_chunk(a.len())).sum::<usize>()
            }
        }
    }
}

/// What the allocator reserves for a request of `bytes` (glibc on 64-bit:
/// the request plus an 8-byte header, in 16-byte steps, at least 32), 0 for
/// nothing requested.
pub(crate) const fn heap_chunk(bytes: usize) -> usize {
    if bytes == 0 {
        return 0;
    }
    let chunk = (bytes + 8 + 15) & !15;
    if chunk < 32 { 32 } else { chunk }
}

/// The registered claims of RFC 7519, as checked by the verifier.
///
/// Times are Unix seconds; a fractional `NumericDate` is truncated. Kept
/// compact: `sub` and `jti` share one allocation, `iss` and `aud` are shared
/// with every token naming the same configured issuer or audience.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegisteredClaims {
    iss: Option<Arc<str>>,
    aud: Option<Arc<Audience>>,
    /// `sub`, `jti`, then the session id (read by the layer, not registered).
    text: Box<str>,
    ends: [u32; 3],
    /// Which of `sub`, `jti`, the session id, `exp`, `nbf`, `iat` are present.
    present: u8,
    exp: i64,
    nbf: i64,
    iat: i64,
}

const SUB: u8 = 0;
const JTI: u8 = 1;
const SID: u8 = 2;
const EXP: u8 = 3;
const NBF: u8 = 4;
const IAT: u8 = 5;
/// `iss` / `aud` are shared with the configured ones (not this token's to count).
const SHARED_ISS: u8 = 6;
const SHARED_AUD: u8 = 7;

impl RegisteredClaims {
    /// `iss`
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// `sub`
    pub fn sub(&self) -> Option<&str> {
        self.text_of(SUB)
    }

    /// `aud`
    pub fn aud(&self) -> Option<&Audience> {
        self.aud.as_deref()
    }

    /// `exp`
    pub fn exp(&self) -> Option<i64> {
        self.time_of(EXP, self.exp)
    }

    /// `nbf`
    pub fn nbf(&self) -> Option<i64> {
        self.time_of(NBF, self.nbf)
    }

    /// `iat`
    pub fn iat(&self) -> Option<i64> {
        self.time_of(IAT, self.iat)
    }

    /// `jti`
    pub fn jti(&self) -> Option<&str> {
        self.text_of(JTI)
    }

    /// The session id claim (named `sid` unless configured otherwise).
    pub(crate) fn sid(&self) -> Option<&str> {
        self.text_of(SID)
    }

    fn has(&self, field: u8) -> bool {
        self.present & (1 << field) != 0
    }

    fn time_of(&self, field: u8, value: i64) -> Option<i64> {
        self.has(field).then_some(value)
    }

    fn text_of(&self, field: u8) -> Option<&str> {
        if !self.has(field) {
            return None;
        }
        let i = usize::from(field);
        let start = match i.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        self.text.get(start as usize..end as usize)
    }

    /// Bytes these claims own on the heap beyond their inline size (shared
    /// `iss` and `aud` counted only when this token holds the only copy).
    pub(crate) fn heap_bytes(&self) -> usize {
        let iss = self
            .iss
            .as_ref()
            .filter(|_| !self.has(SHARED_ISS))
            .map_or(0, |iss| heap_chunk(16 + iss.len()));
        let aud = self
            .aud
            .as_ref()
            .filter(|_| !self.has(SHARED_AUD))
            .map_or(0, |aud| {
                heap_chunk(16 + size_of::<Audience>()) + aud.heap_bytes()
            });
        heap_chunk(self.text.len()) + iss + aud
    }

    fn from_parts(parts: Parts<'_>, interner: &Interner) -> Self {
        let mut text = String::new();
        let mut ends = [0_u32; 3];
        let mut present = 0_u8;
        for (field, value) in [(SUB, &parts.sub), (JTI, &parts.jti), (SID, &parts.sid)] {
            if let Some(value) = value {
                text.push_str(value);
                present |= 1 << field;
            }
            if let Some(end) = ends.get_mut(usize::from(field)) {
                *end = u32::try_from(text.len()).unwrap_or(u32::MAX);
            }
        }
        for (field, value) in [(EXP, parts.exp), (NBF, parts.nbf), (IAT, parts.iat)] {
            if value.is_some() {
                present |= 1 << field;
            }
        }
        let iss = parts.iss.map(|iss| interner.issuer(&iss));
        let aud = parts.aud.map(|aud| interner.audience(aud));
        for (field, shared) in [
            (SHARED_ISS, iss.as_ref().is_some_and(|i| i.1)),
            (SHARED_AUD, aud.as_ref().is_some_and(|a| a.1)),
        ] {
            if shared {
                present |= 1 << field;
            }
        }
        Self {
            iss: iss.map(|i| i.0),
            aud: aud.map(|a| a.0),
            text: text.into_boxed_str(),
            ends,
            present,
            exp: parts.exp.unwrap_or(0),
            nbf: parts.nbf.unwrap_or(0),
            iat: parts.iat.unwrap_or(0),
        }
    }
}

impl fmt::Debug for RegisteredClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredClaims")
            .field("iss", &self.iss())
            .field("sub", &self.sub())
            .field("aud", &self.aud())
            .field("exp", &self.exp())
            .field("nbf", &self.nbf())
            .field("iat", &self.iat())
            .field("jti", &self.jti())
            .finish()
    }
}

impl Serialize for RegisteredClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.serialize_entries(&mut map)?;
        map.end()
    }
}

impl RegisteredClaims {
    fn serialize_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        if let Some(v) = self.iss() {
            map.serialize_entry("iss", v)?;
        }
        if let Some(v) = self.sub() {
            map.serialize_entry("sub", v)?;
        }
        if let Some(v) = self.aud() {
            map.serialize_entry("aud", v)?;
        }
        for (name, v) in [
            ("exp", self.exp()),
            ("nbf", self.nbf()),
            ("iat", self.iat()),
        ] {
            if let Some(v) = v {
                map.serialize_entry(name, &v)?;
            }
        }
        if let Some(v) = self.jti() {
            map.serialize_entry("jti", v)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for RegisteredClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = ClaimNames::default();
        let (registered, _) = ClaimsSeed {
            names: &names,
            interner: &Interner::default(),
            session: false,
        }
        .deserialize(d)?;
        Ok(registered)
    }
}

/// Shares the `iss` and `aud` values of the tokens with the configured
/// issuers and audiences: every token of an issuer names the same ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    issuers: Vec<Arc<str>>,
    audiences: Vec<Arc<Audience>>,
}

impl Interner {
    pub(crate) fn new<'a>(
        issuers: impl IntoIterator<Item = &'a str>,
        audiences: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut interner = Self::default();
        for iss in issuers {
            if !interner.issuers.iter().any(|i| &**i == iss) {
                interner.issuers.push(Arc::from(iss));
            }
        }
        for aud in audiences {
            if !interner.audiences.iter().any(|a| a.contains(aud)) {
                interner
                    .audiences
                    .push(Arc::new(Audience::One(aud.to_owned())));
            }
        }
        interner
    }

    /// `iss`, and whether it is shared.
    fn issuer(&self, iss: &str) -> (Arc<str>, bool) {
        match self.issuers.iter().find(|i| &***i == iss) {
            Some(shared) => (Arc::clone(shared), true),
            None => (Arc::from(iss), false),
        }
    }

    /// `aud`, and whether it is shared.
    fn audience(&self, aud: AudienceRef<'_>) -> (Arc<Audience>, bool) {
        match aud {
            AudienceRef::One(one) => match self.audiences.iter().find(|a| a.contains(&one)) {
                Some(shared) => (Arc::clone(shared), true),
                None => (Arc::new(Audience::One(one.into_owned())), false),
            },
            AudienceRef::Many(all) => (
                Arc::new(Audience::Many(
                    all.into_iter().map(Cow::into_owned).collect(),
                )),
                false,
            ),
        }
    }
}

mod default;
mod parse;
mod verified;

pub use default::DefaultClaims;
use parse::ClaimsSeed;
pub(crate) use parse::parse_registered;
pub use verified::VerifiedToken;
pub(crate) use verified::{CacheFacts, SessionClaims};

/// The registered claim names, which [`DefaultClaims`] leaves to [`RegisteredClaims`].
const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// A string borrowed from the payload when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `aud` as read from the payload, before it is shared or copied.
enum AudienceRef<'de> {
    One(Cow<'de, str>),
    Many(Vec<Cow<'de, str>>),
}

impl<'de> Deserialize<'de> for AudienceRef<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AudienceRef<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AudienceRef::One(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AudienceRef::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(Text(one)) = seq.next_element::<Text<'de>>()? {
                    all.push(one);
                }
                Ok(AudienceRef::Many(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// The claims the verifier keeps, as read from the payload.
#[derive(Default)]
struct Parts<'de> {
    iss: Option<Cow<'de, str>>,
    sub: Option<Cow<'de, str>>,
    aud: Option<AudienceRef<'de>>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<Cow<'de, str>>,
    sid: Option<Cow<'de, str>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(json: &str) -> Result<RegisteredClaims, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numeric_dates_accept_integers_and_floats_only() {
        assert_eq!(
            reg(r#"{"exp":1700000000}"#).unwrap().exp(),
            Some(1_700_000_000)
        );
        assert_eq!(
            reg(r#"{"exp":1700000000.9}"#).unwrap().exp(),
            Some(1_700_000_000)
        );
        assert_eq!(reg(r#"{"exp":-5}"#).unwrap().exp(), Some(-5));
        assert_eq!(reg(r#"{"exp":1e300}"#).unwrap().exp(), Some(i64::MAX));
        assert_eq!(
            reg(r#"{"exp":18446744073709551615}"#).unwrap().exp(),
            Some(i64::MAX)
        );
        assert!(reg(r#"{"exp":"1700000000"}"#).is_err());
        assert!(reg(r#"{"exp":true}"#).is_err());
        assert_eq!(reg(r#"{}"#).unwrap().exp(), None);
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
            assert!(
                parse_registered(json.as_bytes(), &names, &Interner::default()).is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn one_pass_reads_registered_and_revocation_claims() {
        let names = ClaimNames {
            version: "tv".into(),
            session: "session".into(),
        };
        let json = br#"{"sub":"alice","exp":10.5,"aud":["a"],"tv":3,"session":"s1","ver":"ignored","x":{"y":[1]}}"#;
        let (r, s) = parse_registered(json, &names, &Interner::default()).unwrap();
        assert_eq!(
            (r.sub(), r.exp(), s.ver, r.sid()),
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
                parse_registered(bad, &names, &Interner::default()).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn grants(json: &str) -> Grants {
        parse_registered(
            json.as_bytes(),
            &ClaimNames::default(),
            &Interner::default(),
        )
        .unwrap()
        .1
        .grants
    }

    fn items(list: ClaimList<'_>) -> Vec<&str> {
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
            assert!(
                parse_registered(json.as_bytes(), &names, &Interner::default()).is_err(),
                "{json}"
            );
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
        let (r, s) = parse_registered(br#"{"scope":"s1"}"#, &names, &Interner::default()).unwrap();
        assert_eq!(r.sid(), Some("s1"));
        assert!(s.grants.scopes().is_empty());
    }

    #[test]
    fn audience_is_string_or_array() {
        let one = reg(r#"{"aud":"api"}"#).unwrap().aud().unwrap().clone();
        let many = reg(r#"{"aud":["x","api"]}"#)
            .unwrap()
            .aud()
            .unwrap()
            .clone();
        assert!(one.contains("api") && many.contains("api") && !many.contains("y"));
        assert_eq!(many.iter().collect::<Vec<_>>(), ["x", "api"]);
        assert!(reg(r#"{"aud":5}"#).is_err());
    }

    #[test]
    fn default_claims_keep_the_others_once_and_compactly() {
        let json = r#"{"iss":"i","sub":"a","aud":["x"],"exp":5,"jti":"j","ver":2,"scope":"r w","tenant":{"id":7},"s":"caf\u00e9"}"#;
        let claims: DefaultClaims = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_value(&claims).unwrap(),
            serde_json::json!({"ver": 2, "scope": "r w", "tenant": {"id": 7}, "s": "caf\u{e9}"})
        );
        assert_eq!(claims.get_as::<u64>("ver"), Some(2));
        assert_eq!(claims.get_as::<u64>("scope"), None, "of another shape");
        assert!(claims.contains("tenant") && !claims.contains("sub") && !claims.contains("x"));
        let empty: DefaultClaims = serde_json::from_str(r#"{"sub":"a"}"#).unwrap();
        assert!(empty.is_empty() && empty.heap_bytes() == 0);
        assert_eq!(empty.as_json(), "{}");
        assert!(serde_json::from_str::<DefaultClaims>("[1]").is_err());
    }

    #[test]
    fn registered_claims_are_shared_with_the_configured_ones_and_round_trip() {
        let interner = Interner::new(["https://issuer.example"], ["orders-api"]);
        let json = br#"{"iss":"https://issuer.example","sub":"alice","aud":"orders-api","exp":10,"nbf":1,"iat":0,"jti":"j1","sid":"s"}"#;
        let (a, _) = parse_registered(json, &ClaimNames::default(), &interner).unwrap();
        let (b, _) = parse_registered(json, &ClaimNames::default(), &interner).unwrap();
        assert!(matches!((&a.iss, &b.iss), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        assert!(matches!((&a.aud, &b.aud), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        assert_eq!(
            a.heap_bytes(),
            heap_chunk("alicej1s".len()),
            "only sub, jti and sid are its own"
        );
        assert_eq!(
            (
                a.iss(),
                a.sub(),
                a.jti(),
                a.sid(),
                a.exp(),
                a.nbf(),
                a.iat()
            ),
            (
                Some("https://issuer.example"),
                Some("alice"),
                Some("j1"),
                Some("s"),
                Some(10),
                Some(1),
                Some(0)
            )
        );
        let again: RegisteredClaims =
            serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(again.sub(), a.sub());
        assert_eq!(again.aud(), a.aud());
        assert_eq!(
            again.sid(),
            None,
            "the session id is not a registered claim"
        );
        let (other, _) = parse_registered(
            br#"{"iss":"elsewhere","aud":["x","y"]}"#,
            &ClaimNames::default(),
            &interner,
        )
        .unwrap();
        assert_eq!(other.iss(), Some("elsewhere"));
        assert!(other.heap_bytes() > 0 && other.sub().is_none() && other.exp().is_none());
    }

    #[test]
    fn verified_token_derefs_to_claims_and_clones_cheaply() {
        let t = VerifiedToken::new(
            7_u32,
            RegisteredClaims::default(),
            SessionClaims::default(),
            Algorithm::HS256,
            None,
            CacheFacts::default(),
        );
        let u = t.clone();
        assert_eq!(*u, 7);
        // The clone shares the claims: the same allocation, not a copy.
        assert!(std::ptr::eq(&*t, &*u));
    }
}
