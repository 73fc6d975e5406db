//! Sign-in: log-in, refresh rotation and reuse detection, log-out, password change, profile,
//! the JWKS, and every way an access token can be bad.

use futures::future::join_all;
use microshop_auth::{JwkSet, PublicKey, Role, Verifier};
use microshop_testkit::{auth, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{ann, spawn_app};

/// Registers Ann and logs her in; the session body.
async fn signed_in(app: &microshop_testkit::TestApp) -> Value {
    app.client.post_json("/api/users", &ann()).await;
    let response = app
        .client
        .post_json(
            "/api/users/login",
            &json!({"email": "ann@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "tokens are never cached"
    );
    json(response).await
}

fn access(session: &Value) -> String {
    session["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn refresh_token(session: &Value) -> Value {
    json!({"refresh_token": session["refresh_token"]})
}

#[sqlx::test]
async fn log_in_gives_an_eddsa_access_token_the_published_keys_verify(pool: PgPool) {
    let app = spawn_app(pool).await;
    let session = signed_in(&app).await;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert_eq!(session["user"]["email"], "ann@example.com");
    assert_eq!(session["user"]["role"], "customer");
    assert!(
        session["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );

    // Any service can verify it with the JWKS alone.
    let response = app.client.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: JwkSet = serde_json::from_value(json(response).await).expect("a JWKS");
    let keys: Vec<PublicKey> =
        JwkSet::parse(&serde_json::to_string(&jwks).expect("json"), "jwks").expect("Ed25519 keys");
    let verifier = Verifier::new(&keys, &auth::audience());
    let principal = verifier.verify(&access(&session)).expect("verifies");
    assert_eq!(
        principal.user_id,
        session["user"]["id"].as_i64().expect("an id")
    );
    assert_eq!(principal.role, Role::Customer);

    let profile = app
        .client
        .get_as("/api/users/profile", &access(&session))
        .await;
    assert_eq!(profile.status(), StatusCode::OK);
    assert_eq!(json(profile).await["name"], "Ann Example");
}

#[sqlx::test]
async fn a_refresh_token_works_once_and_its_reuse_ends_the_whole_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = signed_in(&app).await;
    let response = app
        .client
        .post_json("/api/users/refresh", &refresh_token(&first))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = json(response).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);

    // The first token again: someone copied it. Refused, and the session it belongs to ends.
    let reused = app
        .client
        .post_json("/api/users/refresh", &refresh_token(&first))
        .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(reused).await["error"]["code"], "refresh_token_reused");
    let after = app
        .client
        .post_json("/api/users/refresh", &refresh_token(&second))
        .await;
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );
    assert_eq!(json(after).await["error"]["code"], "refresh_token_invalid");

    for body in [
        json!({"refresh_token": "made-up"}),
        json!({"refresh_token": ""}),
    ] {
        let response = app.client.post_json("/api/users/refresh", &body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{body}");
    }
}

#[sqlx::test]
async fn two_refreshes_racing_with_one_token_get_one_new_session_at_most(pool: PgPool) {
    let app = spawn_app(pool).await;
    let session = signed_in(&app).await;
    let body = refresh_token(&session);
    let answers = join_all((0..4).map(|_| app.client.post_json("/api/users/refresh", &body))).await;
    let ok = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert!(ok <= 1, "{ok} refreshes succeeded with one token");
}

#[sqlx::test]
async fn log_out_ends_one_session_or_all_of_them(pool: PgPool) {
    let app = spawn_app(pool).await;
    let phone = signed_in(&app).await;
    let laptop = json(
        app.client
            .post_json(
                "/api/users/login",
                &json!({"email": "ann@example.com", "password": "correct horse"}),
            )
            .await,
    )
    .await;

    let response = app
        .client
        .post_json_as("/api/users/logout", &refresh_token(&phone), &access(&phone))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refresh = |session: &Value| {
        let body = refresh_token(session);
        let client = app.client.clone();
        async move { client.post_json("/api/users/refresh", &body).await.status() }
    };
    assert_eq!(refresh(&phone).await, StatusCode::UNAUTHORIZED);
    // Another user cannot end Ann's session with her refresh token.
    let stranger = auth::token(4242, Role::Customer);
    let response = app
        .client
        .post_json_as("/api/users/logout", &refresh_token(&laptop), &stranger)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // No body: every session of the user.
    let response = app
        .client
        .send_as(
            Method::POST,
            "/api/users/logout",
            Some(&access(&laptop)),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(refresh(&laptop).await, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn a_password_change_needs_the_current_one_and_ends_every_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let session = signed_in(&app).await;
    let token = access(&session);
    let wrong = app
        .client
        .put_json_as(
            "/api/users/password",
            &json!({"current_password": "wrong horse", "new_password": "battery staple"}),
            &token,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(wrong).await["error"]["code"], "current_password_wrong");
    let weak = app
        .client
        .put_json_as(
            "/api/users/password",
            &json!({"current_password": "correct horse", "new_password": "short"}),
            &token,
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let changed = app
        .client
        .put_json_as(
            "/api/users/password",
            &json!({"current_password": "correct horse", "new_password": "battery staple"}),
            &token,
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let refresh = app
        .client
        .post_json("/api/users/refresh", &refresh_token(&session))
        .await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED, "sessions ended");
    let login = |password: &'static str| {
        let client = app.client.clone();
        async move {
            client
                .post_json(
                    "/api/users/login",
                    &json!({"email": "ann@example.com", "password": password}),
                )
                .await
                .status()
        }
    };
    assert_eq!(login("correct horse").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login("battery staple").await, StatusCode::OK);
}

#[sqlx::test]
async fn the_profile_is_ones_own_and_an_address_cannot_be_taken_twice(pool: PgPool) {
    let app = spawn_app(pool).await;
    let session = signed_in(&app).await;
    app.client
        .post_json(
            "/api/users",
            &json!({"email": "bob@example.com", "name": "Bob", "password": "correct horse"}),
        )
        .await;
    let token = access(&session);
    let updated = app
        .client
        .put_json_as(
            "/api/users/profile",
            &json!({"email": "Ann.New@example.com", "name": "  Ann New "}),
            &token,
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    let body = json(updated).await;
    assert_eq!(
        (body["email"].as_str(), body["name"].as_str()),
        (Some("ann.new@example.com"), Some("Ann New"))
    );
    let taken = app
        .client
        .put_json_as(
            "/api/users/profile",
            &json!({"email": "bob@example.com", "name": "Ann"}),
            &token,
        )
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let invalid = app
        .client
        .put_json_as(
            "/api/users/profile",
            &json!({"email": "nope", "name": ""}),
            &token,
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let profile = json(app.client.get_as("/api/users/profile", &token).await).await;
    assert_eq!(
        profile["email"], "ann.new@example.com",
        "the failed changes changed nothing"
    );
}

#[sqlx::test]
async fn every_bad_token_is_a_401_with_its_reason_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let session = signed_in(&app).await;
    let id = session["user"]["id"].as_i64().expect("an id");
    let change = json!({"email": "mallory@example.com", "name": "Mallory"});
    let missing = app
        .client
        .send_as(Method::PUT, "/api/users/profile", None, Some(&change))
        .await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="microshop""#
    );
    assert_eq!(json(missing).await["error"]["code"], "token_missing");
    for (code, token) in auth::bad_tokens(id, Role::Customer) {
        for method in [Method::GET, Method::PUT] {
            let response = app
                .client
                .send_as(
                    method.clone(),
                    "/api/users/profile",
                    Some(&token),
                    Some(&change),
                )
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{code} {method}"
            );
            assert!(response.headers().contains_key("www-authenticate"));
            assert_eq!(json(response).await["error"]["code"], code, "{method}");
        }
    }
    let profile = json(
        app.client
            .get_as("/api/users/profile", &access(&session))
            .await,
    )
    .await;
    assert_eq!(profile["email"], "ann@example.com", "nothing changed");
    let metrics = app.client.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains(r#"auth_failures_total{reason="token_expired",service="user-service"} 2"#),
        "{metrics}"
    );
}
