//! The published JWS examples as verification tests: RFC 7515 Appendix A
//! (A.1 HS256, A.2 RS256, A.3 ES256, A.4 ES512, A.5 unsecured) and RFC 7520
//! section 4 (the JOSE cookbook's signature examples), keys and tokens
//! copied exactly from the RFCs.
//!
//! Examples with an algorithm the layer accepts verify; ES512 (not
//! supported: P-521) and the unsecured example are rejected.
//!
//! RFC 7520's payload is a line of text, not a JSON claims set, so through
//! the layer those tokens end as `invalid_claims`; the verifier reads the
//! claims before it checks the signature, so that answer does not show the
//! signature was good. That their signatures are valid is checked with
//! `jsonwebtoken::crypto::verify`, the call the verifier makes, on the same
//! keys: each verifies, and with one signature bit flipped does not.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;

use auth_layer::JwtAuth;
use auth_layer::clock::ManualClock;
use auth_layer::keys::{Algorithm, Key};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Reply, TestServer, b64, build, serve};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;

// ---------------------------------------------------------------------------
// RFC 7515 Appendix A
// ---------------------------------------------------------------------------

/// A.1: the HMAC key (JWK `oct`).
const A1_KEY: &str = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
/// A.1: the JWS (HS256), header `{"typ":"JWT",\r\n "alg":"HS256"}`.
const A1_JWS: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A.2: the RSA public key (the JWK's public members).
const A2_KEY: &str = r#"{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#;
/// A.2: the JWS (RS256).
const A2_JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// A.3: the P-256 public key.
const A3_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
/// A.3: the JWS (ES256).
const A3_JWS: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// A.4: the P-521 public key.
const A4_KEY: &str = r#"{"kty":"EC","crv":"P-521","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;
/// A.4: the JWS (ES512) of the payload `Payload`.
const A4_JWS: &str = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

/// A.5: the unsecured JWS (`alg` `none`).
const A5_JWS: &str = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

/// The `exp` of the A.1-A.3 payload.
const A_EXP: i64 = 1_300_819_380;

// ---------------------------------------------------------------------------
// RFC 7520 section 4
// ---------------------------------------------------------------------------

/// Figure 3 (the RSA key's public members), used by 4.1, 4.2 and 4.8.
const C_RSA_KEY: &str = r#"{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig","n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw","e":"AQAB"}"#;
/// Figure 1 (the P-521 key's public members), used by 4.3 and 4.8.
const C_EC_KEY: &str = r#"{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521","x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt","y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}"#;
/// Figure 5 (the HMAC key), used by 4.4-4.8.
const C_HMAC_KEY: &str = r#"{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}"#;

/// Figure 8: the payload, base64url-encoded.
const C_PAYLOAD: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

/// 4.1: RS256, compact serialization (Figure 16).
const C_4_1: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";
/// 4.2: PS384, compact serialization (Figure 23).
const C_4_2: &str = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw";
/// 4.3: ES512, compact serialization (Figure 30).
const C_4_3: &str = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";
/// 4.4: HS256, compact serialization (Figure 37).
const C_4_4: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
/// 4.5: HS256 with detached content, compact serialization (Figure 44).
const C_4_5: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9..s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
/// 4.6: protected header `{"alg":"HS256"}` (the `kid` is unprotected, so the
/// RFC gives no compact form): its signing input (Figure 50) and signature
/// (Figure 51), joined as a compact token would carry them.
const C_4_6_INPUT: &str = "eyJhbGciOiJIUzI1NiJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const C_4_6_SIG: &str = "bWUSVaxorn7bEF1djytBd0kHv70Ly5pvbomzMWSOr20";
/// 4.7: no protected header at all (Figure 56's signing input starts with
/// the dot) and its signature (Figure 57).
const C_4_7_INPUT: &str = ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const C_4_7_SIG: &str = "xuLifqLGiblpv9zBpuZczWhNj1gARaLV3UxvxhJxZuk";
/// 4.8, first signature: protected `{"alg":"RS256"}` (the `kid` is unprotected).
const C_4_8_RS256_INPUT: &str = "eyJhbGciOiJSUzI1NiJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const C_4_8_RS256_SIG: &str = "MIsjqtVlOpa71KE-Mss8_Nq2YH4FGhiocsqrgi5NvyG53uoimic1tcMdSg-qptrzZc7CG6Svw2Y13TDIqHzTUrL_lR2ZFcryNFiHkSw129EghGpwkpxaTn_THJTCglNbADko1MZBCdwzJxwqZc-1RlpO2HibUYyXSwO97BSe0_evZKdjvvKSgsIqjytKSeAMbhMBdMma622_BG5t4sdbuCHtFjp9iJmkio47AIwqkZV1aIZsv33uPUqBBCXbYoQJwt7mxPftHmNlGoOSMxR_3thmXTCm4US-xiNOyhbm8afKK64jU6_TPtQHiJeQJxz9G3Tx-083B745_AfYOnlC9w";
/// 4.8, second signature: ES512 with no protected header.
const C_4_8_ES512_INPUT: &str = ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const C_4_8_ES512_SIG: &str = "ARcVLnaJJaUWG8fG-8t5BREVAuTY8n8YHjwDO1muhcdCoFZFFjfISu0Cdkn9Ybdlmi54ho0x924DUz8sK7ZXkhc7AFM8ObLfTvNCrqcI3Jkl2U5IX3utNhODH6v7xgy1Qahsn0fyb4zSAkje8bAWz4vIfj5pCMYxxm4fgV3q7ZYhm5eD";
/// 4.8, third signature: the same as 4.4.
const C_4_8_HS256_INPUT: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const C_4_8_HS256_SIG: &str = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `token` with the lowest bit of its signature's first byte flipped.
fn flip_signature_bit(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[0] ^= 1;
    format!("{signed}.{}", b64(bytes))
}

/// Whether `signature` is a valid signature of `input` by `jwk` with `alg`,
/// through the crypto call the verifier makes.
fn signature_verifies(input: &str, signature: &str, jwk: &str, alg: Algorithm) -> bool {
    let jwk: Jwk = serde_json::from_str(jwk).unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    jsonwebtoken::crypto::verify(signature, input.as_bytes(), &key, alg).unwrap_or(false)
}

#[track_caller]
fn assert_accepted_a_example(reply: &Reply, alg: &str) {
    assert_eq!(reply.status, 200, "{alg}: {reply:?}");
    let body = reply.json();
    assert_eq!(body["alg"], alg, "{reply:?}");
    assert_eq!(body["claims"]["iss"], "joe", "{reply:?}");
    assert_eq!(body["claims"]["exp"], A_EXP, "{reply:?}");
    assert_eq!(
        body["claims"]["http://example.com/is_root"], true,
        "{reply:?}"
    );
}

/// A server trusting the A.1, A.2 and A.3 keys, on a clock set before the
/// examples' `exp`.
/// The RFC's example tokens name no subject (`{"iss":"joe",…}`): the
/// layer is told to accept that.
async fn appendix_a_server(clock: &ManualClock) -> TestServer {
    serve(build(
        JwtAuth::builder()
            .subject_optional()
            .jwk(A1_KEY)
            .jwk(A2_KEY)
            .jwk(A3_KEY)
            .clock(clock.clone()),
    ))
    .await
}

// ---------------------------------------------------------------------------
// RFC 7515 Appendix A
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rfc7515_a1_to_a3_verify_and_a4_a5_are_rejected() {
    let clock = ManualClock::new(A_EXP - 3_600);
    let server = appendix_a_server(&clock).await;

    for (name, jws, alg) in [
        ("A.1", A1_JWS, "HS256"),
        ("A.2", A2_JWS, "RS256"),
        ("A.3", A3_JWS, "ES256"),
    ] {
        let reply = server.bearer(jws).await;
        assert_accepted_a_example(&reply, alg);
        eprintln!("RFC 7515 {name} ({alg}) verified");
        server
            .bearer(&flip_signature_bit(jws))
            .await
            .assert_invalid("invalid_signature");
    }

    // A.4: ES512 (P-521) is not a supported algorithm, and its key cannot be
    // configured.
    server
        .bearer(A4_JWS)
        .await
        .assert_invalid("algorithm_not_allowed");
    let err = Key::jwk_json(A4_KEY).unwrap_err();
    assert!(err.to_string().contains("EC"), "{err}");

    // A.5: the unsecured JWS is never accepted.
    server
        .bearer(A5_JWS)
        .await
        .assert_invalid("algorithm_not_allowed");
}

#[tokio::test]
async fn rfc7515_examples_expire_at_their_exp() {
    let clock = ManualClock::new(A_EXP - 3_600);
    let server = appendix_a_server(&clock).await;
    server.bearer(A1_JWS).await; // cached as verified
    // Within the default leeway (60 s) after exp: still valid.
    clock.set(A_EXP + 60);
    for jws in [A1_JWS, A2_JWS, A3_JWS] {
        assert_eq!(server.bearer(jws).await.status, 200);
    }
    clock.set(A_EXP + 61);
    for jws in [A1_JWS, A2_JWS, A3_JWS] {
        server.bearer(jws).await.assert_invalid("token_expired");
    }
}

#[tokio::test]
async fn rfc7515_keys_stay_pinned_to_their_family() {
    // The A.2 RSA key alone: the A.1 HS256 token finds no HMAC key.
    let clock = ManualClock::new(A_EXP - 3_600);
    let rsa_only = serve(build(
        JwtAuth::builder()
            .subject_optional()
            .jwk(A2_KEY)
            .clock(clock),
    ))
    .await;
    rsa_only
        .bearer(A1_JWS)
        .await
        .assert_invalid("algorithm_not_allowed");
    assert_accepted_a_example(&rsa_only.bearer(A2_JWS).await, "RS256");
}

// ---------------------------------------------------------------------------
// RFC 7520 section 4
// ---------------------------------------------------------------------------

#[test]
fn rfc7520_payload_is_the_cookbook_text() {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(C_PAYLOAD).unwrap()).unwrap();
    assert_eq!(
        text,
        "It\u{2019}s a dangerous business, Frodo, going out your door. You step onto the road, \
         and if you don't keep your feet, there\u{2019}s no knowing where you might be swept off to."
    );
}

