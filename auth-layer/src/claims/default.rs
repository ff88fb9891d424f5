//! [`DefaultClaims`]: the claims besides the registered ones, as compact JSON text.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::claims::borrowed::Text;
use crate::claims::heap::heap_chunk;
use crate::claims::names::REGISTERED;

thread_local! {
    /// Where [`DefaultClaims`] are written while read, per thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The scratch buffer a thread keeps between tokens, at most (a larger one,
/// for a token with many claims, is let go).
const SCRATCH_KEPT: usize = 16 * 1024;

/// The default claims type: every claim besides the registered ones (which
/// are on the [`VerifiedToken`](crate::VerifiedToken):
/// [`registered`](crate::VerifiedToken::registered),
/// [`subject`](crate::VerifiedToken::subject)), kept as compact JSON text and
/// read on demand. [`VerifiedToken::all_claims`](crate::VerifiedToken::all_claims)
/// gives them all together.
///
/// ```
/// use auth_layer::claims::DefaultClaims;
/// use serde_json::json;
///
/// let claims: DefaultClaims =
///     serde_json::from_str(r#"{"sub":"a","tenant":{"id":7},"ver":2}"#).unwrap();
/// assert_eq!(claims.get("tenant"), Some(json!({"id": 7})));
/// assert_eq!(claims.get_as::<u64>("ver"), Some(2));
/// assert_eq!(claims.to_map().len(), 2);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DefaultClaims {
    /// A JSON object, or nothing (no allocation) for `{}`.
    json: Box<str>,
}

impl DefaultClaims {
    /// The claim `name`, parsed; `None` when absent.
    pub fn get(&self, name: &str) -> Option<serde_json::Value> {
        self.get_as(name)
    }

    /// The claim `name` as `T`; `None` when absent or of another shape.
    pub fn get_as<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        struct Find<'n, T>(&'n str, PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for Find<'_, T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    if found.is_none() && key.0 == self.0 {
                        found = Some(map.next_value::<T>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
        }
        let mut de = serde_json::Deserializer::from_str(self.object());
        de.deserialize_map(Find(name, PhantomData)).ok().flatten()
    }

    /// Whether the token carries a claim `name` (besides the registered ones).
    pub fn contains(&self, name: &str) -> bool {
        self.get_as::<IgnoredAny>(name).is_some()
    }

    /// Whether the token carries no claims besides the registered ones.
    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }

    /// Every claim besides the registered ones, as a JSON map.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(self.object()).unwrap_or_default()
    }

    /// Every claim besides the registered ones, as JSON object text.
    pub fn as_json(&self) -> &str {
        self.object()
    }

    fn object(&self) -> &str {
        if self.json.is_empty() {
            "{}"
        } else {
            &self.json
        }
    }

    /// Bytes these claims own on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        heap_chunk(self.json.len())
    }
}

impl fmt::Debug for DefaultClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DefaultClaims")
            .field(&self.to_map())
            .finish()
    }
}

impl Serialize for DefaultClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DefaultClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Others;
        impl<'de> Visitor<'de> for Others {
            type Value = DefaultClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // Written into this thread's scratch buffer, then kept in one
                // allocation of the exact size (a growing buffer would leave
                // slack and freed holes beside every cached token).
                // Without the scratch buffer (in use, or the thread's
                // storage being torn down): a buffer of its own.
                let with_scratch = SCRATCH.try_with(|scratch| {
                    let mut out = scratch.try_borrow_mut().ok()?;
                    out.clear();
                    let kept = others(&mut map, &mut out);
                    out.clear();
                    if out.capacity() > SCRATCH_KEPT {
                        *out = Vec::new();
                    }
                    Some(kept)
                });
                match with_scratch {
                    Ok(Some(kept)) => kept,
                    _ => others(&mut map, &mut Vec::new()),
                }
            }
        }
        fn others<'de, A: MapAccess<'de>>(
            map: &mut A,
            out: &mut Vec<u8>,
        ) -> Result<DefaultClaims, A::Error> {
            while let Some(key) = map.next_key::<Text<'de>>()? {
                if REGISTERED.contains(&&*key.0) {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                let value = map.next_value::<serde_json::Value>()?;
                out.push(if out.is_empty() { b'{' } else { b',' });
                serde_json::to_writer(&mut *out, &*key.0).map_err(A::Error::custom)?;
                out.push(b':');
                serde_json::to_writer(&mut *out, &value).map_err(A::Error::custom)?;
            }
            if !out.is_empty() {
                out.push(b'}');
            }
            let json = std::str::from_utf8(out).map_err(A::Error::custom)?;
            Ok(DefaultClaims { json: json.into() })
        }
        d.deserialize_map(Others)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
