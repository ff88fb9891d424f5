//! The one-pass reading of the registered, revocation and grant claims.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::claims::borrowed::{Parts, Text};
use crate::claims::grants::{Grants, ListBuilder};
use crate::claims::interner::Interner;
use crate::claims::names::ClaimNames;
use crate::claims::registered::RegisteredClaims;
use crate::claims::skip::{skip_containers, skip_scalars};
use crate::claims::sources::GrantLists;
use crate::claims::verified::VersionAndGrants;

/// Reads the registered claims, the revocation claims and the grants
/// (`scope`, `scp`, `roles`) in one pass over the payload; other claims are
/// skipped. A repeated name is an error. `iss` and `aud` are shared through
/// `interner` when they name a configured issuer or audience.
pub(crate) fn parse_registered(
    payload: &[u8],
    names: &ClaimNames,
    interner: &Interner,
) -> Result<(RegisteredClaims, VersionAndGrants), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let value = ClaimsSeed {
        names,
        interner,
        session: true,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The one-pass reader; `session: false` reads the registered claims only.
struct ClaimsSeed<'n> {
    names: &'n ClaimNames,
    interner: &'n Interner,
    session: bool,
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

struct Date;

impl<'de> DeserializeSeed<'de> for Date {
    type Value = Option<i64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        numeric_date(d)
    }
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = (RegisteredClaims, VersionAndGrants);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<Option<Text<'de>>>()?.map(|t| t.0))
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = (RegisteredClaims, VersionAndGrants);

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
        let mut r = Parts::default();
        let mut s = VersionAndGrants::default();
        let mut lists = GrantLists {
            scopes: ListBuilder::default(),
            roles: ListBuilder::default(),
        };
        let (mut acr, mut auth_time) = (ListBuilder::default(), None);
        // Which top-level grant claims were read (a bit each).
        let mut grants_seen = 0_u64;
        let mut seen = [false; 12];
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
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
                cnf,
                acr_seen,
                time_seen,
            ] = &mut seen;
            match key.as_ref() {
                "iss" => set(&mut r.iss, iss, text(&mut map)?, "iss")?,
                "sub" => set(&mut r.sub, sub, text(&mut map)?, "sub")?,
                "aud" => set(&mut r.aud, aud, map.next_value()?, "aud")?,
                "exp" => set(&mut r.exp, exp, map.next_value_seed(Date)?, "exp")?,
                "nbf" => set(&mut r.nbf, nbf, map.next_value_seed(Date)?, "nbf")?,
                "iat" => set(&mut r.iat, iat, map.next_value_seed(Date)?, "iat")?,
                "jti" => set(&mut r.jti, jti, text(&mut map)?, "jti")?,
                k if self.session && k == self.names.version => {
                    let version = match map.next_value()? {
                        Version::Number(v) => Some(v),
                        Version::Other(_) => None,
                    };
                    set(&mut s.ver, ver, version, k)?;
                }
                k if self.session && k == self.names.session => {
                    set(&mut r.sid, sid, text(&mut map)?, k)?;
                }
                "cnf" if self.session => {
                    let confirmation = map.next_value::<Confirmation<'de>>()?;
                    if confirmation.jkt.as_deref() == Some("") {
                        return Err(A::Error::custom("`cnf.jkt` is empty"));
                    }
                    set(&mut r.jkt, cnf, confirmation.jkt, "cnf")?;
                }
                "acr" if self.session => {
                    if std::mem::replace(acr_seen, true) {
                        return Err(A::Error::custom("duplicate claim `acr`"));
                    }
                    // A string; another shape is no `acr` (a step-up rule
                    // then refuses the token).
                    map.next_value_seed(AcrSeed(&mut acr))?;
                }
                "auth_time" if self.session => {
                    if std::mem::replace(time_seen, true) {
                        return Err(A::Error::custom("duplicate claim `auth_time`"));
                    }
                    // A NumericDate; another shape is no `auth_time`.
                    auth_time = map.next_value::<LooseDate>()?.0;
                }
                k if self.session
                    && let Some(i) = self.names.grants.find(k) =>
                {
                    let bit = 1_u64 << (i % 64);
                    if grants_seen & bit != 0 {
                        return Err(A::Error::custom(format_args!("duplicate claim `{k}`")));
                    }
                    grants_seen |= bit;
                    self.names.grants.read(i, &mut map, &mut lists)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        s.grants = Grants::from_parts(lists.scopes, lists.roles, acr, auth_time);
        Ok((RegisteredClaims::from_parts(r, self.interner), s))
    }
}

/// `acr`: a string is kept; any other value is skipped (no `acr`).
struct AcrSeed<'l>(&'l mut ListBuilder);

