//! The HTTP server every service runs: the middleware stack (request id, tracing, metrics, JSON
//! errors, panic catching, the request deadline, body limit), the shared endpoints (`/health*`,
//! `/metrics`, `/openapi.json`), binding, supervised background tasks, and the shutdown of a
//! rolling update: readiness 503 first while requests are still served for a drain delay, then
//! no new connections, then the requests in flight finish within a deadline.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use microshop_telemetry::trace::{self, TraceContext};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa_axum::router::OpenApiRouter;

use crate::deadline;
use crate::health::{self, Health};
use crate::metrics::{self, Metrics};
use crate::serve::{Connections, Limits};
use crate::supervise::Supervision;
use crate::{ApiError, error};

/// Largest request body accepted (DESIGN §4).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Server settings shared by every service; the port is per service.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerConfig {
    /// Address to listen on; `0.0.0.0` in containers.
    #[arg(long = "http-host", env = "HTTP_HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,
    /// A request still running after this long is answered 503 and cancelled.
    #[arg(long, env = "HTTP_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// After SIGTERM, readiness is 503 but requests are still served this long, so that load
    /// balancers stop sending new ones before the listener closes (Kubernetes takes a few
    /// seconds to take a terminating pod out of its Service).
    #[arg(long, env = "SHUTDOWN_DRAIN_DELAY_MS", default_value_t = 5_000)]
    pub shutdown_drain_delay_ms: u64,
    /// Once the listener is closed, in-flight requests get this long to finish before their
    /// connections are dropped.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_MS", default_value_t = 20_000)]
    pub shutdown_timeout_ms: u64,
    /// A client must send a whole request head within this long of connecting or of its last
    /// response (slow or idle clients are disconnected).
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// Open connections at most; further ones wait in the listen backlog until one closes.
    #[arg(id = "http_max_connections", long = "http-max-connections", env = "HTTP_MAX_CONNECTIONS", default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// API requests handled at once; more are answered 503 with `Retry-After` at once instead
    /// of queueing, so an overload costs clients a retry, not seconds of latency, and the
    /// service's memory stays bounded. Health and metrics are never refused.
    #[arg(long, env = "HTTP_MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The port is taken or not allowed.
    #[error(
        "cannot listen on {addr}: {source} (is another instance running? `make down` stops the local ones)"
    )]
    Bind {
        /// Where we tried to listen.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Serving failed after start.
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A bound, ready-to-run HTTP server.
pub struct HttpServer {
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    config: ServerConfig,
    background: TaskTracker,
    supervision: Supervision,
}

impl HttpServer {
    /// Builds the full application around `api` and binds `config.host:port` (port 0 picks a
    /// free one, as tests do).
    pub async fn bind(
        service: &'static str,
        config: &ServerConfig,
        port: u16,
        api: OpenApiRouter,
        health: Health,
        metrics: Metrics,
    ) -> Result<Self, ServerError> {
        let addr = SocketAddr::new(config.host, port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let shutdown = health.shutdown_token();
        let supervision = Supervision::register(metrics.registry())
            .expect("a service registers the supervision metric once");
        let checked = supervision.clone();
        let health = health.with_reported_check("background_tasks", move || {
            let result = checked.check();
            async move { result }
        });
        let router = app(service, config, api, health, metrics);
        Ok(Self {
            listener,
            router,
            shutdown,
            config: config.clone(),
            background: TaskTracker::new(),
            supervision,
        })
    }

    /// Runs the task `start` makes (a consumer, a relay, a watcher) beside the server, and
    /// starts it again if it panics (see [`crate::supervise`]). Tasks watch
    /// [`shutdown_token`](Self::shutdown_token) themselves; [`run`](Self::run) returns only
    /// after every task has finished, so in-flight messages are settled before the process exits.
    pub fn spawn_supervised<F, Fut>(&self, task: &'static str, start: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let supervision = self.supervision.clone();
        self.background
            .spawn(supervision.run(task, start, self.shutdown.clone()));
    }

    /// The bound address (tests read the port from here).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// The token whose cancellation starts the graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled; then keeps serving (readiness already 503)
    /// for the drain delay, closes the listener, and lets in-flight requests finish for at most
    /// the shutdown timeout.
    pub async fn run(self) -> Result<(), ServerError> {
        let Self {
            listener,
            router,
            shutdown,
            config,
            background,
            supervision: _,
        } = self;
        tracing::info!(addr = %listener.local_addr().map_err(ServerError::Serve)?, "listening");
        let limits = Limits {
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
            max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        };
        let connections = Connections::new();
        {
            let stop_accepting = CancellationToken::new();
            let accepting = connections.accept(listener, router, limits, stop_accepting.clone());
            tokio::pin!(accepting);
            tokio::select! {
                () = &mut accepting => {}
                () = shutdown.cancelled() => {}
            }
            let drain = Duration::from_millis(config.shutdown_drain_delay_ms);
            if !drain.is_zero() {
                tracing::info!(
                    drain_ms = drain.as_millis(),
                    "readiness is 503; still serving while load balancers stop sending requests"
                );
                tokio::select! {
                    () = &mut accepting => {}
                    () = tokio::time::sleep(drain) => {}
                }
            }
            stop_accepting.cancel();
            accepting.await;
        }
        tracing::info!("listener closed; finishing the requests in flight");
        let finish = Duration::from_millis(config.shutdown_timeout_ms);
        if tokio::time::timeout(finish, connections.close())
            .await
            .is_err()
        {
            tracing::warn!(
                drain_ms = finish.as_millis(),
                "requests still running at the shutdown deadline were dropped"
            );
        }
        tracing::info!("HTTP server stopped");
        background.close();
        if !background.is_empty() {
            tracing::info!(
                tasks = background.len(),
                "waiting for background tasks to finish"
            );
        }
        background.wait().await;
        Ok(())
    }
}

/// The full router: `api` plus the shared endpoints, wrapped in the shared middleware.
pub fn app(
    service: &'static str,
    config: &ServerConfig,
    api: OpenApiRouter,
    health: Health,
    metrics: Metrics,
) -> Router {
    let (api, mut openapi) = api.split_for_parts();
    crate::openapi::complete(&mut openapi);
    let openapi_json = Bytes::from(
        openapi
            .to_pretty_json()
            .expect("an OpenAPI document built from types serializes"),
    );
    Router::new()
        .merge(api)
        .merge(health::router(health))
        .merge(metrics::router(metrics.clone()))
        .route(
            "/openapi.json",
            get(move || {
                let body = openapi_json.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        body,
                    )
                }
            }),
        )
        .fallback(no_route)
        // Innermost first: each `layer` call wraps everything above it. Separate calls (rather
        // than one `ServiceBuilder`) let axum re-box the body types between tower-http layers.
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_millis(config.request_timeout_ms),
            deadline::enforce,
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::map_response(error::json_errors))
        // Every body is data of the type it says (JSON, text): never sniffed into HTML.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Inside the metrics: refused requests count as the 503s they are.
        .layer(axum::middleware::from_fn_with_state(
            InFlight::new(config.max_in_flight),
            shed_load,
        ))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| {
                    request
                        .extensions()
                        .get::<RequestTrace>()
                        .map_or_else(|| request_span(service, request, None), |t| t.span.clone())
                })
                .on_request(())
                .on_response(log_response)
                .on_failure(DefaultOnFailure::new().latency_unit(LatencyUnit::Millis)),
        )
        .layer(axum::middleware::from_fn_with_state(service, trace_context))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Answers slower than this get an INFO access line whatever their status.
