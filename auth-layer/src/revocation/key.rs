//! [`ScopedKey`]: an issuer and an id (subject, session id or token id), the
//! key of every revocation record, looked up without allocating.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// An issuer and an id within it, as cached. A token without `iss` is
/// scoped to the empty issuer `""`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScopedKey {
    issuer: Box<str>,
    id: Box<str>,
}

impl ScopedKey {
    pub(crate) fn new(issuer: &str, id: &str) -> Self {
        Self {
            issuer: issuer.into(),
            id: id.into(),
        }
    }
}

/// Either key shape: the owned [`ScopedKey`] or a borrowed `(issuer, id)`
/// pair, hashed and compared alike, so a probe borrows the token's text.
pub(crate) trait Scoped: Send + Sync {
    fn parts(&self) -> (&str, &str);
}

impl Scoped for ScopedKey {
    fn parts(&self) -> (&str, &str) {
        (&self.issuer, &self.id)
    }
}

impl Scoped for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        *self
    }
}

impl Hash for dyn Scoped + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // `str`'s hash ends each string with a marker byte: ("a", "bc") and
        // ("ab", "c") hash apart.
        let (issuer, id) = self.parts();
        issuer.hash(state);
        id.hash(state);
    }
}

impl PartialEq for dyn Scoped + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn Scoped + '_ {}

impl Hash for ScopedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn Scoped).hash(state);
    }
}

impl<'a> Borrow<dyn Scoped + 'a> for ScopedKey {
    fn borrow(&self) -> &(dyn Scoped + 'a) {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_borrowed_pair_finds_the_owned_key_and_nothing_else() {
        let mut map = HashMap::new();
        map.insert(ScopedKey::new("https://a.example", "bob"), 1);
        map.insert(ScopedKey::new("https://b.example", "bob"), 2);
        let get = |iss, id| map.get(&(iss, id) as &dyn Scoped).copied();
        assert_eq!(get("https://a.example", "bob"), Some(1));
        assert_eq!(get("https://b.example", "bob"), Some(2));
        assert_eq!(get("https://a.exampleb", "ob"), None);
        assert_eq!(get("", "bob"), None);
    }
}
