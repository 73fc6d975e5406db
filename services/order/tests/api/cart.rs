//! The cart, against the real Redis: lines added, changed and removed, shown with the current
//! names and prices; limits refused without changing anything; concurrent writes never lose an
//! update nor pass a limit; each user has their own cart; every write sets the expiry.

pub mod client;

use clap::Parser;
use futures::future::join_all;
use microshop_testkit::{Client, checks, eventually, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{Shop, admin};
use client::{add, archive, buyer, cart, cart_key, lines, product, products, redis, remove, set};

#[sqlx::test]
async fn cart_lines_are_added_changed_removed_and_the_cart_emptied(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let ann = buyer(&shop, shop.user("ann"));
    let laptop = product(&shop, "Laptop", 12999.0, 50).await;
    let mouse = product(&shop, "Mouse", 19.99, 3).await;
    let empty = cart(&ann).await;
    assert_eq!(
        empty,
        json!({"items": [], "item_count": 0, "subtotal": 0.0}),
        "no cart yet"
    );

    let first = add(&ann, mouse, 2).await;
    assert_eq!(first.status(), StatusCode::CREATED, "a new line");
    assert_eq!(lines(&json(first).await), [(mouse, 2)]);
    assert_eq!(add(&ann, laptop, 1).await.status(), StatusCode::CREATED);
    let grown = add(&ann, mouse, 1).await;
    assert_eq!(grown.status(), StatusCode::OK, "the line grew");
    let shown = json(grown).await;
    assert_eq!(
        lines(&shown),
        [(mouse, 3), (laptop, 1)],
        "first-added order"
    );
    assert_eq!(
        shown["items"][0],
        json!({"product_id": mouse, "name": "Mouse", "unit_price": 19.99, "quantity": 3,
               "line_total": 59.97, "available": true, "stock": 3})
    );
    assert_eq!(shown["item_count"], 4);
    assert_eq!(shown["subtotal"], 13058.97, "exact to the cent");
    assert!(shown["updated_at"].is_string());
    assert_eq!(cart(&ann).await, shown, "GET shows what the write answered");

    // More units than in stock: kept, shown unavailable (a cart holds no stock).
    let changed = set(&ann, mouse, 4).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed = json(changed).await;
    assert_eq!(
        lines(&changed),
        [(mouse, 4), (laptop, 1)],
        "the line keeps its place"
    );
    assert_eq!(changed["items"][0]["available"], false);

    // A renamed, repriced product shows its new name and price; an archived one stays,
    // unavailable, out of the subtotal.
    let renamed = shop
        .products()
        .client
        .send_as(
            Method::PATCH,
            &format!("/api/products/{laptop}"),
            Some(&admin()),
            Some(&json!({"name": "Laptop 2", "price": 100.0})),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    eventually("the new price reaches the cart", async || {
        cart(&ann).await["items"][1]["unit_price"] == json!(100.0)
    })
    .await;
    archive(&shop, mouse).await;
    let shown = eventually_some_cart(&ann, |c| {
        c["items"][0]["name"] == "Mouse" && c["subtotal"] == json!(100.0)
    })
    .await;
    assert_eq!(shown["items"][0]["available"], false);
    assert_eq!(shown["items"][1]["name"], "Laptop 2");

    let removed = remove(&ann, mouse).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(lines(&json(removed).await), [(laptop, 1)]);
    let emptied = ann.send_as(Method::DELETE, "/api/cart", None, None).await;
    assert_eq!(emptied.status(), StatusCode::NO_CONTENT);
    assert_eq!(cart(&ann).await["items"], json!([]));
    let again = ann.send_as(Method::DELETE, "/api/cart", None, None).await;
    assert_eq!(
        again.status(),
        StatusCode::NO_CONTENT,
        "emptying is idempotent"
    );
}

/// Waits until the cart satisfies `check` and returns it.
async fn eventually_some_cart(client: &Client, check: impl Fn(&Value) -> bool) -> Value {
    microshop_testkit::eventually_some("the cart shows the change", async || {
        let shown = cart(client).await;
        check(&shown).then_some(shown)
    })
    .await
}

#[sqlx::test]
async fn a_line_of_a_product_the_shop_does_not_know_is_shown_unavailable_not_dropped(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let user = shop.user("ann");
    let ann = buyer(&shop, user);
    let mouse = product(&shop, "Mouse", 19.99, 3).await;
    assert_eq!(add(&ann, mouse, 1).await.status(), StatusCode::CREATED);
    // A line whose product is unknown (written before the product went, or by hand).
    let mut redis = redis().await;
    redis::cmd("HSET")
        .arg(cart_key(&shop, user))
        .arg("987654321")
        .arg("99:2")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    let shown = cart(&ann).await;
    assert_eq!(lines(&shown), [(mouse, 1), (987_654_321, 2)]);
    assert_eq!(
        shown["items"][1],
        json!({"product_id": 987_654_321, "name": null, "unit_price": null, "quantity": 2,
               "line_total": null, "available": false, "stock": 0})
    );
    assert_eq!(shown["subtotal"], 19.99);
    assert_eq!(shown["item_count"], 3);
}

#[sqlx::test]
async fn cart_limits_are_refused_with_4xx_and_change_nothing(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let ann = buyer(&shop, shop.user("ann"));
    let ids = products(&shop, 51).await;
    for &id in &ids[..49] {
        assert_eq!(add(&ann, id, 1).await.status(), StatusCode::CREATED);
    }
    assert_eq!(
        add(&ann, ids[49], 10_000).await.status(),
        StatusCode::CREATED
    );
    let archived = product(&shop, "Gone", 5.0, 10).await;
    archive(&shop, archived).await;
    let before = cart(&ann).await;
    assert_eq!(before["items"].as_array().unwrap().len(), 50);

    let refused = [
        (
            "51st line",
            add(&ann, ids[50], 1).await,
            StatusCode::CONFLICT,
            "cart_full",
        ),
        (
            "10,001 units",
            add(&ann, ids[49], 1).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_limit_exceeded",
        ),
        (
            "quantity 0",
            add(&ann, ids[0], 0).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "10,001 at once",
            add(&ann, ids[0], 10_001).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "unknown product",
            add(&ann, 987_654_321, 1).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_not_found",
        ),
        (
            "archived product",
            add(&ann, archived, 1).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_unavailable",
        ),
        (
            "set to 0",
            set(&ann, ids[0], 0).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "set to 10,001",
            set(&ann, ids[0], 10_001).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "set a line not in the cart",
            set(&ann, ids[50], 1).await,
            StatusCode::NOT_FOUND,
            "cart_item_not_found",
        ),
        (
            "remove a line not in the cart",
            remove(&ann, ids[50]).await,
            StatusCode::NOT_FOUND,
            "cart_item_not_found",
        ),
    ];
    for (case, response, status, code) in refused {
        let error = checks::assert_error(response, status, case).await;
        assert_eq!(error["error"]["code"], code, "{case}: {error}");
        if code == "quantity_limit_exceeded" {
            let message = error["error"]["message"].as_str().unwrap();
            assert!(message.contains("10000"), "names the limit: {message}");
        }
    }
    assert_eq!(cart(&ann).await, before, "nothing changed");
}

#[sqlx::test]
async fn concurrent_cart_adds_never_lose_an_update_nor_pass_fifty_lines(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let ann = buyer(&shop, shop.user("ann"));
    let ids = products(&shop, 55).await;

    // 40 adds of 3 units of one product at once: one creates the line, all count.
    let same = join_all((0..40).map(|_| {
        let ann = ann.clone();
        let id = ids[0];
        async move { add(&ann, id, 3).await.status() }
    }))
    .await;
    assert_eq!(
        same.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1
    );
    assert!(same.iter().all(StatusCode::is_success), "{same:?}");
    assert_eq!(lines(&cart(&ann).await), [(ids[0], 120)]);

    // 54 new products at once into a cart with one line: exactly 49 fit.
    let statuses = join_all(ids[1..].iter().map(|&id| {
        let ann = ann.clone();
        async move { add(&ann, id, 1).await.status() }
    }))
    .await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let full = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, full), (49, 5), "{statuses:?}");
    assert_eq!(cart(&ann).await["items"].as_array().unwrap().len(), 50);
}

