//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document built from
//! the layer's configuration and checked field by field against section 2,
//! served at the path section 3.1 derives (with and without a path in the
//! resource identifier), and named by every challenge of the layer and the
//! guards (section 5.1), in axum and in actix-web alike.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;

use actix_web::{App, HttpResponse, web};
use auth_extract::actix::{JwtAuthMiddleware, RequireMiddleware};
use auth_extract::{Claims, RoleName, WithRole};
use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use auth_layer::config::AuthConfig;
use auth_layer::dpop::{DpopMode, DpopVerifier};
use auth_layer::keys::{Key, TrustedIssuer};
use auth_layer::require::{Require, StepUp};
use auth_layer::response::JsonResponder;
use auth_layer::revocation::{RevocationCache, RevocationStore as _};
use auth_layer::source::TokenSource;
use auth_tests::actix_server;
use auth_tests::fake_store::FakeStore;
use axum::Router;
use axum::routing::get;
use common::{SECRET, TestServer, claims_with, hs256, now, send, serve_router, whoami};
use serde_json::{Value, json};

const ISSUER: &str = "https://sso.example.com/realms/shop";

/// `GET path` on `server`.
async fn fetch(server: &TestServer, path: &str) -> common::Reply {
    send(server.get(path)).await
}

/// Serves the layer's metadata as the `server` example does: outside the
/// layer, at its path; `/orders` behind the layer.
async fn serve_with_metadata(auth: JwtAuth) -> TestServer {
    let metadata = auth.resource_metadata().cloned().expect("a resource");
    let app = Router::new()
        .route("/orders", get(whoami))
        .layer(auth)
        .route_service(metadata.path(), metadata.service());
    serve_router(app).await
}

#[tokio::test]
async fn the_document_for_a_resource_without_a_path() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .issuer(ISSUER)
        .resource("https://api.example.com")
        .scopes_supported(["orders:read", "orders:write"])
        .resource_name("Orders")
        .resource_documentation("https://api.example.com/docs")
        .build()
        .unwrap();
    let metadata = auth.resource_metadata().unwrap();
    assert_eq!(metadata.path(), "/.well-known/oauth-protected-resource");
    assert_eq!(
        metadata.url(),
        "https://api.example.com/.well-known/oauth-protected-resource"
    );
    let server = serve_with_metadata(auth.clone()).await;
    let reply = fetch(&server, metadata.path()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    // Section 2, field by field: `resource` as configured (section 3.3:
    // identical to the identifier the URL was built from), the accepted
    // issuer, the scopes, the one bearer method (the header), the name and
    // documentation; nothing the layer does not do.
    assert_eq!(
        reply.json(),
        json!({
            "resource": "https://api.example.com",
            "authorization_servers": [ISSUER],
            "scopes_supported": ["orders:read", "orders:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Orders",
            "resource_documentation": "https://api.example.com/docs",
        })
    );
    // HEAD answers the headers alone; other methods are not allowed.
    let head =
        send(reqwest::Client::new().head(format!("{}{}", server.base(), metadata.path()))).await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    let post =
        send(reqwest::Client::new().post(format!("{}{}", server.base(), metadata.path()))).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    // Served outside the layer: no token needed, while `/orders` needs one.
    assert_eq!(fetch(&server, "/orders").await.status, 401);
}

#[tokio::test]
async fn the_document_for_a_resource_with_a_path() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .issuer(ISSUER)
        .resource("https://api.example.com/orders/v1")
        .build()
        .unwrap();
    let metadata = auth.resource_metadata().unwrap();
    assert_eq!(
        metadata.path(),
        "/.well-known/oauth-protected-resource/orders/v1"
    );
    assert_eq!(
        metadata.url(),
        "https://api.example.com/.well-known/oauth-protected-resource/orders/v1"
    );
    let server = serve_with_metadata(auth.clone()).await;
    let document = fetch(&server, metadata.path()).await.json();
    assert_eq!(document["resource"], "https://api.example.com/orders/v1");
    assert_eq!(document["authorization_servers"], json!([ISSUER]));
    assert_eq!(
        document.get("scopes_supported"),
        None,
        "no scopes configured, none listed"
    );
    // The path without the resource's own is another resource's: not
    // served here (the layer answers it, as any unknown path).
    assert_ne!(
        fetch(&server, "/.well-known/oauth-protected-resource")
            .await
            .status,
        200
    );
}

