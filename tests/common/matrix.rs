//! The rejection matrix: one table of requests and the answer each must get,
//! run against every adapter (the tower layer in axum, the actix-web
//! middleware), so both are held to the same statuses, challenges and
//! bodies, in HTTP and in gRPC form.

use auth_layer::revocation::{RevocationCache, RevocationStore};

use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use auth_layer::keys::Algorithm;
use auth_layer::response::JsonResponder;
use auth_layer::source::TokenSource;

use crate::fake_store::FakeStore;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::{
    Reply, SECRET, TestServer, b64, build, claims_with, hs256, merge, mint_with, now, raw_token,
    send, signed_json, signed_payload,
};

/// The accepted issuer.
pub const ISSUER: &str = "https://issuer.example";
/// The accepted audience.
pub const AUDIENCE: &str = "orders-api";
/// The scope `/orders` requires.
pub const ORDERS_SCOPE: &str = "orders:write";
/// The role `/admin` requires.
pub const ADMIN_ROLE: &str = "admin";
/// A subject whose tokens the store has revoked (not-before an hour ahead).
pub const REVOKED: &str = "revoked-user";
/// A subject for which the store is down.
pub const STORE_DOWN: &str = "store-down";

/// The layer every adapter is built with: HS256 with [`SECRET`], issuer and
/// audience checked, the bearer header and an `access_token` cookie as
/// sources, a revocation store where [`REVOKED`] is revoked and
/// [`STORE_DOWN`] cannot be looked up, JSON error bodies.
pub async fn matrix_auth() -> JwtAuth<DefaultClaims, JsonResponder> {
    let store = FakeStore::new();
    store.fail_for(STORE_DOWN);
    // Every token of it issued within the next hour is refused.
    store
        .revoke_subject(ISSUER, REVOKED, crate::now() + 3600)
        .await
        .unwrap();
    let revocation = RevocationCache::builder(store).build().unwrap();
    build(
        JwtAuth::builder()
            .hmac_secret(SECRET)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .token_sources([TokenSource::Bearer, TokenSource::cookie("access_token")])
            .revocation(revocation),
    )
    .json_errors()
}

/// Claims the matrix servers accept for `sub`.
pub fn good(sub: &str) -> Value {
    claims_with(sub, json!({ "iss": ISSUER, "aud": AUDIENCE }))
}

/// `good(sub)` with `extra` merged in.
pub fn good_with(sub: &str, extra: Value) -> Value {
    merge(good(sub), extra)
}

