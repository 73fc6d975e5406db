//! A read cache in Redis with an in-process layer in front (DESIGN §6: Redis is a cache, never
//! the only copy; reads fall back to PostgreSQL). A [`Cache`] holds typed [`Space`]s (`product`
//! by id, `category` tree, `listing` first pages); [`Space::get_or_load`] answers from the
//! in-process layer, else Redis, else the caller's loader (PostgreSQL), and never fails because
//! of the cache: the only error it returns is the loader's.
//!
//! # Correctness: generations, never TTL alone
//! Every stored value is tagged with the generations it was loaded under: the cache-wide
//! `epoch`, its space's generation and, for [`Scope::PerKey`], its key's generation. A read is
//! one `MGET value epoch space-gen [key-gen]`; it is a hit only when the tag equals the current
//! generations. Writers call [`Space::invalidate`] / [`Space::invalidate_all`] /
//! [`Cache::invalidate_many`] AFTER their transaction committed and before they answer; that
//! sets the generation(s) to fresh random tokens and publishes the change, in one round trip.
//! On a miss the loader runs, and a Lua script stores the value only if the generations are
//! still the ones read BEFORE loading, so a reader that loaded before a writer's commit can
//! never store its value after that writer's invalidation. Generations are random tokens rather
//! than `INCR` counters: a generation key that expired or was evicted can never come back with
//! a value an old entry carries (an absent generation is replaced by a fresh token on store).
//! `CACHE_TTL_S` only bounds memory (values expire after it, generations after twice it).
//!
//! # The in-process layer
//! A bounded [`moka`] sync cache per space (`CACHE_LOCAL_ENTRIES` entries each, 0 disables it):
//! moka is already in the shop's dependency tree, well kept, concurrent, TinyLFU-bounded, and
//! its sync cache needs no background thread. A local entry is trusted only while this process
//! holds a live subscription to `{prefix}cache:{service}:invalidations` (a background task that
//! pings it and resubscribes with backoff): entries belong to one subscription session and die
//! with it, and the layer is skipped while unsubscribed. Every invalidation, from this process
//! (synchronously, before `invalidate` returns) or another (by pub/sub), bumps its space's local
//! epoch and drops the keys; a loaded value enters the layer only if no invalidation of its
//! space arrived since the reader noted the epoch before reading Redis. So the same client
//! coming back to the same process never reads stale data; other processes drop their copies
//! when the message reaches them (usually well under a millisecond).
//!
//! # Redis down or slow
//! Each Redis round trip on the request path is bounded by `CACHE_TIMEOUT_MS`; on error or
//! timeout the read goes to the loader (outcome `error`) and nothing is stored. When an
//! invalidation cannot reach Redis, this process is "dirty": it bypasses the cache for reads
//! (outcome `bypass`) and retries in the background to replace the `epoch` (and publish a flush
//! of every local layer); once that succeeded every value stored before is a miss, so none
//! written before the outage is served after it. One warning per outage (at most one every 10 s,
//! counting the failed round trips since the last), one line when back.
//!
//! What remains: while THIS process cannot reach Redis but others can, the others may serve
//! the values this process failed to invalidate, until its epoch replacement gets through. An
//! invalidation that timed out counts as failed even if Redis applies it a moment later: the
//! writer's own process is safe (it bypasses), others may read the old value in between.
//! Under an `allkeys-*` eviction policy, a generation key evicted while a reader loads would
//! let that reader store what it loaded (run Redis with `volatile-*` or `noeviction`). Absent
//! values (`Ok(None)` from the loader) are not cached, so creating a row never has to
//! invalidate its own key; concurrent misses of one key each run the loader (no single flight).
//!
//! # Keys (under the service's `REDIS_KEY_PREFIX`)
//! `cache:{service}:{space}:v:{key}` value (`{tag}|{json}`), `cache:{service}:{space}:gen:{key}`
//! key generation, `cache:{service}:{space}:gen` space generation, `cache:{service}:epoch`, and
//! the channel `cache:{service}:invalidations`; the service name keeps services that share one
//! Redis and prefix apart. A value's JSON shape belongs to its space: rename the space
//! (`product.v2`) when it changes incompatibly.
//!
//! Metrics: `cache_requests_total{cache, outcome=local_hit|hit|miss|error|bypass}` and
//! `cache_invalidations_total{cache}` (one per key, or one per whole space).