const SLOW_ANSWER: Duration = Duration::from_secs(1);

/// The access line of an answered request (target `access`): INFO for a refused request (4xx) or
/// a slow answer, DEBUG for the rest, so the lines an operator reads are the ones that need
/// reading. A line for every request is `RUST_LOG=info,access=debug`; 5xx answers also get the
/// ERROR line of `on_failure`. Metrics count every request either way (`http_requests_total`,
/// `http_request_duration_seconds`). Formatting a line for every answer cost a fifth of the
/// product service's throughput on its hottest route (docs/performance.md).
fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_client_error() || latency >= SLOW_ANSWER {
        tracing::info!(target: "access", status, latency_ms, "finished processing request");
    } else {
        tracing::debug!(target: "access", status, latency_ms, "finished processing request");
    }
}

fn request_span(service: &'static str, request: &Request, trace_id: Option<&str>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        service,
        method = %request.method(),
        route,
        path = %request.uri().path(),
        request_id,
        trace_id,
    )
}

/// The request's span, made before the trace layer enters it (an exported span's parent can only
/// be set until then).
#[derive(Clone)]
struct RequestTrace {
    span: tracing::Span,
}

/// Continues the caller's trace (`traceparent`) or starts one: makes the request span (named by
/// its `trace_id`, so every log line of the request carries it, and exported under the caller's
/// span when export is on) and makes it the current context for the calls and events the request
/// causes.
async fn trace_context(
    State(service): State<&'static str>,
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let caller = request
        .headers()
        .get(trace::TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse);
    let (span, context) = trace::start(caller.as_ref(), |trace_id| {
        request_span(service, &request, trace_id)
    });
    request.extensions_mut().insert(RequestTrace { span });
    trace::scope(context, next.run(request)).await
}

