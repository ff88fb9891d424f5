//! The `refresh_flow` example end to end: its own router on an ephemeral
//! loopback port, a real HTTP client, a manual clock. Every rule of
//! sessions and refresh tokens as a client sees it, against every store:
//! memory, Redis, PostgreSQL, and a Redis Cluster and a TLS Redis that the
//! tests start themselves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

#[allow(
    dead_code,
    reason = "the example's main is not compiled into the tests"
)]
#[path = "../examples/refresh_flow.rs"]
mod refresh_flow;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_layer::clock::{Clock as _, ManualClock};
use auth_layer::session::Sessions;
use auth_tests::dpop_client::ClientKey;
use auth_tests::logs::logs;
use auth_tests::servers::{RedisCluster, RedisServer, ScratchDir, TestCa};
use auth_tests::services::{database_url, redis_url};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use refresh_flow::{DpopMode, REFRESH_COOKIE, Settings};
use serde_json::{Value, json};

/// The store the app keeps sessions and revocations in, as
/// `AUTH_STORE_URL` and `AUTH_STORE_CA_FILE` name it.
#[derive(Clone)]
struct Store {
    url: String,
    ca_file: Option<String>,
}

impl Store {
    fn url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca_file: None,
        }
    }

    fn memory() -> Self {
        Self::url("memory:")
    }

    fn redis() -> Self {
        Self::url(redis_url())
    }

    fn postgres() -> Self {
        Self::url(database_url())
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}-{}", std::process::id())
}

/// The example app on 127.0.0.1:0, with a user of its own and a manual clock.
struct Server {
    base: String,
    http: reqwest::Client,
    clock: ManualClock,
    sessions: Sessions,
    user: String,
    password: String,
    store: String,
}

fn unix_seconds() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

impl Server {
    async fn start(store: &Store) -> Self {
        Self::with(store, |_| {}).await
    }

    async fn with(store: &Store, configure: impl FnOnce(&mut Settings)) -> Self {
        logs();
        let user = unique("user");
        let password = unique("password");
        let clock = ManualClock::new(unix_seconds());
        let mut settings = Settings::new(refresh_flow::random_secret().unwrap());
        settings.store_url = store.url.clone();
        settings.store_ca_file = store.ca_file.clone();
        settings.users = [(user.clone(), password.clone())].into();
        settings.clock = Some(clock.clone());
        configure(&mut settings);
        let app = refresh_flow::app(&settings).await.unwrap();
        // Now, after the store was opened: its continuity marker (the
        // second its data began) refuses tokens issued before it.
        clock.set(unix_seconds());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app.router).await });
        Self {
            base,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            clock,
            sessions: app.sessions,
            user,
            password,
            store: store.url.split(':').next().unwrap_or_default().to_owned(),
        }
    }

    async fn post_login(&self, user: &str, password: &str) -> Answer {
        let body = json!({ "username": user, "password": password }).to_string();
        let req = self
            .http
            .post(format!("{}/login", self.base))
            .header("content-type", "application/json")
            .body(body);
        Answer::read(req).await
    }

    /// A successful login: the access token and the refresh cookie.
    async fn login(&self) -> (String, String) {
        let answer = self.post_login(&self.user, &self.password).await;
        assert_eq!(answer.status, 200, "[{}] {answer:?}", self.store);
        (answer.access(), answer.cookie().expect("a refresh cookie"))
    }

    async fn refresh(&self, cookie: Option<&str>) -> Answer {
        let mut req = self.http.post(format!("{}/refresh", self.base));
        if let Some(cookie) = cookie {
            req = req.header("cookie", format!("theme=dark; {REFRESH_COOKIE}={cookie}"));
        }
        Answer::read(req).await
    }

    /// A refresh that must rotate: the new access token and cookie.
    async fn rotate(&self, cookie: &str) -> (String, String) {
        let answer = self.refresh(Some(cookie)).await;
        assert_eq!(answer.status, 200, "[{}] {answer:?}", self.store);
        (
            answer.access(),
            answer.cookie().expect("a new refresh cookie"),
        )
    }

    /// `POST /refresh` with these `Cookie` lines and other headers, as given.
    async fn refresh_with(&self, cookies: &[String], headers: &[(&str, &str)]) -> Answer {
        let mut req = self.http.post(format!("{}/refresh", self.base));
        for cookie in cookies {
            req = req.header("cookie", cookie);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Answer::read(req).await
    }

    /// `POST /login` with the server's user and, if given, a `DPoP` proof.
    async fn login_proven(&self, proof: Option<&str>) -> Answer {
        let body = json!({ "username": self.user, "password": self.password }).to_string();
        let mut req = self
            .http
            .post(format!("{}/login", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(proof) = proof {
            req = req.header("dpop", proof);
        }
        Answer::read(req).await
    }

    /// `POST /refresh` with the cookie and, if given, a `DPoP` proof.
    async fn refresh_proven(&self, cookie: &str, proof: Option<&str>) -> Answer {
        let mut req = self
            .http
            .post(format!("{}/refresh", self.base))
            .header("cookie", format!("{REFRESH_COOKIE}={cookie}"));
        if let Some(proof) = proof {
            req = req.header("dpop", proof);
        }
        Answer::read(req).await
    }

    /// A proof by `key` for `POST` to `path` of this server, now.
    fn proof(&self, key: &ClientKey, path: &str) -> String {
        key.proof("POST", &format!("{}{path}", self.base), self.clock.now())
    }

    async fn me(&self, access: &str) -> Answer {
        Answer::read(
            self.http
                .get(format!("{}/me", self.base))
                .bearer_auth(access),
        )
        .await
    }

    async fn post(&self, path: &str, access: &str) -> Answer {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(access);
        Answer::read(req).await
    }

    /// Asserts a refresh with `cookie` is refused with `code`, and the
    /// cookie is cleared.
    #[track_caller]
    fn refused(&self, answer: &Answer, code: &str) {
        assert_eq!(
            (answer.status, answer.code()),
            (401, Some(code)),
            "[{}] {answer:?}",
            self.store
        );
        assert_eq!(answer.body["error"], "invalid_grant", "{answer:?}");
        assert!(
            answer
                .set_cookies
                .iter()
                .any(|c| c.starts_with(&format!("{REFRESH_COOKIE}=;")) && c.contains("Max-Age=0")),
            "a refused refresh clears the cookie: {answer:?}"
        );
    }
}

/// An HTTP answer, read whole.
struct Answer {
    status: u16,
    body: Value,
    set_cookies: Vec<String>,
    cache_control: Option<String>,
    cookie: Option<String>,
}

impl Answer {
    async fn read(req: reqwest::RequestBuilder) -> Self {
        let res = req.send().await.expect("the server answers");
        let headers = res.headers().clone();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        Self {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            set_cookies: headers
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect(),
            cache_control: headers
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned()),
            cookie: refresh_flow::set_cookie(&headers, REFRESH_COOKIE),
        }
    }

    fn code(&self) -> Option<&str> {
        self.body["code"].as_str()
    }

    fn access(&self) -> String {
        self.body["access_token"].as_str().unwrap().to_owned()
    }

    fn cookie(&self) -> Option<String> {
        self.cookie.clone()
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} set-cookie={:?}",
            self.status, self.body, self.set_cookies
        )
    }
}