/// What a row expects.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// 200 from the handler, for this subject.
    Pass(&'static str),
    /// A rejection with this status and code.
    Reject(u16, &'static str),
}

/// A request: path (with query) and headers.
pub struct Call {
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Call {
    fn bearer(path: &str, token: &str) -> Self {
        Self {
            path: path.to_owned(),
            headers: vec![("authorization", format!("Bearer {token}"))],
        }
    }

    fn to(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// One row: a name, the request, the answer.
pub struct Row {
    pub name: &'static str,
    pub call: fn() -> Call,
    pub expect: Expect,
}

/// The table. Routes: `/protected` (authentication only), `/orders`
/// (requires scope [`ORDERS_SCOPE`]), `/admin` (requires role [`ADMIN_ROLE`]).
pub fn rows() -> Vec<Row> {
    use Expect::{Pass, Reject};
    vec![
        Row {
            name: "valid token",
            call: || Call::bearer("/protected", &hs256(&good("alice"))),
            expect: Pass("alice"),
        },
        Row {
            name: "no token",
            call: || Call::to("/protected"),
            expect: Reject(401, "token_missing"),
        },
        Row {
            name: "another scheme",
            call: || Call::to("/protected").header("authorization", "Basic YWxpY2U6c2VjcmV0"),
            expect: Reject(401, "token_missing"),
        },
        Row {
            name: "not a JWT",
            call: || Call::bearer("/protected", "not-a-jwt"),
            expect: Reject(401, "token_malformed"),
        },
        Row {
            name: "larger than the cap",
            call: || Call::bearer("/protected", &"A".repeat(16 * 1024 + 1)),
            expect: Reject(401, "token_too_large"),
        },
        Row {
            name: "alg none",
            call: || {
                let header = b64(r#"{"alg":"none","typ":"JWT"}"#);
                Call::bearer(
                    "/protected",
                    &raw_token(&header, &b64(good("eve").to_string()), ""),
                )
            },
            expect: Reject(401, "algorithm_not_allowed"),
        },
        Row {
            name: "signed with another secret",
            call: || {
                let key = EncodingKey::from_secret(b"another-secret-that-is-also-32-bytes-long");
                Call::bearer(
                    "/protected",
                    &mint_with(&Header::new(Algorithm::HS256), &good("eve"), &key),
                )
            },
            expect: Reject(401, "invalid_signature"),
        },
        Row {
            name: "crit header",
            call: || {
                let token = signed_json(
                    r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
                    &good("alice").to_string(),
                );
                Call::bearer("/protected", &token)
            },
            expect: Reject(401, "unsupported_crit"),
        },
        Row {
            name: "crit null",
            call: || {
                let token =
                    signed_json(r#"{"alg":"HS256","crit":null}"#, &good("alice").to_string());
                Call::bearer("/protected", &token)
            },
            expect: Reject(401, "unsupported_crit"),
        },
        Row {
            name: "crit empty",
            call: || {
                let token = signed_json(r#"{"alg":"HS256","crit":[]}"#, &good("alice").to_string());
                Call::bearer("/protected", &token)
            },
            expect: Reject(401, "unsupported_crit"),
        },
        Row {
            name: "typ at+jwt",
            call: || {
                let token = signed_json(
                    r#"{"alg":"HS256","typ":"application/AT+JWT"}"#,
                    &good("alice").to_string(),
                );
                Call::bearer("/protected", &token)
            },
            expect: Pass("alice"),
        },
        Row {
            name: "typ of another kind of token",
            call: || {
                let token = signed_json(
                    r#"{"alg":"HS256","typ":"logout+jwt"}"#,
                    &good("eve").to_string(),
                );
                Call::bearer("/protected", &token)
            },
            expect: Reject(401, "invalid_token_type"),
        },
        Row {
            name: "repeated header member",
            call: || {
                let token = signed_json(
                    r#"{"alg":"HS256","typ":"JWT","typ":"logout+jwt"}"#,
                    &good("eve").to_string(),
                );
                Call::bearer("/protected", &token)
            },
            expect: Reject(401, "token_malformed"),
        },
        Row {
            name: "repeated claim",
            call: || {
                let claims = good("eve").to_string();
                let claims = format!(
                    r#"{{"roles":["user"],"roles":["admin"],{}"#,
                    claims.strip_prefix('{').unwrap_or_default()
                );
                Call::bearer("/protected", &signed_json(r#"{"alg":"HS256"}"#, &claims))
            },
            expect: Reject(401, "invalid_claims"),
        },
        Row {
            name: "a 14 KB group-heavy token",
            call: || {
                let groups: Vec<String> = (0..300)
                    .map(|i| format!("group-{i:04}-of-a-large-directory"))
                    .collect();
                Call::bearer(
                    "/protected",
                    &hs256(&good_with("alice", json!({ "groups": groups }))),
                )
            },
            expect: Pass("alice"),
        },
        Row {
            name: "a DPoP-bound token as a bearer token",
            call: || {
                Call::bearer(
                    "/protected",
                    &hs256(&good_with(
                        "eve",
                        json!({ "cnf": { "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } }),
                    )),
                )
            },
            expect: Reject(401, "token_bound_to_key"),
        },
        Row {
            name: "claims are a JSON array",
            call: || Call::bearer("/protected", &signed_payload(r#"["alice"]"#)),
            expect: Reject(401, "invalid_claims"),
        },
        Row {
            name: "no exp",
            call: || {
                Call::bearer(
                    "/protected",
                    &hs256(&good_with("alice", json!({ "exp": null }))),
                )
            },
            expect: Reject(401, "missing_claim"),
        },
        Row {
            name: "expired",
            call: || {
                let t = now() - 3600;
                Call::bearer(
                    "/protected",
                    &hs256(&good_with("alice", json!({ "iat": t - 600, "exp": t }))),
                )
            },
            expect: Reject(401, "token_expired"),
        },
        Row {
            name: "nbf in the future",
            call: || {
                Call::bearer(
                    "/protected",
                    &hs256(&good_with("alice", json!({ "nbf": now() + 3600 }))),
                )
            },
            expect: Reject(401, "token_not_yet_valid"),
        },
        Row {
            name: "iat in the future",
            call: || {
                let t = now() + 3600;
                Call::bearer(
                    "/protected",
                    &hs256(&good_with("alice", json!({ "iat": t, "exp": t + 600 }))),
                )
            },
            expect: Reject(401, "token_issued_in_future"),
        },
        Row {
            name: "wrong issuer",
            call: || {
                Call::bearer(
                    "/protected",
                    &hs256(&good_with(
                        "alice",
                        json!({ "iss": "https://evil.example" }),
                    )),
                )
            },
            expect: Reject(401, "invalid_issuer"),
        },
        Row {
            name: "wrong audience",
            call: || {
                Call::bearer(
                    "/protected",
                    &hs256(&good_with("alice", json!({ "aud": "billing-api" }))),
                )
            },
            expect: Reject(401, "invalid_audience"),
        },
        Row {
            name: "two different tokens",
            call: || {
                Call::bearer("/protected", &hs256(&good("alice")))
                    .header("cookie", format!("access_token={}", hs256(&good("bob"))))
            },
            expect: Reject(400, "multiple_tokens"),
        },
        Row {
            name: "token in the query string",
            call: || {
                Call::to(&format!(
                    "/protected?access_token={}",
                    hs256(&good("alice"))
                ))
            },
            expect: Reject(400, "token_in_query"),
        },
        Row {
            name: "revoked",
            call: || Call::bearer("/protected", &hs256(&good(REVOKED))),
            expect: Reject(401, "token_revoked"),
        },
        Row {
            name: "revocation store down",
            call: || Call::bearer("/protected", &hs256(&good(STORE_DOWN))),
            expect: Reject(503, "store_unavailable"),
        },
        Row {
            name: "scope granted by scope",
            call: || {
                Call::bearer(
                    "/orders",
                    &hs256(&good_with(
                        "alice",
                        json!({ "scope": "orders:read orders:write" }),
                    )),
                )
            },
            expect: Pass("alice"),
        },
        Row {
            name: "scope granted by scp",
            call: || {
                Call::bearer(
                    "/orders",
                    &hs256(&good_with("alice", json!({ "scp": ["orders:write"] }))),
                )
            },
            expect: Pass("alice"),
        },
        Row {
            name: "scope missing",
            call: || {
                Call::bearer(
                    "/orders",
                    &hs256(&good_with("alice", json!({ "scope": "orders:read" }))),
                )
            },
            expect: Reject(403, "insufficient_scope"),
        },
        Row {
            name: "no scope at all",
            call: || Call::bearer("/orders", &hs256(&good("alice"))),
            expect: Reject(403, "insufficient_scope"),
        },
        Row {
            name: "guarded route, no token",
            call: || Call::to("/orders"),
            expect: Reject(401, "token_missing"),
        },
        Row {
            name: "guarded route, expired token",
            call: || {
                let t = now() - 3600;
                Call::bearer(
                    "/orders",
                    &hs256(&good_with(
                        "alice",
                        json!({ "exp": t, "iat": t - 60, "scope": ORDERS_SCOPE }),
                    )),
                )
            },
            expect: Reject(401, "token_expired"),
        },
        Row {
            name: "role granted",
            call: || {
                Call::bearer(
                    "/admin",
                    &hs256(&good_with("root", json!({ "roles": ["reader", "admin"] }))),
                )
            },
            expect: Pass("root"),
        },
        Row {
            name: "role missing",
            call: || {
                Call::bearer(
                    "/admin",
                    &hs256(&good_with(
                        "alice",
                        json!({ "roles": ["reader"], "scope": "admin" }),
                    )),
                )
            },
            expect: Reject(403, "insufficient_role"),
        },
    ]
}

/// Sends `call` to `server`, as gRPC (`content-type: application/grpc`) if `grpc`.
pub async fn run(server: &TestServer, call: &Call, grpc: bool) -> Reply {
    let mut request = server.get(&call.path);
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    if grpc {
        request = request.header("content-type", "application/grpc");
    }
    send(request).await
}

/// Asserts that `reply` is the HTTP answer `expect` describes; returns the
/// `error_description` of a rejection.
#[track_caller]
pub fn assert_http(name: &str, adapter: &str, reply: &Reply, expect: Expect) -> String {
    let what = format!("{name} ({adapter}): {reply:?}");
    match expect {
        Expect::Pass(sub) => {
            assert_eq!(reply.status, 200, "{what}");
            assert_eq!(reply.json()["sub"], sub, "{what}");
            String::new()
        }
        Expect::Reject(status, code) => {
            assert_eq!(reply.status, status, "{what}");
            let body = reply.json();
            assert_eq!(body["code"], code, "{what}");
            assert_eq!(
                reply.content_type.as_deref(),
                Some("application/json"),
                "{what}"
            );
            let description = body["error_description"]
                .as_str()
                .expect("a description")
                .to_owned();
            let error = match (status, code) {
                (401, "token_missing") => "unauthorized",
                (400, _) => "invalid_request",
                (401, _) => "invalid_token",
                (403, _) => "insufficient_scope",
                (503, _) => "temporarily_unavailable",
                other => panic!("no such rejection: {other:?}"),
            };
            assert_eq!(body["error"], error, "{what}");
            let challenge = match (status, code) {
                (503, _) => None,
                (401, "token_missing") => Some(r#"Bearer realm="api""#.to_owned()),
                (403, "insufficient_scope") => Some(format!(
                    r#"Bearer realm="api", error="{error}", error_description="{description}", scope="{ORDERS_SCOPE}""#
                )),
                _ => Some(format!(
                    r#"Bearer realm="api", error="{error}", error_description="{description}""#
                )),
            };
            assert_eq!(reply.www_authenticate, challenge, "{what}");
            match code {
                "insufficient_scope" => assert_eq!(body["scope"], ORDERS_SCOPE, "{what}"),
                "insufficient_role" => assert_eq!(body["role"], ADMIN_ROLE, "{what}"),
                _ => {}
            }
            let retry_after = reply.header("retry-after");
            assert_eq!(retry_after.is_some(), status == 503, "{what}");
            description
        }
    }
}

/// Asserts that `reply` is the gRPC answer to a request `expect` describes:
/// a trailers-only 200 with `grpc-status` and the same description.
#[track_caller]
pub fn assert_grpc(name: &str, adapter: &str, reply: &Reply, expect: Expect, description: &str) {
    let what = format!("{name} ({adapter}, gRPC): {reply:?} {:?}", reply.headers);
    assert_eq!(reply.status, 200, "{what}");
    let Expect::Reject(status, _) = expect else {
        assert_eq!(reply.header("grpc-status"), None, "{what}");
        return;
    };
    let code = match status {
        403 => "7",
        503 => "14",
        _ => "16",
    };
    assert_eq!(reply.header("grpc-status"), Some(code), "{what}");
    assert_eq!(reply.header("grpc-message"), Some(description), "{what}");
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/grpc"),
        "{what}"
    );
    assert_eq!(reply.body, "", "{what}");
    assert_eq!(reply.www_authenticate, None, "{what}");
}

/// What two adapters must agree on: everything but the handlers' own 200 bodies.
pub fn comparable(reply: &Reply) -> Vec<Option<String>> {
    let mut seen = vec![
        Some(reply.status.to_string()),
        reply.content_type.clone(),
        reply.www_authenticate.clone(),
    ];
    for name in ["retry-after", "grpc-status", "grpc-message"] {
        seen.push(reply.header(name).map(str::to_owned));
    }
    if reply.status == 200 && reply.header("grpc-status").is_none() {
        seen.push(Some(reply.json()["sub"].to_string()));
    } else {
        seen.push(Some(reply.body.clone()));
    }
    seen
}