/// The permits of [`ServerConfig::max_in_flight`].
#[derive(Clone)]
struct InFlight {
    permits: Arc<Semaphore>,
    limit: u32,
}

impl InFlight {
    fn new(limit: u32) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit as usize)),
            limit,
        }
    }
}

/// Answers 503 (`overloaded`, `Retry-After: 1`) when every permit is taken; health and metrics
/// pass regardless, so an overloaded pod is not also restarted or left unobserved.
async fn shed_load(
    State(in_flight): State<InFlight>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if path == "/metrics" || path == "/health" || path.starts_with("/health/") {
        return next.run(request).await;
    }
    let Ok(_permit) = Arc::clone(&in_flight.permits).try_acquire_owned() else {
        tracing::warn!(
            limit = in_flight.limit,
            "request refused: the service is at its in-flight limit"
        );
        return ApiError::unavailable(
            "overloaded",
            format!(
                "the service is handling its limit of {} requests; retry in a second",
                in_flight.limit
            ),
            1,
        )
        .into_response();
    };
    next.run(request).await
}

async fn no_route(method: Method, uri: Uri) -> impl IntoResponse {
    ApiError::not_found(
        "not_found",
        format!("no route for {method} {}; see /openapi.json", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::StatusCode;
    use tokio::sync::Notify;
    use tower::ServiceExt;

    use super::*;

    fn config(max_in_flight: u32) -> ServerConfig {
        ServerConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            request_timeout_ms: 10_000,
            shutdown_drain_delay_ms: 0,
            shutdown_timeout_ms: 1_000,
            header_read_timeout_ms: 10_000,
            max_connections: 64,
            max_in_flight,
        }
    }

    fn request(path: &str) -> Request {
        Request::get(path)
            .body(Body::empty())
            .expect("a valid request")
    }

    #[tokio::test]
    async fn beyond_the_in_flight_limit_api_requests_get_503_but_health_and_metrics_pass() {
        let release = Arc::new(Notify::new());
        let started = Arc::new(Notify::new());
        let (held, entered) = (Arc::clone(&release), Arc::clone(&started));
        let api = OpenApiRouter::new().route(
            "/slow",
            get(move || {
                let (held, entered) = (Arc::clone(&held), Arc::clone(&entered));
                async move {
                    entered.notify_one();
                    held.notified().await;
                    "done"
                }
            }),
        );
        let health = Health::new(CancellationToken::new());
        let router = app("test", &config(1), api, health, Metrics::new("test"));

        let first = tokio::spawn(router.clone().oneshot(request("/slow")));
        started.notified().await;
        let refused = router
            .clone()
            .oneshot(request("/slow"))
            .await
            .expect("answers");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(refused.into_body(), 4096)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error"]["code"], "overloaded");
        for path in ["/health/live", "/metrics"] {
            let response = router
                .clone()
                .oneshot(request(path))
                .await
                .expect("answers");
            assert_eq!(response.status(), StatusCode::OK, "{path} is never refused");
        }

        release.notify_one();
        let done = first.await.expect("joins").expect("answers");
        assert_eq!(done.status(), StatusCode::OK);
        let again = router
            .oneshot(request("/no-such-route"))
            .await
            .expect("answers");
        assert_eq!(
            again.status(),
            StatusCode::NOT_FOUND,
            "the permit came back"
        );
    }
}
