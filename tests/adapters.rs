//! One core, two frameworks: the rejection matrix run against the tower
//! layer in axum and the actix-web middleware, each on a real server, in
//! HTTP and gRPC form; the actix extractors and middleware placement; the
//! scope and role guards as layers, middleware and extractors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;
use auth_tests::matrix;

use actix_web::{App, HttpResponse, web};
use auth_extract::actix::{JwtAuthMiddleware, RequireMiddleware};
use auth_extract::{Claims, RoleName, ScopeName, WithRole, WithScope};
use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use auth_layer::observe::Outcome;
use auth_layer::require::Require;
use auth_layer::response::JsonResponder;
use auth_tests::actix_server;
use axum::Router;
use axum::routing::get;
use common::{SECRET, TestServer, claims, claims_with, hs256, serve_router, whoami};
use matrix::{ADMIN_ROLE, ORDERS_SCOPE, matrix_auth};
use serde::Deserialize;
use serde_json::json;

/// `GET /protected` for actix-web: the same JSON as [`whoami`].
async fn whoami_actix(claims: Claims) -> HttpResponse {
    let token = claims.token();
    HttpResponse::Ok().json(json!({
        "sub": token.subject(),
        "alg": auth_layer::keys::algorithm_name(token.algorithm()),
        "kid": token.key_id(),
        "claims": token.all_claims(),
    }))
}

/// The matrix routes in axum: the guards as route layers inside the layer.
fn axum_app(auth: JwtAuth<DefaultClaims, JsonResponder>) -> Router {
    Router::new()
        .route("/protected", get(whoami))
        .route(
            "/orders",
            get(whoami).route_layer(Require::scope(&auth, ORDERS_SCOPE)),
        )
        .route(
            "/admin",
            get(whoami).route_layer(Require::role(&auth, ADMIN_ROLE)),
        )
        .layer(auth)
}

/// The matrix routes in actix-web: the middleware on the `App`, the guards
/// on their resources.
fn actix_matrix_server(auth: JwtAuth<DefaultClaims, JsonResponder>) -> TestServer {
    actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .service(
                web::resource("/orders")
                    .wrap(RequireMiddleware::new(Require::scope(&auth, ORDERS_SCOPE)))
                    .route(web::get().to(whoami_actix)),
            )
            .service(
                web::resource("/admin")
                    .wrap(RequireMiddleware::new(Require::role(&auth, ADMIN_ROLE)))
                    .route(web::get().to(whoami_actix)),
            )
            .wrap(JwtAuthMiddleware::new(auth.clone()))
    })
}

#[tokio::test]
async fn the_rejection_matrix_gets_the_same_answers_from_axum_and_actix() {
    let axum = serve_router(axum_app(matrix_auth().await)).await;
    let actix = actix_matrix_server(matrix_auth().await);
    let rows = matrix::rows();
    assert!(rows.len() >= 25);
    for row in rows {
        let call = (row.call)();
        let from_axum = matrix::run(&axum, &call, false).await;
        let from_actix = matrix::run(&actix, &call, false).await;
        let description = matrix::assert_http(row.name, "axum", &from_axum, row.expect);
        matrix::assert_http(row.name, "actix", &from_actix, row.expect);
        assert_eq!(
            matrix::comparable(&from_axum),
            matrix::comparable(&from_actix),
            "{}: axum and actix answer differently",
            row.name
        );

        let grpc_axum = matrix::run(&axum, &call, true).await;
        let grpc_actix = matrix::run(&actix, &call, true).await;
        matrix::assert_grpc(row.name, "axum", &grpc_axum, row.expect, &description);
        matrix::assert_grpc(row.name, "actix", &grpc_actix, row.expect, &description);
        assert_eq!(
            matrix::comparable(&grpc_axum),
            matrix::comparable(&grpc_actix),
            "{} (gRPC): axum and actix answer differently",
            row.name
        );
    }
}

