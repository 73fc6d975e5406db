//! The deadline of the work at hand, carried from an HTTP request through the calls it makes, so
//! an upstream stops working on an answer nobody waits for any more.
//!
//! Like the trace context ([`crate::trace`]), the deadline lives in a task-local ([`scope`],
//! [`remaining`]): the HTTP server sets it per request from [`HEADER`], and the HTTP client reads
//! it, bounds its own deadline by it and sends what is left on every call. On the wire the budget
//! is a relative time in whole milliseconds, not a wall-clock instant, so the two sides' clocks
//! need not agree; the time a request spends on the network is simply not subtracted.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

tokio::task_local! {
    static CURRENT: Deadline;
}

/// The request header carrying the caller's remaining budget in whole milliseconds.
pub const HEADER: &str = "x-request-timeout-ms";

/// The longest value [`parse_header`] accepts, in digits. gRPC bounds its `grpc-timeout` the same
/// way: 8 digits (a little over a day) is more than any request needs, and a longer run of digits
/// is a broken or hostile caller, not a budget.
const MAX_DIGITS: usize = 8;

/// The largest budget [`header_value`] writes, so whatever it writes [`parse_header`] reads back.
const MAX_MILLIS: u128 = 99_999_999;

/// A deadline, and whether the work under it has passed its point of no return.
///
/// Work that is cut off at its deadline is answered "try again". That answer is a lie once the
/// work has started to commit: the commit may land, and a retry would do it twice. So a commit
/// marks the work ([`commit_point`]) and whoever enforces the deadline (the HTTP server) waits
/// for marked work instead of cutting it off.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    committing: Arc<AtomicBool>,
}

impl Deadline {
    /// A deadline at `at`, nothing committed yet.
    pub fn new(at: Instant) -> Self {
        Self {
            at,
            committing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// When it is.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Whether the work under it reached [`commit_point`].
    pub fn is_committing(&self) -> bool {
        self.committing.load(Ordering::Acquire)
    }

    /// Runs `work` under this deadline (a clone of it watches the same commit mark).
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

/// Runs `work` with `deadline` as the current deadline. A nested scope replaces the outer one for
/// its duration; to only ever shorten it, pass `min` of [`current`] and the new deadline.
pub async fn scope<F: Future>(deadline: Instant, work: F) -> F::Output {
    Deadline::new(deadline).scope(work).await
}

/// The deadline of the work at hand, if one was set.
pub fn current() -> Option<Instant> {
    CURRENT.try_with(Deadline::at).ok()
}

/// What is left of the current deadline: `None` without one, zero once it has passed.
pub fn remaining() -> Option<Duration> {
    current().map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

/// Marks the work at hand as past its point of no return (a commit is about to start): from now
/// on its outcome is waited for, even past its deadline. Does nothing outside a scope.
pub fn commit_point() {
    let _ = CURRENT.try_with(|deadline| deadline.committing.store(true, Ordering::Release));
}

/// Reads a [`HEADER`] value: one to eight ASCII digits, nothing else (no sign, no spaces, no
/// unit). `None` for anything else, so a garbled header means "no deadline from the caller"
/// rather than an arbitrary one.
pub fn parse_header(value: &str) -> Option<Duration> {
    if value.is_empty() || value.len() > MAX_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().map(Duration::from_millis)
}

/// The [`HEADER`] value for `budget`: whole milliseconds rounded down (never promise the upstream
/// more time than we will wait), capped so that [`parse_header`] accepts it.
pub fn header_value(budget: Duration) -> String {
    budget.as_millis().min(MAX_MILLIS).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_parse_as_milliseconds() {
        assert_eq!(parse_header("0"), Some(Duration::ZERO));
        assert_eq!(parse_header("250"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_header("99999999"),
            Some(Duration::from_millis(99_999_999))
        );
    }

    #[test]
    fn anything_but_a_short_run_of_digits_is_refused() {
        for bad in [
            "",
            " ",
            " 250",
            "250 ",
            "+250",
            "-1",
            "1.5",
            "1e3",
            "250ms",
            "0x10",
            "abc",
            "٢٥٠",
            "100000000",
        ] {
            assert_eq!(parse_header(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn the_header_value_rounds_down_and_always_parses_back() {
        assert_eq!(header_value(Duration::from_micros(299_999)), "299");
        assert_eq!(header_value(Duration::ZERO), "0");
        let huge = header_value(Duration::from_secs(10_000_000));
        assert_eq!(parse_header(&huge), Some(Duration::from_millis(99_999_999)));
    }

    #[tokio::test]
    async fn the_scope_sets_the_current_deadline() {
        assert_eq!(remaining(), None, "no deadline outside a scope");
        let deadline = Instant::now() + Duration::from_millis(300);
        let left = scope(deadline, async { remaining() })
            .await
            .expect("a deadline inside the scope");
        assert!(left <= Duration::from_millis(300), "{left:?}");
        assert!(left > Duration::from_millis(200), "{left:?}");
        assert_eq!(scope(deadline, async { current() }).await, Some(deadline));
        assert_eq!(remaining(), None, "the scope ends with its future");
    }

    #[tokio::test]
    async fn a_passed_deadline_leaves_nothing() {
        let passed = Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            scope(passed, async { remaining() }).await,
            Some(Duration::ZERO)
        );
    }

    #[tokio::test]
    async fn a_commit_point_marks_the_deadline_its_work_runs_under() {
        commit_point(); // outside a scope: nothing to mark, and no panic
        let deadline = Deadline::new(Instant::now() + Duration::from_secs(1));
        let watched = deadline.clone();
        assert!(!watched.is_committing());
        deadline.scope(async { commit_point() }).await;
        assert!(watched.is_committing());
    }

    #[tokio::test]
    async fn a_nested_scope_replaces_the_outer_deadline_for_its_duration() {
        let outer = Instant::now() + Duration::from_secs(10);
        let inner = Instant::now() + Duration::from_secs(1);
        let seen = scope(outer, async {
            let nested = scope(inner, async { current() }).await;
            (nested, current())
        })
        .await;
        assert_eq!(seen, (Some(inner), Some(outer)));
    }
}
