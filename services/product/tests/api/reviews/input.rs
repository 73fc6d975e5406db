//! Bad input, unknown and archived products, paging, and review text as data.

use microshop_testkit::{checks, json};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use super::{auth, list, mine, post, reviews_of, send};
use crate::helpers::{customer, rating_totals, review_count, spawn_app};
use crate::saga::product_with_stock;

#[sqlx::test]
async fn invalid_ratings_and_texts_are_422_and_write_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let too_long = "x".repeat(2_001);
    let cases = [
        json!({"rating": 0}),
        json!({"rating": 6}),
        json!({"rating": -1}),
        json!({"rating": 4.5}),
        json!({"rating": "5"}),
        json!({"rating": null}),
        json!({"rating": 1e300}),
        json!({"text": "no rating"}),
        json!({"rating": 5, "text": too_long}),
        json!({"rating": 5, "text": null}),
        json!({"rating": 5, "text": 42}),
        json!({"rating": 5, "text": "bell\u{7}"}),
        json!({"rating": 5, "title": "unknown field"}),
    ];
    for body in &cases {
        let response = customer(&app, 2)
            .post_json(&reviews_of(product), body)
            .await;
        checks::assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            &body.to_string(),
        )
        .await;
    }
    assert_eq!(
        review_count(&pool).await,
        0,
        "a rejected post writes nothing"
    );
    assert_eq!(rating_totals(&pool, product).await, (0, 0, None));

    let longest = "é".repeat(2_000);
    let posted = post(&app, 2, product, &json!({"rating": 5.0, "text": longest})).await;
    assert_eq!(
        (posted["rating"].clone(), posted["text"].clone()),
        (json!(5), json!(longest))
    );
    for body in &cases {
        let response = app.client.put_json_as(&mine(product), body, &auth(2)).await;
        checks::assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            &body.to_string(),
        )
        .await;
    }
    assert_eq!(
        list(&app, product).await,
        [posted],
        "a rejected edit changes nothing"
    );
    assert_eq!(
        rating_totals(&pool, product).await,
        (5, 1, Some("5.00".into()))
    );
}

#[sqlx::test]
async fn reviews_of_an_unknown_product_or_review_are_404(pool: PgPool) {
    let app = spawn_app(pool).await;
    let body = json!({"rating": 3});
    for (method, path, code) in [
        (Method::GET, reviews_of(999), "product_not_found"),
        (Method::POST, reviews_of(999), "product_not_found"),
        (Method::PUT, mine(999), "product_not_found"),
        (Method::DELETE, mine(999), "product_not_found"),
        (Method::PUT, "/api/reviews/999".into(), "review_not_found"),
        (
            Method::DELETE,
            "/api/reviews/999".into(),
            "review_not_found",
        ),
    ] {
        let with_body = (method != Method::GET && method != Method::DELETE).then_some(&body);
        let response = app
            .client
            .send_as(method, &path, Some(&auth(2)), with_body)
            .await;
        let error = checks::assert_error(response, StatusCode::NOT_FOUND, &path).await;
        assert_eq!(error["error"]["code"], code, "{path}");
    }
}

#[sqlx::test]
async fn an_archived_products_reviews_stay_readable_but_it_takes_no_new_ones(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let review = post(&app, 2, product, &json!({"rating": 2, "text": "meh"})).await;
    sqlx::query("update products set archived_at = now() where id = $1")
        .bind(product)
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(list(&app, product).await, [review]);
    let body = json!({"rating": 5});
    for (user, method, path) in [
        (3, Method::POST, reviews_of(product)),
        (2, Method::PUT, mine(product)),
    ] {
        let response = app
            .client
            .send_as(method, &path, Some(&auth(user)), Some(&body))
            .await;
        let error = checks::assert_error(response, StatusCode::CONFLICT, &path).await;
        assert_eq!(error["error"]["code"], "product_archived");
    }
    assert_eq!(
        rating_totals(&pool, product).await,
        (2, 1, Some("2.00".into()))
    );
    assert_eq!(
        send(&app, Method::DELETE, &mine(product), 2, None).await,
        204
    );
    assert_eq!(rating_totals(&pool, product).await, (0, 0, None));
}

#[sqlx::test]
async fn review_text_round_trips_verbatim_as_json_data(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let script = "<script>alert(1)</script>";

    let response = customer(&app, 2)
        .post_json(&reviews_of(product), &json!({"rating": 1, "text": script}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_json_content_type(&response);
    assert_eq!(json(response).await["text"], script);

    let listed = app.client.get(&reviews_of(product)).await;
    assert_json_content_type(&listed);
    assert_eq!(json(listed).await[0]["text"], script);
}

fn assert_json_content_type(response: &reqwest::Response) {
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

#[sqlx::test]
async fn review_responses_forbid_content_sniffing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let listed = app.client.get(&reviews_of(product)).await;
    assert_eq!(listed.headers()["x-content-type-options"], "nosniff");
}

#[sqlx::test]
async fn reviews_are_listed_newest_first_in_bounded_pages(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    for user in 2..=4 {
        post(&app, user, product, &json!({"rating": 3})).await;
    }
    let authors = async |query: &str| -> Vec<i64> {
        let path = format!("{}?{query}", reviews_of(product));
        let listed = json(app.client.get(&path).await).await;
        let listed = listed.as_array().unwrap().iter();
        listed.map(|r| r["user_id"].as_i64().unwrap()).collect()
    };
    assert_eq!(authors("limit=2").await, [4, 3]);
    assert_eq!(authors("limit=2&offset=2").await, [2]);
    checks::assert_bad_paging_rejected(&app.client, &reviews_of(product)).await;
}
