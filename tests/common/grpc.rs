//! A real tonic server (the standard health service behind a tower layer)
//! and client, for the tests that hold gRPC calls to the same answers.

use tokio_stream::wrappers::TcpListenerStream;
use tonic::codegen::http;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Serves the health service behind `layer` on 127.0.0.1 at a port the OS
/// picks; returns a connected client.
pub async fn serve<L>(layer: L) -> HealthClient<Channel>
where
    L: tower::Layer<tonic::service::Routes> + Clone + Send + Sync + 'static,
    L::Service: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Future: Send + 'static,
{
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _reporter = reporter;
        Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .expect("the gRPC server runs");
    });
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("the client connects");
    HealthClient::new(channel)
}

/// A health check carrying `Authorization: Bearer <token>` if given.
pub async fn check(
    client: &mut HealthClient<Channel>,
    token: Option<&str>,
) -> Result<ServingStatus, Status> {
    let mut request = Request::new(HealthCheckRequest {
        service: String::new(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let response = client.check(request).await?;
    Ok(response.into_inner().status())
}

#[track_caller]
pub fn assert_status(result: Result<ServingStatus, Status>, code: Code, message: &str) {
    let status = result.expect_err("the call is refused");
    assert_eq!(
        (status.code(), status.message()),
        (code, message),
        "{status:?}"
    );
}
