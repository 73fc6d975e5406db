//! A customer's mails from sign-up to delivery, each once and in order.

use microshop_testkit::json;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::shop::{Shop, admin, customer};

#[sqlx::test]
async fn a_customer_gets_one_mail_for_each_step_from_sign_up_to_delivery(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (ann, email) = shop.register("Ann").await;

    // The welcome mail, through the real SMTP server.
    let mails = shop.smtp.wait_for(1).await;
    let welcome = &mails[0];
    assert_eq!(welcome.envelope_to, vec![email.clone()]);
    assert_eq!(welcome.subject.as_deref(), Some("Welcome to Microshop"));
    assert!(welcome.text.as_deref().unwrap().contains("Hello Ann,"));
    assert!(welcome.html.as_deref().unwrap().contains("Hello Ann,"));
    assert!(welcome.header("from").unwrap().contains("shop@example.com"));

    // Order, pay, ship, deliver.
    let product = shop.product().await;
    let body = json!({"product_id": product, "quantity": 2});
    let response = shop
        .orders
        .client
        .post_json_as("/api/orders", &body, &customer(ann))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order = json(response).await["id"].as_i64().unwrap();
    shop.order_reaches(order, "CONFIRMED").await;
    let payment = json(
        shop.orders
            .client
            .post_json_as(
                &format!("/api/orders/{order}/pay"),
                &json!(null),
                &customer(ann),
            )
            .await,
    )
    .await;
    let url = payment["checkout_url"].as_str().unwrap();
    let paid = shop
        .sandbox
        .client
        .http()
        .post(url)
        .json(&json!({"card_number": "4242 4242 4242 4242"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::OK);
    shop.order_reaches(order, "PAID").await;
    let path = format!("/api/orders/{order}/status");
    let ship = json!({"status": "SHIPPED", "tracking_number": "1Z999AA10123456784"});
    let response = shop.orders.client.put_json_as(&path, &ship, &admin()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let deliver = json!({"status": "DELIVERED"});
    let response = shop
        .orders
        .client
        .put_json_as(&path, &deliver, &admin())
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let mails = shop.smtp.wait_for(5).await;
    let subjects: Vec<_> = mails.iter().map(|m| m.subject.clone().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            "Welcome to Microshop".to_owned(),
            format!("Order {order} confirmed"),
            format!("Payment received for order {order}"),
            format!("Order {order} has shipped"),
            format!("Order {order} was delivered"),
        ]
    );
    assert!(mails.iter().all(|m| m.envelope_to == vec![email.clone()]));
    assert!(mails[1].text.as_deref().unwrap().contains("25.98"));
    assert!(
        mails[3]
            .text
            .as_deref()
            .unwrap()
            .contains("1Z999AA10123456784")
    );
    assert!(
        mails[4]
            .text
            .as_deref()
            .unwrap()
            .contains("http://shop.test/orders/")
    );
    // Each once: no second copy arrives, and every Message-ID is different.
    shop.all_settled().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = shop.smtp.messages();
    assert_eq!(mails.len(), 5);
    let mut ids: Vec<_> = mails
        .iter()
        .map(|m| m.header("message-id").unwrap().to_owned())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 5);

    // The customer's history lists them, newest first; another customer sees none of them.
    let history = json(
        shop.notifications()
            .client
            .get_as("/api/notifications/history", &customer(ann))
            .await,
    )
    .await;
    let templates: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["template"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        templates,
        [
            "order_delivered",
            "order_shipped",
            "order_paid",
            "order_confirmed",
            "welcome"
        ]
    );
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["status"] == "SENT")
    );
    let other = json(
        shop.notifications()
            .client
            .get_as("/api/notifications", &customer(ann + 1000))
            .await,
    )
    .await;
    assert_eq!(other, json!([]));
}
