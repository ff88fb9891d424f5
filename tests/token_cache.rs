//! The verified-token cache: what it must never change about verification.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use auth_tests::revocation_contract as common;

use std::time::Duration;

use auth_layer::clock::ManualClock;
use auth_layer::revocation::RevocationCache;
use auth_layer::store::MemoryStore;
use auth_layer::{ErrorKind, JwtAuth};
use common::{SECRET, kind, send};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn token(claims: serde_json::Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn auth(clock: &ManualClock) -> JwtAuth {
    JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// What a client's connection does: the same token on every request, which
/// the thread serving it comes to hold whole in front of the cache.
fn sent_again_and_again(auth: &JwtAuth, token: &str) -> auth_layer::VerifiedToken {
    let first = auth.verifier().verify(token).unwrap();
    for _ in 0..4 {
        let again = auth.verifier().verify(token).unwrap();
        assert!(std::ptr::eq(first.claims(), again.claims()), "a hit");
    }
    first
}

/// `token` verified on a thread of its own, as a server's threads see a
/// token among many others' (no thread sees it twice in a row).
fn on_another_thread(auth: &JwtAuth, token: &str) -> Result<auth_layer::VerifiedToken, ErrorKind> {
    std::thread::scope(|s| {
        s.spawn(|| auth.verifier().verify(token).map_err(|e| e.kind()))
            .join()
            .unwrap()
    })
}

/// What many clients' connections do: the same token again and again, each
/// time on another thread, which the cache comes to hold whole (by its
/// bytes, not its digest).
fn sent_by_many(auth: &JwtAuth, token: &str) -> auth_layer::VerifiedToken {
    let first = on_another_thread(auth, token).unwrap();
    for _ in 0..4 {
        let again = on_another_thread(auth, token).unwrap();
        assert!(std::ptr::eq(first.claims(), again.claims()), "a hit");
    }
    first
}

/// How a cached token comes back.
#[derive(Debug, Clone, Copy)]
enum Sent {
    /// Verified once, then found by its digest.
    Once,
    /// On one thread again and again.
    AgainAndAgain,
    /// Again and again, each time on another thread.
    ByMany,
}

const EVERY_WAY: [Sent; 3] = [Sent::Once, Sent::AgainAndAgain, Sent::ByMany];

/// `token` verified, and sent as `sent` says.
fn verified(auth: &JwtAuth, token: &str, sent: Sent) -> auth_layer::VerifiedToken {
    match sent {
        Sent::Once => auth.verifier().verify(token).unwrap(),
        Sent::AgainAndAgain => sent_again_and_again(auth, token),
        Sent::ByMany => sent_by_many(auth, token),
    }
}

/// The error verifying `token` now gives, on this thread and on another.
fn refused(auth: &JwtAuth, token: &str) -> ErrorKind {
    let here = auth.verifier().verify(token).unwrap_err().kind();
    assert_eq!(on_another_thread(auth, token).unwrap_err(), here);
    here
}

#[test]
fn a_cached_token_still_expires() {
    for sent in EVERY_WAY {
        let clock = ManualClock::new(NOW);
        let auth = auth(&clock);
        let t = token(json!({"sub": "a", "exp": NOW + 10}));
        verified(&auth, &t, sent);
        assert_eq!(auth.verifier().cached_tokens(), 1);
        clock.advance(71); // past exp + 60 s leeway
        assert_eq!(refused(&auth, &t), ErrorKind::Expired, "sent {sent:?}");
    }
}

#[test]
fn a_cached_token_is_not_valid_before_its_nbf() {
    // Verified while valid, then the clock is set back before `nbf`.
    for sent in EVERY_WAY {
        let clock = ManualClock::new(NOW);
        let auth = auth(&clock);
        let t = token(json!({"sub": "a", "nbf": NOW - 10, "exp": NOW + 600}));
        verified(&auth, &t, sent);
        clock.set(NOW - 100);
        assert_eq!(refused(&auth, &t), ErrorKind::NotYetValid, "sent {sent:?}");
    }
}

#[test]
fn a_token_differing_in_one_signature_bit_is_verified_in_full() {
    let clock = ManualClock::new(NOW);
    let auth = auth(&clock);
    let t = token(json!({"sub": "a", "exp": NOW + 600}));
    assert!(auth.verifier().verify(&t).is_ok());
    // Flip one bit of the signature's last full byte: the first character
    // of the last four keeps the length and the base64url alphabet.
    let mut bytes = t.clone().into_bytes();
    let i = bytes.len() - 4;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_ne!(tampered, t);
    assert_eq!(
        auth.verifier().verify(&tampered).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    assert_eq!(
        auth.verifier().cached_tokens(),
        1,
        "the failure is not cached"
    );
    assert!(
        auth.verifier().verify(&t).is_ok(),
        "the original still passes"
    );
}

#[test]
fn the_cache_respects_its_memory_budget() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .token_cache_max_bytes(20 * 1024)
        .build()
        .unwrap();
    for i in 0..500 {
        let t = token(json!({"sub": format!("user-{i}"), "exp": NOW + 600}));
        assert!(auth.verifier().verify(&t).is_ok());
    }
    let (entries, bytes) = (
        auth.verifier().cached_tokens(),
        auth.verifier().cached_bytes(),
    );
    assert!(bytes <= 20 * 1024, "{bytes} bytes cached");
    assert!(entries > 0 && entries < 500, "{entries} entries");
}

#[test]
fn a_disabled_cache_keeps_nothing() {
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .disable_token_cache()
        .build()
        .unwrap();
    let t = token(json!({"sub": "a", "exp": NOW + 600}));
    assert!(auth.verifier().verify(&t).is_ok());
    assert_eq!(auth.verifier().cached_tokens(), 0);
}

#[tokio::test]
async fn a_cached_token_is_still_checked_for_revocation() {
    let revocation = RevocationCache::builder(MemoryStore::new())
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let auth = JwtAuth::builder()
        .hmac_secret(SECRET)
        .revocation(revocation.clone())
        .build()
        .unwrap();
    let t = common::token(common::claims(json!({"sub": "zoe"})));
    assert_eq!(send(&auth, &t).await.status(), http::StatusCode::OK);
    assert_eq!(auth.verifier().cached_tokens(), 1);
    revocation.revoke_user("", "zoe").await.unwrap();
    assert_eq!(kind(&send(&auth, &t).await), Some(ErrorKind::Revoked));
}

#[test]
fn concurrent_first_requests_with_one_token_never_fail() {
    let auth = auth(&ManualClock::new(NOW));
    let t = token(json!({"sub": "a", "exp": NOW + 600}));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| (0..200).all(|_| auth.verifier().verify(&t).is_ok())))
            .collect();
        for h in handles {
            assert!(h.join().unwrap());
        }
    });
    assert_eq!(auth.verifier().cached_tokens(), 1);
}

