//! A consecutive-failure circuit breaker. Closed: calls go through and failures are counted.
//! Open: calls fail at once until the cool-down ends. Half-open: one probe goes through; its
//! success closes the breaker, its failure opens it again.

use std::sync::Mutex;
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
    HalfOpen { probing: bool },
}

/// The breaker of one upstream.
#[derive(Debug)]
pub(crate) struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cool_down: Duration,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cool_down,
        }
    }

    /// `Ok` when a call may go out; `Err(wait)` when the breaker is open for `wait` more.
    pub(crate) fn admit(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().expect("breaker lock is never poisoned");
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(until - now);
                }
                *state = State::HalfOpen { probing: true };
                Ok(())
            }
            State::HalfOpen { probing: true } => Err(self.cool_down),
            State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                Ok(())
            }
        }
    }

    /// Records a call's outcome; returns the state after it.
    pub(crate) fn record(&self, success: bool) -> BreakerState {
        let mut state = self.state.lock().expect("breaker lock is never poisoned");
        *state = match (&*state, success) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (_, false) => State::Open {
                until: Instant::now() + self.cool_down,
            },
        };
        Self::public(&state)
    }

    fn public(state: &State) -> BreakerState {
        match state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
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
            breaker.admit().unwrap();
            assert_eq!(breaker.record(false), BreakerState::Closed);
        }
        breaker.admit().unwrap();
        assert_eq!(breaker.record(false), BreakerState::Open);
        assert!(breaker.admit().is_err(), "open: fail fast");

        std::thread::sleep(Duration::from_millis(25));
        breaker.admit().expect("one probe after the cool-down");
        assert!(breaker.admit().is_err(), "only one probe at a time");
        assert_eq!(breaker.record(true), BreakerState::Closed);
        breaker.admit().expect("closed again");
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        breaker.record(false);
        breaker.record(true);
        assert_eq!(breaker.record(false), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_opens_the_breaker_again() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.record(false);
        std::thread::sleep(Duration::from_millis(15));
        breaker.admit().unwrap();
        assert_eq!(breaker.record(false), BreakerState::Open);
        assert!(breaker.admit().is_err());
    }
}
