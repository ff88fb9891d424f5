//! Writes the seed corpus of the `verify` target: valid tokens for every
//! algorithm family (mode 0), a header and payload to be signed (mode 1) and
//! request header values (mode 2). Run from the `fuzz` folder:
//! `cargo run --bin seed_corpus` (writes `corpus/verify/`).

use std::fs;
use std::path::Path;

use auth_layer_fuzz::{NOW, SECRET, private_key};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new("corpus").join("verify");
    fs::create_dir_all(&dir)?;
    let claims = json!({
        "iss": "https://issuer.example",
        "sub": "alice",
        "aud": "api",
        "iat": NOW,
        "exp": NOW + 600,
        "scope": "read write",
        "ver": 1,
        "sid": "s1",
    });
    let keys = [
        (Algorithm::HS256, EncodingKey::from_secret(SECRET), "h1"),
        (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(private_key("rsa"))?,
            "r1",
        ),
        (
            Algorithm::PS256,
            EncodingKey::from_rsa_pem(private_key("rsa"))?,
            "r1",
        ),
        (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(private_key("p256"))?,
            "e1",
        ),
        (
            Algorithm::ES384,
            EncodingKey::from_ec_pem(private_key("p384"))?,
            "e2",
        ),
        (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(private_key("ed25519"))?,
            "d1",
        ),
    ];
    let mut written = 0;
    for (alg, key, kid) in &keys {
        let mut header = Header::new(*alg);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some((*kid).to_owned());
        let token = jsonwebtoken::encode(&header, &claims, key)?;
        fs::write(
            dir.join(format!("token-{alg:?}")),
            [b"\x00".as_slice(), token.as_bytes()].concat(),
        )?;
        let bearer = format!("Bearer {token}");
        fs::write(
            dir.join(format!("request-{alg:?}")),
            [b"\x02".as_slice(), bearer.as_bytes()].concat(),
        )?;
        written += 2;
    }
    let header = br#"{"alg":"HS256","typ":"at+jwt","kid":"h1"}"#;
    let payload = claims.to_string();
    fs::write(
        dir.join("signed-hs256"),
        [b"\x01\x00".as_slice(), header, b"\x00", payload.as_bytes()].concat(),
    )?;
    written += 1;
    println!("wrote {written} seeds to {}", dir.display());
    Ok(())
}