async fn login_answers_a_bearer_token_and_a_strict_refresh_cookie(store: &Store) {
    let server = Server::start(store).await;
    let answer = server.post_login(&server.user, &server.password).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900);
    assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
    let [set_cookie] = answer.set_cookies.as_slice() else {
        panic!("one Set-Cookie: {answer:?}");
    };
    for attribute in [
        "; Path=/;",
        "; Max-Age=604800;",
        "; HttpOnly;",
        "; Secure;",
        "; SameSite=Strict",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let me = server.me(&answer.access()).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["sub"], server.user);
    assert_eq!(me.body["ver"], 0);
    assert!(me.body["sid"].is_string());
}

#[tokio::test]
async fn wrong_credentials_get_401_and_no_cookie() {
    let server = Server::start(&Store::memory()).await;
    for (user, password) in [
        (server.user.as_str(), "wrong"),
        ("nobody", server.password.as_str()),
        (server.user.as_str(), ""),
    ] {
        let answer = server.post_login(user, password).await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, Some("invalid_credentials"))
        );
        assert!(answer.set_cookies.is_empty(), "{answer:?}");
    }
}

async fn refresh_rotates_the_cookie_and_answers_a_new_access_token(store: &Store) {
    let server = Server::start(store).await;
    let (first_access, first_cookie) = server.login().await;
    let answer = server.refresh(Some(&first_cookie)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900);
    let (second_access, second_cookie) = (answer.access(), answer.cookie().unwrap());
    assert_ne!(second_cookie, first_cookie);
    assert_ne!(second_access, first_access);
    let me = server.me(&second_access).await;
    assert_eq!(me.status, 200, "{me:?}");
    server.rotate(&second_cookie).await;
}

