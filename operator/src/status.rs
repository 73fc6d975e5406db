//! Conditions in the `metav1.Condition` shape, and what changed between two statuses.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::crd::MicroshopStatus;

/// Every database exists and its Secret holds its URL.
pub const DATABASES_READY: &str = "DatabasesReady";
/// The RabbitMQ topology is declared and the services' AMQP Secret written.
pub const MESSAGING_READY: &str = "MessagingReady";
/// Every Deployment has its desired pods ready.
pub const WORKLOADS_READY: &str = "WorkloadsReady";
/// All of the above.
pub const READY: &str = "Ready";

/// The condition types, in the order they are reported.
pub const TYPES: [&str; 4] = [DATABASES_READY, MESSAGING_READY, WORKLOADS_READY, READY];

/// One condition's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    /// `CamelCase` reason.
    pub reason: String,
    /// What a person should know or do.
    pub message: String,
}

impl State {
    /// `True` with `reason`.
    pub fn ok(reason: &str, message: impl Into<String>) -> Self {
        Self::new("True", reason, message)
    }

    /// `False` with `reason`.
    pub fn failed(reason: &str, message: impl Into<String>) -> Self {
        Self::new("False", reason, message)
    }

    /// `Unknown` with `reason`.
    pub fn unknown(reason: &str, message: impl Into<String>) -> Self {
        Self::new("Unknown", reason, message)
    }

    fn new(status: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    /// Whether the condition is `True`.
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// A condition that moved to a new status (for events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Condition type.
    pub type_: String,
    /// Its new state.
    pub state: State,
}

/// Sets condition `type_` in `conditions` to `state` for `generation`. The transition time
/// moves only when the status does; the returned transition says whether it did.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    state: &State,
    generation: Option<i64>,
) -> Option<Transition> {
    let now = Time(Timestamp::now());
    let existing = conditions.iter_mut().find(|c| c.type_ == type_);
    let moved = existing.as_ref().is_none_or(|c| c.status != state.status);
    let condition = Condition {
        type_: type_.to_owned(),
        status: state.status.to_owned(),
        reason: state.reason.clone(),
        message: state.message.clone(),
        observed_generation: generation,
        last_transition_time: match &existing {
            Some(c) if !moved => c.last_transition_time.clone(),
            _ => now,
        },
    };
    match existing {
        Some(slot) => *slot = condition,
        None => conditions.push(condition),
    }
    moved.then(|| Transition {
        type_: type_.to_owned(),
        state: state.clone(),
    })
}

/// The state of condition `type_` in `status`, if reported.
pub fn get<'a>(status: &'a MicroshopStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        let mut conditions = Vec::new();
        let first = set(
            &mut conditions,
            READY,
            &State::failed("Waiting", "a"),
            Some(1),
        );
        assert!(first.is_some());
        let time = conditions[0].last_transition_time.clone();

        let same = set(
            &mut conditions,
            READY,
            &State::failed("Other", "b"),
            Some(2),
        );
        assert!(same.is_none(), "a new reason is not a transition");
        assert_eq!(conditions[0].last_transition_time, time);
        assert_eq!(conditions[0].reason, "Other");
        assert_eq!(conditions[0].observed_generation, Some(2));

        std::thread::sleep(std::time::Duration::from_millis(2));
        let moved = set(&mut conditions, READY, &State::ok("Ready", "c"), Some(2));
        assert_eq!(moved.map(|t| t.state.status), Some("True"));
        assert_ne!(conditions[0].last_transition_time, time);
        assert_eq!(conditions.len(), 1);
    }
}
