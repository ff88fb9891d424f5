//! [`ScopedKey`]: an issuer and an id (subject, session id or token id), the
//! key of every revocation record, looked up without allocating.

use std::hash::{Hash, Hasher};

use quick_cache::Equivalent;

/// An issuer and an id within it, as cached: both in one allocation, so a
/// key comparison reads one place in memory. A token without `iss` is
/// scoped to the empty issuer `""`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScopedKey {
    /// The issuer, then the id.
    text: Box<str>,
    /// Where the id starts in `text`.
    split: usize,
}

impl ScopedKey {
    pub(crate) fn new(issuer: &str, id: &str) -> Self {
        let mut text = String::with_capacity(issuer.len() + id.len());
        text.push_str(issuer);
        text.push_str(id);
        Self {
            text: text.into_boxed_str(),
            split: issuer.len(),
        }
    }

    fn parts(&self) -> (&str, &str) {
        let (issuer, id) = self.text.split_at_checked(self.split).unwrap_or_default();
        (issuer, id)
    }
}

/// A borrowed issuer and id: the probe's key, hashed and compared like the
/// owned [`ScopedKey`], so a probe borrows the token's text.
#[derive(Clone, Copy)]
pub(crate) struct Scoped<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) id: &'a str,
}

/// Both shapes hash alike. `str`'s hash ends each string with a marker
/// byte: ("a", "bc") and ("ab", "c") hash apart.
fn hash_parts<H: Hasher>((issuer, id): (&str, &str), state: &mut H) {
    issuer.hash(state);
    id.hash(state);
}

impl Hash for ScopedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.parts(), state);
    }
}

impl Hash for Scoped<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts((self.issuer, self.id), state);
    }
}

impl Equivalent<ScopedKey> for Scoped<'_> {
    fn equivalent(&self, key: &ScopedKey) -> bool {
        key.split == self.issuer.len() && key.parts() == (self.issuer, self.id)
    }
}

#[cfg(test)]
mod tests {
    use quick_cache::sync::Cache;

    use super::*;

    #[test]
    fn a_borrowed_pair_finds_the_owned_key_and_nothing_else() {
        let cache = Cache::new(16);
        cache.insert(ScopedKey::new("https://a.example", "bob"), 1);
        cache.insert(ScopedKey::new("https://b.example", "bob"), 2);
        cache.insert(ScopedKey::new("", "https://a.examplebob"), 3);
        let get = |issuer, id| cache.get(&Scoped { issuer, id });
        assert_eq!(get("https://a.example", "bob"), Some(1));
        assert_eq!(get("https://b.example", "bob"), Some(2));
        assert_eq!(get("", "https://a.examplebob"), Some(3));
        assert_eq!(get("https://a.exampleb", "ob"), None);
        assert_eq!(get("https://a.examplebob", ""), None);
        assert_eq!(get("", "bob"), None);
    }
}
