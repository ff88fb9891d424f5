//! A tonic gRPC server behind `JwtAuth`, configured from the same `AUTH_*`
//! variables as the `server` example. It serves the standard health service
//! (`grpc.health.v1.Health`), so any gRPC client can try it; calls without
//! a valid token end with `UNAUTHENTICATED` (16), a store outage with
//! `UNAVAILABLE` (14), and the layer's reason in `grpc-message`.
//!
//! ```sh
//! AUTH_HMAC_SECRET=… cargo run --example grpc
//! grpcurl -plaintext -H "authorization: Bearer $TOKEN" 127.0.0.1:3000 grpc.health.v1.Health/Check
//! ```
//!
//! The variables are those of the `server` example (`AUTH_LISTEN`, keys,
//! claim rules, `AUTH_REVOCATION_URL`, `AUTH_REVOCATION_TTL_SECS`,
//! `AUTH_DPOP`, `AUTH_PUBLIC_URL`). A DPoP proof's `htu` names the call's
//! URL (`http://host:port/package.Service/Method`), its `htm` `POST`.

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;

use auth_layer::claims::DefaultClaims;
use tonic::transport::Server;

#[tokio::main]
async fn main() -> ExitCode {
    let auth = match common::configure::<DefaultClaims>().await {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = common::listen_address();
    let addr: SocketAddr = match addr.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("AUTH_LISTEN: {addr:?} is not an address: {e}");
            return ExitCode::from(2);
        }
    };
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    println!("gRPC health service on {addr}, behind JwtAuth");
    // tonic's body cannot be built from a String, so the layer answers with
    // empty bodies; gRPC calls are answered with `grpc-status` by the layer
    // itself either way.
    let served = Server::builder()
        .layer(auth.empty_error_bodies())
        .add_service(health)
        .serve_with_shutdown(addr, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Err(e) = served {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
