//! What the layer decides, made visible: a `tracing` event per decision, an
//! audit hook, and (feature `metrics`) counters and histograms.
//!
//! Every request ends in one [`Outcome`]: allowed, anonymous (optional mode,
//! no token) or rejected with an [`ErrorKind`]. Each decision emits a
//! `DEBUG` event on the `auth_layer` target with `outcome`, `reason` and
//! `status`; the subject and token id are added only when the layer was
//! built with [`log_subjects`](crate::JwtAuthBuilder::log_subjects). The
//! token itself is never recorded, here or anywhere in the crate.
//!
//! The audit hook ([`JwtAuthBuilder::audit`](crate::JwtAuthBuilder::audit))
//! receives every decision as an [`AuditEvent`], with the verified subject,
//! the token id and the client address when known, for security logging:
//!
//! ```
//! use auth_layer::JwtAuth;
//! use auth_layer::observe::{AuditEvent, Outcome};
//!
//! let auth = JwtAuth::builder()
//!     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
//!     .audit(|event: &AuditEvent<'_>| {
//!         if event.outcome() == Outcome::Rejected {
//!             eprintln!(
//!                 "auth: {} from {:?} (sub {:?})",
//!                 event.reason().map_or("", |r| r.code()),
//!                 event.client_addr(),
//!                 event.subject(),
//!             );
//!         }
//!     })
//!     .build()
//!     .unwrap();
//! # let _ = auth;
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{Extensions, HeaderMap};

use crate::claims::VerifiedToken;
use crate::error::{AuthError, ErrorKind};

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
pub(crate) mod metrics {
    //! Without the `metrics` feature every recording is a no-op.
    #![allow(
        dead_code,
        clippy::missing_const_for_fn,
        reason = "the same calls as the `metrics` feature's, compiled away"
    )]
    use std::time::Duration;

    use super::Outcome;
    use crate::error::ErrorKind;

    pub(crate) fn request(_: Outcome, _: Option<ErrorKind>) {}
    pub(crate) fn verify_duration(_: Duration) {}
    pub(crate) fn token_cache(_: bool) {}
    pub(crate) fn revocation_cache(_: bool) {}
    pub(crate) fn store_call(
        _: &'static str,
        _: &'static str,
        _: Duration,
        _: Option<&'static str>,
    ) {
    }
    pub(crate) fn jwks_fetch(_: &'static str) {}
    pub(crate) fn refresh(_: &'static str) {}
    pub(crate) fn timer() -> Option<std::time::Instant> {
        None
    }
}

/// How the layer decided a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// A verified token: the request reaches the service.
    Allowed,
    /// No token, in optional mode: the request reaches the service
    /// unauthenticated.
    Anonymous,
    /// The layer answered itself (401, 400, 503); see the reason.
    Rejected,
}

impl Outcome {
    /// `allowed`, `anonymous` or `rejected`: the value of the `outcome`
    /// field and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Anonymous => "anonymous",
            Self::Rejected => "rejected",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One decision of the layer, as the audit hook sees it.
///
/// The subject, token id, session id and issuer come from a token whose
/// signature was verified; they are `None` for a token that was rejected
/// before (a forged token's claims are not worth logging as facts).
pub struct AuditEvent<'a> {
    outcome: Outcome,
    error: Option<&'a AuthError>,
    registered: Option<&'a crate::claims::RegisteredClaims>,
    session_id: Option<&'a str>,
    client_addr: Option<IpAddr>,
}

impl<'a> AuditEvent<'a> {
    /// Allowed, anonymous or rejected.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Why the request was rejected; `None` unless rejected.
    pub fn reason(&self) -> Option<ErrorKind> {
        self.error.map(AuthError::kind)
    }

    /// The rejection itself (its description is what the client was told).
    pub fn error(&self) -> Option<&'a AuthError> {
        self.error
    }

    /// The verified token's `sub`.
    pub fn subject(&self) -> Option<&'a str> {
        self.registered.and_then(|r| r.sub())
    }

    /// The verified token's `jti`.
    pub fn token_id(&self) -> Option<&'a str> {
        self.registered.and_then(|r| r.jti())
    }

    /// The verified token's `iss`.
    pub fn issuer(&self) -> Option<&'a str> {
        self.registered.and_then(|r| r.iss())
    }

    /// The verified token's session id (the `sid` claim, or the one
    /// configured with [`session_claim`](crate::JwtAuthBuilder::session_claim)).
    pub fn session_id(&self) -> Option<&'a str> {
        self.session_id
    }

    /// The client's address, when the server made it known: see
    /// [`JwtAuthBuilder::client_addr`](crate::JwtAuthBuilder::client_addr).
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.client_addr
    }
}

