//! Refresh tokens: opaque, random, stored only as a hash.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::mac::hmac_sha256;

/// Random bytes in the secret part of a refresh token (256 bits).
pub(crate) const SECRET_BYTES: usize = 32;
/// Random bytes in a session id (128 bits).
const SESSION_ID_BYTES: usize = 16;
/// Random bytes in an access token's `jti` (128 bits).
const JTI_BYTES: usize = 16;
/// The longest session id accepted in a presented refresh token.
const MAX_SESSION_ID_LEN: usize = 128;

/// An opaque refresh token, `<sid>.<secret>`: the session it belongs to and
/// 32 random bytes from the operating system, both base64url.
///
/// Hand it to the client (an `HttpOnly` cookie, or the body of a token
/// response) and forget it: stores keep only its [`TokenHash`]. `Debug`
/// prints `[redacted]`, there is no `Display`, and nothing in this crate
/// logs one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let sessions = auth_layer::session::Sessions::builder(
/// #     auth_layer::session::TokenIssuer::builder(
/// #         auth_layer::session::SigningKey::hmac("a-secret-of-at-least-thirty-two-bytes!").unwrap(),
/// #     ).build().unwrap(),
/// #     auth_layer::store::MemoryStore::new(),
/// #     auth_layer::revocation::RevocationCache::builder(auth_layer::store::MemoryStore::new()).build().unwrap(),
/// # ).build().unwrap();
/// let pair = sessions.login("alice", serde_json::json!({})).await.unwrap();
/// let refresh = pair.refresh_token();
/// assert_eq!(format!("{refresh:?}"), "RefreshToken([redacted])");
/// assert!(refresh.as_str().starts_with(&format!("{}.", pair.session_id())));
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    token: String,
    sid_len: usize,
}

impl RefreshToken {
    /// A new token for session `sid`.
    pub(crate) fn generate(sid: &str) -> Result<Self, getrandom::Error> {
        let secret = random_base64::<SECRET_BYTES>()?;
        Ok(Self {
            token: format!("{sid}.{secret}"),
            sid_len: sid.len(),
        })
    }

    /// Reads a presented token; `None` for anything that is not the shape
    /// this crate issues (a session id, a dot, 32 bytes in base64url).
    pub(crate) fn parse(presented: &str) -> Option<Self> {
        let (sid, secret) = presented.split_once('.')?;
        let valid_sid = !sid.is_empty()
            && sid.len() <= MAX_SESSION_ID_LEN
            && sid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_sid {
            return None;
        }
        let mut decoded = [0u8; SECRET_BYTES + 1];
        match URL_SAFE_NO_PAD.decode_slice(secret, &mut decoded) {
            Ok(SECRET_BYTES) => Some(Self {
                token: presented.to_owned(),
                sid_len: sid.len(),
            }),
            _ => None,
        }
    }

    /// The token itself: a secret. Put it in the client's cookie or token
    /// response, never in a log.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The id of the session the token belongs to (not a secret: access
    /// tokens carry it as `sid`).
    pub fn session_id(&self) -> &str {
        self.token.get(..self.sid_len).unwrap_or_default()
    }

    /// The hash stores keep instead of the token.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.token)
    }

    /// The token that replaces this one when it is rotated, derived with
    /// `key` (HMAC-SHA256 of the whole token): every instance holding the
    /// key derives the same successor, so a retried rotation can be
    /// answered with the same token without storing it.
    pub(crate) fn successor(&self, key: &SuccessorKey) -> Self {
        let mac = hmac_sha256(&key.0, self.token.as_bytes());
        let sid = self.session_id();
        Self {
            token: format!("{sid}.{}", URL_SAFE_NO_PAD.encode(mac)),
            sid_len: self.sid_len,
        }
    }
}

/// The per-deployment key successors are derived with.
#[derive(Clone)]
pub(crate) struct SuccessorKey([u8; 32], bool);

impl SuccessorKey {
    /// Stands for a configured secret too short to use (refused at build).
    pub(crate) fn too_short() -> Self {
        Self([0; 32], true)
    }

    pub(crate) fn is_too_short(&self) -> bool {
        self.1
    }

