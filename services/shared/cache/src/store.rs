//! The cache's Redis round trips, each bounded by `CACHE_TIMEOUT_MS`: the read, the conditional
//! store, and the replacement of generations with its pub/sub message. A failure is reported as
//! `None`/`false`, never as an error, and logged once per outage, at most every
//! [`WARN_EVERY`]: under a burst single reads time out now and then, and a pair of lines for
//! each buried everything else in the log.

use std::future::Future;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    outages: OutageLog,
}

impl Store {
    pub(crate) fn new(redis: Redis, config: &CacheConfig) -> Self {
        Self {
            redis,
            timeout: Duration::from_millis(config.cache_timeout_ms),
            value_ttl_s: config.cache_ttl_s,
            generation_ttl_s: config.cache_ttl_s.saturating_mul(2),
            outages: OutageLog::new(),
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
                if self.outages.answered() {
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
        if let Some(failed_round_trips) = self.outages.failed() {
            tracing::warn!(
                reason,
                failed_round_trips,
                "Redis does not answer the cache; reads go to the database until it does"
            );
        }
    }
}

/// Warnings that Redis does not answer come at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// When to say that Redis stopped or started answering: a warning when a round trip fails and
/// none was given in the last [`WARN_EVERY`] (with the failures since the previous one), and the
/// all-clear only after a warning.
struct OutageLog {
    start: Instant,
    /// A warning stands for the outage at hand (an all-clear is owed).
    warned: AtomicBool,
    /// Failed round trips since the last warning.
    failures: AtomicU64,
    /// Milliseconds after `start` of the last warning, plus one (0: none yet).
    last_warning: AtomicU64,
}

impl OutageLog {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            warned: AtomicBool::new(false),
            failures: AtomicU64::new(0),
            last_warning: AtomicU64::new(0),
        }
    }

    /// A round trip failed: `Some(failures since the last warning)` when a warning is due.
    fn failed(&self) -> Option<u64> {
        self.failed_at(self.now())
    }

    /// A round trip succeeded: whether to say Redis answers again.
    fn answered(&self) -> bool {
        self.warned.load(Ordering::Relaxed) && self.warned.swap(false, Ordering::Relaxed)
    }

    fn failed_at(&self, now: u64) -> Option<u64> {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.warned.load(Ordering::Relaxed) {
            return None;
        }
        let last = self.last_warning.load(Ordering::Relaxed);
        let due = last == 0 || now + 1 >= last + millis(WARN_EVERY);
        // One caller wins the warning when several fail at once.
        if !due
            || self
                .last_warning
                .compare_exchange(last, now + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        self.warned.store(true, Ordering::Relaxed);
        Some(self.failures.swap(0, Ordering::Relaxed))
    }

    fn now(&self) -> u64 {
        millis(self.start.elapsed())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Whether `future`, a Redis call made outside the request path, answered within `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Option<T> {
    tokio::time::timeout(limit, future).await.ok()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_warned_once_and_cleared_once() {
        let log = OutageLog::new();
        assert_eq!(log.failed_at(5), Some(1));
        assert_eq!(log.failed_at(6), None);
        assert_eq!(log.failed_at(7), None);
        assert!(log.answered());
        assert!(!log.answered(), "one all-clear per outage");
    }

    #[test]
    fn blips_within_the_interval_stay_quiet_and_are_counted_in_the_next_warning() {
        let log = OutageLog::new();
        assert_eq!(log.failed_at(1_000), Some(1));
        assert!(log.answered());
        // Single reads timing out under a burst: no warning, no all-clear, for 10 s.
        for now in [1_500, 4_000, 10_999] {
            assert_eq!(log.failed_at(now), None);
            assert!(!log.answered());
        }
        // The next one after the interval says how many failed since the last warning.
        assert_eq!(log.failed_at(11_000), Some(4));
        assert!(log.answered());
    }

    #[test]
    fn nothing_is_said_while_redis_answers() {
        let log = OutageLog::new();
        assert!(!log.answered());
        assert!(!log.answered());
    }
}
