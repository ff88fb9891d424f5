//! [`KeySet`]: the configured keys, and which one verifies a given token.

use std::sync::Arc;

use jsonwebtoken::Algorithm;

use crate::error::{AuthError, ErrorKind};
use crate::keys::key::Key;

/// The configured keys; selects the one that may verify a given token.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<Key>>,
}

impl KeySet {
    pub(crate) fn new(keys: Vec<Key>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
        }
    }

    #[cfg(feature = "jwks")]
    pub(crate) fn from_shared(keys: Vec<Arc<Key>>) -> Self {
        Self { keys }
    }

    pub(crate) fn keys(&self) -> &[Arc<Key>] {
        &self.keys
    }

    /// The key for a token signed with `alg` naming `kid`: the key with that
    /// `kid`; else the only key without a `kid` that verifies `alg`; else, for
    /// a token without `kid`, the only key at all that verifies `alg`.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<&Arc<Key>, AuthError> {
        if let Some(kid) = kid
            && let Some(key) = self.keys.iter().find(|k| k.kid() == Some(kid))
        {
            return if key.algorithms.contains(&alg) {
                Ok(key)
            } else {
                Err(AuthError::new(
                    ErrorKind::AlgorithmNotAllowed,
                    "the token's algorithm is not allowed for the key its kid names",
                ))
            };
        }
        if let Some(key) = only(
            self.keys
                .iter()
                .filter(|k| k.kid.is_none() && k.algorithms.contains(&alg)),
        )? {
            return Ok(key);
        }
        if kid.is_some() {
            return Err(AuthError::new(
                ErrorKind::UnknownKey,
                "no key matches the token's kid",
            ));
        }
        only(self.keys.iter().filter(|k| k.algorithms.contains(&alg)))?.ok_or_else(|| {
            AuthError::new(
                ErrorKind::UnknownKey,
                "no key verifies the token's algorithm",
            )
        })
    }
}

fn only<'a>(
    mut keys: impl Iterator<Item = &'a Arc<Key>>,
) -> Result<Option<&'a Arc<Key>>, AuthError> {
    match (keys.next(), keys.next()) {
        (first, None) => Ok(first),
        (Some(_), Some(_)) => Err(AuthError::new(
            ErrorKind::UnknownKey,
            "the token has no kid and several keys could verify it",
        )),
        (None, Some(_)) => Ok(None),
    }
}
