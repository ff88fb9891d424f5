//! Logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6),
//! checked with the verifier's keys, algorithms, leeway and size cap, and
//! with rules of their own: the receiver's issuers and client ids, a maximum
//! age, the `events` claim, no `nonce`.
//!
//! In order: size cap -> three segments (five: a JWE, refused) -> header
//! (strict JSON, `alg` allowed and never `none`, no `crit`, `typ`) ->
//! claims parsed strictly -> `iss` one of the receiver's issuers -> the key
//! of that issuer only, by `kid` and `alg` -> signature -> the claims
//! (`logout_claims`). The claims are parsed before the signature verifies,
//! but only `iss` is read.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::error::ErrorKind;
use crate::keys::{IssuerKeys, parse_algorithm};
use crate::logout::{LogoutRejection, LogoutToken};
use crate::verify::jws::media_type_eq;
use crate::verify::logout_claims::{LogoutRules, check_claims};
use crate::verify::strict_json::{StrictError, object};
use crate::verify::verifier::Verifier;

/// A token that passed every check, with until when (Unix seconds) it
/// would still pass: how long its `jti` must be remembered.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) token: LogoutToken,
    pub(crate) replay_until: i64,
}

/// A refused token, and the configured issuer it named, if any (for logs:
/// an issuer nobody configured is never echoed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal<'r> {
    pub(crate) reason: LogoutRejection,
    pub(crate) issuer: Option<&'r str>,
}

impl From<LogoutRejection> for Refusal<'_> {
    fn from(reason: LogoutRejection) -> Self {
        Self {
            reason,
            issuer: None,
        }
    }
}

impl<C> Verifier<C> {
    /// Checks `token` as a logout token, in the order of the module docs.
    pub(crate) fn verify_logout<'r>(
        &self,
        token: &str,
        rules: &'r LogoutRules,
    ) -> Result<Accepted, Refusal<'r>> {
        use LogoutRejection as R;
        if token.len() > self.rules.max_token_bytes {
            return Err(R::TokenTooLarge.into());
        }
        let (header_b64, payload_b64, signature_b64) = segments(token)?;
        let header = json_object(header_b64)?;
        let (alg, kid) = self.check_header(&header, rules)?;
        let claims = json_object(payload_b64)?;

        // The unverified `iss` picks the keys; nothing else is read before
        // the signature verifies.
        let iss = match claims.get("iss") {
            None => return Err(R::IssuerMissing.into()),
            Some(Value::String(iss)) => iss,
            Some(_) => return Err(R::InvalidClaim.into()),
        };
        let issuer = rules
            .issuers
            .iter()
            .find(|i| *i == iss)
            .ok_or(R::WrongIssuer)?;
        let refuse = |reason| Refusal {
            reason,
            issuer: Some(issuer.as_str()),
        };
        let keys = IssuerKeys::for_issuer(&self.issuer_keys, Some(iss))
            .map_err(|_| refuse(R::WrongIssuer))?;
        let key = keys.select(alg, kid).map_err(|e| {
            refuse(match e.kind() {
                ErrorKind::AlgorithmNotAllowed => R::AlgorithmNotAllowed,
                ErrorKind::UnknownKey if kid.is_some() && keys.has_sources() => R::KeyNotYetKnown,
                _ => R::UnknownKey,
            })
        })?;
        let signed = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .unwrap_or_default();
        match jsonwebtoken::crypto::verify(signature_b64, signed.as_bytes(), key.decoding(), alg) {
            Ok(true) => {}
            Ok(false) => return Err(refuse(R::BadSignature)),
            Err(e) => {
                return Err(refuse(match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => R::Malformed,
                    _ => R::BadSignature,
                }));
            }
        }

        let now = self.clock.now();
        let checked = check_claims(&claims, rules, self.rules.leeway, now).map_err(refuse)?;
        Ok(Accepted {
            replay_until: checked.replay_until,
            token: LogoutToken {
                issuer: issuer.clone(),
                subject: checked.subject,
                session_id: checked.session_id,
                jti: checked.jti,
                issued_at: checked.issued_at,
                expires_at: checked.expires_at,
            },
        })
    }

    /// Whether logout tokens of `issuer` can be verified: the layer has keys
    /// for it. `Err` says how to fix the configuration.
    pub(crate) fn check_logout_issuer(&self, issuer: &str) -> Result<(), &'static str> {
        match self.issuer_keys.as_slice() {
            [only] if only.issuer.is_none() => {
                if self.rules.issuers.is_empty() || self.rules.issuers.iter().any(|i| i == issuer) {
                    Ok(())
                } else {
                    Err(
                        "the layer's keys belong to its issuers and this is not one: add it with JwtAuthBuilder::issuer, or give it keys with a TrustedIssuer",
                    )
                }
            }
            all if all.iter().any(|k| k.issuer.as_deref() == Some(issuer)) => Ok(()),
            _ => Err(
                "no TrustedIssuer of the layer has this issuer: add one with its keys, so that its logout tokens are verified with its keys only",
            ),
        }
    }

    /// `alg` (from the allowed list, never `none`), `crit`, `typ` and `kid`.
    fn check_header<'h>(
        &self,
        header: &'h Map<String, Value>,
        rules: &LogoutRules,
    ) -> Result<(Algorithm, Option<&'h str>), LogoutRejection> {
        use LogoutRejection as R;
        let Some(Value::String(name)) = header.get("alg") else {
            return Err(R::Malformed);
        };
        if name.eq_ignore_ascii_case("none") {
            return Err(R::AlgorithmNone);
        }
        let alg = parse_algorithm(name).ok_or(R::AlgorithmNotAllowed)?;
        if !self.rules.algorithms.contains(&alg) {
            return Err(R::AlgorithmNotAllowed);
        }
        if header.contains_key("crit") {
            return Err(R::UnsupportedCritical);
        }
        match header.get("typ") {
            None if rules.require_type => return Err(R::TypeMissing),
            None => {}
            Some(Value::String(typ)) => {
                // RFC 7519 section 5.1: `JWT` only says "a JWT"; the spec's
                // section 4.1 leaves untyped logout tokens valid.
                let generic = !rules.require_type && media_type_eq(typ, "JWT");
                if !generic && !media_type_eq(typ, "logout+jwt") {
                    return Err(R::WrongType);
                }
            }
            Some(_) => return Err(R::Malformed),
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(R::Malformed),
        };
        Ok((alg, kid))
    }
}

