//! [`RegisteredClaims`]: `iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`,
//! kept compactly.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::claims::audience::Audience;
use crate::claims::borrowed::Parts;
use crate::claims::heap::{SharedStr, heap_chunk, shared_str_bytes};
use crate::claims::interner::Interner;

/// The registered claims of RFC 7519, as checked by the verifier.
///
/// Times are Unix seconds; a fractional `NumericDate` is truncated. Kept
/// compact: `sub` and `jti` share one allocation, `iss` and `aud` are shared
/// with every token naming the same configured issuer or audience.
///
/// ```
/// use auth_layer::claims::RegisteredClaims;
///
/// let claims: RegisteredClaims =
///     serde_json::from_str(r#"{"sub":"alice","exp":1700000000.5,"scope":"read"}"#).unwrap();
/// assert_eq!(claims.sub(), Some("alice"));
/// assert_eq!(claims.exp(), Some(1_700_000_000));
/// assert_eq!(claims.iss(), None);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegisteredClaims {
    iss: Option<SharedStr>,
    aud: Option<Arc<Audience>>,
    /// `sub`, `jti`, the session id (read by the layer, not registered),
    /// then `cnf.jkt`, to the end (rare: it takes no room of its own).
    text: Box<str>,
    ends: [u32; 3],
    /// Which of `sub`, `jti`, the session id, `exp`, `nbf`, `iat` are present.
    present: u8,
    exp: i64,
    nbf: i64,
    iat: i64,
}

const SUB: u8 = 0;
const JTI: u8 = 1;
const SID: u8 = 2;
const EXP: u8 = 3;
const NBF: u8 = 4;
const IAT: u8 = 5;
/// `iss` / `aud` are shared with the configured ones (not this token's to count).
const SHARED_ISS: u8 = 6;
const SHARED_AUD: u8 = 7;

impl RegisteredClaims {
    /// `iss`
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref().map(|iss| &**iss)
    }

    /// `sub`
    pub fn sub(&self) -> Option<&str> {
        self.text_of(SUB)
    }

    /// `aud`
    pub fn aud(&self) -> Option<&Audience> {
        self.aud.as_deref()
    }

    /// `exp`
    pub fn exp(&self) -> Option<i64> {
        self.time_of(EXP, self.exp)
    }

    /// `nbf`
    pub fn nbf(&self) -> Option<i64> {
        self.time_of(NBF, self.nbf)
    }

    /// `iat`
    pub fn iat(&self) -> Option<i64> {
        self.time_of(IAT, self.iat)
    }

    /// `jti`
    pub fn jti(&self) -> Option<&str> {
        self.text_of(JTI)
    }

    /// The session id claim (named `sid` unless configured otherwise).
    pub(crate) fn sid(&self) -> Option<&str> {
        self.text_of(SID)
    }

    /// `cnf.jkt` (RFC 9449 section 6.1): the thumbprint of the key a
    /// DPoP-bound token is bound to, for [`DpopVerifier`](crate::dpop::DpopVerifier)'s
    /// [`bound_to`](crate::dpop::ProofRequest::bound_to). Read by the layer
    /// (a token whose `cnf` is not an object, or whose `jkt` is not a
    /// non-empty string, is refused with `invalid_claims`); `None` when the
    /// claims were read otherwise.
    pub fn cnf_jkt(&self) -> Option<&str> {
        let start = self.ends.get(usize::from(SID)).copied().unwrap_or(0) as usize;
        self.text.get(start..).filter(|jkt| !jkt.is_empty())
    }

    fn has(&self, field: u8) -> bool {
        self.present & (1 << field) != 0
    }

    fn time_of(&self, field: u8, value: i64) -> Option<i64> {
        self.has(field).then_some(value)
    }

    fn text_of(&self, field: u8) -> Option<&str> {
        if !self.has(field) {
            return None;
        }
        let i = usize::from(field);
        let start = match i.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        self.text.get(start as usize..end as usize)
    }

    /// Bytes these claims own on the heap beyond their inline size (shared
    /// `iss` and `aud` counted only when this token holds the only copy).
    pub(crate) fn heap_bytes(&self) -> usize {
        let iss = self
            .iss
            .as_ref()
            .filter(|_| !self.has(SHARED_ISS))
            .map_or(0, |iss| shared_str_bytes(iss.len()));
        let aud = self
            .aud
            .as_ref()
            .filter(|_| !self.has(SHARED_AUD))
            .map_or(0, |aud| {
                heap_chunk(16 + size_of::<Audience>()) + aud.heap_bytes()
            });
        heap_chunk(self.text.len()) + iss + aud
    }

    /// The claims read by the one-pass parse, `iss` and `aud` shared through `interner`.
    pub(crate) fn from_parts(parts: Parts<'_>, interner: &Interner) -> Self {
        // One allocation of the exact size: no slack, no freed holes.
        let len = [&parts.sub, &parts.jti, &parts.sid, &parts.jkt]
            .into_iter()
            .flatten()
            .map(|t| t.len())
            .sum();
        let mut text = String::with_capacity(len);
        let mut ends = [0_u32; 3];
        let mut present = 0_u8;
        for (field, value) in [(SUB, &parts.sub), (JTI, &parts.jti), (SID, &parts.sid)] {
            if let Some(value) = value {
                text.push_str(value);
                present |= 1 << field;
            }
            if let Some(end) = ends.get_mut(usize::from(field)) {
                *end = u32::try_from(text.len()).unwrap_or(u32::MAX);
            }
        }
        if let Some(jkt) = &parts.jkt {
            text.push_str(jkt);
        }
        for (field, value) in [(EXP, parts.exp), (NBF, parts.nbf), (IAT, parts.iat)] {
            if value.is_some() {
                present |= 1 << field;
            }
        }
        let iss = parts.iss.map(|iss| interner.issuer(&iss));
        let aud = parts.aud.map(|aud| interner.audience(aud));
        for (field, shared) in [
            (SHARED_ISS, iss.as_ref().is_some_and(|i| i.1)),
            (SHARED_AUD, aud.as_ref().is_some_and(|a| a.1)),
        ] {
            if shared {
                present |= 1 << field;
            }
        }
        Self {
            iss: iss.map(|i| i.0),
            aud: aud.map(|a| a.0),
            text: text.into_boxed_str(),
            ends,
            present,
            exp: parts.exp.unwrap_or(0),
            nbf: parts.nbf.unwrap_or(0),
            iat: parts.iat.unwrap_or(0),
        }
    }
}

