//! The cache's Redis round trips, each bounded by `CACHE_TIMEOUT_MS`: the read, the conditional
//! store, and the replacement of generations with its pub/sub message. A failure is logged once
//! per outage and reported as `None`/`false`, never as an error.

use std::future::Future;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use microshop_limits::Redis;
use redis::RedisResult;

use crate::config::CacheConfig;
use crate::keys::fresh_token;

/// Stores a value only if its generations are still the ones read before loading.
/// KEYS[1] the value, KEYS[2..] its generations (epoch, space, key). ARGV[1] the JSON,
/// ARGV[2] the value's expiry, ARGV[3] the generations' expiry, then per generation the token
/// read before loading ('' = absent) and a fresh token to use if it is still absent.
const STORE: &str = r"
local tag = {}
for i = 2, #KEYS do
  local seen = ARGV[2 * i]
  local now = redis.call('GET', KEYS[i]) or ''
  if now ~= seen then return 0 end
  if now == '' then now = ARGV[2 * i + 1] end
  tag[i - 1] = now
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], tag[i - 1], 'EX', ARGV[3])
end
redis.call('SET', KEYS[1], table.concat(tag, '/') .. '|' .. ARGV[1], 'EX', ARGV[2])
return 1
";

static STORE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(STORE));

/// Redis as the cache uses it.
pub(crate) struct Store {
    redis: Redis,
    timeout: Duration,
    value_ttl_s: u64,
    generation_ttl_s: u64,
    /// Whether the last round trip failed: one warning per outage.
    down: AtomicBool,
}

impl Store {
    pub(crate) fn new(redis: Redis, config: &CacheConfig) -> Self {
        Self {
            redis,
            timeout: Duration::from_millis(config.cache_timeout_ms),
            value_ttl_s: config.cache_ttl_s,
            generation_ttl_s: config.cache_ttl_s.saturating_mul(2),
            down: AtomicBool::new(false),
        }
    }

    /// `MGET keys` (the value, then its generations); `None` when Redis did not answer.
    pub(crate) async fn read(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        let mut command = redis::cmd("MGET");
        command.arg(keys);
        self.bounded(async |connection| command.query_async(connection).await)
            .await
    }

    /// Stores `json` under `keys[0]` tagged with the generations `keys[1..]` if they are still
    /// `seen`; whether it was stored.
    pub(crate) async fn store(&self, keys: &[String], seen: &[Option<String>], json: &str) -> bool {
        let mut invocation = STORE_SCRIPT.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        invocation
            .arg(json)
            .arg(self.value_ttl_s)
            .arg(self.generation_ttl_s);
        for generation in seen {
            invocation
                .arg(generation.as_deref().unwrap_or(""))
                .arg(fresh_token());
        }
        let stored: Option<i64> = self
            .bounded(async |connection| invocation.invoke_async(connection).await)
            .await;
        stored == Some(1)
    }

    /// Gives each of `generations` a fresh token and publishes `message` on `channel`, in one
    /// round trip; whether Redis confirmed it.
    pub(crate) async fn replace_generations(
        &self,
        generations: &[String],
        channel: &str,
        message: &str,
    ) -> bool {
        let mut pipe = redis::pipe();
        for generation in generations {
            pipe.cmd("SET")
                .arg(generation)
                .arg(fresh_token())
                .arg("EX")
                .arg(self.generation_ttl_s)
                .ignore();
        }
        pipe.cmd("PUBLISH").arg(channel).arg(message).ignore();
        self.bounded(async |connection| pipe.query_async::<()>(connection).await)
            .await
            .is_some()
    }

    /// Runs `call` on the shared connection within the timeout; `None` on any failure.
    async fn bounded<T, F>(&self, call: F) -> Option<T>
    where
        F: AsyncFnOnce(&mut redis::aio::ConnectionManager) -> RedisResult<T>,
    {
        let Some(mut connection) = self.redis.connection() else {
            self.failed("not connected yet");
            return None;
        };
        let answer = tokio::time::timeout(self.timeout, call(&mut connection)).await;
        match answer {
            Ok(Ok(value)) => {
                if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers the cache again");
                }
                Some(value)
            }
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.failed("no answer in time");
                None
            }
        }
    }

    fn failed(&self, reason: &str) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                reason,
                "Redis does not answer the cache; reads go to the database until it does"
            );
        }
    }
}

/// Whether `future`, a Redis call made outside the request path, answered within `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Option<T> {
    tokio::time::timeout(limit, future).await.ok()?.ok()
}
