//! What the layer stores in the request extensions: a [`VerifiedToken`],
//! or [`Unauthenticated`] when optional mode let a request without a token
//! through.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Weak};

use jsonwebtoken::Algorithm;

use crate::claims::default::DefaultClaims;
use crate::claims::grants::{ClaimList, Grants};
use crate::claims::heap::{SharedStr, heap_chunk};
use crate::claims::registered::RegisteredClaims;
use crate::keys::Key;

/// A token that passed every check, as stored in the request extensions.
///
/// Holds your claims type `C` (reachable through `Deref`), the registered
/// claims, and the header facts that selected the key. Cheap to clone.
///
/// ```
/// use auth_layer::{JwtAuth, VerifiedToken};
/// use http::{Request, Response, StatusCode};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "scope": "orders:read" }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let svc = auth.layer(service_fn(|req: Request<()>| async move {
///     let token = req.extensions().get::<VerifiedToken>().unwrap();
///     assert!(token.has_scope("orders:read"));
///     Ok::<_, std::convert::Infallible>(Response::new(token.subject().to_owned()))
/// }));
/// let req = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), StatusCode::OK);
/// assert_eq!(res.body(), "alice");
/// # }
/// ```
pub struct VerifiedToken<C = DefaultClaims> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    claims: C,
    registered: RegisteredClaims,
    /// The version claim, when `has_ver` (kept apart from its flag, which
    /// sits in padding: an `Option<u64>` would take a word more).
    ver: u64,
    has_ver: bool,
    grants: Grants,
    algorithm: Algorithm,
    kid: Option<SharedStr>,
    /// The key that verified the token (see [`CacheFacts`]).
    key: Weak<Key>,
    /// The cached copy's end of life (see [`CacheFacts`]); beside the flag
    /// and the algorithm, in one word.
    until: u32,
    challenge: Option<crate::response::Challenge>,
    /// The revocation cache's last pass, while it holds.
    revocation: crate::revocation::Memo,
}

/// What the verified-token cache needs to know of an entry. (What the
/// entry weighs is kept beside its key in the cache's table.)
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheFacts {
    /// The key that verified the token: once it leaves the key set, a
    /// cached copy is verified again (and fails).
    pub(crate) key: Weak<Key>,
    /// Unix seconds (the verifier's clock) from which a cached copy is
    /// stale: `exp` plus leeway, at most the maximum age after verification.
    /// A `u32` reaches 2106: a later end of life is cut to it, and one
    /// before 1970 is 0 (never cached).
    pub(crate) until: u32,
}

/// The claims the layer reads besides the registered ones: the token
/// version and the grants (`scope`/`scp`, `roles`). The session id is kept
/// with the registered claims' text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionAndGrants {
    pub(crate) ver: Option<u64>,
    pub(crate) grants: Grants,
}