impl fmt::Debug for RegisteredClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredClaims")
            .field("iss", &self.iss())
            .field("sub", &self.sub())
            .field("aud", &self.aud())
            .field("exp", &self.exp())
            .field("nbf", &self.nbf())
            .field("iat", &self.iat())
            .field("jti", &self.jti())
            .finish()
    }
}

impl Serialize for RegisteredClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.serialize_entries(&mut map)?;
        map.end()
    }
}

impl RegisteredClaims {
    fn serialize_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        if let Some(v) = self.iss() {
            map.serialize_entry("iss", v)?;
        }
        if let Some(v) = self.sub() {
            map.serialize_entry("sub", v)?;
        }
        if let Some(v) = self.aud() {
            map.serialize_entry("aud", v)?;
        }
        for (name, v) in [
            ("exp", self.exp()),
            ("nbf", self.nbf()),
            ("iat", self.iat()),
        ] {
            if let Some(v) = v {
                map.serialize_entry(name, &v)?;
            }
        }
        if let Some(v) = self.jti() {
            map.serialize_entry("jti", v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::names::ClaimNames;
    use crate::claims::parse::parse_registered;

    #[test]
    fn registered_claims_are_shared_with_the_configured_ones_and_round_trip() {
        let interner = Interner::new(["https://issuer.example"], ["orders-api"]);
        let json = br#"{"iss":"https://issuer.example","sub":"alice","aud":"orders-api","exp":10,"nbf":1,"iat":0,"jti":"j1","sid":"s"}"#;
        let (a, _) = parse_registered(json, &ClaimNames::default(), &interner).unwrap();
        let (b, _) = parse_registered(json, &ClaimNames::default(), &interner).unwrap();
        assert!(matches!((&a.iss, &b.iss), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        assert!(matches!((&a.aud, &b.aud), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        assert_eq!(
            a.heap_bytes(),
            heap_chunk("alicej1s".len()),
            "only sub, jti and sid are its own"
        );
        assert_eq!(
            (
                a.iss(),
                a.sub(),
                a.jti(),
                a.sid(),
                a.exp(),
                a.nbf(),
                a.iat()
            ),
            (
                Some("https://issuer.example"),
                Some("alice"),
                Some("j1"),
                Some("s"),
                Some(10),
                Some(1),
                Some(0)
            )
        );
        let again: RegisteredClaims =
            serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(again.sub(), a.sub());
        assert_eq!(again.aud(), a.aud());
        assert_eq!(
            again.sid(),
            None,
            "the session id is not a registered claim"
        );
        let (other, _) = parse_registered(
            br#"{"iss":"elsewhere","aud":["x","y"]}"#,
            &ClaimNames::default(),
            &interner,
        )
        .unwrap();
        assert_eq!(other.iss(), Some("elsewhere"));
        assert!(other.heap_bytes() > 0 && other.sub().is_none() && other.exp().is_none());
    }
}
