//! [`Outcome`] and [`AuditEvent`]: one decision of the layer, as the audit
//! hook sees it.

use std::fmt;
use std::net::IpAddr;

use crate::claims::RegisteredClaims;
use crate::error::{AuthError, ErrorKind};

/// How the layer decided a request.
///
/// ```
/// use auth_layer::observe::Outcome;
///
/// assert_eq!(Outcome::Rejected.to_string(), "rejected");
/// ```
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
    /// A guard after the layer refused a verified token (403: a missing
    /// scope or role); see the reason. The layer had counted the request
    /// as allowed.
    Forbidden,
}

impl Outcome {
    /// `allowed`, `anonymous`, `rejected` or `forbidden`: the value of the
    /// `outcome` field and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Anonymous => "anonymous",
            Self::Rejected => "rejected",
            Self::Forbidden => "forbidden",
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
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use auth_layer::{ErrorKind, JwtAuth};
/// use auth_layer::observe::{AuditEvent, Outcome};
/// use http::{Request, Response, StatusCode};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .audit(move |event: &AuditEvent<'_>| {
///         log.lock().unwrap().push((event.outcome(), event.reason(), event.subject().map(str::to_owned)));
///     })
///     .build()
///     .unwrap();
/// let svc = auth.layer(service_fn(|_req: Request<()>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// }));
/// let res = svc.oneshot(Request::new(())).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(*seen.lock().unwrap(), [(Outcome::Rejected, Some(ErrorKind::MissingToken), None)]);
/// # }
/// ```
pub struct AuditEvent<'a> {
    pub(super) outcome: Outcome,
    pub(super) error: Option<&'a AuthError>,
    pub(super) registered: Option<&'a RegisteredClaims>,
    pub(super) session_id: Option<&'a str>,
    pub(super) client_addr: Option<IpAddr>,
}

impl<'a> AuditEvent<'a> {
    /// Allowed, anonymous, rejected or forbidden.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Why the request was rejected or forbidden; `None` otherwise.
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
