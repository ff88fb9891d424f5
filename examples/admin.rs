//! An operator's command line for the revocation store every instance of a
//! service shares: log a user or a session out, deny one token, look a user
//! up, move a 0.1 store's records. Running instances enforce a revocation
//! made here within milliseconds (the store tells them), and within their
//! cache TTL at worst.
//!
//! ```sh
//! export AUTH_REVOCATION_URL=redis://127.0.0.1:6379   # or postgres://…, rediss://…, redis+cluster://…
//! cargo run --example admin -- revoke-user    --issuer https://idp.example --subject alice
//! cargo run --example admin -- revoke-session --issuer https://idp.example --session 3f2a…
//! cargo run --example admin -- revoke-token   --issuer https://idp.example --jti 9c1e… --expires 1767225600
//! cargo run --example admin -- show           --issuer https://idp.example --subject alice
//! cargo run --example admin -- upgrade-0.1    --issuer https://idp.example [--issuer …]
//! ```
//!
//! `AUTH_STORE_CA_FILE` names a private CA for a TLS store. Each command
//! prints its result as one JSON object and exits 0; a usage error exits 2,
//! a store that cannot be reached or fails exits 1, each with a message on
//! standard error. `memory:` is refused: that store lives inside one
//! process, which this one is not.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_layer::revocation::RevocationStore;
use auth_layer::store::{AnyStore, StoreOptions};
use serde_json::{Value, json};

const USAGE: &str = "usage: admin COMMAND [OPTIONS]

commands:
  revoke-user    --issuer ISS --subject SUB                      every token of SUB issued until now is refused
  revoke-session --issuer ISS --session SID                      every token of session SID issued until now is refused
  revoke-token   --issuer ISS --jti JTI --expires EPOCH_SECONDS  the token JTI is refused until it expires
  show           --issuer ISS --subject SUB [--session SID]      what the store holds, as JSON
  upgrade-0.1    --issuer ISS [--issuer ISS…]                    move a 0.1 store's revocations to these issuers