    /// A key from secret material (a configured secret, or a deterministic
    /// signature of the signing key), separated from any other use of it.
    pub(crate) fn derive(material: &[u8]) -> Self {
        Self(
            hmac_sha256(b"auth-layer refresh-token successor key v1", material),
            false,
        )
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// The SHA-256 of a whole refresh token (session id, dot and secret, as
/// UTF-8): what stores keep and look tokens up by. The token cannot be
/// recovered from it.
///
/// ```
/// use auth_layer::session::TokenHash;
///
/// let hash = TokenHash::of("s1.secret");
/// assert_eq!(hash.to_hex().len(), 64);
/// assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The 32 bytes (PostgreSQL stores them as `bytea`).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From 32 bytes; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// Lowercase hex, 64 characters (the Redis store's form).
    pub fn to_hex(&self) -> String {
        crate::mac::hex(&self.0)
    }

    /// From 64 hex digits; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "TokenHash({}…)", hex.get(..12).unwrap_or_default())
    }
}

/// A new session id: 16 random bytes, base64url.
pub(crate) fn new_session_id() -> Result<String, getrandom::Error> {
    random_base64::<SESSION_ID_BYTES>()
}

/// A new `jti`: 16 random bytes, base64url.
pub(crate) fn new_jti() -> Result<String, getrandom::Error> {
    random_base64::<JTI_BYTES>()
}

fn random_base64<const N: usize>() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_session_and_256_random_bits() {
        let sid = new_session_id().unwrap();
        assert_eq!(sid.len(), 22);
        let token = RefreshToken::generate(&sid).unwrap();
        assert_eq!(token.session_id(), sid);
        let secret = token.as_str().strip_prefix(&format!("{sid}.")).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
        assert_ne!(token, RefreshToken::generate(&sid).unwrap());
        assert_eq!(RefreshToken::parse(token.as_str()), Some(token));
    }

    #[test]
    fn only_the_issued_shape_parses() {
        let secret = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let short = URL_SAFE_NO_PAD.encode([7u8; 31]);
        let long = URL_SAFE_NO_PAD.encode([7u8; 33]);
        let cases = [
            ("empty", String::new()),
            ("no dot", secret.clone()),
            ("no session", format!(".{secret}")),
            ("session with a space", format!("a b.{secret}")),
            ("session too long", format!("{}.{secret}", "a".repeat(129))),
            ("secret too short", format!("s1.{short}")),
            ("secret too long", format!("s1.{long}")),
            ("secret not base64url", format!("s1.{}", "*".repeat(43))),
            ("two dots", format!("s1.{secret}.x")),
            ("padded", format!("s1.{secret}=")),
        ];
        for (name, presented) in cases {
            assert_eq!(RefreshToken::parse(&presented), None, "{name}");
        }
        assert!(RefreshToken::parse(&format!("s-1_x.{secret}")).is_some());
    }

    #[test]
    fn successors_are_the_same_for_one_key_and_parse() {
        let token = RefreshToken::generate("s1").unwrap();
        let key = SuccessorKey::derive(b"deployment secret");
        let next = token.successor(&key);
        assert_eq!(
            next,
            token.successor(&SuccessorKey::derive(b"deployment secret"))
        );
        assert_ne!(
            next,
            token.successor(&SuccessorKey::derive(b"another secret"))
        );
        assert_ne!(next, token);
        assert_eq!(next.session_id(), "s1");
        assert_eq!(RefreshToken::parse(next.as_str()), Some(next));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = RefreshToken::generate("s1").unwrap();
        let debug = format!("{token:?}");
        assert!(!debug.contains(token.as_str()), "{debug}");
        assert!(!debug.contains("s1."), "{debug}");
    }

    #[test]
    fn hashes_round_trip_through_hex_and_bytes() {
        let hash = TokenHash::of("s1.x");
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_bytes(hash.as_bytes()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_eq!(TokenHash::from_hex(&"g".repeat(64)), None);
        assert_eq!(TokenHash::from_bytes(&[0; 31]), None);
        // SHA-256 of "abc", the FIPS 180-2 test vector.
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