#[sqlx::test]
async fn each_user_reaches_only_their_own_cart(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (ann_id, bob_id) = (shop.user("ann"), shop.user("bob"));
    let (ann, bob) = (buyer(&shop, ann_id), buyer(&shop, bob_id));
    let mouse = product(&shop, "Mouse", 19.99, 3).await;
    assert_eq!(add(&ann, mouse, 2).await.status(), StatusCode::CREATED);
    let anns = cart(&ann).await;

    assert_eq!(cart(&bob).await["items"], json!([]), "bob has his own cart");
    let error = checks::assert_error(set(&bob, mouse, 1).await, StatusCode::NOT_FOUND, "set").await;
    assert_eq!(error["error"]["code"], "cart_item_not_found");
    checks::assert_error(remove(&bob, mouse).await, StatusCode::NOT_FOUND, "remove").await;
    let emptied = bob.send_as(Method::DELETE, "/api/cart", None, None).await;
    assert_eq!(emptied.status(), StatusCode::NO_CONTENT);
    assert_eq!(add(&bob, mouse, 1).await.status(), StatusCode::CREATED);
    assert_eq!(lines(&cart(&bob).await), [(mouse, 1)]);
    // An admin has a cart of their own too, and does not see the buyers'.
    let as_admin = shop.orders.client.authorized(&admin());
    assert_eq!(cart(&as_admin).await["items"], json!([]));

    assert_eq!(
        cart(&ann).await,
        anns,
        "nothing bob or the admin did reached ann's cart"
    );
}

