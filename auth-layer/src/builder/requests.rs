//! The builder's settings for how requests are handled: where the token
//! is found, the realm, optional mode, revocation, the verified-token cache,
//! and what is reported (audit hook, client address, subjects in logs).

use std::sync::Arc;
use std::time::Duration;

use crate::builder::build::JwtAuthBuilder;
use crate::observe::AuditEvent;
use crate::revocation::RevocationCache;
use crate::source::TokenSource;
use crate::verify::{DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_MAX_AGE};

impl<C> JwtAuthBuilder<C> {
    /// Adds a place to look for the token; the first call replaces the
    /// default (`Authorization: Bearer`). Sources are tried in order.
    #[must_use]
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.settings
            .sources
            .get_or_insert_with(Vec::new)
            .push(source);
        self
    }

    /// Sets the places to look for the token, in order.
    #[must_use]
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.settings.sources = Some(sources.into_iter().collect());
        self
    }

    /// The `realm` in `WWW-Authenticate` challenges (default `api`).
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.settings.realm = realm.into();
        self
    }

    /// Optional authentication: a request without a token passes through
    /// unauthenticated (handlers see no claims); a bad token is still rejected.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.settings.optional = true;
        self
    }

    /// Checks every token against this revocation cache (and its store):
    /// `ver` below the subject's current version, a revoked `sid`, or (if
    /// enabled) a denied `jti` is answered 401 `token_revoked`; a store that
    /// cannot answer, 503. See [`revocation`](crate::revocation).
    #[must_use]
    pub fn revocation(mut self, cache: RevocationCache) -> Self {
        self.settings.revocation = Some(cache);
        self
    }

    /// Checks DPoP proofs (RFC 9449) with `verifier`: a token bound to a
    /// key (`cnf.jkt`) passes only as `Authorization: DPoP <token>` with a
    /// `DPoP` proof by that key for this request (method, URI, the token's
    /// hash, a fresh `jti`, the server's nonce if the verifier hands them
    /// out). Unbound tokens still pass as bearer tokens unless
    /// [`dpop_mode`](Self::dpop_mode) is [`Required`](crate::dpop::DpopMode::Required).
    /// Challenges then offer `DPoP algs="…"`. With a
    /// [shared store](crate::dpop::DpopVerifierBuilder::shared_replay), a
    /// proof replayed at another instance is refused too.
    ///
    /// The proof's `htu` is compared with the request's URI: set
    /// [`public_url`](Self::public_url) behind a proxy.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::dpop::{DpopMode, DpopVerifier};
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .dpop(DpopVerifier::builder().build().unwrap())
    ///     .dpop_mode(DpopMode::Required)
    ///     .public_url("https://api.example.com")
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn dpop(mut self, verifier: crate::dpop::DpopVerifier) -> Self {
        self.settings.dpop = Some(verifier);
        self
    }

    /// Whether unbound tokens pass as bearer tokens
    /// ([`Allowed`](crate::dpop::DpopMode::Allowed), the default) or every
    /// token must be DPoP-bound ([`Required`](crate::dpop::DpopMode::Required)).
    /// Needs [`dpop`](Self::dpop).
    #[must_use]
    pub fn dpop_mode(mut self, mode: crate::dpop::DpopMode) -> Self {
        self.settings.dpop_mode = Some(mode);
        self
    }

    /// The external base URL clients address this service by
    /// (`https://api.example.com`, optionally with a path prefix a proxy
    /// strips), for DPoP proofs' `htu`. Without it, the request's own scheme
    /// and authority are used (HTTP/2), else `http://` and its `Host`.
    /// `build()` refuses a URL that is not absolute `http`/`https`, or
    /// carries user information, a query or a fragment.
    #[must_use]
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.settings.public_url = Some(url.into());
        self
    }

    /// The resource identifier of RFC 9728 (an `https` URL, e.g.
    /// `https://api.example.com/orders`): the layer then has protected
    /// resource metadata ([`JwtAuth::resource_metadata`](crate::JwtAuth::resource_metadata)),
    /// served at the well-known path derived from it, and every challenge
    /// names its URL (`resource_metadata="…"`). `build()` refuses a URL
    /// that is not `https` (plain `http` only on a loopback host), or holds
    /// a fragment or user information. See [`metadata`](crate::metadata).
    #[must_use]
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.settings.metadata.resource = Some(resource.into());
        self
    }

    /// The scopes the metadata lists (`scopes_supported`); needs
    /// [`resource`](Self::resource).
    #[must_use]
    pub fn scopes_supported(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.settings.metadata.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The authorization servers the metadata lists, instead of the
    /// accepted issuers; needs [`resource`](Self::resource).
    #[must_use]
    pub fn authorization_servers(
        mut self,
        servers: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.settings.metadata.authorization_servers =
            Some(servers.into_iter().map(Into::into).collect());
        self
    }

    /// A human-readable name for the metadata (`resource_name`).
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.settings.metadata.resource_name = Some(name.into());
        self
    }

    /// Where developers read about the resource (`resource_documentation`).
    #[must_use]
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.settings.metadata.resource_documentation = Some(url.into());
        self
    }

    /// Calls `hook` with every decision (allowed, anonymous, rejected with
    /// its reason), the verified subject, token id and session id, and the
    /// client address when known: for security logging. The hook runs on
    /// the request's task; keep it quick (hand slow work to a channel).
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .audit(|event| {
    ///         if let Some(reason) = event.reason() {
    ///             eprintln!("rejected {reason} from {:?}", event.client_addr());
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn audit(mut self, hook: impl Fn(&AuditEvent<'_>) + Send + Sync + 'static) -> Self {
        self.settings.observer.audit = Some(Arc::new(hook));
        self
    }

    /// How the audit hook learns the client's address. By default it is the
    /// `std::net::SocketAddr` in the request's extensions, if a server put
    /// one there (the actix-web middleware does). With axum, read its
    /// `ConnectInfo` (serve with `into_make_service_with_connect_info`);
    /// behind a proxy you trust, read its forwarding header instead.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use axum::extract::ConnectInfo;
    /// use std::net::SocketAddr;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .audit(|event| eprintln!("{event:?}"))
    ///     .client_addr(|_headers, extensions| {
    ///         extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn client_addr(
        mut self,
        resolve: impl Fn(&http::HeaderMap, &http::Extensions) -> Option<std::net::IpAddr>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.settings.observer.client_addr = Some(Arc::new(resolve));
        self
    }

    /// Adds the subject (`sub`) and token id (`jti`) of verified tokens to
    /// the layer's `tracing` events. Off by default: a subject is personal
    /// data in many deployments. The token itself is never logged.
    #[must_use]
    pub fn log_subjects(mut self, on: bool) -> Self {
        self.settings.observer.log_subjects = on;
        self
    }

    /// The memory budget of the verified-token cache, in bytes (default
    /// 64 MiB; an entry costs about 380 bytes with `DefaultClaims` and a
    /// typical access token (it counts 400), so the default holds about
    /// 170 000 tokens;
    /// the weigher counts each entry's own allocations).
    /// See [`Verifier::verify`](crate::verify::Verifier::verify).
    #[must_use]
    pub fn token_cache_max_bytes(mut self, bytes: u64) -> Self {
        let age = self
            .settings
            .token_cache
            .map_or(DEFAULT_TOKEN_CACHE_MAX_AGE, |(_, age)| age);
        self.settings.token_cache = Some((bytes, age));
        self
    }

    /// The longest a verified token stays cached (default 10 min); it never
    /// outlives its own `exp` either.
    #[must_use]
    pub fn token_cache_max_age(mut self, age: Duration) -> Self {
        let bytes = self
            .settings
            .token_cache
            .map_or(DEFAULT_TOKEN_CACHE_BYTES, |(bytes, _)| bytes);
        self.settings.token_cache = Some((bytes, age));
        self
    }

    /// Verifies every request's signature in full (no verified-token cache).
    #[must_use]
    pub fn disable_token_cache(mut self) -> Self {
        self.settings.token_cache = None;
        self
    }
}
