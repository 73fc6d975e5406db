//! Every route that is not public needs a valid access token, every admin route an admin, and
//! a refused request changes nothing.

use microshop_testkit::{checks, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{log_in, register, spawn_app, user_count};

#[sqlx::test]
async fn every_protected_route_refuses_bad_tokens_and_customers_reach_no_admin_route(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let ann = register(&app, "ann@example.com").await;
    let address = json!({"name": "Ann", "line1": "1 Main Street", "city": "Springfield",
                         "postal_code": "12345", "country": "US"});
    let profile = json!({"email": "mallory@example.com", "name": "Mallory"});
    let password = json!({"current_password": "correct horse", "new_password": "stolen horse"});
    let role = json!({"role": "admin"});
    let (user, role_path) = (
        format!("/api/users/{ann}"),
        format!("/api/users/{ann}/role"),
    );
    let protected: Vec<(Method, &str, Option<&Value>)> = vec![
        (Method::GET, "/api/users", None),
        (Method::GET, "/api/users/", None),
        (Method::GET, &user, None),
        (Method::PUT, &role_path, Some(&role)),
        (Method::GET, "/api/users/profile", None),
        (Method::PUT, "/api/users/profile", Some(&profile)),
        (Method::PUT, "/api/users/password", Some(&password)),
        (Method::POST, "/api/users/logout", None),
        (Method::GET, "/api/users/addresses", None),
        (Method::POST, "/api/users/addresses", Some(&address)),
        (Method::PUT, "/api/users/addresses/1", Some(&address)),
        (Method::DELETE, "/api/users/addresses/1", None),
    ];
    for (method, path, body) in &protected {
        checks::assert_needs_a_valid_token(&app.client, method.clone(), path, *body).await;
    }
    for (method, path, body) in [
        (Method::GET, "/api/users", None),
        (Method::GET, "/api/users/", None),
        (Method::PUT, role_path.as_str(), Some(&role)),
    ] {
        checks::assert_admin_only(&app.client, method, path, body).await;
    }

    // Nothing changed: one account, still a customer, same e-mail, same password, no address.
    assert_eq!(user_count(&pool).await, 1);
    let session = log_in(&app, "ann@example.com", "correct horse").await;
    assert_eq!(session["user"]["role"], "customer");
    let token = session["access_token"].as_str().expect("a token");
    let addresses = json(app.client.get_as("/api/users/addresses", token).await).await;
    assert_eq!(addresses, json!([]));
    // The public routes stay public.
    assert_eq!(
        app.client.get("/.well-known/jwks.json").await.status(),
        StatusCode::OK
    );
}