#[test]
fn carts_are_kept_thirty_days_unless_configured_otherwise() {
    let parse = |extra: &[&str]| {
        let mut args = microshop_testkit::local_args("order-service", 0);
        args.extend(microshop_testkit::auth::verifier_args());
        args.extend(microshop_testkit::auth::caller_args("order-service"));
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        order_service::Config::try_parse_from(args)
    };
    let default = parse(&[]).unwrap().cart_ttl;
    assert_eq!(default, std::time::Duration::from_secs(30 * 24 * 3600));
    assert_eq!(
        parse(&["--cart-ttl=12h"]).unwrap().cart_ttl,
        std::time::Duration::from_secs(12 * 3600)
    );
    for bad in ["0s", "500ms", "soon"] {
        assert!(parse(&[&format!("--cart-ttl={bad}")]).is_err(), "{bad}");
    }
}

#[sqlx::test]
async fn every_cart_write_sets_the_expiry(pool: PgPool) {
    // The tests' carts expire after an hour (helpers.rs); the service's default is 30 days.
    let shop = Shop::start(pool).await;
    let user = shop.user("ann");
    let ann = buyer(&shop, user);
    let mouse = product(&shop, "Mouse", 19.99, 3).await;
    let key = cart_key(&shop, user);
    let mut redis = redis().await;
    let hour = 3600;
    let ttl = async |redis: &mut redis::aio::MultiplexedConnection| {
        redis::cmd("TTL")
            .arg(&key)
            .query_async::<i64>(redis)
            .await
            .unwrap()
    };
    let shorten = async |redis: &mut redis::aio::MultiplexedConnection| {
        redis::cmd("EXPIRE")
            .arg(&key)
            .arg(100)
            .query_async::<()>(redis)
            .await
            .unwrap();
    };

    assert_eq!(add(&ann, mouse, 1).await.status(), StatusCode::CREATED);
    let after_add = ttl(&mut redis).await;
    assert!((hour - 60..=hour).contains(&after_add), "{after_add}");
    shorten(&mut redis).await;
    assert_eq!(set(&ann, mouse, 2).await.status(), StatusCode::OK);
    assert!(ttl(&mut redis).await > hour - 60, "a change refreshes it");
    shorten(&mut redis).await;
    assert_eq!(add(&ann, mouse, 1).await.status(), StatusCode::OK);
    assert!(ttl(&mut redis).await > hour - 60, "so does an add");
    shorten(&mut redis).await;
    cart(&ann).await;
    assert!(ttl(&mut redis).await <= 100, "a read does not");

    assert_eq!(remove(&ann, mouse).await.status(), StatusCode::OK);
    assert_eq!(ttl(&mut redis).await, -2, "an emptied cart is not kept");
}

#[sqlx::test]
async fn every_cart_route_needs_a_valid_token(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let client = &shop.orders.client;
    let body = json!({"product_id": 1, "quantity": 1});
    checks::assert_needs_a_valid_token(client, Method::GET, "/api/cart", None).await;
    checks::assert_needs_a_valid_token(client, Method::DELETE, "/api/cart", None).await;
    checks::assert_needs_a_valid_token(client, Method::POST, "/api/cart/items", Some(&body)).await;
    let quantity = json!({"quantity": 1});
    checks::assert_needs_a_valid_token(client, Method::PUT, "/api/cart/items/1", Some(&quantity))
        .await;
    checks::assert_needs_a_valid_token(client, Method::DELETE, "/api/cart/items/1", None).await;
}
