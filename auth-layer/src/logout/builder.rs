//! [`BackChannelLogoutBuilder`]: the receiver's settings, checked once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::error::ConfigError;
use crate::layer::JwtAuth;
use crate::logout::service::{BackChannelLogout, Receiver};
use crate::logout::target::LogoutTarget;
use crate::logout::verifier::VerifyLogout;
use crate::verify::LogoutRules;

/// The default maximum age of a logout token, from its `iat` (plus the
/// layer's leeway). The specification encourages providers to let logout
/// tokens expire within two minutes (section 4).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The default cap on a logout request's body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// The default `Retry-After` of a 503.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

impl BackChannelLogout {
    /// Starts a receiver that verifies logout tokens with `auth`'s keys,
    /// allowed algorithms, leeway, clock and token size cap.
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::keys::{Key, TrustedIssuer};
    /// use auth_layer::logout::BackChannelLogout;
    /// # use auth_layer::logout::LogoutTarget;
    /// # use auth_layer::store::{BoxFuture, StoreError};
    /// # use std::time::SystemTime;
    /// # struct Nothing;
    /// # impl LogoutTarget for Nothing {
    /// #     fn was_used<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> { Box::pin(async { Ok(false) }) }
    /// #     fn first_use<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<bool, StoreError>> { Box::pin(async { Ok(true) }) }
    /// #     fn revoke_subject<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> { Box::pin(async { Ok(()) }) }
    /// #     fn revoke_session<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> { Box::pin(async { Ok(()) }) }
    /// # }
    ///
    /// let auth = JwtAuth::builder()
    ///     .trusted_issuer(
    ///         TrustedIssuer::new("https://op.example")
    ///             .key(Key::hmac("the-op-secret-of-at-least-32-bytes!").unwrap()),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// let logout = BackChannelLogout::builder(&auth)
    ///     .issuer("https://op.example")
    ///     .client_id("my-client")
    ///     .build(Nothing);
    /// assert!(logout.is_ok());
    ///
    /// // An issuer the layer has no keys for is refused at build time.
    /// let err = BackChannelLogout::builder(&auth)
    ///     .issuer("https://other.example")
    ///     .client_id("my-client")
    ///     .build(Nothing)
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("TrustedIssuer"));
    /// ```
    pub fn builder<C, R>(auth: &JwtAuth<C, R>) -> BackChannelLogoutBuilder
    where
        C: Send + Sync + 'static,
    {
        BackChannelLogoutBuilder {
            verifier: Arc::clone(&auth.shared) as Arc<dyn VerifyLogout>,
            issuers: Vec::new(),
            client_ids: Vec::new(),
            max_age: DEFAULT_MAX_AGE,
            require_exp: false,
            require_type: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }
}

/// Configures a [`BackChannelLogout`]. Created by [`BackChannelLogout::builder`].
pub struct BackChannelLogoutBuilder {
    verifier: Arc<dyn VerifyLogout>,
    issuers: Vec<String>,
    client_ids: Vec<String>,
    max_age: Duration,
    require_exp: bool,
    require_type: bool,
    max_body_bytes: usize,
    retry_after: Duration,
}

