//! The `admin` example, run as an operator runs it, against Redis and
//! PostgreSQL: each revocation it makes is enforced by a running instance
//! (caching for a minute) within 100 ms of the command's exit, and a token
//! issued afterwards passes; `show` prints the state; `memory:` and bad
//! usage are refused with a message and a non-zero exit.
//!
//! The binary is the one `cargo test --workspace` builds with the examples
//! (`target/…/examples/admin`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use auth_layer::ErrorKind;
use auth_layer::revocation::RevocationCache;
use auth_layer::store;
use auth_tests::revocation_contract::{self as contract, claims, kind, send, token};
use auth_tests::services::{database_url, redis_url, unique};
use http::StatusCode;
use serde_json::{Value, json};

const ISS: &str = "https://idp.example";

/// The `admin` example's binary, beside this test's directory.
fn admin_binary() -> PathBuf {
    auth_tests::example_binary("admin")
}

/// Runs `admin ARGS` with `AUTH_REVOCATION_URL=url`.
fn admin(url: &str, args: &[&str]) -> Output {
    Command::new(admin_binary())
        .args(args)
        .env("AUTH_REVOCATION_URL", url)
        .env_remove("AUTH_STORE_CA_FILE")
        .output()
        .unwrap()
}

/// Runs a command that must succeed; its JSON output.
fn admin_ok(url: &str, args: &[&str]) -> Value {
    let out = admin(url, args);
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Sends `t` until it is refused as revoked; panics after 100 ms.
async fn refused_within_100_ms(auth: &auth_layer::JwtAuth, t: &str, what: &str) -> Duration {
    let start = Instant::now();
    loop {
        let res = send(auth, t).await;
        if kind(&res) == Some(ErrorKind::Revoked) {
            return start.elapsed();
        }
        assert_eq!(res.status(), StatusCode::OK, "{what}");
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "{what}: still accepted 100 ms after the command"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn every_command(name: &str, url: &str) {
    let cache = RevocationCache::builder(store::connect(url).await.unwrap())
        .ttl(Duration::from_secs(60))
        .check_jti(true)
        .build()
        .unwrap();
    let auth = contract::layer(cache);
    // The instance hears the store's events: a revocation through another
    // handle reaches it.
    let probe = RevocationCache::builder(store::connect(url).await.unwrap())
        .build()
        .unwrap();
    contract::until_heard(&probe, &auth).await;

    // revoke-user
    let sub = unique("alice");
    let t = token(claims(json!({"iss": ISS, "sub": sub})));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    let out = admin_ok(url, &["revoke-user", "--issuer", ISS, "--subject", &sub]);
    let took = refused_within_100_ms(&auth, &t, "revoke-user").await;
    assert_eq!(out["revoked"], "user");
    let not_before = out["not_before"].as_i64().unwrap();
    let fresh = token(claims(
        json!({"iss": ISS, "sub": sub, "iat": not_before + 1}),
    ));
    assert_eq!(
        send(&auth, &fresh).await.status(),
        StatusCode::OK,
        "a later token"
    );
    let twin = token(claims(
        json!({"iss": "https://elsewhere.example", "sub": sub}),
    ));
    assert_eq!(
        send(&auth, &twin).await.status(),
        StatusCode::OK,
        "another issuer"
    );
    let shown = admin_ok(url, &["show", "--issuer", ISS, "--subject", &sub]);
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["not_before"], not_before);
    assert!(shown["store_marker"].as_i64().unwrap() <= not_before);
    eprintln!("{name}: revoke-user enforced {took:?} after the command exited");

    // revoke-session
    let sid = unique("sid");
    let t = token(claims(
        json!({"iss": ISS, "sub": unique("bob"), "sid": sid}),
    ));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    let out = admin_ok(url, &["revoke-session", "--issuer", ISS, "--session", &sid]);
    refused_within_100_ms(&auth, &t, "revoke-session").await;
    let nb = out["not_before"].as_i64().unwrap();
    let shown = admin_ok(
        url,
        &["show", "--issuer", ISS, "--subject", "x", "--session", &sid],
    );
    assert_eq!(shown["session_not_before"], nb);

    // revoke-token
    let jti = unique("jti");
    let t = token(claims(
        json!({"iss": ISS, "sub": unique("carol"), "jti": jti}),
    ));
    assert_eq!(send(&auth, &t).await.status(), StatusCode::OK);
    let expires = contract::now() + 300;
    let expires = expires.to_string();
    admin_ok(
        url,
        &[
            "revoke-token",
            "--issuer",
            ISS,
            "--jti",
            &jti,
            "--expires",
            &expires,
        ],
    );
    refused_within_100_ms(&auth, &t, "revoke-token").await;

    // Mistakes: a clear message and a non-zero exit, nothing written.
    let unseen = unique("unseen");
    for (args, code, message) in [
        (
            vec!["revoke-user", "--issuer", ISS],
            2,
            "--subject is required",
        ),
        (
            vec!["revoke-user", "--issuer", ISS, "--subjet", &unseen],
            2,
            "takes no --subjet",
        ),
        (
            vec![
                "revoke-token",
                "--issuer",
                ISS,
                "--jti",
                "j",
                "--expires",
                "soon",
            ],
            2,
            "not a Unix time",
        ),
        (vec!["bump"], 2, "unknown command"),
        (vec!["upgrade-0.1"], 2, "--issuer is required"),
        (vec![], 2, "no command"),
    ] {
        let out = admin(url, &args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let shown = admin_ok(url, &["show", "--issuer", ISS, "--subject", &unseen]);
    assert_eq!(shown["version"], 0, "a refused command wrote nothing");
}

#[test]
fn the_memory_store_is_refused_since_no_other_process_sees_it() {
    let out = admin(
        "memory:",
        &["revoke-user", "--issuer", ISS, "--subject", "alice"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another process cannot see it"), "{stderr}");
    let out = Command::new(admin_binary())
        .args(["show", "--issuer", ISS, "--subject", "alice"])
        .env_remove("AUTH_REVOCATION_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_REVOCATION_URL is not set"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn redis_every_command_is_enforced_by_a_running_instance_within_100_ms() {
    every_command("redis", &redis_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_service),
    ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL"
)]
async fn postgres_every_command_is_enforced_by_a_running_instance_within_100_ms() {
    every_command("postgres", &database_url()).await;
}
