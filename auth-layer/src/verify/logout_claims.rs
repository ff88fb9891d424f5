//! A logout token's claims (section 2.6, steps 4 to 8): `aud`, `iat`,
//! `exp`, `sub`/`sid`, `events`, no `nonce`, and the `jti` the receiver
//! remembers.

use serde_json::{Map, Value};

use crate::logout::{BACKCHANNEL_LOGOUT_EVENT, LogoutRejection};

/// A logout token's own rules, as the receiver was configured.
#[derive(Debug, Clone)]
pub(crate) struct LogoutRules {
    pub(crate) issuers: Vec<String>,
    pub(crate) client_ids: Vec<String>,
    /// Seconds after `iat` a token is still accepted (plus the leeway).
    pub(crate) max_age: i64,
    pub(crate) require_exp: bool,
    pub(crate) require_type: bool,
}

/// Section 2.6, steps 4 to 8 (the `jti` is remembered by the receiver).
pub(super) fn check_claims(
    claims: &Map<String, Value>,
    rules: &LogoutRules,
    leeway: i64,
    now: i64,
) -> Result<Checked, LogoutRejection> {
    use LogoutRejection as R;
    check_audience(claims.get("aud"), &rules.client_ids)?;
    let issued_at = date(claims.get("iat"))?.ok_or(R::IssuedAtMissing)?;
    if issued_at > now.saturating_add(leeway) {
        return Err(R::IssuedInFuture);
    }
    let oldest = issued_at
        .saturating_add(rules.max_age)
        .saturating_add(leeway);
    if now > oldest {
        return Err(R::TooOld);
    }
    let expires_at = date(claims.get("exp"))?;
    let replay_until = match expires_at {
        Some(exp) if now > exp.saturating_add(leeway) => return Err(R::Expired),
        Some(exp) => oldest.min(exp.saturating_add(leeway)),
        None if rules.require_exp => return Err(R::ExpiryMissing),
        None => oldest,
    };
    if date(claims.get("nbf"))?.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
        return Err(R::NotYetValid);
    }
    let subject = text(claims.get("sub"))?;
    let session_id = text(claims.get("sid"))?;
    if subject.is_none() && session_id.is_none() {
        return Err(R::SubjectAndSessionMissing);
    }
    match claims.get("events") {
        None => return Err(R::EventsMissing),
        Some(Value::Object(events)) => match events.get(BACKCHANNEL_LOGOUT_EVENT) {
            None => return Err(R::LogoutEventMissing),
            Some(Value::Object(_)) => {}
            Some(_) => return Err(R::LogoutEventInvalid),
        },
        Some(_) => return Err(R::EventsInvalid),
    }
    if claims.contains_key("nonce") {
        return Err(R::NoncePresent);
    }
    let jti = text(claims.get("jti"))?.ok_or(R::JtiMissing)?;
    Ok(Checked {
        subject,
        session_id,
        jti,
        issued_at,
        expires_at,
        replay_until,
    })
}

/// The claims [`check_claims`] reads out.
pub(super) struct Checked {
    pub(super) subject: Option<String>,
    pub(super) session_id: Option<String>,
    pub(super) jti: String,
    pub(super) issued_at: i64,
    pub(super) expires_at: Option<i64>,
    pub(super) replay_until: i64,
}

/// `aud` (a string or an array of strings) names a client id, and nothing
/// the client does not trust (OpenID Connect Core section 3.1.3.7, step 3).
fn check_audience(aud: Option<&Value>, client_ids: &[String]) -> Result<(), LogoutRejection> {
    use LogoutRejection as R;
    let trusted = |a: &Value| {
        a.as_str()
            .is_some_and(|a| client_ids.iter().any(|c| c == a))
    };
    let all: &[Value] = match aud {
        None => return Err(R::AudienceMissing),
        Some(one @ Value::String(_)) => std::slice::from_ref(one),
        Some(Value::Array(all)) if all.iter().all(Value::is_string) => all,
        Some(_) => return Err(R::InvalidClaim),
    };
    if !all.iter().any(trusted) {
        return Err(R::WrongAudience);
    }
    if !all.iter().all(trusted) {
        return Err(R::UntrustedAudience);
    }
    Ok(())
}

/// An optional non-empty string claim.
fn text(value: Option<&Value>) -> Result<Option<String>, LogoutRejection> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(LogoutRejection::InvalidClaim),
    }
}

/// An optional `NumericDate`: a JSON number, truncated to whole seconds
/// (saturating), as the access-token claims read it.
fn date(value: Option<&Value>) -> Result<Option<i64>, LogoutRejection> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(secs) = value.as_i64() {
        return Ok(Some(secs));
    }
    if value.as_u64().is_some() {
        return Ok(Some(i64::MAX));
    }
    match value.as_f64() {
        Some(secs) if secs.is_finite() => Ok(Some(truncate(secs))),
        _ => Err(LogoutRejection::InvalidClaim),
    }
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "saturating float-to-int is the intent"
)]
fn truncate(secs: f64) -> i64 {
    secs as i64
}
