//! [`Observer`]: the `tracing` events, metrics and audit hook of one layer.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{Extensions, HeaderMap};

use crate::claims::VerifiedToken;
use crate::error::AuthError;
use crate::observe::audit::{AuditEvent, Outcome};
use crate::observe::metrics;

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