#[tokio::test]
async fn actix_default_responder_sends_the_challenge_with_a_json_body() {
    let auth = common::hmac_auth();
    let server = actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .wrap(JwtAuthMiddleware::new(auth.clone()))
    });
    let reply = server.anonymous("/protected").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        (&body["error"], &body["code"]),
        (&json!("unauthorized"), &json!("token_missing"))
    );
    let empty = common::hmac_auth().empty_error_bodies();
    let quiet = actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .wrap(JwtAuthMiddleware::new(empty.clone()))
    });
    let reply = quiet.anonymous("/protected").await;
    assert_eq!(
        (
            reply.status,
            reply.www_authenticate.as_deref(),
            reply.body.as_str()
        ),
        (401, Some(r#"Bearer realm="api""#), "")
    );
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_ok("alice");
}

/// The actix-web middleware reports its decisions to the audit hook with
/// the peer's address, as the tower layer does with `ConnectInfo`.
#[tokio::test]
async fn actix_middleware_tells_the_audit_hook_the_peer_address() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audit(move |event| {
            sink.lock().unwrap().push((
                event.outcome(),
                event.subject().map(str::to_owned),
                event.client_addr(),
            ));
        })
        .build()
        .unwrap();
    let server = actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .wrap(JwtAuthMiddleware::new(auth.clone()))
    });
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_ok("alice");
    assert_eq!(server.anonymous("/protected").await.status, 401);
    let loopback = Some(std::net::IpAddr::from([127, 0, 0, 1]));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (Outcome::Allowed, Some("alice".to_owned()), loopback),
            (Outcome::Rejected, None, loopback),
        ]
    );
}

#[derive(Deserialize, serde::Serialize)]
struct Tenant {
    sub: String,
    tenant: u32,
}

async fn tenant(claims: Claims<Tenant>) -> String {
    format!("{} of tenant {}", claims.sub, claims.tenant)
}

async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "guest".to_owned(), |c| c.subject().to_owned())
}

#[tokio::test]
async fn actix_middleware_per_scope_custom_claims_and_optional_mode() {
    let custom = JwtAuth::builder()
        .hmac_secret(SECRET)
        .claims::<Tenant>()
        .build()
        .unwrap();
    let optional = JwtAuth::builder()
        .hmac_secret(SECRET)
        .optional()
        .build()
        .unwrap();
    let server = actix_server!(move || {
        App::new()
            .service(
                web::scope("/tenant")
                    .wrap(JwtAuthMiddleware::new(custom.clone()))
                    .route("", web::get().to(tenant)),
            )
            .service(
                web::scope("/home")
                    .wrap(JwtAuthMiddleware::new(optional.clone()))
                    .route("", web::get().to(maybe)),
            )
            .route("/unprotected", web::get().to(whoami_actix))
            .route("/open", web::get().to(|| async { "open" }))
    });

    let token = hs256(&claims_with("alice", json!({ "tenant": 7 })));
    let reply = server.bearer_at("/tenant", &token).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "alice of tenant 7")
    );
    // A token without the field the claims type needs is refused by the middleware.
    let reply = server.bearer_at("/tenant", &hs256(&claims("alice"))).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(
        reply
            .www_authenticate
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    // Optional mode: no token is a guest, a bad token is still a 401.
    let guest = server.anonymous("/home").await;
    assert_eq!((guest.status, guest.body.as_str()), (200, "guest"));
    let signed_in = server.bearer_at("/home", &hs256(&claims("bob"))).await;
    assert_eq!((signed_in.status, signed_in.body.as_str()), (200, "bob"));
    let bad = server.bearer_at("/home", "not-a-jwt").await;
    assert_eq!(bad.status, 401);

    // Outside the scopes no middleware runs: the routes without Claims are
    // open, a handler that needs Claims answers 500.
    let open = server.anonymous("/open").await;
    assert_eq!((open.status, open.body.as_str()), (200, "open"));
    let misconfigured = server
        .bearer_at("/unprotected", &hs256(&claims("alice")))
        .await;
    assert_eq!(misconfigured.status, 500);
    assert_eq!(
        misconfigured.body,
        "authentication is not configured for this route"
    );
}

#[tokio::test]
async fn actix_optional_mode_claims_required_by_the_handler_is_401() {
    let optional = JwtAuth::builder()
        .hmac_secret(SECRET)
        .optional()
        .build()
        .unwrap();
    let server = actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .wrap(JwtAuthMiddleware::new(optional.clone()))
    });
    let reply = server.anonymous("/protected").await;
    assert_eq!(reply.status, 401);
    // The layer's challenge, as the layer itself would answer.
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
}

