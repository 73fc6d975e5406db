//! The client against real HTTP servers on loopback, spawned inside each test: a server that
//! answers as its script says (and records the budget each request carried), and a port where
//! nothing listens.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod basics;
mod breaker;
mod deadline;
mod retries;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use microshop_http_client::{Upstream, UpstreamConfig, UpstreamMetrics};
use prometheus::Registry;
use serde_json::{Value, json};

/// What the test server answers to one request.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this body.
    Json(Value),
    /// This status, with this `Retry-After` if any, and this body.
    Status(StatusCode, Option<&'static str>, Value),
    /// Accepts the request and never answers.
    Hang,
}

/// A server on loopback answering `GET /thing`.
pub struct Server {
    /// Its base URL.
    pub url: String,
    // The `x-request-timeout-ms` of each request, in arrival order.
    budgets: Arc<Mutex<Vec<Option<String>>>>,
}

impl Server {
    /// Answers the n-th request (from 0) with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let budgets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&budgets);
        let script = Arc::new(script);
        let handler = move |headers: HeaderMap| async move {
            let budget = headers
                .get("x-request-timeout-ms")
                .map(|value| value.to_str().unwrap().to_owned());
            let n = {
                let mut seen = seen.lock().unwrap();
                seen.push(budget);
                seen.len() - 1
            };
            reply(script(n)).await
        };
        let app = Router::new().route("/thing", get(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, budgets }
    }

    /// Requests received so far.
    pub fn calls(&self) -> usize {
        self.budgets.lock().unwrap().len()
    }

    /// The budget (ms) each request carried; panics if one carried none.
    pub fn budgets(&self) -> Vec<u64> {
        let budgets = self.budgets.lock().unwrap();
        budgets
            .iter()
            .map(|budget| budget.as_deref().expect("a budget header").parse().unwrap())
            .collect()
    }
}

async fn reply(reply: Reply) -> Response {
    match reply {
        Reply::Json(body) => axum::Json(body).into_response(),
        Reply::Status(status, retry_after, body) => {
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.parse().unwrap());
            }
            response
        }
        Reply::Hang => std::future::pending().await,
    }
}

/// Serves `GET /thing`: the first `failures` calls answer 503, then 200.
pub async fn flaky_server(failures: usize) -> Server {
    Server::start(move |n| {
        if n < failures {
            Reply::Status(StatusCode::SERVICE_UNAVAILABLE, None, json!({}))
        } else {
            Reply::Json(json!({"id": 1}))
        }
    })
    .await
}

/// A loopback URL where nothing listens.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A client of `url` with its own registry.
pub fn upstream(url: &str, config: UpstreamConfig) -> (Upstream, Registry) {
    let registry = Registry::new();
    let metrics = UpstreamMetrics::register(&registry).unwrap();
    (
        Upstream::new("test-upstream", url, config, metrics),
        registry,
    )
}

/// The registry in the text exposition format.
pub fn metrics(registry: &Registry) -> String {
    prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap()
}
