//! A real actix-web server on an ephemeral loopback port, in its own thread
//! and actix `System`, for the tests that hold the actix adapter to the same
//! answers as the tower layer.

use std::net::TcpListener;

use actix_web::dev::Server;

use crate::TestServer;

/// Binds 127.0.0.1 at a port the OS picks and runs the server that `start`
/// builds on it (in a thread with its own actix `System`, for the rest of
/// the test process). `start` is typically
/// `|l| Ok(HttpServer::new(factory).workers(1).disable_signals().listen(l)?.run())`;
/// the [`actix_server!`] macro writes that.
pub fn serve_actix(
    start: impl FnOnce(TcpListener) -> std::io::Result<Server> + Send + 'static,
) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        actix_web::rt::System::new()
            .block_on(async move { start(listener).expect("the actix server starts").await })
    });
    TestServer::new(format!("http://{addr}"))
}

/// Serves the app that `$factory` (an `App` factory closure) builds with one
/// worker; evaluates to a [`TestServer`].
#[macro_export]
macro_rules! actix_server {
    ($factory:expr) => {
        $crate::actix::serve_actix(move |listener| {
            Ok(::actix_web::HttpServer::new($factory)
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run())
        })
    };
}