#[test]
fn a_zero_budget_is_refused_with_the_fix() {
    let err = JwtAuth::builder()
        .hmac_secret(SECRET)
        .token_cache_max_bytes(0)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("disable_token_cache()"), "{err}");
}

#[test]
fn an_entry_ends_at_its_maximum_age_on_the_verifiers_clock() {
    for sent in EVERY_WAY {
        let clock = ManualClock::new(NOW);
        let auth = JwtAuth::builder()
            .hmac_secret(SECRET)
            .clock(clock.clone())
            .token_cache_max_age(Duration::from_secs(60))
            .build()
            .unwrap();
        let t = token(json!({"sub": "a", "exp": NOW + 3600}));
        let first = auth.verifier().verify(&t).unwrap();
        // A hit hands out the cached token itself.
        let hit = auth.verifier().verify(&t).unwrap();
        assert!(std::ptr::eq(first.claims(), hit.claims()));
        clock.advance(59);
        let still = verified(&auth, &t, sent);
        assert!(std::ptr::eq(first.claims(), still.claims()), "{sent:?}");
        clock.advance(1); // the maximum age, by the verifier's clock
        let again = match sent {
            Sent::ByMany => on_another_thread(&auth, &t).unwrap(),
            Sent::Once | Sent::AgainAndAgain => auth.verifier().verify(&t).unwrap(),
        };
        assert!(
            !std::ptr::eq(first.claims(), again.claims()),
            "verified again, sent {sent:?}"
        );
        assert_eq!(auth.verifier().cached_tokens(), 1);
        let hit = auth.verifier().verify(&t).unwrap();
        assert!(
            std::ptr::eq(again.claims(), hit.claims()),
            "and cached again"
        );
    }
}

