//! The whole order lifecycle through the real services: orders of several products shipped to a
//! copied address, payment (the payment service's event, published by the test), shipping,
//! delivery, cancellation with its stock and money given back, the timeline, the payment timeout,
//! and the races between a cancellation, a payment and the timeout.

use std::time::Duration;

use microshop_events::{Envelope, Event};
use microshop_testkit::{eventually, json};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{Options, Shop, admin, customer, refusal};

async fn shop_with_users(pool: PgPool, order_args: &'static [&'static str]) -> Shop {
    Shop::start_with(
        pool,
        Options {
            with_users: true,
            order_args,
            ..Options::default()
        },
    )
    .await
}

/// The events the order service published to `order.events` since `tap` was made.
async fn published(shop: &Shop, tap: &str) -> Vec<Envelope> {
    shop.broker.events(tap).await
}

fn of_order(events: &[Envelope], order_id: i64) -> Vec<&Event> {
    events
        .iter()
        .map(|e| &e.event)
        .filter(|event| {
            let id = match event {
                Event::OrderCreated(e) => e.order_id,
                Event::OrderConfirmed(e) => e.order_id,
                Event::OrderRejected(e) => e.order_id,
                Event::OrderPaid(e) => e.order_id,
                Event::OrderShipped(e) => e.order_id,
                Event::OrderDelivered(e) => e.order_id,
                Event::OrderCancelled(e) => e.order_id,
                _ => return false,
            };
            id == order_id
        })
        .collect()
}

async fn post(shop: &Shop, path: &str, body: &Value, token: &str) -> reqwest::Response {
    shop.orders.client.post_json_as(path, body, token).await
}

async fn put(shop: &Shop, path: &str, body: &Value, token: &str) -> reqwest::Response {
    shop.orders.client.put_json_as(path, body, token).await
}