/// An OAuth client library refreshes at `POST /token` (RFC 6749 section 6)
/// with the same refresh token the cookie holds: the rotated pair in the
/// body, the new access token passes `/me`, and the spent one is
/// `invalid_grant` there too (400, as section 5.2 says).
async fn the_token_endpoint_refreshes_as_oauth_clients_expect(store: &Store) {
    let server = Server::start(store).await;
    let (_, cookie) = server.login().await;
    let token = |refresh: &str| {
        server
            .http
            .post(format!("{}/token", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=refresh_token&refresh_token={refresh}"))
    };
    let answer = Answer::read(token(&cookie)).await;
    assert_eq!(answer.status, 200, "[{}] {answer:?}", server.store);
    assert_eq!(answer.body["token_type"], "Bearer");
    let next = answer.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, cookie);
    assert_eq!(server.me(&answer.access()).await.status, 200);
    // Within the retry window, the same request again is a retry (its
    // answer was lost): the same new refresh token.
    let retried = Answer::read(token(&cookie)).await;
    assert_eq!(retried.status, 200, "[{}] {retried:?}", server.store);
    assert_eq!(retried.body["refresh_token"].as_str(), Some(next.as_str()));
    // After it, the spent token is reuse.
    server.clock.advance(10);
    let spent = Answer::read(token(&cookie)).await;
    assert_eq!(
        (
            spent.status,
            spent.body["error"].as_str(),
            spent.body["code"].as_str()
        ),
        (400, Some("invalid_grant"), Some("refresh_reused")),
        "[{}] {spent:?}",
        server.store
    );
}

/// The story's core: a replayed refresh cookie kills the session, and its
/// live access token gets 401 through the layer at once.
async fn a_replayed_refresh_cookie_revokes_the_session(store: &Store) {
    let url = &store.url;
    let server = Server::start(store).await;
    let (_, stolen) = server.login().await;
    let (access, newest) = server.rotate(&stolen).await;
    assert_eq!(server.me(&access).await.status, 200);
    // Past the retry window (a replay within it is taken for a lost answer).
    server.clock.advance(10);
    server.refused(&server.refresh(Some(&stolen)).await, "refresh_reused");
    let me = server.me(&access).await;
    assert_eq!(
        (me.status, me.code()),
        (401, Some("token_revoked")),
        "[{url}] {me:?}"
    );
    // The newest cookie was never replayed: its session is revoked.
    server.refused(&server.refresh(Some(&newest)).await, "session_revoked");
    let (again, _) = server.login().await;
    assert_eq!(
        server.me(&again).await.status,
        200,
        "logging in again works"
    );
}

async fn an_expired_access_token_is_replaced_by_refreshing(store: &Store) {
    let server = Server::start(store).await;
    let (access, cookie) = server.login().await;
    server.clock.advance(15 * 60 + 61);
    let me = server.me(&access).await;
    assert_eq!(
        (me.status, me.code()),
        (401, Some("token_expired")),
        "{me:?}"
    );
    let (access, _) = server.rotate(&cookie).await;
    assert_eq!(server.me(&access).await.status, 200);
}

/// The idle timeout and absolute lifetime, shortened as
/// `AUTH_IDLE_TIMEOUT_SECS` / `AUTH_SESSION_TTL_SECS` would.
async fn idle_and_absolute_limits_end_the_session(store: &Store) {
    let server = Server::with(store, |s| {
        s.access_ttl = Duration::from_secs(30);
        s.idle_timeout = Duration::from_secs(60);
        s.session_ttl = Duration::from_secs(300);
    })
    .await;
    let (_, cookie) = server.login().await;
    server.clock.advance(59);
    let (_, cookie) = server.rotate(&cookie).await;
    server.clock.advance(60);
    server.refused(&server.refresh(Some(&cookie)).await, "session_idle");

    let (_, mut cookie) = server.login().await;
    let mut rotations = 0;
    loop {
        assert!(rotations < 10, "the session outlived 300 s");
        server.clock.advance(50);
        let answer = server.refresh(Some(&cookie)).await;
        if answer.status != 200 {
            server.refused(&answer, "session_expired");
            break;
        }
        cookie = answer.cookie().unwrap();
        rotations += 1;
    }
    assert_eq!(
        rotations, 5,
        "refreshes at 50, 100, ... 250 s; 300 s is the end"
    );
}

async fn logout_ends_one_session_and_logout_all_ends_them_all(store: &Store) {
    let url = &store.url;
    let server = Server::start(store).await;
    let (phone, phone_cookie) = server.login().await;
    let (laptop, laptop_cookie) = server.login().await;
    let (tablet, tablet_cookie) = server.login().await;

    let answer = server.post("/logout", &phone).await;
    assert_eq!(answer.status, 204, "{answer:?}");
    assert!(answer.set_cookies.iter().any(|c| c.contains("Max-Age=0")));
    let me = server.me(&phone).await;
    assert_eq!((me.status, me.code()), (401, Some("token_revoked")));
    server.refused(
        &server.refresh(Some(&phone_cookie)).await,
        "session_revoked",
    );
    assert_eq!(
        server.me(&laptop).await.status,
        200,
        "other sessions live on"
    );

    let answer = server.post("/logout-all", &laptop).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["sessions_ended"], 2);
    for (access, cookie) in [(&laptop, &laptop_cookie), (&tablet, &tablet_cookie)] {
        let me = server.me(access).await;
        assert_eq!(
            (me.status, me.code()),
            (401, Some("token_revoked")),
            "[{url}]"
        );
        server.refused(&server.refresh(Some(cookie)).await, "reauth_required");
    }
    let (again, cookie) = server.login().await;
    assert_eq!(server.me(&again).await.status, 200);
    server.rotate(&cookie).await;
}

