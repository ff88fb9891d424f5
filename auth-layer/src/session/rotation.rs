//! The rotation decision, shared by the stores that decide in Rust (memory,
//! PostgreSQL); the Redis Lua script follows the same table.

use super::store::{RotateOutcome, Rotation, SessionRecord};

/// What the store knows about the presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// It is the session's current token.
    Current,
    /// It was spent at `at`; `latest` when it is the most recently spent
    /// token (its successor is current); `repeated` when, besides, its
    /// successor is the rotation's `next` (the same rotation presented again).
    Spent {
        at: i64,
        latest: bool,
        repeated: bool,
    },
}

/// What the store must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Spend the token, make the next one current, touch `last_used_at`.
    Rotate,
    /// The same rotation again, within the retry window: answer it as
    /// rotated; write nothing.
    Repeat,
    /// Answer a racing duplicate; write nothing.
    Duplicate,
    /// The latest spent token again within the retry window, but this
    /// instance derives another successor than the one current (successor
    /// keys differ between instances, or one has no window): refuse as an
    /// unknown token and write nothing, never end the session (a client
    /// cannot cause this; only a configuration can).
    Mismatch,
    /// Reuse: end the session for reuse if it is live.
    Reuse,
    /// Write nothing; answer with this outcome.
    Refuse(Refusal),
}

/// Why a current token cannot rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Ended,
    Expired,
    Idle,
    VersionBumped,
}

impl Refusal {
    pub(crate) fn outcome(self, session: SessionRecord) -> RotateOutcome {
        match self {
            Self::Ended => RotateOutcome::Ended(session),
            Self::Expired => RotateOutcome::Expired(session),
            Self::Idle => RotateOutcome::Idle(session),
            Self::VersionBumped => RotateOutcome::VersionBumped(session),
        }
    }
}

/// Logs a [`Decision::Mismatch`]: instances disagree on successors.
pub(crate) fn warn_mismatch(sid: &str) {
    tracing::warn!(
        target: "auth_layer",
        %sid,
        "a refresh retried within the retry window found another successor than this instance \
         derives: the instances' retry_secret, signing key or retry_window differ; refused as \
         refresh_invalid, the session lives"
    );
}

/// The decision table of [`RotateOutcome`].
pub(crate) fn decide(session: &SessionRecord, presented: Presented, r: &Rotation<'_>) -> Decision {
    match presented {
        Presented::Spent {
            at,
            latest,
            repeated,
        } => {
            // The second of the rotation always counts, so that a store call
            // resent after a connection reset is answered the same.
            let in_retry = r.now < at.saturating_add(r.retry.max(1));
            let in_grace = r.grace > 0 && r.now < at.saturating_add(r.grace);
            if latest && repeated && in_retry {
                match refusal(session, r) {
                    None => Decision::Repeat,
                    Some(refusal) => Decision::Refuse(refusal),
                }
            } else if session.ended.is_none() && latest && in_grace {
                match refusal(session, r) {
                    None => Decision::Duplicate,
                    Some(refusal) => Decision::Refuse(refusal),
                }
            } else if session.ended.is_none() && latest && r.retry > 0 && r.now < at + r.retry {
                Decision::Mismatch
            } else {
                Decision::Reuse
            }
        }
        Presented::Current => match refusal(session, r) {
            None => Decision::Rotate,
            Some(refusal) => Decision::Refuse(refusal),
        },
    }
}

