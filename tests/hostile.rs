//! No input makes the server fail: hostile and odd tokens through a real
//! server are answered with a 4xx (or accepted, where the token is in fact
//! valid), never a 5xx, and the server keeps serving afterwards.
//!
//! The named attacks (alg confusion, padding, duplicate claims, odd `exp`
//! values, deep nesting and the like) are in `attacks.rs`; this file keeps
//! the malformed inputs beyond them.

use auth_tests as common;

use auth_layer::JwtAuth;
use auth_layer::keys::Algorithm;
use auth_layer::source::TokenSource;
use common::{
    SECRET, b64, claims, hs256, raw_json_token, raw_token, send, serve, sign_segments, signed_json,
    signed_payload,
};

const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// A hostile token and what it must get: a 401 with this code, or (`None`)
/// a 200 for a token that is odd but valid.
struct Case {
    name: &'static str,
    token: String,
    code: Option<&'static str>,
}

fn case(name: &'static str, token: impl Into<String>, code: &'static str) -> Case {
    Case {
        name,
        token: token.into(),
        code: Some(code),
    }
}

fn accepted(name: &'static str, token: impl Into<String>) -> Case {
    Case {
        name,
        token: token.into(),
        code: None,
    }
}

/// A correctly signed token whose payload has a byte that is not UTF-8 in `sub`.
fn invalid_utf8_payload(exp: i64) -> String {
    let mut payload = br#"{"sub":"ali"#.to_vec();
    payload.push(0xff);
    payload.extend_from_slice(format!(r#"ce","exp":{exp}}}"#).as_bytes());
    sign_segments(Algorithm::HS256, &b64(HS256), &b64(payload))
}

fn cases() -> Vec<Case> {
    let exp = common::now() + 600;
    let valid_payload = claims("alice").to_string();
    let payload_b64 = b64(&valid_payload);
    vec![
        // Structure.
        case("empty token", "", "token_malformed"),
        case("one dot", ".", "token_malformed"),
        case("two dots", "..", "token_malformed"),
        case("three dots", "...", "token_malformed"),
        case(
            "empty header",
            format!(".{payload_b64}.c2ln"),
            "token_malformed",
        ),
        case(
            "empty payload",
            format!("{}..c2ln", b64(HS256)),
            "token_malformed",
        ),
        case("six segments", "a.b.c.d.e.f", "token_malformed"),
        case("unicode in every segment", "é.ü.ß", "token_malformed"),
        case("emoji", "\u{1F600}.\u{1F600}.\u{1F600}", "token_malformed"),
        case("quotes and commas", r#""a","b","c""#, "token_malformed"),
        // Header.
        case(
            "header is an array",
            raw_json_token("[]", &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "header is a string",
            raw_json_token(r#""HS256""#, &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "header is null",
            raw_json_token("null", &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "header is a number",
            raw_json_token("12345", &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "header without alg",
            raw_json_token("{}", &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "alg is null",
            raw_json_token(r#"{"alg":null}"#, &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "alg is a number",
            raw_json_token(r#"{"alg":256}"#, &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "alg is an array",
            raw_json_token(r#"{"alg":["HS256"]}"#, &valid_payload, "c2ln"),
            "token_malformed",
        ),
        case(
            "alg with unicode",
            raw_json_token(r#"{"alg":"HS256\u0000"}"#, &valid_payload, "c2ln"),
            "algorithm_not_allowed",
        ),
        case(
            "alg with emoji",
            raw_json_token("{\"alg\":\"HS\u{1F600}256\"}", &valid_payload, "c2ln"),
            "algorithm_not_allowed",
        ),
        case(
            "alg in lower case",
            raw_json_token(r#"{"alg":"hs256"}"#, &valid_payload, "c2ln"),
            "algorithm_not_allowed",
        ),
        case(
            "unknown alg",
            raw_json_token(r#"{"alg":"HS1024"}"#, &valid_payload, "c2ln"),
            "algorithm_not_allowed",
        ),
        case(
            "kid is a number",
            signed_json(r#"{"alg":"HS256","kid":7}"#, &valid_payload),
            "token_malformed",
        ),
        case(
            "typ is an object",
            signed_json(r#"{"alg":"HS256","typ":{}}"#, &valid_payload),
            "token_malformed",
        ),
        case(
            "header is not JSON",
            raw_token(&b64("{alg:HS256}"), &payload_b64, "c2ln"),
            "token_malformed",
        ),
        case(
            "header is truncated JSON",
            raw_token(&b64(r#"{"alg":"HS2"#), &payload_b64, "c2ln"),
            "token_malformed",
        ),
        case(
            "header is invalid UTF-8",
            raw_token(&b64([0x7b, 0xff, 0xfe, 0x7d]), &payload_b64, "c2ln"),
            "token_malformed",
        ),
        case(
            "header with a byte order mark",
            raw_token(&b64(format!("\u{feff}{HS256}")), &payload_b64, "c2ln"),
            "token_malformed",
        ),
        // Signature.
        case(
            "empty signature",
            raw_json_token(HS256, &valid_payload, ""),
            "invalid_signature",
        ),
        case(
            "signature of the wrong length",
            raw_json_token(HS256, &valid_payload, "AAAA"),
            "invalid_signature",
        ),
        case(
            "signature of 8 KiB",
            raw_json_token(HS256, &valid_payload, &"A".repeat(7_000)),
            "invalid_signature",
        ),
        // Payload, correctly signed so that it is parsed.
        case(
            "payload is an array",
            signed_payload("[1,2,3]"),
            "invalid_claims",
        ),
        case(
            "payload is a string",
            signed_payload(r#""alice""#),
            "invalid_claims",
        ),
        case("payload is null", signed_payload("null"), "invalid_claims"),
        case("payload is empty", signed_payload(""), "token_malformed"),
        case(
            "payload is not JSON",
            signed_payload("sub=alice"),
            "invalid_claims",
        ),
        case(
            "payload with trailing garbage",
            signed_payload(&format!("{valid_payload}xyz")),
            "invalid_claims",
        ),
        case(
            "payload is invalid UTF-8",
            invalid_utf8_payload(exp),
            "invalid_claims",
        ),
        case(
            "nbf huge",
            signed_payload(&format!(r#"{{"sub":"alice","exp":{exp},"nbf":1e300}}"#)),
            "token_not_yet_valid",
        ),
        case(
            "iat huge",
            signed_payload(&format!(
                r#"{{"sub":"alice","exp":{exp},"iat":18446744073709551615}}"#
            )),
            "token_issued_in_future",
        ),
        case(
            "aud is a number",
            signed_payload(&format!(r#"{{"sub":"alice","exp":{exp},"aud":1}}"#)),
            "invalid_claims",
        ),
        case(
            "aud array of numbers",
            signed_payload(&format!(r#"{{"sub":"alice","exp":{exp},"aud":[1]}}"#)),
            "invalid_claims",
        ),
        // Odd but valid: a signed token with extreme, well-typed values is accepted.
        accepted(
            "nbf and iat i64::MIN",
            signed_payload(&format!(
                r#"{{"sub":"alice","exp":{exp},"nbf":-9223372036854775808,"iat":-9223372036854775808}}"#
            )),
        ),
        accepted(
            "unicode subject",
            signed_payload(&format!(
                r#"{{"sub":"alice","exp":{exp},"name":"\u00e9\ud83d\ude00"}}"#
            )),
        ),
        accepted(
            "escaped alg name",
            signed_json(r#"{"alg":"HS\u0032\u0035\u0036"}"#, &valid_payload),
        ),
    ]
}

#[tokio::test]
async fn no_hostile_token_yields_a_server_error() {
    // A cap large enough for the largest tokens here to reach the parsers.
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .max_token_bytes(128 * 1024)
        .build()
        .unwrap();
    let server = serve(auth).await;
    let cases = cases();
    assert!(cases.len() >= 40, "a few dozen hostile tokens");
    let mut failures = Vec::new();
    for Case { name, token, code } in &cases {
        let reply = send(
            server
                .get("/protected")
                .header("authorization", format!("Bearer {token}")),
        )
        .await;
        assert!(reply.status < 500, "{name}: a server error: {reply:?}");
        let as_expected = match code {
            None => reply.status == 200,
            Some(code) => {
                let challenge = reply.www_authenticate.as_deref().unwrap_or_default();
                reply.status == 401
                    && reply.code().as_deref() == Some(*code)
                    && challenge.starts_with(r#"Bearer realm="api", error="invalid_token""#)
            }
        };
        if !as_expected {
            failures.push(format!(
                "{name}: expected {}, got {reply:?}",
                code.unwrap_or("200")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The server is still serving.
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_ok("alice");
}

#[tokio::test]
async fn hostile_tokens_in_a_cookie_under_the_default_size_cap_yield_no_server_error() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .token_sources([TokenSource::Bearer, TokenSource::cookie("session")])
        .build()
        .unwrap();
    let server = serve(auth).await;
    for Case { name, token, .. } in cases() {
        // The cookie source keeps what follows `=` up to the next `;`.
        let reply = send(
            server
                .get("/protected")
                .header("cookie", format!("session={token}")),
        )
        .await;
        assert!(matches!(reply.status, 200 | 400 | 401), "{name}: {reply:?}");
    }
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_ok("alice");
}
