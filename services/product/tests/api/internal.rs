//! `GET /internal/products?ids=`: several products at once for the order service's read model,
//! from the database, with the service key.

use microshop_testkit::{TestApp, checks, json};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{admin, spawn_app};

/// `GET /internal/products?ids=<ids>` with the order service's key.
async fn by_ids(app: &TestApp, ids: &str) -> reqwest::Response {
    app.client
        .http()
        .get(format!("{}/internal/products", app.client.base_url()))
        .query(&[("ids", ids)])
        .header(
            "X-Service-Key",
            microshop_testkit::auth::service_key("order-service"),
        )
        .send()
        .await
        .unwrap()
}

async fn added(app: &TestApp, name: &str, price: f64, stock: i64) -> i64 {
    let body = json!({"name": name, "price": price, "stock": stock});
    let created = json(admin(app).post_json("/api/products", &body).await).await;
    created["id"].as_i64().unwrap()
}

#[sqlx::test]
async fn the_batch_route_answers_the_products_that_exist_in_id_order_archived_ones_flagged(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let a = added(&app, "Laptop", 12999.0, 50).await;
    let b = added(&app, "Mouse", 19.99, 7).await;
    let c = added(&app, "Dock", 150.0, 0).await;
    let archived = admin(&app)
        .send_as(
            reqwest::Method::DELETE,
            &format!("/api/products/{b}"),
            None,
            None,
        )
        .await;
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);

    let response = by_ids(&app, &format!("{c},{a},999999,{b},{a}")).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        json!([
            {"id": a, "name": "Laptop", "price_cents": 1_299_900, "stock": 50, "archived": false, "version": 1},
            {"id": b, "name": "Mouse", "price_cents": 1999, "stock": 7, "archived": true, "version": 2},
            {"id": c, "name": "Dock", "price_cents": 15000, "stock": 0, "archived": false, "version": 1},
        ])
    );
    let none = by_ids(&app, "999998,999999").await;
    assert_eq!(json(none).await, json!([]));
}

#[sqlx::test]
async fn the_batch_route_reads_the_database_never_the_cache(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let id = added(&app, "Laptop", 12999.0, 50).await;
    // The public read caches the product; a change behind the service's back is not announced.
    let cached = json(app.client.get(&format!("/api/products/{id}")).await).await;
    assert_eq!(cached["stock"], 50);
    sqlx::query("update products set stock = 3 where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();

    let shown = json(by_ids(&app, &id.to_string()).await).await;

    assert_eq!(shown[0]["stock"], 3);
}

#[sqlx::test]
async fn the_batch_route_refuses_bad_id_lists_and_callers_without_a_service_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    let id = added(&app, "Laptop", 12999.0, 50).await;
    let path = format!("/internal/products?ids={id}");
    let no_key = app.client.get(&path).await;
    let body = checks::assert_error(no_key, StatusCode::UNAUTHORIZED, "no key").await;
    assert_eq!(body["error"]["code"], "service_key_invalid");
    let as_admin = admin(&app).get(&path).await;
    checks::assert_error(as_admin, StatusCode::UNAUTHORIZED, "an admin's token").await;

    let hundred = vec![id.to_string(); 100].join(",");
    let at_the_limit = by_ids(&app, &hundred).await;
    assert_eq!(at_the_limit.status(), StatusCode::OK);
    assert_eq!(json(at_the_limit).await.as_array().unwrap().len(), 1);
    let too_many = format!("{hundred},{id}");
    let long = "1".repeat(19);
    for bad in [
        "",
        ",",
        "1,",
        "1,,2",
        "0",
        "-1",
        "01",
        "1 ,2",
        "a",
        "1.0",
        long.as_str(),
        too_many.as_str(),
    ] {
        let response = by_ids(&app, bad).await;
        let body = checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, bad).await;
        assert_eq!(body["error"]["code"], "invalid_query", "{bad:?}");
    }
    let unknown = format!("?ids={id}&colour=red");
    for query in ["", "?id=1", unknown.as_str()] {
        let response = app
            .client
            .http()
            .get(format!(
                "{}/internal/products{query}",
                app.client.base_url()
            ))
            .header(
                "X-Service-Key",
                microshop_testkit::auth::service_key("order-service"),
            )
            .send()
            .await
            .unwrap();
        let body = checks::assert_error(response, StatusCode::BAD_REQUEST, query).await;
        assert_eq!(body["error"]["code"], "invalid_query", "{query:?}");
    }
}

#[sqlx::test]
async fn openapi_describes_the_batch_route_with_its_limits(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc = json(app.client.get("/openapi.json").await).await;

    let operation = &doc["paths"]["/internal/products"]["get"];
    assert_eq!(operation["security"], json!([{"serviceKey": []}]));
    for status in ["200", "400", "401", "422"] {
        assert!(operation["responses"][status].is_object(), "lacks {status}");
    }
    let ids: Vec<&Value> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "ids")
        .collect();
    assert_eq!(ids.len(), 1, "{operation}");
    assert_eq!(ids[0]["in"], "query");
    assert_eq!(ids[0]["required"], true);
    let schema = &ids[0]["schema"];
    assert_eq!(
        schema["pattern"],
        r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,99}$"
    );
    assert_eq!(schema["maxLength"], 1899);
    let item = &doc["components"]["schemas"]["ProductState"]["properties"];
    for field in ["id", "name", "price_cents", "stock", "archived", "version"] {
        assert!(item[field].is_object(), "ProductState lacks {field}");
    }
}