fn refusal(session: &SessionRecord, r: &Rotation<'_>) -> Option<Refusal> {
    if session.ended.is_some() {
        Some(Refusal::Ended)
    } else if r.now >= session.expires_at {
        Some(Refusal::Expired)
    } else if r.now >= session.last_used_at.saturating_add(r.idle_timeout) {
        Some(Refusal::Idle)
    } else if session.version < r.min_version {
        Some(Refusal::VersionBumped)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::session::{EndReason, TokenHash};

    fn session() -> SessionRecord {
        SessionRecord {
            sid: "s1".into(),
            subject: "alice".into(),
            claims: Map::new(),
            version: 2,
            created_at: 1000,
            expires_at: 10_000,
            last_used_at: 1000,
            ended: None,
            dpop_jkt: None,
            idle_timeout: None,
        }
    }

    fn rotation(now: i64, grace: i64) -> Rotation<'static> {
        Rotation {
            sid: "s1",
            presented: TokenHash::of("a"),
            next: TokenHash::of("b"),
            now,
            idle_timeout: 500,
            grace,
            retry: 0,
            min_version: 2,
            claims: None,
        }
    }

    fn retrying(now: i64, retry: i64) -> Rotation<'static> {
        Rotation {
            retry,
            ..rotation(now, 0)
        }
    }

    #[test]
    fn the_decision_table() {
        let live = session();
        let ended = SessionRecord {
            ended: Some(EndReason::Logout),
            ..session()
        };
        let old = SessionRecord {
            version: 1,
            ..session()
        };
        let spent_now = Presented::Spent {
            at: 1100,
            latest: true,
            repeated: false,
        };
        let repeated = Presented::Spent {
            at: 1100,
            latest: true,
            repeated: true,
        };
        let cases = [
            (
                "current, live",
                &live,
                Presented::Current,
                rotation(1100, 0),
                Decision::Rotate,
            ),
            (
                "current, ended",
                &ended,
                Presented::Current,
                rotation(1100, 0),
                Decision::Refuse(Refusal::Ended),
            ),
            (
                "current, at the absolute end",
                &live,
                Presented::Current,
                rotation(10_000, 0),
                Decision::Refuse(Refusal::Expired),
            ),
            (
                "current, idle exactly",
                &live,
                Presented::Current,
                rotation(1500, 0),
                Decision::Refuse(Refusal::Idle),
            ),
            (
                "current, one second before idle",
                &live,
                Presented::Current,
                rotation(1499, 0),
                Decision::Rotate,
            ),
            (
                "current, version bumped",
                &old,
                Presented::Current,
                rotation(1100, 0),
                Decision::Refuse(Refusal::VersionBumped),
            ),
            (
                "spent, no grace",
                &live,
                spent_now,
                rotation(1100, 0),
                Decision::Reuse,
            ),
            (
                "spent, in grace",
                &live,
                spent_now,
                rotation(1104, 5),
                Decision::Duplicate,
            ),
            (
                "spent, grace over",
                &live,
                spent_now,
                rotation(1105, 5),
                Decision::Reuse,
            ),
            (
                "spent earlier, in grace",
                &live,
                Presented::Spent {
                    at: 1100,
                    latest: false,
                    repeated: false,
                },
                rotation(1101, 5),
                Decision::Reuse,
            ),
            (
                "the same rotation, in the retry window",
                &live,
                repeated,
                retrying(1104, 5),
                Decision::Repeat,
            ),
            (
                "the same rotation, retry window over",
                &live,
                repeated,
                retrying(1105, 5),
                Decision::Reuse,
            ),
            (
                "the same rotation resent in its second, no retry window",
                &live,
                repeated,
                retrying(1100, 0),
                Decision::Repeat,
            ),
            (
                "the same rotation, in the retry window, ended",
                &ended,
                repeated,
                retrying(1101, 5),
                Decision::Refuse(Refusal::Ended),
            ),
            (
                "another successor, in the retry window: keys differ, not reuse",
                &live,
                spent_now,
                retrying(1101, 5),
                Decision::Mismatch,
            ),
            (
                "another successor, retry window over",
                &live,
                spent_now,
                retrying(1105, 5),
                Decision::Reuse,
            ),
            (
                "another successor, in the retry window, ended",
                &ended,
                spent_now,
                retrying(1101, 5),
                Decision::Reuse,
            ),
            (
                "spent earlier, in the retry window",
                &live,
                Presented::Spent {
                    at: 1100,
                    latest: false,
                    repeated: false,
                },
                retrying(1101, 5),
                Decision::Reuse,
            ),
            (
                "spent, in grace, ended",
                &ended,
                spent_now,
                rotation(1101, 5),
                Decision::Reuse,
            ),
            (
                "spent, in grace, version bumped",
                &old,
                spent_now,
                rotation(1101, 5),
                Decision::Refuse(Refusal::VersionBumped),
            ),
        ];
        for (name, session, presented, rotation, expected) in cases {
            assert_eq!(decide(session, presented, &rotation), expected, "{name}");
        }
    }
}
