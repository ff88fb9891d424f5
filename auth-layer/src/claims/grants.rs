//! What a token grants, whatever the claims type: its scopes (`scope`,
//! `scp`) and roles (`roles`), read during the one-pass claim parse and
//! checked by requirements.

use std::fmt;
use std::sync::Arc;

use crate::claims::heap::heap_chunk;

/// The values of a list claim such as `scope` or `roles`, in token order: a
/// view into the token's [`Grants`], cheap to copy.
///
/// ```
/// # use auth_layer::JwtAuth;
/// # let auth = JwtAuth::builder().hmac_secret("a-secret-of-at-least-thirty-two-bytes!").build().unwrap();
/// # let token = jsonwebtoken::encode(
/// #     &jsonwebtoken::Header::default(),
/// #     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:read orders:write" }),
/// #     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// # ).unwrap();
/// let verified = auth.verifier().verify(&token).unwrap();
/// assert!(verified.scopes().contains("orders:write"));
/// assert_eq!(verified.scopes().iter().collect::<Vec<_>>(), ["orders:read", "orders:write"]);
/// assert!(verified.roles().is_empty());
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimList<'a> {
    /// The encoded items (see [`Grants`]).
    items: &'a str,
    len: usize,
}

impl<'a> ClaimList<'a> {
    /// Whether `value` is one of the items (exact, case-sensitive).
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|item| item == value)
    }

    /// The items, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let mut rest = self.items;
        (0..self.len).map_while(move |_| {
            let (item, after) = next_item(rest)?;
            rest = after;
            Some(item)
        })
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for ClaimList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The lists of [`Grants`], in their order.
const LISTS: usize = 4;
const SCOPES: usize = 0;
const ROLES: usize = 1;
const ACR: usize = 2;
const AUTH_TIME: usize = 3;

/// Lengths are written as one `char` each: `char` skips the surrogates
/// (0xD800..=0xDFFF), so lengths from 0xD800 on are shifted past them.
const SURROGATES: u32 = 0x800;

fn length_char(len: usize) -> Option<char> {
    let len = u32::try_from(len).ok()?;
    char::from_u32(if len >= 0xD800 {
        len.checked_add(SURROGATES)?
    } else {
        len
    })
}

fn char_length(c: char) -> usize {
    let n = u32::from(c);
    let n = if n >= 0xE000 { n - SURROGATES } else { n };
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The first encoded item of `rest` and what follows it.
fn next_item(rest: &str) -> Option<(&str, &str)> {
    let mut chars = rest.chars();
    let len = char_length(chars.next()?);
    let body = chars.as_str();
    Some((body.get(..len)?, body.get(len..)?))
}

/// The items of one list claim while the payload is parsed, encoded as
/// [`Grants`] keeps them.
#[derive(Default)]
pub(crate) struct ListBuilder {
    text: String,
    len: usize,
}

impl ListBuilder {
    pub(crate) fn push(&mut self, item: &str) {
        // An item too long to encode (over a megabyte) is dropped: a token
        // grants less, never more.
        if let (false, Some(len)) = (item.is_empty(), length_char(item.len())) {
            // One allocation for most lists (fewer freed holes beside the
            // cached entries).
            if self.text.capacity() == 0 {
                self.text.reserve(64);
            }
            self.text.push(len);
            self.text.push_str(item);
            self.len += 1;
        }
    }
}

/// What a verified token grants, independently of the claims type: its
/// scopes (`scope`, a space-separated string as in RFC 8693 and RFC 9068,
/// and `scp`, a string or an array) and its roles (`roles`, an array or one
/// string; RFC 9068 section 2.2.3.1), or wherever
/// [`GrantClaims`](crate::claims::GrantClaims) says; and how the user
/// logged in (`acr`, `auth_time`), for step-up rules (RFC 9470).
///
/// Read from the verified token ([`VerifiedToken::grants`](crate::VerifiedToken::grants)),
/// which the layer puts in the request extensions; guards check them
/// whatever `C` is. Cheap to clone (an `Arc`, or nothing for a token
/// without grants).
/// A claim of another shape (a number, an object) grants nothing.
///
/// Scopes and roles share one allocation: the number of scopes, then each
/// item preceded by its length (one `char` each).
///
/// ```
/// # use auth_layer::JwtAuth;
/// # let auth = JwtAuth::builder().hmac_secret("a-secret-of-at-least-thirty-two-bytes!").build().unwrap();
/// # let token = jsonwebtoken::encode(
/// #     &jsonwebtoken::Header::default(),
/// #     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:read", "roles": ["Org Admin"] }),
/// #     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// # ).unwrap();
/// let verified = auth.verifier().verify(&token).unwrap();
/// let grants = verified.grants();
/// assert!(grants.has_scope("orders:read") && !grants.has_scope("orders:write"));
/// assert!(grants.has_role("Org Admin") && !grants.has_role("Admin"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// The scopes, the roles, `acr` and `auth_time` (in decimal), each list
    /// counted in the header; `None` when all are empty.
    inner: Option<Arc<str>>,
}