#[test]
fn rfc7520_signatures_verify_with_their_keys_and_not_when_altered() {
    let compact = |token: &'static str| token.rsplit_once('.').unwrap();
    let cases: [(&str, (&str, &str), &str, Algorithm); 6] = [
        ("4.1 RSA v1.5", compact(C_4_1), C_RSA_KEY, Algorithm::RS256),
        ("4.2 RSA-PSS", compact(C_4_2), C_RSA_KEY, Algorithm::PS384),
        (
            "4.4 HMAC-SHA2",
            compact(C_4_4),
            C_HMAC_KEY,
            Algorithm::HS256,
        ),
        (
            "4.6 protected header fields",
            (C_4_6_INPUT, C_4_6_SIG),
            C_HMAC_KEY,
            Algorithm::HS256,
        ),
        (
            "4.8 multiple signatures, RS256",
            (C_4_8_RS256_INPUT, C_4_8_RS256_SIG),
            C_RSA_KEY,
            Algorithm::RS256,
        ),
        (
            "4.8 multiple signatures, HS256",
            (C_4_8_HS256_INPUT, C_4_8_HS256_SIG),
            C_HMAC_KEY,
            Algorithm::HS256,
        ),
    ];
    for (name, (input, signature), jwk, alg) in cases {
        assert!(signature_verifies(input, signature, jwk, alg), "{name}");
        let altered = flip_signature_bit(&format!("{input}.{signature}"));
        let altered_signature = altered.rsplit_once('.').unwrap().1;
        assert!(
            !signature_verifies(input, altered_signature, jwk, alg),
            "{name} altered"
        );
        assert_eq!(input.split('.').nth(1), Some(C_PAYLOAD), "{name}");
    }
    // 4.5's detached signature is 4.4's, over the same (detached) payload.
    assert_eq!(
        C_4_5.rsplit_once('.').unwrap().1,
        C_4_4.rsplit_once('.').unwrap().1
    );
    // 4.7's signature covers an empty protected header.
    assert!(signature_verifies(
        C_4_7_INPUT,
        C_4_7_SIG,
        C_HMAC_KEY,
        Algorithm::HS256
    ));
}

