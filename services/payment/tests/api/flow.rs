//! The pay flow: an order paid through the checkout page, declines, and who may pay what.

use microshop_testkit::json;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::shop::{CARD_DECLINED, CARD_NO_FUNDS, CARD_OK, SHOP_URL, Shop, admin, customer};

#[sqlx::test]
async fn an_order_is_paid_through_the_checkout_page(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let ann = shop.user();
    let order = shop.confirmed_order(ann, 2).await;

    let payment = shop.pay_order(ann, order).await;
    assert_eq!(payment["status"], "PENDING");
    assert_eq!(payment["order_id"], order);
    // The amount is the order's (2 × 12.99), read from the order service.
    assert_eq!(payment["amount_cents"], 2598);
    assert_eq!(payment["currency"], "USD");
    let url = payment["checkout_url"].as_str().unwrap().to_owned();

    // The buyer's browser opens the provider's page: a form for the card.
    let page = shop.sandbox.client.http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("card_number") && html.contains("25.98"),
        "{html}"
    );

    let answer = shop.enter_card(&payment, CARD_OK).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(json(answer).await["status"], "succeeded");

    // The provider's page, now showing the result, links back to the order in the shop.
    let page = shop.sandbox.client.http().get(&url).send().await.unwrap();
    let html = page.text().await.unwrap();
    let back = format!(r#"href="{SHOP_URL}/orders/{order}""#);
    assert!(html.contains(&back), "{html}");

    let id = payment["id"].as_i64().unwrap();
    let paid = shop.payment_reaches(id, "SUCCEEDED").await;
    assert!(paid["succeeded_at"].is_string());
    let order = shop.order_reaches(order, "PAID").await;
    assert_eq!(order["payment_id"], id);
    // Asking to pay a paid order is refused, naming its status.
    let again = shop
        .orders
        .client
        .post_json_as(
            &format!("/api/orders/{}/pay", order["id"]),
            &json!(null),
            &customer(ann),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(
        json(again).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PAID")
    );
    assert!(shop.metric("payments_total", "succeeded").await >= 1);
}

#[sqlx::test]
async fn a_declined_card_fails_the_payment_and_the_buyer_pays_again(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let ann = shop.user();
    let order = shop.confirmed_order(ann, 1).await;

    for (card, code) in [
        (CARD_DECLINED, "card_declined"),
        (CARD_NO_FUNDS, "insufficient_funds"),
    ] {
        let payment = shop.pay_order(ann, order).await;
        let answer = json(shop.enter_card(&payment, card).await).await;
        assert_eq!(answer["status"], "failed");
        assert_eq!(answer["failure_code"], code);
        let failed = shop
            .payment_reaches(payment["id"].as_i64().unwrap(), "FAILED")
            .await;
        assert_eq!(failed["failure_code"], code);
        // The declined session is closed at the provider.
        let closed = shop.enter_card(&payment, CARD_OK).await;
        assert_eq!(closed.status(), StatusCode::CONFLICT);
    }
    // Still waiting for payment; the failures are on its timeline.
    assert_eq!(shop.order(order).await["status"], "CONFIRMED");
    let timeline = json(
        shop.orders
            .client
            .get_as(&format!("/api/orders/{order}/timeline"), &customer(ann))
            .await,
    )
    .await;
    let notes = timeline.to_string();
    assert!(notes.contains("failed"), "{notes}");

    // A new payment pays the order.
    let payment = shop.pay_order(ann, order).await;
    assert_eq!(payment["status"], "PENDING");
    shop.enter_card(&payment, CARD_OK).await;
    shop.order_reaches(order, "PAID").await;
    assert_eq!(
        shop.count("select count(*) from payments where status = 'FAILED'")
            .await,
        2
    );
}

#[sqlx::test]
async fn only_the_buyer_pays_a_confirmed_order_once_with_the_order_s_amount(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (ann, bob) = (shop.user(), shop.user());
    let order = shop.confirmed_order(ann, 1).await;

    // Another buyer's order and an unknown one are as good as absent.
    for (buyer, id) in [(bob, order), (ann, 999_999)] {
        let response = shop.create_payment(buyer, id).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json(response).await["error"]["code"], "order_not_found");
    }
    // No token, no payment.
    let anonymous = shop
        .payments()
        .client
        .post_json("/api/payments", &json!({"order_id": order}))
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // The amount is never the client's.
    let priced = shop
        .payments()
        .client
        .post_json_as(
            "/api/payments",
            &json!({"order_id": order, "amount_cents": 1}),
            &customer(ann),
        )
        .await;
    assert!(priced.status().is_client_error());
    assert_eq!(shop.count("select count(*) from payments").await, 0);

    // The first call creates the payment, the next answers the open one.
    let first = shop.create_payment(ann, order).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json(first).await;
    let second = shop.create_payment(ann, order).await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(json(second).await["id"], first["id"]);

    // An idempotency key answers a retry with the same payment, and only for the same order.
    let other = shop.confirmed_order(ann, 1).await;
    let keyed = |order: i64| {
        shop.payments()
            .client
            .http()
            .post(format!(
                "{}/api/payments",
                shop.payments().client.base_url()
            ))
            .bearer_auth(customer(ann))
            .header("idempotency-key", "pay-once-7")
            .json(&json!({"order_id": order}))
            .send()
    };
    let created = keyed(other).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let replayed = keyed(other).await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(json(replayed).await["id"], created["id"]);
    let reused = keyed(order).await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bob sees neither Ann's payment nor her list; an admin sees both.
    let path = format!("/api/payments/{}", first["id"]);
    let hidden = shop.payments().client.get_as(&path, &customer(bob)).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let list = json(
        shop.payments()
            .client
            .get_as(&format!("/api/payments?order_id={order}"), &customer(bob))
            .await,
    )
    .await;
    assert_eq!(list, json!([]));
    let own = json(
        shop.payments()
            .client
            .get_as(&format!("/api/payments?order_id={order}"), &customer(ann))
            .await,
    )
    .await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    let all = json(
        shop.payments()
            .client
            .get_as("/api/payments", &admin())
            .await,
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}
