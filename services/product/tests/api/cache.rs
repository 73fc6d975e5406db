//! The read cache seen from outside: reads are served from it, every write is seen by the next
//! read (on the writing replica at once, on another one as soon as the invalidation reaches it),
//! and with Redis cut off every read still answers, from PostgreSQL.

use microshop_testkit::{TcpProxy, TestApp, TestBroker, eventually, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::categories::category;
use crate::helpers::{admin, laptop, metric, spawn_replica};

/// Product `id`'s price as the API shows it (prices are exact, so JSON numbers compare).
async fn price(app: &TestApp, id: i64) -> Value {
    let response = app.client.get(&format!("/api/products/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await["price"].clone()
}

async fn first_listed_price(app: &TestApp) -> Value {
    json(app.client.get("/api/products?limit=5").await).await[0]["price"].clone()
}

async fn set_price(app: &TestApp, id: i64, price: f64) {
    let response = admin(app)
        .send_as(
            Method::PATCH,
            &format!("/api/products/{id}"),
            None,
            Some(&json!({ "price": price })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn added(app: &TestApp) -> i64 {
    let response = admin(app).post_json("/api/products", &laptop()).await;
    json(response).await["id"].as_i64().unwrap()
}

#[sqlx::test]
async fn reads_come_from_the_cache_and_each_write_is_read_back_at_once(pool: PgPool) {
    let broker = TestBroker::new().await;
    let app = spawn_replica(microshop_testkit::db(&pool), &broker, &[]).await;
    let id = added(&app).await;
    eventually("the invalidation subscription is live", async || {
        price(&app, id).await;
        metric(
            &app,
            "cache_requests_total",
            &["cache=\"product\"", "local_hit"],
        )
        .await
            > 0
    })
    .await;
    let served = metric(
        &app,
        "cache_requests_total",
        &["cache=\"product\"", "local_hit"],
    )
    .await;
    for _ in 0..5 {
        price(&app, id).await;
    }
    let after = metric(
        &app,
        "cache_requests_total",
        &["cache=\"product\"", "local_hit"],
    )
    .await;
    assert_eq!(after, served + 5, "repeated reads are served in-process");

    // Each kind of write is seen by the very next read: an edit, a stock move, a review, a new
    // category.
    set_price(&app, id, 10.5).await;
    assert_eq!(price(&app, id).await, json!(10.5));
    assert_eq!(first_listed_price(&app).await, json!(10.5));
    let deducted = admin(&app)
        .post_json(
            "/api/inventory/deduct",
            &json!({"product_id": id, "quantity": 3, "reference": "cache-test"}),
        )
        .await;
    assert_eq!(deducted.status(), StatusCode::OK);
    let read = json(app.client.get(&format!("/api/products/{id}")).await).await;
    assert_eq!(read["stock"], 47);
    let reviewed = app
        .client
        .authorized(&microshop_testkit::auth::token(
            7,
            microshop_auth::Role::Customer,
        ))
        .post_json(
            &format!("/api/products/{id}/reviews"),
            &json!({"rating": 4, "text": "fine"}),
        )
        .await;
    assert_eq!(reviewed.status(), StatusCode::CREATED);
    let read = json(app.client.get(&format!("/api/products/{id}")).await).await;
    assert_eq!(read["rating_count"], 1);
    json(app.client.get("/api/products/categories").await).await;
    category(&app, "Laptops", None).await;
    let tree = json(app.client.get("/api/products/categories").await).await;
    assert_eq!(tree.as_array().unwrap().len(), 1);
    drop(app);
}

#[sqlx::test]
async fn no_read_started_after_a_write_returned_sees_an_older_value(pool: PgPool) {
    let broker = TestBroker::new().await;
    let writer = spawn_replica(microshop_testkit::db(&pool), &broker, &[]).await;
    let other = spawn_replica(microshop_testkit::db(&pool), &broker, &[]).await;
    let id = added(&writer).await;
    // Warm both replicas' caches.
    price(&writer, id).await;
    price(&other, id).await;

    let readers: Vec<_> = (0..4)
        .map(|_| {
            let client = writer.client.clone();
            tokio::spawn(async move {
                for _ in 0..40 {
                    client.get(&format!("/api/products/{id}")).await;
                }
            })
        })
        .collect();
    for step in 1..=20 {
        let cents = f64::from(step) + 0.25;
        set_price(&writer, id, cents).await;
        // The replica that wrote: strictly fresh, product and listing alike.
        assert_eq!(price(&writer, id).await, json!(cents), "step {step}");
        assert_eq!(
            first_listed_price(&writer).await,
            json!(cents),
            "step {step}"
        );
        // Another replica: as soon as the invalidation reaches it (never an older value
        // afterwards).
        eventually("the other replica sees the write", async || {
            price(&other, id).await == json!(cents)
        })
        .await;
    }
    for reader in readers {
        reader.await.unwrap();
    }
    drop((writer, other));
}

#[sqlx::test]
async fn with_redis_cut_off_reads_and_writes_go_on_and_nothing_stale_returns(pool: PgPool) {
    let broker = TestBroker::new().await;
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap())
        .await
        .expect("the proxy starts");
    let redis = vec![format!("--redis-url=redis://{}/0", proxy.addr())];
    let app = spawn_replica(microshop_testkit::db(&pool), &broker, &redis).await;
    let id = added(&app).await;
    assert_eq!(price(&app, id).await, json!(12999.0));
    assert_eq!(price(&app, id).await, json!(12999.0));

    proxy.cut().await;
    let started = std::time::Instant::now();
    assert_eq!(
        price(&app, id).await,
        json!(12999.0),
        "read from PostgreSQL"
    );
    set_price(&app, id, 20.0).await;
    assert_eq!(price(&app, id).await, json!(20.0));
    assert_eq!(first_listed_price(&app).await, json!(20.0));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "each Redis call is bounded: {:?}",
        started.elapsed()
    );
    let errors = metric(
        &app,
        "cache_requests_total",
        &["cache=\"product\"", "outcome=\"error\""],
    )
    .await
        + metric(
            &app,
            "cache_requests_total",
            &["cache=\"product\"", "outcome=\"bypass\""],
        )
        .await;
    assert!(errors > 0, "the outage is counted");

    proxy.restore().await;
    // The write during the outage never reached Redis; what Redis held before must not come
    // back.
    for _ in 0..20 {
        assert_eq!(price(&app, id).await, json!(20.0));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    eventually("the cache serves again", async || {
        price(&app, id).await;
        metric(
            &app,
            "cache_requests_total",
            &["cache=\"product\"", "local_hit"],
        )
        .await
            > 0
            || metric(
                &app,
                "cache_requests_total",
                &["cache=\"product\"", "outcome=\"hit\""],
            )
            .await
                > 0
    })
    .await;
    assert_eq!(price(&app, id).await, json!(20.0));
    drop(app);
}

#[sqlx::test]
async fn stock_taken_by_an_order_shows_in_cached_reads(pool: PgPool) {
    let broker = TestBroker::new().await;
    let app = spawn_replica(microshop_testkit::db(&pool), &broker, &[]).await;
    let id = added(&app).await;
    let stock =
        async || json(app.client.get(&format!("/api/products/{id}")).await).await["stock"].clone();
    assert_eq!(stock().await, 50);
    assert_eq!(stock().await, 50, "now cached");

    let order = crate::saga::order(9001, id, 4);
    crate::saga::publish(&broker, &[crate::saga::message(&order)]).await;
    eventually("the reservation shows", async || stock().await == 46).await;
    drop(app);
}

#[sqlx::test]
async fn with_the_cache_turned_off_every_read_goes_to_postgresql(pool: PgPool) {
    let broker = TestBroker::new().await;
    let off = vec!["--cache-enabled=false".to_owned()];
    let app = spawn_replica(microshop_testkit::db(&pool.clone()), &broker, &off).await;
    let id = added(&app).await;
    for _ in 0..3 {
        assert_eq!(price(&app, id).await, json!(12999.0));
    }
    // A change behind the service's back shows at once: nothing was kept.
    sqlx::query("update products set price_cents = 100 where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(price(&app, id).await, json!(1.0));
    let counted = metric(&app, "cache_requests_total", &["cache=\"product\""]).await;
    assert_eq!(counted, 0);
    drop(app);
}