#[sqlx::test]
async fn an_order_of_several_products_is_priced_shipped_to_a_copied_address_and_confirmed(
    pool: PgPool,
) {
    let shop = shop_with_users(pool, &[]).await;
    let (buyer, address) = shop.buyer_with_address("ann").await;
    let laptop = shop.product(10).await;
    let mouse = {
        let body = json!({"name": "Mouse", "price": 19.99, "stock": 5});
        let response = shop
            .products()
            .client
            .post_json_as("/api/products", &body, &admin())
            .await;
        json(response).await["id"].as_i64().unwrap()
    };

    let response = shop
        .order_items(buyer, &[(laptop, 2), (mouse, 3)], address)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order = json(response).await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!(order["items"][0]["product_id"], laptop);
    assert_eq!(order["items"][1]["unit_price"], 19.99);
    assert_eq!(order["items"][1]["line_total"], 59.97);
    assert_eq!(
        order["total_price"], 26057.97,
        "2 × 12,999.00 + 3 × 19.99, in cents"
    );
    assert!(
        order.get("product_id").is_none(),
        "several lines: no one product"
    );
    assert_eq!(order["shipping_address"]["city"], "Berlin");

    assert_eq!(shop.settled(id).await["status"], "CONFIRMED");
    assert_eq!(shop.stock(laptop).await, 8);
    assert_eq!(shop.stock(mouse).await, 2);

    // Later changes of the address and of a price do not touch the order.
    let users = shop.users.as_ref().unwrap();
    let moved = json!({"name": "ann", "line1": "Elsewhere 1", "city": "Hamburg",
                       "postal_code": "20095", "country": "DE"});
    let response = users
        .client
        .put_json_as(
            &format!("/api/users/addresses/{address}"),
            &moved,
            &customer(buyer),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = shop
        .products()
        .client
        .send_as(
            reqwest::Method::PATCH,
            &format!("/api/products/{mouse}"),
            Some(&admin()),
            Some(&json!({"price": 24.99})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let order = json(shop.get(&format!("/api/orders/{id}")).await).await;
    assert_eq!(order["shipping_address"]["city"], "Berlin");
    assert_eq!(order["items"][1]["unit_price"], 19.99);
    assert_eq!(order["total_price"], 26057.97);
}

#[sqlx::test]
async fn an_address_must_be_the_buyers_own_and_lines_must_be_well_formed(pool: PgPool) {
    let shop = shop_with_users(pool, &[]).await;
    let (ann, _) = shop.buyer_with_address("ann").await;
    let (_, bobs_address) = shop.buyer_with_address("bob").await;
    let product = shop.product(10).await;

    let (status, code, _) =
        refusal(shop.order_items(ann, &[(product, 1)], bobs_address).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "address_not_found")
    );

    let token = customer(ann);
    for (body, why) in [
        (
            json!({"items": [{"product_id": product, "quantity": 1}]}),
            "no address",
        ),
        (json!({"items": [], "address_id": 1}), "no lines"),
        (
            json!({"items": [{"product_id": product, "quantity": 10_000},
                             {"product_id": product, "quantity": 1}], "address_id": 1}),
            "a product listed twice, past 10,000 units in all",
        ),
        (
            json!({"items": [{"product_id": product, "quantity": 1}],
                   "product_id": product, "quantity": 1, "address_id": 1}),
            "both shapes",
        ),
        (json!({"product_id": product}), "no quantity"),
        (
            json!({"items": [{"product_id": product, "quantity": 0}], "address_id": 1}),
            "quantity 0",
        ),
    ] {
        let response = post(&shop, "/api/orders", &body, &token).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let missing = shop
        .order_items(ann, &[(product, 1), (999_999, 1)], 1)
        .await;
    let (status, code, message) = refusal(missing).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "product_not_found")
    );
    assert!(message.contains("999999"), "{message}");
    let count: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&shop.order_pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was written");
}

#[sqlx::test]
async fn competing_orders_for_the_last_unit_leave_one_confirmed_and_nothing_half_reserved(
    pool: PgPool,
) {
    let shop = shop_with_users(pool, &[]).await;
    let (buyer, address) = shop.buyer_with_address("race").await;
    let plenty = shop.product(5).await;
    let last = shop.product(1).await;

    let (one, two) = ([(last, 1)], [(plenty, 2), (last, 1)]);
    let (a, b) = tokio::join!(
        shop.order_items(buyer, &one, address),
        shop.order_items(buyer, &two, address),
    );
    let a = json(a).await["id"].as_i64().unwrap();
    let b = json(b).await["id"].as_i64().unwrap();
    let (a, b) = (shop.settled(a).await, shop.settled(b).await);

    let statuses = [a["status"].as_str().unwrap(), b["status"].as_str().unwrap()];
    assert!(
        statuses == ["CONFIRMED", "REJECTED"] || statuses == ["REJECTED", "CONFIRMED"],
        "{statuses:?}"
    );
    let rejected = if a["status"] == "REJECTED" { &a } else { &b };
    assert!(
        rejected["reason"]
            .as_str()
            .unwrap()
            .contains(&last.to_string()),
        "the reason names the short product: {rejected}"
    );
    assert_eq!(shop.stock(last).await, 0);
    let plenty_left = if b["status"] == "CONFIRMED" { 3 } else { 5 };
    assert_eq!(shop.stock(plenty).await, plenty_left, "all lines or none");
}

#[sqlx::test]
async fn a_paid_order_is_shipped_then_delivered_and_its_timeline_tells_it(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let tap = shop.broker.tap(&shop.broker.topology.order_events()).await;
    let buyer = shop.user("ann");
    let product = shop.product(10).await;
    let id = shop.confirmed_order(buyer, product, 2).await;

    shop.pay(id, 501, 2_599_800).await;
    let paid = shop.reaches(id, "PAID").await;
    assert_eq!(paid["payment_id"], 501);
    // The same payment again changes nothing.
    shop.pay(id, 501, 2_599_800).await;

    let path = format!("/api/orders/{id}/status");
    let ship = json!({"status": "SHIPPED", "tracking_number": "1Z999AA10123456784"});
    let (status, code, _) = refusal(put(&shop, &path, &ship, &customer(buyer)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "admin_only")
    );
    let response = put(&shop, &path, &json!({"status": "SHIPPED"}), &admin()).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no tracking number"
    );
    let response = put(&shop, &path, &ship, &admin()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let shipped = json(response).await;
    assert_eq!(shipped["status"], "SHIPPED");
    assert_eq!(shipped["tracking_number"], "1Z999AA10123456784");
    // Asking again with the same number answers the order; another number is a conflict.
    assert_eq!(
        put(&shop, &path, &ship, &admin()).await.status(),
        StatusCode::OK
    );
    let other = json!({"status": "SHIPPED", "tracking_number": "OTHER-1234"});
    assert_eq!(
        put(&shop, &path, &other, &admin()).await.status(),
        StatusCode::CONFLICT
    );

    let response = put(&shop, &path, &json!({"status": "DELIVERED"}), &admin()).await;
    assert_eq!(json(response).await["status"], "DELIVERED");
    let cancel = post(
        &shop,
        &format!("/api/orders/{id}/cancel"),
        &json!({}),
        &admin(),
    )
    .await;
    let (status, code, message) = refusal(cancel).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    assert!(message.contains("DELIVERED"), "{message}");

    let timeline = json(
        shop.orders
            .client
            .get_as(&format!("/api/orders/{id}/timeline"), &customer(buyer))
            .await,
    )
    .await;
    let steps: Vec<(String, String)> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["to"].as_str().unwrap().to_owned(),
                entry["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("PENDING", "customer"),
        ("CONFIRMED", "product-service"),
        ("PAID", "payment-service"),
        ("SHIPPED", "admin"),
        ("DELIVERED", "admin"),
    ];
    assert_eq!(
        steps,
        expected.map(|(s, a)| (s.to_owned(), a.to_owned())),
        "{timeline}"
    );
    assert_eq!(timeline[3]["reason"], "tracking number 1Z999AA10123456784");
    assert!(timeline[0]["at"].is_string());

    let events = published(&shop, &tap).await;
    let kinds: Vec<&str> = of_order(&events, id)
        .iter()
        .map(|e| e.type_name())
        .collect();
    assert_eq!(
        kinds,
        [
            "order.created",
            "order.confirmed",
            "order.paid",
            "order.shipped",
            "order.delivered"
        ]
    );
    // The product service recorded the purchase from order.delivered: the buyer's review of
    // the product is a verified purchase.
    let review = shop
        .products()
        .client
        .post_json_as(
            &format!("/api/products/{product}/reviews"),
            &json!({"rating": 5, "text": "fast"}),
            &customer(buyer),
        )
        .await;
    assert_eq!(review.status(), StatusCode::CREATED);
    eventually("the review shows a verified purchase", async || {
        let reviews = json(
            shop.products()
                .client
                .get(&format!("/api/products/{product}/reviews"))
                .await,
        )
        .await;
        reviews[0]["verified_purchase"] == true
    })
    .await;
}

#[sqlx::test]
async fn cancelling_gives_the_stock_back_once_and_a_paid_order_its_money(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let tap = shop.broker.tap(&shop.broker.topology.order_events()).await;
    let product = shop.product(10).await;
    let buyer = shop.user("ann");
    let unpaid = shop.confirmed_order(buyer, product, 2).await;
    let paid = shop.confirmed_order(buyer, product, 3).await;
    shop.pay(paid, 7, 3_899_700).await;
    shop.reaches(paid, "PAID").await;
    assert_eq!(shop.stock(product).await, 5);

    let other = shop.user("mallory");
    let path = format!("/api/orders/{unpaid}/cancel");
    let response = post(&shop, &path, &json!({}), &customer(other)).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "not another buyer's order"
    );

    let response = post(
        &shop,
        &path,
        &json!({"reason": "changed my mind"}),
        &customer(buyer),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled = json(response).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["reason"], "changed my mind");
    assert_eq!(cancelled["refund"], false);
    // Again: the order as it is, nothing more.
    let again = shop
        .orders
        .client
        .send_as(reqwest::Method::POST, &path, Some(&customer(buyer)), None)
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    let response = post(
        &shop,
        &format!("/api/orders/{paid}/cancel"),
        &json!({}),
        &customer(buyer),
    )
    .await;
    let cancelled = json(response).await;
    assert_eq!(cancelled["refund"], true);

    eventually("both orders' stock is back", async || {
        shop.stock(product).await == 10
    })
    .await;
    let events = published(&shop, &tap).await;
    for (id, refund) in [(unpaid, false), (paid, true)] {
        let cancellations: Vec<bool> = of_order(&events, id)
            .iter()
            .filter_map(|e| match e {
                Event::OrderCancelled(c) => Some(c.refund),
                _ => None,
            })
            .collect();
        assert_eq!(cancellations, [refund], "order {id}: one order.cancelled");
    }
    // Stock came back exactly once: 10, not more, even after a while.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(shop.stock(product).await, 10);
}

