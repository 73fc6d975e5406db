//! The "dirty" state: an invalidation of this process did not reach Redis, so Redis may hold
//! values older than this process's writes. Until the cache-wide epoch has been replaced
//! (which makes every stored value a miss) and a flush of every in-process layer published,
//! this process reads around the cache; a background task retries that with backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Shared;
use crate::message::Message;

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Failed invalidations, and how many of them a replaced epoch has covered.
#[derive(Default)]
pub(crate) struct Dirty {
    failed: AtomicU64,
    repaired: AtomicU64,
    wake: Notify,
}

impl Dirty {
    /// An invalidation did not reach Redis.
    pub(crate) fn mark(&self) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Whether an invalidation that did not reach Redis is not yet covered by a new epoch.
    pub(crate) fn is_dirty(&self) -> bool {
        self.failed.load(Ordering::SeqCst) != self.repaired.load(Ordering::SeqCst)
    }
}

/// Replaces the epoch after each failed invalidation, until `stop`.
pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let epoch = [shared.keys.epoch()];
    let channel = shared.keys.channel();
    let mut retry = FIRST_RETRY;
    loop {
        // Every failure counted up to here happened before the epoch is replaced below.
        let failed = shared.dirty.failed.load(Ordering::SeqCst);
        if failed == shared.dirty.repaired.load(Ordering::SeqCst) {
            tokio::select! {
                () = stop.cancelled() => return,
                () = shared.dirty.wake.notified() => continue,
            }
        }
        let flush = Message::flush(&shared.origin);
        if shared
            .store
            .replace_generations(&epoch, &channel, &flush)
            .await
        {
            // This process read around its own layer meanwhile; drop it too, to be sure.
            shared.layers.forget_all();
            shared.dirty.repaired.store(failed, Ordering::SeqCst);
            tracing::info!(
                "cache epoch replaced after failed invalidations; reading through the cache again"
            );
            retry = FIRST_RETRY;
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(LAST_RETRY);
    }
}