/// A user whose version was bumped elsewhere (e.g. a password change
/// service writing the revocation store) cannot refresh.
async fn a_bumped_version_blocks_refresh(store: &Store) {
    let server = Server::start(store).await;
    let (_, cookie) = server.login().await;
    let sessions = &server.sessions;
    sessions
        .revocation()
        .revoke_user(sessions.issuer().iss(), &server.user)
        .await
        .unwrap();
    server.refused(&server.refresh(Some(&cookie)).await, "reauth_required");
}

async fn garbage_refresh_cookies_get_401_refresh_invalid_and_change_nothing(store: &Store) {
    let url = &store.url;
    let server = Server::start(store).await;
    let (access, cookie) = server.login().await;
    let sid = cookie.split_once('.').unwrap().0.to_owned();
    let answer = server.refresh(None).await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, Some("refresh_invalid")),
        "no cookie"
    );
    for garbage in [
        String::new(),
        "garbage".to_owned(),
        access.clone(),
        format!("{sid}.{}", "A".repeat(43)),
        format!("{}.{}", unique("nope"), "A".repeat(43)),
        format!("{cookie}A"),
        "%00%0d%0a".to_owned(),
    ] {
        let answer = server.refresh(Some(&garbage)).await;
        server.refused(&answer, "refresh_invalid");
    }
    assert_eq!(
        server.me(&access).await.status,
        200,
        "[{url}] nothing changed"
    );
    server.rotate(&cookie).await;
}

/// 50 browsers tabs refreshing at once with one cookie: within the retry
/// window they all get the one rotation's cookie, and the session lives on.
async fn fifty_concurrent_refreshes_over_http_one_wins(store: &Store) {
    let url = &store.url;
    let server = Arc::new(Server::start(store).await);
    let (_, cookie) = server.login().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (server, cookie) = (Arc::clone(&server), cookie.clone());
        tasks.spawn(async move { server.refresh(Some(&cookie)).await });
    }
    let mut ok = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        match answer.status {
            200 => ok.push(answer),
            _ => panic!("[{url}] unexpected {answer:?}"),
        }
    }
    let cookies: std::collections::HashSet<_> = ok.iter().map(|a| a.cookie().unwrap()).collect();
    assert_eq!((ok.len(), cookies.len()), (50, 1), "[{url}] one successor");
    let me = server.me(&ok[0].access()).await;
    assert_eq!(me.status, 200, "[{url}] the session lives on: {me:?}");
}

/// No refresh token and no access token appears in anything logged, at any
/// level, by the app, the layer, axum, hyper or the store clients.
async fn tokens_never_reach_the_logs(store: &Store) {
    let url = &store.url;
    let server = Server::start(store).await;
    let (access, first) = server.login().await;
    let (second_access, second) = server.rotate(&first).await;
    server.refresh(Some(&first)).await;
    server.refresh(Some(&format!("{first}A"))).await;
    let (third_access, third) = server.login().await;
    server.post("/logout", &third_access).await;
    server.me(&second_access).await;
    let text = logs().text();
    assert!(text.contains("reuse_detected"), "the capture works");
    for token in [
        &access,
        &first,
        &second_access,
        &second,
        &third_access,
        &third,
    ] {
        let secret = token.rsplit('.').next().unwrap();
        assert!(!text.contains(token.as_str()), "[{url}] a token was logged");
        assert!(
            !text.contains(secret),
            "[{url}] a token's secret part was logged"
        );
    }
}

/// `AUTH_DPOP=required`: a login with a proof binds the session to the
/// client's key: the access token carries its thumbprint in `cnf.jkt` and
/// is a DPoP token. The refresh cookie alone, or with a proof by another
/// key, or with a proof copied from the client's request, is refused with
/// 400 `invalid_dpop_proof`, and spends and clears nothing: the client
/// refreshes with that same cookie afterwards.
async fn dpop_binds_the_refresh_cookie_to_the_clients_key(store: &Store) {
    let server = Server::with(store, |s| s.dpop = DpopMode::Required).await;
    let client = ClientKey::generate();
    let login = server
        .login_proven(Some(&server.proof(&client, "/login")))
        .await;
    assert_eq!(login.status, 200, "[{}] {login:?}", server.store);
    assert_eq!(login.body["token_type"], "DPoP");
    assert_eq!(
        access_claims(&login.access())["cnf"],
        json!({ "jkt": client.jkt() })
    );
    let cookie = login.cookie().unwrap();

    let proof = server.proof(&client, "/refresh");
    let refreshed = server.refresh_proven(&cookie, Some(&proof)).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert_eq!(refreshed.body["token_type"], "DPoP");
    assert_eq!(
        access_claims(&refreshed.access())["cnf"]["jkt"],
        client.jkt()
    );
    let stolen = refreshed.cookie().unwrap();

    let thief = ClientKey::generate();
    for (what, answer, code) in [
        (
            "no proof",
            server.refresh_proven(&stolen, None).await,
            "dpop_proof_missing",
        ),
        (
            "the thief's key",
            server
                .refresh_proven(&stolen, Some(&server.proof(&thief, "/refresh")))
                .await,
            "dpop_key_mismatch",
        ),
        (
            "the client's proof replayed",
            server.refresh_proven(&stolen, Some(&proof)).await,
            "dpop_replayed",
        ),
    ] {
        assert_eq!(
            (answer.status, answer.code()),
            (400, Some(code)),
            "[{}] {what}: {answer:?}",
            server.store
        );
        assert_eq!(answer.body["error"], "invalid_dpop_proof", "{what}");
        assert!(
            answer.set_cookies.is_empty(),
            "{what}: nothing cleared: {answer:?}"
        );
    }

    // Well past the retry window: the cookie was not spent, so this is a
    // rotation, not reuse.
    server.clock.advance(30);
    let proof = server.proof(&client, "/refresh");
    let after = server.refresh_proven(&stolen, Some(&proof)).await;
    assert_eq!(after.status, 200, "[{}] {after:?}", server.store);
    assert_eq!(after.body["token_type"], "DPoP");
    assert_ne!(after.cookie().unwrap(), stolen);
}

