//! Manual deducts and restores: once per reference, never below zero nor past the limit, never
//! a partial write, and safe against concurrent orders and retries.

use futures::future::join_all;
use microshop_events::Event;
use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::answers;
use crate::helpers::{admin, move_count, spawn_app, spawn_app_with_broker};
use crate::saga::{message, order, product_with_stock, publish, stock_of};

fn deduct(product: i64, quantity: i64, reference: &str) -> Value {
    json!({"product_id": product, "quantity": quantity, "reference": reference})
}

#[sqlx::test]
async fn a_deduct_is_applied_once_and_a_repeat_is_answered_the_same_way(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;
    let other = product_with_stock(&pool, 50).await;
    let admin = admin(&app);

    let first = admin
        .post_json("/api/inventory/deduct", &deduct(product, 5, " count-7 "))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json(first).await;
    assert_eq!(
        first,
        json!({"reference": "count-7", "product_id": product, "kind": "deduct", "quantity": 5,
               "stock_after": 45, "replayed": false})
    );

    let again = admin
        .post_json("/api/inventory/deduct", &deduct(product, 5, "count-7"))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let mut expected = first.clone();
    expected["replayed"] = json!(true);
    assert_eq!(json(again).await, expected);
    assert_eq!(stock_of(&pool, product).await, 45, "deducted once");

    for (path, body) in [
        ("/api/inventory/deduct", deduct(product, 6, "count-7")),
        ("/api/inventory/deduct", deduct(other, 5, "count-7")),
        ("/api/inventory/restore", deduct(product, 5, "count-7")),
    ] {
        let conflict = admin.post_json(path, &body).await;
        let error = checks::assert_error(conflict, StatusCode::CONFLICT, path).await;
        assert_eq!(error["error"]["code"], "reference_conflict", "{body}");
    }
    assert_eq!(stock_of(&pool, product).await, 45);
    assert_eq!(stock_of(&pool, other).await, 50);
    assert_eq!(move_count(&pool).await, 1);

    let restored = admin
        .post_json(
            "/api/inventory/restore",
            &deduct(product, 5, "undo-count-7"),
        )
        .await;
    assert_eq!(json(restored).await["stock_after"], 50);
}

#[sqlx::test]
async fn a_move_that_does_not_fit_is_refused_and_writes_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 3).await;
    let full = product_with_stock(&pool, 999_999_999).await;
    let admin = admin(&app);

    let short = admin
        .post_json("/api/inventory/deduct", &deduct(product, 4, "r1"))
        .await;
    let error = checks::assert_error(short, StatusCode::CONFLICT, "short").await;
    assert_eq!(error["error"]["code"], "insufficient_stock");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only 3 left"),
        "{error}"
    );
    let over = admin
        .post_json("/api/inventory/restore", &deduct(full, 2, "r2"))
        .await;
    let error = checks::assert_error(over, StatusCode::CONFLICT, "over").await;
    assert_eq!(error["error"]["code"], "stock_limit");
    let missing = admin
        .post_json("/api/inventory/deduct", &deduct(4242, 1, "r3"))
        .await;
    let error = checks::assert_error(missing, StatusCode::NOT_FOUND, "missing").await;
    assert_eq!(error["error"]["code"], "product_not_found");
    assert_eq!(stock_of(&pool, product).await, 3);
    assert_eq!(stock_of(&pool, full).await, 999_999_999);
    assert_eq!(move_count(&pool).await, 0, "no reference was used up");

    let fits = admin
        .post_json("/api/inventory/deduct", &deduct(product, 3, "r1"))
        .await;
    assert_eq!(json(fits).await["stock_after"], 0);
}

