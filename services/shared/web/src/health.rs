//! Health endpoints for Kubernetes probes and people:
//!
//! - `GET /health/live`: 200 while the process runs; touches nothing, so a slow database never
//!   gets a healthy pod restarted;
//! - `GET /health/ready`: 200 when every dependency check passes, 503 otherwise and from the
//!   moment shutdown starts, so load balancers stop sending traffic before the drain;
//! - `GET /health`: the same as ready (what the seed's clients call).
//!
//! Readiness results are kept for a second and computed by one request at a time: every probe
//! of every load balancer, however many, costs the database at most one ping a second, and a
//! flood of probes cannot take the pool's connections from real requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::{BoxFuture, join_all};
use serde_json::json;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// How long a readiness result is reused.
const READY_CACHE: Duration = Duration::from_secs(1);

/// One readiness check: resolves to `Err(reason)` when the dependency is unusable.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The readiness checks of a service and the token that marks shutdown.
#[derive(Clone)]
pub struct Health {
    checks: Arc<Vec<NamedCheck>>,
    shutdown: CancellationToken,
    /// The last results and when they were taken; the lock makes concurrent probes wait for
    /// one run of the checks instead of each running them.
    last: Arc<Mutex<Option<(Instant, Results)>>>,
}

/// The outcome of every check: `(name, critical, result)`.
type Results = Vec<(&'static str, bool, Result<(), String>)>;

struct NamedCheck {
    name: &'static str,
    check: Check,
    /// A failing critical check makes the service not ready; others are only reported.
    critical: bool,
}

impl Health {
    /// No checks yet; readiness turns false once `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            checks: Arc::new(Vec::new()),
            shutdown,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Adds a check that must pass for the service to be ready, e.g. `"database"`.
    #[must_use]
    pub fn with_check<F, Fut>(self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(name, true, check)
    }

    /// Adds a check that is reported but does not affect readiness: a dependency the service
    /// can work without for a while (the broker, behind the outbox).
    #[must_use]
    pub fn with_reported_check<F, Fut>(self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(name, false, check)
    }

    fn push<F, Fut>(mut self, name: &'static str, critical: bool, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let check: Check = Arc::new(move || Box::pin(check()));
        let checks = Arc::get_mut(&mut self.checks)
            .expect("checks are added before the health state is shared");
        checks.push(NamedCheck {
            name,
            check,
            critical,
        });
        self
    }

    /// The results of every check, at most [`READY_CACHE`] old; the checks run concurrently.
    async fn run(&self) -> Results {
        let mut last = self.last.lock().await;
        if let Some((taken, results)) = last.as_ref() {
            if taken.elapsed() < READY_CACHE {
                return results.clone();
            }
        }
        let outcomes = join_all(self.checks.iter().map(|named| (named.check)())).await;
        let results: Results = self
            .checks
            .iter()
            .zip(outcomes)
            .map(|(named, result)| (named.name, named.critical, result))
            .collect();
        *last = Some((Instant::now(), results.clone()));
        results
    }
}

/// The `/health` routes.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/health", get(ready))
        .route("/health/ready", get(ready))
        .route("/health/live", get(live))
        .with_state(health)
}

async fn live() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn ready(State(health): State<Health>) -> Response {
    if health.shutdown.is_cancelled() {
        return not_ready(
            "shutting_down",
            "the service is shutting down",
            &BTreeMap::new(),
        );
    }
    let results = health.run().await;
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, critical, _)| *critical)
        .filter_map(|(name, _, result)| result.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    let checks: BTreeMap<&str, String> = results
        .into_iter()
        .map(|(name, _, result)| (name, result.err().unwrap_or_else(|| "ok".to_owned())))
        .collect();
    if failures.is_empty() {
        axum::Json(json!({"status": "ok", "checks": checks})).into_response()
    } else {
        not_ready("not_ready", &failures.join("; "), &checks)
    }
}

fn not_ready(code: &str, message: &str, checks: &BTreeMap<&str, String>) -> Response {
    let body = json!({
        "status": "unavailable",
        "error": {"code": code, "message": message},
        "checks": checks,
    });
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

impl Health {
    /// The token this health state watches; cancelling it starts the shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}
