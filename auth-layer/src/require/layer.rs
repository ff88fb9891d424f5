//! [`Require`]: the guard as configured, a tower `Layer`.

use std::borrow::Cow;
use std::fmt;

use crate::claims::{DefaultClaims, Grants};
use crate::error::AuthError;
use crate::layer::JwtAuth;
use crate::require::requirement::Requirement;
use crate::response::JsonResponder;

/// A guard that lets a request through only if its token grants a scope
/// (or a role); built from the `JwtAuth` whose realm and responder it
/// answers with.
///
/// A tower `Layer` (axum's `route_layer`/`layer`, tonic's `Server::layer`);
/// `auth_extract::actix::RequireMiddleware` makes it an actix-web
/// middleware. It must run after the `JwtAuth` layer: inside it in tower,
/// wrapped before it in actix-web.
///
/// | request | answer |
/// |---|---|
/// | token grants it | passes |
/// | token lacks it | 403, `insufficient_scope` (`scope="…"` for scopes), code `insufficient_scope` / `insufficient_role` |
/// | optional mode, no token | 401 with the realm's bare challenge |
/// | no `JwtAuth` of the guard's claims type ran | 500, and a log line naming the fix |
///
/// ```
/// use auth_layer::JwtAuth;
/// use auth_layer::require::Require;
/// use http::{Request, Response, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .build()
///     .unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(auth.clone())
///     .layer(Require::role(&auth, "admin"))
///     .service(service_fn(|_req: Request<()>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(String::from("audit log")))
///     }));
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000_u64, "roles": ["reader"] }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let req = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// # }
/// ```
pub struct Require<C = DefaultClaims, R = JsonResponder> {
    requirement: Requirement,
    auth: JwtAuth<C, R>,
}

impl<C, R: Clone> Require<C, R> {
    /// Requires `scope` in the token's `scope` or `scp` claim.
    pub fn scope(auth: &JwtAuth<C, R>, scope: impl Into<Cow<'static, str>>) -> Self {
        Self::new(auth, Requirement::scope(scope))
    }

    /// Requires `role` in the token's `roles` claim.
    pub fn role(auth: &JwtAuth<C, R>, role: impl Into<Cow<'static, str>>) -> Self {
        Self::new(auth, Requirement::role(role))
    }

    /// Requires every scope of `scopes`.
    pub fn all_scopes<I>(auth: &JwtAuth<C, R>, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::new(auth, Requirement::all_scopes(scopes))
    }

    /// Requires one scope of `scopes` at least.
    pub fn any_scope<I>(auth: &JwtAuth<C, R>, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::new(auth, Requirement::any_scope(scopes))
    }

    /// Requires every role of `roles`.
    pub fn all_roles<I>(auth: &JwtAuth<C, R>, roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::new(auth, Requirement::all_roles(roles))
    }

    /// Requires one role of `roles` at least.
    pub fn any_role<I>(auth: &JwtAuth<C, R>, roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        Self::new(auth, Requirement::any_role(roles))
    }

    /// Requires a login strong or recent enough (RFC 9470): 401
    /// `insufficient_user_authentication` otherwise, with `acr_values` and
    /// `max_age` in the challenge. See [`StepUp`](crate::require::StepUp).
    ///
    /// ```
    /// use auth_layer::JwtAuth;
    /// use auth_layer::require::{Require, StepUp};
    /// use axum::{Router, routing::post};
    /// use std::time::Duration;
    ///
    /// let auth = JwtAuth::builder()
    ///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
    ///     .build()
    ///     .unwrap();
    /// let recent_mfa = StepUp::acr(["mfa"]).max_age(Duration::from_secs(300));
    /// let app: Router = Router::new()
    ///     .route("/payouts", post(|| async { "sent" }).route_layer(Require::step_up(&auth, recent_mfa)))
    ///     .layer(auth);
    /// # let _ = app;
    /// ```
    pub fn step_up(auth: &JwtAuth<C, R>, rule: crate::require::StepUp) -> Self {
        Self::new(auth, Requirement::step_up(rule))
    }

    /// Requires `requirement`.
    pub fn new(auth: &JwtAuth<C, R>, requirement: Requirement) -> Self {
        Self {
            requirement,
            auth: auth.clone(),
        }
    }
}

impl<C, R> Require<C, R> {
    /// What this guard requires.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// The `JwtAuth` whose realm and responder this guard answers with
    /// (see [`JwtAuth::rejection`]).
    pub fn auth(&self) -> &JwtAuth<C, R> {
        &self.auth
    }

    /// Decides for a request whose verified token grants `grants` (the
    /// [`grants`](crate::VerifiedToken::grants) of the
    /// [`VerifiedToken<C>`](crate::VerifiedToken) the `JwtAuth` layer put in
    /// the request's extensions) and, when `unauthenticated`,
    /// the [`Unauthenticated`](crate::claims::Unauthenticated) marker of
    /// optional mode. [`RequireService`](crate::require::RequireService)
    /// calls this; so do framework adapters.
    ///
    /// # Errors
    /// `Some(error)` to reject the request with `error`: 403 when the token
    /// lacks the grant, 401 in optional mode without a token. `None` when
    /// no `JwtAuth` layer ran before the guard (or one with another claims
    /// type than the guard's): a configuration mistake, logged here with the
    /// fix, and answered with 500.
    pub fn check(
        &self,
        grants: Option<&Grants>,
        unauthenticated: bool,
    ) -> Result<(), Option<AuthError>> {
        if grants.is_none() && !unauthenticated {
            tracing::error!(
                "{self} runs on a route that no JwtAuth layer with claims type `{}` covers: add the JwtAuth layer (axum, tower: `.layer(auth)`; actix-web: `.wrap(JwtAuthMiddleware::new(auth))`) so that it runs before the guard, and build the guard from that layer (`Require::scope(&auth, ..)`)",
                std::any::type_name::<C>()
            );
            return Err(None);
        }
        self.requirement
            .check_at(grants, self.auth.now())
            .map_err(Some)
    }
}

impl<C, R: Clone> Clone for Require<C, R> {
    fn clone(&self) -> Self {
        Self {
            requirement: self.requirement.clone(),
            auth: self.auth.clone(),
        }
    }
}

impl<C, R> fmt::Display for Require<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.requirement {
            Requirement::Scope(scope) => write!(f, "Require::scope({scope:?})"),
            Requirement::Role(role) => write!(f, "Require::role({role:?})"),
            other => write!(f, "Require({other})"),
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for Require<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("requirement", &self.requirement)
            .field("auth", &self.auth)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Require>();
        assert_send_sync::<Require<DefaultClaims, crate::response::JsonResponder>>();
        assert_send_sync::<crate::require::RequireService<()>>();
    }

    #[test]
    fn the_guard_names_itself_and_tells_a_missing_layer_from_a_denial() {
        let auth = JwtAuth::builder()
            .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
            .build()
            .unwrap();
        let guard = Require::scope(&auth, "orders:write");
        assert_eq!(guard.to_string(), r#"Require::scope("orders:write")"#);
        assert!(matches!(guard.check(None, false), Err(None)));
        let denied = guard.check(Some(&Grants::default()), false).unwrap_err();
        assert_eq!(denied.map(|e| e.kind()), Some(ErrorKind::InsufficientScope));
        let anonymous = guard.check(None, true).unwrap_err();
        assert_eq!(anonymous.map(|e| e.kind()), Some(ErrorKind::MissingToken));
    }
}
