//! Tells the tests which services this build may use, from the variables
//! that name them, so that a test needing a missing service shows as
//! ignored, with the variable to set, instead of passing without running.
//! `.ci/run` sets them all, which makes every such test run (and fail if
//! its service is not there).

/// Each variable and the `cfg` it turns on when set and not empty.
const SERVICES: [(&str, &str); 4] = [
    // A Redis server to use: `redis://127.0.0.1:6379`.
    ("AUTH_TEST_REDIS_URL", "redis_service"),
    // A PostgreSQL database to use: `postgres://postgres@127.0.0.1:5432/test`.
    ("AUTH_TEST_DATABASE_URL", "postgres_service"),
    // The `redis-server` program, for the tests that start their own
    // servers (a Redis Cluster, a TLS server): `/usr/bin/redis-server`.
    ("AUTH_TEST_REDIS_SERVER", "redis_server"),
    // The directory of PostgreSQL's `initdb` and `postgres`, for the tests
    // that start their own (TLS) database: `/usr/lib/postgresql/15/bin`.
    ("AUTH_TEST_POSTGRES_BIN", "postgres_server"),
];

fn main() {
    for (variable, cfg) in SERVICES {
        println!("cargo::rerun-if-env-changed={variable}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if std::env::var_os(variable).is_some_and(|value| !value.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