#[sqlx::test]
async fn moves_the_status_does_not_allow_are_409_naming_it(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let product = shop.product(10).await;
    let buyer = shop.user("ann");
    let id = shop.confirmed_order(buyer, product, 1).await;
    let path = format!("/api/orders/{id}/status");
    for (body, current) in [
        (
            json!({"status": "SHIPPED", "tracking_number": "TRACK-0001"}),
            "CONFIRMED",
        ),
        (json!({"status": "DELIVERED"}), "CONFIRMED"),
    ] {
        let (status, code, message) = refusal(put(&shop, &path, &body, &admin()).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::CONFLICT, "invalid_transition")
        );
        assert!(message.contains(current), "{message}");
    }
    for bad in [
        json!({"status": "PAID"}),
        json!({"status": "shipped", "tracking_number": "TRACK-0001"}),
        json!({"status": "SHIPPED", "tracking_number": "no spaces allowed"}),
    ] {
        let status = put(&shop, &path, &bad, &admin()).await.status();
        assert!(
            status.is_client_error() && status != StatusCode::CONFLICT,
            "{bad}: {status}"
        );
    }
    let order = json(shop.get(&format!("/api/orders/{id}")).await).await;
    assert_eq!(order["status"], "CONFIRMED", "nothing changed");
    let response = shop
        .orders
        .client
        .send_as(
            reqwest::Method::POST,
            &format!("/api/orders/{id}/cancel"),
            None,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn an_unpaid_order_is_cancelled_after_the_payment_timeout_and_its_stock_comes_back(
    pool: PgPool,
) {
    let shop = Shop::start_with(
        pool,
        Options {
            order_args: &["--order-payment-timeout", "1s"],
            ..Options::default()
        },
    )
    .await;
    let product = shop.product(10).await;
    let buyer = shop.user("slow");
    let id = shop.confirmed_order(buyer, product, 4).await;
    assert_eq!(shop.stock(product).await, 6);

    let order = shop.reaches(id, "CANCELLED").await;
    assert!(
        order["reason"]
            .as_str()
            .unwrap()
            .contains("not paid within"),
        "{order}"
    );
    assert_eq!(order["refund"], false);
    eventually("the stock is back", async || {
        shop.stock(product).await == 10
    })
    .await;
    let timeline = json(shop.get(&format!("/api/orders/{id}/timeline")).await).await;
    assert_eq!(
        timeline.as_array().unwrap().last().unwrap()["actor"],
        "system"
    );

    // A payment that arrives now is refunded, and the order stays cancelled.
    let tap = shop.broker.tap(&shop.broker.topology.order_events()).await;
    shop.pay(id, 9, 5_199_600).await;
    let refund = microshop_testkit::eventually_some("a refund is asked", async || {
        shop.broker
            .events(&tap)
            .await
            .into_iter()
            .find_map(|e| match e.event {
                Event::OrderCancelled(c) if c.order_id == id => Some(c),
                _ => None,
            })
    })
    .await;
    assert!(refund.refund);
    assert_eq!(shop.reaches(id, "CANCELLED").await["status"], "CANCELLED");
    assert_eq!(shop.stock(product).await, 10, "the stock came back once");
}

/// A cancellation by the buyer, the payment and the payment timeout, all at once, for many
/// orders: each ends in one consistent state, its stock back exactly once and a refund asked
/// exactly once whenever money was taken.
#[sqlx::test]
async fn cancellation_payment_and_timeout_racing_end_in_one_consistent_state(pool: PgPool) {
    let shop = Shop::start_with(
        pool,
        Options {
            order_args: &["--order-payment-timeout", "1s"],
            ..Options::default()
        },
    )
    .await;
    let tap = shop.broker.tap(&shop.broker.topology.order_events()).await;
    let product = shop.product(100).await;
    let buyer = shop.user("racer");
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(shop.confirmed_order(buyer, product, 2).await);
    }
    // Around the moment the timeout strikes, the buyer cancels and the money arrives.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let races = ids.iter().enumerate().map(|(n, &id)| {
        let shop = &shop;
        async move {
            let delay = Duration::from_millis(20 * (n as u64 % 6));
            tokio::time::sleep(delay).await;
            let cancel = async {
                shop.orders
                    .client
                    .send_as(
                        reqwest::Method::POST,
                        &format!("/api/orders/{id}/cancel"),
                        Some(&customer(buyer)),
                        None,
                    )
                    .await
                    .status()
            };
            let (status, ()) = tokio::join!(cancel, shop.pay(id, 1_000 + id, 2_599_800));
            assert!(
                status == StatusCode::OK || status == StatusCode::CONFLICT,
                "cancel answered {status}"
            );
        }
    });
    futures::future::join_all(races).await;

    // Every order ends CANCELLED: the buyer's cancellation is allowed from CONFIRMED and PAID,
    // and a payment for an order already cancelled is refunded rather than applied.
    for &id in &ids {
        shop.reaches(id, "CANCELLED").await;
    }
    eventually("all stock is back", async || {
        shop.stock(product).await == 100
    })
    .await;
    let mut events: Vec<Envelope> = Vec::new();
    eventually("every payment was answered", async || {
        events.extend(shop.broker.events(&tap).await);
        ids.iter().all(|&id| {
            of_order(&events, id)
                .iter()
                .any(|e| matches!(e, Event::OrderCancelled(c) if c.refund))
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    events.extend(shop.broker.events(&tap).await);
    for &id in &ids {
        let mine = of_order(&events, id);
        let refunds = mine
            .iter()
            .filter(|e| matches!(e, Event::OrderCancelled(c) if c.refund))
            .count();
        assert_eq!(
            refunds, 1,
            "order {id}: the money is asked back exactly once: {mine:?}"
        );
        let paid = mine
            .iter()
            .filter(|e| matches!(e, Event::OrderPaid(_)))
            .count();
        assert!(paid <= 1, "order {id} paid once at most");
    }
    assert_eq!(
        shop.stock(product).await,
        100,
        "stock came back exactly once per order"
    );
}
