//! What the verified-token cache costs in memory: inserts N distinct HS256
//! tokens of about 300 bytes (one subject each) into a verifier's cache and
//! reports the cache's own estimate beside the process's resident size
//! (`/proc/self/statm`, Linux) before and after.
//!
//! ```sh
//! cargo run --release -p examples --example token_cache_memory            # 1 000 000 tokens
//! cargo run --release -p examples --example token_cache_memory -- 100000
//! cargo run --release -p examples --example token_cache_memory -- 1000000 registered
//! ```
//!
//! The second argument is the claims type the layer deserialises into:
//! `default` ([`DefaultClaims`], the layer's default) or `registered` (a
//! claims type that keeps nothing, so only what the verifier always keeps:
//! the registered claims, `ver`/`sid` and the scopes).
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
    match args.next().as_deref() {
        None | Some("default") => measure::<DefaultClaims>("DefaultClaims", count),
        Some("registered") => measure::<NoExtraClaims>("registered claims only", count),
        Some(other) => Err(format!("{other:?}: the claims type is default or registered").into()),
    }
}

fn measure<C>(name: &str, count: u64) -> Result<(), Box<dyn Error>>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let auth = JwtAuth::builder()
        .claims::<C>()
        .hmac_secret(SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        // Large enough that nothing is evicted, long enough that nothing expires.
        .token_cache_max_bytes(16 << 30)
        .token_cache_max_age(Duration::from_secs(3600))
        .build()?;
    let verifier = auth.verifier();
    let key = EncodingKey::from_secret(SECRET);
    let header = Header::default();
    let now = jsonwebtoken::get_current_timestamp();
    let mint = |i: u64| {
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

    println!("claims type:                {name}");
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