#[test]
fn the_document_follows_the_layer_s_configuration() {
    let document = |builder: auth_layer::JwtAuthBuilder| {
        serde_json::from_str::<Value>(
            builder
                .resource("https://api.example.com")
                .build()
                .unwrap()
                .resource_metadata()
                .unwrap()
                .json(),
        )
        .unwrap()
    };
    // Every accepted issuer is an authorization server.
    let trusted = document(
        JwtAuth::builder()
            .trusted_issuer(TrustedIssuer::new("https://a.example").key(Key::hmac(SECRET).unwrap()))
            .trusted_issuer(
                TrustedIssuer::new("https://b.example").key(Key::hmac(SECRET).unwrap()),
            ),
    );
    assert_eq!(
        trusted["authorization_servers"],
        json!(["https://a.example", "https://b.example"])
    );
    let named = document(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(ISSUER)
            .authorization_servers(["https://as.example"]),
    );
    assert_eq!(
        named["authorization_servers"],
        json!(["https://as.example"])
    );
    // The token sources are the bearer methods: a cookie is none of RFC
    // 6750's; the query only as `access_token`.
    let cookie = document(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .token_sources([TokenSource::cookie("at")]),
    );
    assert_eq!(cookie["bearer_methods_supported"], json!([]));
    let both = document(JwtAuth::builder().hmac_secret(SECRET).token_sources([
        TokenSource::Bearer,
        TokenSource::query("access_token"),
        TokenSource::query("token"),
    ]));
    assert_eq!(both["bearer_methods_supported"], json!(["header", "query"]));
    // DPoP: the proof algorithms, and whether bound tokens are required.
    let dpop = |mode| {
        document(
            JwtAuth::builder()
                .hmac_secret(SECRET)
                .dpop(DpopVerifier::builder().build().unwrap())
                .dpop_mode(mode),
        )
    };
    let required = dpop(DpopMode::Required);
    assert_eq!(
        required["dpop_signing_alg_values_supported"],
        json!(["ES256", "ES384", "EdDSA", "RS256", "PS256"])
    );
    assert_eq!(required["dpop_bound_access_tokens_required"], true);
    assert_eq!(
        dpop(DpopMode::Allowed)["dpop_bound_access_tokens_required"],
        false
    );
    let plain = document(JwtAuth::builder().hmac_secret(SECRET));
    assert_eq!(plain.get("dpop_signing_alg_values_supported"), None);
    assert_eq!(plain.get("dpop_bound_access_tokens_required"), None);
}

#[test]
fn a_resource_the_rfc_does_not_allow_is_refused_at_build_time() {
    for bad in [
        "api.example.com",
        "http://api.example.com/orders",
        "https://api.example.com/#top",
        "https://user@api.example.com/",
    ] {
        let err = JwtAuth::builder()
            .hmac_secret(SECRET)
            .resource(bad)
            .build()
            .unwrap_err();
        assert!(err.to_string().starts_with("resource:"), "{bad}: {err}");
    }
    let err = JwtAuth::builder()
        .hmac_secret(SECRET)
        .scopes_supported(["orders:read"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(".resource("), "{err}");
    let err = JwtAuth::builder()
        .hmac_secret(SECRET)
        .resource("https://api.example.com")
        .scopes_supported(["two words"])
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("scopes_supported:"), "{err}");
}

