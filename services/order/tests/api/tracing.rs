//! One order's saga is one trace: the `traceparent` a client sends reaches the order service's
//! request log, travels with `order.created` to the product service, comes back with its reply,
//! and names the order consumer's span of that reply.

use microshop_testkit::{ServiceProcess, eventually, eventually_some};
use serde_json::{Value, json};
use sqlx::{ConnectOptions, PgPool};

use crate::helpers::{Options, Shop, customer};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The JSON log lines of `process` whose message is `message`.
fn lines_with(process: &ServiceProcess, message: &str) -> Vec<Value> {
    process
        .logs()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == message || line["fields"]["message"] == message)
        .collect()
}

/// The `trace_id`s named by the spans around a log line.
fn trace_ids(line: &Value) -> Vec<String> {
    line["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|span| span["trace_id"].as_str().map(str::to_owned))
        .collect()
}

/// The shop with the order service under test as a real process (with `env` added), whose JSON
/// logs the tests read; the in-process order service serves nothing here and consumes nothing.
/// One order is placed with a `traceparent` naming [`TRACE_ID`] and waited for until CONFIRMED.
async fn confirmed_traced_order(pool: &PgPool, env: &[(&str, &str)]) -> (Shop, ServiceProcess) {
    let shop = Shop::start_with(
        pool.clone(),
        Options {
            order_args: &["--amqp-consume", "false"],
            ..Options::default()
        },
    )
    .await;
    let url = pool.connect_options().to_url_lossy().to_string();
    let products = shop.products().client.base_url().to_owned();
    let keys = microshop_testkit::auth::public_keys_pem();
    let mut envs = vec![
        ("DATABASE_URL", url.as_str()),
        ("JWT_PUBLIC_KEYS", keys.as_str()),
        ("PRODUCT_SERVICE_URL", products.as_str()),
        ("AMQP_TOPOLOGY_PREFIX", shop.broker.topology.prefix()),
    ];
    envs.extend_from_slice(env);
    let orders = ServiceProcess::spawn(env!("CARGO_BIN_EXE_order-service"), &envs).await;
    let user = shop.user("traced");
    let product = shop.product(5).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/orders", orders.base_url()))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .bearer_auth(customer(user))
        .json(&json!({"product_id": product, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    let settled = shop.settled(order["id"].as_i64().unwrap()).await;
    assert_eq!(settled["status"], "CONFIRMED");
    (shop, orders)
}

#[sqlx::test]
async fn the_trace_of_a_request_names_the_consumer_span_of_its_reply(pool: PgPool) {
    // Every access line, as an operator asks for them (successful ones are DEBUG).
    let (_shop, orders) =
        confirmed_traced_order(&pool, &[("RUST_LOG", "info,sqlx=warn,access=debug")]).await;

    // The request's own log line carries the client's trace.
    let requests: Vec<Value> = orders
        .logs()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["spans"].to_string().contains("/api/orders"))
        .collect();
    let access: Vec<&Value> = requests
        .iter()
        .filter(|line| line["target"] == "access")
        .collect();
    assert_eq!(
        access.len(),
        1,
        "one access line per request: {requests:#?}"
    );
    assert!(
        trace_ids(access[0]).contains(&TRACE_ID.to_owned()),
        "the access line does not carry trace_id {TRACE_ID}: {access:#?}"
    );
    assert_eq!(access[0]["status"], 201, "{access:#?}");
    // A request that went well says nothing at INFO: the access line of a 201 is DEBUG.
    let info: Vec<&Value> = requests
        .iter()
        .filter(|line| line["level"] == "INFO")
        .collect();
    assert!(
        info.is_empty(),
        "INFO lines of a successful request: {info:#?}"
    );
    // The reply came back through the product service and names the same trace.
    let settled_lines = eventually_some("the order service logs the settlement", async || {
        let lines = lines_with(&orders, "order settled");
        (!lines.is_empty()).then_some(lines)
    })
    .await;
    assert!(
        settled_lines
            .iter()
            .any(|line| trace_ids(line).contains(&TRACE_ID.to_owned())),
        "the consumer's span of the reply does not carry trace_id {TRACE_ID}: {settled_lines:#?}\nall logs:\n{}",
        orders.logs().join("\n")
    );
}

/// An OTLP/HTTP receiver on a free local port: every span posted to `/v1/traces`.
struct Collector {
    url: String,
    spans: std::sync::Arc<std::sync::Mutex<Vec<Span>>>,
}

impl Collector {
    async fn start() -> Self {
        use axum::body::Bytes;
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message;

        let spans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let received = std::sync::Arc::clone(&spans);
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: Bytes| {
                let received = std::sync::Arc::clone(&received);
                async move {
                    let request = ExportTraceServiceRequest::decode(body).unwrap();
                    let mut spans = received.lock().unwrap();
                    for resource in request.resource_spans {
                        for scope in resource.scope_spans {
                            spans.extend(scope.spans);
                        }
                    }
                    ""
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, spans }
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

type Span = opentelemetry_proto::tonic::trace::v1::Span;

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[sqlx::test]
async fn with_an_otlp_endpoint_the_request_and_the_reply_are_exported_in_the_callers_trace(
    pool: PgPool,
) {
    let collector = Collector::start().await;
    let (_shop, orders) = confirmed_traced_order(
        &pool,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;

    let spans = eventually_some(
        "the collector receives a request and an event span",
        async || {
            let spans = collector.spans();
            let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
            (names.contains(&"request") && names.contains(&"event")).then_some(spans)
        },
    )
    .await;
    let request = spans
        .iter()
        .find(|s| s.name == "request" && hex(&s.trace_id) == TRACE_ID)
        .unwrap_or_else(|| panic!("no exported request span in trace {TRACE_ID}: {spans:#?}"));
    assert_eq!(
        hex(&request.parent_span_id),
        "00f067aa0ba902b7",
        "child of the caller's span"
    );
    let event = spans
        .iter()
        .find(|s| s.name == "event")
        .unwrap_or_else(|| panic!("no exported event span: {spans:#?}"));
    assert_eq!(
        hex(&event.trace_id),
        TRACE_ID,
        "the reply's span is in the same trace"
    );
    // And the log line of that event names the exported trace (lines are written in bursts:
    // it may follow the export by a few milliseconds).
    eventually(
        "the settlement is logged in the exported trace",
        async || {
            lines_with(&orders, "order settled")
                .iter()
                .any(|line| trace_ids(line).contains(&TRACE_ID.to_owned()))
        },
    )
    .await;
}
