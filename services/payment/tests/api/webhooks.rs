//! The provider's webhook: signatures, each event once, never backwards, in any order.

use microshop_testkit::{eventually, json};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::shop::{CARD_OK, Shop, WEBHOOK_SECRET, now, provider_event};

/// A pending payment of a new confirmed order of a new buyer.
async fn pending_payment(shop: &Shop) -> (i64, Value) {
    let buyer = shop.user();
    let order = shop.confirmed_order(buyer, 1).await;
    (order, shop.pay_order(buyer, order).await)
}

#[sqlx::test]
async fn forged_stale_and_malformed_signatures_are_refused_and_change_nothing(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (order, payment) = pending_payment(&shop).await;
    let success = provider_event("checkout.succeeded", &payment, &json!({}));

    let forged = shop
        .deliver(&success, "whsec_guessed_by_an_attacker", now())
        .await;
    let stale = shop.deliver(&success, WEBHOOK_SECRET, now() - 6 * 60).await;
    let future = shop.deliver(&success, WEBHOOK_SECRET, now() + 6 * 60).await;
    let unsigned = shop
        .payments()
        .client
        .post_json("/api/payments/callback", &success)
        .await;
    let mut altered = shop.deliver(&success, WEBHOOK_SECRET, now()).await;
    // (that one is genuine: it is applied; the altered copy below is not)
    assert_eq!(altered.status(), StatusCode::OK);
    let body = serde_json::to_vec(&success).unwrap();
    let signature = microshop_webhook::sign(
        &secrecy::SecretString::from(WEBHOOK_SECRET.to_owned()),
        now(),
        &body,
    );
    let mut tampered = success.clone();
    tampered["data"]["amount_cents"] = json!(1);
    altered = shop
        .payments()
        .client
        .http()
        .post(format!(
            "{}/api/payments/callback",
            shop.payments().client.base_url()
        ))
        .header("microshop-signature", signature)
        .body(serde_json::to_vec(&tampered).unwrap())
        .send()
        .await
        .unwrap();
    for response in [forged, stale, future, unsigned, altered] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json(response).await["error"]["code"], "signature_invalid");
    }
    assert_eq!(
        shop.metric("payment_webhook_signature_failures_total", "mismatch")
            .await,
        2
    );
    assert_eq!(
        shop.metric("payment_webhook_signature_failures_total", "stale")
            .await,
        2
    );
    assert_eq!(
        shop.metric("payment_webhook_signature_failures_total", "malformed")
            .await,
        1
    );
    // Only the genuine delivery counted: one provider event, one success.
    assert_eq!(shop.count("select count(*) from provider_events").await, 1);
    shop.order_reaches(order, "PAID").await;

    // A replay of the genuine delivery within the tolerance changes nothing.
    let replay = shop.deliver(&success, WEBHOOK_SECRET, now()).await;
    assert_eq!(json(replay).await["outcome"], "duplicate");
}

#[sqlx::test]
async fn ten_copies_of_each_delivery_pay_the_order_once(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let tap = shop
        .broker
        .tap(&shop.broker.topology.payment_events())
        .await;
    shop.sandbox_settings(json!({"duplicates": 10})).await;
    let (order, payment) = pending_payment(&shop).await;
    shop.enter_card(&payment, CARD_OK).await;
    shop.order_reaches(order, "PAID").await;
    eventually("ten copies delivered", async || {
        shop.metric("http_requests_total", "/api/payments/callback")
            .await
            >= 10
    })
    .await;
    assert_eq!(shop.count("select count(*) from provider_events").await, 1);
    let succeeded: Vec<_> = shop
        .broker
        .events(&tap)
        .await
        .into_iter()
        .filter(|e| e.event.type_name() == "payment.succeeded")
        .collect();
    assert_eq!(succeeded.len(), 1);
    let timeline = shop
        .orders
        .client
        .get_as(
            &format!("/api/orders/{order}/timeline"),
            &crate::shop::admin(),
        )
        .await;
    let entries = json(timeline).await.to_string();
    assert_eq!(entries.matches("\"PAID\"").count(), 1, "{entries}");
}

#[sqlx::test]
async fn late_or_reordered_events_never_move_a_payment_backwards(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (_, first) = pending_payment(&shop).await;
    let (second_order, second) = pending_payment(&shop).await;

    // The provider's own deliveries, held and released in reverse order.
    shop.sandbox_settings(json!({"hold": true})).await;
    shop.enter_card(&first, CARD_OK).await;
    shop.enter_card(&second, CARD_OK).await;
    assert_eq!(shop.release("reversed").await, 2);
    shop.payment_reaches(first["id"].as_i64().unwrap(), "SUCCEEDED")
        .await;
    shop.payment_reaches(second["id"].as_i64().unwrap(), "SUCCEEDED")
        .await;
    shop.sandbox_settings(json!({"hold": false})).await;

    // A decline delivered after the success is stale.
    let decline = provider_event(
        "checkout.failed",
        &first,
        &json!({"failure_code": "card_declined", "failure_message": "declined"}),
    );
    let answer = shop.deliver(&decline, WEBHOOK_SECRET, now()).await;
    assert_eq!(json(answer).await["outcome"], "stale");
    assert_eq!(
        shop.payment(first["id"].as_i64().unwrap()).await["status"],
        "SUCCEEDED"
    );
    assert_eq!(shop.order(second_order).await["status"], "PAID");
}

#[sqlx::test]
async fn events_for_unknown_payments_or_types_change_nothing(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (_, payment) = pending_payment(&shop).await;
    let unknown = json!({"id": 999_999, "checkout_url": "http://x/checkout/cs_x",
                         "amount_cents": 100, "currency": "USD"});
    let event = provider_event("checkout.succeeded", &unknown, &json!({}));
    let answer = shop.deliver(&event, WEBHOOK_SECRET, now()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(json(answer).await["outcome"], "unknown_payment");
    let other = provider_event("customer.created", &payment, &json!({}));
    let answer = shop.deliver(&other, WEBHOOK_SECRET, now()).await;
    assert_eq!(json(answer).await["outcome"], "unhandled_type");
    // Another amount than the payment's is not applied.
    let mut wrong = provider_event("checkout.succeeded", &payment, &json!({}));
    wrong["data"]["amount_cents"] = json!(1);
    let answer = shop.deliver(&wrong, WEBHOOK_SECRET, now()).await;
    assert_eq!(json(answer).await["outcome"], "amount_mismatch");
    // Signed but not an event: 400.
    let answer = shop
        .deliver(&json!({"hello": "world"}), WEBHOOK_SECRET, now())
        .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        shop.payment(payment["id"].as_i64().unwrap()).await["status"],
        "PENDING"
    );
    assert_eq!(
        shop.count("select count(*) from payments where status <> 'PENDING'")
            .await,
        0
    );
}

#[sqlx::test]
async fn a_webhook_that_arrives_before_the_create_call_answers_is_applied(pool: PgPool) {
    let shop = Shop::start(pool).await;
    // The sandbox pays the session and delivers its webhook before answering the create call.
    shop.sandbox_settings(json!({"pay_on_create": CARD_OK}))
        .await;
    let buyer = shop.user();
    let order = shop.confirmed_order(buyer, 1).await;
    let response = shop.create_payment(buyer, order).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let payment = json(response).await;
    // The create call found the payment already settled and kept it so.
    assert_eq!(payment["status"], "SUCCEEDED");
    assert!(payment["checkout_url"].is_string());
    shop.order_reaches(order, "PAID").await;
}