#[test]
fn an_entry_ends_at_exp_plus_leeway_and_is_not_cached_after() {
    let clock = ManualClock::new(NOW);
    let auth = auth(&clock);
    let t = token(json!({"sub": "a", "exp": NOW + 10}));
    let first = auth.verifier().verify(&t).unwrap();
    clock.advance(69); // exp + leeway - 1: still valid, still cached
    let hit = auth.verifier().verify(&t).unwrap();
    assert!(std::ptr::eq(first.claims(), hit.claims()));
    clock.advance(1); // exp + leeway: valid for this second, no longer cached
    assert!(auth.verifier().verify(&t).is_ok());
    assert_eq!(auth.verifier().cached_tokens(), 0);
}

#[test]
fn the_budget_counts_what_an_entry_costs() {
    let auth = auth(&ManualClock::new(NOW));
    for i in 0..100 {
        let t = token(json!({
            "iss": "https://issuer.example", "sub": format!("user-{i:010}"),
            "exp": NOW + 600, "jti": format!("{i:016x}"), "ver": 0, "scope": "orders:read",
        }));
        assert!(auth.verifier().verify(&t).is_ok());
    }
    let per_entry = auth.verifier().cached_bytes() / auth.verifier().cached_tokens();
    // An entry with `DefaultClaims`: the table's slot, the shared token and
    // its few allocations (`BENCHMARKS.md`: about 400 bytes resident).
    assert!(
        (300..600).contains(&per_entry),
        "{per_entry} bytes per entry"
    );
}

#[test]
fn a_token_one_payload_byte_away_from_a_repeated_one_is_verified_in_full() {
    for sent in [Sent::AgainAndAgain, Sent::ByMany] {
        let clock = ManualClock::new(NOW);
        let auth = auth(&clock);
        let t = token(json!({"sub": "alice", "exp": NOW + 600}));
        verified(&auth, &t, sent);
        // The same length and the same signature (so the same last bytes),
        // one payload character changed: `alice` becomes `alicf`.
        let payload_start = t.find('.').unwrap() + 1;
        let payload_end = payload_start + t[payload_start..].find('.').unwrap();
        let mut bytes = t.clone().into_bytes();
        let i = payload_start + (payload_end - payload_start) / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(tampered.len(), t.len());
        assert_eq!(tampered[tampered.len() - 16..], t[t.len() - 16..]);
        for _ in 0..3 {
            assert_eq!(
                refused(&auth, &tampered),
                ErrorKind::InvalidSignature,
                "sent {sent:?}"
            );
        }
        assert!(
            auth.verifier().verify(&t).is_ok(),
            "the original still passes"
        );
    }
}

#[test]
fn two_layers_on_one_thread_never_answer_for_each_other() {
    let clock = ManualClock::new(NOW);
    let ours = auth(&clock);
    let theirs = JwtAuth::builder()
        .hmac_secret("another-secret-of-at-least-thirty-two-bytes")
        .clock(clock.clone())
        .build()
        .unwrap();
    let t = token(json!({"sub": "a", "exp": NOW + 600}));
    sent_again_and_again(&ours, &t);
    for _ in 0..3 {
        assert_eq!(
            theirs.verifier().verify(&t).unwrap_err().kind(),
            ErrorKind::InvalidSignature,
            "another layer's key set"
        );
    }
    assert!(ours.verifier().verify(&t).is_ok());
}