/// The claims of an access token (the tests trust the app's signature).
fn access_claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Each scenario above as one test per store: memory, Redis
/// (`AUTH_TEST_REDIS_URL`) and PostgreSQL (`AUTH_TEST_DATABASE_URL`); the
/// last two show as ignored where their service is not configured.
macro_rules! on_every_store {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario(&super::Store::memory()).await;
                }
            )*
        }

        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
                async fn $scenario() {
                    super::$scenario(&super::Store::redis()).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(postgres_service), ignore = "needs PostgreSQL: set AUTH_TEST_DATABASE_URL")]
                async fn $scenario() {
                    super::$scenario(&super::Store::postgres()).await;
                }
            )*
        }
    };
}

on_every_store!(
    login_answers_a_bearer_token_and_a_strict_refresh_cookie,
    refresh_rotates_the_cookie_and_answers_a_new_access_token,
    a_replayed_refresh_cookie_revokes_the_session,
    an_expired_access_token_is_replaced_by_refreshing,
    idle_and_absolute_limits_end_the_session,
    logout_ends_one_session_and_logout_all_ends_them_all,
    a_bumped_version_blocks_refresh,
    garbage_refresh_cookies_get_401_refresh_invalid_and_change_nothing,
    fifty_concurrent_refreshes_over_http_one_wins,
    tokens_never_reach_the_logs,
    dpop_binds_the_refresh_cookie_to_the_clients_key,
    the_token_endpoint_refreshes_as_oauth_clients_expect,
);

/// `AUTH_DPOP=allowed`: a client without a key logs in and refreshes with
/// bearer tokens as before; one with a key is bound, and its refresh cookie
/// then needs a proof (`dpop_proof_required`, nothing spent); a proof at
/// refresh binds no session that logged in without one.
#[tokio::test]
async fn dpop_allowed_binds_only_the_clients_that_send_a_proof() {
    let server = Server::with(&Store::memory(), |s| s.dpop = DpopMode::Allowed).await;
    let client = ClientKey::generate();

    let (bearer, cookie) = server.login().await;
    assert_eq!(access_claims(&bearer).get("cnf"), None);
    assert_eq!(server.me(&bearer).await.status, 200);
    let proof = server.proof(&client, "/refresh");
    let unbound = server.refresh_proven(&cookie, Some(&proof)).await;
    assert_eq!(unbound.status, 200, "{unbound:?}");
    assert_eq!(
        unbound.body["token_type"], "Bearer",
        "a proof at refresh binds nothing"
    );
    assert_eq!(server.me(&unbound.access()).await.status, 200);
    server.rotate(&unbound.cookie().unwrap()).await;

    let login = server
        .login_proven(Some(&server.proof(&client, "/login")))
        .await;
    assert_eq!(login.body["token_type"], "DPoP", "{login:?}");
    let cookie = login.cookie().unwrap();
    let bare = server.refresh_proven(&cookie, None).await;
    assert_eq!(
        (bare.status, bare.code()),
        (400, Some("dpop_proof_required")),
        "{bare:?}"
    );
    assert!(bare.set_cookies.is_empty(), "{bare:?}");
    let proof = server.proof(&client, "/refresh");
    let bound = server.refresh_proven(&cookie, Some(&proof)).await;
    assert_eq!(
        (bound.status, &bound.body["token_type"]),
        (200, &json!("DPoP"))
    );
}

