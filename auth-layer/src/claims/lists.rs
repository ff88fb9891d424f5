//! The list claims (`scope`, `scp`, `roles`) read into a [`ListBuilder`]
//! during the one-pass claim parse.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::claims::grants::ListBuilder;
use crate::claims::skip::{skip_containers, skip_scalars};

/// Appends a list claim's items to `list`: a string (split on spaces when
/// `split`, as `scope` is; one item otherwise, as a role), or an array of
/// strings. Anything else (`null`, a number, an object, non-string array
/// items) adds nothing, without failing the token: such claims were never
/// read before and may carry something else in some deployments.
pub(crate) struct ListSeed<'l> {
    pub(crate) list: &'l mut ListBuilder,
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

    skip_scalars!(());
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
            skip_containers!(ListItem::Other);
            skip_scalars!(ListItem::Other);
        }
        d.deserialize_any(Item)
    }
}

#[cfg(test)]
mod tests {
    use crate::claims::grants::{ClaimList, Grants};
    use crate::claims::interner::Interner;
    use crate::claims::names::ClaimNames;
    use crate::claims::parse::parse_registered;

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
            ..ClaimNames::default()
        };
        let (r, s) = parse_registered(br#"{"scope":"s1"}"#, &names, &Interner::default()).unwrap();
        assert_eq!(r.sid(), Some("s1"));
        assert!(s.grants.scopes().is_empty());
    }
}
