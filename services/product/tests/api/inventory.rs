//! The inventory API: who may use it, what it shows, and its OpenAPI description. Manual moves
//! are in [`moves`], the events and alerts in [`alerts`].

mod alerts;
mod moves;

use microshop_events::{Envelope, Event};
use microshop_testkit::{TestBroker, checks, eventually, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{admin, as_service, move_count, spawn_app, spawn_app_with_broker};
use crate::saga::{cancelled, message, order, product_with_stock, publish, stock_of};

/// Takes whatever the service published that is on the test's `order.product-events` queue.
pub async fn drain(broker: &TestBroker) -> Vec<Event> {
    let queue = broker.topology.order_product_events();
    let mut events = Vec::new();
    while let Some(message) = broker.take(&queue).await {
        events.push(Envelope::from_json(&message.delivery.data).unwrap().event);
    }
    events
}

/// Waits until the saga answered `count` orders (`stock.*`), collecting every event published
/// meanwhile.
pub async fn answers(broker: &TestBroker, count: usize) -> Vec<Event> {
    let mut events = Vec::new();
    eventually(&format!("{count} orders are answered"), async || {
        events.extend(drain(broker).await);
        events
            .iter()
            .filter(|e| matches!(e, Event::StockReserved(_) | Event::StockRejected(_)))
            .count()
            >= count
    })
    .await;
    events
}

fn routes(product: i64) -> Vec<(Method, String, Option<Value>)> {
    let moved = json!({"product_id": product, "quantity": 1, "reference": "r"});
    vec![
        (Method::GET, format!("/api/inventory/{product}"), None),
        (
            Method::PUT,
            format!("/api/inventory/{product}"),
            Some(json!({"low_stock_threshold": 3})),
        ),
        (
            Method::POST,
            "/api/inventory/deduct".into(),
            Some(moved.clone()),
        ),
        (Method::POST, "/api/inventory/restore".into(), Some(moved)),
        (Method::GET, "/api/inventory/alerts".into(), None),
    ]
}

#[sqlx::test]
async fn inventory_routes_take_an_admin_token_or_a_service_key_and_refuse_everyone_else(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;

    for (method, path, body) in routes(product) {
        checks::assert_needs_a_valid_token(&app.client, method.clone(), &path, body.as_ref()).await;
        checks::assert_admin_only(&app.client, method.clone(), &path, body.as_ref()).await;
        // A wrong key is refused even with an admin's token.
        let mut wrong_key = app
            .client
            .http()
            .request(method.clone(), format!("{}{path}", app.client.base_url()))
            .header("X-Service-Key", "x".repeat(64))
            .bearer_auth(microshop_testkit::auth::token(
                1,
                microshop_auth::Role::Admin,
            ));
        if let Some(body) = &body {
            wrong_key = wrong_key.json(body);
        }
        let wrong_key = wrong_key.send().await.unwrap();
        let error = checks::assert_error(wrong_key, StatusCode::UNAUTHORIZED, &path).await;
        assert_eq!(error["error"]["code"], "service_key_invalid");
    }
    assert_eq!(stock_of(&pool, product).await, 50, "nothing changed");
    assert_eq!(move_count(&pool).await, 0);

    for (i, (method, path, body)) in routes(product).into_iter().enumerate() {
        let mut body = body;
        if let Some(reference) = body.as_mut().and_then(|b| b.get_mut("reference")) {
            *reference = json!(format!("by-admin-{i}"));
        }
        let by_admin = admin(&app)
            .send_as(method.clone(), &path, None, body.as_ref())
            .await;
        assert_eq!(
            by_admin.status(),
            StatusCode::OK,
            "{method} {path} as admin"
        );
        if let Some(reference) = body.as_mut().and_then(|b| b.get_mut("reference")) {
            *reference = json!(format!("by-service-{i}"));
        }
        let by_service = as_service(&app, method.clone(), &path, body.as_ref()).await;
        assert_eq!(
            by_service.status(),
            StatusCode::OK,
            "{method} {path} as a service"
        );
    }
    assert_eq!(
        stock_of(&pool, product).await,
        50,
        "two deducts, two restores"
    );
    assert_eq!(move_count(&pool).await, 4);
}

#[sqlx::test]
async fn the_view_shows_held_units_as_reserved_and_the_rest_as_available(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;
    let admin = admin(&app);

    publish(&broker, &[message(&order(1, product, 3))]).await;
    answers(&broker, 1).await;

    let shown = json(admin.get(&format!("/api/inventory/{product}")).await).await;
    assert_eq!(
        shown,
        json!({"product_id": product, "stock": 50, "reserved": 3, "available": 47,
               "low_stock_threshold": 0, "low_stock": false})
    );

    // Given back: no longer reserved. Shipped: no longer reserved nor on hand.
    publish(&broker, &[message(&cancelled(1, product, 3))]).await;
    eventually("the order's stock is given back", async || {
        stock_of(&pool, product).await == 50
    })
    .await;
    // Written as a pod of the previous version writes it (no lines): the migration's trigger
    // gives it its line.
    sqlx::query(
        "insert into stock_reservations (order_id, product_id, quantity, status)
         values (2, $1, 4, 'fulfilled')",
    )
    .bind(product)
    .execute(&pool)
    .await
    .unwrap();
    let shown = json(admin.get(&format!("/api/inventory/{product}")).await).await;
    assert_eq!(
        (shown["stock"].as_i64(), shown["reserved"].as_i64()),
        (Some(50), Some(0))
    );

    // Archived products are still managed; unknown ones are not found.
    sqlx::query("update products set archived_at = now() where id = $1")
        .bind(product)
        .execute(&pool)
        .await
        .unwrap();
    let archived = admin.get(&format!("/api/inventory/{product}")).await;
    assert_eq!(archived.status(), StatusCode::OK);
    let missing = admin.get("/api/inventory/4242").await;
    let error = checks::assert_error(missing, StatusCode::NOT_FOUND, "unknown product").await;
    assert_eq!(error["error"]["code"], "product_not_found");
    checks::assert_bad_ids_rejected(&admin, "/api/inventory").await;
}

#[sqlx::test]
async fn an_archived_product_is_not_reserved_for_orders_but_can_still_be_moved(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    sqlx::query("update products set archived_at = now() where id = $1")
        .bind(product)
        .execute(&pool)
        .await
        .unwrap();

    publish(&broker, &[message(&order(1, product, 2))]).await;

    let events = answers(&broker, 1).await;
    let rejected = events
        .iter()
        .find_map(|e| match e {
            Event::StockRejected(r) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(
        rejected.reason,
        format!("product {product} is no longer sold")
    );
    assert_eq!(stock_of(&pool, product).await, 10);
    let body = json!({"product_id": product, "quantity": 2, "reference": "write-off"});
    let deducted = admin(&app).post_json("/api/inventory/deduct", &body).await;
    assert_eq!(deducted.status(), StatusCode::OK);
    assert_eq!(stock_of(&pool, product).await, 8);
}

#[sqlx::test]
async fn openapi_describes_the_inventory_routes_with_both_ways_in_and_every_status(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc = json(app.client.get("/openapi.json").await).await;
    let both = json!([{"bearer": []}, {"serviceKey": []}]);
    for (path, method, statuses) in [
        (
            "/api/inventory/{product_id}",
            "get",
            &["200", "400", "401", "403", "404"][..],
        ),
        (
            "/api/inventory/{product_id}",
            "put",
            &["200", "400", "401", "403", "404", "422"],
        ),
        (
            "/api/inventory/deduct",
            "post",
            &["200", "400", "401", "403", "404", "409", "422"],
        ),
        (
            "/api/inventory/restore",
            "post",
            &["200", "400", "401", "403", "404", "409", "422"],
        ),
        (
            "/api/inventory/alerts",
            "get",
            &["200", "400", "401", "403", "422"],
        ),
    ] {
        let operation = &doc["paths"][path][method];
        assert_eq!(operation["security"], both, "{method} {path}");
        for status in statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} lacks {status}"
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["StockMoveRequest"]["properties"]["quantity"]["maximum"],
        1_000_000
    );
    assert_eq!(
        schemas["StockMoveRequest"]["properties"]["reference"]["maxLength"],
        100
    );
    assert_eq!(
        schemas["SetInventoryRequest"]["properties"]["stock"]["maximum"],
        1_000_000_000
    );
}