impl<'de> DeserializeSeed<'de> for AcrSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let value = d.deserialize_any(Skipping)?;
        if let Some(Text(text)) = value {
            self.0.push(&text);
        }
        Ok(())
    }
}

/// `auth_time`: a `NumericDate` (as [`numeric_date`] reads one, floats
/// truncated), or `None` for any other value, which is skipped.
struct LooseDate(Option<i64>);

impl<'de> Deserialize<'de> for LooseDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Number;
        impl<'de> Visitor<'de> for Number {
            type Value = Option<i64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "saturating float-to-int is the intent"
                )]
                Ok(v.is_finite().then_some(v as i64))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            skip_containers!(None);
        }
        d.deserialize_any(Number).map(Self)
    }
}

/// Any JSON value: a string is returned (borrowed when unescaped), the
/// rest skipped.
struct Skipping;

impl<'de> Visitor<'de> for Skipping {
    type Value = Option<Text<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Text(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Text(Cow::Owned(v.to_owned()))))
    }
    skip_scalars!(None);
    skip_containers!(None);
}

/// The confirmation claim (RFC 7800): an object (nothing else); its `jkt`
/// (RFC 9449 section 6.1), when present, a string. Its other members (an
/// `x5t#S256`, say) are another binding's, not read here.
struct Confirmation<'a> {
    jkt: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for Confirmation<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Confirmation<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a confirmation object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut jkt = None;
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    if key == "jkt" {
                        jkt = Some(map.next_value::<Text<'de>>()?.0);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Confirmation { jkt })
            }
        }
        d.deserialize_map(Members)
    }
}

/// The version claim: a non-negative integer counts; anything else (Entra
/// ID's `"ver":"2.0"`, a negative number) is some other use of the name,
/// and the token has no version.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Version {
    Number(u64),
    Other(IgnoredAny),
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

    /// The layer's pass, which reads the session id and `cnf.jkt` too.
    fn layer(json: &str) -> Result<RegisteredClaims, serde_json::Error> {
        parse_registered(
            json.as_bytes(),
            &ClaimNames::default(),
            &Interner::default(),
        )
        .map(|(registered, _)| registered)
    }

    #[test]
    fn cnf_jkt_is_read_beside_the_session_id() {
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let both = layer(&format!(
            r#"{{"sub":"kim","jti":"j-1","sid":"s-1","cnf":{{"jkt":"{jkt}"}}}}"#
        ))
        .unwrap();
        assert_eq!(
            (both.sub(), both.jti(), both.sid(), both.cnf_jkt()),
            (Some("kim"), Some("j-1"), Some("s-1"), Some(jkt))
        );
        let no_sid = layer(&format!(r#"{{"cnf":{{"jkt":"{jkt}","x5t#S256":"x"}}}}"#)).unwrap();
        assert_eq!((no_sid.sid(), no_sid.cnf_jkt()), (None, Some(jkt)));
        let unbound = layer(r#"{"sid":"s-1","cnf":{"x5t#S256":"x"}}"#).unwrap();
        assert_eq!((unbound.sid(), unbound.cnf_jkt()), (Some("s-1"), None));
        for bad in [
            r#"{"cnf":"jkt"}"#,
            r#"{"cnf":[]}"#,
            r#"{"cnf":null}"#,
            r#"{"cnf":{"jkt":""}}"#,
            r#"{"cnf":{"jkt":7}}"#,
        ] {
            assert!(layer(bad).is_err(), "{bad}");
        }
        // Read by the layer only.
        assert_eq!(
            reg(&format!(r#"{{"cnf":{{"jkt":"{jkt}"}}}}"#))
                .unwrap()
                .cnf_jkt(),
            None
        );
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
            ..ClaimNames::default()
        };
        let json = br#"{"sub":"alice","exp":10.5,"aud":["a"],"tv":3,"session":"s1","ver":"ignored","x":{"y":[1]}}"#;
        let (r, s) = parse_registered(json, &names, &Interner::default()).unwrap();
        assert_eq!(
            (r.sub(), r.exp(), s.ver, r.sid()),
            (Some("alice"), Some(10), Some(3), Some("s1"))
        );
        for other in [&br#"{"tv":"3"}"#[..], br#"{"tv":-1}"#, br#"{"tv":null}"#] {
            let (_, s) = parse_registered(other, &names, &Interner::default()).unwrap();
            assert_eq!(
                s.ver,
                None,
                "not a version: {}",
                String::from_utf8_lossy(other)
            );
        }
        for bad in [&br#"[1]"#[..], br#"{"exp":"soon"}"#, br#"{} x"#] {
            assert!(
                parse_registered(bad, &names, &Interner::default()).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
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
}