impl BackChannelLogoutBuilder {
    /// Accepts logout tokens from this issuer (its exact `iss`); may be
    /// called several times. At least one is required: a logout token from
    /// any other issuer is refused, and each issuer's tokens verify with
    /// that issuer's keys only (the layer's `TrustedIssuer`, or the layer's
    /// keys when it has no trusted issuers).
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// The client id the provider registered for this application: a
    /// logout token's `aud` must name it, and nothing else. May be called
    /// several times (one client id per provider).
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_ids.push(client_id.into());
        self
    }

    /// How long after its `iat` a logout token is accepted, plus the
    /// layer's leeway (default 5 minutes). Its `jti` is remembered as long.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Refuses logout tokens without `exp`. Errata set 1 of the
    /// specification made `exp` required; providers built to the 2022 text
    /// may omit it, and such tokens are accepted by default (their age is
    /// bounded by [`max_age`](Self::max_age) either way).
    #[must_use]
    pub fn require_exp(mut self) -> Self {
        self.require_exp = true;
        self
    }

    /// Refuses logout tokens whose header has no `typ` of `logout+jwt`
    /// (explicit typing, RFC 8725 section 3.11). By default an absent `typ`
    /// or the generic `JWT` passes, as section 4.1 of the specification
    /// advises for existing deployments; any other type is always refused.
    #[must_use]
    pub fn require_explicit_type(mut self) -> Self {
        self.require_type = true;
        self
    }

    /// The largest request body read, in bytes (default 64 KiB).
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The `Retry-After` of a 503 (default 5 s, whole seconds, rounded up).
    #[must_use]
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Checks the settings and builds the receiver, acting on `target`.
    ///
    /// # Errors
    /// No issuer, an empty issuer or one the layer has no keys for, no
    /// client id or an empty one, a maximum age under a second, a zero body
    /// cap, or a zero `Retry-After`.
    pub fn build(self, target: impl LogoutTarget) -> Result<BackChannelLogout, ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::setting(
                "logout issuer",
                "no issuer is configured: add the provider's issuer identifier (the `issuer` of its discovery document) with .issuer(..)",
            ));
        }
        for issuer in &self.issuers {
            if issuer.is_empty() {
                return Err(ConfigError::setting("logout issuer", "must not be empty"));
            }
            self.verifier
                .check_logout_issuer(issuer)
                .map_err(|reason| {
                    ConfigError::setting(format!("logout issuer {issuer:?}"), reason)
                })?;
        }
        if self.client_ids.is_empty() || self.client_ids.iter().any(String::is_empty) {
            return Err(ConfigError::setting(
                "logout client_id",
                "the client id the provider registered for this application is needed: add it with .client_id(..)",
            ));
        }
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        if max_age == 0 {
            return Err(ConfigError::setting(
                "logout max_age",
                "must be at least one second",
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::setting(
                "logout max_body_bytes",
                "must be above 0",
            ));
        }
        let retry_after = self
            .retry_after
            .as_secs()
            .saturating_add(u64::from(self.retry_after.subsec_nanos() > 0));
        if retry_after == 0 {
            return Err(ConfigError::setting(
                "logout retry_after",
                "must be above zero",
            ));
        }
        let mut issuers = self.issuers;
        issuers.dedup();
        Ok(BackChannelLogout::new(Receiver {
            verifier: self.verifier,
            rules: LogoutRules {
                issuers,
                client_ids: self.client_ids,
                max_age,
                require_exp: self.require_exp,
                require_type: self.require_type,
            },
            target: Arc::new(target),
            max_body_bytes: self.max_body_bytes,
            retry_after: HeaderValue::from(retry_after),
        }))
    }
}

impl fmt::Debug for BackChannelLogoutBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackChannelLogoutBuilder")
            .field("issuers", &self.issuers)
            .field("client_ids", &self.client_ids)
            .field("max_age", &self.max_age)
            .field("require_exp", &self.require_exp)
            .field("require_explicit_type", &self.require_type)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logout::testing::{CLIENT, OP_HMAC, Recorder, auth};

    fn problem(builder: BackChannelLogoutBuilder) -> String {
        builder.build(Recorder::default()).unwrap_err().to_string()
    }

    #[test]
    fn every_setting_that_cannot_work_is_refused_with_its_fix() {
        let auth = auth();
        let base = || BackChannelLogout::builder(&auth);
        let cases = [
            (
                "no issuer",
                base().client_id(CLIENT),
                "no issuer is configured",
            ),
            (
                "empty issuer",
                base().issuer("").client_id(CLIENT),
                "must not be empty",
            ),
            (
                "issuer without keys",
                base().issuer("https://x.example").client_id(CLIENT),
                "no TrustedIssuer of the layer has this issuer",
            ),
            ("no client id", base().issuer(OP_HMAC), "client id"),
            (
                "empty client id",
                base().issuer(OP_HMAC).client_id(""),
                "client id",
            ),
            (
                "sub-second max age",
                base()
                    .issuer(OP_HMAC)
                    .client_id(CLIENT)
                    .max_age(Duration::from_millis(500)),
                "at least one second",
            ),
            (
                "zero body cap",
                base().issuer(OP_HMAC).client_id(CLIENT).max_body_bytes(0),
                "max_body_bytes",
            ),
            (
                "zero retry after",
                base()
                    .issuer(OP_HMAC)
                    .client_id(CLIENT)
                    .retry_after(Duration::ZERO),
                "retry_after",
            ),
        ];
        for (case, builder, message) in cases {
            let problem = problem(builder);
            assert!(problem.contains(message), "{case}: {problem}");
        }
    }

    #[test]
    fn a_layer_without_trusted_issuers_lends_its_keys_to_its_own_issuers_only() {
        let auth = JwtAuth::builder()
            .hmac_secret("the-op-secret-of-at-least-32-bytes!")
            .issuer(OP_HMAC)
            .build()
            .unwrap();
        let built = BackChannelLogout::builder(&auth)
            .issuer(OP_HMAC)
            .client_id(CLIENT)
            .build(Recorder::default());
        assert!(built.is_ok());
        let problem = problem(
            BackChannelLogout::builder(&auth)
                .issuer("https://other.example")
                .client_id(CLIENT),
        );
        assert!(problem.contains("JwtAuthBuilder::issuer"), "{problem}");
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let logout = BackChannelLogout::builder(&auth())
            .issuer(OP_HMAC)
            .client_id(CLIENT)
            .retry_after(Duration::from_millis(1500))
            .build(Recorder::default())
            .unwrap();
        let debug = format!("{logout:?}");
        assert!(debug.contains("retry_after: \"2\""), "{debug}");
        assert!(debug.contains(OP_HMAC), "{debug}");
    }
}
