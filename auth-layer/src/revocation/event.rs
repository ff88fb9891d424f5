//! [`RevocationEvent`]: what one instance tells the others after a write.

/// The sending half that [`RevocationStore::listen`](super::RevocationStore::listen)
/// delivers events to.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RevocationEvent>;

/// A revocation, as published between instances:
/// `{"kind":"user","sub":"…"}`, `{"kind":"session","sid":"…"}` or
/// `{"kind":"jti","jti":"…"}`.
///
/// ```
/// use auth_layer::revocation::RevocationEvent;
///
/// let event = RevocationEvent::from_json(r#"{"kind":"session","sid":"s1"}"#).unwrap();
/// assert_eq!(event, RevocationEvent::Session { sid: "s1".into() });
/// assert_eq!(event.to_json(), r#"{"kind":"session","sid":"s1"}"#);
/// assert_eq!(RevocationEvent::from_json("not an event"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum RevocationEvent {
    /// A subject's version was bumped.
    User {
        /// The subject.
        sub: String,
    },
    /// A session was revoked.
    Session {
        /// The session id.
        sid: String,
    },
    /// A token id was denied.
    Jti {
        /// The token id.
        jti: String,
    },
    /// Sent by a store's listener (never published) after it subscribed
    /// again following a lost connection: events published meanwhile were
    /// missed, so the cache drops every cached answer.
    #[serde(skip)]
    Resubscribed,
}

impl RevocationEvent {
    /// The JSON payload published on the channel.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a published payload; `None` for anything else (which listeners ignore).
    pub fn from_json(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_documented_json_shape() {
        let cases = [
            (
                RevocationEvent::User {
                    sub: "alice".into(),
                },
                r#"{"kind":"user","sub":"alice"}"#,
            ),
            (
                RevocationEvent::Session { sid: "s1".into() },
                r#"{"kind":"session","sid":"s1"}"#,
            ),
            (
                RevocationEvent::Jti { jti: "j1".into() },
                r#"{"kind":"jti","jti":"j1"}"#,
            ),
        ];
        for (event, json) in cases {
            assert_eq!(event.to_json(), json);
            assert_eq!(RevocationEvent::from_json(json), Some(event));
        }
        assert_eq!(RevocationEvent::from_json(r#"{"kind":"other"}"#), None);
    }
}
