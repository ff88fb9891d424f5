//! JSON read strictly: an object whose member name repeats, at any depth,
//! is refused rather than resolved (RFC 7515 section 5.2 and RFC 7519
//! section 4 let a recipient reject such input; two readers that resolve it
//! differently would disagree about what was signed).

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a JSON text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrictError {
    /// An object repeats a member name.
    Duplicate,
    /// Not JSON, trailing input, or not an object.
    Invalid,
}

/// Parses `bytes` as one JSON object, refusing repeated member names.
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, StrictError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Strict {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Err(_) if duplicate.get() => Err(StrictError::Duplicate),
        Ok(_) | Err(_) => Err(StrictError::Invalid),
    }
}

/// Whether `bytes` (one JSON value) is free of repeated member names at any
/// depth, without building it: member names are borrowed from the input
/// where they hold no escape, values are skipped. What the verifier runs on
/// every header and payload it has not verified before.
pub(crate) fn no_repeated_members(bytes: &[u8]) -> Result<(), StrictError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let checked = Check {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match checked {
        Ok(()) => Ok(()),
        Err(_) if duplicate.get() => Err(StrictError::Duplicate),
        Err(_) => Err(StrictError::Invalid),
    }
}

/// Walks a value, flagging the first repeated member name.
#[derive(Clone, Copy)]
struct Check<'f> {
    duplicate: &'f Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A few names are compared in a list; many go to a set, so that a
        // wide object costs linear time.
        let mut few: Vec<std::borrow::Cow<'de, str>> = Vec::new();
        let mut many: std::collections::HashSet<std::borrow::Cow<'de, str>> =
            std::collections::HashSet::new();
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            let repeated = if few.len() < 16 {
                let seen = few.contains(&name);
                few.push(name);
                seen
            } else {
                if many.is_empty() {
                    many.extend(few.drain(..));
                }
                !many.insert(name)
            };
            if repeated {
                self.duplicate.set(true);
                return Err(A::Error::custom("repeated member name"));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// A member name, borrowed from the input unless it holds an escape.
struct Name<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Builds a [`Value`], flagging the first repeated member name.
#[derive(Clone, Copy)]
struct Strict<'f> {
    duplicate: &'f Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                self.duplicate.set(true);
                return Err(A::Error::custom("repeated member name"));
            }
            let value = map.next_value_seed(self)?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_with_every_kind_of_value() {
        let map =
            object(br#"{"a":1,"b":-2,"c":1.5,"d":"x","e":[true,null],"f":{"g":{}}}"#).unwrap();
        assert_eq!(map.len(), 6);
        assert_eq!(map["c"], 1.5);
        assert_eq!(map["e"], serde_json::json!([true, null]));
    }

    #[test]
    fn repeated_names_are_refused_at_any_depth_and_after_unescaping() {
        for json in [
            &br#"{"a":1,"a":1}"#[..],
            br#"{"x":{"b":1,"b":2}}"#,
            br#"{"x":[{"c":1,"c":1}]}"#,
            br#"{"iss":"a","\u0069ss":"b"}"#,
        ] {
            assert_eq!(
                object(json),
                Err(StrictError::Duplicate),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn the_check_without_building_agrees_on_narrow_and_wide_objects() {
        for json in [
            &br#"{"a":1,"a":1}"#[..],
            br#"{"x":{"b":1,"b":2}}"#,
            br#"{"x":[{"c":1,"c":1}]}"#,
            br#"{"iss":"a","\u0069ss":"b"}"#,
        ] {
            assert_eq!(no_repeated_members(json), Err(StrictError::Duplicate));
        }
        assert_eq!(
            no_repeated_members(br#"{"a":{"a":1},"b":[{"a":2}]}"#),
            Ok(())
        );
        let wide: Vec<String> = (0..40).map(|i| format!("\"m{i}\":{i}")).collect();
        let ok = format!("{{{}}}", wide.join(","));
        assert_eq!(no_repeated_members(ok.as_bytes()), Ok(()));
        let repeated = format!("{{{},\"m3\":0}}", wide.join(","));
        assert_eq!(
            no_repeated_members(repeated.as_bytes()),
            Err(StrictError::Duplicate)
        );
        assert_eq!(no_repeated_members(b"{} {}"), Err(StrictError::Invalid));
    }

    #[test]
    fn anything_but_one_object_is_invalid() {
        for json in [&b""[..], b"[]", b"1", b"{} {}", b"{\"a\":}", b"\xff"] {
            assert_eq!(object(json), Err(StrictError::Invalid));
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(object(deep.as_bytes()), Err(StrictError::Invalid));
    }
}
