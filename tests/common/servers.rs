//! Servers the tests start themselves, on loopback ports the OS has free,
//! and stop when they are dropped: a throwaway CA ([`TestCa`]), a Redis
//! Cluster of three primaries and three replicas ([`RedisCluster`]), a TLS
//! Redis ([`RedisServer`]) and a TLS PostgreSQL ([`PostgresServer`]). The
//! programs come from `AUTH_TEST_REDIS_SERVER` and `AUTH_TEST_POSTGRES_BIN`
//! (see [`services`](crate::services)).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio::time::Instant;

use crate::services::{postgres_bin, redis_server, unique};

/// How long a server may take to accept connections, or a cluster to settle.
const READY: Duration = Duration::from_secs(30);

/// A certificate authority that exists for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA's certificate to `dir/name` and returns the path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.pem()).unwrap();
        path
    }

    /// A server certificate for `127.0.0.1` and `localhost`, and its key
    /// (both PEM).
    pub fn server_certificate(&self) -> (String, String) {
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on (nor on `port + 10000`, a cluster
/// node's bus port, when `bus` is set).
fn free_port(bus: bool) -> u16 {
    loop {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        if !bus {
            return port;
        }
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Waits until something accepts TCP connections on `port`.
async fn listening(port: u16, what: &str) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(start.elapsed() < READY, "{what} did not start listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The TLS files a Redis or PostgreSQL server reads: its certificate, its
/// key and the CA, written into `dir`.
fn tls_files(ca: &TestCa, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (cert, key) = ca.server_certificate();
    let cert_path = dir.join("server.crt");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    (cert_path, key_path, ca.write(dir, "ca.pem"))
}

/// `redis-server` with `args`, logging to `dir/{port}.log`.
fn redis_process(dir: &Path, port: u16, args: &[String]) -> Process {
    let log = dir.join(format!("{port}.log"));
    let child = Command::new(redis_server())
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", redis_server()));
    Process(child)
}

/// The TLS arguments of `redis-server`: its certificate, key and CA files.
fn redis_tls_args((cert, key, ca): &(PathBuf, PathBuf, PathBuf), port: u16) -> Vec<String> {
    let path = |p: &PathBuf| p.to_string_lossy().into_owned();
    vec![
        "--port".into(),
        "0".into(),
        "--tls-port".into(),
        port.to_string(),
        "--tls-cert-file".into(),
        path(cert),
        "--tls-key-file".into(),
        path(key),
        "--tls-ca-cert-file".into(),
        path(ca),
        "--tls-auth-clients".into(),
        "no".into(),
    ]
}

/// One Redis server of a test's own (plain, or over TLS).
pub struct RedisServer {
    port: u16,
    _process: Process,
    _dir: ScratchDir,
}

impl RedisServer {
    /// A plain server (no persistence), for a test that flushes it.
    pub async fn start() -> Self {
        let dir = ScratchDir::new("redis");
        let (port, process) = Self::spawn(&dir, "the Redis", |port| {
            vec!["--port".into(), port.to_string()]
        })
        .await;
        Self {
            port,
            _process: process,
            _dir: dir,
        }
    }

    /// A server that speaks TLS only, with a certificate from `ca`.
    pub async fn start_tls(ca: &TestCa) -> Self {
        let dir = ScratchDir::new("redis-tls");
        let files = tls_files(ca, dir.path());
        let (port, process) =
            Self::spawn(&dir, "the TLS Redis", |port| redis_tls_args(&files, port)).await;
        Self {
            port,
            _process: process,
            _dir: dir,
        }
    }

    /// Starts `redis-server` on a free port, again on another one when a
    /// server of a test running alongside took the port first (then ours
    /// exits at once, while the port answers for the other).
    async fn spawn(
        dir: &ScratchDir,
        what: &str,
        args: impl Fn(u16) -> Vec<String>,
    ) -> (u16, Process) {
        for _ in 0..5 {
            let port = free_port(false);
            let mut process = redis_process(dir.path(), port, &args(port));
            listening(port, what).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            if matches!(process.0.try_wait(), Ok(None)) {
                return (port, process);
            }
        }
        panic!("{what} could not bind a free port in five tries");
    }

    /// `rediss://127.0.0.1:{port}` (TLS).
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:{port}` (plain).
    pub fn plain_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// A Redis Cluster: three primaries with a replica each, slots spread by
/// `redis-cli --cluster create`, failing over after one second.
pub struct RedisCluster {
    nodes: Vec<(u16, Option<Process>)>,
    tls: bool,
    ca_file: Option<PathBuf>,
    dir: ScratchDir,
}

impl RedisCluster {
    /// Starts six nodes (over TLS with certificates from `ca`, if given) and
    /// waits until the cluster is up and every replica in sync.
    pub async fn start(ca: Option<&TestCa>) -> Self {
        let dir = ScratchDir::new("redis-cluster");
        let files = ca.map(|ca| tls_files(ca, dir.path()));
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = free_port(true);
            let mut args: Vec<String> = [
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "1000",
                "--cluster-replica-validity-factor",
                "0",
                "--repl-diskless-sync-delay",
                "0",
            ]
            .map(String::from)
            .to_vec();
            args.extend([
                "--cluster-config-file".to_owned(),
                format!("nodes-{port}.conf"),
            ]);
            match &files {
                Some(files) => {
                    args.extend(redis_tls_args(files, port));
                    args.extend(
                        ["--tls-cluster", "yes", "--tls-replication", "yes"].map(String::from),
                    );
                }
                None => args.extend(["--port".to_owned(), port.to_string()]),
            }
            nodes.push((port, Some(redis_process(dir.path(), port, &args))));
        }
        for (port, _) in &nodes {
            listening(*port, "a cluster node").await;
        }
        let ca_file = files.map(|(_, _, ca)| ca);
        let cluster = Self {
            nodes,
            tls: ca.is_some(),
            ca_file,
            dir,
        };
        let mut create = cluster.cli();
        create.args(["--cluster", "create"]);
        for (port, _) in &cluster.nodes {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let created = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        cluster.settled().await;
        cluster
    }

    /// `redis-cli`, beside `redis-server`, with the TLS options.
    fn cli(&self) -> Command {
        let server = PathBuf::from(redis_server());
        let mut cli = Command::new(server.with_file_name("redis-cli"));
        if let Some(ca) = &self.ca_file {
            cli.arg("--tls").arg("--cacert").arg(ca);
        }
        cli
    }

    /// `redis+cluster://` (or `rediss+cluster://`) naming the primaries'
    /// ports as the cluster was created; any node would do as a seed.
    pub fn url(&self) -> String {
        self.url_with(self.nodes.iter().map(|(port, _)| *port).take(3).collect())
    }

    /// The same cluster with the seed nodes in `ports`' order (an instance's
    /// event subscription goes to the first that answers).
    pub fn url_with(&self, ports: Vec<u16>) -> String {
        let scheme = if self.tls {
            "rediss+cluster"
        } else {
            "redis+cluster"
        };
        let mut url = format!("{scheme}://");
        for (i, port) in ports.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            write!(url, "{comma}127.0.0.1:{port}").unwrap();
        }
        url
    }

    /// The CA file a TLS cluster's certificates are checked against.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Ports of the nodes still running.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|(_, process)| process.is_some())
            .map(|(port, _)| *port)
            .collect()
    }

    /// Runs `redis-cli` against the node at `port` and returns its output.
    pub fn ask(&self, port: u16, args: &[&str]) -> String {
        let output = self
            .cli()
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The `field` of the hash `key` as the replica at `port` holds it
    /// (`None` if it holds none), read with `READONLY`.
    pub fn replica_hget(&self, port: u16, key: &str, field: &str) -> Option<String> {
        use std::io::Write as _;
        let mut cli = self
            .cli()
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cli.stdin.take().unwrap();
        writeln!(stdin, "READONLY").unwrap();
        writeln!(stdin, "HGET {key} {field}").unwrap();
        drop(stdin);
        let output = cli.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("OK"), "READONLY: {text}");
        lines.next().filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// The port of the primary serving `key`, and of its replica.
    pub fn shard_of(&self, key: &str) -> (u16, u16) {
        let (id, primary) = self.primary_of(key);
        let nodes = self.ask(self.ports()[0], &["CLUSTER", "NODES"]);
        let replica = nodes
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|f| f[3] == id)
            .map(|f| port_of(f[1]))
            .unwrap_or_else(|| panic!("the primary of {key} has no replica"));
        (primary, replica)
    }

    /// The node id and port of the primary serving `key`.
    pub fn primary_of(&self, key: &str) -> (String, u16) {
        let any = self.ports()[0];
        let slot: u16 = self
            .ask(any, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .unwrap();
        let nodes = self.ask(any, &["CLUSTER", "NODES"]);
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (from, to) = range.split_once('-').unwrap_or((range, range));
                matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(f), Ok(t)) if f <= slot && slot <= t)
            });
            if serves {
                return (fields[0].to_owned(), port_of(fields[1]));
            }
        }
        panic!("no primary serves slot {slot}")
    }

    /// Kills the node at `port` (a crash: no goodbye to the cluster).
    pub fn kill(&mut self, port: u16) {
        for (p, process) in &mut self.nodes {
            if *p == port {
                drop(process.take());
            }
        }
    }

    /// Waits until every running node says the cluster is up and, while all
    /// six run, every primary's replica is in sync.
    pub async fn settled(&self) {
        let start = Instant::now();
        loop {
            let ok = self.ports().iter().all(|port| {
                self.ask(*port, &["CLUSTER", "INFO"])
                    .contains("cluster_state:ok")
            }) && self.ports().iter().all(|port| {
                let info = self.ask(*port, &["INFO", "replication"]);
                // A primary's replica has finished its first sync
                // (`state=online`), unless a node was killed.
                !info.contains("role:master")
                    || info.contains("connected_slaves:1") && info.contains("state=online")
                    || self.ports().len() < 6
            });
            if ok {
                return;
            }
            assert!(
                start.elapsed() < READY,
                "the cluster did not settle (logs in {})",
                self.dir.path().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn port_of(address: &str) -> u16 {
    let host_port = address.split('@').next().unwrap();
    host_port.rsplit(':').next().unwrap().parse().unwrap()
}

/// A PostgreSQL server of its own that accepts TLS connections only
/// (`hostssl`), with a certificate from a [`TestCa`].
pub struct PostgresServer {
    port: u16,
    data: PathBuf,
    dir: ScratchDir,
}

impl PostgresServer {
    pub async fn start_tls(ca: &TestCa) -> Self {
        let dir = ScratchDir::new("postgres-tls");
        let data = dir.path().join("data");
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if as_root {
            // PostgreSQL refuses to run as root: its files go to `postgres`.
            let owned = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success(), "chown the scratch directory");
        }
        let bin = PathBuf::from(postgres_bin());
        let run = |program: &str| {
            let program = bin.join(program);
            if as_root {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            } else {
                Command::new(program)
            }
        };
        let init = run("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let (cert, key, _) = tls_files(ca, &data);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        if as_root {
            let owned = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&data)
                .status()
                .unwrap();
            assert!(owned.success());
        }
        let chmod = Command::new("chmod").arg("600").arg(&key).status().unwrap();
        assert!(chmod.success());
        let port = free_port(false);
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            dir.path().display(),
            cert.display(),
            key.display()
        );
        // From here on, a panic stops the server on the way out.
        let server = Self {
            port,
            data: data.clone(),
            dir,
        };
        let started = run("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-l"])
            .arg(server.dir.path().join("postgres.log"))
            .args(["-o", &options, "-w", "start"])
            .output()
            .unwrap();
        assert!(
            started.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&started.stdout)
        );
        listening(port, "the TLS PostgreSQL").await;
        server
    }

    /// `postgres://postgres@127.0.0.1:{port}/postgres` with `query`
    /// (e.g. `sslmode=verify-full`).
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let bin = PathBuf::from(postgres_bin()).join("pg_ctl");
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut stop = if as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(bin);
            command
        } else {
            Command::new(bin)
        };
        let _ = stop
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
