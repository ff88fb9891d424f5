//! gRPC through a real tonic client and server: the layer (and a scope
//! guard) in `tonic::transport::Server::layer`, in front of the standard
//! health service, answers with the gRPC status codes a tonic client reads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;
use auth_tests::matrix;

use auth_layer::JwtAuth;
use auth_layer::require::Require;
use auth_layer::response::EmptyResponder;
use common::grpc::{assert_status, check, serve};
use common::{SECRET, claims, claims_with, hs256, now};
use matrix::{ORDERS_SCOPE, REVOKED, STORE_DOWN, good, good_with, matrix_auth};
use serde_json::json;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn tonic_clients_get_unauthenticated_permission_denied_and_unavailable() {
    // tonic's body is not built from a String: the default responder, whose
    // empty body is what a gRPC answer has anyway.
    let auth = matrix_auth().await.with_responder(EmptyResponder);
    let guard = Require::scope(&auth, ORDERS_SCOPE);
    let mut client = serve(tower::ServiceBuilder::new().layer(auth).layer(guard)).await;

    let granted = hs256(&good_with("alice", json!({ "scope": ORDERS_SCOPE })));
    assert_eq!(
        check(&mut client, Some(&granted)).await.unwrap(),
        ServingStatus::Serving
    );
    assert_status(
        check(&mut client, None).await,
        Code::Unauthenticated,
        "no bearer token in the request",
    );
    assert_status(
        check(&mut client, Some("not-a-jwt")).await,
        Code::Unauthenticated,
        "token is not a compact JWS (three base64url segments)",
    );
    let t = now() - 3600;
    let expired = hs256(&good_with(
        "alice",
        json!({ "iat": t - 60, "exp": t, "scope": ORDERS_SCOPE }),
    ));
    assert_status(
        check(&mut client, Some(&expired)).await,
        Code::Unauthenticated,
        "token expired",
    );
    assert_status(
        check(&mut client, Some(&hs256(&good(REVOKED)))).await,
        Code::Unauthenticated,
        "token has been revoked",
    );
    let reader = hs256(&good_with("alice", json!({ "scope": "orders:read" })));
    assert_status(
        check(&mut client, Some(&reader)).await,
        Code::PermissionDenied,
        "token lacks the scope this request requires",
    );
    assert_status(
        check(&mut client, Some(&hs256(&good(STORE_DOWN)))).await,
        Code::Unavailable,
        "the revocation store is unavailable",
    );
    // The connection is still usable after every refusal.
    assert_eq!(
        check(&mut client, Some(&granted)).await.unwrap(),
        ServingStatus::Serving
    );
}

#[tokio::test]
async fn the_layer_alone_in_front_of_a_tonic_service() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .build()
        .unwrap()
        .empty_error_bodies();
    let mut client = serve(auth).await;
    assert_eq!(
        check(&mut client, Some(&hs256(&claims("alice"))))
            .await
            .unwrap(),
        ServingStatus::Serving
    );
    let wrong_audience = hs256(&claims_with("alice", json!({ "aud": "elsewhere" })));
    assert_status(
        check(&mut client, Some(&wrong_audience)).await,
        Code::Unauthenticated,
        "token names an audience but this service accepts none",
    );
}
