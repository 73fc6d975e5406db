//! Request rate limits (GCRA, the generic cell rate algorithm): a key may make `burst` requests
//! at once and then one every `interval`. The state of a key is one number, its theoretical
//! arrival time (TAT), kept in Redis and updated by one Lua script, so every replica of a service
//! shares the limit and a check is one atomic round trip. The key expires when its burst is
//! whole again. While Redis does not answer, the same algorithm runs in this process
//! (`rate_limiter_fallback_total` counts those checks): the limits then hold per process.
//!
//! # Leases
//! A busy key does not cost a round trip per request: a check that goes to Redis asks for a
//! lease of up to a tenth of the burst (at most 100 cells, at least 1) and the process spends the
//! rest of it on the key's next requests within a second. Leased cells are counted in Redis when
//! they are granted, so the replicas together never allow more than the limit; a lease left
//! unspent (the caller went quiet) is a few requests the caller does not get, never more. Keys
//! with small bursts (sign-in: 10) lease one cell, i.e. every request asks Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, Opts, Registry};

use crate::{REDIS_TIMEOUT, Redis};

/// The script of one check. KEYS[1]: the key; ARGV[1]: the interval in ms; ARGV[2]: the
/// capacity in ms (interval × burst); ARGV[3]: the cells wanted (a lease). Grants as many as fit,
/// at least one, or none. Answers `{granted, retry_after_ms, ahead_ms}` where `ahead_ms` is how
/// far the key's TAT is ahead of now after the check. Redis' own clock, so replicas with skewed
/// clocks agree.
const SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local room = math.floor((capacity - (tat - now)) / interval)
if room < 1 then
  return {0, tat + interval - now - capacity, tat - now}
end
local granted = math.min(wanted, room)
local ahead = tat + granted * interval - now
redis.call('SET', KEYS[1], tat + granted * interval, 'PX', ahead)
return {granted, 0, ahead}
";

/// How long a process may spend the rest of a lease.
const LEASE_LIFETIME: Duration = Duration::from_secs(1);

/// How often a key may be used: `burst` at once, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time between two requests once the burst is spent.
    pub interval: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Rate {
    /// `per_second` requests a second (fractions allowed: 0.5 is one every two seconds; at most
    /// one per millisecond is told apart), `burst` at once (at least 1).
    pub fn per_second(per_second: f64, burst: u32) -> Self {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / per_second).unwrap_or(Duration::MAX)
        } else {
            Duration::MAX
        };
        Self {
            interval: interval.max(Duration::from_millis(1)),
            burst: burst.max(1),
        }
    }

    /// `per_minute` requests a minute, `burst` at once (both at least 1).
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs(60) / per_minute.max(1),
            burst: burst.max(1),
        }
    }

    fn interval_ms(self) -> u64 {
        u64::try_from(self.interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn capacity_ms(self) -> u64 {
        self.interval_ms().saturating_mul(u64::from(self.burst))
    }

    /// Cells a check asks Redis for: a tenth of the burst, 1 to 100.
    fn lease(self) -> u32 {
        (self.burst / 10).clamp(1, 100)
    }

    /// The time in which a spent burst is whole again.
    pub fn window(self) -> Duration {
        Duration::from_millis(self.capacity_ms())
    }
}

/// The answer of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// Requests the key could still make at once.
    pub remaining: u32,
    /// When a refused request may be made again (zero when allowed).
    pub retry_after: Duration,
    /// When the key's burst is whole again.
    pub reset: Duration,
}

impl Decision {
    fn with_remaining(self, remaining: u32) -> Self {
        Self { remaining, ..self }
    }

    fn new(rate: Rate, allowed: bool, retry_after_ms: u64, ahead_ms: u64) -> Self {
        let left = rate.capacity_ms().saturating_sub(ahead_ms) / rate.interval_ms();
        Self {
            allowed,
            remaining: if allowed {
                u32::try_from(left).unwrap_or(u32::MAX)
            } else {
                0
            },
            retry_after: Duration::from_millis(retry_after_ms),
            reset: Duration::from_millis(ahead_ms),
        }
    }
}

/// One GCRA step at `now` (ms) for a key whose TAT is `tat`: the decision and the new TAT when
/// the request is allowed. The in-process twin of [`SCRIPT`].
fn step(rate: Rate, tat: Option<u64>, now: u64) -> (Decision, Option<u64>) {
    let tat = tat.unwrap_or(now).max(now);
    let ahead = tat + rate.interval_ms() - now;
    if ahead > rate.capacity_ms() {
        let retry_after = ahead - rate.capacity_ms();
        (Decision::new(rate, false, retry_after, tat - now), None)
    } else {
        (
            Decision::new(rate, true, 0, ahead),
            Some(tat + rate.interval_ms()),
        )
    }
}

/// Rate limits shared through Redis, in-process while Redis does not answer.
#[derive(Clone)]
pub struct RateLimiter {
    redis: Redis,
    script: Arc<redis::Script>,
    leases: Arc<Mutex<HashMap<String, Lease>>>,
    local: Arc<Mutex<Local>>,
    fallbacks: IntCounter,
}

struct Local {
    epoch: Instant,
    /// The in-process limits while Redis does not answer.
    tats: HashMap<String, u64>,
    warned: Option<Instant>,
}