/// A proof speaks for one route of this app: `htm` `POST`, `htu` the
/// app's origin and the route's path; with `AUTH_PUBLIC_ORIGIN`, that
/// origin. A login's proof does not refresh, nor does one for another
/// host; `required` refuses a login without a proof.
#[tokio::test]
async fn dpop_proofs_must_name_the_route_and_the_apps_origin() {
    let server = Server::with(&Store::memory(), |s| s.dpop = DpopMode::Required).await;
    let client = ClientKey::generate();
    let missing = server.login_proven(None).await;
    assert_eq!(
        (missing.status, missing.code()),
        (400, Some("dpop_proof_missing")),
        "{missing:?}"
    );
    assert!(missing.set_cookies.is_empty());
    let login = server
        .login_proven(Some(&server.proof(&client, "/login")))
        .await;
    let cookie = login.cookie().unwrap();
    let now = server.clock.now();
    for (what, proof, code) in [
        (
            "the login's route",
            server.proof(&client, "/login"),
            "dpop_uri_mismatch",
        ),
        (
            "another host",
            client.proof("POST", "https://elsewhere.example/refresh", now),
            "dpop_uri_mismatch",
        ),
        (
            "another method",
            client.proof("GET", &format!("{}/refresh", server.base), now),
            "dpop_method_mismatch",
        ),
        (
            "ten minutes old",
            client.proof("POST", &format!("{}/refresh", server.base), now - 600),
            "dpop_stale",
        ),
    ] {
        let answer = server.refresh_proven(&cookie, Some(&proof)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, Some(code)),
            "{what}: {answer:?}"
        );
    }
    let proof = server.proof(&client, "/refresh");
    assert_eq!(
        server.refresh_proven(&cookie, Some(&proof)).await.status,
        200
    );

    let behind_a_proxy = Server::with(&Store::memory(), |s| {
        s.dpop = DpopMode::Required;
        s.public_origin = Some("https://app.example".to_owned());
    })
    .await;
    let now = behind_a_proxy.clock.now();
    let local = behind_a_proxy
        .login_proven(Some(&behind_a_proxy.proof(&client, "/login")))
        .await;
    assert_eq!(
        (local.status, local.code()),
        (400, Some("dpop_uri_mismatch")),
        "the public origin, not the Host: {local:?}"
    );
    let public = client.proof("POST", "https://app.example/login", now);
    let login = behind_a_proxy.login_proven(Some(&public)).await;
    assert_eq!(
        (login.status, &login.body["token_type"]),
        (200, &json!("DPoP")),
        "{login:?}"
    );
}

/// The demo with `AUTH_DPOP`: a thief with the refresh cookie and no key
/// is refused, the client with its key refreshes.
#[tokio::test]
async fn the_dpop_demo_tells_its_story() {
    logs();
    for mode in [DpopMode::Required, DpopMode::Allowed] {
        let mut settings = Settings::new(refresh_flow::random_secret().unwrap());
        settings.dpop = mode;
        refresh_flow::demo(settings).await.unwrap();
    }
}

#[test]
fn the_dpop_mode_comes_from_auth_dpop() {
    for (value, mode) in [
        ("off", DpopMode::Off),
        ("allowed", DpopMode::Allowed),
        ("Required", DpopMode::Required),
    ] {
        let settings = Settings::from_lookup(|n| {
            (n == "AUTH_DPOP")
                .then(|| value.to_owned())
                .or_else(|| (n == "AUTH_HMAC_SECRET").then(|| "s".repeat(32)))
        })
        .unwrap();
        assert_eq!(settings.dpop, mode, "{value}");
    }
    let unset = Settings::from_lookup(|n| (n == "AUTH_HMAC_SECRET").then(|| "s".repeat(32)));
    assert_eq!(unset.unwrap().dpop, DpopMode::Off);
    let bad = Settings::from_lookup(|n| (n == "AUTH_DPOP").then(|| "yes".into()));
    let err = bad.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with("AUTH_DPOP"), "{err}");
}

/// The whole story (login, refresh, expiry, reuse revoking the family and
/// its live access token, logout and logout everywhere) on a Redis Cluster
/// the test starts: `AUTH_STORE_URL=redis+cluster://…`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn the_whole_flow_on_a_redis_cluster() {
    let cluster = RedisCluster::start(None).await;
    let store = Store::url(cluster.url());
    whole_flow(&store).await;
}

/// The same over TLS with a private CA: `AUTH_STORE_URL=rediss://…` and
/// `AUTH_STORE_CA_FILE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(redis_server),
    ignore = "needs redis-server: set AUTH_TEST_REDIS_SERVER"
)]
async fn the_whole_flow_over_tls_with_a_private_ca() {
    let ca = TestCa::new("refresh flow CA");
    let server = RedisServer::start_tls(&ca).await;
    let dir = ScratchDir::new("refresh-flow-ca");
    let settings = Settings::from_lookup(|name| match name {
        "AUTH_HMAC_SECRET" => Some("a-secret-of-at-least-thirty-two-bytes!".to_owned()),
        "AUTH_STORE_URL" => Some(server.url()),
        "AUTH_STORE_CA_FILE" => Some(ca.write(dir.path(), "ca.pem").display().to_string()),
        _ => None,
    })
    .unwrap();
    let store = Store {
        url: settings.store_url,
        ca_file: settings.store_ca_file,
    };
    whole_flow(&store).await;
}