the store: AUTH_REVOCATION_URL (redis://…, rediss://…, redis+cluster://…, postgres://…),
           AUTH_STORE_CA_FILE for a private CA";

/// A usage error (exit 2) or a failure (exit 1), with its message.
enum Failure {
    Usage(String),
    Failed(String),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            eprintln!("admin: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("admin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<Value, Failure> {
    let Some((command, rest)) = args.split_first() else {
        return Err(Failure::Usage("no command".into()));
    };
    let options = Options::parse(rest)?;
    let allowed: &[&str] = match command.as_str() {
        "revoke-user" => &["issuer", "subject"],
        "revoke-session" => &["issuer", "session"],
        "revoke-token" => &["issuer", "jti", "expires"],
        "show" => &["issuer", "subject", "session"],
        "upgrade-0.1" => &["issuer"],
        other => return Err(Failure::Usage(format!("unknown command {other:?}"))),
    };
    if let Some(name) = options.0.keys().find(|n| !allowed.contains(&n.as_str())) {
        return Err(Failure::Usage(format!("{command} takes no --{name}")));
    }
    let now = SystemTime::now();
    let seconds = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match command.as_str() {
        "revoke-user" => {
            let (iss, sub) = (options.one("issuer")?, options.one("subject")?);
            let state = store()
                .await?
                .revoke_subject(iss, sub, i64::try_from(seconds(now)).unwrap_or(i64::MAX))
                .await
                .map_err(failed)?;
            Ok(json!({
                "revoked": "user", "issuer": iss, "subject": sub,
                "not_before": state.not_before, "version": state.version,
            }))
        }
        "revoke-session" => {
            let (iss, sid) = (options.one("issuer")?, options.one("session")?);
            let not_before = i64::try_from(seconds(now)).unwrap_or(i64::MAX);
            store()
                .await?
                .revoke_session(iss, sid, not_before)
                .await
                .map_err(failed)?;
            Ok(
                json!({"revoked": "session", "issuer": iss, "session": sid, "not_before": not_before}),
            )
        }
        "revoke-token" => {
            let (iss, jti) = (options.one("issuer")?, options.one("jti")?);
            let expires = options.one("expires")?;
            let expires: u64 = expires.parse().map_err(|_| {
                Failure::Usage(format!(
                    "--expires {expires:?} is not a Unix time in seconds"
                ))
            })?;
            let until = UNIX_EPOCH + Duration::from_secs(expires);
            store()
                .await?
                .revoke_jti(iss, jti, until)
                .await
                .map_err(failed)?;
            let note = (until <= now).then_some("the token has already expired: nothing to store");
            Ok(
                json!({"revoked": "token", "issuer": iss, "jti": jti, "expires": expires, "note": note}),
            )
        }
        "show" => {
            let (iss, sub) = (options.one("issuer")?, options.one("subject")?);
            let sid = options.optional("session")?;
            let store = store().await?;
            let state = store.subject(iss, sub).await.map_err(failed)?;
            let marker = store.marker().await.map_err(failed)?;
            let mut out = json!({
                "issuer": iss, "subject": sub,
                "version": state.version, "not_before": state.not_before,
                "store_marker": marker,
            });
            if let (Some(sid), Some(fields)) = (sid, out.as_object_mut()) {
                let nb = store.session_not_before(iss, sid).await.map_err(failed)?;
                fields.insert("session".into(), sid.into());
                fields.insert("session_not_before".into(), nb.into());
            }
            Ok(out)
        }
        "upgrade-0.1" => {
            let issuers = options.all("issuer")?;
            let moved = store()
                .await?
                .upgrade_from_0_1(&issuers)
                .await
                .map_err(failed)?;
            Ok(json!({"upgraded": moved, "issuers": issuers}))
        }
        _ => unreachable!("checked above"),
    }
}

/// The store of `AUTH_REVOCATION_URL` (with `AUTH_STORE_CA_FILE`).
async fn store() -> Result<AnyStore, Failure> {
    let url = std::env::var("AUTH_REVOCATION_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            Failure::Failed(
                "AUTH_REVOCATION_URL is not set: name the store your services share".into(),
            )
        })?;
    let url = url.trim();
    if url == "memory:" {
        return Err(Failure::Failed(
            "AUTH_REVOCATION_URL=memory: is the store inside one process: another process cannot see it. \
             Name the Redis or PostgreSQL store your services share"
                .into(),
        ));
    }
    let mut options = StoreOptions::new(url);
    if let Ok(ca) = std::env::var("AUTH_STORE_CA_FILE") {
        options = options.ca_file(ca);
    }
    options
        .connect()
        .await
        .map_err(|e| Failure::Failed(format!("AUTH_REVOCATION_URL: {e}")))
}

fn failed(e: auth_layer::store::StoreError) -> Failure {
    Failure::Failed(format!(
        "the store failed: {e}; nothing was changed, or run it again"
    ))
}

/// `--name value` pairs; a name may repeat.
struct Options(HashMap<String, Vec<String>>);

impl Options {
    fn parse(args: &[String]) -> Result<Self, Failure> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(Failure::Usage(format!("unexpected argument {arg:?}")));
            };
            let value = args
                .next()
                .filter(|v| !v.starts_with("--"))
                .ok_or_else(|| Failure::Usage(format!("--{name} needs a value")))?;
            if value.is_empty() {
                return Err(Failure::Usage(format!("--{name} is empty")));
            }
            map.entry(name.to_owned()).or_default().push(value.clone());
        }
        Ok(Self(map))
    }

    fn one(&self, name: &str) -> Result<&str, Failure> {
        self.optional(name)?
            .ok_or_else(|| Failure::Usage(format!("--{name} is required")))
    }

    fn optional(&self, name: &str) -> Result<Option<&str>, Failure> {
        match self.0.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([one]) => Ok(Some(one)),
            Some(_) => Err(Failure::Usage(format!("--{name} is given more than once"))),
        }
    }

    fn all(&self, name: &str) -> Result<Vec<&str>, Failure> {
        match self.0.get(name) {
            Some(values) => Ok(values.iter().map(String::as_str).collect()),
            None => Err(Failure::Usage(format!("--{name} is required"))),
        }
    }
}
