//! Forwarding one request to the service that owns its path (a seed `/api/v1` path first
//! rewritten to the service's own, [`routing::rewrite`]), bodies streamed both ways, through
//! the service's `microshop-http-client` upstream (its breaker and metrics). What travels: the
//! method, the path and query, every end-to-end header (so `Authorization`, `x-request-id` and
//! `traceparent` reach the service), the time left of the caller's deadline
//! (`x-request-timeout-ms`) and the client's address appended to `x-forwarded-for`. Hop-by-hop
//! headers stay on their hop. No answer is a JSON error with `Retry-After`: 503
//! `upstream_unavailable` (unreachable, or its breaker open), 504 `upstream_timeout`, 502
//! `bad_upstream_answer` (not HTTP).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use microshop_http_client::ForwardError;
use microshop_telemetry::deadline;
use microshop_web::{ApiError, ClientAddress};

use crate::cache::ResponseCache;
use crate::routing;
use crate::upstreams::Upstreams;

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

const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The services, how long each may take to start answering, and the cache of public reads.
#[derive(Clone)]
pub struct Proxy {
    upstreams: Arc<Upstreams>,
    timeout: Duration,
    cache: ResponseCache,
}

impl Proxy {
    /// A proxy to `upstreams`, waiting at most `timeout` for each to answer, keeping public
    /// reads in `cache`.
    pub fn new(upstreams: Arc<Upstreams>, timeout: Duration, cache: ResponseCache) -> Self {
        Self {
            upstreams,
            timeout,
            cache,
        }
    }
}

/// `headers` without the hop-by-hop ones and `host`.
fn end_to_end(mut headers: HeaderMap) -> HeaderMap {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::HOST);
    headers
}

/// Forwards `request` to the service that owns its path.
pub async fn forward(
    State(proxy): State<Proxy>,
    ClientAddress(client): ClientAddress,
    request: Request,
) -> Response {
    let path = routing::rewrite(request.uri().path()).into_owned();
    let Some(upstream) = routing::owner(&path) else {
        return ApiError::not_found("route_not_found", format!("no route for {path}"))
            .into_response();
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let cache_key = proxy
        .cache
        .key(request.method(), &path_and_query, request.headers());
    if let Some(kept) = cache_key.as_deref().and_then(|key| proxy.cache.get(key)) {
        return kept;
    }
    let time = deadline::remaining().map_or(proxy.timeout, |left| left.min(proxy.timeout));
    let (parts, body) = request.into_parts();
    let mut headers = end_to_end(parts.headers);
    // The client's address for the services that limit by it (the user service's sign-in
    // throttle): appended, so a proxy in front of us keeps its entries.
    let forwarded = match headers.get(&FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {client}"),
        None => client.to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded) {
        headers.insert(FORWARDED_FOR, value);
    }
    // A request without a body (most are reads) goes without one, not as an empty chunked
    // stream.
    let body = if body.size_hint().exact() == Some(0) {
        reqwest::Body::from(Vec::new())
    } else {
        reqwest::Body::wrap_stream(body.into_data_stream())
    };
    let answer = proxy
        .upstreams
        .get(upstream)
        .forward(parts.method, &path_and_query, headers, body, time)
        .await;
    match answer {
        Ok(mut answer) => {
            let status = answer.status();
            let headers = end_to_end(std::mem::take(answer.headers_mut()));
            let keep = cache_key.and_then(|key| {
                let max_age = proxy.cache.keepable(status, &headers);
                if max_age.is_none() {
                    proxy.cache.not_kept();
                }
                Some((key, max_age?))
            });
            if let Some((key, max_age)) = keep {
                return kept_answer(&proxy, key, status, headers, answer, max_age).await;
            }
            let body = Body::from_stream(answer.bytes_stream().map_err(std::io::Error::other));
            respond(status, headers, body)
        }
        Err(error) => no_answer(&error),
    }
}

fn respond(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// A cacheable answer: read whole (it is small), kept, and answered.
async fn kept_answer(
    proxy: &Proxy,
    key: String,
    status: StatusCode,
    headers: HeaderMap,
    answer: reqwest::Response,
    max_age: std::time::Duration,
) -> Response {
    match answer.bytes().await {
        Ok(body) => {
            // Not this request's: the request id and the date are set for each answer.
            let mut kept = headers.clone();
            kept.remove("x-request-id");
            kept.remove(header::DATE);
            proxy.cache.put(key, status, kept, body.clone(), max_age);
            respond(status, headers, Body::from(body))
        }
        Err(error) => {
            tracing::warn!(%error, "the service's answer broke off");
            no_answer(&ForwardError::Malformed {
                upstream: "the service",
                reason: error.to_string(),
            })
        }
    }
}

/// The JSON error for a request its service did not answer. The message names the service but
/// never its address or the transport's error (those are in the log).
fn no_answer(error: &ForwardError) -> Response {
    let (status, code, retry_after, message) = match error {
        ForwardError::BreakerOpen {
            upstream,
            retry_after,
        } => {
            let wait = u32::try_from(retry_after.as_millis().div_ceil(1000))
                .unwrap_or(u32::MAX)
                .max(1);
            let message = format!("{upstream} is failing; try again in {wait} s");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                wait,
                message,
            )
        }
        ForwardError::Unreachable { upstream, .. } => {
            let message = format!("{upstream} is unavailable; try again in 1 s");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                1,
                message,
            )
        }
        ForwardError::Timeout { upstream, waited } => {
            let message = format!("{upstream} did not answer within {} ms", waited.as_millis());
            (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", 1, message)
        }
        ForwardError::Malformed { upstream, .. } => {
            let message = format!("{upstream} answered with something that is not HTTP");
            (StatusCode::BAD_GATEWAY, "bad_upstream_answer", 1, message)
        }
    };
    ApiError::new(status, code, message)
        .retry_after(retry_after)
        .into_response()
}
