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
///     .route("/me", get(|claims: Claims| async move { claims.subject().to_owned() }))
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

    /// The `sub` claim: who the token is for (required by the layer unless
    /// it was built with
    /// [`subject_optional`](auth_layer::JwtAuthBuilder::subject_optional),
    /// empty then for a token without one).
    pub fn subject(&self) -> &str {
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
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// No `JwtAuth` layer with this claims type ran for the request: a
    /// server configuration mistake, answered with 500.
    MissingLayer {
        /// The claims type the handler asked for.
        claims_type: &'static str,
    },
    /// The layer runs in optional mode and the request had no token, but
    /// the handler requires claims: answered with 401 and the layer's
    /// challenge (its realm, DPoP and `resource_metadata`).
    Unauthenticated {
        /// The layer's challenge settings (`None` without them: a bare
        /// `Bearer` challenge).
        challenge: Option<auth_layer::response::Challenge>,
    },
}

impl ClaimsRejection {
    #[cfg(any(feature = "axum", feature = "actix"))]
    fn missing_layer<C>() -> Self {
        let claims_type = std::any::type_name::<C>();
        let rejection = Self::MissingLayer { claims_type };
        tracing::error!(claims_type, "{}", rejection.fix());
        rejection
    }

    /// What to do about a missing layer, naming the claims type as it is
    /// written in code (nothing when it is the default).
    fn fix(&self) -> String {
        let Self::MissingLayer { claims_type } = self else {
            return String::new();
        };
        if *claims_type == std::any::type_name::<DefaultClaims>() {
            return "Claims extracted on a route that no JwtAuth layer covers: add `.layer(auth)` \
                    (or `.route_layer(auth)`) covering this route (actix-web: \
                    `.wrap(JwtAuthMiddleware::new(auth))`)"
                .to_owned();
        }
        let name = short_type_name(claims_type);
        format!(
            "Claims<{name}> extracted on a route that no JwtAuth<{name}> layer covers: add \
             `.layer(auth)` (or `.route_layer(auth)`; actix-web: \
             `.wrap(JwtAuthMiddleware::new(auth))`) covering this route, with `auth` built \
             with `.claims::<{name}>()`"
        )
    }

    /// The status to answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::MissingLayer { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthenticated { .. } => http::StatusCode::UNAUTHORIZED,
        }
    }

    /// The rejection of a request without a token, with the challenge the
    /// layer left in `extensions`.
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) fn unauthenticated(challenge: Option<&auth_layer::response::Challenge>) -> Self {
        Self::Unauthenticated {
            challenge: challenge.cloned(),
        }
    }

    /// The answer to a request without a token: 401 with the layer's
    /// challenge, as the layer answers one.
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) fn unauthenticated_response(
        challenge: Option<&auth_layer::response::Challenge>,
    ) -> http::Response<String> {
        use auth_layer::response::{JsonResponder, Rejection, Responder};
        let error = auth_layer::AuthError::new(
            auth_layer::ErrorKind::MissingToken,
            "no bearer token in the request",
        );
        let headers = http::HeaderMap::new();
        let rejection = match challenge {
            Some(challenge) => challenge.rejection(&error, &headers),
            None => Rejection::without_realm(&error, &headers),
        };
        JsonResponder.respond(rejection)
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer { .. } => f.write_str(&self.fix()),
            Self::Unauthenticated { .. } => f.write_str("this route requires a bearer token"),
        }
    }
}

impl std::error::Error for ClaimsRejection {}

/// A type's name as written in code: every path reduced to its last
/// segment (`app::claims::Tenant` → `Tenant`, `Vec<app::Role>` → `Vec<Role>`).
fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            continue;
        }
        let path = full.get(segment_start..i).unwrap_or_default();
        short.push_str(path.rsplit("::").next().unwrap_or(path));
        short.push(c);
        segment_start = i + c.len_utf8();
    }
    let path = full.get(segment_start..).unwrap_or_default();
    short.push_str(path.rsplit("::").next().unwrap_or(path));
    short
}

/// What the layer stored: `Ok(Some)` verified, `Ok(None)` optional mode
/// without a token, `Err` no layer.
#[cfg(feature = "axum")]
pub(crate) fn from_extensions<C: Send + Sync + 'static>(
    extensions: &http::Extensions,
) -> Result<Option<Claims<C>>, ClaimsRejection> {
    match extensions.get::<VerifiedToken<C>>() {
        Some(token) => lookup(Some(token), false),
        // The marker is looked for only when there is no token.
        None => lookup(
            None,
            extensions
                .get::<auth_layer::claims::Unauthenticated>()
                .is_some(),
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_as_written() {
        assert_eq!(short_type_name("app::claims::Tenant"), "Tenant");
        assert_eq!(short_type_name("alloc::vec::Vec<app::Role>"), "Vec<Role>");
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<alloc::string::String, u64>"),
            "HashMap<String, u64>"
        );
        assert_eq!(short_type_name("Plain"), "Plain");
    }

    #[test]
    fn the_missing_layer_message_names_only_a_claims_type_of_your_own() {
        let default = ClaimsRejection::MissingLayer {
            claims_type: std::any::type_name::<DefaultClaims>(),
        };
        let message = default.to_string();
        assert!(message.contains(".layer(auth)"), "{message}");
        assert!(!message.contains("claims::<"), "{message}");
        assert!(!message.contains("DefaultClaims"), "{message}");

        let own = ClaimsRejection::MissingLayer {
            claims_type: "my_app::auth::Tenant",
        };
        let message = own.to_string();
        assert!(
            message.contains("Claims<Tenant>") && message.contains(".claims::<Tenant>()"),
            "{message}"
        );
        assert!(!message.contains("my_app::"), "{message}");
    }
}
