//! Adding, reading and listing products.

use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{admin, laptop, product_count, spawn_app};

#[sqlx::test]
async fn an_added_product_can_be_read_back(pool: PgPool) {
    let app = spawn_app(pool).await;

    let created = admin(&app).post_json("/api/products", &laptop()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let id = created["id"].as_i64().expect("id is a number");
    assert_eq!(created["name"], "Laptop");
    assert_eq!(created["stock"], 50);

    let fetched = json(app.client.get(&format!("/api/products/{id}")).await).await;
    assert_eq!(fetched, created);
}

#[sqlx::test]
async fn prices_are_exact_and_shown_as_the_seed_showed_them(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let body = json!({"name": "Pen", "price": 19.99, "stock": 3});
    let response = admin(&app)
        .post_raw("/api/products", body.to_string(), "application/json")
        .await;
    let text = response.text().await.unwrap();
    assert!(text.contains(r#""price":19.99"#), "{text}");

    let laptop = admin(&app)
        .post_json("/api/products", &laptop())
        .await
        .text()
        .await
        .unwrap();
    assert!(laptop.contains(r#""price":12999.0"#), "{laptop}");

    let cents: Vec<i64> = sqlx::query_scalar("select price_cents from products order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(cents, [1999, 1_299_900]);
}

#[sqlx::test]
async fn description_may_be_left_out(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = admin(&app)
        .post_json(
            "/api/products",
            &json!({"name": "Mug", "price": 5, "stock": 0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    assert_eq!(body["description"], "");
    assert_eq!(body["stock"], 0);
}

#[sqlx::test]
async fn the_seeds_trailing_slash_route_works(pool: PgPool) {
    let app = spawn_app(pool).await;
    let created = admin(&app).post_json("/api/products/", &laptop()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = json(app.client.get("/api/products/").await).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[sqlx::test]
async fn products_are_listed_in_pages(pool: PgPool) {
    let app = spawn_app(pool).await;
    for name in ["A", "B", "C"] {
        let body = json!({"name": name, "price": 1.5, "stock": 1});
        assert_eq!(
            admin(&app).post_json("/api/products", &body).await.status(),
            StatusCode::CREATED
        );
    }

    let all = json(app.client.get("/api/products").await).await;
    let names: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);

    let page = json(app.client.get("/api/products?limit=2&offset=1").await).await;
    let names: Vec<_> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["B", "C"]);
}

#[sqlx::test]
async fn an_unknown_product_is_404(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app.client.get("/api/products/77").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], "product_not_found");
    assert_eq!(body["error"]["message"], "product 77 does not exist");
}

#[sqlx::test]
async fn stock_can_never_be_negative_even_bypassing_the_api(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&app).post_json("/api/products", &laptop()).await;

    let result = sqlx::query("update products set stock = -1")
        .execute(&pool)
        .await;
    assert!(result.is_err(), "the database must refuse negative stock");
}

#[sqlx::test]
async fn openapi_describes_every_route(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc = json(app.client.get("/openapi.json").await).await;
    for path in [
        "/api/products",
        "/api/products/{id}",
        "/internal/products/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from {doc}");
    }
    assert!(doc["components"]["schemas"]["ProductResponse"].is_object());
    // Who may call what: public reads, admin writes with a bearer token, the internal route
    // with a service key; each secured route declares its 401.
    assert!(doc["paths"]["/api/products/{id}"]["get"]["security"].is_null());
    assert_eq!(
        doc["paths"]["/api/products"]["post"]["security"],
        serde_json::json!([{"bearer": []}])
    );
    let internal = &doc["paths"]["/internal/products/{id}"]["get"];
    assert_eq!(
        internal["security"],
        serde_json::json!([{"serviceKey": []}])
    );
    assert!(internal["responses"]["401"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["serviceKey"]["name"],
        "X-Service-Key"
    );
}

#[sqlx::test]
async fn only_admins_add_products_and_anyone_reads_them(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let post = reqwest::Method::POST;
    checks::assert_needs_a_valid_token(&app.client, post.clone(), "/api/products", Some(&laptop()))
        .await;
    checks::assert_admin_only(&app.client, post, "/api/products", Some(&laptop())).await;
    assert_eq!(
        product_count(&pool).await,
        0,
        "a refused write stores nothing"
    );

    let created = json(admin(&app).post_json("/api/products", &laptop()).await).await;
    let id = created["id"].as_i64().unwrap();
    // The catalogue stays public.
    assert_eq!(
        app.client
            .get(&format!("/api/products/{id}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.client.get("/api/products").await.status(),
        StatusCode::OK
    );
    let metrics = app.client.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"auth_failures_total{reason="admin_only",service="product-service"} 1"#),
        "{metrics}"
    );
}

#[sqlx::test]
async fn the_internal_route_answers_only_the_shops_services(pool: PgPool) {
    let app = spawn_app(pool).await;
    let created = json(admin(&app).post_json("/api/products", &laptop()).await).await;
    let path = format!("/internal/products/{}", created["id"]);
    let admin_token = microshop_testkit::auth::token(1, microshop_auth::Role::Admin);
    let refused = [
        (
            "no key",
            app.client
                .http()
                .get(format!("{}{path}", app.client.base_url())),
        ),
        (
            "a wrong key",
            app.client
                .http()
                .get(format!("{}{path}", app.client.base_url()))
                .header(
                    "X-Service-Key",
                    "payment-service-0123456789abcdef0123456789abcdef",
                ),
        ),
        (
            "an admin's access token instead",
            app.client
                .http()
                .get(format!("{}{path}", app.client.base_url()))
                .bearer_auth(&admin_token),
        ),
    ];
    for (case, request) in refused {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"ServiceKey realm="microshop""#,
            "{case}"
        );
        let body = checks::assert_error(response, StatusCode::UNAUTHORIZED, case).await;
        assert_eq!(body["error"]["code"], "service_key_invalid", "{case}");
    }

    let answer = app
        .client
        .http()
        .get(format!("{}{path}", app.client.base_url()))
        .header(
            "X-Service-Key",
            microshop_testkit::auth::service_key("order-service"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let availability = json(answer).await;
    assert_eq!(availability["price"], 12999.0);
    assert_eq!(availability["stock"], 50);
    assert_eq!(availability["name"], "Laptop");
    assert_eq!(availability["version"], 1);

    // Archived, it is no longer sold: the order service hears "no such product".
    let id = path.rsplit('/').next().unwrap();
    let archived = admin(&app)
        .send_as(
            reqwest::Method::DELETE,
            &format!("/api/products/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);
    let gone = app
        .client
        .http()
        .get(format!("{}{path}", app.client.base_url()))
        .header(
            "X-Service-Key",
            microshop_testkit::auth::service_key("order-service"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let metrics = app.client.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"auth_failures_total{reason="service_key_invalid",service="product-service"} 3"#
        ),
        "{metrics}"
    );
}
