//! Caches on their own key prefix, a stand-in "database" row, and metric readers.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use microshop_cache::{Cache, CacheConfig, Space};
use microshop_limits::{Redis, RedisConfig};
use microshop_testkit::eventually;
use prometheus::Registry;

/// Where the shared Redis is.
pub const REDIS: &str = "127.0.0.1:6379";

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    redis: RedisConfig,
    #[command(flatten)]
    cache: CacheConfig,
}

/// A key prefix no other test uses.
pub fn prefix() -> String {
    format!("test-{}:", uuid::Uuid::now_v7().simple())
}

/// A cache (one "process") on the Redis at `addr` under `prefix`, keeping `local` entries per
/// space in process; waits until it is connected, and subscribed if it has a local layer.
pub async fn cache(addr: &str, prefix: &str, local: u64) -> (Cache, Registry) {
    cache_with_timeout(addr, prefix, local, 50).await
}

/// Like [`cache`], with `timeout_ms` as `CACHE_TIMEOUT_MS`. The freshness tests give Redis time:
/// an invalidation that times out is a failure by design (its process bypasses the cache, and
/// other processes may read the old value until the late command lands or the epoch is
/// replaced), which on a loaded test machine would blur what they check.
pub async fn cache_with_timeout(
    addr: &str,
    prefix: &str,
    local: u64,
    timeout_ms: u64,
) -> (Cache, Registry) {
    let cli = Cli::try_parse_from([
        "test",
        &format!("--redis-url=redis://{addr}/0"),
        &format!("--redis-key-prefix={prefix}"),
        &format!("--cache-local-entries={local}"),
        &format!("--cache-timeout-ms={timeout_ms}"),
    ])
    .unwrap();
    let registry = Registry::new();
    let redis = Redis::connect(&cli.redis).unwrap();
    eventually("connected to Redis", async || redis.is_connected()).await;
    let cache = Cache::new(&redis, &cli.cache, "test", &registry).unwrap();
    if local > 0 {
        eventually("subscribed", async || cache.is_subscribed()).await;
    }
    (cache, registry)
}

/// `cache_requests_total{cache=space, outcome}`.
pub fn requests(registry: &Registry, space: &str, outcome: &str) -> u64 {
    counter(
        registry,
        "cache_requests_total",
        &[("cache", space), ("outcome", outcome)],
    )
}

/// `cache_invalidations_total{cache=space}`.
pub fn invalidations(registry: &Registry, space: &str) -> u64 {
    counter(registry, "cache_invalidations_total", &[("cache", space)])
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole, small counts
fn counter(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> u64 {
    let families = registry.gather();
    let Some(family) = families.iter().find(|family| family.name() == name) else {
        return 0;
    };
    family
        .get_metric()
        .iter()
        .find(|metric| {
            labels.iter().all(|(name, value)| {
                metric
                    .get_label()
                    .iter()
                    .any(|label| label.name() == *name && label.value() == *value)
            })
        })
        .map_or(0, |metric| metric.get_counter().get_value() as u64)
}

/// A row of the "database": a value and how often it was loaded.
#[derive(Clone, Default)]
pub struct Row {
    value: Arc<AtomicU64>,
    loads: Arc<AtomicU64>,
}

impl Row {
    /// Commits a new value and returns it.
    pub fn write(&self) -> u64 {
        self.value.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// How many times a loader read it.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }

    /// The loader: reads the committed value.
    pub fn load(&self) -> Ready<Result<Option<u64>, Infallible>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        ready(Ok(Some(self.value.load(Ordering::SeqCst))))
    }
}

impl Row {
    /// A loader that lets other tasks run between reading the row and returning it, as a
    /// query does, so writes land in between.
    pub async fn load_slowly(&self) -> Result<Option<u64>, Infallible> {
        let value = self.load().await;
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        if self.loads() % 7 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        value
    }
}

/// Reads `key` of `space` through `row`'s loader.
pub async fn read(space: &Space<u64>, key: &str, row: &Row) -> u64 {
    *space
        .get_or_load(key, || row.load())
        .await
        .unwrap()
        .unwrap()
}

/// Deletes every key under `prefix`.
pub async fn delete_keys(prefix: &str) {
    let client = redis::Client::open(format!("redis://{REDIS}/0")).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor = 0_u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .unwrap();
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut connection)
                .await
                .unwrap();
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}
