//! DPoP proofs (RFC 9449) checked as section 4.3 lists: RFC 9449's own
//! example proof and thumbprint, then one refusal per rule, each with its
//! code, on proofs made here with ES256, EdDSA and RS256 keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed step fails the test"
)]

use auth_tests as common;

use std::time::Duration;

use auth_layer::JwtAuth;
use auth_layer::clock::ManualClock;
use auth_layer::dpop::{DpopError, DpopVerifier, ProofRequest};
use auth_layer::keys::Algorithm;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::dpop_client::ClientKey;
use common::key_file;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// RFC 9449 figure 2 (its key in figure 9's thumbprint).
const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const RFC_IAT: i64 = 1_562_262_616;

const NOW: i64 = 1_800_000_000;
const URI: &str = "https://api.example/orders";
const TOKEN: &str = "an-access-token";

fn verifier() -> DpopVerifier {
    DpopVerifier::builder()
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap()
}

/// Proofs for this file's request: `GET URI` with `TOKEN` at `NOW`.
trait FixedRequest {
    /// A good proof for `GET URI` with `TOKEN`, changed by `edit`.
    fn fixed(&self, edit: impl FnOnce(&mut Value, &mut Value)) -> String;
}

impl FixedRequest for ClientKey {
    fn fixed(&self, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
        self.proof_with("GET", URI, Some(TOKEN), NOW, edit)
    }
}

fn request() -> ProofRequest<'static> {
    ProofRequest::new("GET", URI).access_token(TOKEN)
}

#[test]
fn the_rfc_example_proof_and_thumbprint() {
    let verifier = DpopVerifier::builder()
        .clock(ManualClock::new(RFC_IAT + 30))
        .build()
        .unwrap();
    let request = ProofRequest::new("POST", "https://server.example.com/token");
    let proof = verifier.verify(RFC_PROOF, &request).unwrap();
    assert_eq!(proof.jkt(), RFC_JKT);
    assert_eq!(proof.jti(), "-BwC3ESc6acc2lTc");
    assert_eq!(proof.issued_at(), RFC_IAT);
    assert_eq!(
        verifier.verify(RFC_PROOF, &request),
        Err(DpopError::Replayed)
    );
    // Bound to the RFC's key: the thumbprint is the one figure 9 publishes.
    let fresh = DpopVerifier::builder()
        .clock(ManualClock::new(RFC_IAT))
        .build()
        .unwrap();
    assert!(fresh.verify(RFC_PROOF, &request.bound_to(RFC_JKT)).is_ok());
}

#[test]
fn good_proofs_pass_with_every_key_type() {
    let verifier = verifier();
    for client in [ClientKey::es256(), ClientKey::eddsa(), ClientKey::rs256()] {
        let proof = client.fixed(|_, _| {});
        let verified = verifier
            .verify(&proof, &request().bound_to(&client.jkt()))
            .unwrap_or_else(|e| panic!("{:?}: {e}", client.alg()));
        assert_eq!(verified.jkt(), client.jkt());
    }
}

