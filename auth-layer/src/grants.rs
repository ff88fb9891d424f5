//! What a token grants, whatever the claims type: its scopes (`scope`,
//! `scp`) and roles (`roles`), read during the one-pass claim parse in
//! [`claims`](crate::claims) and checked by guards.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

/// The values of a list claim such as `scope` or `roles`, in token order.
///
/// Stored as one string and the end offsets of its items, so a token with
/// scopes costs two allocations, a token without none.
///
/// ```
/// # use auth_layer::JwtAuth;
/// # let auth = JwtAuth::builder().hmac_secret("a-secret-of-at-least-thirty-two-bytes!").build().unwrap();
/// # let token = jsonwebtoken::encode(
/// #     &jsonwebtoken::Header::default(),
/// #     &serde_json::json!({ "exp": 4_000_000_000_u64, "scope": "orders:read orders:write" }),
/// #     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// # ).unwrap();
/// let verified = auth.verifier().verify(&token).unwrap();
/// assert!(verified.scopes().contains("orders:write"));
/// assert_eq!(verified.scopes().iter().collect::<Vec<_>>(), ["orders:read", "orders:write"]);
/// assert!(verified.roles().is_empty());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClaimList {
    text: String,
    ends: Vec<usize>,
}

static EMPTY_LIST: ClaimList = ClaimList {
    text: String::new(),
    ends: Vec::new(),
};

impl ClaimList {
    /// Whether `value` is one of the items (exact, case-sensitive).
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|item| item == value)
    }

    /// The items, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let item = self.text.get(start..end).unwrap_or_default();
            start = end;
            item
        })
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn push(&mut self, item: &str) {
        if !item.is_empty() {
            self.text.push_str(item);
            self.ends.push(self.text.len());
        }
    }
}

impl fmt::Debug for ClaimList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// What a verified token grants, independently of the claims type: its
/// scopes (`scope`, a space-separated string as in RFC 8693 and RFC 9068,
/// and `scp`, a string or an array) and its roles (`roles`, an array or one
/// string; RFC 9068 section 2.2.3.1).
///
/// The layer stores a clone next to the [`VerifiedToken<C>`](crate::VerifiedToken) in the
/// request extensions, so guards can check scopes without knowing `C`.
/// Cheap to clone (an `Arc`, or nothing for a token without grants).
/// A claim of another shape (a number, an object) grants nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Grants {
    inner: Option<Arc<GrantLists>>,
}

#[derive(Default, PartialEq, Eq)]
struct GrantLists {
    scopes: ClaimList,
    roles: ClaimList,
}

impl Grants {
    /// The scopes, from `scope` and `scp` together.
    pub fn scopes(&self) -> &ClaimList {
        self.inner.as_ref().map_or(&EMPTY_LIST, |g| &g.scopes)
    }

    /// The roles, from `roles`.
    pub fn roles(&self) -> &ClaimList {
        self.inner.as_ref().map_or(&EMPTY_LIST, |g| &g.roles)
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(scope)
    }

    /// Whether the token grants `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().contains(role)
    }

    pub(crate) fn from_lists(scopes: ClaimList, roles: ClaimList) -> Self {
        if scopes.is_empty() && roles.is_empty() {
            return Self::default();
        }
        Self {
            inner: Some(Arc::new(GrantLists { scopes, roles })),
        }
    }
}

impl fmt::Debug for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grants")
            .field("scopes", self.scopes())
            .field("roles", self.roles())
            .finish()
    }
}

/// Appends a list claim's items to `list`: a string (split on spaces when
/// `split`, as `scope` is; one item otherwise, as a role), or an array of
/// strings. Anything else (`null`, a number, an object, non-string array
/// items) adds nothing, without failing the token: such claims were never
/// read before and may carry something else in some deployments.
pub(crate) struct ListSeed<'l> {
    pub(crate) list: &'l mut ClaimList,
    pub(crate) split: bool,
}

impl ListSeed<'_> {
    fn add(&mut self, value: &str) {
        if self.split {
            value.split(' ').for_each(|item| self.list.push(item));
        } else {
            self.list.push(value);
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ListSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: serde::de::Error>(mut self, v: &str) -> Result<(), E> {
        self.add(v);
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<ListItem<'de>>()? {
            if let ListItem::Text(text) = item {
                // Items of an array are taken whole: `scp: ["a b"]` is one
                // (odd) scope, never two.
                self.list.push(&text);
            }
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(())
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

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// One array item of a list claim: text (borrowed when unescaped) or
/// something that is skipped.
enum ListItem<'de> {
    Text(Cow<'de, str>),
    Other,
}

impl<'de> Deserialize<'de> for ListItem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Item;
        impl<'de> serde::de::Visitor<'de> for Item {
            type Value = ListItem<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ListItem::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ListItem::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Self::Value, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(ListItem::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                while m
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(ListItem::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ListItem::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ListItem::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ListItem::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ListItem::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ListItem::Other)
            }
        }
        d.deserialize_any(Item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn grants_are_send_sync_and_cheap_to_clone() {
        assert_send_sync::<Grants>();
        assert_send_sync::<ClaimList>();
        let mut scopes = ClaimList::default();
        scopes.push("a");
        scopes.push("");
        scopes.push("bc");
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["a", "bc"]);
        let grants = Grants::from_lists(scopes, ClaimList::default());
        let clone = grants.clone();
        assert!(matches!((&grants.inner, &clone.inner), (Some(a), Some(b)) if Arc::ptr_eq(a, b)));
        assert_eq!(
            format!("{grants:?}"),
            r#"Grants { scopes: ["a", "bc"], roles: [] }"#
        );
    }
}
