//! Faults: the payment service down while the provider delivers, the broker down during a
//! success, a cancellation racing a success.

use std::time::Duration;

use microshop_testkit::{TcpProxy, eventually_within, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::shop::{CARD_OK, Options, Shop, customer};

#[sqlx::test]
async fn deliveries_to_a_stopped_payment_service_are_retried_until_it_is_back(pool: PgPool) {
    let mut shop = Shop::start(pool).await;
    let buyer = shop.user();
    let order = shop.confirmed_order(buyer, 1).await;
    let payment = shop.pay_order(buyer, order).await;

    shop.stop_payments();
    let answer = shop.enter_card(&payment, CARD_OK).await;
    assert_eq!(json(answer).await["status"], "succeeded");
    // Deliveries fail meanwhile (connection refused) and are retried.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(shop.order(order).await["status"], "CONFIRMED");

    shop.start_payments().await;
    shop.order_reaches(order, "PAID").await;
    assert_eq!(
        shop.payment(payment["id"].as_i64().unwrap()).await["status"],
        "SUCCEEDED"
    );
}

#[sqlx::test]
async fn a_success_while_the_broker_is_down_pays_the_order_once_it_is_back(pool: PgPool) {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let through = format!("amqp://guest:guest@{}/%2f", proxy.addr());
    let shop = Shop::start_with(
        pool,
        Options {
            payment_amqp_url: Some(through),
            ..Default::default()
        },
    )
    .await;
    let buyer = shop.user();
    let order = shop.confirmed_order(buyer, 1).await;
    let payment = shop.pay_order(buyer, order).await;

    proxy.cut().await;
    shop.enter_card(&payment, CARD_OK).await;
    // The webhook is applied (its event waits in the outbox)...
    shop.payment_reaches(payment["id"].as_i64().unwrap(), "SUCCEEDED")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(shop.order(order).await["status"], "CONFIRMED");
    assert_eq!(shop.count("select count(*) from outbox").await, 1);

    proxy.restore().await;
    eventually_within("the order is paid", Duration::from_secs(30), async || {
        (shop.order(order).await["status"] == "PAID").then_some(())
    })
    .await;
}

#[sqlx::test]
async fn a_cancellation_racing_a_success_ends_cancelled_and_refunded(pool: PgPool) {
    let shop = Shop::start(pool).await;
    for _ in 0..3 {
        let buyer = shop.user();
        let order = shop.confirmed_order(buyer, 1).await;
        let payment = shop.pay_order(buyer, order).await;
        let (path, body, token) = (
            format!("/api/orders/{order}/cancel"),
            json!({}),
            customer(buyer),
        );
        let cancel = shop.orders.client.post_json_as(&path, &body, &token);
        let (cancelled, paid) = tokio::join!(cancel, shop.enter_card(&payment, CARD_OK));
        assert_eq!(cancelled.status(), StatusCode::OK);
        assert_eq!(paid.status(), StatusCode::OK);
        // Whichever came first, the money goes back, once.
        let id = payment["id"].as_i64().unwrap();
        let refunded = shop.payment_reaches(id, "REFUNDED").await;
        assert_eq!(refunded["refunded_cents"], 1299);
        assert_eq!(refunded["refunds"].as_array().unwrap().len(), 1);
        assert_eq!(shop.order(order).await["status"], "CANCELLED");
    }
}