/// The layer of the challenge tests: a resource, a revocation store that
/// is down for one subject, DPoP allowed; `/orders` needs a scope and
/// `/admin` a role.
async fn challenge_layer() -> JwtAuth<DefaultClaims, JsonResponder> {
    let store = FakeStore::new();
    store.fail_for("store-down");
    store.revoke_subject(ISSUER, "nobody", now()).await.unwrap();
    JwtAuth::builder()
        .hmac_secret(SECRET)
        .issuer(ISSUER)
        .revocation(RevocationCache::builder(store).build().unwrap())
        .dpop(DpopVerifier::builder().build().unwrap())
        .resource("https://api.example.com/orders")
        .build()
        .unwrap()
        .json_errors()
}

/// A request of the challenge table: name, path, headers, expected status.
type Case = (&'static str, &'static str, Vec<(&'static str, String)>, u16);

async fn whoami_actix(claims: Claims) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": claims.token().subject() }))
}

struct Billing;
impl RoleName for Billing {
    const NAME: &'static str = "billing";
}

async fn billing(claims: WithRole<Billing>) -> String {
    claims.subject().to_owned()
}

async fn billing_actix(claims: WithRole<Billing>) -> HttpResponse {
    HttpResponse::Ok().body(claims.subject().to_owned())
}

#[tokio::test]
async fn every_challenge_names_the_metadata_in_both_frameworks() {
    const URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/orders";
    let auth = challenge_layer().await;
    let axum = serve_router(
        Router::new()
            .route("/protected", get(whoami))
            .route(
                "/orders",
                get(whoami).route_layer(Require::scope(&auth, "orders:write")),
            )
            .route(
                "/admin",
                get(whoami).route_layer(Require::role(&auth, "admin")),
            )
            .route(
                "/step-up",
                get(whoami).route_layer(Require::step_up(&auth, StepUp::acr(["mfa"]))),
            )
            .route("/billing", get(billing))
            .layer(auth.clone()),
    )
    .await;
    let actix_auth = auth.clone();
    let actix = actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .service(
                web::resource("/orders")
                    .wrap(RequireMiddleware::new(Require::scope(
                        &actix_auth,
                        "orders:write",
                    )))
                    .route(web::get().to(whoami_actix)),
            )
            .service(
                web::resource("/admin")
                    .wrap(RequireMiddleware::new(Require::role(&actix_auth, "admin")))
                    .route(web::get().to(whoami_actix)),
            )
            .service(
                web::resource("/step-up")
                    .wrap(RequireMiddleware::new(Require::step_up(
                        &actix_auth,
                        StepUp::acr(["mfa"]),
                    )))
                    .route(web::get().to(whoami_actix)),
            )
            .route("/billing", web::get().to(billing_actix))
            .wrap(JwtAuthMiddleware::new(actix_auth.clone()))
    });
    let token = |sub: &str, extra: Value| {
        hs256(&claims_with(
            sub,
            common::merge(json!({ "iss": ISSUER }), extra),
        ))
    };
    let good = token("alice", json!({}));
    let cases: Vec<Case> = vec![
        ("no token", "/protected", vec![], 401),
        (
            "a bad signature",
            "/protected",
            vec![("authorization", format!("Bearer {good}x"))],
            401,
        ),
        (
            "an expired token",
            "/protected",
            vec![(
                "authorization",
                format!(
                    "Bearer {}",
                    token("eve", json!({ "exp": now() - 3600, "iat": now() - 7200 }))
                ),
            )],
            401,
        ),
        (
            "a revoked token",
            "/protected",
            vec![(
                "authorization",
                format!("Bearer {}", token("nobody", json!({ "iat": now() - 60 }))),
            )],
            401,
        ),
        (
            "two tokens",
            "/protected",
            vec![
                ("authorization", format!("Bearer {good}")),
                (
                    "authorization",
                    format!("Bearer {}", token("bob", json!({}))),
                ),
            ],
            400,
        ),
        (
            "a missing scope",
            "/orders",
            vec![("authorization", format!("Bearer {good}"))],
            403,
        ),
        (
            "a missing role",
            "/admin",
            vec![("authorization", format!("Bearer {good}"))],
            403,
        ),
        (
            "a login too weak (step-up)",
            "/step-up",
            vec![("authorization", format!("Bearer {good}"))],
            401,
        ),
        (
            "a missing role (an extractor)",
            "/billing",
            vec![("authorization", format!("Bearer {good}"))],
            403,
        ),
        (
            "a bound token as a bearer token",
            "/protected",
            vec![(
                "authorization",
                format!(
                    "Bearer {}",
                    token(
                        "eve",
                        json!({ "cnf": { "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } })
                    )
                ),
            )],
            401,
        ),
    ];
    for (name, path, headers, status) in &cases {
        for (adapter, server) in [("axum", &axum), ("actix", &actix)] {
            let mut request = server.get(path);
            for (k, v) in headers {
                request = request.header(*k, v);
            }
            let reply = send(request).await;
            let what = format!("{name} ({adapter}): {reply:?}");
            assert_eq!(reply.status, *status, "{what}");
            let challenge = reply.www_authenticate.clone().expect("a challenge");
            // Both challenges (Bearer and DPoP) name the document.
            assert_eq!(
                challenge
                    .matches(&format!(r#"resource_metadata="{URL}""#))
                    .count(),
                2,
                "{what}"
            );
        }
    }
    // A 503 has no challenge at all (the client did nothing wrong).
    let down = send(
        axum.get("/protected")
            .bearer_auth(token("store-down", json!({}))),
    )
    .await;
    assert_eq!((down.status, down.www_authenticate), (503, None));
}

#[tokio::test]
async fn the_server_example_serves_the_document_from_auth_resource() {
    let vars = |extra: &[(&'static str, &'static str)]| {
        let mut vars = vec![
            ("AUTH_HMAC_SECRET", SECRET),
            ("AUTH_ISSUER", ISSUER),
            ("AUTH_AUDIENCE", "https://api.example.com/orders,orders-api"),
        ];
        vars.extend_from_slice(extra);
        vars
    };
    let config = |vars: Vec<(&'static str, &'static str)>| {
        AuthConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    };
    // Named, with scopes.
    let named = config(vars(&[
        ("AUTH_RESOURCE", "https://api.example.com/v2"),
        ("AUTH_SCOPES_SUPPORTED", "orders:read, orders:write"),
    ]));
    let auth = named.connect().await.unwrap().build().unwrap();
    let server = serve_with_metadata(auth).await;
    let document = fetch(&server, "/.well-known/oauth-protected-resource/v2")
        .await
        .json();
    assert_eq!(document["resource"], "https://api.example.com/v2");
    assert_eq!(
        document["scopes_supported"],
        json!(["orders:read", "orders:write"])
    );
    assert_eq!(document["authorization_servers"], json!([ISSUER]));
    // By default, the first audience when it is an https URL.
    let auth = config(vars(&[])).connect().await.unwrap().build().unwrap();
    assert_eq!(
        auth.resource_metadata().unwrap().document().resource,
        "https://api.example.com/orders"
    );
    // Not a URL: no metadata, unless scopes are listed, which is an error.
    let plain = |extra| {
        let vars = vec![
            ("AUTH_HMAC_SECRET", SECRET),
            ("AUTH_AUDIENCE", "orders-api"),
            extra,
        ];
        JwtAuth::builder().config(&config(vars)).build()
    };
    assert!(
        plain(("AUTH_LEEWAY_SECS", "5"))
            .unwrap()
            .resource_metadata()
            .is_none()
    );
    let err = plain(("AUTH_SCOPES_SUPPORTED", "orders:read")).unwrap_err();
    assert!(
        err.to_string().starts_with("AUTH_SCOPES_SUPPORTED:"),
        "{err}"
    );
    let err = JwtAuth::builder()
        .config(&config(vec![
            ("AUTH_HMAC_SECRET", SECRET),
            ("AUTH_RESOURCE", "http://api.example.com/"),
        ]))
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("AUTH_RESOURCE:"), "{err}");
}
