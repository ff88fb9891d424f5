//! Connecting to Redis, one server or a cluster, plain or TLS, bounded in
//! time; and running a command again once when its connection was reset.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, TlsCertificates, Value};

use crate::backend::StoreError;

/// One TCP connect plus handshake.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One command's answer.
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Retries of one (re)connection by the connection manager; a failed
/// reconnection is retried again on the next command.
const CONNECT_RETRIES: usize = 2;
/// The longest wait between two of those retries.
const CONNECT_MAX_DELAY: Duration = Duration::from_millis(500);
/// Retries of one command by the cluster client (moved slots, a node that
/// is failing over); the store timeout bounds the whole call anyway.
const CLUSTER_RETRIES: u32 = 5;
/// The bound on connecting as a whole, retries included.
pub(super) const CONNECT_DEADLINE: Duration = Duration::from_secs(5);

/// What a URL names: one server, or the seed nodes of a cluster.
#[expect(
    clippy::large_enum_variant,
    reason = "built once per store and kept in an Arc"
)]
pub(super) enum Target {
    /// `redis://`, `rediss://`, `redis+unix://`, `unix://`.
    Single(redis::Client),
    /// `redis+cluster://` or `rediss+cluster://`: a client per seed node
    /// (for the event subscription, which any node serves) and the cluster
    /// client built from all of them.
    Cluster {
        nodes: Vec<redis::Client>,
        client: redis::cluster::ClusterClient,
    },
}

/// Why connecting failed.
pub(super) enum ConnectError {
    /// The URL does not parse, or names a setting this build cannot honour.
    Url(String),
    /// The server refused the connection or the handshake (TLS included).
    Refused(RedisError),
    /// The whole attempt took longer than [`CONNECT_DEADLINE`].
    Timeout,
}

impl Target {
    /// Parses `url`; `ca` (PEM) replaces the public roots for TLS.
    pub(super) fn parse(url: &str, ca: Option<&[u8]>) -> Result<Self, ConnectError> {
        let bad = |e: RedisError| ConnectError::Url(e.to_string());
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| ConnectError::Url("not a URL".into()))?;
        let tls = matches!(scheme, "rediss" | "rediss+cluster");
        if ca.is_some() && !tls {
            return Err(ConnectError::Url(format!(
                "a CA file is set, but {scheme}:// does not use TLS (use rediss:// or rediss+cluster://)"
            )));
        }
        let client = |node: &str| match ca {
            Some(pem) => redis::Client::build_with_tls(node, certificates(pem)),
            None => redis::Client::open(node),
        };
        match scheme {
            "redis+cluster" | "rediss+cluster" => {
                let nodes = cluster_nodes(if tls { "rediss" } else { "redis" }, rest)?;
                let mut builder = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(CLUSTER_RETRIES);
                if let Some(pem) = ca {
                    builder = builder.certs(certificates(pem));
                }
                Ok(Self::Cluster {
                    client: builder.build().map_err(bad)?,
                    nodes: nodes
                        .iter()
                        .map(|node| client(node))
                        .collect::<Result<_, _>>()
                        .map_err(bad)?,
                })
            }
            _ => Ok(Self::Single(client(url).map_err(bad)?)),
        }
    }

    /// One connection for every command: a connection manager for one
    /// server, the cluster connection (which follows the slots) for a
    /// cluster. An unreachable server is an error within [`CONNECT_DEADLINE`].
    pub(super) async fn connect(&self) -> Result<Connection, ConnectError> {
        let attempt = async {
            match self {
                Self::Single(client) => {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(CONNECT_TIMEOUT))
                        .set_response_timeout(Some(RESPONSE_TIMEOUT))
                        .set_number_of_retries(CONNECT_RETRIES)
                        .set_max_delay(CONNECT_MAX_DELAY);
                    ConnectionManager::new_with_config(client.clone(), config)
                        .await
                        .map(Connection::Single)
                }
                Self::Cluster { client, .. } => client
                    .get_async_connection()
                    .await
                    .map(|c| Connection::Cluster(Box::new(c))),
            }
        };
        tokio::time::timeout(CONNECT_DEADLINE, attempt)
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(ConnectError::Refused)
    }

    /// The clients an event subscription may use, in the order to try them.
    pub(super) fn subscribers(&self) -> &[redis::Client] {
        match self {
            Self::Single(client) => std::slice::from_ref(client),
            Self::Cluster { nodes, .. } => nodes,
        }
    }
}

fn certificates(pem: &[u8]) -> TlsCertificates {
    TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    }
}

/// `[user:password@]host:port[,host:port…][/]` as one URL per node, each
/// with the credentials.
fn cluster_nodes(scheme: &str, rest: &str) -> Result<Vec<String>, ConnectError> {
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if !matches!(rest.get(authority.len()..), Some("" | "/" | "/0")) {
        return Err(ConnectError::Url(
            "a cluster URL names nodes only: no database, path or options".into(),
        ));
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), authority),
    };
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("{scheme}://{userinfo}{host}"))
        .collect();
    if nodes.is_empty() {
        return Err(ConnectError::Url(
            "a cluster URL needs at least one host:port".into(),
        ));
    }
    Ok(nodes)
}

/// The connection commands run on; cheap to clone (a handle).
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(Box<ClusterConnection>),
}

impl Connection {
    /// Runs `op` and, when it failed because its connection was reset (a
    /// restarted server, a dropped link), runs it once more on the
    /// connection that replaces it, so the first request after an outage
    /// is not the one that pays for it. A refused connection is not tried
    /// again: the server is down. Every operation must therefore be safe to
    /// apply twice (the scripts are written so).
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Self) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match op(self.clone()).await {
            Err(e) if e.is_unrecoverable_error() && !e.is_connection_refusal() => {
                tracing::debug!(error = %e, "redis connection reset: trying once more");
                op(self.clone()).await.map_err(StoreError::unavailable)
            }
            answer => answer.map_err(StoreError::unavailable),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_name_every_node_with_the_credentials() {
        assert_eq!(
            cluster_nodes("redis", "127.0.0.1:7000,127.0.0.1:7001/").ok(),
            Some(vec![
                "redis://127.0.0.1:7000".to_owned(),
                "redis://127.0.0.1:7001".to_owned()
            ])
        );
        assert_eq!(
            cluster_nodes("rediss", "u:p@a:1, b:2").ok(),
            Some(vec![
                "rediss://u:p@a:1".to_owned(),
                "rediss://u:p@b:2".to_owned()
            ])
        );
        for bad in ["", "/", "a:1/3", "a:1?protocol=resp3", ","] {
            assert!(cluster_nodes("redis", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_ca_file_needs_a_tls_url() {
        let pem = b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379", Some(pem)),
            Err(ConnectError::Url(_))
        ));
        assert!(matches!(
            Target::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", None),
            Ok(Target::Cluster { ref nodes, .. }) if nodes.len() == 2
        ));
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/0", None),
            Ok(Target::Single(_))
        ));
    }
}
