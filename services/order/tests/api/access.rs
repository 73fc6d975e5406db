//! Who may do what: a valid token on every route, buyers see only their own orders, and one
//! buyer cannot flood the shop with open orders.

use futures::future::join_all;
use microshop_testkit::{checks, json};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{Options, Shop, admin, customer};

async fn stored(pool: &PgPool) -> (i64, i64, i64) {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
            .fetch_one(pool)
            .await
            .unwrap()
    };
    (
        count("orders").await,
        count("outbox").await,
        count("idempotency_keys").await,
    )
}

#[sqlx::test]
async fn every_route_needs_a_valid_token_and_a_refused_request_changes_nothing(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let product = shop.product(5).await;
    let placed = json(shop.order(shop.user("ann"), product, 1).await).await;
    let id = placed["id"].as_i64().unwrap();
    // Settled, and its events relayed: from now on only a request could change the counts.
    shop.settled(id).await;
    microshop_testkit::eventually("the outbox is empty", async || stored(&pool).await.1 == 0).await;
    let before = stored(&pool).await;

    let body = json!({"product_id": product, "quantity": 1, "request_id": "sneaky"});
    let client = &shop.orders.client;
    checks::assert_needs_a_valid_token(client, Method::POST, "/api/orders", Some(&body)).await;
    checks::assert_needs_a_valid_token(client, Method::POST, "/api/orders/", Some(&body)).await;
    checks::assert_needs_a_valid_token(client, Method::GET, "/api/orders", None).await;
    checks::assert_needs_a_valid_token(client, Method::GET, &format!("/api/orders/{id}"), None)
        .await;
    assert_eq!(
        stored(&pool).await,
        before,
        "refused requests store nothing"
    );
    let metrics = client.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .contains(r#"auth_failures_total{reason="token_missing",service="order-service"} 4"#),
        "{metrics}"
    );
}

#[sqlx::test]
async fn a_buyer_sees_only_their_own_orders_and_an_admin_sees_all(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (ann, bob) = (shop.user("ann"), shop.user("bob"));
    let product = shop.product(10).await;
    let anns = json(shop.order(ann, product, 1).await).await["id"]
        .as_i64()
        .unwrap();
    let bobs = json(shop.order(bob, product, 2).await).await["id"]
        .as_i64()
        .unwrap();

    let as_ann = shop.orders.client.authorized(&customer(ann));
    assert_eq!(
        json(as_ann.get(&format!("/api/orders/{anns}")).await).await["user_id"],
        ann
    );
    // Bob's order is not even confirmed to exist.
    let response = as_ann.get(&format!("/api/orders/{bobs}")).await;
    let error = checks::assert_error(response, StatusCode::NOT_FOUND, "another's order").await;
    assert_eq!(error["error"]["code"], "order_not_found");
    let listed = json(as_ann.get("/api/orders").await).await;
    let ids: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["id"])
        .collect();
    assert_eq!(ids, [&json!(anns)]);
    let response = as_ann.get(&format!("/api/orders?user_id={bob}")).await;
    checks::assert_error(response, StatusCode::FORBIDDEN, "listing another's orders").await;
    assert_eq!(
        json(as_ann.get(&format!("/api/orders?user_id={ann}")).await)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let as_admin = shop.orders.client.authorized(&admin());
    assert_eq!(
        json(as_admin.get(&format!("/api/orders/{bobs}")).await).await["user_id"],
        bob
    );
    assert_eq!(
        json(as_admin.get("/api/orders").await)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let bobs_only = json(as_admin.get(&format!("/api/orders?user_id={bob}")).await).await;
    assert_eq!(bobs_only.as_array().unwrap().len(), 1);
    assert_eq!(bobs_only[0]["id"], bobs);

    // By status: Ann calls hers off; the admin finds each order under its status.
    assert_eq!(shop.settled(anns).await["status"], "CONFIRMED");
    assert_eq!(shop.settled(bobs).await["status"], "CONFIRMED");
    let cancel = as_ann
        .http()
        .post(format!("{}/api/orders/{anns}/cancel", as_ann.base_url()))
        .bearer_auth(customer(ann))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    let ids_of = |listed: serde_json::Value| -> Vec<i64> {
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    let cancelled = json(as_admin.get("/api/orders?status=CANCELLED").await).await;
    assert_eq!(ids_of(cancelled), [anns]);
    let confirmed = json(as_admin.get("/api/orders?status=CONFIRMED&limit=10").await).await;
    assert_eq!(ids_of(confirmed), [bobs]);
    // A customer's filter applies to their own orders only.
    let anns_confirmed = json(as_ann.get("/api/orders?status=CONFIRMED").await).await;
    assert!(ids_of(anns_confirmed).is_empty());
    for bad in ["cancelled", "SOLD", ""] {
        let response = as_admin.get(&format!("/api/orders?status={bad}")).await;
        assert!(
            response.status().is_client_error(),
            "{bad}: {}",
            response.status()
        );
    }
}

#[sqlx::test]
async fn one_buyer_may_hold_only_so_many_open_orders_even_all_at_once(pool: PgPool) {
    // Nobody answers for the stock: every accepted order stays PENDING, open.
    let options = Options {
        product_args: &["--amqp-consume", "false"],
        order_args: &["--max-open-orders-per-user", "3"],
        ..Options::default()
    };
    let shop = Shop::start_with(pool.clone(), options).await;
    let (greedy, other) = (shop.user("greedy"), shop.user("other"));
    let product = shop.product(100).await;

    let responses = join_all((0..10).map(|_| shop.order(greedy, product, 1))).await;
    let mut created = 0;
    for response in responses {
        if response.status() == StatusCode::CREATED {
            created += 1;
        } else {
            let error =
                checks::assert_error(response, StatusCode::CONFLICT, "one order too many").await;
            assert_eq!(error["error"]["code"], "too_many_open_orders");
        }
    }
    assert_eq!(created, 3, "exactly the limit is accepted");
    assert_eq!(stored(&pool).await.0, 3);
    // Another buyer is not held back by the first one's orders.
    assert_eq!(
        shop.order(other, product, 1).await.status(),
        StatusCode::CREATED
    );
}
