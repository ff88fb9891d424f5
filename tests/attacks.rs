//! The attack matrix: the known attacks on JWT verifiers, one named row
//! each, sent through a real server and client, each with one expected
//! answer (the status and the machine-readable `code`, or an acceptance
//! where the odd token is in fact valid). No row may yield a 5xx.
//!
//! Groups: `alg` none; algorithm confusion (HS* with a public key as the
//! secret); invalid ES256 signatures (r = s = 0 and out-of-range values);
//! signatures from another key; truncated and re-encoded signatures; `kid`
//! injection; `jku`, `x5u`, `x5c` and `jwk` headers (never fetched, never
//! used: a loopback server counts the fetches); `crit`; `typ` confusion;
//! segment counts; padding, whitespace and non-base64url characters;
//! duplicate names; odd `exp` values; deeply nested JSON; oversized values.
//!
//! Newlines and NUL bytes cannot be sent in an HTTP header at all, so they
//! have no row; the fuzz target (`fuzz/`) covers them below the HTTP layer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;
use auth_tests::idp;

use auth_layer::keys::{Algorithm, Key};
use auth_layer::source::TokenSource;
use auth_layer::{ErrorKind, JwtAuth};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{
    SECRET, TestServer, b64, build, claims, claims_with, every_key_auth, hs256, key_file, mint,
    mint_with, other_rsa_key, raw_json_token, raw_token, send, serve, sign_segments, signed_json,
    signed_payload, signing_key, tower_request,
};
use idp::{Answer, idp};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tower::{Layer as _, ServiceExt as _};

const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The order n of the P-256 group, big-endian.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
/// n + 1.
const P256_N_PLUS_1: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552";
/// 2^256 - 1.
const MAX_256: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
/// The order L of the Ed25519 group, little-endian (RFC 8032 section 5.1).
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Where a row is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The HMAC secret and every public test key, none with a `kid`.
    Every,
    /// The public keys only: no HMAC secret is configured at all.
    PublicOnly,
    /// Keys named by `kid`: `hmac-1` (HMAC), `rsa-1` (RSA), `ec-1` (P-256).
    Kids,
    /// The HMAC secret, accepting access tokens only (`typ` `at+jwt`).
    AccessTokens,
    /// The HMAC secret with a 128 KiB token cap, so that deeply nested JSON
    /// reaches the parsers.
    LargeCap,
}

/// What a row must get.
#[derive(Debug)]
enum Expect {
    /// 200 for subject `alice`, optionally with this claim value.
    Accepted(Option<(&'static str, Value)>),
    /// An RFC 6750 rejection: status and `code`.
    Rejected(u16, &'static str),
    /// An answer given before the layer runs (by the HTTP server): status only.
    Status(u16),
}

/// One attack.
struct Attack {
    name: String,
    target: Target,
    /// The `Authorization` header value, sent as it is.
    authorization: String,
    expect: Expect,
}

impl Attack {
    /// The token, when the row sends `Bearer <token>`.
    fn token(&self) -> Option<&str> {
        self.authorization.strip_prefix("Bearer ")
    }
}

fn rejected(
    name: impl Into<String>,
    target: Target,
    token: impl AsRef<str>,
    code: &'static str,
) -> Attack {
    Attack {
        name: name.into(),
        target,
        authorization: format!("Bearer {}", token.as_ref()),
        expect: Expect::Rejected(401, code),
    }
}

fn accepted(name: impl Into<String>, target: Target, token: impl AsRef<str>) -> Attack {
    Attack {
        name: name.into(),
        target,
        authorization: format!("Bearer {}", token.as_ref()),
        expect: Expect::Accepted(None),
    }
}

// ---------------------------------------------------------------------------
// Token surgery
// ---------------------------------------------------------------------------

/// The three segments of a compact token.
fn segments(token: &str) -> [&str; 3] {
    let mut parts = token.split('.');
    let segments = [(); 3].map(|()| parts.next().expect("three segments"));
    assert!(parts.next().is_none(), "three segments");
    segments
}

/// The decoded signature of `token`.
fn signature(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(segments(token)[2]).unwrap()
}

/// `token` with its signature replaced by `signature` (base64url-encoded here).
fn with_signature(token: &str, signature: &[u8]) -> String {
    let [header, payload, _] = segments(token);
    raw_token(header, payload, &b64(signature))
}

/// A 32-byte big-endian integer from hex.
fn be32(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len(), 64);
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// `a - b` for 32-byte big-endian integers, `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0_u8; 32];
    let mut borrow = 0_i16;
    for i in (0..32).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = u8::try_from(d.rem_euclid(256)).unwrap();
    }
    assert_eq!(borrow, 0, "a >= b");
    out
}

/// `a + b` for 32-byte little-endian integers whose sum fits.
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0_u8; 32];
    let mut carry = 0_u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = u8::try_from(sum & 0xff).unwrap();
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "the sum fits in 32 bytes");
    out
}

/// An ES256 signature `r || s` (each 32 bytes, big-endian) on a valid ES256
/// token's header and payload.
fn es256_with(r: &[u8], s: &[u8]) -> String {
    let token = mint(Algorithm::ES256, &claims("alice"));
    with_signature(&token, &[r, s].concat())
}

