//! The order service while its dependencies fail.

use std::time::Duration;

use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Shop, start_users};

#[sqlx::test]
async fn with_the_user_service_down_orders_get_503_then_the_breaker_opens_and_recovers(
    pool: PgPool,
) {
    // A one-second cool-down keeps the test short; the default is three.
    let mut shop = Shop::start_with(pool, &["--breaker-cool-down-ms", "1000"]).await;
    let user = shop.user("dora@example.com").await;
    let product = shop.product(50).await;

    drop(shop.users.take());
    let mut last = None;
    for _ in 0..6 {
        let response = shop.order(user, product, 1).await;
        assert!(response.headers().contains_key("retry-after"));
        last = Some(
            checks::assert_error(
                response,
                StatusCode::SERVICE_UNAVAILABLE,
                "user service down",
            )
            .await,
        );
    }
    assert_eq!(last.unwrap()["error"]["code"], "upstream_unavailable");
    let metrics = shop
        .orders
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"circuit_breaker_state{upstream="user-service",service="order-service"} 1"#
        ),
        "{metrics}"
    );

    shop.users = Some(start_users(&shop.user_db, shop.user_port).await);
    let mut recovered = None;
    for _ in 0..50 {
        let response = shop.order(user, product, 1).await;
        if response.status() == StatusCode::CREATED {
            recovered = Some(json(response).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let order = recovered.expect("orders succeed again within 5 s of the user service returning");
    assert_eq!(
        shop.settled(order["id"].as_i64().unwrap()).await["status"],
        "CONFIRMED"
    );
}
