//! Test support: four providers with keys of their own, logout tokens
//! signed as they would sign them (or not), a layer trusting the providers,
//! and a target recording what it is told.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::JwtAuth;
use crate::backend::{BoxFuture, StoreError};
use crate::clock::ManualClock;
use crate::keys::{Key, TrustedIssuer};
use crate::logout::{BACKCHANNEL_LOGOUT_EVENT, BackChannelLogout, LogoutTarget};
use crate::verify::LogoutRules;

/// The clock of the layer in every test.
pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const OP_HMAC: &str = "https://op-hmac.example";
pub(crate) const OP_RSA: &str = "https://op-rsa.example";
pub(crate) const OP_EC: &str = "https://op-ec.example";
/// A further trusted provider, whose keys must never verify the others' tokens.
pub(crate) const OP_OTHER: &str = "https://op-other.example";
pub(crate) const CLIENT: &str = "my-client";
const SECRET: &str = "the-op-secret-of-at-least-32-bytes!";

/// Whose key signs a test token.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signer {
    Hmac,
    Rsa,
    Ec,
    Other,
}

impl Signer {
    pub(crate) fn alg(self) -> Algorithm {
        match self {
            Self::Hmac => Algorithm::HS256,
            Self::Rsa | Self::Other => Algorithm::RS256,
            Self::Ec => Algorithm::ES256,
        }
    }

    pub(crate) fn kid(self) -> Option<&'static str> {
        match self {
            Self::Hmac => None,
            Self::Rsa => Some("rsa-1"),
            Self::Ec => Some("ec-1"),
            Self::Other => Some("other-1"),
        }
    }

    fn key(self) -> EncodingKey {
        match self {
            Self::Hmac => EncodingKey::from_secret(SECRET.as_bytes()),
            Self::Rsa => EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap(),
            Self::Ec => EncodingKey::from_ec_pem(&key_file("ec_p256_private.pem")).unwrap(),
            Self::Other => EncodingKey::from_rsa_pem(&key_file("other_rsa_private.pem")).unwrap(),
        }
    }
}

pub(crate) fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The claims of a valid logout token from `OP_HMAC`.
pub(crate) fn claims() -> Value {
    json!({
        "iss": OP_HMAC,
        "aud": CLIENT,
        "iat": NOW,
        "exp": NOW + 120,
        "jti": "jti-1",
        "sid": "sid-1",
        "sub": "alice",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    })
}

/// The header a provider would send, explicitly typed.
pub(crate) fn header(signer: Signer) -> Value {
    let mut header = json!({ "alg": signer.alg(), "typ": "logout+jwt" });
    if let Some(kid) = signer.kid() {
        header["kid"] = json!(kid);
    }
    header
}

/// Header and payload as given (repeated members, `alg: none` included),
/// signed by `signer`.
pub(crate) fn sign_raw(header: &str, payload: &str, signer: Signer) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &signer.key(), signer.alg()).unwrap();
    format!("{input}.{signature}")
}

/// Header and payload without a signature, as `alg: none` would have them.
pub(crate) fn unsigned(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

pub(crate) fn sign(header: &Value, claims: &Value, signer: Signer) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), signer)
}

/// A valid token from `OP_HMAC` with `claims`.
pub(crate) fn token(claims: &Value) -> String {
    sign(&header(Signer::Hmac), claims, Signer::Hmac)
}

/// A layer trusting the four providers, each with its own key, at `NOW`.
pub(crate) fn auth() -> JwtAuth {
    let pem = |name| Key::public_key_pem(key_file(name)).unwrap();
    JwtAuth::builder()
        .trusted_issuer(TrustedIssuer::new(OP_HMAC).key(Key::hmac(SECRET).unwrap()))
        .trusted_issuer(TrustedIssuer::new(OP_RSA).key(pem("rsa_public.pem").with_kid("rsa-1")))
        .trusted_issuer(TrustedIssuer::new(OP_EC).key(pem("ec_p256_public.pem").with_kid("ec-1")))
        .trusted_issuer(
            TrustedIssuer::new(OP_OTHER).key(pem("other_rsa_public.pem").with_kid("other-1")),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap()
}

/// The receiver's rules as the builder makes them by default.
pub(crate) fn rules() -> LogoutRules {
    LogoutRules {
        issuers: [OP_HMAC, OP_RSA, OP_EC, OP_OTHER]
            .map(String::from)
            .to_vec(),
        client_ids: vec![CLIENT.to_owned()],
        max_age: 300,
        require_exp: false,
        require_type: false,
    }
}

/// A receiver of the four providers' logout tokens, acting on `target`.
pub(crate) fn receiver(target: &Arc<Recorder>) -> BackChannelLogout {
    BackChannelLogout::builder(&auth())
        .issuer(OP_HMAC)
        .issuer(OP_RSA)
        .issuer(OP_EC)
        .issuer(OP_OTHER)
        .client_id(CLIENT)
        .build(Arc::clone(target))
        .unwrap()
}

pub(crate) fn at(unix_secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix_secs).unwrap())
}

/// A call the receiver made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    FirstUse(String, String, SystemTime),
    RevokeSubject(String, String, SystemTime),
    RevokeSession(String, String, SystemTime),
}

/// A target that remembers `jti`s and records every call; its store can
/// be made to fail.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    used: Mutex<HashSet<(String, String)>>,
    calls: Mutex<Vec<Call>>,
    /// Every call to the store fails (as while it is down).
    pub(crate) fail_first_use: AtomicBool,
    pub(crate) fail_revoke: AtomicBool,
    /// Only recording the `jti` fails.
    pub(crate) fail_record: AtomicBool,
}

impl Recorder {
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The revocations asked for (a logout that changed something).
    pub(crate) fn revocations(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| !matches!(c, Call::FirstUse(..)))
            .collect()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }

    fn outcome(fail: &AtomicBool) -> Result<(), StoreError> {
        if fail.load(Ordering::SeqCst) {
            Err(StoreError::unavailable(std::io::Error::other("store down")))
        } else {
            Ok(())
        }
    }
}

impl LogoutTarget for Recorder {
    fn was_used<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            Self::outcome(&self.fail_first_use)?;
            Ok(self
                .used
                .lock()
                .unwrap()
                .contains(&(issuer.to_owned(), jti.to_owned())))
        })
    }

    fn first_use<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.record(Call::FirstUse(issuer.into(), jti.into(), until));
            Self::outcome(&self.fail_first_use)?;
            Self::outcome(&self.fail_record)?;
            Ok(self
                .used
                .lock()
                .unwrap()
                .insert((issuer.into(), jti.into())))
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            Self::outcome(&self.fail_revoke)?;
            self.record(Call::RevokeSubject(
                issuer.into(),
                subject.into(),
                not_before,
            ));
            Ok(())
        })
    }

    fn revoke_session<'a>(
        &'a self,
        issuer: &'a str,
        sid: &'a str,
        not_before: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            Self::outcome(&self.fail_revoke)?;
            self.record(Call::RevokeSession(issuer.into(), sid.into(), not_before));
            Ok(())
        })
    }
}
