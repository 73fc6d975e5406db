//! Every order ends: an order whose stock answer does not come is sent again under the same
//! event id, then rejected with a reason, and stock reserved for it too late is given back.

use microshop_events::{Envelope, Event, ShortLine, StockLine, StockRejected, StockReserved};
use microshop_messaging::{OutgoingMessage, Publisher};
use microshop_testkit::{eventually, eventually_some, json};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Options, Shop};

/// A shop whose product service does not consume (the test decides when it does), with a
/// one-second reservation timeout.
async fn shop_without_product_consumer(pool: PgPool) -> Shop {
    Shop::start_with(
        pool,
        Options {
            order_args: &["--order-reservation-timeout", "1s"],
            product_args: &["--amqp-consume", "false"],
            ..Options::default()
        },
    )
    .await
}

/// Takes the next message of the product service's queue, waiting for it.
async fn next_order_event(shop: &Shop) -> Envelope {
    let queue = shop.broker.topology.product_order_events();
    eventually_some(
        "an order event reaches the product service's queue",
        async || {
            let message = shop.broker.take(&queue).await?;
            Some(Envelope::from_json(&message.delivery.data).unwrap())
        },
    )
    .await
}

#[sqlx::test]
async fn an_order_whose_event_was_lost_is_sent_again_under_the_same_id_and_confirmed(pool: PgPool) {
    let shop = shop_without_product_consumer(pool).await;
    let user = shop.user("lost");
    let product = shop.product(10).await;
    let response = shop.order(user, product, 2).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = json(response).await["id"].as_i64().unwrap();

    // The event is taken off the queue and dropped: as good as lost.
    let lost = next_order_event(&shop).await;
    let again = next_order_event(&shop).await;

    assert_eq!(again.id, lost.id, "sent again under the same event id");
    assert_eq!(again.event, lost.event);
    Publisher::new(
        shop.broker.broker.clone(),
        shop.broker.topology.order_events(),
    )
    .publish(&[OutgoingMessage::from_envelope(&again)])
    .await
    .unwrap();
    let _worker = shop.start_product_worker().await;
    assert_eq!(shop.settled(id).await["status"], "CONFIRMED");
    assert_eq!(shop.stock(product).await, 8);
}

#[sqlx::test]
async fn an_order_without_any_answer_is_rejected_with_a_reason_and_stock_reserved_later_comes_back(
    pool: PgPool,
) {
    let shop = shop_without_product_consumer(pool).await;
    let user = shop.user("patient");
    let product = shop.product(5).await;
    let id = json(shop.order(user, product, 2).await).await["id"]
        .as_i64()
        .unwrap();

    let order = shop.settled(id).await;

    assert_eq!(order["status"], "REJECTED");
    let reason = order["reason"].as_str().unwrap();
    assert!(reason.contains("did not answer within 2 s"), "{reason}");
    // The product service wakes up: it finds the order twice (same id), its rejection (which
    // it ignores) and its cancellation.
    let queue = shop.broker.topology.product_order_events();
    eventually(
        "both copies, the rejection and the cancellation are queued",
        async || shop.broker.depth(&queue).await == 4,
    )
    .await;
    let _worker = shop.start_product_worker().await;
    // Reserved once (the second copy is a duplicate), then given back once.
    eventually("the reservation is given back", async || {
        let released: i64 = sqlx::query_scalar(
            "select count(*) from stock_reservations where order_id = $1 and status = 'released'",
        )
        .bind(id)
        .fetch_one(&shop.product_db.pool)
        .await
        .unwrap();
        released == 1
    })
    .await;
    assert_eq!(shop.settled(id).await["status"], "REJECTED", "and stays so");
    assert_eq!(shop.stock(product).await, 5);
}

#[sqlx::test]
async fn stock_reserved_for_an_order_already_rejected_is_asked_back(pool: PgPool) {
    let shop = shop_without_product_consumer(pool).await;
    let user = shop.user("late");
    let product = shop.product(5).await;
    let id = json(shop.order(user, product, 1).await).await["id"]
        .as_i64()
        .unwrap();
    next_order_event(&shop).await;
    let publisher = Publisher::new(
        shop.broker.broker.clone(),
        shop.broker.topology.product_events(),
    );
    let publish = async |answer| {
        let message = OutgoingMessage::from_envelope(&Envelope::new(answer));
        publisher.publish(&[message]).await.unwrap();
    };
    publish(Event::StockRejected(StockRejected {
        order_id: id,
        reason: "only 0 left".into(),
        lines: vec![ShortLine {
            product_id: product,
            requested: 1,
            available: 0,
            reason: "only 0 left".into(),
        }],
    }))
    .await;
    assert_eq!(shop.settled(id).await["status"], "REJECTED");

    publish(Event::StockReserved(StockReserved {
        order_id: id,
        items: vec![StockLine {
            product_id: product,
            quantity: 1,
            remaining: 4,
        }],
    }))
    .await;

    // order.rejected announced the rejection; then the late reservation is asked back.
    let rejected = next_order_event(&shop).await;
    assert!(
        matches!(rejected.event, Event::OrderRejected(_)),
        "{rejected:?}"
    );
    let cancelled = next_order_event(&shop).await;
    let Event::OrderCancelled(cancelled) = cancelled.event else {
        panic!("expected order.cancelled, got {cancelled:?}")
    };
    assert_eq!(cancelled.order_id, id);
    assert_eq!(cancelled.items[0].quantity, 1);
    assert!(!cancelled.refund);
    assert_eq!(shop.settled(id).await["status"], "REJECTED");
}
