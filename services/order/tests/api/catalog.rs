//! The order service's read model of products: kept up to date by the product service's
//! events, completed on demand by one call to the product service, then served locally.

use microshop_events::{Envelope, Event, ProductStockUpdated, ProductUpdated};
use microshop_messaging::outbox::Outbox;
use microshop_testkit::{eventually, eventually_some, json};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::cart::client::{add, archive, buyer, cart, product};
use crate::helpers::{Options, Shop, admin, metric_sum};

/// `(name, price_cents, stock, archived, version)` of product `id` in the read model.
type Known = (String, i64, Option<i64>, bool, i64);

async fn known(pool: &PgPool, id: i64) -> Option<Known> {
    sqlx::query_as("select name, price_cents, stock, archived, version from products where id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

/// Calls the order service made to the product service, whatever their outcome.
async fn upstream_calls(shop: &Shop) -> u64 {
    metric_sum(shop, "upstream_requests_total", "product-service").await
}

#[sqlx::test]
async fn a_created_product_reaches_the_order_read_model_through_its_event(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let id = product(&shop, "Laptop", 12999.0, 50).await;
    let created = eventually_some("the new product reaches the read model", async || {
        known(&pool, id).await
    })
    .await;
    assert_eq!(
        (created.0.as_str(), created.1, created.3),
        ("Laptop", 1_299_900, false)
    );
}

#[sqlx::test]
async fn edited_restocked_ordered_and_archived_products_reach_the_order_read_model(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let id = product(&shop, "Laptop", 12999.0, 50).await;

    let path = format!("/api/products/{id}");
    let edited = shop
        .products()
        .client
        .send_as(
            Method::PATCH,
            &path,
            Some(&admin()),
            Some(&json!({"name": "Laptop Pro", "price": 1499.5})),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let version = json(edited).await["version"].as_i64().unwrap();
    eventually("the edit reaches the read model", async || {
        known(&pool, id)
            .await
            .is_some_and(|p| p.0 == "Laptop Pro" && p.1 == 149_950 && p.4 == version)
    })
    .await;

    let restocked = shop
        .products()
        .client
        .put_json_as(
            &format!("/api/inventory/{id}"),
            &json!({"stock": 70}),
            &admin(),
        )
        .await;
    assert_eq!(restocked.status(), StatusCode::OK);
    eventually("the stock reaches the read model", async || {
        known(&pool, id).await.is_some_and(|p| p.2 == Some(70))
    })
    .await;
    // An order takes stock too: the reservation's stock change arrives as well.
    let ordered = shop.order(shop.user("ann"), id, 5).await;
    assert_eq!(ordered.status(), StatusCode::CREATED);
    eventually("the reservation reaches the read model", async || {
        known(&pool, id).await.is_some_and(|p| p.2 == Some(65))
    })
    .await;

    archive(&shop, id).await;
    let archived = eventually_some("the archive reaches the read model", async || {
        known(&pool, id).await.filter(|p| p.3)
    })
    .await;
    assert_eq!(archived.0, "Laptop Pro", "the rest is kept");
    assert_eq!(archived.2, Some(65));
    assert!(archived.4 > version);
}

#[sqlx::test]
async fn a_product_the_read_model_never_heard_of_is_fetched_once_then_served_locally(pool: PgPool) {
    // Without a consumer, the order service hears of no product through events.
    let options = Options {
        order_args: &["--amqp-consume=false"],
        ..Options::default()
    };
    let shop = Shop::start_with(pool.clone(), options).await;
    let ann = buyer(&shop, shop.user("ann"));
    let mouse = product(&shop, "Mouse", 19.99, 30).await;
    assert_eq!(known(&pool, mouse).await, None);

    let calls = upstream_calls(&shop).await;
    assert_eq!(add(&ann, mouse, 2).await.status(), StatusCode::CREATED);
    assert_eq!(upstream_calls(&shop).await, calls + 1, "fetched once");
    assert_eq!(
        known(&pool, mouse).await,
        Some(("Mouse".to_owned(), 1999, Some(30), false, 1)),
        "and remembered"
    );
    for _ in 0..3 {
        assert_eq!(cart(&ann).await["items"][0]["name"], "Mouse");
    }
    assert_eq!(add(&ann, mouse, 1).await.status(), StatusCode::OK);
    assert_eq!(
        upstream_calls(&shop).await,
        calls + 1,
        "then served locally"
    );

    // An id nobody has is absent: asked each time (never remembered), refused.
    let unknown = add(&ann, 987_654_321, 1).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(known(&pool, 987_654_321).await, None);
    assert_eq!(upstream_calls(&shop).await, calls + 2);
}

fn updated(product_id: i64, version: i64, name: &str) -> Envelope {
    Envelope::new(Event::ProductUpdated(ProductUpdated {
        product_id,
        version,
        name: name.to_owned(),
        price_cents: 100 * version,
        category_id: None,
        archived: false,
    }))
}

fn stock(product_id: i64, stock: i64) -> Envelope {
    Envelope::new(Event::ProductStockUpdated(ProductStockUpdated {
        product_id,
        stock,
        delta: 0,
        cause: "set".to_owned(),
    }))
}

#[sqlx::test]
async fn an_older_product_event_never_overwrites_a_newer_one_and_stock_alone_inserts_nothing(
    pool: PgPool,
) {
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let apply = async |events: &[Envelope]| {
        let mut tx = outbox.begin().await.unwrap();
        let refused = order_service::read_model::apply(&mut tx, events)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(refused.is_empty());
    };

    apply(&[stock(1, 5)]).await;
    assert_eq!(known(&pool, 1).await, None, "stock of an unknown product");

    apply(&[updated(1, 2, "two"), stock(1, 7), updated(2, 1, "other")]).await;
    assert_eq!(
        known(&pool, 1).await,
        Some(("two".to_owned(), 200, Some(7), false, 2))
    );
    assert_eq!(
        known(&pool, 2).await,
        Some(("other".to_owned(), 100, None, false, 1))
    );

    apply(&[updated(1, 1, "one")]).await;
    assert_eq!(
        known(&pool, 1).await.unwrap().0,
        "two",
        "an older version is ignored"
    );
    apply(&[
        updated(1, 3, "three"),
        updated(1, 2, "two again"),
        stock(1, 3),
        stock(1, 4),
    ])
    .await;
    assert_eq!(
        known(&pool, 1).await,
        Some(("three".to_owned(), 300, Some(4), false, 3))
    );
    apply(&[stock(2, 9)]).await;
    assert_eq!(
        known(&pool, 2).await.unwrap().2,
        Some(9),
        "a known product's stock"
    );
}
