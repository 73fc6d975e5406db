//! The subscription to the invalidation channel that makes the in-process layer trustworthy:
//! while it is live, every other process's invalidation reaches this one; when it is lost (the
//! stream ends or a ping goes unanswered), the local layer is dropped and unused until a new
//! subscription is confirmed. Resubscribes with backoff; one warning per loss.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio_util::sync::CancellationToken;

use crate::Shared;
use crate::local::is_live;
use crate::message::Message;
use crate::store::within;

/// Bound on connecting, subscribing and each ping (outside the request path).
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// How often a quiet subscription is checked.
const PING_EVERY: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Keeps a subscription until `stop`.
pub(crate) async fn run(shared: Arc<Shared>, client: redis::Client, stop: CancellationToken) {
    let channel = shared.keys.channel();
    let mut retry = FIRST_RETRY;
    let mut lost = false;
    loop {
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            subscribed = subscribe(&client, &channel) => subscribed,
        };
        let Some((sink, stream)) = subscribed else {
            if !lost {
                tracing::warn!(
                    "cannot subscribe to cache invalidations; the in-process cache is off until then"
                );
                lost = true;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(LAST_RETRY);
            continue;
        };
        retry = FIRST_RETRY;
        set_live(&shared, true);
        if lost {
            tracing::info!("subscribed to cache invalidations again; the in-process cache is on");
        }
        let stopped = listen(&shared, sink, stream, &stop).await;
        set_live(&shared, false);
        if stopped {
            return;
        }
        tracing::warn!(
            "lost the subscription to cache invalidations; the in-process cache is off until it is back"
        );
        lost = true;
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> Option<(PubSubSink, PubSubStream)> {
    let mut pubsub = within(ANSWER_WITHIN, client.get_async_pubsub()).await?;
    within(ANSWER_WITHIN, pubsub.subscribe(channel)).await?;
    Some(pubsub.split())
}

/// Applies messages until the subscription fails (`false`) or `stop` (`true`).
async fn listen(
    shared: &Shared,
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    stop: &CancellationToken,
) -> bool {
    // Pinged beside the message loop, so a slow answer does not hold messages back.
    let pinger = async {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ping.tick().await;
            if within(ANSWER_WITHIN, sink.ping::<redis::Value>())
                .await
                .is_none()
            {
                return;
            }
        }
    };
    tokio::pin!(pinger);
    loop {
        tokio::select! {
            () = stop.cancelled() => return true,
            () = &mut pinger => return false,
            message = stream.next() => match message {
                Some(message) => apply(shared, message.get_payload_bytes()),
                None => return false,
            },
        }
    }
}

/// Starts (odd) or ends (even) a session; ending one drops every local entry.
fn set_live(shared: &Shared, live: bool) {
    if is_live(shared.session.load(Ordering::SeqCst)) != live {
        shared.session.fetch_add(1, Ordering::SeqCst);
    }
    if !live {
        shared.layers.forget_all();
    }
}

fn apply(shared: &Shared, payload: &[u8]) {
    let message: Message = match serde_json::from_slice(payload) {
        Ok(message) => message,
        Err(error) => {
            // Not ours to understand (another version?): drop everything to stay correct.
            tracing::warn!(%error, "an unreadable cache invalidation; dropping the in-process cache");
            shared.layers.forget_all();
            return;
        }
    };
    if message.origin == shared.origin {
        return;
    }
    if message.flush {
        shared.layers.forget_all();
    }
    for target in &message.targets {
        shared.layers.forget(&target.space, target.keys.as_deref());
    }
}