/// `segment` with its last base64url character changed so that the unused
/// low bits are not zero: the same bytes for a lenient decoder, a different
/// string for the token cache and for anyone comparing tokens.
fn non_canonical(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_ne!(
        segment.len() % 4,
        0,
        "a segment whose last character has unused bits"
    );
    let (head, last) = segment.split_at(segment.len() - 1);
    let index = ALPHABET
        .iter()
        .position(|c| *c == last.as_bytes()[0])
        .unwrap();
    format!("{head}{}", char::from(ALPHABET[(index & !3) | 1]))
}

/// A token with this header (any fields), signed by `key`.
fn with_header(header: &Header, key: &EncodingKey) -> String {
    mint_with(header, &claims("alice"), key)
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

/// An HMAC token signed with `secret` (e.g. the bytes of a public key).
fn hmac_with(alg: Algorithm, kid: Option<&str>, secret: &[u8]) -> String {
    with_header(&header(alg, kid), &EncodingKey::from_secret(secret))
}

/// The base64 body of a PEM file (for `x5c`), and its DER bytes.
fn pem_body(name: &str) -> (String, Vec<u8>) {
    let pem = String::from_utf8(key_file(name)).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(&body).unwrap();
    (body, der)
}

/// The public JWK of the attacker's RSA key, optionally named `kid`.
fn attacker_jwk(kid: Option<&str>) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&other_rsa_key(), Algorithm::RS256).unwrap();
    jwk.common.key_id = kid.map(str::to_owned);
    jwk
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

