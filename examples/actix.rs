//! The actix-web twin of the `server` example: `GET /protected`, configured
//! entirely from the same `AUTH_*` variables, with the same answers (the
//! subject and claims as JSON; JSON rejections with the same statuses and
//! `WWW-Authenticate` challenges).
//!
//! ```sh
//! AUTH_PUBLIC_KEY_FILE=issuer.pub.pem AUTH_ISSUER=https://issuer.example \
//!   AUTH_AUDIENCE=orders-api cargo run --example actix
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_LISTEN` | address to listen on (default `127.0.0.1:3000`) |
//! | `AUTH_HMAC_SECRET`, `AUTH_PUBLIC_KEY_FILE` | keys (at least one) |
//! | `AUTH_ALGORITHMS`, `AUTH_ISSUER`, `AUTH_AUDIENCE` | comma lists |
//! | `AUTH_LEEWAY_SECS`, `AUTH_TOKEN_TYPE` | claim rules |
//! | `AUTH_REVOCATION_URL`, `AUTH_STORE_CA_FILE` | revocation store and its private CA, as for the `server` example (`memory:`, `redis://…`, `rediss://…`, `redis+cluster://…`, `postgres://…`) |
//! | `AUTH_REVOCATION_TTL_SECS` | revocation cache TTL (default 30) |
//! | `AUTH_DPOP` | DPoP (RFC 9449): `allowed` (bound tokens need `Authorization: DPoP` and a proof; unbound tokens pass as bearer tokens), `required` (every token bound), `off` (default: bound tokens are refused). With a shared `AUTH_REVOCATION_URL`, a proof used at one instance is refused at the others |
//! | `AUTH_RESOURCE`, `AUTH_SCOPES_SUPPORTED` | RFC 9728 protected-resource metadata, as for the `server` example: served at `GET /.well-known/oauth-protected-resource{path}` outside the middleware, and named by every challenge |
//! | `AUTH_PUBLIC_URL` | the external base URL clients address the service by (`https://api.example.com`, with the path prefix a proxy strips), which DPoP proofs' `htu` must name; default: `http://` and the request's `Host` |
//! | `AUTH_OIDC_ISSUER`, `AUTH_OIDC_CLIENT_ID` | with both: `POST /backchannel-logout` receives the provider's logout tokens, outside the middleware, as in the `server` example |
//!
//! A malformed variable stops the server at start with a message naming it.

mod common;

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use auth_extract::Claims;
use auth_extract::actix::{JwtAuthMiddleware, backchannel_logout};
use auth_layer::claims::DefaultClaims;
use auth_layer::config::AuthConfig;
use serde_json::json;

async fn protected(claims: Claims) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "sub": claims.subject(), "claims": claims.token().all_claims() }))
}

#[actix_web::main]
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
        Ok(Some(Ok(logout))) => Some(web::Data::new(logout)),
        Ok(None) => None,
        Ok(Some(Err(e))) | Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = common::listen_address();
    let metadata = auth.resource_metadata().cloned();
    let server = HttpServer::new(move || {
        let mut app = App::new();
        // The RFC 9728 document is public: outside the middleware.
        if let Some(metadata) = &metadata {
            let json = metadata.json().to_owned();
            app = app.route(
                metadata.path(),
                web::get().to(move || {
                    let json = json.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .insert_header(("cache-control", "max-age=3600"))
                            .insert_header(("access-control-allow-origin", "*"))
                            .body(json)
                    }
                }),
            );
        }
        // Outside the middleware: the provider sends no access token.
        if let Some(logout) = &logout {
            app = app
                .app_data(logout.clone())
                .route("/backchannel-logout", web::post().to(backchannel_logout));
        }
        app.service(
            web::scope("")
                .wrap(JwtAuthMiddleware::new(auth.clone()))
                .route("/protected", web::get().to(protected)),
        )
    })
    .bind(&addr);
    let server = match server {
        Ok(server) => server,
        Err(e) => {
            eprintln!("AUTH_LISTEN: cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    for local in server.addrs() {
        println!("listening on http://{local}/protected");
    }
    // actix-web stops on Ctrl-C by itself.
    if let Err(e) = server.run().await {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
