//! The request deadline: `HTTP_REQUEST_TIMEOUT_MS`, or less when the caller sends a shorter
//! budget in `x-request-timeout-ms` (it stops waiting then, so neither should we). The handler
//! runs under [`microshop_telemetry::deadline`], so the calls it makes carry what is left.
//!
//! At the deadline a request is cancelled and answered `503 timeout` ("try again") unless it has
//! started to commit ([`microshop_telemetry::deadline::commit_point`]): then its outcome is
//! waited for and answered as it is, because a commit may land and "try again" would make a
//! careful client do it twice.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use microshop_telemetry::deadline::{self, Deadline};

use crate::ApiError;

/// How long a request that started to commit is waited for past its deadline before it is
/// answered "outcome unknown": a commit that takes this long means the database is in trouble.
const COMMIT_GRACE: Duration = Duration::from_secs(30);

/// Runs the request under its deadline.
pub(crate) async fn enforce(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let budget = request
        .headers()
        .get(deadline::HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(deadline::parse_header)
        .map_or(limit, |budget| budget.min(limit));
    let at = Instant::now() + budget;
    let deadline = Deadline::new(at);
    let watched = deadline.clone();
    let work = deadline.scope(next.run(request));
    tokio::pin!(work);
    tokio::select! {
        response = &mut work => return response,
        () = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
    }
    if !watched.is_committing() {
        tracing::warn!(
            timeout_ms = budget.as_millis(),
            "request cancelled at its deadline"
        );
        return ApiError::unavailable(
            "timeout",
            "the request took too long and was cancelled; nothing was changed, try again",
            1,
        )
        .into_response();
    }
    tracing::warn!(
        timeout_ms = budget.as_millis(),
        "request past its deadline while committing; waiting for the commit"
    );
    if let Ok(response) = tokio::time::timeout(COMMIT_GRACE, work).await {
        return response;
    }
    tracing::error!(
        waited_ms = (budget + COMMIT_GRACE).as_millis(),
        "a commit did not finish; its outcome is unknown"
    );
    ApiError::unavailable(
        "outcome_unknown",
        "the request timed out while its changes were being committed: they may or may not \
         have been saved. Look before repeating it, or repeat it with the same Idempotency-Key",
        1,
    )
    .into_response()
}