/// Three base64url segments (header, payload, signature); five is a JWE.
/// An empty signature is left to the header and signature checks, so that
/// `alg: none` is named as such.
fn segments(token: &str) -> Result<(&str, &str, &str), LogoutRejection> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() => Ok((h, p, s)),
        (Some(_), Some(_), Some(_), Some(_)) if token.split('.').count() == 5 => {
            Err(LogoutRejection::Encrypted)
        }
        _ => Err(LogoutRejection::Malformed),
    }
}

/// A base64url segment holding one JSON object without repeated names.
fn json_object(segment: &str) -> Result<Map<String, Value>, LogoutRejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| LogoutRejection::Malformed)?;
    object(&bytes).map_err(|e| match e {
        StrictError::Duplicate => LogoutRejection::DuplicateMember,
        StrictError::Invalid => LogoutRejection::Malformed,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::JwtAuth;
    use crate::logout::testing::{
        CLIENT, NOW, OP_EC, OP_HMAC, OP_OTHER, OP_RSA, Signer, auth, claims, header, rules, sign,
        sign_raw, token, unsigned,
    };

    fn check(token: &str) -> Result<Accepted, LogoutRejection> {
        let rules = rules();
        auth()
            .verifier()
            .verify_logout(token, &rules)
            .map_err(|r| r.reason)
    }

    fn with(changes: Value) -> Value {
        let mut claims = claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    #[test]
    fn valid_tokens_of_every_key_family_pass_with_what_they_say() {
        for (signer, issuer) in [
            (Signer::Hmac, OP_HMAC),
            (Signer::Rsa, OP_RSA),
            (Signer::Ec, OP_EC),
            (Signer::Other, OP_OTHER),
        ] {
            let token = sign(&header(signer), &with(json!({ "iss": issuer })), signer);
            let accepted = check(&token).unwrap();
            assert_eq!(
                accepted.token,
                LogoutToken {
                    issuer: issuer.to_owned(),
                    subject: Some("alice".to_owned()),
                    session_id: Some("sid-1".to_owned()),
                    jti: "jti-1".to_owned(),
                    issued_at: NOW,
                    expires_at: Some(NOW + 120),
                },
                "{issuer}"
            );
            // exp + leeway comes before iat + max age + leeway.
            assert_eq!(accepted.replay_until, NOW + 180);
        }
    }

    #[test]
    fn without_exp_the_replay_window_is_the_maximum_age_plus_leeway() {
        let accepted = check(&token(&with(json!({ "exp": null })))).unwrap();
        assert_eq!(accepted.token.expires_at, None);
        assert_eq!(accepted.replay_until, NOW + 300 + 60);

        let mut strict = rules();
        strict.require_exp = true;
        let refused = auth()
            .verifier()
            .verify_logout(&token(&with(json!({ "exp": null }))), &strict)
            .unwrap_err();
        assert_eq!(refused.reason, LogoutRejection::ExpiryMissing);
    }

    #[test]
    fn times_are_checked_at_their_boundaries_with_the_leeway() {
        use LogoutRejection as R;
        let cases: [(&str, Value, Result<(), R>); 8] = [
            (
                "iat within leeway ahead",
                json!({ "iat": NOW + 60 }),
                Ok(()),
            ),
            (
                "iat beyond leeway ahead",
                json!({ "iat": NOW + 61 }),
                Err(R::IssuedInFuture),
            ),
            (
                "iat at maximum age",
                json!({ "iat": NOW - 360, "exp": null }),
                Ok(()),
            ),
            (
                "iat past maximum age",
                json!({ "iat": NOW - 361, "exp": null }),
                Err(R::TooOld),
            ),
            (
                "exp within leeway",
                json!({ "iat": NOW - 100, "exp": NOW - 60 }),
                Ok(()),
            ),
            (
                "exp beyond leeway",
                json!({ "iat": NOW - 100, "exp": NOW - 61 }),
                Err(R::Expired),
            ),
            ("nbf ahead", json!({ "nbf": NOW + 61 }), Err(R::NotYetValid)),
            (
                "float dates truncate",
                json!({ "iat": 1_800_000_000.9_f64 }),
                Ok(()),
            ),
        ];
        for (name, changes, expected) in cases {
            assert_eq!(check(&token(&with(changes))).map(drop), expected, "{name}");
        }
    }

    #[test]
    fn the_audience_names_the_client_and_nothing_untrusted() {
        use LogoutRejection as R;
        let cases: [(&str, Value, Result<(), R>); 7] = [
            ("string", json!(CLIENT), Ok(())),
            ("array", json!([CLIENT]), Ok(())),
            (
                "another client",
                json!("other-client"),
                Err(R::WrongAudience),
            ),
            ("empty array", json!([]), Err(R::WrongAudience)),
            (
                "client and an untrusted audience",
                json!([CLIENT, "other"]),
                Err(R::UntrustedAudience),
            ),
            ("not a string", json!(7), Err(R::InvalidClaim)),
            ("missing", Value::Null, Err(R::AudienceMissing)),
        ];
        for (name, aud, expected) in cases {
            let token = token(&with(json!({ "aud": aud })));
            assert_eq!(check(&token).map(drop), expected, "{name}");
        }
    }

    #[test]
    fn typ_is_logout_jwt_or_absent_or_generic_unless_explicit_typing_is_required() {
        use LogoutRejection as R;
        let cases = [
            (Some("logout+jwt"), Ok(()), Ok(())),
            (Some("application/LOGOUT+JWT"), Ok(()), Ok(())),
            (None, Ok(()), Err(R::TypeMissing)),
            (Some("JWT"), Ok(()), Err(R::WrongType)),
            (Some("at+jwt"), Err(R::WrongType), Err(R::WrongType)),
            (Some("secevent+jwt"), Err(R::WrongType), Err(R::WrongType)),
        ];
        let default_rules = rules();
        let mut strict = rules();
        strict.require_type = true;
        let auth = auth();
        for (typ, default, explicit) in cases {
            let mut header = header(Signer::Hmac);
            match typ {
                Some(typ) => header["typ"] = json!(typ),
                None => drop(header.as_object_mut().unwrap().remove("typ")),
            }
            let token = sign(&header, &claims(), Signer::Hmac);
            let verify = |rules| {
                auth.verifier()
                    .verify_logout(&token, rules)
                    .map(drop)
                    .map_err(|r| r.reason)
            };
            assert_eq!(verify(&default_rules), default, "{typ:?}");
            assert_eq!(verify(&strict), explicit, "{typ:?} (explicit typing)");
        }
    }

    #[test]
    fn one_issuer_s_keys_never_verify_another_issuer_s_tokens() {
        use LogoutRejection as R;
        let mut no_kid = header(Signer::Other);
        no_kid.as_object_mut().unwrap().remove("kid");
        let cases = [
            (
                "HMAC issuer, RSA issuer's key",
                OP_HMAC,
                header(Signer::Rsa),
                Signer::Rsa,
                R::UnknownKey,
            ),
            (
                "RSA issuer, other issuer's kid",
                OP_RSA,
                header(Signer::Other),
                Signer::Other,
                R::UnknownKey,
            ),
            (
                "RSA issuer, other issuer's key, no kid",
                OP_RSA,
                no_kid,
                Signer::Other,
                R::BadSignature,
            ),
            (
                "RSA issuer, HMAC issuer's secret",
                OP_RSA,
                header(Signer::Hmac),
                Signer::Hmac,
                R::UnknownKey,
            ),
        ];
        for (name, iss, header, signer, expected) in cases {
            let token = sign(&header, &with(json!({ "iss": iss })), signer);
            assert_eq!(check(&token).unwrap_err(), expected, "{name}");
        }
    }

    #[test]
    fn refusals_name_the_configured_issuer_only() {
        let rules = rules();
        let auth = auth();
        let wrong_aud = token(&with(json!({ "aud": "other" })));
        let refusal = auth
            .verifier()
            .verify_logout(&wrong_aud, &rules)
            .unwrap_err();
        assert_eq!(refusal.issuer, Some(OP_HMAC));
        let unknown = token(&with(
            json!({ "iss": "https://evil.example\nforged log line" }),
        ));
        let refusal = auth.verifier().verify_logout(&unknown, &rules).unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.issuer),
            (LogoutRejection::WrongIssuer, None)
        );
    }

    #[test]
    fn malformed_tokens_are_named_and_never_panic() {
        use LogoutRejection as R;
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let valid = claims().to_string();
        let hs = r#"{"alg":"HS256"}"#;
        let cases: Vec<(&str, String, R)> = vec![
            ("empty", String::new(), R::Malformed),
            ("two segments", "a.b".into(), R::Malformed),
            ("four segments", "a.b.c.d".into(), R::Malformed),
            ("JWE", "a.b.c.d.e".into(), R::Encrypted),
            ("not base64url", "!!.??.x".into(), R::Malformed),
            (
                "header not JSON",
                format!("{}.{}.x", b64("nope"), b64(&valid)),
                R::Malformed,
            ),
            (
                "payload an array",
                sign_raw(hs, "[1]", Signer::Hmac),
                R::Malformed,
            ),
            ("no alg", sign_raw("{}", &valid, Signer::Hmac), R::Malformed),
            (
                "alg a number",
                sign_raw(r#"{"alg":1}"#, &valid, Signer::Hmac),
                R::Malformed,
            ),
            (
                "alg none",
                unsigned(r#"{"alg":"none"}"#, &valid),
                R::AlgorithmNone,
            ),
            (
                "alg NONE, signed",
                sign_raw(r#"{"alg":"NONE"}"#, &valid, Signer::Hmac),
                R::AlgorithmNone,
            ),
            (
                "alg unknown",
                sign_raw(r#"{"alg":"HS999"}"#, &valid, Signer::Hmac),
                R::AlgorithmNotAllowed,
            ),
            (
                "crit",
                sign_raw(
                    r#"{"alg":"HS256","crit":["x"],"x":1}"#,
                    &valid,
                    Signer::Hmac,
                ),
                R::UnsupportedCritical,
            ),
            (
                "kid a number",
                sign_raw(r#"{"alg":"HS256","kid":1}"#, &valid, Signer::Hmac),
                R::Malformed,
            ),
            (
                "typ a number",
                sign_raw(r#"{"alg":"HS256","typ":1}"#, &valid, Signer::Hmac),
                R::Malformed,
            ),
            (
                "header member twice",
                sign_raw(r#"{"alg":"HS256","alg":"HS256"}"#, &valid, Signer::Hmac),
                R::DuplicateMember,
            ),
            (
                "bad signature",
                format!("{}x", token(&claims())),
                R::BadSignature,
            ),
            (
                "no iss",
                token(&with(json!({ "iss": null }))),
                R::IssuerMissing,
            ),
            (
                "iss a number",
                token(&with(json!({ "iss": 1 }))),
                R::InvalidClaim,
            ),
            (
                "sub empty",
                token(&with(json!({ "sub": "" }))),
                R::InvalidClaim,
            ),
            (
                "sid a number",
                token(&with(json!({ "sid": 5 }))),
                R::InvalidClaim,
            ),
            (
                "iat a string",
                token(&with(json!({ "iat": "now" }))),
                R::InvalidClaim,
            ),
            (
                "jti an object",
                token(&with(json!({ "jti": {} }))),
                R::InvalidClaim,
            ),
            ("too large", "a".repeat(16 * 1024 + 1), R::TokenTooLarge),
        ];
        for (name, token, expected) in cases {
            assert_eq!(check(&token).unwrap_err(), expected, "{name}");
        }
    }

    #[test]
    fn repeated_claims_are_refused_even_nested_in_events() {
        let payload = claims().to_string();
        for repeated in [
            payload.replacen(r#""sub":"alice""#, r#""sub":"alice","sub":"mallory""#, 1),
            payload.replacen("{}", r#"{"a":1,"a":2}"#, 1),
        ] {
            assert_ne!(repeated, payload);
            let token = sign_raw(&header(Signer::Hmac).to_string(), &repeated, Signer::Hmac);
            assert_eq!(check(&token).unwrap_err(), LogoutRejection::DuplicateMember);
        }
    }

    #[test]
    fn the_algorithm_must_be_allowed_by_the_layer() {
        let auth = JwtAuth::builder()
            .hmac_secret("the-op-secret-of-at-least-48-bytes-to-verify-hs384!")
            .algorithms([Algorithm::HS384])
            .build()
            .unwrap();
        let rules = rules();
        let refused = auth
            .verifier()
            .verify_logout(&token(&claims()), &rules)
            .unwrap_err();
        assert_eq!(refused.reason, LogoutRejection::AlgorithmNotAllowed);
    }

    #[test]
    fn issuers_need_keys_of_their_own_or_the_layer_s() {
        assert_eq!(auth().verifier().check_logout_issuer(OP_RSA), Ok(()));
        assert!(
            auth()
                .verifier()
                .check_logout_issuer("https://x.example")
                .is_err()
        );
        let global = |issuer: Option<&str>| {
            let builder = JwtAuth::builder().hmac_secret("the-op-secret-of-at-least-32-bytes!");
            match issuer {
                Some(issuer) => builder.issuer(issuer),
                None => builder,
            }
            .build()
            .unwrap()
        };
        assert_eq!(global(None).verifier().check_logout_issuer(OP_HMAC), Ok(()));
        assert_eq!(
            global(Some(OP_HMAC))
                .verifier()
                .check_logout_issuer(OP_HMAC),
            Ok(())
        );
        assert!(
            global(Some(OP_RSA))
                .verifier()
                .check_logout_issuer(OP_HMAC)
                .is_err()
        );
    }
}
