//! A consecutive-failure circuit breaker. Closed: calls go through and failures are counted.
//! Open: calls fail at once until the cool-down ends. Half-open: one probe goes through; its
//! success closes the breaker, its failure opens it again.
//!
//! Admission hands out a [`Permit`] that records the call's outcome. A probe whose permit is
//! dropped without an outcome (its caller was cancelled: a client disconnect, the caller's own
//! time-out) frees the probe slot on drop, so a lost probe can never leave the breaker refusing
//! every call forever.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What the breaker currently does with calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast.
    Open,
    /// One probe call is in flight or allowed.
    HalfOpen,
}

impl BreakerState {
    /// The value of the `circuit_breaker_state` gauge: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    // The id of the probe in flight: a stale permit (of an earlier probe) must not free the slot
    // of the current one, or two probes could be in flight at once.
    HalfOpen { probe: Option<u64> },
}

#[derive(Debug)]
struct Inner {
    state: State,
    probes: u64,
}

/// The breaker of one upstream.
#[derive(Debug)]
pub(crate) struct Breaker {
    inner: Mutex<Inner>,
    threshold: u32,
    cool_down: Duration,
}

/// The right to make one call. Record its outcome with [`Permit::record`]; dropping it without
/// one counts as neither success nor failure, and frees the probe slot if it was the probe.
#[must_use = "a permit records the call's outcome"]
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    probe: Option<u64>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: State::Closed { failures: 0 },
                probes: 0,
            }),
            threshold: threshold.max(1),
            cool_down,
        }
    }

    /// A permit when a call may go out; `Err(wait)` when the breaker refuses calls for `wait`.
    pub(crate) fn admit(&self) -> Result<Permit<'_>, Duration> {
        let mut inner = self.lock();
        match inner.state {
            State::Closed { .. } => Ok(Permit {
                breaker: self,
                probe: None,
            }),
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(until - now);
                }
                Ok(self.probe(&mut inner))
            }
            State::HalfOpen { probe: Some(_) } => Err(self.cool_down),
            State::HalfOpen { probe: None } => Ok(self.probe(&mut inner)),
        }
    }

    /// The state the gauge shows.
    pub(crate) fn state(&self) -> BreakerState {
        Self::public(&self.lock().state)
    }

    fn probe(&self, inner: &mut Inner) -> Permit<'_> {
        inner.probes += 1;
        inner.state = State::HalfOpen {
            probe: Some(inner.probes),
        };
        Permit {
            breaker: self,
            probe: Some(inner.probes),
        }
    }

    fn record(&self, success: bool) -> BreakerState {
        let mut inner = self.lock();
        inner.state = match (&inner.state, success) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (_, false) => State::Open {
                until: Instant::now() + self.cool_down,
            },
        };
        Self::public(&inner.state)
    }

    /// A probe ended without an outcome: the next call probes. Going back to Open instead would
    /// punish the upstream for the caller's impatience, and repeated cancellations could keep a
    /// healthy upstream shunned indefinitely; one probe at a time still bounds the load on a
    /// dead one.
    fn release(&self, probe: u64) {
        let mut inner = self.lock();
        if matches!(inner.state, State::HalfOpen { probe: Some(current) } if current == probe) {
            inner.state = State::HalfOpen { probe: None };
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section only assigns whole values, so a panic elsewhere cannot leave the
        // state half-written: recovering from poison is sound, and `Permit::drop` must not panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn public(state: &State) -> BreakerState {
        match state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

impl Permit<'_> {
    /// Whether this call is the half-open breaker's probe.
    pub(crate) fn is_probe(&self) -> bool {
        self.probe.is_some()
    }

    /// Records the call's outcome; returns the state after it.
    pub(crate) fn record(mut self, success: bool) -> BreakerState {
        self.probe = None;
        self.breaker.record(success)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(probe) = self.probe.take() {
            self.breaker.release(probe);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_once_after_the_cool_down() {
        let breaker = Breaker::new(3, Duration::from_millis(20));
        for _ in 0..2 {
            assert_eq!(breaker.admit().unwrap().record(false), BreakerState::Closed);
        }
        assert_eq!(breaker.admit().unwrap().record(false), BreakerState::Open);
        assert!(breaker.admit().is_err(), "open: fail fast");

        std::thread::sleep(Duration::from_millis(25));
        let probe = breaker.admit().expect("one probe after the cool-down");
        assert!(probe.is_probe());
        assert!(breaker.admit().is_err(), "only one probe at a time");
        assert_eq!(probe.record(true), BreakerState::Closed);
        assert!(!breaker.admit().expect("closed again").is_probe());
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        breaker.admit().unwrap().record(false);
        breaker.admit().unwrap().record(true);
        assert_eq!(breaker.admit().unwrap().record(false), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_opens_the_breaker_again() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.admit().unwrap().record(false);
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(breaker.admit().unwrap().record(false), BreakerState::Open);
        assert!(breaker.admit().is_err());
    }

    #[test]
    fn a_probe_dropped_without_an_outcome_lets_the_next_call_probe() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.admit().unwrap().record(false);
        std::thread::sleep(Duration::from_millis(15));
        let probe = breaker.admit().expect("the probe");
        assert!(breaker.admit().is_err(), "the probe is in flight");
        drop(probe);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let next = breaker
            .admit()
            .expect("the slot is free again, without a new cool-down");
        assert!(next.is_probe());
        assert_eq!(next.record(true), BreakerState::Closed);
    }

    #[test]
    fn a_stale_probe_permit_does_not_free_the_current_probe_slot() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.admit().unwrap().record(false);
        std::thread::sleep(Duration::from_millis(15));
        let stale = breaker.admit().expect("first probe");
        // A call admitted while closed fails late and reopens the breaker.
        breaker.record(false);
        std::thread::sleep(Duration::from_millis(15));
        let current = breaker.admit().expect("second probe");
        drop(stale);
        assert!(breaker.admit().is_err(), "still one probe at a time");
        drop(current);
        assert!(breaker.admit().is_ok());
    }

    #[test]
    fn a_permit_dropped_while_closed_counts_as_nothing() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        breaker.admit().unwrap().record(false);
        drop(breaker.admit().unwrap());
        let next = breaker.admit().expect("the dropped call was not a failure");
        assert_eq!(
            next.record(false),
            BreakerState::Open,
            "nor a success: the earlier failure still counts"
        );
    }
}
