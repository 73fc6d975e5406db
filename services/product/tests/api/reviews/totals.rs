//! Rating totals stay exact under concurrent posts, edits and deletes.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use super::{list, mine, post, reviews_of, send};
use crate::helpers::{customer, rating_totals, spawn_app};
use crate::saga::product_with_stock;

#[sqlx::test]
async fn concurrent_reviews_keep_the_rating_totals_exact(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    // 13 fives and 27 fours: 173 / 40 = 4.325, shown rounded half up.
    let rating = |user: i64| if user <= 13 { 5 } else { 4 };
    let posts = (1..=40).map(|user| {
        let client = customer(&app, user);
        async move {
            let body = json!({"rating": rating(user)});
            client.post_json(&reviews_of(product), &body).await.status()
        }
    });
    let statuses = join_all(posts).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );

    assert_eq!(
        rating_totals(&pool, product).await,
        (173, 40, Some("4.33".into()))
    );
    let listed = list(&app, product).await;
    assert_eq!(listed.len(), 40);
    let sum: i64 = listed.iter().map(|r| r["rating"].as_i64().unwrap()).sum();
    assert_eq!(sum, 173);
}

#[sqlx::test]
async fn concurrent_edits_and_deletes_keep_the_totals_equal_to_the_reviews(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_with_stock(&pool, 1).await;
    let mut ids = Vec::new();
    for user in 1..=30 {
        ids.push(post(&app, user, product, &json!({"rating": 1 + user % 5})).await["id"].clone());
    }
    let writes = (1..=30).zip(ids).map(|(user, id)| {
        let app = &app;
        async move {
            match user % 3 {
                0 => {
                    send(
                        app,
                        Method::DELETE,
                        &format!("/api/reviews/{id}"),
                        user,
                        None,
                    )
                    .await
                }
                1 => {
                    send(
                        app,
                        Method::PUT,
                        &mine(product),
                        user,
                        Some(&json!({"rating": 5})),
                    )
                    .await
                }
                _ => send(app, Method::DELETE, &mine(product), user, None).await,
            }
        }
    });
    let statuses = join_all(writes).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 204),
        "{statuses:?}"
    );

    let (sum, count, _) = rating_totals(&pool, product).await;
    let (expected_sum, expected_count): (Option<i64>, i64) =
        sqlx::query_as("select sum(rating)::bigint, count(*) from reviews where product_id = $1")
            .bind(product)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((sum, count), (expected_sum.unwrap_or(0), expected_count));
    assert_eq!((sum, count), (50, 10), "ten reviews left, each edited to 5");
}
