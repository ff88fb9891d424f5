//! `GET /protected`, configured entirely from `AUTH_*` variables, so it can
//! be pointed at your own keys:
//!
//! ```sh
//! AUTH_PUBLIC_KEY_FILE=issuer.pub.pem AUTH_ISSUER=https://issuer.example \
//!   AUTH_AUDIENCE=orders-api cargo run --example server
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_LISTEN` | address to listen on (default `127.0.0.1:3000`) |
//! | `AUTH_HMAC_SECRET`, `AUTH_PUBLIC_KEY_FILE` | static keys, combinable with the key sources below (at least one key or source) |
//! | `AUTH_ALGORITHMS`, `AUTH_ISSUER`, `AUTH_AUDIENCE` | comma lists |
//! | `AUTH_LEEWAY_SECS`, `AUTH_TOKEN_TYPE` | claim rules |
//! | `AUTH_JWKS_URL` | a JWKS URL to take keys from, refreshed in the background |
//! | `AUTH_OIDC_ISSUER` | an OpenID Connect issuer: keys by discovery, accepted as `iss`, verifying that issuer's tokens only (static keys and `AUTH_JWKS_URL` then sign for the issuers of `AUTH_ISSUER`) |
//! | `AUTH_OIDC_CLIENT_ID` | with `AUTH_OIDC_ISSUER`: this service's client id there; mounts `POST /backchannel-logout` (OpenID Connect Back-Channel Logout), outside the bearer-token layer |
//! | `AUTH_REVOCATION_URL` | revocation store: `memory:` (default), `redis://…`, `rediss://…` (TLS), `redis+cluster://host:port,host:port…`, `rediss+cluster://…`, `postgres://…` (`?sslmode=verify-full`) |
//! | `AUTH_STORE_CA_FILE` | a PEM file of the CA a TLS store's certificate is checked against (default: the public roots) |
//! | `AUTH_REVOCATION_TTL_SECS` | revocation cache TTL (default 30): the longest a revoked token can pass when an event is lost |
//! | `AUTH_DPOP` | DPoP (RFC 9449): `allowed` (bound tokens need `Authorization: DPoP` and a proof; unbound tokens pass as bearer tokens), `required` (every token bound), `off` (default: bound tokens are refused). With a shared `AUTH_REVOCATION_URL`, a proof used at one instance is refused at the others |
//! | `AUTH_RESOURCE` | the RFC 9728 resource identifier (`https://api.example.com/orders`; default: the first `AUTH_AUDIENCE` when it is an `https` URL): the server serves the protected-resource metadata at `GET /.well-known/oauth-protected-resource{path}`, outside the layer, and every challenge names it (`resource_metadata="…"`) |
//! | `AUTH_SCOPES_SUPPORTED` | comma list of the scopes the metadata lists |
//! | `AUTH_GRANT_PRESET` | where the identity provider puts scopes and roles: `keycloak:<client id>`, `entra-id`, `auth0`, `okta`; `AUTH_ROLE_CLAIMS` and `AUTH_SCOPE_CLAIMS` add claim paths (`realm_access.roles`, `/https:~1~1shop.example~1roles`) |
//! | `AUTH_STEP_UP_ACR`, `AUTH_STEP_UP_MAX_AGE_SECS` | mounts `GET /step-up`, which needs a login with one of these `acr` values (comma list) and/or at most this many seconds old (`auth_time`); anything less is answered 401 `insufficient_user_authentication` with `acr_values` / `max_age` (RFC 9470) |
//! | `AUTH_PUBLIC_URL` | the external base URL clients address the service by (`https://api.example.com`, with the path prefix a proxy strips), which DPoP proofs' `htu` must name; default: `http://` and the request's `Host` |
//!
//! A malformed variable stops the server at start with a message naming it.
//!
//! `POST /backchannel-logout` takes the provider's logout token
//! (`logout_token=…`, form-encoded) and revokes the session (`sid`) or the
//! subject (`sub`) it names for that issuer in the revocation store, which
//! every instance then enforces: 200 when done, 400
//! `{"error":"invalid_request"}` for anything invalid, 503 with
//! `Retry-After` when the store cannot be reached. The provider calls it
//! without an access token: the signed logout token is the credential.

mod common;

use std::process::ExitCode;

use auth_extract::Claims;
use auth_layer::claims::DefaultClaims;
use auth_layer::config::AuthConfig;
use auth_layer::require::Require;
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

async fn protected(claims: Claims) -> Json<Value> {
    Json(json!({ "sub": claims.subject(), "claims": claims.token().all_claims() }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,auth_layer=debug".into()),
        )
        .init();

    let auth = match common::configure::<DefaultClaims>().await {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let logout = match AuthConfig::from_env().map(|c| c.backchannel_logout(&auth)) {
        Ok(Some(Ok(logout))) => Some(logout),
        Ok(None) => None,
        Ok(Some(Err(e))) | Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(listener) = common::bind().await else {
        return ExitCode::from(2);
    };
    let step_up = match AuthConfig::from_env() {
        Ok(config) => config.step_up(),
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let metadata = auth.resource_metadata().cloned();
    let mut app = Router::new().route("/protected", get(protected));
    if let Some(rule) = step_up {
        app = app.route(
            "/step-up",
            get(protected).route_layer(Require::step_up(&auth, rule)),
        );
        println!("step-up route at GET /step-up");
    }
    let mut app = app.layer(auth);
    // The RFC 9728 document is public: outside the layer.
    if let Some(metadata) = metadata {
        app = app.route_service(metadata.path(), metadata.service());
        println!("protected-resource metadata at GET {}", metadata.path());
    }
    // Added after the layer, so outside it: the provider sends no access token.
    if let Some(logout) = logout {
        app = app.route_service("/backchannel-logout", logout);
        println!("back-channel logout at POST /backchannel-logout");
    }
    match listener.local_addr() {
        Ok(local) => println!("listening on http://{local}/protected"),
        Err(e) => eprintln!("listening (address unknown: {e})"),
    }
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
    {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
