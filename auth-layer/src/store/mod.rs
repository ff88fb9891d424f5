//! Where revocations and sessions live: one store per backend, each
//! implementing every store trait and serving revocation and sessions alike.
//! Built once from one URL, a store holds one connection pool, runs one
//! migration, answers with one error type ([`StoreError`]) and has one
//! storage contract.
//!
//! | URL (`AUTH_REVOCATION_URL`, `AUTH_STORE_URL`) | store | feature |
//! |---|---|---|
//! | `memory:` (the default, or empty) | [`MemoryStore`]: this process only | none: always built |
//! | `redis://[user:password@]host[:port][/db]`, `redis+unix:///path` | `RedisStore` on one server | `redis` |
//! | `rediss://…` | the same over TLS | `redis` |
//! | `redis+cluster://[user:password@]host:port[,host:port…]` | `RedisStore` on a Redis Cluster | `redis` |
//! | `rediss+cluster://…` | the same over TLS | `redis` |
//! | `postgres://user[:password]@host[:port]/db[?sslmode=require\|verify-ca\|verify-full&sslrootcert=…]` (or `postgresql://…`) | `PostgresStore` | `postgres` |
//!
//! [`connect`] opens the store a URL names as an [`AnyStore`], which
//! implements [`RevocationStore`](crate::revocation::RevocationStore) and
//! [`SessionStore`](crate::session::SessionStore); pass clones of the same
//! store to [`RevocationCache`](crate::revocation::RevocationCache) and
//! [`Sessions`](crate::session::Sessions), so one pool or connection serves
//! both. [`StoreOptions`] adds a private CA for TLS. Each backend documents
//! its storage contract (keys, tables, channels) in full, on its type:
//! `RedisStore`, `PostgresStore`; the summary is below.
//!
//! ```
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = auth_layer::store::connect("memory:").await?;
//! let revocation = RevocationCache::builder(store.clone()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!")?).build()?;
//! let sessions = Sessions::builder(issuer, store, revocation).build()?;
//!
//! let pair = sessions.login("alice", serde_json::json!({})).await?;
//! assert_eq!(sessions.logout_all("alice").await?, 1);
//! # let _ = pair;
//! # Ok(())
//! # }
//! ```
//!
//! A Redis Cluster over TLS with a private CA:
//!
//! ```no_run
//! use auth_layer::revocation::RevocationCache;
//! use auth_layer::session::{Sessions, SigningKey, TokenIssuer};
//! use auth_layer::store::StoreOptions;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = StoreOptions::new("rediss+cluster://10.0.0.1:6380,10.0.0.2:6380,10.0.0.3:6380")
//!     .ca_file("/etc/ssl/private/redis-ca.pem") // a private CA; the public roots otherwise
//!     .connect()
//!     .await?; // a clear error naming the store and URL (password redacted), never a hang
//! let revocation = RevocationCache::builder(store.clone()).build()?;
//! let issuer = TokenIssuer::builder(SigningKey::hmac(std::env::var("AUTH_HMAC_SECRET")?)?).build()?;
//! let sessions = Sessions::builder(issuer, store, revocation).build()?;
//! # let _ = sessions; Ok(()) }
//! ```
//!
//! # TLS
//!
//! `AUTH_STORE_CA_FILE` ([`StoreOptions::ca_file`]; a PEM bundle) is the CA
//! that a TLS store's certificate is checked against, for a private CA;
//! without it the public roots (webpki) are used. With PostgreSQL it also
//! turns verification on: `sslmode=require` then checks the chain
//! (`verify-ca`, as libpq does with a root certificate) and an unset mode
//! becomes `verify-full`. TLS is rustls on the aws-lc-rs provider the rest of
//! the workspace uses, through the `redis` crate and `sqlx`. A CA that does
//! not vouch for the server is a start-up error naming the URL, e.g.
//! `AUTH_REVOCATION_URL: redis store: cannot connect to
//! rediss://app:***@cache:6380: … invalid peer certificate: UnknownIssuer`.
//!
//! # Connections recover by themselves
//!
//! A command whose connection was reset (Redis restarted, a proxy dropped it)
//! is sent once more on the connection that replaces it, so the first request
//! after the store comes back gets its answer, not a 503; every write is safe
//! to apply twice (a repeated rotation answers as the rotation it repeats).
//! PostgreSQL connections are checked before use. Every backend reconnects by
//! itself.
//!
//! # Redis Cluster
//!
//! Every script touches exactly one key, so every operation works on a
//! cluster without hash tags; revocation events go out with `PUBLISH`, which a
//! cluster delivers to the subscribers of every node, and each instance's
//! subscription moves to another node when its node goes away. A primary
//! failing over (a replica promoted) makes calls to its slots fail or wait
//! until the cluster settles: the layer answers 503 meanwhile, never a wrong
//! 200. Tested against a 3-primary, 3-replica cluster that the tests start on
//! loopback, with a primary killed under load.
//!
//! # Storage contract: Redis
//!
//! Keys start with the prefix (`auth:`; `RedisStore::with_prefix`); `{sub}`,
//! `{sid}`, `{jti}` stand for the values (no braces are written), `{iss}` for
//! the token's issuer (`""` for tokens without one) and `{n}` for the issuer's
//! length in bytes, so that an issuer containing `:` cannot read as another's.
//! Times are Unix seconds as decimal strings.
//!
//! | key | what it holds |
//! |---|---|
//! | `auth:subject:{n}:{iss}:{sub}` | a hash: `nbf`, the subject's not-before (tokens with `iat` ≤ it are revoked; it only moves forward), and `ver`, its token version (absent = 0) |
//! | `auth:revoked-session:{n}:{iss}:{sid}` | the session's not-before (tokens of it with `iat` ≤ it are revoked); revoked by `Sessions`, it expires once none of the session's access tokens can pass (longest access-token lifetime + 300 s leeway); otherwise no expiry |
//! | `auth:denied-jti:{n}:{iss}:{jti}` | present = the token id is denied; expires with the token (`PEXPIREAT`) |
//! | `auth:used-jti:{n}:{iss}:{jti}` | a one-time id already used (`SET … NX PXAT`), until its token would stop passing: a logout token's `jti`, or `single-use:{purpose}:{jti}` for a spent single-use token of the sessions' issuer |
//! | `auth:marker` | the continuity marker: the second (Redis `TIME`) the store's data began; written when missing |
//! | `auth:session:{sid}` | a hash per session: `sub`, `claims` (JSON), `ver`, `created_at`, `expires_at`, `last_used_at`, `token` (hex SHA-256 of the current refresh token), `prev` (the most recently spent one), `spent:{hash}` per spent token (when; the 16 most recent kept), and once ended `ended` (`logout`, `logout_all`, `reuse`, `reauth`, `revoked`) and `ended_at`; `dpop_jkt` (the thumbprint of the DPoP key the session is bound to, set at login, never changed) only in a bound session; `idle_timeout` (seconds, set at login by the session policy, never changed; absent: the service's default); expires one day after `expires_at` |
//! | `auth:sessions:{sub}` | a set of the subject's session ids (an id is added before its session is created) |
//! | channel `auth:revocations` | one event per revocation: `{"kind":"user","iss":"…","sub":"…"}`, `{"kind":"session","iss":"…","sid":"…"}`, `{"kind":"jti","iss":"…","jti":"…"}` |
//!
//! Another service revokes with the write and then the event: `HINCRBY
//! auth:subject:{n}:{iss}:alice ver 1` and `HSET … nbf <now>` (if larger),
//! then `PUBLISH auth:revocations '{"kind":"user","iss":"…","sub":"alice"}'`
//! (log out everywhere), or `SET auth:revoked-session:{n}:{iss}:{sid} <now>`
//! (if larger than what it holds) then the session event; it ends a session's
//! refreshes with `HSET auth:session:{sid} ended revoked ended_at <now>` (if
//! `ended` is absent) besides revoking its `sid`. A write without the event
//! is still honoured by every instance once its cached answer expires (the
//! cache TTL). An event without `iss` (0.1's shape) makes every instance drop
//! its whole cache.
//!
//! # Storage contract: PostgreSQL
//!
//! One schema (`PostgresStore::SCHEMA`), created on connect inside a
//! transaction holding `pg_advisory_xact_lock(7022647185898829419)`, and only
//! when a table, index or column is missing (no DDL, hence no table locks,
//! once they exist; a column added after a table's first release, such as
//! `auth_sessions.dpop_jkt` and `auth_sessions.idle_timeout`, is added by
//! `ALTER TABLE … ADD COLUMN IF NOT EXISTS`); no bookkeeping table. Times in `bigint` columns are Unix seconds.
//!
//! ```sql
//! auth_revoked_subjects(issuer text, subject text, version bigint not null default 0,
//!                       not_before bigint null, primary key (issuer, subject))  -- no row = version 0, no not-before
//! auth_revoked_session_ids(issuer text, sid text, not_before bigint not null,
//!                          forget_after bigint null,                        -- may be deleted from then on (null: never)
//!                          primary key (issuer, sid))
//! auth_denied_token_ids(issuer text, jti text, expires_at timestamptz not null,
//!                       primary key (issuer, jti))                          -- denied while expires_at > now()
//! auth_used_token_ids(issuer text, jti text, expires_at timestamptz not null,
//!                     primary key (issuer, jti))                            -- one-time ids used: logout tokens' jti,
//!                                                                           -- single-use tokens' single-use:{purpose}:{jti}
//! auth_store_marker(id boolean primary key default true check (id), began bigint not null)
//! auth_sessions(sid text primary key, subject text, claims jsonb, version bigint,
//!               created_at timestamptz, expires_at timestamptz, last_used_at timestamptz,
//!               ended_at timestamptz null, ended_reason text null,
//!               dpop_jkt text null,                                 -- the bound DPoP key's thumbprint (null: not bound)
//!               idle_timeout bigint null)                           -- seconds, set at login (null: the service's default)
//! auth_refresh_tokens(token_hash bytea primary key,
//!                     sid text references auth_sessions on delete cascade,
//!                     issued_at timestamptz, spent_at timestamptz null, replaced_by bytea null)
//!                                                                           -- the 16 most recently spent kept per session
//! ```
//!
//! Another service revokes with the write and, in the same transaction,
//! `SELECT pg_notify('auth_revocations', '<event JSON as above>')`: for
//! example `INSERT INTO auth_revoked_subjects (issuer, subject, version,
//! not_before) VALUES ($1, $2, 1, $3) ON CONFLICT (issuer, subject) DO UPDATE
//! SET version = auth_revoked_subjects.version + 1, not_before =
//! GREATEST(auth_revoked_subjects.not_before, EXCLUDED.not_before)`. It ends a
//! session with `UPDATE auth_sessions SET ended_at = now(), ended_reason =
//! 'revoked' WHERE sid = $1 AND ended_at IS NULL` besides revoking its `sid`.
//! Sessions are deleted one day after `expires_at`.
//!
//! # Upgrading a 0.1 store
//!
//! 0.1 kept revocations under bare names (`auth:ver:{sub}`, `auth:sid:{sid}`,
//! `auth:jti:{jti}`; `auth_user_versions`, `auth_revoked_sessions`,
//! `auth_denied_jtis`), for every issuer alike. This version does not read
//! them. **Before** the first instance of this version starts, move them to
//! the issuers your 0.1 deployment accepted:
//!
//! ```sh
//! AUTH_REVOCATION_URL=redis://… cargo run --example admin -- upgrade-0.1 --issuer https://auth.example [--issuer …]
//! ```
//!
//! Each record is written once per issuer and removed from the old layout (in
//! one transaction on PostgreSQL; a record a 0.1 instance changes meanwhile
//! stays for the next run): a subject keeps its version and gets a not-before
//! of the upgrade's second (every token of it issued before is refused, as 0.1
//! refused every token without `ver`; later ones pass), a revoked session gets
//! the same not-before, a denied token id stays denied until its token
//! expires. A 0.1 store has no continuity marker: the first connection of this
//! version writes one, so every token issued before the upgrade is refused
//! once and users sign in again. Run the command once more after the last 0.1
//! instance stopped if they kept revoking meanwhile. Events between 0.1 and
//! new instances during a rolling upgrade make the new instances drop their
//! caches (the 0.1 shape names no issuer).
//!
//! # Durability
//!
//! Revocation records are security state: a lost revocation is a token that
//! passes again. The continuity marker makes a *total* loss fail closed (every
//! token issued before the loss is refused, once), but it cannot see a partial
//! one: a single Redis Cluster node restarted empty while the marker's node
//! kept its data, or a backup restored from before a revocation. So:
//!
//! - **Redis**: run with persistence (`appendonly yes`, `appendfsync everysec`
//!   or `always`), `maxmemory-policy noeviction` (an evicting policy drops
//!   revocation records one by one, which no marker notices) and, for a
//!   cluster, replicas. Replication is asynchronous: a write acknowledged by a
//!   primary that dies before its replica copied it is lost even so;
//!   `WAIT 1 100` after revocations narrows that window for services that
//!   write the store directly.
//! - **PostgreSQL**: committed writes are kept as everything else is; the
//!   usual backups and replication apply. Restoring a backup brings back the
//!   revocations it holds and no later ones: revoke again what was revoked
//!   since.

mod any;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod upgrade;
pub(crate) mod url;

pub use crate::backend::{BoxFuture, DEFAULT_STORE_TIMEOUT, StoreError};
pub use any::{AnyStore, StoreOptions, connect};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use upgrade::Upgraded;
