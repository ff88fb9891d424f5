//! What a route can demand of a token beyond its validity, as clients and
//! identity providers expect it: step-up (RFC 9470: `acr`, `auth_time`),
//! sets of scopes and roles (all of them, any one), and roles where each
//! provider puts them (Keycloak, Entra ID, Auth0, Okta). Every table runs
//! through axum and actix-web (the `Require` guard and the `Guarded`
//! extractor, answer for answer) and through a real tonic client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use std::time::Duration;

use auth_tests as common;

use actix_web::{App, HttpResponse, web};
use auth_extract::actix::{JwtAuthMiddleware, RequireMiddleware};
use auth_extract::{Claims, Guard, Guarded, RoleName, WithRole};
use auth_layer::claims::{ClaimPath, DefaultClaims, GrantClaims};
use auth_layer::require::{Require, Requirement, StepUp};
use auth_layer::response::JsonResponder;
use auth_layer::{ErrorKind, JwtAuth, JwtAuthBuilder};
use auth_tests::actix_server;
use axum::Router;
use axum::routing::get;
use common::grpc::{assert_status, check, serve};
use common::{SECRET, TestServer, hs256, merge, now, serve_router, whoami};
use serde_json::{Value, json};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

type Auth = JwtAuth<DefaultClaims, JsonResponder>;

fn token(extra: Value) -> String {
    hs256(&merge(
        json!({ "sub": "kim", "exp": now() + 600, "iat": now() - 5 }),
        extra,
    ))
}

fn auth(builder: impl FnOnce(JwtAuthBuilder) -> JwtAuthBuilder) -> Auth {
    builder(JwtAuth::builder().hmac_secret(SECRET))
        .build()
        .unwrap()
        .json_errors()
}

async fn whoami_actix(claims: Claims) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": claims.token().subject() }))
}

