//! Abuse limits kept in Redis (DESIGN §6, §7): a [`Throttle`] counts failures per key (an
//! account, a client address) in a fixed window that starts at the first failure; a key at its
//! limit is refused until its window ends, whatever the request. Redis is a limiter, not a
//! store of record: while it does not answer, each process counts in memory instead (limits
//! then hold per process) and says so in `rate_limiter_fallback_total`. A [`RateLimiter`]
//! limits request rates per key (GCRA: a burst, then one request per interval), with the same
//! fallback.

mod rate;

pub use rate::{Decision, Rate, RateLimiter};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, Opts, Registry};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

/// How long one Redis round trip may take before the fallback answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// Where Redis is.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisConfig {
    /// Redis URL (`redis://127.0.0.1:6379/0`; `rediss://` for TLS).
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379/0",
        hide_env_values = true
    )]
    pub redis_url: SecretString,
    /// Prefix of every key this service writes, so shops (and tests) sharing one Redis never
    /// see each other's counters.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "microshop:")]
    pub redis_key_prefix: String,
}

/// A shared connection to Redis, made in the background and remade when lost.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    connection: Arc<Mutex<Option<ConnectionManager>>>,
    prefix: String,
}

impl Redis {
    /// Connects in the background (retrying every few seconds while Redis is away), so a
    /// service starts without it.
    pub fn connect(config: &RedisConfig) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(config.redis_url.expose_secret())?;
        let redis = Self {
            client: client.clone(),
            connection: Arc::new(Mutex::new(None)),
            prefix: config.redis_key_prefix.clone(),
        };
        let slot = Arc::clone(&redis.connection);
        tokio::spawn(async move {
            let settings = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(REDIS_TIMEOUT));
            let mut wait = Duration::from_secs(1);
            loop {
                match client
                    .get_connection_manager_with_config(settings.clone())
                    .await
                {
                    Ok(manager) => {
                        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(manager);
                        tracing::info!("connected to Redis");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, retry_in_s = wait.as_secs(), "Redis is not reachable; connecting again in the background (meanwhile each service uses its fallback: log-in limits per process, reads from PostgreSQL, carts answer 503)");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(60));
                    }
                }
            }
        });
        Ok(redis)
    }

    /// Waits up to `timeout` for the first connection; `false` if it is not made by then (it
    /// keeps being tried in the background). A service that waits at start counts its first
    /// requests in Redis rather than in-process.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Whether the first connection has been made (it is remade by itself when lost).
    pub fn is_connected(&self) -> bool {
        self.connection().is_some()
    }

    /// The shared multiplexed connection, once made (`None` until then); clone it per call.
    /// Its own response timeout is 250 ms: bound calls tighter with `tokio::time::timeout`.
    pub fn connection(&self) -> Option<ConnectionManager> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The client, for what the shared connection cannot do (a pub/sub subscription).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// `key` under this service's prefix ([`RedisConfig::redis_key_prefix`]).
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// A refusal: the key that hit its limit, and when it may try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// The key (`login:account:...`), for the log.
    pub key: String,
    /// Until the window ends.
    pub retry_after: Duration,
}

/// Counts failures per key in windows of `window`; a key with as many failures as its limit is
/// blocked until its window ends.
#[derive(Clone)]
pub struct Throttle {
    redis: Redis,
    window: Duration,
    local: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
    fallbacks: IntCounter,
}

impl Throttle {
    /// A throttle on `redis`, counting `rate_limiter_fallback_total` on `registry`.
    pub fn new(
        redis: Redis,
        window: Duration,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let fallbacks = IntCounter::with_opts(Opts::new(
            "rate_limiter_fallback_total",
            "Limit checks answered by the in-process counter because Redis did not answer.",
        ))?;
        registry.register(Box::new(fallbacks.clone()))?;
        Ok(Self {
            redis,
            window,
            local: Arc::default(),
            fallbacks,
        })
    }

    /// `Err` when one of `keys` has reached its limit (the longest wait of them).
    pub async fn check(&self, keys: &[(String, u32)]) -> Result<(), Throttled> {
        let mut worst: Option<Throttled> = None;
        for (key, limit) in keys {
            let (count, left) = match self.redis_count(key).await {
                Some(found) => found,
                None => self.local_count(key),
            };
            if count >= (*limit).max(1) && !left.is_zero() {
                let wait = Throttled {
                    key: key.clone(),
                    retry_after: left,
                };
                if worst.as_ref().is_none_or(|w| w.retry_after < left) {
                    worst = Some(wait);
                }
            }
        }
        worst.map_or(Ok(()), Err)
    }

    /// Counts one failure against each of `keys`.
    pub async fn failed(&self, keys: &[String]) {
        for key in keys {
            if !self.redis_incr(key).await {
                self.local_incr(key);
            }
        }
    }

    /// Forgets `key`'s failures (a successful log-in clears its account).
    pub async fn clear(&self, key: &str) {
        if let Some(mut connection) = self.redis.connection() {
            let mut command = redis::cmd("DEL");
            command.arg(self.redis.key(key));
            let deleted: Result<(), _> =
                tokio::time::timeout(REDIS_TIMEOUT, command.query_async(&mut connection))
                    .await
                    .unwrap_or_else(|_| Err(timed_out()));
            if let Err(error) = deleted {
                tracing::warn!(%error, "a limit counter could not be cleared in Redis");
            }
        }
        self.local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// The count and time left of `key` in Redis; `None` when Redis does not answer.
    async fn redis_count(&self, key: &str) -> Option<(u32, Duration)> {
        let mut connection = self.redis.connection()?;
        let key = self.redis.key(key);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&key).cmd("PTTL").arg(&key);
        let query = pipe.query_async::<(Option<u32>, i64)>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, query).await {
            Ok(Ok((count, ttl_ms))) => Some((
                count.unwrap_or(0),
                Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)),
            )),
            Ok(Err(error)) => self.fell_back(&error.to_string()),
            Err(_) => self.fell_back("no answer in time"),
        }
    }

    /// Counts a failure in Redis; `false` when Redis does not answer.
    async fn redis_incr(&self, key: &str) -> bool {
        let Some(mut connection) = self.redis.connection() else {
            self.fallbacks.inc();
            return false;
        };
        let key = self.redis.key(key);
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        // The window starts at the first failure (NX): later failures do not extend it.
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window_ms)
            .arg("NX")
            .ignore();
        let query = pipe.query_async::<()>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, query).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => self.fell_back(&error.to_string()).unwrap_or(false),
            Err(_) => self.fell_back("no answer in time").unwrap_or(false),
        }
    }

    fn fell_back<T>(&self, reason: &str) -> Option<T> {
        self.fallbacks.inc();
        tracing::warn!(
            reason,
            "Redis did not answer a limit check; counting in this process"
        );
        None
    }

    fn local_count(&self, key: &str) -> (u32, Duration) {
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        match local.get(key) {
            Some((count, started)) if started.elapsed() < self.window => {
                (*count, self.window.saturating_sub(started.elapsed()))
            }
            Some(_) => {
                local.remove(key);
                (0, Duration::ZERO)
            }
            None => (0, Duration::ZERO),
        }
    }

    fn local_incr(&self, key: &str) {
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        // Keep the map bounded: drop windows that ended.
        if local.len() > 100_000 {
            let window = self.window;
            local.retain(|_, (_, started)| started.elapsed() < window);
        }
        let entry = local.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

fn timed_out() -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Io, "no answer in time"))
}
