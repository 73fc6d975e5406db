//! Refunds: by an admin in parts, by a cancellation, for money that came too late; never more
//! than was paid, each once.

use microshop_testkit::json;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::shop::{API_KEY, CARD_OK, Shop, admin, customer};

/// A paid order of a new buyer: (buyer, order, payment).
pub async fn paid_order(shop: &Shop) -> (i64, i64, Value) {
    let buyer = shop.user();
    let order = shop.confirmed_order(buyer, 1).await;
    let payment = shop.pay_order(buyer, order).await;
    shop.enter_card(&payment, CARD_OK).await;
    shop.order_reaches(order, "PAID").await;
    let payment = shop.payment(payment["id"].as_i64().unwrap()).await;
    (buyer, order, payment)
}

/// `POST /api/payments/refund` with `body` as `token`, with an optional idempotency key.
pub async fn refund(
    shop: &Shop,
    body: &Value,
    token: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = shop
        .payments()
        .client
        .http()
        .post(format!(
            "{}/api/payments/refund",
            shop.payments().client.base_url()
        ))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// What the sandbox says it refunded of `payment`'s session.
async fn refunded_at_the_provider(shop: &Shop, payment: &Value) -> i64 {
    let session = payment["checkout_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let response = shop
        .sandbox
        .client
        .get_as(&format!("/v1/checkout/sessions/{session}"), API_KEY)
        .await;
    json(response).await["refunded_cents"].as_i64().unwrap()
}

#[sqlx::test]
async fn an_admin_refunds_in_parts_never_more_than_was_paid(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (buyer, order, payment) = paid_order(&shop).await;
    let id = payment["id"].as_i64().unwrap();

    let denied = refund(&shop, &json!({"payment_id": id}), &customer(buyer), None).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let part = refund(
        &shop,
        &json!({"payment_id": id, "amount_cents": 299}),
        &admin(),
        None,
    )
    .await;
    assert_eq!(part.status(), StatusCode::CREATED);
    assert_eq!(json(part).await["status"], "SUCCEEDED");
    let payment = shop.payment_reaches(id, "PARTIALLY_REFUNDED").await;
    assert_eq!(payment["refunded_cents"], 299);

    let too_much = refund(
        &shop,
        &json!({"payment_id": id, "amount_cents": 1001}),
        &admin(),
        None,
    )
    .await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json(too_much).await["error"]["code"],
        "refund_exceeds_payment"
    );

    let rest = refund(&shop, &json!({"payment_id": id}), &admin(), None).await;
    assert_eq!(json(rest).await["amount_cents"], 1000);
    let payment = shop.payment_reaches(id, "REFUNDED").await;
    assert_eq!(payment["refunded_cents"], 1299);
    assert_eq!(payment["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(refunded_at_the_provider(&shop, &payment).await, 1299);

    let nothing = refund(&shop, &json!({"payment_id": id}), &admin(), None).await;
    assert_eq!(nothing.status(), StatusCode::CONFLICT);
    // The order's timeline tells of both refunds (payment.refunded).
    let timeline = json(
        shop.orders
            .client
            .get_as(&format!("/api/orders/{order}/timeline"), &admin())
            .await,
    )
    .await
    .to_string();
    assert!(
        timeline.contains("299 cents") && timeline.contains("1000 cents"),
        "{timeline}"
    );
}

#[sqlx::test]
async fn two_concurrent_refunds_of_everything_refund_once(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (_, _, payment) = paid_order(&shop).await;
    let id = payment["id"].as_i64().unwrap();
    let body = json!({"payment_id": id});

    // Without a key: one refund of everything, the other finds nothing left.
    let token = admin();
    let (a, b) = tokio::join!(
        refund(&shop, &body, &token, None),
        refund(&shop, &body, &token, None)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let payment = shop.payment_reaches(id, "REFUNDED").await;
    assert_eq!(refunded_at_the_provider(&shop, &payment).await, 1299);

    // With the same key: the same refund twice.
    let (_, _, other) = paid_order(&shop).await;
    let body = json!({"payment_id": other["id"], "amount_cents": 100});
    let (a, b) = tokio::join!(
        refund(&shop, &body, &token, Some("refund-7")),
        refund(&shop, &body, &token, Some("refund-7"))
    );
    let (a, b) = (json(a).await, json(b).await);
    assert_eq!(a["id"], b["id"]);
    let other = shop
        .payment_reaches(other["id"].as_i64().unwrap(), "PARTIALLY_REFUNDED")
        .await;
    assert_eq!(other["refunded_cents"], 100);
    assert_eq!(shop.count("select count(*) from refunds").await, 2);
}

#[sqlx::test]
async fn cancelling_a_paid_order_refunds_it_once(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (buyer, order, payment) = paid_order(&shop).await;
    let response = shop
        .orders
        .client
        .post_json_as(
            &format!("/api/orders/{order}/cancel"),
            &json!({}),
            &customer(buyer),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let payment = shop
        .payment_reaches(payment["id"].as_i64().unwrap(), "REFUNDED")
        .await;
    assert_eq!(payment["refunds"][0]["requested_by"], "order-service");
    assert_eq!(refunded_at_the_provider(&shop, &payment).await, 1299);
    assert_eq!(shop.count("select count(*) from refunds").await, 1);
}

#[sqlx::test]
async fn money_that_arrives_after_the_payment_timeout_goes_back(pool: PgPool) {
    let shop = Shop::start_with(
        pool,
        crate::shop::Options {
            order_args: &["--order-payment-timeout=1s"],
            ..Default::default()
        },
    )
    .await;
    let buyer = shop.user();
    let order = shop.confirmed_order(buyer, 1).await;
    let payment = shop.pay_order(buyer, order).await;
    shop.order_reaches(order, "CANCELLED").await;
    // The buyer pays on the page left open: the money is taken, then given back.
    shop.enter_card(&payment, CARD_OK).await;
    let payment = shop
        .payment_reaches(payment["id"].as_i64().unwrap(), "REFUNDED")
        .await;
    assert_eq!(payment["refunded_cents"], 1299);
    assert_eq!(shop.order(order).await["status"], "CANCELLED");
}
