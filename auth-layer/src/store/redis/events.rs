//! Revocation events from Redis: a dedicated pub/sub connection, moved to
//! another node of a cluster when its node goes away.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, select};
use redis::aio::PubSub;

use super::connection::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT, Target};
use crate::backend::StoreError;
use crate::revocation::{EventSender, RevocationEvent};

/// The first wait before the listener reconnects.
const LISTEN_MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two reconnection attempts of the listener.
const LISTEN_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long the listener waits for a message before checking the
/// connection with a `PING` (catches connections that died silently).
const LISTEN_HEALTH_CHECK: Duration = Duration::from_secs(10);

/// Why one subscription ended.
enum Ended {
    /// Nobody listens any more: stop for good.
    Closed,
    /// The connection dropped or stopped answering: reconnect.
    Lost(&'static str),
}

/// Subscribes to `channel` and forwards its events, reconnecting with a
/// growing backoff, until `events` is closed.
pub(super) async fn listen(target: Arc<Target>, channel: String, events: EventSender) {
    let mut backoff = LISTEN_MIN_BACKOFF;
    let mut reconnecting = false;
    // The node to try first; a cluster's nodes are tried in turn, since
    // every node delivers every published event.
    let mut first = 0;
    loop {
        if events.is_closed() {
            return;
        }
        match subscribe(target.subscribers(), &mut first, &channel).await {
            Ok(pubsub) => {
                if reconnecting {
                    tracing::warn!(%channel, "revocation events: subscribed again; dropping cached answers");
                    if events.send(RevocationEvent::Resubscribed).is_err() {
                        return;
                    }
                } else {
                    tracing::debug!(%channel, "revocation events: subscribed");
                }
                backoff = LISTEN_MIN_BACKOFF;
                match forward(pubsub, &events).await {
                    Ended::Closed => return,
                    Ended::Lost(reason) => {
                        // A cluster's node that went away is tried last.
                        first = first.wrapping_add(1);
                        tracing::warn!(
                            %channel,
                            reason,
                            retry_in_ms = backoff.as_millis(),
                            "revocation events: connection lost, reconnecting (missed events are bounded by the cache TTL)"
                        );
                    }
                }
            }
            Err(error) => tracing::warn!(
                %channel,
                %error,
                retry_in_ms = backoff.as_millis(),
                "revocation events: cannot subscribe, retrying"
            ),
        }
        reconnecting = true;
        let wait = pin!(tokio::time::sleep(backoff));
        let closed = pin!(events.closed());
        if let Either::Right(_) = select(wait, closed).await {
            return;
        }
        backoff = backoff.saturating_mul(2).min(LISTEN_MAX_BACKOFF);
    }
}

/// A dedicated pub/sub connection subscribed to `channel`, in bounded time:
/// on the first of `nodes` (from `first` on) that accepts one.
async fn subscribe(
    nodes: &[redis::Client],
    first: &mut usize,
    channel: &str,
) -> Result<PubSub, StoreError> {
    let limit = CONNECT_TIMEOUT.saturating_add(RESPONSE_TIMEOUT);
    let mut failure = StoreError::Timeout(limit);
    for offset in 0..nodes.len() {
        let index = first.wrapping_add(offset) % nodes.len();
        let Some(client) = nodes.get(index) else {
            continue;
        };
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok(pubsub)) => {
                *first = index;
                return Ok(pubsub);
            }
            Ok(Err(e)) => failure = StoreError::unavailable(e),
            Err(_) => failure = StoreError::Timeout(limit),
        }
    }
    *first = first.wrapping_add(1);
    Err(failure)
}

/// Forwards the events of one subscription until it ends.
async fn forward(pubsub: PubSub, events: &EventSender) -> Ended {
    let (mut sink, mut stream) = pubsub.split();
    loop {
        let next = pin!(tokio::time::timeout(LISTEN_HEALTH_CHECK, stream.next()));
        let closed = pin!(events.closed());
        let message = match select(next, closed).await {
            Either::Right(_) => return Ended::Closed,
            Either::Left((Ok(Some(message)), _)) => message,
            Either::Left((Ok(None), _)) => return Ended::Lost("connection closed"),
            Either::Left((Err(_), _)) => {
                // Quiet for a while: make sure the connection is still alive.
                match tokio::time::timeout(RESPONSE_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => continue,
                    Ok(Err(_)) => return Ended::Lost("ping failed"),
                    Err(_) => return Ended::Lost("ping timed out"),
                }
            }
        };
        let payload = String::from_utf8_lossy(message.get_payload_bytes());
        match RevocationEvent::from_json(&payload) {
            Some(event) => {
                if events.send(event).is_err() {
                    return Ended::Closed;
                }
            }
            None => tracing::debug!(
                channel = message.get_channel_name(),
                %payload,
                "revocation events: ignoring an unknown payload"
            ),
        }
    }
}
