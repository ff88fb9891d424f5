//! [`RevocationEvent`]: what one instance tells the others after a write.

/// The sending half that [`RevocationStore::listen`](super::RevocationStore::listen)
/// delivers events to.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RevocationEvent>;

/// A revocation, as published between instances:
/// `{"kind":"user","iss":"…","sub":"…"}`,
/// `{"kind":"session","iss":"…","sid":"…"}` or
/// `{"kind":"jti","iss":"…","jti":"…"}`.
///
/// An event in the 0.1 shape (without `iss`), from an instance not yet
/// upgraded, is read as [`Resubscribed`](Self::Resubscribed): it cannot say
/// which issuer it meant, so every cached answer is dropped.
///
/// ```
/// use auth_layer::revocation::RevocationEvent;
///
/// let json = r#"{"kind":"session","iss":"https://idp.example","sid":"s1"}"#;
/// let event = RevocationEvent::from_json(json).unwrap();
/// assert_eq!(
///     event,
///     RevocationEvent::Session { iss: "https://idp.example".into(), sid: "s1".into() }
/// );
/// assert_eq!(event.to_json(), json);
/// assert_eq!(RevocationEvent::from_json("not an event"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum RevocationEvent {
    /// A subject was logged out everywhere.
    User {
        /// The issuer.
        iss: String,
        /// The subject.
        sub: String,
    },
    /// A session was revoked.
    Session {
        /// The issuer.
        iss: String,
        /// The session id.
        sid: String,
    },
    /// A token id was denied.
    Jti {
        /// The issuer.
        iss: String,
        /// The token id.
        jti: String,
    },
    /// Sent by a store's listener (never published) after it subscribed
    /// again following a lost connection: events published meanwhile were
    /// missed, so the cache drops every cached answer.
    #[serde(skip)]
    Resubscribed,
}

/// The 0.1 events, which named no issuer.
#[derive(serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Unscoped {
    User {
        #[allow(dead_code)]
        sub: String,
    },
    Session {
        #[allow(dead_code)]
        sid: String,
    },
    Jti {
        #[allow(dead_code)]
        jti: String,
    },
}

impl RevocationEvent {
    /// The JSON payload published on the channel.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a published payload; `None` for anything else (which listeners ignore).
    pub fn from_json(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok().or_else(|| {
            serde_json::from_str::<Unscoped>(payload)
                .ok()
                .map(|_| Self::Resubscribed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_documented_json_shape() {
        let iss = || "https://a.example".to_owned();
        let cases = [
            (
                RevocationEvent::User {
                    iss: iss(),
                    sub: "alice".into(),
                },
                r#"{"kind":"user","iss":"https://a.example","sub":"alice"}"#,
            ),
            (
                RevocationEvent::Session {
                    iss: iss(),
                    sid: "s1".into(),
                },
                r#"{"kind":"session","iss":"https://a.example","sid":"s1"}"#,
            ),
            (
                RevocationEvent::Jti {
                    iss: iss(),
                    jti: "j1".into(),
                },
                r#"{"kind":"jti","iss":"https://a.example","jti":"j1"}"#,
            ),
        ];
        for (event, json) in cases {
            assert_eq!(event.to_json(), json);
            assert_eq!(RevocationEvent::from_json(json), Some(event));
        }
        assert_eq!(RevocationEvent::from_json(r#"{"kind":"other"}"#), None);
    }

    #[test]
    fn an_event_without_issuer_drops_everything() {
        for json in [
            r#"{"kind":"user","sub":"alice"}"#,
            r#"{"kind":"session","sid":"s1"}"#,
            r#"{"kind":"jti","jti":"j1"}"#,
        ] {
            assert_eq!(
                RevocationEvent::from_json(json),
                Some(RevocationEvent::Resubscribed),
                "{json}"
            );
        }
    }
}
