//! A TCP proxy on loopback in front of a real service (Redis, PostgreSQL,
//! an identity provider), to fault it without touching the service itself:
//!
//! - [`Mode::Forward`]: bytes pass through as they are;
//! - [`Mode::Down`]: the listening socket is closed (new connections are
//!   refused) and every open connection is closed, which is what a client
//!   sees when the server process goes away;
//! - [`Mode::Delayed`]: every chunk the service sends back reaches the
//!   client that much later (a service that answers slowly); what the
//!   client sends is forwarded at once.
//!
//! The proxy keeps its port across modes, so clients configured with it
//! reconnect to the same address when it comes back. [`Proxy::reset`]
//! cuts the open connections between requests; [`Proxy::drop_answer`] cuts
//! one between a request and its answer.
//!

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use auth_layer::store::{PostgresStore, RedisStore};
use sqlx::postgres::PgConnectOptions;

use crate::services::unique;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways without delay.
    Forward,
    /// Refuse new connections and close the open ones.
    Down,
    /// Forward, adding this latency to every chunk the service sends back.
    Delayed(Duration),
}

/// A proxy on `127.0.0.1` at a port the OS picked, forwarding to `upstream`.
pub struct Proxy {
    addr: SocketAddr,
    upstream: String,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    /// The latency added to the service's answers, in microseconds.
    delay_micros: AtomicU64,
    /// Answers still to pass before the one to drop; 0 when none is to be
    /// dropped.
    drop_answer: AtomicUsize,
    /// The tasks relaying the open connections.
    connections: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_micros.load(Ordering::SeqCst))
    }
}

impl Proxy {
    /// Starts forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: impl Into<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let mut proxy = Self {
            addr,
            upstream: upstream.into(),
            shared: Arc::default(),
            accept: None,
        };
        proxy.accept = Some(proxy.serve(listener));
        proxy
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The `nth` answer the service sends from now on (1 for the next one)
    /// does not reach its client: its connection is closed instead, after
    /// the service has done what was asked. What a client sees when a
    /// connection breaks between a request and its answer.
    pub fn drop_answer(&self, nth: usize) {
        self.shared.drop_answer.store(nth, Ordering::SeqCst);
    }

    /// Switches to `mode`. Going [`Down`](Mode::Down) returns once the
    /// listening socket and every open connection are closed; coming back
    /// returns once the port accepts connections again.
    pub async fn set(&mut self, mode: Mode) {
        match mode {
            Mode::Down => self.take_down().await,
            Mode::Forward => self.bring_up(Duration::ZERO).await,
            Mode::Delayed(delay) => self.bring_up(delay).await,
        }
    }

    /// Cuts every open connection and keeps accepting new ones: what a
    /// client sees when the service restarts quickly, or a middlebox drops
    /// its connections.
    pub async fn reset(&self) {
        let connections: Vec<_> = self.shared.connections.lock().unwrap().drain(..).collect();
        for connection in connections {
            connection.abort();
            let _ = connection.await;
        }
    }

    async fn take_down(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        let connections: Vec<_> = self.shared.connections.lock().unwrap().drain(..).collect();
        for connection in connections {
            connection.abort();
            let _ = connection.await;
        }
    }

    async fn bring_up(&mut self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).expect("a delay that fits in u64 µs");
        self.shared.delay_micros.store(micros, Ordering::SeqCst);
        if self.accept.is_some() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("proxy port {} not free yet: {e}", self.addr.port());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot bind the proxy port {} again: {e}", self.addr),
            }
        };
        self.accept = Some(self.serve(listener));
    }

    fn serve(&self, listener: TcpListener) -> JoinHandle<()> {
        let upstream = self.upstream.clone();
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            loop {
                let inbound = match listener.accept().await {
                    Ok((inbound, _)) => inbound,
                    Err(e) => {
                        eprintln!("proxy accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let connection =
                    tokio::spawn(relay(inbound, upstream.clone(), Arc::clone(&shared)));
                let mut connections = shared.connections.lock().unwrap();
                connections.retain(|c| !c.is_finished());
                connections.push(connection);
            }
        })
    }
}

/// A proxy in front of the Redis at `url` (a `redis://` TCP URL) and a
/// store connected through it, with keys of its own.
pub async fn redis_via_proxy(url: &str) -> (Proxy, RedisStore) {
    let client = redis::Client::open(url).expect("a Redis URL");
    let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr().clone() else {
        panic!("AUTH_TEST_REDIS_URL must be a redis:// TCP URL to put a proxy in front of it");
    };
    let proxy = Proxy::start(format!("{host}:{port}")).await;
    let rest = url.strip_prefix("redis://").expect("a redis:// URL");
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let userinfo = authority.rfind('@').map_or("", |i| &authority[..=i]);
    let proxied = format!("redis://{userinfo}127.0.0.1:{}{path}", proxy.port());
    let store = crate::services::marked(
        RedisStore::connect(&proxied)
            .await
            .expect("connect to Redis through the proxy")
            .with_prefix(format!("{}:", unique("proxied")))
            .unwrap(),
    )
    .await;
    (proxy, store)
}

/// A proxy in front of the PostgreSQL at `url` and a store connected
/// through it.
pub async fn postgres_via_proxy(url: &str) -> (Proxy, PostgresStore) {
    let options = PgConnectOptions::from_str(url).expect("a PostgreSQL URL");
    let proxy = Proxy::start(format!("{}:{}", options.get_host(), options.get_port())).await;
    let store = PostgresStore::connect_with(options.host("127.0.0.1").port(proxy.port()))
        .await
        .expect("connect to PostgreSQL through the proxy");
    (proxy, store)
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        if let Ok(mut connections) = self.shared.connections.lock() {
            for connection in connections.drain(..) {
                connection.abort();
            }
        }
    }
}

/// Relays one connection until either side closes it (or the task is
/// aborted, which closes both sockets).
async fn relay(inbound: TcpStream, upstream: String, shared: Arc<Shared>) {
    let Ok(outbound) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (client_read, client_write) = inbound.into_split();
    let (service_read, service_write) = outbound.into_split();
    tokio::select! {
        () = requests(client_read, service_write) => {}
        () = answers(service_read, client_write, shared) => {}
    }
}

/// Client to service, at once.
async fn requests(mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
    let mut buf = vec![0_u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to
            .write_all(buf.get(..n).unwrap_or_default())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Service to client, each chunk held back by the delay in force when it
/// arrived (a fixed latency: chunks are not held back behind each other).
async fn answers(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shared: Arc<Shared>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let dropped = shared
                .drop_answer
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok_and(|n| n == 1);
            if dropped {
                return;
            }
            let due = Instant::now() + shared.delay();
            let chunk = buf.get(..n).unwrap_or_default().to_vec();
            if tx.send((due, chunk)).is_err() {
                return;
            }
        }
    };
    let write = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(read, write);
}