#[expect(
    clippy::too_many_lines,
    reason = "one table of attacks, read top to bottom"
)]
fn attacks(idp_base: &str) -> Vec<Attack> {
    use Target::{AccessTokens, Every, Kids, LargeCap, PublicOnly};

    let exp = common::now() + 600;
    let valid_payload = claims("alice").to_string();
    let payload_b64 = b64(&valid_payload);
    let valid_hs256 = hs256(&claims("alice"));
    let rsa_pem = key_file("rsa_public.pem");
    let (_, rsa_der) = pem_body("rsa_public.pem");
    let (attacker_cert, _) = pem_body("other_rsa_cert.pem");
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let attacker = other_rsa_key();
    let real_rsa = signing_key(Algorithm::RS256);

    let mut rows = vec![
        // Baselines: each server accepts a valid token, so every rejection
        // below is about the attack and nothing else.
        accepted("baseline: HS256", Every, &valid_hs256),
        accepted(
            "baseline: RS256",
            PublicOnly,
            mint(Algorithm::RS256, &claims("alice")),
        ),
        accepted(
            "baseline: RS256 with kid rsa-1",
            Kids,
            with_header(&header(Algorithm::RS256, Some("rsa-1")), &real_rsa),
        ),
        accepted(
            "baseline: typ at+jwt",
            AccessTokens,
            signed_json(r#"{"alg":"HS256","typ":"at+jwt"}"#, &valid_payload),
        ),
        accepted(
            "baseline: HS256 under the large cap",
            LargeCap,
            &valid_hs256,
        ),
    ];

    // --- alg none, in every spelling, with and without a signature ---------
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        rows.extend([
            rejected(
                format!("alg {alg}, empty signature"),
                Every,
                raw_token(&header, &payload_b64, ""),
                "algorithm_not_allowed",
            ),
            rejected(
                format!("alg {alg}, a valid HS256 MAC as signature"),
                Every,
                sign_segments(Algorithm::HS256, &header, &payload_b64),
                "algorithm_not_allowed",
            ),
            rejected(
                format!("alg {alg}, arbitrary signature"),
                Every,
                raw_token(&header, &payload_b64, "c2lnbmF0dXJl"),
                "algorithm_not_allowed",
            ),
            rejected(
                format!("alg {alg}, no signature segment"),
                Every,
                format!("{header}.{payload_b64}"),
                "token_malformed",
            ),
        ]);
    }

    // --- algorithm confusion: a public key as the HMAC secret ---------------
    // With an HMAC secret configured the forgery meets the real secret; with
    // public keys only, HS* has no key at all. Never is the public key an HMAC key.
    let public_key_secrets: [(&str, Vec<u8>); 5] = [
        ("the RSA public key PEM", rsa_pem.clone()),
        (
            "the RSA public key PEM, trimmed",
            rsa_pem.trim_ascii().to_vec(),
        ),
        ("the RSA public key DER", rsa_der),
        ("the P-256 public key PEM", key_file("ec_p256_public.pem")),
        ("the Ed25519 public key PEM", key_file("ed25519_public.pem")),
    ];
    for (what, secret) in &public_key_secrets {
        let forged = hmac_with(Algorithm::HS256, None, secret);
        rows.push(rejected(
            format!("HS256 with {what} as secret (HMAC configured)"),
            Every,
            &forged,
            "invalid_signature",
        ));
        rows.push(rejected(
            format!("HS256 with {what} as secret (public keys only)"),
            PublicOnly,
            &forged,
            "algorithm_not_allowed",
        ));
    }
    rows.extend([
        rejected(
            "HS512 with the RSA public key PEM as secret",
            PublicOnly,
            hmac_with(Algorithm::HS512, None, &rsa_pem),
            "algorithm_not_allowed",
        ),
        rejected(
            "HS256 with the RSA public key as secret, kid naming the RSA key",
            Kids,
            hmac_with(Algorithm::HS256, Some("rsa-1"), &rsa_pem),
            "algorithm_not_allowed",
        ),
        rejected(
            "RS256 token whose kid names the HMAC key",
            Kids,
            with_header(&header(Algorithm::RS256, Some("hmac-1")), &real_rsa),
            "algorithm_not_allowed",
        ),
    ]);

    // --- ES256: invalid (r, s) ---------------------------------------------
    let valid_es256 = mint(Algorithm::ES256, &claims("alice"));
    let sig = signature(&valid_es256);
    let (r, s) = sig.split_at(32);
    let zero = [0_u8; 32];
    let one = {
        let mut one = [0_u8; 32];
        one[31] = 1;
        one
    };
    rows.extend([
        rejected(
            "ES256 r = s = 0",
            Every,
            es256_with(&zero, &zero),
            "invalid_signature",
        ),
        rejected(
            "ES256 r = 0, s valid",
            Every,
            es256_with(&zero, s),
            "invalid_signature",
        ),
        rejected(
            "ES256 r valid, s = 0",
            Every,
            es256_with(r, &zero),
            "invalid_signature",
        ),
        rejected(
            "ES256 r = n",
            Every,
            es256_with(&be32(P256_N), s),
            "invalid_signature",
        ),
        rejected(
            "ES256 r = s = n",
            Every,
            es256_with(&be32(P256_N), &be32(P256_N)),
            "invalid_signature",
        ),
        rejected(
            "ES256 s = n + 1",
            Every,
            es256_with(r, &be32(P256_N_PLUS_1)),
            "invalid_signature",
        ),
        rejected(
            "ES256 r = 2^256 - 1",
            Every,
            es256_with(&be32(MAX_256), s),
            "invalid_signature",
        ),
        rejected(
            "ES256 r = s = 1",
            Every,
            es256_with(&one, &one),
            "invalid_signature",
        ),
        rejected(
            "ES256 signature of 63 bytes",
            Every,
            with_signature(&valid_es256, &sig[1..]),
            "invalid_signature",
        ),
        rejected(
            "ES256 signature of 65 bytes",
            Every,
            with_signature(&valid_es256, &[sig.as_slice(), &[0]].concat()),
            "invalid_signature",
        ),
        rejected(
            "ES256 signature DER-encoded instead of r || s",
            Every,
            with_signature(&valid_es256, &der_ecdsa(r, s)),
            "invalid_signature",
        ),
        // ECDSA is malleable: (r, n - s) verifies as well as (r, s). The twin
        // is another string, so it is a verified-token cache miss and is
        // verified in full; it grants nothing the original did not.
        accepted(
            "ES256 malleable twin (r, n - s)",
            Every,
            es256_with(r, &sub_be(&be32(P256_N), s)),
        ),
    ]);

    // --- signatures from another key, truncated, re-encoded -----------------
    let valid_rs256 = mint(Algorithm::RS256, &claims("alice"));
    let valid_eddsa = mint(Algorithm::EdDSA, &claims("alice"));
    let other_es256 = mint(Algorithm::ES256, &claims("bob"));
    rows.extend([
        rejected(
            "RS256 signed by another RSA key",
            Every,
            with_header(&Header::new(Algorithm::RS256), &attacker),
            "invalid_signature",
        ),
        rejected(
            "PS256 signed by another RSA key",
            Every,
            with_header(&Header::new(Algorithm::PS256), &attacker),
            "invalid_signature",
        ),
        rejected(
            "HS256 signed with another secret",
            Every,
            hmac_with(
                Algorithm::HS256,
                None,
                b"another-secret-that-is-also-32-bytes-long",
            ),
            "invalid_signature",
        ),
        rejected(
            "ES256 signature of another token",
            Every,
            with_signature(&valid_es256, &signature(&other_es256)),
            "invalid_signature",
        ),
        rejected(
            "RS256 signature moved onto an RS384 header",
            Every,
            {
                let [_, payload, sig] = segments(&valid_rs256);
                raw_token(&b64(r#"{"alg":"RS384"}"#), payload, sig)
            },
            "invalid_signature",
        ),
        rejected(
            "HS256 signature truncated to 16 bytes",
            Every,
            with_signature(&valid_hs256, &signature(&valid_hs256)[..16]),
            "invalid_signature",
        ),
        rejected(
            "HS256 signature truncated to 1 byte",
            Every,
            with_signature(&valid_hs256, &signature(&valid_hs256)[..1]),
            "invalid_signature",
        ),
        rejected(
            "RS256 signature truncated to half",
            Every,
            with_signature(&valid_rs256, &signature(&valid_rs256)[..128]),
            "invalid_signature",
        ),
        rejected(
            "ES256 signature truncated to r",
            Every,
            with_signature(&valid_es256, r),
            "invalid_signature",
        ),
        rejected(
            "EdDSA signature truncated to 32 bytes",
            Every,
            with_signature(&valid_eddsa, &signature(&valid_eddsa)[..32]),
            "invalid_signature",
        ),
        rejected(
            "EdDSA signature with S + L (non-canonical S)",
            Every,
            {
                let sig = signature(&valid_eddsa);
                let (big_r, big_s) = sig.split_at(32);
                with_signature(&valid_eddsa, &[big_r, &add_le(big_s, &ED25519_L)].concat())
            },
            "invalid_signature",
        ),
        rejected(
            "RS256 signature of zero bytes (value 0)",
            Every,
            with_signature(&valid_rs256, &[0_u8; 256]),
            "invalid_signature",
        ),
        rejected(
            "RS256 signature with a leading zero byte",
            Every,
            with_signature(
                &valid_rs256,
                &[&[0_u8][..], &signature(&valid_rs256)].concat(),
            ),
            "invalid_signature",
        ),
        rejected(
            "HS256 signature with a non-canonical last character",
            Every,
            {
                let [header, payload, sig] = segments(&valid_hs256);
                raw_token(header, payload, &non_canonical(sig))
            },
            "token_malformed",
        ),
        rejected(
            "payload with a non-canonical last character",
            Every,
            {
                // Trailing spaces until the last character has unused bits.
                let mut payload = format!(r#"{{"sub":"alice","exp":{exp}}}"#);
                while b64(&payload).len() % 4 == 0 {
                    payload.push(' ');
                }
                sign_segments(
                    Algorithm::HS256,
                    &b64(HS256),
                    &non_canonical(&b64(&payload)),
                )
            },
            "token_malformed",
        ),
    ]);

    // --- kid injection ------------------------------------------------------
    let long_kid = "k".repeat(5_000);
    let too_long_kid = "k".repeat(20_000);
    for (what, kid) in [
        ("path traversal", "../../../../../../etc/passwd"),
        ("absolute path", "/dev/null"),
        ("URL", "http://127.0.0.1:1/keys"),
        ("SQL injection", "' OR '1'='1"),
        ("SQL statement", "rsa-1'; DROP TABLE keys; --"),
        ("a NUL character", "rsa-1\u{0}"),
        ("a trailing space after a known kid", "rsa-1 "),
        ("5000 characters", long_kid.as_str()),
    ] {
        rows.push(rejected(
            format!("kid with {what}, signed by the real key"),
            Kids,
            with_header(&header(Algorithm::RS256, Some(kid)), &real_rsa),
            "unknown_key",
        ));
    }
    rows.extend([
        rejected(
            "kid of 20000 characters",
            Kids,
            with_header(&header(Algorithm::RS256, Some(&too_long_kid)), &real_rsa),
            "token_too_large",
        ),
        // Without kids configured, a kid is only a hint: never a path, never
        // a query. The one RSA key decides.
        accepted(
            "kid with path traversal, keys without kids: the kid is only a hint",
            Every,
            with_header(
                &header(Algorithm::RS256, Some("../../../../etc/passwd")),
                &real_rsa,
            ),
        ),
        rejected(
            "kid with path traversal, keys without kids, another key's signature",
            Every,
            with_header(
                &header(Algorithm::RS256, Some("../../../../etc/passwd")),
                &attacker,
            ),
            "invalid_signature",
        ),
    ]);

    // --- jku, x5u, x5c, jwk: never fetched, never used -----------------------
    let jku = format!("{idp_base}/attacker/jwks");
    let x5u = format!("{idp_base}/attacker/cert.pem");
    let forged = |kid: Option<&str>, edit: &dyn Fn(&mut Header)| {
        let mut header = header(Algorithm::RS256, kid);
        edit(&mut header);
        with_header(&header, &attacker)
    };
    rows.extend([
        rejected(
            "jku to the attacker's JWKS, kid of the trusted key",
            Kids,
            forged(Some("rsa-1"), &|h| h.jku = Some(jku.clone())),
            "invalid_signature",
        ),
        rejected(
            "jku to the attacker's JWKS, the attacker's kid",
            Kids,
            forged(Some("attacker-1"), &|h| h.jku = Some(jku.clone())),
            "unknown_key",
        ),
        rejected(
            "jku to the attacker's JWKS, no kid",
            Every,
            forged(None, &|h| h.jku = Some(jku.clone())),
            "invalid_signature",
        ),
        accepted("jku on a genuine token: ignored, not fetched", Kids, {
            let mut header = header(Algorithm::RS256, Some("rsa-1"));
            header.jku = Some(jku.clone());
            with_header(&header, &real_rsa)
        }),
        rejected(
            "x5u to the attacker's certificate, kid of the trusted key",
            Kids,
            forged(Some("rsa-1"), &|h| h.x5u = Some(x5u.clone())),
            "invalid_signature",
        ),
        rejected(
            "x5u to the attacker's certificate, no kid",
            Every,
            forged(None, &|h| h.x5u = Some(x5u.clone())),
            "invalid_signature",
        ),
        rejected(
            "x5c with the attacker's certificate, no kid",
            Kids,
            forged(None, &|h| h.x5c = Some(vec![attacker_cert.clone()])),
            "invalid_signature",
        ),
        rejected(
            "x5c with the attacker's certificate, kid of the trusted key",
            Kids,
            forged(Some("rsa-1"), &|h| {
                h.x5c = Some(vec![attacker_cert.clone()])
            }),
            "invalid_signature",
        ),
        rejected(
            "x5c with the attacker's certificate, keys without kids",
            Every,
            forged(None, &|h| h.x5c = Some(vec![attacker_cert.clone()])),
            "invalid_signature",
        ),
        rejected(
            "jwk header with the attacker's public key",
            Every,
            forged(None, &|h| h.jwk = Some(attacker_jwk(None))),
            "invalid_signature",
        ),
        rejected(
            "jwk header with the attacker's public key and kid",
            Kids,
            forged(Some("attacker-1"), &|h| {
                h.jwk = Some(attacker_jwk(Some("attacker-1")))
            }),
            "unknown_key",
        ),
        rejected(
            "jwk header with the attacker's key, kid of the trusted key",
            Kids,
            forged(Some("rsa-1"), &|h| {
                h.jwk = Some(attacker_jwk(Some("rsa-1")))
            }),
            "invalid_signature",
        ),
        rejected(
            "jwk header with the attacker's HMAC key",
            Every,
            {
                let secret = b"attacker-chosen-hmac-secret-32-bytes-long";
                let jwk: Jwk =
                    serde_json::from_value(json!({"kty": "oct", "k": b64(secret)})).unwrap();
                let mut header = Header::new(Algorithm::HS256);
                header.jwk = Some(jwk);
                with_header(&header, &EncodingKey::from_secret(secret))
            },
            "invalid_signature",
        ),
    ]);

    // --- crit -----------------------------------------------------------------
    for (what, header) in [
        (
            "an unknown extension",
            r#"{"alg":"HS256","crit":["x-unknown"],"x-unknown":1}"#,
        ),
        (
            "b64 false (RFC 7797)",
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        ),
        (
            "a registered claim name",
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        ),
        ("an empty list", r#"{"alg":"HS256","crit":[]}"#),
        (
            "a string, not a list",
            r#"{"alg":"HS256","crit":"x-unknown"}"#,
        ),
        // RFC 7515 section 4.1.11: present means a non-empty array.
        ("null", r#"{"alg":"HS256","crit":null}"#),
        ("a list of a number", r#"{"alg":"HS256","crit":[1]}"#),
    ] {
        rows.push(rejected(
            format!("crit with {what}"),
            Every,
            signed_json(header, &valid_payload),
            "unsupported_crit",
        ));
    }

    // --- typ confusion (the service accepts at+jwt only) -----------------------
    let typed = |typ: Option<&str>, claims: &Value| {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        mint_with(&header, claims, &signing_key(Algorithm::HS256))
    };
    let id_token_claims = claims_with(
        "alice",
        json!({"nonce": "n-0S6_WzA2Mj", "auth_time": common::now(), "azp": "web-app"}),
    );
    rows.extend([
        rejected(
            "an ID token (typ JWT) where an access token is expected",
            AccessTokens,
            typed(Some("JWT"), &id_token_claims),
            "invalid_token_type",
        ),
        rejected(
            "a refresh token (typ refresh+jwt)",
            AccessTokens,
            typed(
                Some("refresh+jwt"),
                &claims_with("alice", json!({"token_use": "refresh"})),
            ),
            "invalid_token_type",
        ),
        rejected(
            "a refresh token marked in its claims only (typ JWT, claim typ Refresh)",
            AccessTokens,
            typed(
                Some("JWT"),
                &claims_with("alice", json!({"typ": "Refresh"})),
            ),
            "invalid_token_type",
        ),
        rejected(
            "a logout token (typ logout+jwt)",
            AccessTokens,
            typed(Some("logout+jwt"), &claims("alice")),
            "invalid_token_type",
        ),
        rejected(
            "no typ where one is required",
            AccessTokens,
            typed(None, &claims("alice")),
            "invalid_token_type",
        ),
        rejected(
            "typ at+jwt with a suffix",
            AccessTokens,
            typed(Some("at+jwt; x=1"), &claims("alice")),
            "invalid_token_type",
        ),
        rejected(
            "typ as a list",
            AccessTokens,
            signed_json(r#"{"alg":"HS256","typ":["at+jwt"]}"#, &valid_payload),
            "token_malformed",
        ),
        accepted(
            "typ application/AT+JWT (media type rules)",
            AccessTokens,
            typed(Some("application/AT+JWT"), &claims("alice")),
        ),
    ]);

    // --- segments -------------------------------------------------------------
    let jwe = [
        r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
        "key",
        "iv",
        "ciphertext",
        "tag",
    ]
    .map(b64)
    .join(".");
    let [valid_header, valid_payload_b64, _] = segments(&valid_hs256);
    rows.extend([
        rejected("five segments (JWE shape)", Every, &jwe, "token_malformed"),
        rejected(
            "five segments: a valid token and two more",
            Every,
            format!("{valid_hs256}.e30.e30"),
            "token_malformed",
        ),
        rejected(
            "four segments",
            Every,
            format!("{valid_hs256}.e30"),
            "token_malformed",
        ),
        rejected(
            "one segment: a header",
            Every,
            b64(HS256),
            "token_malformed",
        ),
        rejected(
            "one segment: a valid token without dots",
            Every,
            valid_hs256.replace('.', ""),
            "token_malformed",
        ),
        rejected(
            "two segments: header and payload",
            Every,
            format!("{valid_header}.{valid_payload_b64}"),
            "token_malformed",
        ),
    ]);

    // --- padding, whitespace, non-base64url characters ---------------------------
    rows.extend([
        rejected(
            "header with base64 padding",
            Every,
            raw_token(&format!("{}=", b64(HS256)), &payload_b64, "c2ln"),
            "token_malformed",
        ),
        rejected(
            "payload with base64 padding",
            Every,
            sign_segments(Algorithm::HS256, &b64(HS256), &format!("{payload_b64}=")),
            "token_malformed",
        ),
        rejected(
            "signature with padding",
            Every,
            format!("{}=", hs256(&claims("alice"))),
            "token_malformed",
        ),
        rejected(
            "signature in the standard base64 alphabet",
            Every,
            raw_json_token(HS256, &valid_payload, "ab+/cd"),
            "token_malformed",
        ),
        rejected(
            "signature with percent escapes",
            Every,
            raw_json_token(HS256, &valid_payload, "c2ln%20"),
            "token_malformed",
        ),
        rejected(
            "not base64 at all",
            Every,
            "<script>.alert(1).</script>",
            "token_malformed",
        ),
        rejected(
            "header with '!' characters",
            Every,
            raw_token("eyJ!!!", &payload_b64, "c2ln"),
            "token_malformed",
        ),
        rejected(
            "space inside the token",
            Every,
            format!("{}.{payload_b64}.c2 ln", b64(HS256)),
            "token_malformed",
        ),
        rejected(
            "tab inside the signature",
            Every,
            {
                let [header, payload, sig] = segments(&valid_hs256);
                raw_token(header, payload, &format!("{}\t{}", &sig[..10], &sig[10..]))
            },
            "token_malformed",
        ),
        Attack {
            name: "extra spaces around the token".into(),
            target: Every,
            authorization: format!("Bearer    {valid_hs256}   "),
            expect: Expect::Accepted(None),
        },
    ]);

    // --- duplicate names ------------------------------------------------------------
    for (claim, payload) in [
        (
            "sub",
            format!(r#"{{"sub":"alice","sub":"admin","exp":{exp}}}"#),
        ),
        ("exp", format!(r#"{{"sub":"alice","exp":1,"exp":{exp}}}"#)),
        (
            "iss",
            format!(r#"{{"sub":"alice","iss":"a","iss":"b","exp":{exp}}}"#),
        ),
        (
            "aud",
            format!(r#"{{"sub":"alice","aud":"a","aud":"b","exp":{exp}}}"#),
        ),
        (
            "ver",
            format!(r#"{{"sub":"alice","ver":9,"ver":0,"exp":{exp}}}"#),
        ),
        (
            "scope",
            format!(r#"{{"sub":"alice","scope":"read","scope":"admin","exp":{exp}}}"#),
        ),
    ] {
        rows.push(rejected(
            format!("duplicate claim {claim}"),
            Every,
            signed_payload(&payload),
            "invalid_claims",
        ));
    }
    // RFC 7519 section 4 lets a recipient reject repeated names: one
    // reader taking the first `role` and another the last would disagree.
    for (what, payload) in [
        (
            "custom claim",
            format!(r#"{{"sub":"alice","role":"user","role":"admin","exp":{exp}}}"#),
        ),
        (
            "member nested in a claim",
            format!(
                r#"{{"sub":"alice","realm_access":{{"roles":["user"],"roles":["admin"]}},"exp":{exp}}}"#
            ),
        ),
        (
            "escaped spelling of a claim",
            format!(r#"{{"sub":"alice","role":"user","\u0072ole":"admin","exp":{exp}}}"#),
        ),
    ] {
        rows.push(rejected(
            format!("duplicate {what}"),
            Every,
            signed_payload(&payload),
            "invalid_claims",
        ));
    }
    rows.push(rejected(
        "duplicate header member alg",
        Every,
        signed_json(r#"{"alg":"HS256","alg":"none"}"#, &valid_payload),
        "token_malformed",
    ));
    for (what, header) in [
        ("alg, none last", r#"{"alg":"HS256","alg":"none"}"#),
        ("alg, none first", r#"{"alg":"none","alg":"HS256"}"#),
        ("kid", r#"{"alg":"HS256","kid":"a","kid":"b"}"#),
        ("typ", r#"{"alg":"HS256","typ":"JWT","typ":"at+jwt"}"#),
    ] {
        rows.push(rejected(
            format!("duplicate header parameter {what}"),
            Every,
            signed_json(header, &valid_payload),
            "token_malformed",
        ));
    }

    // --- exp of every type ---------------------------------------------------------
    for (what, exp_json, code) in [
        ("a string", format!(r#""{exp}""#), "invalid_claims"),
        ("a boolean", "true".to_owned(), "invalid_claims"),
        ("an object", r#"{"$gt":0}"#.to_owned(), "invalid_claims"),
        ("null", "null".to_owned(), "missing_claim"),
        ("-1", "-1".to_owned(), "token_expired"),
        (
            "i64::MIN",
            "-9223372036854775808".to_owned(),
            "token_expired",
        ),
        (
            "a number below i64::MIN",
            "-92233720368547758080".to_owned(),
            "token_expired",
        ),
        ("1e400 (beyond f64)", "1e400".to_owned(), "invalid_claims"),
        ("a negative float", "-1.5e300".to_owned(), "token_expired"),
        ("a float in the past", "1.5".to_owned(), "token_expired"),
    ] {
        rows.push(rejected(
            format!("exp as {what}"),
            Every,
            signed_payload(&format!(r#"{{"sub":"alice","exp":{exp_json}}}"#)),
            code,
        ));
    }
    // Odd but valid: a signed token with extreme, well-typed values.
    for (what, exp_json) in [
        ("a huge float", "1e300".to_owned()),
        ("u64::MAX", "18446744073709551615".to_owned()),
        ("i64::MAX", "9223372036854775807".to_owned()),
        ("a float in the future", format!("{exp}.75")),
    ] {
        rows.push(accepted(
            format!("exp as {what}"),
            Every,
            signed_payload(&format!(r#"{{"sub":"alice","exp":{exp_json}}}"#)),
        ));
    }

    // --- deeply nested JSON -------------------------------------------------------------
    rows.extend([
        rejected(
            "header nested 10000 deep (unsigned)",
            LargeCap,
            raw_json_token(
                &format!(r#"{{"alg":"HS256","x":{deep_array}}}"#),
                &valid_payload,
                "c2ln",
            ),
            "invalid_signature",
        ),
        rejected(
            "payload nested 10000 deep (array)",
            LargeCap,
            signed_payload(&format!(
                r#"{{"sub":"alice","exp":{exp},"x":{deep_array}}}"#
            )),
            "invalid_claims",
        ),
        rejected(
            "payload nested 10000 deep (object)",
            LargeCap,
            signed_payload(&format!(
                r#"{{"sub":"alice","exp":{exp},"x":{deep_object}}}"#
            )),
            "invalid_claims",
        ),
        rejected(
            "payload nested 200 deep, under the default cap",
            Every,
            signed_payload(&format!(
                r#"{{"sub":"alice","exp":{exp},"x":{}{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            )),
            "invalid_claims",
        ),
    ]);

    // --- oversized values -----------------------------------------------------------------
    rows.extend([
        rejected(
            "JOSE header with a 17 KiB value",
            Every,
            signed_json(
                &format!(r#"{{"alg":"HS256","x":"{}"}}"#, "x".repeat(17 * 1024)),
                &valid_payload,
            ),
            "token_too_large",
        ),
        // hyper refuses a header section this large with 431 before any
        // service runs (its default limit is about 400 KiB); the layer never
        // sees it. Below that limit the layer's 16 KiB cap answers (row above).
        Attack {
            name: "Authorization header of 1 MiB".into(),
            target: Every,
            authorization: format!("Bearer {}", "A".repeat(1024 * 1024)),
            expect: Expect::Status(431),
        },
    ]);
    rows
}

/// A DER `ECDSA-Sig-Value` of `r` and `s` (each under 128 bytes).
fn der_ecdsa(r: &[u8], s: &[u8]) -> Vec<u8> {
    let integer = |v: &[u8]| {
        let v = &v[v.iter().position(|b| *b != 0).unwrap_or(v.len() - 1)..];
        let pad = v[0] & 0x80 != 0;
        let mut out = vec![0x02, u8::try_from(v.len() + usize::from(pad)).unwrap()];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    };
    let body = [integer(r), integer(s)].concat();
    [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat()
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

struct Servers {
    every: TestServer,
    public_only: TestServer,
    kids: TestServer,
    access_tokens: TestServer,
    large_cap: TestServer,
}

impl Servers {
    async fn start() -> Self {
        let public_only = JwtAuth::builder()
            .public_key_pem(key_file("rsa_public.pem"))
            .public_key_pem(key_file("ec_p256_public.pem"))
            .public_key_pem(key_file("ec_p384_public.pem"))
            .public_key_pem(key_file("ed25519_public.pem"));
        let kids = JwtAuth::builder()
            .key(Key::hmac(SECRET).unwrap().with_kid("hmac-1"))
            .key(
                Key::rsa_pem(key_file("rsa_public.pem"))
                    .unwrap()
                    .with_kid("rsa-1"),
            )
            .key(
                Key::ec_pem(key_file("ec_p256_public.pem"))
                    .unwrap()
                    .with_kid("ec-1"),
            );
        Self {
            every: serve(every_key_auth()).await,
            public_only: serve(build(public_only)).await,
            kids: serve(build(kids)).await,
            access_tokens: serve(build(
                JwtAuth::builder().hmac_secret(SECRET).token_type("at+jwt"),
            ))
            .await,
            large_cap: serve(build(
                JwtAuth::builder()
                    .hmac_secret(SECRET)
                    .max_token_bytes(128 * 1024),
            ))
            .await,
        }
    }

    fn get(&self, target: Target) -> &TestServer {
        match target {
            Target::Every => &self.every,
            Target::PublicOnly => &self.public_only,
            Target::Kids => &self.kids,
            Target::AccessTokens => &self.access_tokens,
            Target::LargeCap => &self.large_cap,
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_attack_gets_its_one_expected_answer_and_none_a_server_error() {
    let (idp, idp_base) = idp().await;
    // What an attacker would serve, should the layer ever fetch it.
    idp.set(
        "/attacker/jwks",
        Answer::Json(
            json!({ "keys": [attacker_jwk(Some("rsa-1")), attacker_jwk(Some("attacker-1"))] }),
            None,
        ),
    );
    idp.set(
        "/attacker/cert.pem",
        Answer::Json(
            json!(String::from_utf8(key_file("other_rsa_cert.pem")).unwrap()),
            None,
        ),
    );
    let servers = Servers::start().await;
    let attacks = attacks(&idp_base);
    assert!(attacks.len() >= 100, "the table has {} rows", attacks.len());
    let mut names = std::collections::HashSet::new();
    for attack in &attacks {
        assert!(
            names.insert(attack.name.as_str()),
            "duplicate row name {:?}",
            attack.name
        );
    }

    let mut failures = Vec::new();
    for attack in &attacks {
        let server = servers.get(attack.target);
        let reply = send(
            server
                .get("/protected")
                .header("authorization", attack.authorization.as_str()),
        )
        .await;
        if reply.status >= 500 {
            failures.push(format!("{}: a server error: {reply:?}", attack.name));
            continue;
        }
        let as_expected = match &attack.expect {
            Expect::Accepted(claim) => {
                reply.status == 200
                    && reply.json()["sub"] == "alice"
                    && claim
                        .as_ref()
                        .is_none_or(|(name, value)| reply.json()["claims"][name] == *value)
            }
            Expect::Rejected(status, code) => {
                let challenge = reply.www_authenticate.as_deref().unwrap_or_default();
                reply.status == *status
                    && reply.code().as_deref() == Some(*code)
                    && challenge.starts_with(r#"Bearer realm="api", error="invalid_token""#)
            }
            Expect::Status(status) => reply.status == *status,
        };
        if !as_expected {
            let mut shown = format!("{reply:?}");
            shown.truncate(400);
            failures.push(format!(
                "{}: expected {:?}, got {shown}",
                attack.name, attack.expect
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} attacks failed:\n{}",
        failures.len(),
        attacks.len(),
        failures.join("\n")
    );
    // The matrix, row by row, for the record (`-- --nocapture`).
    for attack in &attacks {
        eprintln!("attack row: {} -> {:?}", attack.name, attack.expect);
    }

    // The rejections in detail (challenge and body agree), for one row of
    // each code.
    let mut seen = std::collections::HashSet::new();
    for attack in &attacks {
        if let Expect::Rejected(status, code) = attack.expect
            && seen.insert(code)
        {
            let reply = send(
                servers
                    .get(attack.target)
                    .get("/protected")
                    .header("authorization", attack.authorization.as_str()),
            )
            .await;
            reply.assert_rejected(status, code);
        }
    }

    // Keys come from the configuration only: nothing was fetched.
    assert_eq!(idp.hits("/attacker/jwks"), 0, "a jku URL was fetched");
    assert_eq!(idp.hits("/attacker/cert.pem"), 0, "an x5u URL was fetched");

    // Every server still serves.
    for target in [Target::Every, Target::Kids, Target::LargeCap] {
        servers
            .get(target)
            .bearer(&hs256(&claims("alice")))
            .await
            .assert_ok("alice");
    }
}

/// The same tokens in a cookie, under the default size cap: a 4xx (or a 200
/// where the token is valid), never a server error.
#[tokio::test]
async fn every_attack_token_in_a_cookie_yields_no_server_error() {
    let (_idp, idp_base) = idp().await;
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .public_key_pem(key_file("rsa_public.pem"))
        .public_key_pem(key_file("ec_p256_public.pem"))
        .token_sources([TokenSource::Bearer, TokenSource::cookie("session")])
        .build()
        .unwrap();
    let server = serve(auth).await;
    for attack in attacks(&idp_base) {
        let Some(token) = attack.token() else {
            continue;
        };
        if token.len() > 64 * 1024 {
            continue;
        }
        let reply = send(
            server
                .get("/protected")
                .header("cookie", format!("session={token}")),
        )
        .await;
        assert!(
            matches!(reply.status, 200 | 400 | 401),
            "{}: {reply:?}",
            attack.name
        );
    }
    server
        .bearer(&hs256(&claims("alice")))
        .await
        .assert_ok("alice");
}

/// A 1 MiB value in the JOSE header cannot pass hyper's header limit (the
/// matrix row gets a 431), so the layer is called directly: the size cap
/// answers before anything is decoded, with a 401, never a 5xx.
#[tokio::test]
async fn a_one_mebibyte_jose_header_value_is_refused_by_the_size_cap() {
    let auth = common::hmac_auth();
    let token = signed_json(
        &format!(r#"{{"alg":"HS256","x":"{}"}}"#, "x".repeat(1024 * 1024)),
        &claims("alice").to_string(),
    );
    assert_eq!(
        auth.verifier().verify(&token).unwrap_err().kind(),
        ErrorKind::TokenTooLarge
    );
    let service = auth.json_errors().layer(tower::service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(axum::http::Response::new(String::new()))
    }));
    let response = service.oneshot(tower_request(Some(&token))).await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["code"], "token_too_large");
}
