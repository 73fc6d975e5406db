//! Forwarding one request to the service that owns its path (a seed `/api/v1` path first
//! rewritten to the service's own, [`routing::rewrite`]), bodies streamed both ways. What
//! travels: the method, the path and query, every end-to-end header (so `Authorization`,
//! `x-request-id` and `traceparent` reach the service), and the time left of the caller's
//! deadline (`x-request-timeout-ms`). Hop-by-hop headers stay on their hop. An upstream that
//! cannot be reached is 503 `upstream_unavailable` with `Retry-After: 1`; one that does not
//! start answering in time is 504 `upstream_timeout`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use microshop_telemetry::deadline;
use microshop_web::ApiError;

use crate::metrics::GatewayMetrics;
use crate::routing::{self, Upstream};

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), and `host`, which
/// names the gateway.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Where each upstream is, and how to reach it.
#[derive(Clone)]
pub struct Proxy(Arc<Parts>);

struct Parts {
    client: reqwest::Client,
    bases: HashMap<Upstream, String>,
    timeout: Duration,
    metrics: GatewayMetrics,
}

impl Proxy {
    /// A proxy to the services at `bases`, waiting at most `timeout` for each to answer.
    pub fn new(
        bases: HashMap<Upstream, String>,
        timeout: Duration,
        metrics: GatewayMetrics,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            // Below the services' keep-alive limit, so a pooled connection is never one the
            // service is closing.
            .pool_idle_timeout(Duration::from_secs(5))
            // The caller follows redirects if it wants to; the gateway passes them on.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let bases = bases
            .into_iter()
            .map(|(upstream, base)| (upstream, base.trim_end_matches('/').to_owned()))
            .collect();
        Ok(Self(Arc::new(Parts {
            client,
            bases,
            timeout,
            metrics,
        })))
    }
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    for name in &HOP_BY_HOP {
        kept.remove(name);
    }
    kept.remove(header::HOST);
    kept
}

/// Forwards `request` to the service that owns its path.
pub async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let path = routing::rewrite(request.uri().path()).into_owned();
    let Some(upstream) = routing::owner(&path) else {
        return ApiError::not_found("route_not_found", format!("no route for {path}"))
            .into_response();
    };
    let Some(base) = proxy.0.bases.get(&upstream) else {
        return ApiError::not_found("route_not_found", format!("no route for {path}"))
            .into_response();
    };
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("{base}{path}{query}");
    let time = deadline::remaining().map_or(proxy.0.timeout, |left| left.min(proxy.0.timeout));
    let (parts, body) = request.into_parts();
    let mut headers = end_to_end(&parts.headers);
    if let Ok(value) = deadline::header_value(time).parse() {
        headers.insert(deadline::HEADER, value);
    }
    let outgoing = proxy
        .0
        .client
        .request(parts.method, &url)
        .headers(headers)
        .timeout(time)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    let answer = match outgoing {
        Ok(answer) => answer,
        Err(error) if error.is_timeout() => {
            proxy.0.metrics.count(upstream, "timeout");
            tracing::warn!(%url, %error, "upstream did not answer in time");
            return ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!(
                    "{} did not answer within {} ms",
                    upstream.name(),
                    time.as_millis()
                ),
            )
            .into_response();
        }
        Err(error) => {
            proxy.0.metrics.count(upstream, "unavailable");
            tracing::warn!(%url, %error, "upstream unavailable");
            return ApiError::unavailable(
                "upstream_unavailable",
                format!("{} is unavailable; try again in 1 s", upstream.name()),
                1,
            )
            .into_response();
        }
    };
    proxy.0.metrics.count(upstream, "answered");
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    let body = Body::from_stream(answer.bytes_stream().map_err(std::io::Error::other));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