#[sqlx::test]
async fn invalid_moves_and_settings_are_refused_and_write_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;
    let admin = admin(&app);
    let with = |field: &str, value: Value| {
        let mut body = deduct(product, 1, "ok");
        body[field] = value;
        body
    };
    let mut without_reference = deduct(product, 1, "ok");
    without_reference
        .as_object_mut()
        .unwrap()
        .remove("reference");
    let mut unknown_field = deduct(product, 1, "ok");
    unknown_field["note"] = json!("hi");
    let bodies = [
        with("quantity", json!(0)),
        with("quantity", json!(-1)),
        with("quantity", json!(1_000_001)),
        with("quantity", json!(1e30)),
        with("quantity", json!(1.5)),
        with("quantity", json!("1")),
        with("reference", json!("")),
        with("reference", json!("   ")),
        with("reference", json!("x".repeat(101))),
        with("reference", json!("a\u{1}b")),
        with("reference", json!(7)),
        with("product_id", json!(0)),
        with("product_id", json!("1")),
        without_reference,
        unknown_field,
    ];
    for path in ["/api/inventory/deduct", "/api/inventory/restore"] {
        for body in &bodies {
            let response = admin.post_json(path, body).await;
            checks::assert_error(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                &body.to_string(),
            )
            .await;
        }
        let malformed = admin.post_raw(path, "{not json", "application/json").await;
        checks::assert_error(malformed, StatusCode::BAD_REQUEST, "malformed").await;
    }
    let path = format!("/api/inventory/{product}");
    for body in [
        json!({"stock": null, "low_stock_threshold": null}),
        json!({"stock": -1}),
        json!({"stock": 1_000_000_001}),
        json!({"low_stock_threshold": -1}),
        json!({"stock": 1.5}),
        json!({"stock": 5, "reserved": 1}),
    ] {
        let response = admin
            .send_as(reqwest::Method::PUT, &path, None, Some(&body))
            .await;
        checks::assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            &body.to_string(),
        )
        .await;
    }
    // Nothing to set: the level as it is.
    let unchanged = admin
        .send_as(reqwest::Method::PUT, &path, None, Some(&json!({})))
        .await;
    assert_eq!(unchanged.status(), StatusCode::OK);
    let missing = admin
        .send_as(
            reqwest::Method::PUT,
            "/api/inventory/4242",
            None,
            Some(&json!({"stock": 1})),
        )
        .await;
    checks::assert_error(missing, StatusCode::NOT_FOUND, "unknown product").await;
    assert_eq!(stock_of(&pool, product).await, 50);
    assert_eq!(move_count(&pool).await, 0);
}

#[sqlx::test]
async fn manual_deducts_racing_orders_never_sell_more_than_there_is(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;
    let admin = admin(&app);
    let orders: Vec<_> = (1..=30).map(|id| message(&order(id, product, 1))).collect();

    let deducts = join_all((0..30).map(|i| {
        let body = deduct(product, 1, &format!("manual-{i}"));
        let admin = &admin;
        async move { admin.post_json("/api/inventory/deduct", &body).await }
    }));
    let published = join_all(orders.chunks(10).map(|chunk| publish(&broker, chunk)));
    let (responses, _) = tokio::join!(deducts, published);

    let mut deducted = 0;
    for response in responses {
        match response.status() {
            StatusCode::OK => deducted += 1,
            StatusCode::CONFLICT => {
                assert_eq!(json(response).await["error"]["code"], "insufficient_stock");
            }
            other => panic!("unexpected {other}"),
        }
    }
    let events = answers(&broker, 30).await;
    let reserved = events
        .iter()
        .filter(|e| matches!(e, Event::StockReserved(_)))
        .count();
    assert_eq!(
        deducted + reserved,
        50,
        "{deducted} deducted, {reserved} reserved"
    );
    assert_eq!(stock_of(&pool, product).await, 0);
    assert_eq!(move_count(&pool).await, i64::try_from(deducted).unwrap());
}

#[sqlx::test]
async fn the_same_reference_sent_ten_times_at_once_is_applied_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;
    let admin = admin(&app);
    let body = deduct(product, 2, "retried");

    let responses = join_all(
        (0..10)
            .map(|_| async { json(admin.post_json("/api/inventory/deduct", &body).await).await }),
    )
    .await;

    let applied = responses.iter().filter(|r| r["replayed"] == false).count();
    assert_eq!(applied, 1, "{responses:?}");
    assert!(
        responses.iter().all(|r| r["stock_after"] == 48),
        "{responses:?}"
    );
    assert_eq!(stock_of(&pool, product).await, 48);
    assert_eq!(move_count(&pool).await, 1);
}
