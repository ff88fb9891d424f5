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
        refusal_event(
            Outcome::Rejected,
            error,
            token.filter(|_| self.log_subjects),
        );
        self.audit(Outcome::Rejected, Some(error), token, client);
    }

    /// A guard after the layer refused the verified `token` (403).
    pub(crate) fn forbidden<C>(
        &self,
        error: &AuthError,
        token: Option<&VerifiedToken<C>>,
        client: Option<IpAddr>,
    ) {
        refusal_event(
            Outcome::Forbidden,
            error,
            token.filter(|_| self.log_subjects),
        );
        self.audit(Outcome::Forbidden, Some(error), token, client);
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

/// The metric and `tracing` event of a rejection (the layer's) or a
/// refusal (a guard's, forbidden); the subject only when `token` is given.
fn refusal_event<C>(outcome: Outcome, error: &AuthError, token: Option<&VerifiedToken<C>>) {
    let kind = error.kind();
    metrics::request(outcome, Some(kind));
    let (reason, status) = (kind.code(), kind.status().as_u16());
    // What a guard required: one value, or a set, spaced.
    let values: Vec<&str> = error.required_values().collect();
    let joined = values.join(" ");
    let required = (!joined.is_empty()).then_some(joined.as_str());
    let outcome = outcome.as_str();
    match token.map(VerifiedToken::registered) {
        Some(registered) => tracing::debug!(
            target: "auth_layer",
            outcome,
            reason,
            status,
            required,
            sub = registered.sub(),
            jti = registered.jti(),
            "request {outcome}: {error}"
        ),
        None => tracing::debug!(
            target: "auth_layer",
            outcome,
            reason,
            status,
            required,
            "request {outcome}: {error}"
        ),
    }
}

/// What the layer leaves in a request it let through, when it has an audit
/// hook or logs subjects, so that guards and extractors after it report
/// their refusals (403) as the layer reports its own 401s: to the audit
/// hook, with the subject in the `tracing` event when the layer logs
/// subjects. Without it, a refusal still reaches the metrics and `tracing`.
///
/// Guards of this crate and of `auth-extract` report through it; a guard of
/// your own calls [`Reporter::forbidden`].
///
/// ```
/// use auth_layer::{AuthError, VerifiedToken};
/// use auth_layer::observe::Reporter;
/// use http::Request;
///
/// fn refuse_unless_admin(req: &Request<()>) -> Result<(), AuthError> {
///     let token = req.extensions().get::<VerifiedToken>();
///     if token.is_some_and(|t| t.grants().has_role("admin")) {
///         return Ok(());
///     }
///     let error = AuthError::insufficient_role("admin");
///     Reporter::forbidden(req.extensions().get::<Reporter>(), &error, token);
///     Err(error)
/// }
/// # assert!(refuse_unless_admin(&Request::new(())).is_err());
/// ```
#[derive(Clone)]
pub struct Reporter {
    observer: Observer,
    client: Option<IpAddr>,
}

impl Reporter {
    /// Reports a refusal of `token` (403) decided after the layer: to the
    /// metrics and `tracing` always, and through `reporter` (found in the
    /// request's extensions) to the layer's audit hook, with the subject
    /// logged only when the layer logs subjects.
    pub fn forbidden<C>(
        reporter: Option<&Self>,
        error: &AuthError,
        token: Option<&VerifiedToken<C>>,
    ) {
        match reporter {
            Some(reporter) => reporter.observer.forbidden(error, token, reporter.client),
            None => refusal_event::<C>(Outcome::Forbidden, error, None),
        }
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("observer", &self.observer)
            .field("client", &self.client)
            .finish()
    }
}

impl Observer {
    /// The [`Reporter`] to leave in a request the layer let through; `None`
    /// (nothing to carry) without an audit hook or subject logging.
    pub(crate) fn reporter(&self, client: Option<IpAddr>) -> Option<Reporter> {
        (self.audit.is_some() || self.log_subjects).then(|| Reporter {
            observer: self.clone(),
            client,
        })
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
