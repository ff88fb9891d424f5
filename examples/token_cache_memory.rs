//! What the verified-token cache costs in memory: inserts N distinct HS256
//! tokens of about 300 bytes (one subject each) into a verifier's cache and
//! reports the cache's own estimate beside the process's resident size
//! (`/proc/self/statm`, Linux) before and after.
//!
//! ```sh
//! cargo run --release -p examples --example token_cache_memory            # 1 000 000 tokens
//! cargo run --release -p examples --example token_cache_memory -- 100000
//! cargo run --release -p examples --example token_cache_memory -- 1000000 registered
//! cargo run --release -p examples --example token_cache_memory -- 1000000 default keycloak
//! cargo run --release -p examples --example token_cache_memory -- 1000000 default keycloak preset
//! ```
//!
//! The second argument is the claims type the layer deserialises into:
//! `default` ([`DefaultClaims`], the layer's default) or `registered` (a
//! claims type that keeps nothing, so only what the verifier always keeps:
//! the registered claims, `ver`/`sid` and the scopes).
//!
//! The third argument is the token's shape: `plain` (the default) or
//! `keycloak`, an access token as Keycloak issues it (about 1 KB: realm and
//! client roles under `realm_access` / `resource_access`, `acr`,
//! `auth_time`, profile claims). A fourth argument `preset` reads the
//! Keycloak roles as grants (`GrantClaims::keycloak`); without it the layer
//! reads only the default grant claims.
//!
//! Tokens are minted and verified one at a time and then dropped, so the
//! growth in resident size is the cache's (its entries, the table's bookkeeping,
//! the allocator's slack), not the tokens'.

use std::error::Error;
use std::time::{Duration, Instant};

use auth_layer::JwtAuth;
use auth_layer::claims::DefaultClaims;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

const SECRET: &[u8] = b"memory-test-secret-of-at-least-32-bytes";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "orders-api";
/// The page size of x86-64 and most aarch64 Linux systems.
const PAGE_BYTES: u64 = 4096;

/// The process's resident set size in bytes.
fn resident_bytes() -> Result<u64, Box<dyn Error>> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("/proc/self/statm: no resident field")?
        .parse()?;
    Ok(pages * PAGE_BYTES)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A claims type that keeps nothing beyond what the verifier always keeps.
#[derive(Deserialize)]
struct NoExtraClaims {}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let count: u64 = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("{n:?}: not a whole number of tokens"))?,
        None => 1_000_000,
    };
    let claims_type = args.next();
    let keycloak = match args.next().as_deref() {
        None | Some("plain") => false,
        Some("keycloak") => true,
        Some(other) => {
            return Err(format!("{other:?}: the token shape is plain or keycloak").into());
        }
    };
    let preset = match args.next().as_deref() {
        None => false,
        Some("preset") => true,
        Some(other) => return Err(format!("{other:?}: the fourth argument is preset").into()),
    };
    let shape = Shape { keycloak, preset };
    match claims_type.as_deref() {
        None | Some("default") => measure::<DefaultClaims>("DefaultClaims", count, shape),
        Some("registered") => measure::<NoExtraClaims>("registered claims only", count, shape),
        Some(other) => Err(format!("{other:?}: the claims type is default or registered").into()),
    }
}

/// The tokens' shape and where the layer reads grants.
#[derive(Clone, Copy)]
struct Shape {
    keycloak: bool,
    preset: bool,
}

fn measure<C>(name: &str, count: u64, shape: Shape) -> Result<(), Box<dyn Error>>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let mut builder = JwtAuth::builder()
        .claims::<C>()
        .hmac_secret(SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        // Large enough that nothing is evicted, long enough that nothing expires.
        .token_cache_max_bytes(16 << 30)
        .token_cache_max_age(Duration::from_secs(3600));
    if shape.preset {
        builder = builder.grant_claims(auth_layer::claims::GrantClaims::keycloak([AUDIENCE]));
    }
    let auth = builder.build()?;
    let verifier = auth.verifier();
    let key = EncodingKey::from_secret(SECRET);
    let header = Header::default();
    let now = jsonwebtoken::get_current_timestamp();
    let mint = |i: u64| {
        if shape.keycloak {
            return encode(&header, &keycloak_claims(i, now), &key);
        }
        encode(
            &header,
            &serde_json::json!({
                "iss": ISSUER,
                "sub": format!("user-{i:010}"),
                "aud": AUDIENCE,
                "exp": now + 3600,
                "iat": now,
                "jti": format!("{i:016x}"),
                "ver": 0,
                "scope": "orders:read",
            }),
            &key,
        )
    };
    let sample = mint(0)?;
    verifier.verify(&sample)?;
    let before = resident_bytes()?;
    let cached_before = verifier.cached_tokens();

    let started = Instant::now();
    let mut token_bytes = 0_u64;
    for i in 1..=count {
        let token = mint(i)?;
        token_bytes += token.len() as u64;
        verifier.verify(&token)?;
    }
    let elapsed = started.elapsed();
    let entries = verifier.cached_tokens() - cached_before;
    let estimate = verifier.cached_bytes();
    let after = resident_bytes()?;
    let grown = after.saturating_sub(before);

    let verified = verifier.verify(&sample)?;
    println!("claims type:                {name}");
    println!(
        "grants of one token:        {} scopes, {} roles",
        verified.scopes().len(),
        verified.roles().len()
    );
    println!("tokens inserted:            {count}");
    println!(
        "token length:               {:.0} bytes on average",
        token_bytes as f64 / count as f64
    );
    println!("entries cached:             {entries}");
    println!(
        "cache's own estimate:       {:.0} bytes per entry ({:.1} MiB in all)",
        estimate as f64 / verifier.cached_tokens() as f64,
        mib(estimate)
    );
    println!(
        "resident size:              {:.1} MiB before, {:.1} MiB after",
        mib(before),
        mib(after)
    );
    println!(
        "measured:                   {:.0} bytes per entry (growth in resident size / entries)",
        grown as f64 / entries.max(1) as f64
    );
    println!(
        "time:                       {:.2} s ({:.2} µs per mint + verify + insert)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / count as f64
    );
    if entries != count {
        return Err(format!("{entries} of {count} tokens stayed cached").into());
    }
    Ok(())
}

/// An access token as Keycloak 26 issues it for a confidential client
/// (`orders-api`) with the default client scopes (the tests' copy), with a
/// subject, session and token id of its own.
fn keycloak_claims(i: u64, now: u64) -> serde_json::Value {
    let mut claims: serde_json::Value =
        serde_json::from_str(include_str!("../tests/tokens/keycloak.json")).unwrap_or_default();
    let fields = [
        ("exp", (now + 3600).into()),
        ("iat", now.into()),
        ("auth_time", (now - 60).into()),
        ("iss", ISSUER.into()),
        (
            "jti",
            format!("onrtac:{i:08x}-5c1e-4f0b-9b1a-2f6d8e7c3a41").into(),
        ),
        ("sub", format!("{i:08x}-6e2f-4d6b-8a3e-0c9b7f5d1e22").into()),
        ("sid", format!("{i:08x}-1b7c-4a52-9f0e-3d8c6b2a1f90").into()),
        ("preferred_username", format!("kim{i}").into()),
        ("email", format!("kim{i}@shop.example").into()),
    ];
    if let Some(object) = claims.as_object_mut() {
        for (name, value) in fields {
            object.insert(name.to_owned(), value);
        }
    }
    claims
}