async fn whole_flow(store: &Store) {
    refresh_rotates_the_cookie_and_answers_a_new_access_token(store).await;
    an_expired_access_token_is_replaced_by_refreshing(store).await;
    a_replayed_refresh_cookie_revokes_the_session(store).await;
    logout_ends_one_session_and_logout_all_ends_them_all(store).await;
    fifty_concurrent_refreshes_over_http_one_wins(store).await;
}

#[tokio::test]
async fn the_demo_tells_the_whole_story() {
    logs();
    let settings = Settings::new(refresh_flow::random_secret().unwrap());
    refresh_flow::demo(settings).await.unwrap();
}

#[test]
fn settings_come_from_the_documented_variables() {
    let vars = [
        ("AUTH_LISTEN", "127.0.0.1:0"),
        ("AUTH_HMAC_SECRET", "a-secret-of-at-least-thirty-two-bytes!"),
        ("AUTH_ACCESS_TTL_SECS", "60"),
        ("AUTH_IDLE_TIMEOUT_SECS", "120"),
        ("AUTH_SESSION_TTL_SECS", "600"),
        (
            "AUTH_STORE_URL",
            "rediss+cluster://10.0.0.1:6380,10.0.0.2:6380",
        ),
        ("AUTH_STORE_CA_FILE", "/etc/ssl/private/redis-ca.pem"),
        ("AUTH_PUBLIC_ORIGIN", "HTTPS://App.Example:443/"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let s = Settings::from_lookup(lookup).unwrap();
    assert_eq!(s.listen, "127.0.0.1:0");
    assert_eq!(s.secret, b"a-secret-of-at-least-thirty-two-bytes!");
    assert_eq!(
        (s.access_ttl, s.idle_timeout, s.session_ttl),
        (
            Duration::from_secs(60),
            Duration::from_secs(120),
            Duration::from_secs(600)
        )
    );
    assert_eq!(s.store_url, "rediss+cluster://10.0.0.1:6380,10.0.0.2:6380");
    assert_eq!(
        s.store_ca_file.as_deref(),
        Some("/etc/ssl/private/redis-ca.pem")
    );
    assert_eq!(s.public_origin.as_deref(), Some("https://app.example"));

    let defaults = Settings::from_lookup(|_| None).unwrap();
    assert_eq!(defaults.listen, "127.0.0.1:3000");
    assert_eq!(defaults.secret.len(), 32, "a generated secret");
    assert_eq!(defaults.access_ttl, Duration::from_secs(900));
    assert_eq!(defaults.store_ca_file, None);
    assert_eq!(defaults.idle_timeout, Duration::from_secs(86_400));
    assert_eq!(defaults.session_ttl, Duration::from_secs(604_800));
    assert_eq!(defaults.store_url, "memory:");
    assert_eq!(defaults.public_origin, None, "the request's Host");
    assert_eq!(defaults.users["alice"], "alice-password");

    let bad = Settings::from_lookup(|n| (n == "AUTH_IDLE_TIMEOUT_SECS").then(|| "soon".into()));
    assert!(
        bad.err()
            .unwrap()
            .to_string()
            .contains("AUTH_IDLE_TIMEOUT_SECS")
    );
    for origin in [
        "app.example",
        "https://app.example/login",
        "ftp://app.example",
        "null",
    ] {
        let bad = Settings::from_lookup(|n| (n == "AUTH_PUBLIC_ORIGIN").then(|| origin.into()));
        let err = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("AUTH_PUBLIC_ORIGIN"), "{origin}: {err}");
    }
}

/// Regression: the cookie was `refresh_token` (no prefix), which a sibling
/// subdomain can plant or shadow with `Domain=` set to the parent domain.
/// Under the `__Host-` prefix browsers accept the cookie only from this
/// host, over HTTPS, with `Path=/` and no `Domain`; the old name is not
/// read any more.
#[tokio::test]
async fn the_refresh_cookie_has_the_host_prefix() {
    let server = Server::start(&Store::memory()).await;
    let (access, first) = server.login().await;
    let rotated = server.refresh(Some(&first)).await;
    let logout = server.post("/logout", &access).await;
    let login = server.post_login(&server.user, &server.password).await;
    for (what, answer) in [("login", &login), ("refresh", &rotated)] {
        let [set_cookie] = answer.set_cookies.as_slice() else {
            panic!("{what}: one Set-Cookie: {answer:?}");
        };
        assert!(
            set_cookie.starts_with("__Host-refresh_token="),
            "{what}: {set_cookie}"
        );
        for attribute in ["; Path=/;", "; HttpOnly;", "; Secure;", "; SameSite=Strict"] {
            assert!(
                set_cookie.contains(attribute),
                "{what}: {attribute} in {set_cookie}"
            );
        }
        assert!(
            !set_cookie.to_lowercase().contains("domain="),
            "{set_cookie}"
        );
    }
    assert_eq!(
        logout.set_cookies,
        ["__Host-refresh_token=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"],
        "logout clears the cookie it set"
    );

    let cookie = login.cookie().expect("a refresh cookie");
    let unprefixed = server
        .refresh_with(&[format!("refresh_token={cookie}")], &[])
        .await;
    assert_eq!(
        (unprefixed.status, unprefixed.code()),
        (401, Some("refresh_invalid")),
        "a cookie without the prefix is not read: {unprefixed:?}"
    );
    server.rotate(&cookie).await;
}

/// Regression: `/refresh` trusted `SameSite=Strict` alone, which does not
/// stop requests from sibling subdomains (they are same-site) nor browsers
/// that ignore the attribute. A browser's cross-origin request is refused
/// before the cookie is looked at: 403, nothing spent, nothing cleared.
/// Clients that send neither header (curl, mobile apps) are not browsers
/// and pass.
#[tokio::test]
async fn cross_origin_refreshes_are_refused_and_spend_nothing() {
    let server = Server::start(&Store::memory()).await;
    let (_, cookie) = server.login().await;
    let own = server.base.as_str();
    let refused: [(&str, &[(&str, &str)]); 8] = [
        ("cross-site fetch", &[("sec-fetch-site", "cross-site")]),
        (
            "a sibling subdomain's fetch",
            &[("sec-fetch-site", "same-site")],
        ),
        ("a foreign origin", &[("origin", "https://evil.example")]),
        ("an opaque origin", &[("origin", "null")]),
        (
            "this host on another port",
            &[("origin", "http://127.0.0.1:1")],
        ),
        (
            "a foreign origin claiming same-origin",
            &[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://evil.example"),
            ],
        ),
        (
            "the own origin in a cross-site fetch",
            &[("origin", own), ("sec-fetch-site", "cross-site")],
        ),
        ("an unknown fetch site", &[("sec-fetch-site", "elsewhere")]),
    ];
    for (case, headers) in refused {
        let answer = server
            .refresh_with(&[format!("{REFRESH_COOKIE}={cookie}")], headers)
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (403, Some("cross_origin_request")),
            "{case}: {answer:?}"
        );
        assert_eq!(answer.body["error"], "invalid_request", "{case}");
        assert!(
            answer.set_cookies.is_empty(),
            "{case}: a refused request must not clear the user's cookie: {answer:?}"
        );
    }

    // The first cookie was never spent: the accepted requests rotate it on.
    let mut cookie = cookie;
    let accepted: [(&str, &[(&str, &str)]); 4] = [
        ("no Origin, no Sec-Fetch-Site (curl)", &[]),
        (
            "the app's own page",
            &[("sec-fetch-site", "same-origin"), ("origin", own)],
        ),
        ("the own origin only", &[("origin", own)]),
        ("typed by the user", &[("sec-fetch-site", "none")]),
    ];
    for (case, headers) in accepted {
        let answer = server
            .refresh_with(&[format!("{REFRESH_COOKIE}={cookie}")], headers)
            .await;
        assert_eq!(answer.status, 200, "{case}: {answer:?}");
        cookie = answer.cookie().unwrap();
    }
}