/// Every rule of section 4.3, broken once: each refused with its own code.
#[test]
fn each_rule_refuses_with_its_code() {
    let es = ClientKey::es256();
    let ed = ClientKey::eddsa();
    let rs = ClientKey::rs256();
    let other_rs = ClientKey::new(
        EncodingKey::from_rsa_pem(&key_file("other_rsa_private.pem")).unwrap(),
        Algorithm::RS256,
    );
    let hmac = ClientKey::new(EncodingKey::from_secret(&[7; 32]), Algorithm::HS256);
    let private_jwk = {
        let mut jwk = es.jwk().clone();
        jwk["d"] = json!("private-part");
        jwk
    };
    let stale = |secs: i64| move |_: &mut Value, c: &mut Value| c["iat"] = json!(NOW + secs);
    let cases: Vec<(&str, String, ProofRequest<'static>, DpopError)> = vec![
        (
            "not a JWS",
            "not-a-jws".into(),
            request(),
            DpopError::Malformed,
        ),
        (
            "too large",
            "A".repeat(9000),
            request(),
            DpopError::Malformed,
        ),
        (
            "repeated member",
            es.sign(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": es.jwk()})
                    .to_string()
                    .replacen('{', "{\"typ\":\"dpop+jwt\",", 1),
                &json!({"jti": "a", "htm": "GET", "htu": URI, "iat": NOW}).to_string(),
            ),
            ProofRequest::new("GET", URI),
            DpopError::Malformed,
        ),
        (
            "typ JWT",
            es.fixed(|h, _| h["typ"] = json!("JWT")),
            request(),
            DpopError::WrongType,
        ),
        (
            "no typ",
            es.fixed(|h, _| {
                h.as_object_mut().unwrap().remove("typ");
            }),
            request(),
            DpopError::WrongType,
        ),
        (
            "alg none",
            es.fixed(|h, _| h["alg"] = json!("none")),
            request(),
            DpopError::AlgorithmNotAllowed,
        ),
        (
            "alg HS256",
            hmac.fixed(|h, _| h["jwk"] = es.jwk().clone()),
            request(),
            DpopError::AlgorithmNotAllowed,
        ),
        (
            "no jwk",
            es.fixed(|h, _| {
                h.as_object_mut().unwrap().remove("jwk");
            }),
            request(),
            DpopError::InvalidKey,
        ),
        (
            "private key in jwk",
            es.fixed(|h, _| h["jwk"] = private_jwk.clone()),
            request(),
            DpopError::InvalidKey,
        ),
        (
            "jwk of another family",
            es.fixed(|h, _| h["jwk"] = ed.jwk().clone()),
            request(),
            DpopError::InvalidKey,
        ),
        (
            "signed by another key",
            rs.fixed(|h, _| h["jwk"] = other_rs.jwk().clone()),
            request(),
            DpopError::BadSignature,
        ),
        (
            "no jti",
            es.fixed(|_, c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            request(),
            DpopError::MissingClaim,
        ),
        (
            "no htm",
            es.fixed(|_, c| {
                c.as_object_mut().unwrap().remove("htm");
            }),
            request(),
            DpopError::MissingClaim,
        ),
        (
            "no htu",
            es.fixed(|_, c| {
                c.as_object_mut().unwrap().remove("htu");
            }),
            request(),
            DpopError::MissingClaim,
        ),
        (
            "no iat",
            es.fixed(|_, c| {
                c.as_object_mut().unwrap().remove("iat");
            }),
            request(),
            DpopError::MissingClaim,
        ),
        (
            "iat a string",
            es.fixed(|_, c| c["iat"] = json!("now")),
            request(),
            DpopError::Malformed,
        ),
        (
            "another method",
            es.fixed(|_, c| c["htm"] = json!("POST")),
            request(),
            DpopError::MethodMismatch,
        ),
        (
            "another URI",
            es.fixed(|_, c| c["htu"] = json!("https://api.example/admin")),
            request(),
            DpopError::UriMismatch,
        ),
        (
            "another host",
            es.fixed(|_, c| c["htu"] = json!("https://evil.example/orders")),
            request(),
            DpopError::UriMismatch,
        ),
        (
            "iat too old",
            es.fixed(stale(-61)),
            request(),
            DpopError::Stale,
        ),
        (
            "iat too far ahead",
            es.fixed(stale(61)),
            request(),
            DpopError::Stale,
        ),
        (
            "no ath with a token",
            es.fixed(|_, c| {
                c.as_object_mut().unwrap().remove("ath");
            }),
            request(),
            DpopError::AccessTokenHashMismatch,
        ),
        (
            "ath of another token",
            es.fixed(|_, c| c["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest("other")))),
            request(),
            DpopError::AccessTokenHashMismatch,
        ),
        (
            "bound to another key",
            es.fixed(|_, _| {}),
            request().bound_to(RFC_JKT),
            DpopError::KeyMismatch,
        ),
    ];
    let verifier = verifier();
    for (name, proof, request, expected) in cases {
        assert_eq!(verifier.verify(&proof, &request), Err(expected), "{name}");
        assert!(expected.code().starts_with("dpop_"), "{name}");
    }
}

#[test]
fn the_window_and_normalisation_are_lenient_where_the_rfc_says() {
    let es = ClientKey::es256();
    let verifier = verifier();
    for (name, proof) in [
        (
            "iat at the window's edge",
            es.fixed(|_, c| c["iat"] = json!(NOW - 60)),
        ),
        (
            "typ as a media type",
            es.fixed(|h, _| h["typ"] = json!("application/DPoP+JWT")),
        ),
        (
            "htu spelled otherwise",
            es.fixed(|_, c| c["htu"] = json!("HTTPS://API.example:443/%6Frders")),
        ),
        (
            "iat with a fraction",
            es.fixed(|_, c| c["iat"] = json!(NOW as f64 + 0.5)),
        ),
    ] {
        assert!(verifier.verify(&proof, &request()).is_ok(), "{name}");
    }
    // The request's query is ignored, behind a proxy the external URI counts.
    let proof = es.fixed(|_, _| {});
    let with_query =
        ProofRequest::new("GET", "https://api.example/orders?page=2").access_token(TOKEN);
    assert!(verifier.verify(&proof, &with_query).is_ok());
}

#[test]
fn a_proof_passes_once() {
    let es = ClientKey::es256();
    let verifier = verifier();
    let proof = es.fixed(|_, _| {});
    assert!(verifier.verify(&proof, &request()).is_ok());
    assert_eq!(
        verifier.verify(&proof, &request()),
        Err(DpopError::Replayed)
    );
    // A clone shares what it has seen.
    assert_eq!(
        verifier.clone().verify(&proof, &request()),
        Err(DpopError::Replayed)
    );
    // The same jti from another key is another proof.
    let ed = ClientKey::eddsa();
    let jti = |_: &mut Value, c: &mut Value| c["jti"] = json!("shared-jti");
    assert!(verifier.verify(&es.fixed(jti), &request()).is_ok());
    assert!(verifier.verify(&ed.fixed(jti), &request()).is_ok());
    // A refused proof does not spend its id.
    let proof = es.fixed(|_, _| {});
    assert_eq!(
        verifier.verify(&proof, &ProofRequest::new("POST", URI).access_token(TOKEN)),
        Err(DpopError::MethodMismatch)
    );
    assert!(verifier.verify(&proof, &request()).is_ok());
}

#[test]
fn exactly_one_dpop_header() {
    let es = ClientKey::es256();
    let verifier = verifier();
    let mut headers = HeaderMap::new();
    assert_eq!(
        verifier.verify_header(&headers, &request()),
        Err(DpopError::Missing)
    );
    headers.append("dpop", HeaderValue::from_str(&es.fixed(|_, _| {})).unwrap());
    headers.append("DPoP", HeaderValue::from_str(&es.fixed(|_, _| {})).unwrap());
    assert_eq!(
        verifier.verify_header(&headers, &request()),
        Err(DpopError::Multiple)
    );
    headers.remove("dpop");
    headers.insert("dpop", HeaderValue::from_str(&es.fixed(|_, _| {})).unwrap());
    assert!(verifier.verify_header(&headers, &request()).is_ok());
}

#[test]
fn the_configuration_is_checked() {
    let err =
        |builder: auth_layer::dpop::DpopVerifierBuilder| builder.build().unwrap_err().to_string();
    assert!(err(DpopVerifier::builder().algorithms([Algorithm::HS256])).contains("asymmetric"));
    assert!(err(DpopVerifier::builder().algorithms([])).contains("at least one"));
    assert!(err(DpopVerifier::builder().iat_window(Duration::ZERO)).contains("between 1 and 300"));
    assert!(
        err(DpopVerifier::builder().iat_window(Duration::from_secs(301)))
            .contains("between 1 and 300")
    );
    assert!(err(DpopVerifier::builder().replay_capacity(0)).contains("above zero"));
    assert!(
        err(DpopVerifier::builder()
            .shared_replay(auth_layer::store::MemoryStore::new(), Duration::ZERO))
        .contains("store timeout")
    );
    assert!(
        err(DpopVerifier::builder().nonces([1_u8; 16], Duration::from_secs(60)))
            .contains("32 random bytes")
    );
    assert!(
        err(DpopVerifier::builder().nonces([1_u8; 32], Duration::ZERO))
            .contains("at least one second")
    );
}

/// Two instances on one store: a proof one of them accepted is a replay at
/// the other; a store that is down refuses rather than passes.
async fn replayed_at_another_instance(store: impl auth_layer::revocation::RevocationStore + Clone) {
    let instance = |store| {
        DpopVerifier::builder()
            .clock(ManualClock::new(NOW))
            .shared_replay(store, Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let (a, b) = (instance(store.clone()), instance(store));
    let es = ClientKey::es256();
    let proof = es.fixed(|_, _| {});
    assert!(a.verify_shared(&proof, &request()).await.is_ok());
    assert_eq!(
        a.verify_shared(&proof, &request()).await,
        Err(DpopError::Replayed),
        "at the same instance"
    );
    // The other instance has not seen it itself...
    assert!(instance_without_store().verify(&proof, &request()).is_ok());
    // ...but the store has.
    assert_eq!(
        b.verify_shared(&proof, &request()).await,
        Err(DpopError::Replayed),
        "at another instance"
    );
    assert!(
        b.verify_shared(&es.fixed(|_, _| {}), &request())
            .await
            .is_ok()
    );
}

fn instance_without_store() -> DpopVerifier {
    verifier()
}

#[tokio::test]
async fn a_proof_replayed_at_another_instance_is_refused() {
    replayed_at_another_instance(auth_layer::store::MemoryStore::new()).await;
}

#[tokio::test]
#[cfg_attr(not(redis_service), ignore = "needs Redis: set AUTH_TEST_REDIS_URL")]
async fn a_proof_replayed_at_another_instance_is_refused_through_redis() {
    let store = auth_layer::store::RedisStore::connect(&common::services::redis_url())
        .await
        .expect("connect to the test Redis")
        .with_prefix(format!("{}:", common::services::unique("dpop")))
        .unwrap();
    replayed_at_another_instance(store).await;
}

#[tokio::test]
async fn a_store_that_is_down_refuses_the_proof() {
    let store = auth_tests::fake_store::FakeStore::new();
    store.set_down(true);
    let verifier = DpopVerifier::builder()
        .clock(ManualClock::new(NOW))
        .shared_replay(store.clone(), Duration::from_millis(200))
        .build()
        .unwrap();
    let proof = ClientKey::es256().fixed(|_, _| {});
    assert_eq!(
        verifier.verify_shared(&proof, &request()).await,
        Err(DpopError::StoreUnavailable)
    );
    // Once the store is back, the client's next proof passes, once.
    store.set_down(false);
    let next = ClientKey::es256().fixed(|_, _| {});
    assert!(verifier.verify_shared(&next, &request()).await.is_ok());
    assert_eq!(
        verifier.verify_shared(&next, &request()).await,
        Err(DpopError::Replayed)
    );
    // The store is never skipped: the sync check refuses with one configured.
    assert_eq!(
        verifier.verify(&ClientKey::es256().fixed(|_, _| {}), &request()),
        Err(DpopError::StoreUnavailable)
    );
}

/// While the memory of seen proofs is full, proofs are refused rather than
/// an id forgotten whose proof could pass again.
#[test]
fn a_full_replay_memory_refuses_rather_than_forgets() {
    let verifier = DpopVerifier::builder()
        .clock(ManualClock::new(NOW))
        .replay_capacity(3)
        .build()
        .unwrap();
    let es = ClientKey::es256();
    let proofs: Vec<String> = (0..4).map(|_| es.fixed(|_, _| {})).collect();
    for proof in &proofs[..3] {
        assert!(verifier.verify(proof, &request()).is_ok());
    }
    assert_eq!(
        verifier.verify(&proofs[3], &request()),
        Err(DpopError::StoreUnavailable)
    );
    for proof in &proofs[..3] {
        assert_eq!(verifier.verify(proof, &request()), Err(DpopError::Replayed));
    }
}

/// Server nonces (RFC 9449 section 8): a proof without the server's nonce
/// is answered `use_dpop_nonce`; with one the verifier made (here or at an
/// instance sharing the secret) it passes; a made-up or expired one does not.
#[test]
fn the_nonce_flow() {
    let clock = ManualClock::new(NOW);
    let instance = || {
        DpopVerifier::builder()
            .clock(clock.clone())
            .iat_window(Duration::from_secs(300))
            .nonces([9_u8; 32], Duration::from_secs(60))
            .build()
            .unwrap()
    };
    let (a, b) = (instance(), instance());
    let es = ClientKey::es256();
    assert_eq!(verifier().nonce(), None, "no nonces unless configured");
    let error = a.verify(&es.fixed(|_, _| {}), &request()).unwrap_err();
    assert_eq!(error, DpopError::UseNonce);
    assert_eq!(error.oauth_error(), "use_dpop_nonce");

    let nonce = a.nonce().unwrap();
    let with = |nonce: &str| {
        let nonce = nonce.to_owned();
        es.fixed(move |_, c| c["nonce"] = json!(nonce))
    };
    let passed = b.verify(&with(&nonce), &request()).unwrap();
    assert_eq!(
        passed.nonce(),
        Some(nonce.as_str()),
        "another instance, same secret"
    );
    assert_eq!(
        a.verify(&with("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &request()),
        Err(DpopError::UseNonce),
        "a made-up nonce"
    );
    // Valid in its slot and the next; gone after.
    clock.advance(60);
    assert!(a.verify(&with(&nonce), &request()).is_ok());
    clock.advance(60);
    assert_eq!(
        a.verify(&with(&nonce), &request()),
        Err(DpopError::UseNonce)
    );
    assert!(a.verify(&with(&a.nonce().unwrap()), &request()).is_ok());
    // Another secret's nonces mean nothing here.
    let other = DpopVerifier::builder()
        .clock(clock.clone())
        .nonces([8_u8; 32], Duration::from_secs(60))
        .build()
        .unwrap();
    assert_eq!(
        a.verify(&with(&other.nonce().unwrap()), &request()),
        Err(DpopError::UseNonce)
    );
}

/// A DPoP-bound token (`cnf.jkt`) is refused by the layer, which checks no
/// proofs yet, rather than taken as a bearer token (RFC 9449 section 7.2);
/// a `cnf` that is not an object, or a `jkt` that is not a non-empty
/// string, is refused as invalid claims; another kind of binding passes.
#[test]
fn a_bound_token_is_not_a_bearer_token() {
    let auth = JwtAuth::builder()
        .hmac_secret(common::SECRET)
        .build()
        .unwrap();
    let verify = |extra: Value| {
        auth.verifier()
            .verify(&common::hs256(&common::claims_with("kim", extra)))
            .map(drop)
            .map_err(|e| e.kind())
    };
    assert_eq!(
        verify(json!({ "cnf": { "jkt": RFC_JKT } })),
        Err(auth_layer::ErrorKind::KeyBound)
    );
    assert_eq!(verify(json!({ "sid": "s-1" })), Ok(()), "unbound");
    assert_eq!(
        verify(json!({ "cnf": { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" } })),
        Ok(()),
        "another kind of binding"
    );
    for bad in [
        json!({ "cnf": "jkt" }),
        json!({ "cnf": [] }),
        json!({ "cnf": { "jkt": "" } }),
        json!({ "cnf": { "jkt": 7 } }),
    ] {
        assert_eq!(
            verify(bad.clone()),
            Err(auth_layer::ErrorKind::InvalidClaims),
            "{bad}"
        );
    }
}
