//! [`Audience`]: the `aud` claim.

use serde::{Deserialize, Serialize};

use crate::claims::heap::heap_chunk;

/// The `aud` claim: one string or an array of strings (RFC 7519 section 4.1.3).
///
/// ```
/// use auth_layer::claims::Audience;
///
/// let aud: Audience = serde_json::from_str(r#"["orders-api","billing-api"]"#).unwrap();
/// assert!(aud.contains("billing-api") && !aud.contains("admin-api"));
/// assert_eq!(aud.iter().collect::<Vec<_>>(), ["orders-api", "billing-api"]);
/// ```
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

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::One(a) => heap_chunk(a.len()),
            Self::Many(all) => {
                heap_chunk(all.len() * size_of::<String>())
                    + all.iter().map(|a| heap_chunk(a.len())).sum::<usize>()
            }
        }
    }
}