impl<C> VerifiedToken<C> {
    pub(crate) fn new(
        claims: C,
        registered: RegisteredClaims,
        extra: VersionAndGrants,
        algorithm: Algorithm,
        kid: Option<SharedStr>,
        cache: CacheFacts,
        challenge: Option<crate::response::Challenge>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                claims,
                registered,
                ver: extra.ver.unwrap_or_default(),
                has_ver: extra.ver.is_some(),
                grants: extra.grants,
                algorithm,
                kid,
                key: cache.key,
                until: cache.until,
                challenge,
                revocation: crate::revocation::Memo::default(),
            }),
        }
    }

    /// The key that verified this token, while the key set holds it.
    #[inline]
    pub(crate) fn verifying_key(&self) -> &Weak<Key> {
        &self.inner.key
    }

    /// Unix seconds from which a cached copy of this token is stale.
    #[inline]
    pub(crate) fn cached_until(&self) -> i64 {
        i64::from(self.inner.until)
    }

    /// Bytes of the shared allocation of a token and what the verifier
    /// keeps on the heap for it (not counting what `C` owns).
    pub(crate) fn own_bytes(registered: &RegisteredClaims, extra: &VersionAndGrants) -> usize {
        heap_chunk(2 * size_of::<usize>() + size_of::<Inner<C>>())
            + registered.heap_bytes()
            + extra.grants.heap_bytes()
    }

    /// The challenge settings of the layer that verified this token, so
    /// that answers built after the layer (by extractors and guards) carry
    /// its realm, DPoP challenge and `resource_metadata`; `None` for a
    /// token made otherwise.
    pub fn challenge(&self) -> Option<&crate::response::Challenge> {
        self.inner.challenge.as_ref()
    }

    /// The token version claim (`ver` unless configured otherwise), if any.
    pub fn version(&self) -> Option<u64> {
        self.inner.has_ver.then_some(self.inner.ver)
    }

    /// Where the revocation cache remembers its last pass on this token.
    #[inline]
    pub(crate) fn revocation_memo(&self) -> &crate::revocation::Memo {
        &self.inner.revocation
    }

    /// The session id claim (`sid` unless configured otherwise), if any.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.registered.sid()
    }

    #[inline]
    pub(crate) fn facts(&self) -> crate::revocation::Facts<'_> {
        let registered = &self.inner.registered;
        crate::revocation::Facts {
            iss: registered.iss().unwrap_or(""),
            sub: registered.sub(),
            iat: registered.iat(),
            ver: self.version(),
            sid: registered.sid(),
            jti: registered.jti(),
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

    /// The `sub` claim: who the token is for.
    ///
    /// The layer requires `sub` (RFC 9068 section 2.2), so this is the
    /// token's subject; it is empty only for a token without one passed by
    /// a layer built with
    /// [`subject_optional`](crate::JwtAuthBuilder::subject_optional).
    pub fn subject(&self) -> &str {
        self.inner.registered.sub().unwrap_or_default()
    }

    /// The algorithm the signature was verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The `kid` from the token's header, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.inner.kid.as_deref().map(|kid| &**kid)
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
            .field("version", &self.version())
            .field("grants", &self.inner.grants)
            .field("algorithm", &self.inner.algorithm)
            .field("kid", &self.inner.kid)
            .finish()
    }
}

/// Marker the layer stores in optional mode when a request had no token, so
/// extractors can tell "no token" from "layer missing".
///
/// ```
/// use auth_layer::JwtAuth;
/// use auth_layer::claims::Unauthenticated;
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .optional()
///     .build()
///     .unwrap();
/// let svc = auth.layer(service_fn(|req: Request<()>| async move {
///     let anonymous = req.extensions().get::<Unauthenticated>().is_some();
///     Ok::<_, std::convert::Infallible>(Response::new(anonymous.to_string()))
/// }));
/// let res = svc.oneshot(Request::new(())).await.unwrap();
/// assert_eq!(res.body(), "true");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthenticated;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_token_derefs_to_claims_and_clones_cheaply() {
        let t = VerifiedToken::new(
            7_u32,
            RegisteredClaims::default(),
            VersionAndGrants::default(),
            Algorithm::HS256,
            None,
            CacheFacts::default(),
            None,
        );
        let u = t.clone();
        assert_eq!(*u, 7);
        // The clone shares the claims: the same allocation, not a copy.
        assert!(std::ptr::eq(&*t, &*u));
    }

    #[test]
    fn a_verified_token_with_default_claims_fits_a_176_byte_allocation() {
        // The cache's memory per entry (`BENCHMARKS.md`) counts on it: the
        // `Arc`'s two counts and `Inner` in one 176-byte chunk.
        let shared = 2 * size_of::<usize>() + size_of::<Inner<DefaultClaims>>();
        assert_eq!(heap_chunk(shared), 176, "{shared} bytes");
        assert_eq!(
            heap_chunk(2 * size_of::<usize>() + size_of::<Inner<()>>()),
            160
        );
    }
}
