//! Whether the operator's view of the cluster is current: its watches report errors here, and
//! `/health` turns unhealthy once one has failed without a break for too long (a missing RBAC
//! rule, a deleted CRD), so Kubernetes restarts the pod and the failure is visible.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;

/// Errors further apart than this are separate incidents: the watcher retries a failing
/// request with a backoff of at most 30 s (plus jitter), so a watch that stays broken reports
/// an error at least this often.
const SAME_INCIDENT: Duration = Duration::from_secs(45);

/// The watches' state.
pub struct Health {
    metrics: Metrics,
    unhealthy_after: Duration,
    failing: Mutex<BTreeMap<&'static str, Streak>>,
}

/// Consecutive errors of one watch.
struct Streak {
    since: Instant,
    last: Instant,
    error: String,
}

impl Health {
    /// A watch failing for `unhealthy_after` makes the operator unhealthy.
    pub fn new(metrics: Metrics, unhealthy_after: Duration) -> Self {
        Self {
            metrics,
            unhealthy_after,
            failing: Mutex::default(),
        }
    }

    fn failing(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Streak>> {
        self.failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The watch of `resource` delivered something: it works.
    pub fn ok(&self, resource: &'static str) {
        if let Some(streak) = self.failing().remove(resource) {
            tracing::info!(
                resource,
                after_seconds = streak.since.elapsed().as_secs(),
                "watching {resource} works again"
            );
        }
    }

    /// The watch of `resource` failed with `error` (it retries by itself).
    pub fn error(&self, resource: &'static str, error: &dyn std::fmt::Display) {
        self.metrics.watch_error(resource);
        let now = Instant::now();
        let mut failing = self.failing();
        let streak = failing.entry(resource).or_insert_with(|| Streak {
            since: now,
            last: now,
            error: String::new(),
        });
        if now.duration_since(streak.last) > SAME_INCIDENT {
            streak.since = now;
        }
        streak.last = now;
        streak.error = error.to_string();
        let seconds = now.duration_since(streak.since).as_secs();
        if now.duration_since(streak.since) >= self.unhealthy_after {
            tracing::error!(resource, failing_for_seconds = seconds, %error, "watching {resource} keeps failing: the operator does not see changes and reports itself unhealthy; check its RBAC rules and that the CRD is installed");
        } else {
            tracing::warn!(resource, failing_for_seconds = seconds, %error, "watching {resource} failed; retrying");
        }
    }

    /// Why the operator is unhealthy, if it is: a watch that has failed for longer than
    /// allowed and is still failing.
    pub fn problem(&self) -> Option<String> {
        let now = Instant::now();
        self.failing()
            .iter()
            .filter(|(_, streak)| {
                now.duration_since(streak.last) <= SAME_INCIDENT
                    && now.duration_since(streak.since) >= self.unhealthy_after
            })
            .map(|(resource, streak)| {
                format!(
                    "watching {resource} has failed for {} s: {}",
                    now.duration_since(streak.since).as_secs(),
                    streak.error
                )
            })
            .reduce(|a, b| format!("{a}; {b}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_failing_longer_than_allowed_is_a_problem_until_it_works() {
        let health = Health::new(Metrics::new(), Duration::ZERO);
        assert_eq!(health.problem(), None);
        health.error("microshops", &"403 Forbidden");
        let problem = health.problem().expect("unhealthy");
        assert!(
            problem.contains("microshops") && problem.contains("403"),
            "{problem}"
        );
        health.ok("microshops");
        assert_eq!(health.problem(), None);
    }

    #[test]
    fn a_short_failure_is_not_a_problem_but_is_counted() {
        let metrics = Metrics::new();
        let health = Health::new(metrics.clone(), Duration::from_secs(60));
        health.error("secrets", &"connection refused");
        assert_eq!(health.problem(), None);
        assert!(
            metrics
                .render()
                .contains("microshop_operator_watch_errors_total{resource=\"secrets\"} 1")
        );
    }
}
