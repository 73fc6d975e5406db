//! One order's saga is one trace: the `traceparent` a client sends reaches the order service's
//! request log, travels with `order.created` to the product service, comes back with its reply,
//! and names the order consumer's span of that reply.

use microshop_testkit::ServiceProcess;
use serde_json::{Value, json};
use sqlx::{ConnectOptions, PgPool};

use crate::helpers::{Options, Shop};

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

#[sqlx::test]
async fn the_trace_of_a_request_names_the_consumer_span_of_its_reply(pool: PgPool) {
    // The in-process order service serves nothing here and consumes nothing: the order
    // service under test is a real process, whose JSON logs we read.
    let shop = Shop::start_with(
        pool.clone(),
        Options {
            order_args: &["--amqp-consume", "false"],
            ..Options::default()
        },
    )
    .await;
    let url = pool.connect_options().to_url_lossy().to_string();
    let users = shop.users().client.base_url().to_owned();
    let products = shop.products.client.base_url().to_owned();
    let orders = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_order-service"),
        &[
            ("DATABASE_URL", url.as_str()),
            ("USER_SERVICE_URL", users.as_str()),
            ("PRODUCT_SERVICE_URL", products.as_str()),
            ("AMQP_TOPOLOGY_PREFIX", shop.broker.topology.prefix()),
        ],
    )
    .await;
    let user = shop.user("traced@example.com").await;
    let product = shop.product(5).await;

    let response = reqwest::Client::new()
        .post(format!("{}/api/orders", orders.base_url()))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .json(&json!({"user_id": user, "product_id": product, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    let settled = shop.settled(order["id"].as_i64().unwrap()).await;
    assert_eq!(settled["status"], "CONFIRMED");

    // The request's own log line carries the client's trace.
    let requests: Vec<Value> = orders
        .logs()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["spans"].to_string().contains("/api/orders"))
        .collect();
    assert!(
        requests
            .iter()
            .any(|line| trace_ids(line).contains(&TRACE_ID.to_owned())),
        "no request log line with trace_id {TRACE_ID}: {requests:#?}"
    );
    // The reply came back through the product service and names the same trace.
    let mut settled_lines = Vec::new();
    for _ in 0..50 {
        settled_lines = lines_with(&orders, "order settled");
        if !settled_lines.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        settled_lines
            .iter()
            .any(|line| trace_ids(line).contains(&TRACE_ID.to_owned())),
        "the consumer's span of the reply does not carry trace_id {TRACE_ID}: {settled_lines:#?}\nall logs:\n{}",
        orders.logs().join("\n")
    );
}
