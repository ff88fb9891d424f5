//! The stores over TLS, against a Redis and a PostgreSQL that each test
//! starts itself with a throwaway CA (`AUTH_TEST_REDIS_SERVER`,
//! `AUTH_TEST_POSTGRES_BIN`): with the CA file the stores work; with
//! another CA, with the public roots, or without TLS, start-up fails at
//! once with an error naming the URL (password redacted), never a hang.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::time::Duration;

use auth_layer::ConfigError;
use auth_layer::config::AuthConfig;
use auth_layer::store::{AnyStore, StoreOptions};
use auth_tests::revocation_contract as contract;
use auth_tests::servers::{PostgresServer, RedisServer, ScratchDir, TestCa};

/// Connects to `url`, trusting `ca_file` if given; an error must come
/// within 10 s.
async fn connect(url: &str, ca_file: Option<&std::path::Path>) -> Result<AnyStore, ConfigError> {
    let mut options = StoreOptions::new(url);
    if let Some(ca) = ca_file {
        options = options.ca_file(ca);
    }
    tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .expect("an answer within 10 s, not a hang")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn redis_over_tls_with_a_private_ca() {
    let ca = TestCa::new("redis test CA");
    let server = RedisServer::start_tls(&ca).await;
    let dir = ScratchDir::new("redis-ca");
    let ca_file = ca.write(dir.path(), "ca.pem");

    let store = connect(&server.url(), Some(&ca_file)).await.unwrap();
    contract::store_contract(store.clone()).await;
    contract::layer_contract(store).await;

    // The same through the configuration the examples read.
    let config = AuthConfig::from_lookup(|name| match name {
        "AUTH_HMAC_SECRET" => Some(contract::SECRET.to_owned()),
        "AUTH_REVOCATION_URL" => Some(server.url()),
        "AUTH_STORE_CA_FILE" => Some(ca_file.display().to_string()),
        _ => None,
    })
    .unwrap();
    assert!(config.connect().await.is_ok());

    let other = TestCa::new("another CA").write(dir.path(), "other.pem");
    let with_password = server.url().replace("rediss://", "rediss://app:hunter2@");
    for (url, ca, cause) in [
        (
            with_password.as_str(),
            Some(other.as_path()),
            "UnknownIssuer",
        ),
        (server.url().as_str(), None, "UnknownIssuer"),
    ] {
        let error = connect(url, ca).await.unwrap_err().to_string();
        assert!(
            error.starts_with("redis store: cannot connect to rediss://"),
            "{error}"
        );
        assert!(error.contains(cause), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        eprintln!("{error}");
    }
    let plain = format!("redis://127.0.0.1:{}", server.port());
    assert!(
        connect(&plain, None).await.is_err(),
        "plain text to a TLS port is refused"
    );
    let error = connect(&plain, Some(&ca_file))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not use TLS"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_server),
    ignore = "needs PostgreSQL's programs: set AUTH_TEST_POSTGRES_BIN"
)]
async fn postgres_over_tls_with_a_private_ca() {
    let ca = TestCa::new("postgres test CA");
    let server = PostgresServer::start_tls(&ca).await;
    let dir = ScratchDir::new("postgres-ca");
    let ca_file = ca.write(dir.path(), "ca.pem");

    // sslrootcert in the URL, and the CA file; verify-full checks the name.
    let in_url = server.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        ca_file.display()
    ));
    let store = connect(&in_url, None).await.unwrap();
    contract::store_contract(store).await;
    let store = connect(&server.url("sslmode=require"), Some(&ca_file))
        .await
        .unwrap();
    contract::layer_contract(store).await;

    // Another CA: refused, whether the URL asks for verify-full or only
    // for require (a CA file makes require check the chain, as libpq does).
    let other = TestCa::new("another CA").write(dir.path(), "other.pem");
    for mode in ["sslmode=verify-full", "sslmode=require"] {
        let error = connect(&server.url(mode), Some(&other))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("postgres store: cannot connect to postgres://postgres@127.0.0.1:"),
            "{error}"
        );
        assert!(error.contains("UnknownIssuer"), "{mode}: {error}");
        eprintln!("{error}");
    }
    let error = connect(&server.url("sslmode=disable"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no encryption"),
        "the server takes TLS only: {error}"
    );
    eprintln!("{error}");
}
