//! [`Claims<C>`]: the verified claims of a request, as the layer stored
//! them, and [`ClaimsRejection`] when they are not there.

use std::fmt;
use std::ops::Deref;

use auth_layer::VerifiedToken;
use auth_layer::claims::{DefaultClaims, RegisteredClaims};

/// The verified claims of the request, as stored by the layer.
///
/// Dereferences to your claims type `C`; [`Claims::registered`] and
/// [`Claims::subject`] give the registered claims, [`Claims::token`] the
/// header facts and grants too. Cloning is an `Arc` clone.
/// `Option<Claims<C>>` is `None` only when the layer runs in optional mode and
/// the request carried no token.
///
/// ```
/// use auth_extract::Claims;
/// use auth_layer::JwtAuth;
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let app: Router = Router::new()
///     .route("/me", get(|claims: Claims| async move { claims.subject().unwrap_or("").to_owned() }))
///     .layer(auth);
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64 }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let request = Request::builder()
///     .uri("/me")
///     .header("authorization", format!("Bearer {token}"))
///     .body(Body::empty())
///     .unwrap();
/// let res = app.oneshot(request).await.unwrap();
/// assert_eq!(res.status(), StatusCode::OK);
/// # }
/// ```
pub struct Claims<C = DefaultClaims>(pub VerifiedToken<C>);

impl<C> Claims<C> {
    /// The whole verified token.
    pub fn token(&self) -> &VerifiedToken<C> {
        &self.0
    }

    /// Unwraps the verified token.
    pub fn into_inner(self) -> VerifiedToken<C> {
        self.0
    }

    /// The registered claims (`iss`, `sub`, `aud`, `exp`, ...) as verified.
    pub fn registered(&self) -> &RegisteredClaims {
        self.0.registered()
    }

    /// The `sub` claim, if any.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject()
    }
}

impl<C> Deref for Claims<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.0.claims()
    }
}

impl<C> Clone for Claims<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: fmt::Debug> fmt::Debug for Claims<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(&self.0).finish()
    }
}

/// Why [`Claims`] could not be extracted.
///
/// ```
/// use auth_extract::Claims;
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // No JwtAuth layer covers the route: a server mistake, answered 500 (and logged).
/// let app: Router = Router::new().route("/me", get(|_claims: Claims| async { "" }));
/// let res = app.oneshot(Request::get("/me").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// No `JwtAuth` layer with this claims type ran for the request: a
    /// server configuration mistake, answered with 500.
    MissingLayer {
        /// The claims type the handler asked for.
        claims_type: &'static str,
    },
    /// The layer runs in optional mode and the request had no token, but
    /// the handler requires claims: answered with 401 and a `Bearer` challenge.
    Unauthenticated,
}

impl ClaimsRejection {
    #[cfg(any(feature = "axum", feature = "actix"))]
    fn missing_layer<C>() -> Self {
        let claims_type = std::any::type_name::<C>();
        tracing::error!(
            claims_type,
            "Claims<{claims_type}> extracted on a route without a JwtAuth<{claims_type}> layer: add `.layer(auth)` (or `.route_layer(auth)`) covering this route, built with `.claims::<{claims_type}>()`"
        );
        Self::MissingLayer { claims_type }
    }

    /// The status to answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::MissingLayer { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthenticated => http::StatusCode::UNAUTHORIZED,
        }
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer { claims_type } => {
                write!(
                    f,
                    "no JwtAuth layer with claims type {claims_type} covers this route"
                )
            }
            Self::Unauthenticated => f.write_str("this route requires a bearer token"),
        }
    }
}

impl std::error::Error for ClaimsRejection {}

/// What the layer stored: `Ok(Some)` verified, `Ok(None)` optional mode
/// without a token, `Err` no layer.
#[cfg(feature = "axum")]
pub(crate) fn from_extensions<C: Send + Sync + 'static>(
    extensions: &http::Extensions,
) -> Result<Option<Claims<C>>, ClaimsRejection> {
    lookup(
        extensions.get::<VerifiedToken<C>>(),
        extensions
            .get::<auth_layer::claims::Unauthenticated>()
            .is_some(),
    )
}

/// The same decision for any framework's extensions: the token the layer
/// stored, and whether it stored the "no token" marker.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn lookup<C>(
    token: Option<&VerifiedToken<C>>,
    unauthenticated: bool,
) -> Result<Option<Claims<C>>, ClaimsRejection> {
    match token {
        Some(token) => Ok(Some(Claims(token.clone()))),
        None if unauthenticated => Ok(None),
        None => Err(ClaimsRejection::missing_layer::<C>()),
    }
}