impl fmt::Debug for AuditEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditEvent")
            .field("outcome", &self.outcome)
            .field("reason", &self.reason())
            .field("subject", &self.subject())
            .field("token_id", &self.token_id())
            .field("session_id", &self.session_id)
            .field("client_addr", &self.client_addr)
            .finish()
    }
}

pub(crate) type AuditHook = Arc<dyn Fn(&AuditEvent<'_>) + Send + Sync>;
pub(crate) type ClientAddr = Arc<dyn Fn(&HeaderMap, &Extensions) -> Option<IpAddr> + Send + Sync>;

/// The observability configuration of one layer.
#[derive(Clone, Default)]
pub(crate) struct Observer {
    pub(crate) audit: Option<AuditHook>,
    pub(crate) client_addr: Option<ClientAddr>,
    pub(crate) log_subjects: bool,
}

impl Observer {
    /// The client address for the audit hook; not looked up without one.
    pub(crate) fn client_addr(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<IpAddr> {
        self.audit.as_ref()?;
        match &self.client_addr {
            Some(resolve) => resolve(headers, extensions),
            None => extensions.get::<SocketAddr>().map(SocketAddr::ip),
        }
    }

    /// A request without a token passed (optional mode).
    pub(crate) fn anonymous(&self, client: Option<IpAddr>) {
        metrics::request(Outcome::Anonymous, None);
        tracing::debug!(target: "auth_layer", outcome = "anonymous", "request passed without a token");
        self.audit::<()>(Outcome::Anonymous, None, None, client);
    }

    /// A verified token passed every check.
    pub(crate) fn allowed<C>(&self, token: &VerifiedToken<C>, client: Option<IpAddr>) {
        metrics::request(Outcome::Allowed, None);
        if self.log_subjects {
            let registered = token.registered();
            tracing::debug!(
                target: "auth_layer",
                outcome = "allowed",
                sub = registered.sub(),
                jti = registered.jti(),
                "request authenticated"
            );
        } else {
            tracing::debug!(target: "auth_layer", outcome = "allowed", "request authenticated");
        }
        self.audit(Outcome::Allowed, None, Some(token), client);
    }

    /// The layer answers `error`; `token` when the signature had been verified.
    pub(crate) fn rejected<C>(
        &self,
        error: &AuthError,
        token: Option<&VerifiedToken<C>>,
        client: Option<IpAddr>,
    ) {
        let kind = error.kind();
        metrics::request(Outcome::Rejected, Some(kind));
        let (reason, status) = (kind.code(), kind.status().as_u16());
        match token.map(VerifiedToken::registered) {
            Some(registered) if self.log_subjects => tracing::debug!(
                target: "auth_layer",
                outcome = "rejected",
                reason,
                status,
                sub = registered.sub(),
                jti = registered.jti(),
                "request rejected: {error}"
            ),
            _ => tracing::debug!(
                target: "auth_layer",
                outcome = "rejected",
                reason,
                status,
                "request rejected: {error}"
            ),
        }
        self.audit(Outcome::Rejected, Some(error), token, client);
    }

    fn audit<C>(
        &self,
        outcome: Outcome,
        error: Option<&AuthError>,
        token: Option<&VerifiedToken<C>>,
        client_addr: Option<IpAddr>,
    ) {
        if let Some(hook) = &self.audit {
            hook(&AuditEvent {
                outcome,
                error,
                registered: token.map(VerifiedToken::registered),
                session_id: token.and_then(VerifiedToken::session_id),
                client_addr,
            });
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observer")
            .field("audit", &self.audit.as_ref().map(|_| "Fn(&AuditEvent)"))
            .field(
                "client_addr",
                &self
                    .client_addr
                    .as_ref()
                    .map(|_| "Fn(&HeaderMap, &Extensions)"),
            )
            .field("log_subjects", &self.log_subjects)
            .finish()
    }
}
