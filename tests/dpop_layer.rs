//! DPoP at the resource (RFC 9449 section 7): the layer checks a bound
//! token's proof on every request, refuses the Bearer downgrade, answers
//! with `DPoP` challenges and nonces; one table run against the tower layer
//! in axum and the actix-web middleware, over HTTP and in gRPC form.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;

use std::time::Duration;

use actix_web::{App, HttpResponse, web};
use auth_extract::Claims;
use auth_extract::actix::{JwtAuthMiddleware, RequireMiddleware};
use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use auth_layer::dpop::{DpopMode, DpopVerifier};
use auth_layer::require::Require;
use auth_layer::response::JsonResponder;
use auth_layer::revocation::{RevocationCache, RevocationStore};
use auth_tests::actix_server;
use auth_tests::fake_store::FakeStore;
use axum::Router;
use axum::routing::get;
use common::dpop_client::ClientKey;
use common::matrix::{AUDIENCE, ISSUER, ORDERS_SCOPE, good, good_with};
use common::{Reply, SECRET, TestServer, build, hs256, now, send, serve_router, whoami};
use serde_json::{Value, json};

/// The external URL the services are addressed by (behind a proxy).
const PUBLIC: &str = "https://api.example";
/// The `algs` of the default verifier.
const ALGS: &str = "ES256 ES384 EdDSA RS256 PS256";
/// A subject whose tokens are revoked.
const REVOKED: &str = "revoked-user";

async fn layer(mode: DpopMode, verifier: DpopVerifier) -> JwtAuth<DefaultClaims, JsonResponder> {
    let store = FakeStore::new();
    store
        .revoke_subject(ISSUER, REVOKED, now() + 3600)
        .await
        .unwrap();
    build(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .revocation(RevocationCache::builder(store).build().unwrap())
            .dpop(verifier)
            .dpop_mode(mode)
            .public_url(PUBLIC),
    )
    .json_errors()
}

fn verifier() -> DpopVerifier {
    DpopVerifier::builder().build().unwrap()
}

async fn whoami_actix(claims: Claims) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": claims.token().subject() }))
}

/// `/protected` and `/orders` (scope [`ORDERS_SCOPE`]) in axum and in actix-web.
fn servers(
    auth: &JwtAuth<DefaultClaims, JsonResponder>,
) -> (impl Future<Output = TestServer>, TestServer) {
    let router = Router::new()
        .route("/protected", get(whoami))
        .route(
            "/orders",
            get(whoami).route_layer(Require::scope(auth, ORDERS_SCOPE)),
        )
        .layer(auth.clone());
    let actix_auth = auth.clone();
    let actix = actix_server!(move || {
        App::new()
            .route("/protected", web::get().to(whoami_actix))
            .service(
                web::resource("/orders")
                    .wrap(RequireMiddleware::new(Require::scope(
                        &actix_auth,
                        ORDERS_SCOPE,
                    )))
                    .route(web::get().to(whoami_actix)),
            )
            .wrap(JwtAuthMiddleware::new(actix_auth.clone()))
    });
    (serve_router(router), actix)
}