#[tokio::test]
async fn rfc7520_tokens_through_the_layer() {
    // The cookbook's keys as configured JWKs: the RSA key (2048 bits) and the
    // HMAC key are accepted, the P-521 key is not supported.
    let server = serve(build(
        JwtAuth::builder()
            .jwk(C_RSA_KEY)
            .jwk(C_HMAC_KEY)
            .danger_exp_optional(),
    ))
    .await;
    assert!(Key::jwk_json(C_EC_KEY).is_err(), "P-521 is not supported");

    let compact_4_6 = format!("{C_4_6_INPUT}.{C_4_6_SIG}");
    let compact_4_8_rs256 = format!("{C_4_8_RS256_INPUT}.{C_4_8_RS256_SIG}");
    let compact_4_8_hs256 = format!("{C_4_8_HS256_INPUT}.{C_4_8_HS256_SIG}");
    // The payload is text, not a JSON claims set: a verified signature does
    // not make a JWT of it.
    for (name, token) in [
        ("4.1 RSA v1.5", C_4_1),
        ("4.2 RSA-PSS", C_4_2),
        ("4.4 HMAC-SHA2", C_4_4),
        ("4.6 protected header fields", compact_4_6.as_str()),
        ("4.8 RS256", compact_4_8_rs256.as_str()),
        ("4.8 HS256", compact_4_8_hs256.as_str()),
    ] {
        let reply = server.bearer(token).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("invalid_claims"),
            "{name}: {reply:?}"
        );
        reply.assert_invalid("invalid_claims");
    }
    // ES512 is not supported.
    server
        .bearer(C_4_3)
        .await
        .assert_invalid("algorithm_not_allowed");
    // Not compact JWS tokens: detached content (empty payload) and no
    // protected header (4.7, and 4.8's ES512 signature).
    for (name, token) in [
        ("4.5 detached content", C_4_5.to_owned()),
        ("4.7 content only", format!("{C_4_7_INPUT}.{C_4_7_SIG}")),
        (
            "4.8 ES512",
            format!("{C_4_8_ES512_INPUT}.{C_4_8_ES512_SIG}"),
        ),
    ] {
        let reply = server.bearer(&token).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("token_malformed"),
            "{name}: {reply:?}"
        );
        reply.assert_invalid("token_malformed");
    }
}

/// Regression: the payload of a token whose signature fails is never read,
/// so a forgery learns nothing about the claims rules.
#[tokio::test]
async fn a_bad_signature_is_reported_before_the_claims_are_read() {
    let server = serve(build(
        JwtAuth::builder()
            .jwk(C_RSA_KEY)
            .jwk(C_HMAC_KEY)
            .danger_exp_optional(),
    ))
    .await;
    for token in [C_4_1, C_4_4] {
        server
            .bearer(&flip_signature_bit(token))
            .await
            .assert_rejected(401, "invalid_signature");
        server
            .bearer(token)
            .await
            .assert_rejected(401, "invalid_claims");
    }
}