struct OrdersRead;
impl ScopeName for OrdersRead {
    const NAME: &'static str = "orders:read";
}

struct Admin;
impl RoleName for Admin {
    const NAME: &'static str = "admin";
}

async fn read_orders(claims: WithScope<OrdersRead>) -> String {
    format!("orders of {}", claims.subject())
}

async fn administer(claims: WithRole<Admin>) -> String {
    format!("admin {}", claims.subject())
}

/// The extractor guards answer the same in both frameworks: 200 with the
/// grant, 403 with the layer's realm and the scope named without it.
#[tokio::test]
async fn guard_extractors_in_axum_and_actix() {
    let axum = serve_router(
        Router::new()
            .route("/orders", get(read_orders))
            .route("/admin", get(administer))
            .layer(common::hmac_auth()),
    )
    .await;
    let auth = common::hmac_auth();
    let actix = actix_server!(move || {
        App::new()
            .route("/orders", web::get().to(read_orders))
            .route("/admin", web::get().to(administer))
            .wrap(JwtAuthMiddleware::new(auth.clone()))
    });
    let reader = hs256(&claims_with("alice", json!({ "scope": "orders:read" })));
    let admin = hs256(&claims_with("root", json!({ "roles": ["admin"] })));
    for server in [&axum, &actix] {
        let ok = server.bearer_at("/orders", &reader).await;
        assert_eq!((ok.status, ok.body.as_str()), (200, "orders of alice"));
        let ok = server.bearer_at("/admin", &admin).await;
        assert_eq!((ok.status, ok.body.as_str()), (200, "admin root"));

        let denied = server.bearer_at("/orders", &admin).await;
        assert_eq!(denied.status, 403, "{denied:?}");
        assert_eq!(
            denied.www_authenticate.as_deref(),
            Some(
                r#"Bearer realm="api", error="insufficient_scope", error_description="token lacks the scope this request requires", scope="orders:read""#
            )
        );
        let body = denied.json();
        assert_eq!(
            (&body["code"], &body["scope"]),
            (&json!("insufficient_scope"), &json!("orders:read"))
        );
        let denied = server.bearer_at("/admin", &reader).await;
        assert_eq!(denied.status, 403);
        assert_eq!(denied.json()["code"], "insufficient_role");

        // gRPC callers get PERMISSION_DENIED.
        let grpc = common::send(
            server
                .get("/orders")
                .header("authorization", format!("Bearer {admin}"))
                .header("content-type", "application/grpc"),
        )
        .await;
        assert_eq!(grpc.status, 200);
        assert_eq!(grpc.header("grpc-status"), Some("7"));
    }
}

