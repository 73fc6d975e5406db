//! Waiting for something that happens asynchronously (a saga step, a queue draining), instead
//! of hand-written polling loops.

use std::time::{Duration, Instant};

/// How long [`eventually`] waits by default: far longer than anything takes when it works.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How often it looks.
const INTERVAL: Duration = Duration::from_millis(25);

/// Waits until `check` is true, for up to [`PATIENCE`]; panics naming `what` otherwise.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    eventually_some(what, async || check().await.then_some(())).await;
}

/// Waits until `produce` gives a value and returns it, for up to [`PATIENCE`].
pub async fn eventually_some<T>(what: &str, produce: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(what, PATIENCE, produce).await
}

/// Waits until `produce` gives a value and returns it, for up to `patience`; panics naming
/// `what` otherwise.
pub async fn eventually_within<T>(
    what: &str,
    patience: Duration,
    mut produce: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = produce().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {patience:?} waiting until {what}"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}
