//! Reviews over HTTP: who may write what, one per user and product, exact rating totals under
//! concurrent writes, and verified purchases and fulfilled reservations from the order service's
//! events through the real RabbitMQ.

mod delivered;
mod input;
mod totals;

use microshop_auth::Role;
use microshop_testkit::{TestApp, checks, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{admin, customer, rating_totals, review_count, spawn_app};
use crate::saga::product_with_stock;

/// The product's reviews.
pub fn reviews_of(product: i64) -> String {
    format!("/api/products/{product}/reviews")
}

/// The caller's review of the product.
pub fn mine(product: i64) -> String {
    format!("/api/products/{product}/reviews/mine")
}

/// Posts `user_id`'s review of `product`; the response, which must be 201.
pub async fn post(app: &TestApp, user_id: i64, product: i64, body: &Value) -> Value {
    let response = customer(app, user_id)
        .post_json(&reviews_of(product), body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    json(response).await
}

/// Every review of `product` (up to 100), newest first.
pub async fn list(app: &TestApp, product: i64) -> Vec<Value> {
    let response = app
        .client
        .get(&format!("{}?limit=100", reviews_of(product)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await.as_array().unwrap().clone()
}

/// A customer's access token.
pub fn auth(user_id: i64) -> String {
    microshop_testkit::auth::token(user_id, Role::Customer)
}

/// An admin's access token.
pub fn admin_token() -> String {
    microshop_testkit::auth::token(1, Role::Admin)
}

/// `method path` as customer `user_id`; the status.
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    user_id: i64,
    body: Option<&Value>,
) -> u16 {
    let token = auth(user_id);
    let response = app.client.send_as(method, path, Some(&token), body);
    response.await.status().as_u16()
}

#[sqlx::test]
async fn writing_a_review_needs_a_valid_token(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let review = post(&app, 2, product, &json!({"rating": 4, "text": "good"})).await;
    let body = json!({"rating": 1, "text": "changed"});
    let by_id = format!("/api/reviews/{}", review["id"]);
    for (method, path, body) in [
        (Method::POST, reviews_of(product), Some(&body)),
        (Method::PUT, mine(product), Some(&body)),
        (Method::DELETE, mine(product), None),
        (Method::PUT, by_id.clone(), Some(&body)),
        (Method::DELETE, by_id.clone(), None),
    ] {
        checks::assert_needs_a_valid_token(&app.client, method, &path, body).await;
    }
    assert_eq!(list(&app, product).await, [review]);
    assert_eq!(rating_totals(&pool, product).await.0, 4);
}

#[sqlx::test]
async fn a_customer_posts_reads_edits_and_deletes_their_own_review(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;

    let posted = post(&app, 2, product, &json!({"rating": 4, "text": "  Quiet. "})).await;
    assert_eq!(posted["product_id"], product);
    assert_eq!(posted["user_id"], 2);
    assert_eq!(posted["rating"], 4);
    assert_eq!(posted["text"], "Quiet.", "trimmed");
    assert_eq!(posted["verified_purchase"], false);
    assert_eq!(list(&app, product).await, std::slice::from_ref(&posted));
    assert_eq!(
        rating_totals(&pool, product).await,
        (4, 1, Some("4.00".into()))
    );

    let edited = app
        .client
        .put_json_as(&mine(product), &json!({"rating": 2}), &auth(2))
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let edited = json(edited).await;
    assert_eq!(
        (edited["id"].clone(), edited["rating"].clone()),
        (posted["id"].clone(), json!(2))
    );
    assert_eq!(edited["text"], "", "a PUT replaces the whole review");
    assert_eq!(
        rating_totals(&pool, product).await,
        (2, 1, Some("2.00".into()))
    );

    let by_id = format!("/api/reviews/{}", posted["id"]);
    let body = json!({"rating": 5, "text": "Better after an update."});
    assert_eq!(send(&app, Method::PUT, &by_id, 2, Some(&body)).await, 200);
    assert_eq!(
        rating_totals(&pool, product).await,
        (5, 1, Some("5.00".into()))
    );

    assert_eq!(
        send(&app, Method::DELETE, &mine(product), 2, None).await,
        204
    );
    assert!(list(&app, product).await.is_empty());
    assert_eq!(rating_totals(&pool, product).await, (0, 0, None));
    for (method, path) in [
        (Method::PUT, mine(product)),
        (Method::DELETE, mine(product)),
    ] {
        let response = app
            .client
            .send_as(method, &path, Some(&auth(2)), Some(&body))
            .await;
        let error = checks::assert_error(response, StatusCode::NOT_FOUND, &path).await;
        assert_eq!(error["error"]["code"], "review_not_found");
    }
    assert_eq!(send(&app, Method::DELETE, &by_id, 2, None).await, 404);
}

#[sqlx::test]
async fn a_user_reviews_a_product_once_and_admins_may_review_too(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let other = product_with_stock(&pool, 1).await;
    post(&app, 2, product, &json!({"rating": 5, "text": "first"})).await;

    let again = customer(&app, 2)
        .post_json(
            &reviews_of(product),
            &json!({"rating": 1, "text": "second"}),
        )
        .await;
    let error = checks::assert_error(again, StatusCode::CONFLICT, "second review").await;
    assert_eq!(error["error"]["code"], "review_exists");

    post(&app, 2, other, &json!({"rating": 3})).await;
    let by_admin = admin(&app)
        .post_json(&reviews_of(product), &json!({"rating": 1}))
        .await;
    assert_eq!(by_admin.status(), StatusCode::CREATED);
    assert_eq!(review_count(&pool).await, 3);
    assert_eq!(
        rating_totals(&pool, product).await,
        (6, 2, Some("3.00".into()))
    );
}

#[sqlx::test]
async fn others_reviews_are_not_found_but_an_admin_may_delete_them(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let review = post(&app, 2, product, &json!({"rating": 4, "text": "mine"})).await;
    let by_id = format!("/api/reviews/{}", review["id"]);
    let body = json!({"rating": 1, "text": "vandalised"});

    for (method, body) in [(Method::PUT, Some(&body)), (Method::DELETE, None)] {
        let response = app
            .client
            .send_as(method.clone(), &by_id, Some(&auth(3)), body)
            .await;
        let error = checks::assert_error(response, StatusCode::NOT_FOUND, method.as_str()).await;
        assert_eq!(error["error"]["code"], "review_not_found");
    }
    assert_eq!(
        send(&app, Method::PUT, &mine(product), 3, Some(&body)).await,
        404
    );
    let admin_edit = app.client.put_json_as(&by_id, &body, &admin_token()).await;
    assert_eq!(
        admin_edit.status(),
        StatusCode::NOT_FOUND,
        "admins moderate by deleting"
    );
    assert_eq!(list(&app, product).await, [review]);

    let moderated = app
        .client
        .send_as(Method::DELETE, &by_id, Some(&admin_token()), None)
        .await;
    assert_eq!(moderated.status(), StatusCode::NO_CONTENT);
    assert_eq!(review_count(&pool).await, 0);
    assert_eq!(rating_totals(&pool, product).await, (0, 0, None));
}