/// A refusal by a guard after the layer (403) reaches the layer's audit
/// hook like its own 401s: the tower guard, and the extractors in axum and
/// actix-web.
#[tokio::test]
async fn guards_report_their_refusals_to_the_audit_hook_in_both_frameworks() {
    type Seen = std::sync::Arc<
        std::sync::Mutex<Vec<(Outcome, Option<auth_layer::ErrorKind>, Option<String>)>>,
    >;
    let audited = |seen: &Seen| {
        let sink = std::sync::Arc::clone(seen);
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .audit(move |event| {
                sink.lock().unwrap().push((
                    event.outcome(),
                    event.reason(),
                    event.subject().map(str::to_owned),
                ));
            })
            .build()
            .unwrap()
            .json_errors()
    };
    let reader = hs256(&claims_with("alice", json!({ "scope": "orders:read" })));
    let nobody = hs256(&claims_with("bob", json!({})));
    let refused = |reason| (Outcome::Forbidden, Some(reason), Some("bob".to_owned()));
    let allowed = (Outcome::Allowed, None, Some("bob".to_owned()));

    let seen = Seen::default();
    let auth = audited(&seen);
    let axum = serve_router(
        Router::new()
            .route("/orders", get(read_orders))
            .route("/admin", get(administer))
            .route("/both", get(both_guards))
            .route(
                "/guarded",
                get(whoami).route_layer(Require::scope(&auth, ORDERS_SCOPE)),
            )
            .layer(auth),
    )
    .await;
    let seen_actix = Seen::default();
    let auth = audited(&seen_actix);
    let actix = actix_server!(move || {
        App::new()
            .route("/orders", web::get().to(read_orders))
            .route("/admin", web::get().to(administer))
            .route("/both", web::get().to(both_guards))
            .service(
                web::resource("/guarded")
                    .wrap(RequireMiddleware::new(Require::scope(&auth, ORDERS_SCOPE)))
                    .route(web::get().to(whoami_actix)),
            )
            .wrap(JwtAuthMiddleware::new(auth.clone()))
    });
    for (server, seen) in [(&axum, &seen), (&actix, &seen_actix)] {
        assert_eq!(server.bearer_at("/orders", &reader).await.status, 200);
        seen.lock().unwrap().clear();
        for path in ["/orders", "/admin", "/guarded"] {
            assert_eq!(server.bearer_at(path, &nobody).await.status, 403, "{path}");
        }
        assert_eq!(
            *seen.lock().unwrap(),
            [
                allowed.clone(),
                refused(auth_layer::ErrorKind::InsufficientScope),
                allowed.clone(),
                refused(auth_layer::ErrorKind::InsufficientRole),
                allowed.clone(),
                refused(auth_layer::ErrorKind::InsufficientScope),
            ]
        );
        // Two guard extractors refusing one request: reported once.
        seen.lock().unwrap().clear();
        assert_eq!(server.bearer_at("/both", &nobody).await.status, 403);
        let forbidden = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.0 == Outcome::Forbidden)
            .count();
        assert_eq!(forbidden, 1);
    }
}

/// A guard reads the grants of the token of its own claims type: behind a
/// layer of another claims type it finds none, a server mistake answered
/// with 500, never a pass (even for a token with the scope).
#[tokio::test]
async fn a_guard_of_another_claims_type_than_the_layer_answers_500_in_both_frameworks() {
    #[derive(Deserialize)]
    struct Mine {}
    let layer = JwtAuth::builder()
        .hmac_secret(SECRET)
        .claims::<Mine>()
        .build()
        .unwrap();
    let guard_of = common::hmac_auth();
    let axum = serve_router(
        Router::new()
            .route(
                "/orders",
                get(|| async { "reached" }).route_layer(Require::scope(&guard_of, "orders:write")),
            )
            .layer(layer.clone()),
    )
    .await;
    let guard = RequireMiddleware::new(Require::scope(&guard_of, "orders:write"));
    let actix = actix_server!(move || {
        App::new()
            .route("/orders", web::get().to(|| async { "reached" }))
            .wrap(guard.clone())
            .wrap(JwtAuthMiddleware::new(layer.clone()))
    });
    answer_500_with_a_good_token(&[&axum, &actix]).await;
}

/// A token with the guard's scope, on each server: a server mistake (500),
/// the handler never reached.
async fn answer_500_with_a_good_token(servers: &[&TestServer]) {
    let token = hs256(&claims_with("alice", json!({ "scope": "orders:write" })));
    for server in servers {
        let reply = server.bearer_at("/orders", &token).await;
        assert_eq!(reply.status, 500, "{reply:?}");
        assert_ne!(reply.body, "reached");
    }
}

async fn both_guards(scope: WithScope<OrdersRead>, _role: WithRole<Admin>) -> String {
    format!("both {}", scope.subject())
}

/// A guard on a route without the authentication layer is a server
/// mistake: 500, never a pass.
#[tokio::test]
async fn a_guard_without_the_layer_answers_500_in_both_frameworks() {
    let auth = common::hmac_auth();
    let axum = serve_router(Router::new().route(
        "/orders",
        get(|| async { "reached" }).route_layer(Require::scope(&auth, "orders:write")),
    ))
    .await;
    let guard = RequireMiddleware::new(Require::scope(&auth, "orders:write"));
    let actix = actix_server!(move || {
        App::new()
            .route("/orders", web::get().to(|| async { "reached" }))
            .wrap(guard.clone())
    });
    answer_500_with_a_good_token(&[&axum, &actix]).await;
}
