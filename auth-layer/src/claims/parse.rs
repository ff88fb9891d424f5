//! The one-pass reading of the registered, revocation and grant claims.

use super::*;

/// Reads the registered claims, the revocation claims and the grants
/// (`scope`, `scp`, `roles`) in one pass over the payload; other claims are
/// skipped. A repeated name is an error. `iss` and `aud` are shared through
/// `interner` when they name a configured issuer or audience.
pub(crate) fn parse_registered(
    payload: &[u8],
    names: &ClaimNames,
    interner: &Interner,
) -> Result<(RegisteredClaims, SessionClaims), serde_json::Error> {
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
pub(super) struct ClaimsSeed<'n> {
    pub(super) names: &'n ClaimNames,
    pub(super) interner: &'n Interner,
    pub(super) session: bool,
}

struct Date;

impl<'de> DeserializeSeed<'de> for Date {
    type Value = Option<i64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        numeric_date(d)
    }
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = (RegisteredClaims, SessionClaims);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<Option<Text<'de>>>()?.map(|t| t.0))
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
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
        let mut r = Parts::default();
        let mut s = SessionClaims::default();
        let (mut scopes, mut roles) = (ListBuilder::default(), ListBuilder::default());
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
                scope,
                scp,
                role,
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
                    set(&mut s.ver, ver, map.next_value()?, k)?;
                }
                k if self.session && k == self.names.session => {
                    set(&mut r.sid, sid, text(&mut map)?, k)?;
                }
                k @ ("scope" | "scp" | "roles") if self.session => {
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
        Ok((RegisteredClaims::from_parts(r, self.interner), s))
    }
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
