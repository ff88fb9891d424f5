//! Revocation events from PostgreSQL: `LISTEN` on a connection of its own,
//! replaced when it is lost.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use super::store::{ACQUIRE_TIMEOUT, CHANNEL};
use crate::revocation::{EventSender, RevocationEvent};

/// The listener's first and longest wait before reconnecting.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long the listener waits for a notification before checking that its
/// connection is still alive, and how long that check may take.
const IDLE_CHECK: Duration = Duration::from_secs(30);
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the listener dropped its connection.
#[derive(Debug)]
enum Lost {
    Database(sqlx::Error),
    CheckTimedOut,
    Dropped,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(e) => e.fmt(f),
            Self::Dropped => f.write_str("the connection was closed"),
            Self::CheckTimedOut => write!(
                f,
                "the idle connection did not answer within {} s",
                CHECK_TIMEOUT.as_secs()
            ),
        }
    }
}

/// Delivers the notifications of [`CHANNEL`] to `events` until it closes,
/// reconnecting forever with a bounded backoff.
pub(super) async fn listen(options: PgConnectOptions, events: EventSender) {
    let mut backoff = BACKOFF_MIN;
    let mut first_attempt = true;
    loop {
        let missed_events = !std::mem::replace(&mut first_attempt, false);
        match until_closed(&events, subscribe(&options)).await {
            None => return,
            Some(Ok(mut listener)) => {
                // Events published while disconnected were missed.
                if missed_events && events.send(RevocationEvent::Resubscribed).is_err() {
                    return;
                }
                let connected = Instant::now();
                let Some(lost) = forward(&mut listener, &events).await else {
                    return;
                };
                // A connection that lasted resets the backoff; one that
                // keeps dropping right after connecting does not.
                if connected.elapsed() > BACKOFF_MAX {
                    backoff = BACKOFF_MIN;
                }
                tracing::warn!(
                    error = %lost,
                    retry_in_ms = backoff.as_millis(),
                    "revocation listener lost its PostgreSQL connection; reconnecting (revocations published meanwhile are seen when cached answers expire)"
                );
            }
            Some(Err(e)) => tracing::warn!(
                error = %e,
                retry_in_ms = backoff.as_millis(),
                "revocation listener cannot connect to PostgreSQL; retrying"
            ),
        }
        if until_closed(&events, tokio::time::sleep(backoff))
            .await
            .is_none()
        {
            return;
        }
        backoff = backoff.saturating_mul(2).min(BACKOFF_MAX);
    }
}

/// A listener on its own single-connection pool (a fresh one each time, so a
/// connection left behind by a broken listener cannot hold up the next).
async fn subscribe(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    tracing::debug!(channel = CHANNEL, "revocation listener connected");
    Ok(listener)
}

/// Forwards notifications until `events` closes (`None`) or the connection
/// is lost for good.
async fn forward(listener: &mut PgListener, events: &EventSender) -> Option<Lost> {
    loop {
        let received = until_closed(
            events,
            tokio::time::timeout(IDLE_CHECK, listener.try_recv()),
        )
        .await?;
        match received {
            Ok(Ok(Some(notification))) => {
                let payload = notification.payload();
                match RevocationEvent::from_json(payload) {
                    Some(event) => {
                        if events.send(event).is_err() {
                            return None;
                        }
                    }
                    None => {
                        tracing::debug!(payload, "ignoring an unknown revocation notification");
                    }
                }
            }
            // The connection dropped: subscribe again ourselves, so the
            // cache can be told exactly when events flow again.
            Ok(Ok(None)) => return Some(Lost::Dropped),
            Ok(Err(e)) => return Some(Lost::Database(e)),
            // Quiet for a while: make sure the connection is still there (a
            // dead peer behind a silent network never closes it).
            Err(_idle) => {
                let check = tokio::time::timeout(
                    CHECK_TIMEOUT,
                    sqlx::query("SELECT 1").execute(&mut *listener),
                );
                match until_closed(events, check).await? {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Some(Lost::Database(e)),
                    Err(_) => return Some(Lost::CheckTimedOut),
                }
            }
        }
    }
}

/// Runs `work` unless `events` closes first (`None`).
async fn until_closed<F: Future>(events: &EventSender, work: F) -> Option<F::Output> {
    let work = pin!(work);
    let closed = pin!(events.closed());
    match select(work, closed).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(((), _)) => None,
    }
}