/// Cells of a key granted by Redis and not spent yet.
struct Lease {
    cells: u32,
    /// What Redis said was left besides the lease, for the `remaining` of the decisions.
    remaining: u32,
    reset: Duration,
    expires: Instant,
}

impl RateLimiter {
    /// Limits on `redis`, counting `rate_limiter_fallback_total` on `registry`.
    pub fn new(redis: Redis, registry: &Registry) -> Result<Self, prometheus::Error> {
        let fallbacks = IntCounter::with_opts(Opts::new(
            "rate_limiter_fallback_total",
            "Rate-limit checks answered in this process because Redis did not answer.",
        ))?;
        registry.register(Box::new(fallbacks.clone()))?;
        Ok(Self {
            redis,
            script: Arc::new(redis::Script::new(SCRIPT)),
            leases: Arc::default(),
            local: Arc::new(Mutex::new(Local {
                epoch: Instant::now(),
                tats: HashMap::new(),
                warned: None,
            })),
            fallbacks,
        })
    }

    /// One request of `key` (under the service's Redis prefix) at `rate`.
    pub async fn check(&self, key: &str, rate: Rate) -> Decision {
        let key = self.redis.key(key);
        if let Some(decision) = self.spend_lease(&key) {
            return decision;
        }
        match self.shared(&key, rate).await {
            Ok(decision) => decision,
            Err(reason) => self.in_process(&key, rate, &reason),
        }
    }

    /// A cell of the key's lease, when it has one left.
    fn spend_lease(&self, key: &str) -> Option<Decision> {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        let lease = leases.get_mut(key)?;
        if lease.cells == 0 || lease.expires <= Instant::now() {
            leases.remove(key);
            return None;
        }
        lease.cells -= 1;
        Some(Decision {
            allowed: true,
            remaining: lease.remaining.saturating_add(lease.cells),
            retry_after: Duration::ZERO,
            reset: lease.reset,
        })
    }

    /// Asks Redis for a lease; the decision of this request, the rest kept for the next ones.
    async fn shared(&self, key: &str, rate: Rate) -> Result<Decision, String> {
        let mut connection = self
            .redis
            .connection()
            .ok_or_else(|| "not connected".to_owned())?;
        let mut invocation = self.script.key(key);
        invocation
            .arg(rate.interval_ms())
            .arg(rate.capacity_ms())
            .arg(rate.lease());
        let query = invocation.invoke_async::<(u32, u64, u64)>(&mut connection);
        let (granted, retry_after, ahead) = match tokio::time::timeout(REDIS_TIMEOUT, query).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => return Err(error.to_string()),
            Err(_) => return Err("no answer in time".to_owned()),
        };
        let decision = Decision::new(rate, granted > 0, retry_after, ahead);
        if granted > 1 {
            self.keep_lease(key, granted - 1, &decision);
        }
        Ok(decision.with_remaining(decision.remaining.saturating_add(granted.saturating_sub(1))))
    }

    fn keep_lease(&self, key: &str, cells: u32, decision: &Decision) {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        // Keep the map bounded: leases expire within a second.
        if leases.len() > 100_000 {
            leases.retain(|_, lease| lease.expires > now);
        }
        let lease = leases.entry(key.to_owned()).or_insert(Lease {
            cells: 0,
            remaining: 0,
            reset: Duration::ZERO,
            expires: now,
        });
        // Two checks that asked at once both keep what they were granted.
        lease.cells = lease.cells.saturating_add(cells);
        lease.remaining = decision.remaining;
        lease.reset = decision.reset;
        lease.expires = now + LEASE_LIFETIME;
    }

    fn in_process(&self, key: &str, rate: Rate, reason: &str) -> Decision {
        self.fallbacks.inc();
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        // One warning every ten seconds: a Redis outage must not flood the log.
        if local
            .warned
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10))
        {
            local.warned = Some(Instant::now());
            tracing::warn!(
                reason,
                "Redis did not answer a rate-limit check; limiting in this process meanwhile"
            );
        }
        let now = u64::try_from(local.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Keep the map bounded: keys whose burst is whole again carry no state.
        if local.tats.len() > 100_000 {
            local.tats.retain(|_, tat| *tat > now);
        }
        let (decision, tat) = step(rate, local.tats.get(key).copied(), now);
        if let Some(tat) = tat {
            local.tats.insert(key.to_owned(), tat);
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let rate = Rate::per_second(10.0, 3); // 100 ms apart, 3 at once
        let mut tat = None;
        for expected_left in [2, 1, 0] {
            let (decision, next) = step(rate, tat, 1_000);
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_left);
            tat = next;
        }
        let (refused, next) = step(rate, tat, 1_000);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_millis(100));
        assert_eq!(refused.reset, Duration::from_millis(300));
        assert_eq!(next, None, "a refusal costs nothing");
        // After the retry-after, one more.
        let (again, _) = step(rate, tat, 1_100);
        assert!(again.allowed);
        assert_eq!(again.remaining, 0);
        // After the whole window, the whole burst.
        let (later, _) = step(rate, tat, 1_300);
        assert_eq!(later.remaining, 2);
    }
}