/// Serves `routes` (path, requirement) behind `auth` in axum and in
/// actix-web, each path behind `Require` of its requirement, beside
/// `/protected` (no requirement).
fn serve_both(
    auth: &Auth,
    routes: Vec<(&'static str, Requirement)>,
) -> (impl Future<Output = TestServer>, TestServer) {
    let mut router = Router::new().route("/protected", get(whoami));
    for (path, requirement) in &routes {
        router = router.route(
            path,
            get(whoami).route_layer(Require::new(auth, requirement.clone())),
        );
    }
    let axum = serve_router(router.layer(auth.clone()));
    let actix_auth = auth.clone();
    let actix = actix_server!(move || {
        let mut app = App::new()
            .wrap(JwtAuthMiddleware::new(actix_auth.clone()))
            .route("/protected", web::get().to(whoami_actix));
        for (path, requirement) in &routes {
            app = app.service(
                web::resource(*path)
                    .wrap(RequireMiddleware::new(Require::new(
                        &actix_auth,
                        requirement.clone(),
                    )))
                    .route(web::get().to(whoami_actix)),
            );
        }
        app
    });
    (axum, actix)
}

/// The status, challenge and JSON body of `GET path` with `token`, the
/// same in both servers (returned from axum's).
async fn same_answer(
    axum: &TestServer,
    actix: &TestServer,
    path: &str,
    token: &str,
) -> common::Reply {
    let a = axum.bearer_at(path, token).await;
    let b = actix.bearer_at(path, token).await;
    assert_eq!(a.status, b.status, "{path}: axum {a:?}, actix {b:?}");
    assert_eq!(
        a.www_authenticate, b.www_authenticate,
        "{path}: axum {a:?}, actix {b:?}"
    );
    if a.status != 200 {
        assert_eq!(a.json(), b.json(), "{path}");
    }
    a
}

const ACR: [&str; 2] = ["mfa", "hwk"];
const MAX_AGE: u64 = 300;
const LEVEL: &str = "a different authentication level is required";
const RECENT: &str = "more recent authentication is required";

struct StrongLogin;
impl Guard for StrongLogin {
    fn requirement() -> Requirement {
        Requirement::step_up(StepUp::acr(ACR))
    }
}

struct RecentLogin;
impl Guard for RecentLogin {
    fn requirement() -> Requirement {
        Requirement::step_up(StepUp::recent(Duration::from_secs(MAX_AGE)))
    }
}

/// The step-up table: the token's `acr` / `auth_time`, the route, and the
/// expected answer (`None`: 200).
fn step_up_rows() -> Vec<(&'static str, Value, &'static str, Option<&'static str>)> {
    let acr_challenge = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="mfa hwk""#;
    let age_challenge = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="more recent authentication is required", max_age="300""#;
    vec![
        ("acr missing", json!({}), "/acr", Some(acr_challenge)),
        (
            "acr not in the set",
            json!({ "acr": "pwd" }),
            "/acr",
            Some(acr_challenge),
        ),
        (
            "acr of another shape",
            json!({ "acr": ["mfa"] }),
            "/acr",
            Some(acr_challenge),
        ),
        ("acr in the set", json!({ "acr": "hwk" }), "/acr", None),
        (
            "auth_time missing",
            json!({}),
            "/recent",
            Some(age_challenge),
        ),
        (
            "auth_time too old",
            json!({ "auth_time": now() - 3600 }),
            "/recent",
            Some(age_challenge),
        ),
        (
            "auth_time a string",
            json!({ "auth_time": (now() - 10).to_string() }),
            "/recent",
            Some(age_challenge),
        ),
        (
            "auth_time fresh",
            json!({ "auth_time": now() - 10 }),
            "/recent",
            None,
        ),
    ]
}

#[tokio::test]
async fn step_up_refusals_tell_the_client_what_login_would_do_in_both_frameworks() {
    let auth = auth(|b| b);
    let routes = vec![
        ("/acr", StrongLogin::requirement()),
        ("/recent", RecentLogin::requirement()),
    ];
    let (axum, actix) = serve_both(&auth, routes);
    let axum = axum.await;
    // The extractor, on its own routes of the same servers' kind.
    let extracted = serve_router(
        Router::new()
            .route(
                "/acr",
                get(|g: Guarded<StrongLogin>| async move { g.subject().to_owned() }),
            )
            .route(
                "/recent",
                get(|g: Guarded<RecentLogin>| async move { g.subject().to_owned() }),
            )
            .layer(auth.clone()),
    )
    .await;
    let actix_auth = auth.clone();
    let extracted_actix = actix_server!(move || {
        App::new()
            .wrap(JwtAuthMiddleware::new(actix_auth.clone()))
            .route(
                "/acr",
                web::get().to(|g: Guarded<StrongLogin>| async move {
                    HttpResponse::Ok().body(g.subject().to_owned())
                }),
            )
            .route(
                "/recent",
                web::get().to(|g: Guarded<RecentLogin>| async move {
                    HttpResponse::Ok().body(g.subject().to_owned())
                }),
            )
    });
    for (name, extra, path, challenge) in step_up_rows() {
        let token = token(extra);
        let guard = same_answer(&axum, &actix, path, &token).await;
        let extractor = same_answer(&extracted, &extracted_actix, path, &token).await;
        for (how, reply) in [("Require", &guard), ("Guarded", &extractor)] {
            let what = format!("{name} ({how}): {reply:?}");
            match challenge {
                None => assert_eq!(reply.status, 200, "{what}"),
                Some(challenge) => {
                    assert_eq!(reply.status, 401, "{what}");
                    assert_eq!(reply.www_authenticate.as_deref(), Some(challenge), "{what}");
                    let body = reply.json();
                    assert_eq!(body["error"], "insufficient_user_authentication", "{what}");
                    assert_eq!(body["code"], "insufficient_user_authentication", "{what}");
                    if path == "/acr" {
                        assert_eq!(body["acr_values"], "mfa hwk", "{what}");
                        assert_eq!(body["error_description"], LEVEL, "{what}");
                    } else {
                        assert_eq!(body["max_age"], MAX_AGE, "{what}");
                        assert_eq!(body["error_description"], RECENT, "{what}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn step_up_as_a_layer_option_and_through_tonic() {
    // Both rules at once, on every route of the layer: the challenge names
    // both, so that one new login satisfies the route.
    let rule = StepUp::acr(ACR).max_age(Duration::from_secs(MAX_AGE));
    let strict = auth(|b| b.require(Requirement::step_up(rule.clone())));
    let (axum, actix) = serve_both(&strict, vec![]);
    let axum = axum.await;
    let both = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="mfa hwk", max_age="300""#;
    for (name, extra, ok) in [
        ("neither", json!({}), false),
        ("acr only", json!({ "acr": "mfa" }), false),
        ("recent only", json!({ "auth_time": now() - 1 }), false),
        (
            "old strong login",
            json!({ "acr": "mfa", "auth_time": now() - 3600 }),
            false,
        ),
        (
            "recent strong login",
            json!({ "acr": "mfa", "auth_time": now() - 1 }),
            true,
        ),
    ] {
        let reply = same_answer(&axum, &actix, "/protected", &token(extra)).await;
        if ok {
            assert_eq!(reply.status, 200, "{name}: {reply:?}");
        } else {
            assert_eq!(reply.status, 401, "{name}: {reply:?}");
            assert_eq!(reply.www_authenticate.as_deref(), Some(both), "{name}");
        }
    }

    // gRPC: the layer option, and the guard in `Server::layer`; status 16
    // with the same description.
    let layer_only = strict.clone().empty_error_bodies();
    let mut by_option = serve(layer_only).await;
    let plain = JwtAuth::builder()
        .hmac_secret(SECRET)
        .build()
        .unwrap()
        .empty_error_bodies();
    let guard = Require::step_up(&plain, StepUp::recent(Duration::from_secs(MAX_AGE)));
    let mut by_guard = serve(tower::ServiceBuilder::new().layer(plain).layer(guard)).await;
    for (name, extra, option, guard) in [
        ("no acr, no auth_time", json!({}), Some(LEVEL), Some(RECENT)),
        (
            "weak and old",
            json!({ "acr": "pwd", "auth_time": now() - 3600 }),
            Some(LEVEL),
            Some(RECENT),
        ),
        (
            "strong but old",
            json!({ "acr": "hwk", "auth_time": now() - 3600 }),
            Some(LEVEL),
            Some(RECENT),
        ),
        (
            "weak but recent",
            json!({ "acr": "pwd", "auth_time": now() - 5 }),
            Some(LEVEL),
            None,
        ),
        (
            "strong and recent",
            json!({ "acr": "hwk", "auth_time": now() - 5 }),
            None,
            None,
        ),
    ] {
        let token = token(extra);
        for (client, expected) in [(&mut by_option, option), (&mut by_guard, guard)] {
            let result = check(client, Some(&token)).await;
            match expected {
                None => assert_eq!(result.unwrap(), ServingStatus::Serving, "{name}"),
                Some(message) => assert_status(result, Code::Unauthenticated, message),
            }
        }
    }
}

/// Where Keycloak puts roles: `realm_access.roles` and, per client,
/// `resource_access.<client>.roles` (Keycloak's access token as issued for
/// the `orders-api` client with the default client scopes).
fn keycloak_token() -> Value {
    let mut token: Value = serde_json::from_str(include_str!("tokens/keycloak.json")).unwrap();
    token["exp"] = (now() + 300).into();
    token["iat"] = (now() - 5).into();
    token["auth_time"] = (now() - 60).into();
    token
}

/// Microsoft Entra ID, a v2.0 access token for an API with app roles and
/// the groups claim: `scp` space-separated, `roles` and `groups` arrays,
/// and `ver` the token format ("2.0"), not a token version.
fn entra_token() -> Value {
    json!({
        "aud": "api://orders",
        "iss": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        "iat": now() - 5,
        "nbf": now() - 5,
        "exp": now() + 300,
        "aio": "AWQAm/8TAAAA",
        "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "azpacr": "0",
        "groups": ["0b1d9a4e-3c6f-4e8a-9d2b-7f5e1c3a8b60", "f3a2c1d0-9e8b-4c7a-8d6e-5b4a3c2d1e0f"],
        "name": "Kim Lee",
        "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "kim@shop.example",
        "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR",
        "roles": ["Orders.Admin"],
        "scp": "Orders.Read Orders.Write",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0"
    })
}

/// Auth0 with RBAC ("Add Permissions in the Access Token") and an Action
/// that adds the user's roles under a namespaced claim.
fn auth0_token() -> Value {
    json!({
        "https://shop.example/roles": ["admin"],
        "iss": "https://shop.eu.auth0.com/",
        "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
        "aud": ["https://api.shop.example", "https://shop.eu.auth0.com/userinfo"],
        "iat": now() - 5,
        "exp": now() + 300,
        "azp": "YzQ4ZDhmMjEtMTRkYy00",
        "scope": "openid profile email",
        "permissions": ["read:orders", "write:orders"]
    })
}

/// Okta (custom authorization server) with a groups claim: `scp` an array,
/// `ver` 1.
fn okta_token() -> Value {
    json!({
        "ver": 1,
        "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
        "iss": "https://shop.okta.com/oauth2/default",
        "aud": "api://default",
        "iat": now() - 5,
        "exp": now() + 300,
        "cid": "0oaoesxtxmPf08QHk0h7",
        "uid": "00uoeu6v0cxZbEXqY0h7",
        "scp": ["openid", "orders.read"],
        "auth_time": now() - 60,
        "sub": "kim@shop.example",
        "groups": ["Everyone", "Orders Admins"]
    })
}

/// A provider: its name, its audience, the preset, a token as it issues
/// one, and the scopes, roles and non-roles the layer must read from it.
type PresetCase = (
    &'static str,
    &'static str,
    GrantClaims,
    Value,
    Vec<&'static str>,
    Vec<&'static str>,
    Vec<&'static str>,
);

#[test]
fn each_preset_reads_its_provider_s_roles_and_scopes() {
    let cases: Vec<PresetCase> = vec![
        (
            "Keycloak",
            "orders-api",
            GrantClaims::keycloak(["orders-api"]),
            keycloak_token(),
            vec!["openid", "email", "profile"],
            vec![
                "default-roles-shop",
                "offline_access",
                "uma_authorization",
                "orders-read",
                "orders-admin",
            ],
            // Another client's roles, and a role named after the client.
            vec!["manage-account", "orders-api", "account"],
        ),
        (
            "Entra ID",
            "api://orders",
            GrantClaims::entra_id(),
            entra_token(),
            vec!["Orders.Read", "Orders.Write"],
            vec![
                "Orders.Admin",
                "0b1d9a4e-3c6f-4e8a-9d2b-7f5e1c3a8b60",
                "f3a2c1d0-9e8b-4c7a-8d6e-5b4a3c2d1e0f",
            ],
            vec!["Orders.Read"],
        ),
        (
            "Auth0",
            "https://api.shop.example",
            GrantClaims::auth0()
                .roles_from(ClaimPath::from_segments(["https://shop.example/roles"]).unwrap()),
            auth0_token(),
            vec!["openid", "profile", "email", "read:orders", "write:orders"],
            vec!["admin"],
            vec!["read:orders"],
        ),
        (
            "Okta",
            "api://default",
            GrantClaims::okta(),
            okta_token(),
            vec!["openid", "orders.read"],
            vec!["Everyone", "Orders Admins"],
            vec!["Orders", "Admins"],
        ),
    ];
    for (name, audience, claims, payload, scopes, roles, not_roles) in cases {
        let auth = JwtAuth::builder()
            .hmac_secret(SECRET)
            .audience(audience)
            .grant_claims(claims)
            .build()
            .unwrap();
        let verified = auth.verifier().verify(&hs256(&payload)).unwrap();
        // In token order: claims as they come, each claim's items in order.
        fn sorted(mut v: Vec<&str>) -> Vec<&str> {
            v.sort_unstable();
            v
        }
        assert_eq!(
            sorted(verified.scopes().iter().collect()),
            sorted(scopes),
            "{name}"
        );
        assert_eq!(
            sorted(verified.roles().iter().collect()),
            sorted(roles.clone()),
            "{name}"
        );
        for role in not_roles {
            assert!(!verified.has_role(role), "{name}: {role}");
        }
        // Without the preset, the same token grants only the default claims.
        let default = JwtAuth::builder()
            .hmac_secret(SECRET)
            .audience(audience)
            .build()
            .unwrap();
        let plain = default.verifier().verify(&hs256(&payload)).unwrap();
        assert!(
            plain.roles().len() < roles.len(),
            "{name}: the preset adds roles"
        );
    }
}

#[test]
fn step_up_facts_and_nested_claims_are_read_strictly() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audience("orders-api")
        .grant_claims(GrantClaims::keycloak(["orders-api"]))
        .build()
        .unwrap();
    let verified = auth.verifier().verify(&hs256(&keycloak_token())).unwrap();
    assert_eq!(verified.grants().acr(), Some("1"));
    assert_eq!(verified.grants().auth_time(), Some(now() - 60));
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .grant_claims(GrantClaims::keycloak(["orders-api"]))
        .build()
        .unwrap();
    // A member named twice on a grant path is refused (parsers disagree on
    // which one wins); elsewhere in the token it is no concern of ours.
    for payload in [
        r#"{"exp":4000000000,"realm_access":{"roles":["a"],"roles":["admin"]}}"#,
        r#"{"exp":4000000000,"resource_access":{"orders-api":{"roles":[]},"orders-api":{"roles":["admin"]}}}"#,
        r#"{"exp":4000000000,"acr":"pwd","acr":"mfa"}"#,
        r#"{"exp":4000000000,"auth_time":1,"auth_time":2}"#,
    ] {
        let token = common::signed_payload(payload);
        let error = auth.verifier().verify(&token).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidClaims, "{payload}");
    }
    // Other shapes on a path grant nothing and keep the token valid.
    for payload in [
        r#"{"sub":"alice","exp":4000000000,"realm_access":["admin"]}"#,
        r#"{"sub":"alice","exp":4000000000,"realm_access":{"roles":{"admin":true}}}"#,
        r#"{"sub":"alice","exp":4000000000,"resource_access":{"orders-api":"admin"}}"#,
        r#"{"sub":"alice","exp":4000000000,"resource_access":null}"#,
    ] {
        let verified = auth
            .verifier()
            .verify(&common::signed_payload(payload))
            .unwrap();
        assert!(verified.roles().is_empty(), "{payload}");
    }
    // A path inside a claim the layer reads otherwise is refused at build.
    let error = JwtAuth::builder()
        .hmac_secret(SECRET)
        .grant_claims(GrantClaims::default().roles_from("cnf.roles"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("/cnf/roles"), "{error}");
}

/// A row of the set table: the route, its requirement, the refusal
/// expected (status, code, description) or `None` for a pass.
type SetRow = (
    &'static str,
    Requirement,
    Option<(u16, &'static str, &'static str)>,
);

/// The any-of / all-of table on the Keycloak token: path, requirement,
/// and the expected refusal (kind, description, challenge attribute).
fn set_rows() -> Vec<SetRow> {
    vec![
        (
            "/any-role",
            Requirement::any_role(["orders-write", "orders-admin"]),
            None,
        ),
        (
            "/any-role-no",
            Requirement::any_role(["orders-write", "billing"]),
            Some((
                403,
                "insufficient_role",
                "token lacks every role this request accepts",
            )),
        ),
        (
            "/all-roles",
            Requirement::all_roles(["orders-read", "orders-admin"]),
            None,
        ),
        (
            "/all-roles-no",
            Requirement::all_roles(["orders-read", "orders-write"]),
            Some((
                403,
                "insufficient_role",
                "token lacks a role this request requires",
            )),
        ),
        (
            "/any-scope",
            Requirement::any_scope(["orders:write", "email"]),
            None,
        ),
        (
            "/any-scope-no",
            Requirement::any_scope(["orders:write", "orders:admin"]),
            Some((
                403,
                "insufficient_scope",
                "token lacks every scope this request accepts",
            )),
        ),
        (
            "/all-scopes",
            Requirement::all_scopes(["openid", "email"]),
            None,
        ),
        (
            "/all-scopes-no",
            Requirement::all_scopes(["email", "orders:write"]),
            Some((
                403,
                "insufficient_scope",
                "token lacks a scope this request requires",
            )),
        ),
    ]
}

#[tokio::test]
async fn any_of_and_all_of_sets_in_axum_actix_and_tonic() {
    let auth = auth(|b| {
        b.audience("orders-api")
            .grant_claims(GrantClaims::keycloak(["orders-api"]))
    });
    let token = hs256(&keycloak_token());
    let rows = set_rows();
    let (axum, actix) = serve_both(
        &auth,
        rows.iter().map(|(p, r, _)| (*p, r.clone())).collect(),
    );
    let axum = axum.await;
    for (path, requirement, refusal) in &rows {
        let reply = same_answer(&axum, &actix, path, &token).await;
        let what = format!("{path} ({requirement}): {reply:?}");
        let Some((status, code, description)) = refusal else {
            assert_eq!(reply.status, 200, "{what}");
            continue;
        };
        assert_eq!(reply.status, *status, "{what}");
        let body = reply.json();
        assert_eq!(
            (body["code"].as_str(), body["error_description"].as_str()),
            (Some(*code), Some(*description)),
            "{what}"
        );
        let challenge = reply.www_authenticate.clone().unwrap();
        let values = match requirement {
            Requirement::AnyRole(v)
            | Requirement::AllRoles(v)
            | Requirement::AnyScope(v)
            | Requirement::AllScopes(v) => v.join(" "),
            _ => unreachable!(),
        };
        if *code == "insufficient_role" {
            // A role cannot be asked for: no `scope` attribute; the body
            // lists the roles.
            assert_eq!(
                challenge,
                format!(
                    r#"Bearer realm="api", error="insufficient_scope", error_description="{description}""#
                ),
                "{what}"
            );
            assert_eq!(body["roles"].as_array().unwrap().len(), 2, "{what}");
        } else {
            assert_eq!(
                challenge,
                format!(
                    r#"Bearer realm="api", error="insufficient_scope", error_description="{description}", scope="{values}""#
                ),
                "{what}"
            );
            assert_eq!(body["scope"], values, "{what}");
        }
    }

    // gRPC: the same guards in `Server::layer`, status 7 and the same
    // description.
    let grpc_auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .audience("orders-api")
        .grant_claims(GrantClaims::keycloak(["orders-api"]))
        .build()
        .unwrap()
        .empty_error_bodies();
    for (path, requirement, refusal) in rows {
        let guard = Require::new(&grpc_auth, requirement);
        let mut client = serve(
            tower::ServiceBuilder::new()
                .layer(grpc_auth.clone())
                .layer(guard),
        )
        .await;
        let result = check(&mut client, Some(&token)).await;
        match refusal {
            None => assert_eq!(result.unwrap(), ServingStatus::Serving, "{path}"),
            Some((_, _, description)) => assert_status(result, Code::PermissionDenied, description),
        }
    }
}

struct Billing;
impl RoleName for Billing {
    const NAME: &'static str = "billing";
}

#[tokio::test]
async fn extractor_refusals_carry_the_layer_s_realm_and_metadata() {
    const METADATA: &str = "https://api.example.com/.well-known/oauth-protected-resource";
    let optional = auth(|b| {
        b.realm("shop")
            .resource("https://api.example.com")
            .optional()
    });
    let app = Router::new()
        .route("/me", get(whoami))
        .route(
            "/billing",
            get(|r: WithRole<Billing>| async move { r.subject().to_owned() }),
        )
        .layer(optional.clone());
    let axum = serve_router(app).await;
    let actix_auth = optional.clone();
    let actix = actix_server!(move || {
        App::new()
            .wrap(JwtAuthMiddleware::new(actix_auth.clone()))
            .route("/me", web::get().to(whoami_actix))
            .route(
                "/billing",
                web::get().to(|r: WithRole<Billing>| async move {
                    HttpResponse::Ok().body(r.subject().to_owned())
                }),
            )
    });
    // Optional mode let a request without a token through to a handler
    // that needs claims: 401 with the realm and the metadata, as the layer
    // would answer.
    for server in [&axum, &actix] {
        let reply = server.anonymous("/me").await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(
            reply.www_authenticate.as_deref(),
            Some(format!(r#"Bearer realm="shop", resource_metadata="{METADATA}""#).as_str())
        );
    }
    let reply = same_answer(
        &axum,
        &actix,
        "/billing",
        &token(json!({ "roles": ["reader"] })),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(format!(r#"Bearer realm="shop", resource_metadata="{METADATA}", error="insufficient_scope", error_description="token lacks the role this request requires""#).as_str())
    );
    assert_eq!(reply.json()["role"], "billing");
    let granted = same_answer(
        &axum,
        &actix,
        "/billing",
        &token(json!({ "roles": ["billing"] })),
    )
    .await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "kim"));
}

/// The `server` example, running as a user runs it, on a port the OS
/// picks; stopped when dropped.
struct ServerExample {
    child: std::process::Child,
    server: TestServer,
}

impl ServerExample {
    /// Starts the example's binary (built with the tests) with `vars`.
    fn start(vars: &[(&str, &str)]) -> Self {
        use std::io::BufRead as _;
        let binary = common::example_binary("server");
        let mut child = std::process::Command::new(binary)
            .envs(vars.iter().copied())
            .env("AUTH_LISTEN", "127.0.0.1:0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim_end_matches("/protected").to_owned();
            }
        };
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            server: TestServer::new(base),
        }
    }
}

impl Drop for ServerExample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_server_example_guards_step_up_from_its_environment() {
    let example = ServerExample::start(&[
        ("AUTH_HMAC_SECRET", SECRET),
        ("AUTH_STEP_UP_ACR", "mfa,hwk"),
        ("AUTH_STEP_UP_MAX_AGE_SECS", "300"),
    ]);
    let server = &example.server;
    // Issued after the example started: its memory store refuses older
    // tokens (it cannot know what was revoked before it started).
    let token = |extra: Value| token(merge(json!({ "iat": now() }), extra));
    let both = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="mfa hwk", max_age="300""#;
    for (name, extra, status) in [
        ("weak", json!({ "acr": "pwd", "auth_time": now() - 5 }), 401),
        (
            "old",
            json!({ "acr": "mfa", "auth_time": now() - 3600 }),
            401,
        ),
        ("no auth_time", json!({ "acr": "mfa" }), 401),
        (
            "strong and recent",
            json!({ "acr": "mfa", "auth_time": now() - 5 }),
            200,
        ),
    ] {
        let reply = server.bearer_at("/step-up", &token(extra)).await;
        assert_eq!(reply.status, status, "{name}: {reply:?}");
        if status == 401 {
            assert_eq!(reply.www_authenticate.as_deref(), Some(both), "{name}");
            assert_eq!(
                reply.code().as_deref(),
                Some("insufficient_user_authentication")
            );
        }
    }
    // The other routes do not ask for it.
    let plain = server.bearer_at("/protected", &token(json!({}))).await;
    assert_eq!(plain.status, 200, "{plain:?}");
    // Without the variables there is no step-up route.
    let without = ServerExample::start(&[("AUTH_HMAC_SECRET", SECRET)]);
    let reply = without
        .server
        .bearer_at("/step-up", &token(json!({ "acr": "mfa" })))
        .await;
    assert_eq!(reply.status, 404, "{reply:?}");
}