impl Grants {
    /// The scopes, from `scope` and `scp` together.
    pub fn scopes(&self) -> ClaimList<'_> {
        self.list(SCOPES)
    }

    /// The roles, from `roles`.
    pub fn roles(&self) -> ClaimList<'_> {
        self.list(ROLES)
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(scope)
    }

    /// Whether the token grants `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().contains(role)
    }

    /// The authentication context class the user logged in with (`acr`,
    /// OpenID Connect Core section 2), for step-up rules (RFC 9470).
    pub fn acr(&self) -> Option<&str> {
        self.list(ACR).iter().next()
    }

    /// When the user last authenticated actively (`auth_time`, Unix
    /// seconds, truncated), for step-up rules (RFC 9470).
    pub fn auth_time(&self) -> Option<i64> {
        self.list(AUTH_TIME).iter().next()?.parse().ok()
    }

    /// Bytes this value owns on the heap (0 without grants).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |text| heap_chunk(2 * size_of::<usize>() + text.len()))
    }

    /// List `index` of the four: the scopes, the roles, `acr` and
    /// `auth_time` (one item at most each). Walks only the lists before it:
    /// a scope check never reads the roles.
    fn list(&self, index: usize) -> ClaimList<'_> {
        let Some(text) = self.inner.as_deref() else {
            return ClaimList::default();
        };
        let mut chars = text.chars();
        let mut counts = [0; LISTS];
        for count in &mut counts {
            match chars.next() {
                Some(c) => *count = char_length(c),
                None => return ClaimList::default(),
            }
        }
        let mut rest = chars.as_str();
        for len in counts.iter().take(index) {
            for _ in 0..*len {
                rest = next_item(rest).map_or("", |(_, after)| after);
            }
        }
        let len = counts.get(index).copied().unwrap_or(0);
        let start = rest;
        for _ in 0..len {
            rest = next_item(rest).map_or("", |(_, after)| after);
        }
        ClaimList {
            items: start.get(..start.len() - rest.len()).unwrap_or_default(),
            len,
        }
    }

    #[cfg(test)]
    pub(crate) fn from_lists(scopes: ListBuilder, roles: ListBuilder) -> Self {
        Self::from_parts(scopes, roles, ListBuilder::default(), None)
    }

    /// The grants and the authentication facts (`acr`: at most one item).
    pub(crate) fn from_parts(
        scopes: ListBuilder,
        roles: ListBuilder,
        acr: ListBuilder,
        auth_time: Option<i64>,
    ) -> Self {
        let mut time = ListBuilder::default();
        if let Some(t) = auth_time {
            time.push(&t.to_string());
        }
        let lists = [&scopes, &roles, &acr, &time];
        if lists.iter().all(|l| l.len == 0) {
            return Self::default();
        }
        let mut text =
            String::with_capacity(16 + lists.iter().map(|l| l.text.len()).sum::<usize>());
        for list in lists {
            match length_char(list.len) {
                Some(count) => text.push(count),
                None => return Self::default(),
            }
        }
        for list in lists {
            text.push_str(&list.text);
        }
        Self {
            inner: Some(Arc::from(text)),
        }
    }
}

impl fmt::Debug for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grants")
            .field("scopes", &self.scopes())
            .field("roles", &self.roles())
            .field("acr", &self.acr())
            .field("auth_time", &self.auth_time())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn grants_are_send_sync_and_cheap_to_clone() {
        assert_send_sync::<Grants>();
        assert_send_sync::<ClaimList<'static>>();
        let mut scopes = ListBuilder::default();
        scopes.push("a");
        scopes.push("");
        scopes.push("bc");
        let mut roles = ListBuilder::default();
        roles.push("Org Admin");
        let grants = Grants::from_lists(scopes, roles);
        assert_eq!(grants.scopes().iter().collect::<Vec<_>>(), ["a", "bc"]);
        assert_eq!(grants.roles().iter().collect::<Vec<_>>(), ["Org Admin"]);
        let clone = grants.clone();
        assert!(matches!((&grants.inner, &clone.inner), (Some(a), Some(b)) if Arc::ptr_eq(a, b)));
        assert_eq!(
            format!("{grants:?}"),
            r#"Grants { scopes: ["a", "bc"], roles: ["Org Admin"], acr: None, auth_time: None }"#
        );
    }

    #[test]
    fn long_items_keep_their_bounds() {
        // Lengths around the surrogate gap of `char` and beyond one byte.
        let items: Vec<String> = [1, 127, 128, 0xD7FF, 0xD800, 0xE000, 70_000]
            .iter()
            .map(|&n| "x".repeat(n))
            .collect();
        let mut scopes = ListBuilder::default();
        for item in &items {
            scopes.push(item);
        }
        let mut roles = ListBuilder::default();
        roles.push("r");
        let grants = Grants::from_lists(scopes, roles);
        let got: Vec<&str> = grants.scopes().iter().collect();
        assert_eq!(got, items.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(grants.roles().iter().collect::<Vec<_>>(), ["r"]);
        assert!(grants.has_role("r") && !grants.has_scope("r"));
        assert!(grants.has_scope(&items[4]) && !grants.has_scope(&"x".repeat(2)));
    }
}
