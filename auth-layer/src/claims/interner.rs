//! [`Interner`]: the configured issuers and audiences, shared with the
//! tokens that name them.

use std::borrow::Cow;
use std::sync::Arc;

use crate::claims::audience::Audience;
use crate::claims::borrowed::AudienceRef;
use crate::claims::heap::{SharedStr, shared_str};

/// Shares the `iss` and `aud` values of the tokens with the configured
/// issuers and audiences: every token of an issuer names the same ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    issuers: Vec<SharedStr>,
    audiences: Vec<Arc<Audience>>,
}

impl Interner {
    pub(crate) fn new<'a>(
        issuers: impl IntoIterator<Item = &'a str>,
        audiences: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut interner = Self::default();
        for iss in issuers {
            if !interner.issuers.iter().any(|i| ***i == *iss) {
                interner.issuers.push(shared_str(iss));
            }
        }
        for aud in audiences {
            if !interner.audiences.iter().any(|a| a.contains(aud)) {
                interner
                    .audiences
                    .push(Arc::new(Audience::One(aud.to_owned())));
            }
        }
        interner
    }

    /// `iss`, and whether it is shared.
    pub(crate) fn issuer(&self, iss: &str) -> (SharedStr, bool) {
        match self.issuers.iter().find(|i| ****i == *iss) {
            Some(shared) => (Arc::clone(shared), true),
            None => (shared_str(iss), false),
        }
    }

    /// `aud`, and whether it is shared.
    pub(crate) fn audience(&self, aud: AudienceRef<'_>) -> (Arc<Audience>, bool) {
        match aud {
            AudienceRef::One(one) => match self.audiences.iter().find(|a| a.contains(&one)) {
                Some(shared) => (Arc::clone(shared), true),
                None => (Arc::new(Audience::One(one.into_owned())), false),
            },
            AudienceRef::Many(all) => (
                Arc::new(Audience::Many(
                    all.into_iter().map(Cow::into_owned).collect(),
                )),
                false,
            ),
        }
    }
}
