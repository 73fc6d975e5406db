//! Webhook delivery (`docs/payments.md`, Webhooks): every event is sent (POST) to `WEBHOOK_URL`,
//! signed anew at each attempt (`microshop-webhook`), until a 2xx answer; failed attempts are
//! retried with exponential backoff and jitter, up to `WEBHOOK_MAX_ATTEMPTS`, then given up.
//!
//! One background task ([`Webhooks::run`]) watches the queue of due attempts and starts each
//! as its own task (at most [`MAX_CONCURRENT_ATTEMPTS`] at once), so one failing or slow event
//! never holds the others back. The test controls add copies of each event, hold events back,
//! and release them in order.

mod ledger;
mod send;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::{Event, ReleaseOrder};
use crate::metrics::SandboxMetrics;

pub use ledger::Record;
use ledger::{Job, Ledger};

/// Delivery attempts in flight at once; further due attempts wait for one to end.
pub const MAX_CONCURRENT_ATTEMPTS: usize = 64;

/// When failed attempts are tried again.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Wait after the first failed attempt; doubled after each further one.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Attempts per copy of an event, the first included.
    pub max_attempts: u32,
}

impl Retry {
    /// The wait after `attempts` failed attempts: `base * 2^(attempts-1)`, at most `max`,
    /// jittered by ±25 % (and still at most `max`) so that retries of many events spread out.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        let nominal = self.base.saturating_mul(1 << doublings).min(self.max);
        let millis = u64::try_from(nominal.as_millis()).unwrap_or(u64::MAX / 2);
        let spread = millis / 2;
        let random = uuid::Uuid::new_v4().as_u64_pair().0;
        let jittered = millis - millis / 4 + random % (spread + 1);
        Duration::from_millis(jittered).min(self.max)
    }
}

/// Where and how events are sent.
pub struct Target {
    /// `WEBHOOK_URL`.
    pub url: String,
    /// `WEBHOOK_SECRET`.
    pub secret: SecretString,
    /// How long one attempt may wait for its answer.
    pub timeout: Duration,
}

/// How one event is delivered, from the test settings when it is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Copies of the event, each delivered (and retried) on its own.
    pub copies: u32,
    /// Held until released instead of sent.
    pub hold: bool,
}

/// The deliverer; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Mutex<Ledger>,
    /// Rung when an attempt is queued, so the loop recomputes its next wake-up.
    wake: Notify,
    client: reqwest::Client,
    target: Target,
    retry: Retry,
    metrics: SandboxMetrics,
    permits: Arc<Semaphore>,
    /// Every attempt in flight, waited for at shutdown.
    tasks: TaskTracker,
}

impl Inner {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `jobs` and wakes the loop.
    fn queue(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut ledger = self.ledger();
        for job in jobs {
            ledger.schedule(job);
        }
        drop(ledger);
        self.wake.notify_one();
    }
}

impl Webhooks {
    /// A deliverer to `target` keeping at most `capacity` finished events for
    /// [`deliveries`](Self::deliveries).
    pub fn new(
        target: Target,
        retry: Retry,
        capacity: usize,
        metrics: SandboxMetrics,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(target.timeout)
            // A receiver that moved answers 3xx: a failed attempt, as with real providers.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("microshop-payment-sandbox")
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                ledger: Mutex::new(Ledger::new(capacity)),
                wake: Notify::new(),
                client,
                target,
                retry,
                metrics,
                permits: Arc::new(Semaphore::new(MAX_CONCURRENT_ATTEMPTS)),
                tasks: TaskTracker::new(),
            }),
        })
    }

    /// Queues `event` for delivery (or holds it).
    pub fn send(&self, event: Event, policy: Policy) {
        let jobs = self.inner.ledger().add(event, policy.copies, policy.hold);
        self.inner.queue(jobs);
    }

    /// Makes the first attempt of each copy of `event` now, one after the other, and returns
    /// once they are answered (failures are queued for retry as usual). A held event returns at
    /// once. The attempts run as tasks of their own: a caller that gives up waiting does not
    /// cancel them.
    pub async fn send_now(&self, event: Event, policy: Policy) {
        let jobs = self.inner.ledger().add(event, policy.copies, policy.hold);
        for job in jobs {
            let inner = Arc::clone(&self.inner);
            // A panicked attempt has been logged by the runtime; the next copy still goes.
            let _ = self.inner.tasks.spawn(inner.attempt(job)).await;
        }
    }

    /// Releases the held events: their first attempts are made one after the other in
    /// `order`, in the background; the number of events released.
    pub fn release(&self, order: ReleaseOrder) -> usize {
        let (released, jobs) = self.inner.ledger().release(order);
        if jobs.is_empty() {
            return released;
        }
        let inner = Arc::clone(&self.inner);
        self.inner.tasks.spawn(async move {
            for job in jobs {
                Arc::clone(&inner).attempt(job).await;
            }
        });
        released
    }

    /// Every event kept, in the order raised.
    pub fn deliveries(&self) -> Vec<Record> {
        self.inner.ledger().records()
    }

    /// Starts the attempts as they fall due, until `shutdown`; then waits (at most one attempt
    /// timeout) for those in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        let inner = self.inner;
        'serving: loop {
            let (ready, next) = inner.ledger().due(std::time::Instant::now());
            for job in ready {
                let permit = tokio::select! {
                    permit = Arc::clone(&inner.permits).acquire_owned() => {
                        permit.expect("the semaphore is never closed")
                    }
                    () = shutdown.cancelled() => break 'serving,
                };
                let attempt = Arc::clone(&inner).attempt(job);
                inner.tasks.spawn(async move {
                    attempt.await;
                    drop(permit);
                });
            }
            let sleep = async {
                match next {
                    Some(due) => tokio::time::sleep_until(due.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = inner.wake.notified() => {}
                () = sleep => {}
            }
        }
        inner.tasks.close();
        let patience = inner.target.timeout + Duration::from_secs(1);
        if tokio::time::timeout(patience, inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("webhook attempts still running at shutdown were dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_the_base_up_to_the_max_jittered_by_a_quarter() {
        let retry = Retry {
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
            max_attempts: 20,
        };
        for _ in 0..100 {
            let first = retry.delay(1).as_millis();
            assert!((375..=625).contains(&first), "{first}");
            let third = retry.delay(3).as_millis();
            assert!((1_500..=2_500).contains(&third), "{third}");
            let late = retry.delay(19).as_millis();
            assert!((45_000..=60_000).contains(&late), "{late}");
            assert!(retry.delay(u32::MAX) <= Duration::from_secs(60));
        }
    }
}
