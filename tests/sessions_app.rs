//! The `sessions_app` example, run as a user runs it (its binary, built
//! with the examples, on a port the OS picks) and driven through HTTP:
//! login, refresh through the cookie, refresh at `POST /token` (narrowed to
//! a scope, then whole), the scope-guarded route, logout everywhere, and
//! the old access token refused. The README shows the example's code: it
//! must be the file as it is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};

use auth_tests::{Reply, send};
use serde_json::json;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!";

/// The running example; stopped when dropped.
struct App {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl App {
    fn start() -> Self {
        let mut child = Command::new(auth_tests::example_binary("sessions_app"))
            .env("AUTH_HMAC_SECRET", SECRET)
            .env("AUTH_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the app prints its address").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        // Keep reading, so that the app never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            child,
            base,
            client,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    async fn login(&self, username: &str, password: &str) -> Reply {
        let body = json!({ "username": username, "password": password });
        send(self.post("/login").json(&body)).await
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        let cookie = format!("__Host-refresh_token={refresh_token}");
        send(self.post("/refresh").header("cookie", cookie)).await
    }

    async fn token_endpoint(&self, form: &str) -> Reply {
        let request = self
            .post("/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        send(request).await
    }

    async fn bearer(&self, path: &str, access_token: &str) -> Reply {
        let request = self.post(path).bearer_auth(access_token);
        send(request).await
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The refresh token a reply's `Set-Cookie` carries, after checking the
/// cookie's attributes.
fn cookie_token(reply: &Reply) -> String {
    let set_cookie = reply.header("set-cookie").expect("a Set-Cookie");
    assert!(
        set_cookie.starts_with("__Host-refresh_token=") && set_cookie.contains(';'),
        "not the refresh cookie: {set_cookie}"
    );
    let (token, attributes) = set_cookie
        .strip_prefix("__Host-refresh_token=")
        .and_then(|rest| rest.split_once(';'))
        .expect("the refresh cookie, with attributes");
    assert!(
        attributes.contains("Path=/") && attributes.ends_with("HttpOnly; Secure; SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(!token.is_empty(), "{set_cookie}");
    token.to_owned()
}

/// The access token of a 200 token response.
fn access_token(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply:?}");
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer", "{reply:?}");
    assert!(body["expires_in"].as_u64().is_some(), "{reply:?}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

#[tokio::test]
async fn login_refresh_scope_and_logout_everywhere_through_http() {
    let app = App::start();

    // A wrong password: no session.
    let refused = app.login("alice", "wrong").await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(refused.header("set-cookie").is_none());

    // Login: the access token in the JSON, the refresh token only in the cookie.
    let login = app.login("alice", "alice-password").await;
    let first_access = access_token(&login);
    let first_refresh = cookie_token(&login);
    assert!(!login.body.contains(&first_refresh), "{login:?}");
    let order = app.bearer("/orders", &first_access).await;
    assert_eq!(order.status, 200, "{order:?}");
    assert_eq!(order.json(), json!({ "created_by": "alice" }));
    let anonymous = send(app.post("/orders")).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(anonymous.code().as_deref(), Some("token_missing"));

    // Refresh through the cookie: a new access token and a rotated cookie.
    let refreshed = app.refresh(&first_refresh).await;
    let second_access = access_token(&refreshed);
    let second_refresh = cookie_token(&refreshed);
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(app.bearer("/orders", &second_access).await.status, 200);

    // The token endpoint, narrowed to `orders:read`: the guarded route refuses it.
    let narrowed = app
        .token_endpoint(&format!(
            "grant_type=refresh_token&refresh_token={second_refresh}&scope=orders%3Aread"
        ))
        .await;
    let read_only = access_token(&narrowed);
    assert_eq!(narrowed.json()["scope"], "orders:read", "{narrowed:?}");
    let third_refresh = narrowed.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let forbidden = app.bearer("/orders", &read_only).await;
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    assert_eq!(forbidden.code().as_deref(), Some("insufficient_scope"));
    assert!(
        forbidden
            .www_authenticate
            .as_deref()
            .is_some_and(|challenge| challenge.contains(r#"scope="orders:write""#)),
        "{forbidden:?}"
    );

    // The token endpoint again, whole: the session kept its grant.
    let whole = app
        .token_endpoint(&format!(
            "grant_type=refresh_token&refresh_token={third_refresh}"
        ))
        .await;
    let fourth_access = access_token(&whole);
    let fourth_refresh = whole.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.bearer("/orders", &fourth_access).await.status, 200);

    // A second device, then logout everywhere from the first.
    let other_device = app.login("alice", "alice-password").await;
    let other_access = access_token(&other_device);
    let other_refresh = cookie_token(&other_device);
    let logout = app.bearer("/logout-all", &fourth_access).await;
    assert_eq!(logout.status, 200, "{logout:?}");
    assert_eq!(logout.json(), json!({ "sessions_ended": 2 }));

    // Every access token of the user is refused, and no session refreshes.
    for stale in [&first_access, &second_access, &fourth_access, &other_access] {
        let reply = app.bearer("/orders", stale).await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.code().as_deref(), Some("token_revoked"), "{reply:?}");
    }
    for dead in [&fourth_refresh, &other_refresh] {
        let reply = app.refresh(dead).await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.json()["error"], "invalid_grant", "{reply:?}");
        assert!(
            reply
                .header("set-cookie")
                .is_some_and(|cookie| cookie.contains("Max-Age=0")),
            "the dead cookie is cleared: {reply:?}"
        );
    }
}

#[test]
fn the_readme_shows_the_example_as_it_is() {
    let example = include_str!("../examples/sessions_app.rs");
    let readme = include_str!("../README.md");
    let code = example
        .lines()
        .skip_while(|line| line.starts_with("//!"))
        .skip_while(|line| line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect::<String>();
    let block = format!("```rust,no_run\n{code}```\n");
    assert!(
        readme.contains(&block),
        "README.md must show examples/sessions_app.rs (after its `//!` header) verbatim in a rust,no_run block"
    );
}