mod config;
mod keys;
mod local;
mod message;
mod metrics;
mod repair;
mod space;
mod store;
mod subscriber;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use microshop_limits::Redis;
use prometheus::Registry;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::{CancellationToken, DropGuard};

pub use config::CacheConfig;
pub use space::{Invalidation, Scope, Space};

use keys::Keys;
use local::Layers;
use message::Message;
use metrics::Metrics;
use repair::Dirty;
use store::Store;

/// The cache of one service: cheap to clone, shared by every [`Space`] made from it. Its
/// background tasks (subscription, epoch repair) stop when the last clone is dropped.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    _stop: DropGuard,
}

/// What the handles and the background tasks share.
struct Shared {
    store: Store,
    keys: Keys,
    /// Tells this instance's own messages apart (it already applied them).
    origin: String,
    /// Subscription sessions: odd while subscribed; every change invalidates local entries.
    session: AtomicU64,
    layers: Layers,
    dirty: Dirty,
    metrics: Metrics,
    local_entries: u64,
    local_ttl: Duration,
    /// `CACHE_ENABLED`: when false, reads go to their loader and invalidations do nothing.
    enabled: bool,
}

impl Cache {
    /// The cache of `service` on `redis`, counting on `registry`; starts its background tasks
    /// (call it inside the tokio runtime).
    pub fn new(
        redis: &Redis,
        config: &CacheConfig,
        service: &str,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let ttl = Duration::from_secs(config.cache_ttl_s);
        let shared = Arc::new(Shared {
            store: Store::new(redis.clone(), config),
            keys: Keys::new(redis, service),
            origin: keys::fresh_token(),
            session: AtomicU64::new(0),
            layers: Layers::default(),
            dirty: Dirty::default(),
            metrics: Metrics::new(registry)?,
            local_entries: config.cache_local_entries,
            local_ttl: ttl,
            enabled: config.cache_enabled,
        });
        let stop = CancellationToken::new();
        if config.cache_enabled && config.cache_local_entries > 0 {
            tokio::spawn(subscriber::run(
                Arc::clone(&shared),
                redis.client().clone(),
                stop.clone(),
            ));
        }
        if config.cache_enabled {
            tokio::spawn(repair::run(Arc::clone(&shared), stop.clone()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                _stop: stop.drop_guard(),
            }),
        })
    }

    /// A typed space named `name` (`product`, `listing`): values of type `V`, stored as JSON in
    /// Redis and as `Arc<V>` in the in-process layer, invalidated per key or as a whole.
    pub fn space<V>(&self, name: &str, scope: Scope) -> Space<V>
    where
        V: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        Space::new(self.clone(), name, scope)
    }

    /// Invalidates several spaces' keys in one Redis round trip (e.g. a product and the
    /// listings): call it after the write committed, before answering. Never fails: when Redis
    /// cannot be told, this process bypasses the cache until the epoch is replaced.
    pub async fn invalidate_many(&self, targets: &[Invalidation]) {
        let shared = &self.inner.shared;
        if !shared.enabled {
            return;
        }
        let mut generations = Vec::new();
        for target in targets {
            generations.extend(target.generation_keys(&shared.keys));
        }
        if generations.is_empty() {
            return;
        }
        let message = Message::targets(&shared.origin, targets);
        if !shared
            .store
            .replace_generations(&generations, &shared.keys.channel(), &message)
            .await
        {
            shared.dirty.mark();
        }
        for target in targets {
            shared.layers.forget(target.space(), target.keys());
            shared.metrics.invalidated(target);
        }
    }

    /// Whether this process holds a live subscription to the invalidations, i.e. whether its
    /// in-process layer is in use (never, with `CACHE_LOCAL_ENTRIES=0`).
    pub fn is_subscribed(&self) -> bool {
        local::is_live(self.inner.shared.session.load(Ordering::SeqCst))
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }
}