/// Behind a proxy that rewrites `Host`, the own origin is
/// `AUTH_PUBLIC_ORIGIN`, and only that origin.
#[tokio::test]
async fn the_public_origin_setting_names_the_own_origin() {
    let server = Server::with(&Store::memory(), |s| {
        s.public_origin = Some("https://app.example".to_owned());
    })
    .await;
    let (_, cookie) = server.login().await;
    let own_host = server.base.clone();
    let answer = server
        .refresh_with(
            &[format!("{REFRESH_COOKIE}={cookie}")],
            &[("origin", own_host.as_str())],
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (403, Some("cross_origin_request")),
        "{answer:?}"
    );
    let answer = server
        .refresh_with(
            &[format!("{REFRESH_COOKIE}={cookie}")],
            &[
                ("origin", "https://app.example"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

/// Regression: with two refresh cookies the first one won, so which
/// session a request refreshed depended on cookie order. Two different
/// values are now a 400 (as the layer answers two different tokens) and
/// neither is spent; the same value twice is one token.
#[tokio::test]
async fn two_different_refresh_cookies_are_a_400_and_spend_neither() {
    let server = Server::start(&Store::memory()).await;
    let (_, first) = server.login().await;
    let (_, second) = server.login().await;
    let name = REFRESH_COOKIE;
    for cookies in [
        vec![format!("{name}={first}; {name}={second}")],
        vec![
            format!("{name}={first}"),
            format!("theme=dark; {name}={second}"),
        ],
    ] {
        let answer = server.refresh_with(&cookies, &[]).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, Some("multiple_tokens")),
            "{cookies:?}: {answer:?}"
        );
        assert_eq!(answer.body["error"], "invalid_request");
        assert!(answer.set_cookies.is_empty(), "{answer:?}");
    }
    let answer = server
        .refresh_with(&[format!("{name}={first}"), format!("{name}={first}")], &[])
        .await;
    assert_eq!(answer.status, 200, "the same value twice: {answer:?}");
    server.rotate(&second).await;
}