/// A request: path and headers.
struct Call {
    path: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl Call {
    /// `Authorization: DPoP <token>` and one `DPoP` header per proof.
    fn dpop(path: &'static str, token: &str, proofs: &[String]) -> Self {
        let mut headers = vec![("authorization", format!("DPoP {token}"))];
        headers.extend(proofs.iter().map(|p| ("dpop", p.clone())));
        Self { path, headers }
    }

    fn bearer(path: &'static str, token: &str) -> Self {
        Self {
            path,
            headers: vec![("authorization", format!("Bearer {token}"))],
        }
    }

    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A token bound to `key`, for `sub`, with `extra` claims.
fn bound(sub: &str, key: &ClientKey, extra: Value) -> String {
    hs256(&good_with(
        sub,
        common::merge(json!({ "cnf": { "jkt": key.jkt() } }), extra),
    ))
}

/// A good proof by `key` for `GET PUBLIC+path` with `token`.
fn proof(key: &ClientKey, path: &str, token: &str) -> String {
    key.proof_for("GET", &format!("{PUBLIC}{path}"), Some(token), now())
}

/// A proof by `key` for `GET PUBLIC+path` with `token`, changed by `edit`.
fn proof_with(
    key: &ClientKey,
    path: &str,
    token: &str,
    edit: impl FnOnce(&mut Value, &mut Value),
) -> String {
    key.proof_with("GET", &format!("{PUBLIC}{path}"), Some(token), now(), edit)
}

/// `sub`'s token with `extra` claims, bound to `key`, with a good proof for
/// `GET PUBLIC+path`.
fn proven(sub: &str, key: &ClientKey, path: &'static str, extra: Value) -> Call {
    let token = bound(sub, key, extra);
    Call::dpop(path, &token, &[proof(key, path, &token)])
}

/// Eve's token bound to the ES256 key, with a proof for `/protected`
/// changed by `edit`.
fn edited(edit: impl FnOnce(&mut Value, &mut Value)) -> Call {
    let key = ClientKey::es256();
    let token = bound("eve", &key, json!({}));
    let p = proof_with(&key, "/protected", &token, edit);
    Call::dpop("/protected", &token, &[p])
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 200 from the handler, for this subject.
    Pass(&'static str),
    /// A rejection: status, code, OAuth error, and whether the error is on
    /// the `DPoP` challenge (else on the `Bearer` one).
    Reject(u16, &'static str, &'static str, bool),
}

struct Row {
    name: &'static str,
    call: fn() -> Call,
    expect: Expect,
}

/// The table for [`DpopMode::Allowed`].
fn allowed_rows() -> Vec<Row> {
    use Expect::{Pass, Reject};
    const P: &str = "/protected";
    vec![
        Row {
            name: "a bound token with its proof (ES256)",
            call: || proven("alice", &ClientKey::es256(), P, json!({})),
            expect: Pass("alice"),
        },
        Row {
            name: "a bound token with its proof (EdDSA)",
            call: || proven("alice", &ClientKey::eddsa(), P, json!({})),
            expect: Pass("alice"),
        },
        Row {
            name: "a bound token with its proof (RS256)",
            call: || proven("alice", &ClientKey::rs256(), P, json!({})),
            expect: Pass("alice"),
        },
        Row {
            name: "the DPoP scheme in any case",
            call: || {
                let key = ClientKey::es256();
                let token = bound("alice", &key, json!({}));
                let mut call = Call::dpop(P, &token, &[proof(&key, P, &token)]);
                call.headers[0].1 = format!("dpop {token}");
                call
            },
            expect: Pass("alice"),
        },
        Row {
            name: "a bound token as a bearer token, even with its proof",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                Call::bearer(P, &token).header("dpop", proof(&key, P, &token))
            },
            expect: Reject(401, "token_bound_to_key", "invalid_dpop_proof", true),
        },
        Row {
            name: "the DPoP scheme without a proof",
            call: || Call::dpop(P, &bound("eve", &ClientKey::es256(), json!({})), &[]),
            expect: Reject(401, "dpop_proof_missing", "invalid_dpop_proof", true),
        },
        Row {
            name: "two proofs",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                Call::dpop(P, &token, &[proof(&key, P, &token), proof(&key, P, &token)])
            },
            expect: Reject(401, "dpop_proof_multiple", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof by another key",
            call: || {
                let token = bound("eve", &ClientKey::es256(), json!({}));
                Call::dpop(P, &token, &[proof(&ClientKey::es384(), P, &token)])
            },
            expect: Reject(401, "dpop_key_mismatch", "invalid_token", true),
        },
        Row {
            name: "a proof for another method",
            call: || edited(|_, c| c["htm"] = json!("POST")),
            expect: Reject(401, "dpop_method_mismatch", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof for another path",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                Call::dpop(P, &token, &[proof(&key, "/orders", &token)])
            },
            expect: Reject(401, "dpop_uri_mismatch", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof for the internal address rather than the public URL",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                let p = key.proof_for("GET", "http://127.0.0.1/protected", Some(&token), now());
                Call::dpop(P, &token, &[p])
            },
            expect: Reject(401, "dpop_uri_mismatch", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof for another access token",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                Call::dpop(P, &token, &[proof(&key, P, "another-token")])
            },
            expect: Reject(401, "dpop_ath_mismatch", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof without ath",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                let p = key.proof_for("GET", &format!("{PUBLIC}{P}"), None, now());
                Call::dpop(P, &token, &[p])
            },
            expect: Reject(401, "dpop_ath_mismatch", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof ten minutes old",
            call: || edited(|_, c| c["iat"] = json!(now() - 600)),
            expect: Reject(401, "dpop_stale", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof from ten minutes ahead",
            call: || edited(|_, c| c["iat"] = json!(now() + 600)),
            expect: Reject(401, "dpop_stale", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof that is not a JWS",
            call: || {
                Call::dpop(
                    P,
                    &bound("eve", &ClientKey::es256(), json!({})),
                    &["not-a-jws".to_owned()],
                )
            },
            expect: Reject(401, "dpop_proof_malformed", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof typed JWT",
            call: || edited(|h, _| h["typ"] = json!("JWT")),
            expect: Reject(401, "dpop_wrong_type", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof with alg none",
            call: || edited(|h, _| h["alg"] = json!("none")),
            expect: Reject(
                401,
                "dpop_algorithm_not_allowed",
                "invalid_dpop_proof",
                true,
            ),
        },
        Row {
            name: "a proof whose jwk holds the private key",
            call: || edited(|h, _| h["jwk"]["d"] = json!("AAAA")),
            expect: Reject(401, "dpop_invalid_key", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof whose claims were changed after signing",
            call: || {
                let key = ClientKey::es256();
                let token = bound("eve", &key, json!({}));
                let good = proof(&key, P, &token);
                let other = proof(&key, P, &token);
                let mut parts: Vec<&str> = good.split('.').collect();
                parts[1] = other.split('.').nth(1).unwrap();
                Call::dpop(P, &token, &[parts.join(".")])
            },
            expect: Reject(401, "dpop_invalid_signature", "invalid_dpop_proof", true),
        },
        Row {
            name: "a proof without jti",
            call: || {
                edited(|_, c| {
                    c.as_object_mut().unwrap().remove("jti");
                })
            },
            expect: Reject(401, "dpop_missing_claim", "invalid_dpop_proof", true),
        },
        Row {
            name: "an unbound token with the DPoP scheme",
            call: || {
                let key = ClientKey::es256();
                let token = hs256(&good("eve"));
                Call::dpop(P, &token, &[proof(&key, P, &token)])
            },
            expect: Reject(401, "dpop_token_not_bound", "invalid_token", true),
        },
        Row {
            name: "an unbound bearer token",
            call: || Call::bearer(P, &hs256(&good("bob"))),
            expect: Pass("bob"),
        },
        Row {
            name: "an unbound bearer token with a stray proof",
            call: || {
                let token = hs256(&good("bob"));
                Call::bearer(P, &token).header("dpop", proof(&ClientKey::es256(), P, &token))
            },
            expect: Pass("bob"),
        },
        Row {
            name: "no token",
            call: || Call {
                path: P,
                headers: Vec::new(),
            },
            expect: Reject(401, "token_missing", "", false),
        },
        Row {
            name: "a bound token without the route's scope",
            call: || proven("alice", &ClientKey::es256(), "/orders", json!({})),
            expect: Reject(403, "insufficient_scope", "insufficient_scope", true),
        },
        Row {
            name: "a bound token with the route's scope",
            call: || {
                proven(
                    "alice",
                    &ClientKey::es256(),
                    "/orders",
                    json!({ "scope": ORDERS_SCOPE }),
                )
            },
            expect: Pass("alice"),
        },
        Row {
            name: "a revoked bound token with its proof",
            call: || proven(REVOKED, &ClientKey::es256(), P, json!({})),
            expect: Reject(401, "token_revoked", "invalid_token", true),
        },
        Row {
            name: "an expired bound token with its proof",
            call: || {
                let key = ClientKey::es256();
                let token = bound(
                    "eve",
                    &key,
                    json!({ "exp": now() - 3600, "iat": now() - 7200 }),
                );
                Call::dpop(P, &token, &[proof(&key, P, &token)])
            },
            expect: Reject(401, "token_expired", "invalid_token", true),
        },
        Row {
            name: "an expired unbound bearer token",
            call: || {
                Call::bearer(
                    P,
                    &hs256(&good_with(
                        "eve",
                        json!({ "exp": now() - 3600, "iat": now() - 7200 }),
                    )),
                )
            },
            expect: Reject(401, "token_expired", "invalid_token", false),
        },
    ]
}

/// The table for [`DpopMode::Required`]: no `Bearer` challenge at all.
fn required_rows() -> Vec<Row> {
    use Expect::{Pass, Reject};
    const P: &str = "/protected";
    vec![
        Row {
            name: "required: a bound token with its proof",
            call: || proven("alice", &ClientKey::es256(), P, json!({})),
            expect: Pass("alice"),
        },
        Row {
            name: "required: an unbound bearer token",
            call: || Call::bearer(P, &hs256(&good("bob"))),
            expect: Reject(401, "dpop_required", "invalid_token", true),
        },
        Row {
            name: "required: no token",
            call: || Call {
                path: P,
                headers: Vec::new(),
            },
            expect: Reject(401, "token_missing", "", true),
        },
        Row {
            name: "required: a bound token as a bearer token",
            call: || Call::bearer(P, &bound("eve", &ClientKey::es256(), json!({}))),
            expect: Reject(401, "token_bound_to_key", "invalid_dpop_proof", true),
        },
    ]
}

/// Asserts a rejection's status and code (body) and that the handler was
/// not reached.
#[track_caller]
fn refused(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.json()["code"], code, "{reply:?}");
}

async fn run(server: &TestServer, call: &Call, grpc: bool) -> Reply {
    let mut request = server.get(call.path);
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    if grpc {
        request = request.header("content-type", "application/grpc");
    }
    send(request).await
}

/// The challenges expected for `expect` in `mode`, given the description.
fn challenge(mode: DpopMode, expect: Expect, description: &str) -> Option<String> {
    let Expect::Reject(status, code, error, on_dpop) = expect else {
        return None;
    };
    if status == 503 {
        return None;
    }
    let mut err = String::new();
    if code != "token_missing" {
        err = format!(r#", error="{error}", error_description="{description}""#);
        if code == "insufficient_scope" {
            err.push_str(&format!(r#", scope="{ORDERS_SCOPE}""#));
        }
    }
    let (bearer_err, dpop_err) = if on_dpop {
        ("", err.as_str())
    } else {
        (err.as_str(), "")
    };
    let dpop = format!(r#"DPoP realm="api", algs="{ALGS}"{dpop_err}"#);
    Some(match mode {
        DpopMode::Required => dpop,
        _ => format!(r#"Bearer realm="api"{bearer_err}, {dpop}"#),
    })
}

/// Asserts the HTTP answer; returns the description of a rejection.
fn assert_http(row: &Row, adapter: &str, mode: DpopMode, reply: &Reply) -> String {
    let what = format!("{} ({adapter}): {reply:?}", row.name);
    match row.expect {
        Expect::Pass(sub) => {
            assert_eq!(reply.status, 200, "{what}");
            assert_eq!(reply.json()["sub"], sub, "{what}");
            String::new()
        }
        Expect::Reject(status, code, error, _) => {
            assert_eq!(reply.status, status, "{what}");
            let body = reply.json();
            assert_eq!(body["code"], code, "{what}");
            let error = if code == "token_missing" {
                "unauthorized"
            } else {
                error
            };
            assert_eq!(body["error"], error, "{what}");
            let description = body["error_description"].as_str().unwrap().to_owned();
            assert_eq!(
                reply.www_authenticate,
                challenge(mode, row.expect, &description),
                "{what}"
            );
            description
        }
    }
}

async fn run_table(mode: DpopMode, rows: Vec<Row>) {
    let auth = layer(mode, verifier()).await;
    let (axum, actix) = servers(&auth);
    let axum = axum.await;
    for row in &rows {
        // A fresh call each time: a proof passes once.
        let from_axum = run(&axum, &(row.call)(), false).await;
        let from_actix = run(&actix, &(row.call)(), false).await;
        let description = assert_http(row, "axum", mode, &from_axum);
        assert_http(row, "actix", mode, &from_actix);
        for (adapter, server) in [("axum", &axum), ("actix", &actix)] {
            let reply = run(server, &(row.call)(), true).await;
            let what = format!("{} ({adapter}, gRPC): {reply:?}", row.name);
            assert_eq!(reply.status, 200, "{what}");
            match row.expect {
                Expect::Pass(_) => assert_eq!(reply.header("grpc-status"), None, "{what}"),
                Expect::Reject(status, ..) => {
                    let code = if status == 403 { "7" } else { "16" };
                    assert_eq!(reply.header("grpc-status"), Some(code), "{what}");
                    assert_eq!(
                        reply.header("grpc-message"),
                        Some(description.as_str()),
                        "{what}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_dpop_table_gets_the_same_answers_from_axum_and_actix() {
    run_table(DpopMode::Allowed, allowed_rows()).await;
}

#[tokio::test]
async fn in_required_mode_only_bound_tokens_pass_and_only_dpop_is_offered() {
    run_table(DpopMode::Required, required_rows()).await;
}

/// A proof passes once: the same request again is a replay, at the same
/// instance, and through a shared store at another.
async fn replays_through_the_layer(store: impl RevocationStore + Clone) {
    let instance = |store| {
        DpopVerifier::builder()
            .shared_replay(store, Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let a = layer(DpopMode::Allowed, instance(store.clone())).await;
    let b = layer(DpopMode::Allowed, instance(store)).await;
    let (a_axum, a_actix) = servers(&a);
    let (b_axum, _) = servers(&b);
    let (a_axum, b_axum) = (a_axum.await, b_axum.await);
    let key = ClientKey::es256();
    let token = bound("alice", &key, json!({}));
    let call = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
    run(&a_axum, &call, false).await.assert_ok("alice");
    refused(&run(&a_axum, &call, false).await, 401, "dpop_replayed");
    refused(&run(&b_axum, &call, false).await, 401, "dpop_replayed");
    refused(&run(&a_actix, &call, false).await, 401, "dpop_replayed");
    let next = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
    run(&b_axum, &next, false).await.assert_ok("alice");
}

#[tokio::test]
async fn a_proof_replayed_at_the_same_or_another_instance_is_refused() {
    replays_through_the_layer(auth_layer::store::MemoryStore::new()).await;
    // Without a shared store, each instance remembers its own proofs.
    let auth = layer(DpopMode::Allowed, verifier()).await;
    let server = serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let key = ClientKey::eddsa();
    let token = bound("alice", &key, json!({}));
    let call = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
    run(&server, &call, false).await.assert_ok("alice");
    let replay = run(&server, &call, false).await;
    refused(&replay, 401, "dpop_replayed");
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn a_proof_replayed_at_another_instance_is_refused_through_redis() {
    let store = auth_layer::store::RedisStore::connect(&common::services::redis_url())
        .await
        .expect("connect to the test Redis")
        .with_prefix(format!("{}:", common::services::unique("dpop-layer")))
        .unwrap();
    replays_through_the_layer(store).await;
}

#[tokio::test]
async fn a_store_that_is_down_answers_503_not_401() {
    let store = FakeStore::new();
    store.set_down(true);
    let verifier = DpopVerifier::builder()
        .shared_replay(store.clone(), Duration::from_millis(200))
        .build()
        .unwrap();
    let auth = layer(DpopMode::Allowed, verifier).await;
    let server = serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let key = ClientKey::es256();
    let token = bound("alice", &key, json!({}));
    let call = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
    let reply = run(&server, &call, false).await;
    refused(&reply, 503, "store_unavailable");
    assert!(reply.header("retry-after").is_some(), "{reply:?}");
    store.set_down(false);
    // Once the store is back, the client's next proof passes.
    let next = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
    run(&server, &next, false).await.assert_ok("alice");
}

#[tokio::test]
async fn the_nonce_flow_in_both_frameworks() {
    let verifier = DpopVerifier::builder()
        .nonces([9; 32], Duration::from_secs(300))
        .build()
        .unwrap();
    let auth = layer(DpopMode::Allowed, verifier).await;
    let (axum, actix) = servers(&auth);
    let axum = axum.await;
    let key = ClientKey::es256();
    let token = bound("alice", &key, json!({}));
    for (adapter, server) in [("axum", &axum), ("actix", &actix)] {
        let first = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
        let reply = run(server, &first, false).await;
        refused(&reply, 401, "use_dpop_nonce");
        let challenge = reply.www_authenticate.clone().unwrap();
        assert!(
            challenge.starts_with(&format!(
                r#"Bearer realm="api", DPoP realm="api", algs="{ALGS}", error="use_dpop_nonce""#
            )),
            "{adapter}: {challenge}"
        );
        let nonce = reply
            .header("dpop-nonce")
            .expect("a nonce to use")
            .to_owned();
        let made_up = proof_with(&key, "/protected", &token, |_, c| {
            c["nonce"] = json!("made-up")
        });
        let reply = run(server, &Call::dpop("/protected", &token, &[made_up]), false).await;
        refused(&reply, 401, "use_dpop_nonce");
        let with_nonce = proof_with(&key, "/protected", &token, |_, c| c["nonce"] = json!(nonce));
        run(
            server,
            &Call::dpop("/protected", &token, &[with_nonce]),
            false,
        )
        .await
        .assert_ok("alice");
    }
}

#[tokio::test]
async fn without_a_public_url_htu_is_the_request_s_host_and_path() {
    let auth = build(JwtAuth::builder().hmac_secret(SECRET).dpop(verifier())).json_errors();
    let server = serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let key = ClientKey::es256();
    let token = hs256(&common::claims_with(
        "alice",
        json!({ "cnf": { "jkt": key.jkt() } }),
    ));
    let at = |htu: String| {
        let p = key.proof_for("GET", &htu, Some(&token), now());
        Call::dpop("/protected", &token, &[p])
    };
    run(&server, &at(format!("{}/protected", server.base())), false)
        .await
        .assert_ok("alice");
    // Spelled otherwise, the same URI (RFC 9449 section 4.3 point 9).
    let upper = format!("{}/protected", server.base()).replace("http://", "HTTP://");
    run(&server, &at(upper), false).await.assert_ok("alice");
    refused(
        &run(&server, &at(format!("{PUBLIC}/protected")), false).await,
        401,
        "dpop_uri_mismatch",
    );
}

#[tokio::test]
async fn a_path_with_dot_segments_is_refused_before_htu_is_compared() {
    let auth = layer(DpopMode::Allowed, verifier()).await;
    let key = ClientKey::es256();
    let token = bound("alice", &key, json!({}));
    // Each request with a fresh proof naming the normalised URI, which
    // would match.
    let at = |path: &str| {
        let headers = http::HeaderMap::from_iter([
            (
                http::header::AUTHORIZATION,
                format!("DPoP {token}").parse().unwrap(),
            ),
            (
                http::HeaderName::from_static("dpop"),
                proof(&key, "/protected", &token).parse().unwrap(),
            ),
        ]);
        let uri: http::Uri = path.parse().unwrap();
        let auth = auth.clone();
        async move {
            auth.authenticate(&http::Method::GET, &headers, &uri)
                .await
                .map(drop)
                .map_err(|e| e.kind())
        }
    };
    for path in ["/x/../protected", "/x/%2e%2e/protected", "/./protected"] {
        assert_eq!(
            at(path).await,
            Err(auth_layer::ErrorKind::DpopUriMismatch),
            "{path}"
        );
    }
    assert_eq!(at("/protected").await, Ok(()));
}

#[test]
fn the_configuration_is_checked() {
    let err = JwtAuth::builder()
        .hmac_secret(SECRET)
        .dpop_mode(DpopMode::Required)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("DpopVerifier"), "{err}");
    for bad in [
        "api.example",
        "https://api.example/?x=1",
        "ftp://api.example",
    ] {
        let err = JwtAuth::builder()
            .hmac_secret(SECRET)
            .dpop(verifier())
            .public_url(bad)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("public_url"), "{bad}: {err}");
    }
}

/// A reverse proxy on loopback that serves `upstream` under `/api` (the
/// prefix stripped, `Host` set to the upstream's, as proxies do by
/// default); its base URL, `http://127.0.0.1:PORT/api`.
async fn prefix_proxy(upstream: String) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let forward = move |request: Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let path = request.uri().path().strip_prefix("/api").unwrap_or("/");
            let mut out = client.request(request.method().clone(), format!("{upstream}{path}"));
            for (name, value) in request.headers() {
                if name != http::header::HOST {
                    out = out.header(name, value);
                }
            }
            let answer = out.send().await.unwrap();
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            response
                .body(Body::from(answer.bytes().await.unwrap()))
                .unwrap()
        }
    };
    let server = serve_router(Router::new().fallback(forward)).await;
    format!("{}/api", server.base())
}

/// The `server` example's configuration (`AUTH_DPOP`, `AUTH_PUBLIC_URL`,
/// `AUTH_REVOCATION_URL`) applied as the example applies it, serving its
/// `GET /protected`.
async fn configured(vars: &[(&str, String)]) -> TestServer {
    let config = auth_layer::config::AuthConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let auth = config
        .connect()
        .await
        .unwrap()
        .build()
        .unwrap()
        .json_errors();
    serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await
}

#[tokio::test]
async fn behind_a_proxy_htu_is_the_public_url_from_auth_public_url() {
    // Bind the proxy's address first: it is the public URL.
    let upstream_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream_listener.local_addr().unwrap();
    drop(upstream_listener);
    let public = prefix_proxy(format!("http://{upstream_addr}")).await;
    let vars = |public_url: Option<&str>| {
        let mut vars = vec![
            ("AUTH_HMAC_SECRET", SECRET.to_owned()),
            ("AUTH_DPOP", "required".to_owned()),
        ];
        if let Some(url) = public_url {
            vars.push(("AUTH_PUBLIC_URL", url.to_owned()));
        }
        vars
    };
    let config = auth_layer::config::AuthConfig::from_lookup(|name| {
        vars(Some(&public))
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
    .unwrap();
    let auth = config
        .connect()
        .await
        .unwrap()
        .build()
        .unwrap()
        .json_errors();
    let listener = tokio::net::TcpListener::bind(upstream_addr).await.unwrap();
    let app = Router::new().route("/protected", get(whoami)).layer(auth);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let through_proxy = TestServer::new(public.clone());
    let key = ClientKey::es256();
    let token = hs256(&common::claims_with(
        "alice",
        json!({ "cnf": { "jkt": key.jkt() } }),
    ));
    // The client addresses the public URL, and signs it.
    let signed = |htu: &str| {
        let p = key.proof_for("GET", htu, Some(&token), now());
        Call::dpop("/protected", &token, &[p])
    };
    run(
        &through_proxy,
        &signed(&format!("{public}/protected")),
        false,
    )
    .await
    .assert_ok("alice");
    // A proof for the address the service itself sees is refused.
    let internal = format!("http://{upstream_addr}/protected");
    refused(
        &run(&through_proxy, &signed(&internal), false).await,
        401,
        "dpop_uri_mismatch",
    );
    // Without AUTH_PUBLIC_URL the service compares with its own `Host`,
    // and the client's proof for the public URL fails.
    let unset = configured(&vars(None)).await;
    let reply = run(&unset, &signed(&format!("{public}/protected")), false).await;
    refused(&reply, 401, "dpop_uri_mismatch");
    let bad = auth_layer::config::AuthConfig::from_lookup(|name| {
        (name == "AUTH_DPOP").then(|| "sometimes".to_owned())
    })
    .unwrap();
    let err = JwtAuth::builder()
        .hmac_secret(SECRET)
        .config(&bad)
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("AUTH_DPOP:"), "{err}");
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn instances_configured_with_auth_dpop_share_their_proofs_through_redis() {
    let vars = vec![
        ("AUTH_HMAC_SECRET", SECRET.to_owned()),
        ("AUTH_DPOP", "allowed".to_owned()),
        ("AUTH_PUBLIC_URL", PUBLIC.to_owned()),
        ("AUTH_REVOCATION_URL", common::services::redis_url()),
    ];
    let (a, b) = (configured(&vars).await, configured(&vars).await);
    let key = ClientKey::es256();
    let token = hs256(&common::claims_with(
        "alice",
        json!({ "cnf": { "jkt": key.jkt() } }),
    ));
    let call = Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);
    run(&a, &call, false).await.assert_ok("alice");
    refused(&run(&b, &call, false).await, 401, "dpop_replayed");
    // Unbound tokens still pass as bearer tokens (allowed mode).
    run(
        &b,
        &Call::bearer("/protected", &hs256(&common::claims("bob"))),
        false,
    )
    .await
    .assert_ok("bob");
}

/// While the memory of seen proofs is full, a proof is refused with 503
/// rather than an id forgotten; with a shared store, the store alone then
/// refuses replays and fresh proofs pass.
#[tokio::test]
async fn a_full_replay_memory_is_a_503_unless_a_shared_store_remembers() {
    // Both servers start before the token is issued: a revocation store
    // refuses tokens issued before it was created.
    let one = DpopVerifier::builder().replay_capacity(1).build().unwrap();
    let auth = layer(DpopMode::Allowed, one).await;
    let server = serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let shared = DpopVerifier::builder()
        .replay_capacity(1)
        .shared_replay(
            auth_layer::store::MemoryStore::new(),
            Duration::from_secs(2),
        )
        .build()
        .unwrap();
    let auth = layer(DpopMode::Allowed, shared).await;
    let shared_server =
        serve_router(Router::new().route("/protected", get(whoami)).layer(auth)).await;
    let key = ClientKey::es256();
    let token = bound("alice", &key, json!({}));
    let fresh = || Call::dpop("/protected", &token, &[proof(&key, "/protected", &token)]);

    run(&server, &fresh(), false).await.assert_ok("alice");
    let full = run(&server, &fresh(), false).await;
    refused(&full, 503, "store_unavailable");
    assert!(full.header("retry-after").is_some(), "{full:?}");

    let server = shared_server;
    run(&server, &fresh(), false).await.assert_ok("alice");
    let second = fresh();
    run(&server, &second, false).await.assert_ok("alice");
    refused(&run(&server, &second, false).await, 401, "dpop_replayed");
}
