//! [`VerifiedToken`]: what the layer hands to handlers.

use super::*;

/// A token that passed every check, as stored in the request extensions.
///
/// Holds your claims type `C` (reachable through `Deref`), the registered
/// claims, and the header facts that selected the key. Cheap to clone.
pub struct VerifiedToken<C = DefaultClaims> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    claims: C,
    registered: RegisteredClaims,
    ver: Option<u64>,
    grants: Grants,
    algorithm: Algorithm,
    kid: Option<Arc<str>>,
    cache: CacheFacts,
}

/// What the verified-token cache needs to know of an entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheFacts {
    /// The key that verified the token: once it leaves the key set, a
    /// cached copy is verified again (and fails).
    pub(crate) key: Weak<Key>,
    /// Unix seconds (the verifier's clock) from which a cached copy is
    /// stale: `exp` plus leeway, at most the maximum age after verification.
    pub(crate) until: i64,
    /// What the entry costs, in bytes (see the cache's weigher).
    pub(crate) weight: u32,
}

/// The claims the layer reads besides the registered ones: the token
/// version (the session id is kept with the registered claims' text) and the
/// grants (`scope`/`scp`, `roles`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SessionClaims {
    pub(crate) ver: Option<u64>,
    pub(crate) grants: Grants,
}

impl<C> VerifiedToken<C> {
    pub(crate) fn new(
        claims: C,
        registered: RegisteredClaims,
        session: SessionClaims,
        algorithm: Algorithm,
        kid: Option<Arc<str>>,
        cache: CacheFacts,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                claims,
                registered,
                ver: session.ver,
                grants: session.grants,
                algorithm,
                kid,
                cache,
            }),
        }
    }

    /// What the verified-token cache needs to know of this token.
    pub(crate) fn cache_facts(&self) -> &CacheFacts {
        &self.inner.cache
    }

    /// Bytes of the shared allocation of a token and what the verifier
    /// keeps on the heap for it (not counting what `C` owns).
    pub(crate) fn own_bytes(registered: &RegisteredClaims, session: &SessionClaims) -> usize {
        heap_chunk(2 * size_of::<usize>() + size_of::<Inner<C>>())
            + registered.heap_bytes()
            + session.grants.heap_bytes()
    }

    /// The token version claim (`ver` unless configured otherwise), if any.
    pub fn version(&self) -> Option<u64> {
        self.inner.ver
    }

    /// The session id claim (`sid` unless configured otherwise), if any.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.registered.sid()
    }

    pub(crate) fn facts(&self) -> crate::revocation::Facts<'_> {
        crate::revocation::Facts {
            sub: self.inner.registered.sub(),
            ver: self.inner.ver.unwrap_or(0),
            sid: self.inner.registered.sid(),
            jti: self.inner.registered.jti(),
        }
    }

    /// What the token grants: scopes and roles, whatever `C` is.
    pub fn grants(&self) -> &Grants {
        &self.inner.grants
    }

    /// The scopes (`scope` and `scp` claims).
    pub fn scopes(&self) -> ClaimList<'_> {
        self.inner.grants.scopes()
    }

    /// The roles (`roles` claim).
    pub fn roles(&self) -> ClaimList<'_> {
        self.inner.grants.roles()
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.grants.has_scope(scope)
    }

    /// Whether the token grants `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.grants.has_role(role)
    }

    /// Your claims.
    pub fn claims(&self) -> &C {
        &self.inner.claims
    }

    /// The registered claims (`sub`, `exp`, ...) as verified.
    pub fn registered(&self) -> &RegisteredClaims {
        &self.inner.registered
    }

    /// The `sub` claim, if any.
    pub fn subject(&self) -> Option<&str> {
        self.inner.registered.sub()
    }

    /// The algorithm the signature was verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The `kid` from the token's header, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }
}

impl VerifiedToken<DefaultClaims> {
    /// Every claim of the token, the registered ones and the others, as a
    /// JSON map.
    pub fn all_claims(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut all = match serde_json::to_value(&self.inner.registered) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        all.extend(self.inner.claims.to_map());
        all
    }
}

impl<C> Clone for VerifiedToken<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> Deref for VerifiedToken<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.inner.claims
    }
}

impl<C: fmt::Debug> fmt::Debug for VerifiedToken<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("claims", &self.inner.claims)
            .field("registered", &self.inner.registered)
            .field("session_id", &self.session_id())
            .field("version", &self.inner.ver)
            .field("grants", &self.inner.grants)
            .field("algorithm", &self.inner.algorithm)
            .field("kid", &self.inner.kid)
            .finish()
    }
}
