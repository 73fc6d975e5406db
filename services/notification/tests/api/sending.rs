//! An admin's e-mail and text messages, preferences, and who sees what.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use microshop_testkit::{checks, eventually, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::shop::{Options, Shop, admin, customer};

#[sqlx::test]
async fn an_admin_sends_mail_to_an_address_or_a_user_who_has_not_opted_out(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (ann, email) = shop.register("Ann").await;
    shop.smtp.wait_for(1).await;
    let client = &shop.notifications().client;

    let body =
        json!({"to": "bob@example.com", "subject": "Hello <Bob>", "text": "One & two.\n\nThree."});
    let response = client
        .post_json_as("/api/notifications/email", &body, &admin())
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(json(response).await["status"], "QUEUED");
    let mails = shop.smtp.wait_for(2).await;
    let mail = &mails[1];
    assert_eq!(mail.envelope_to, vec!["bob@example.com".to_owned()]);
    assert_eq!(mail.subject.as_deref(), Some("Hello <Bob>"));
    let html = mail.html.as_deref().unwrap();
    assert!(
        html.contains("One &#38; two.") && !html.contains("<Bob>"),
        "{html}"
    );

    // Ann turns marketing off: a marketing mail to her is refused, a transactional one goes.
    let response = client
        .send_as(
            Method::PUT,
            "/api/notifications/preferences",
            Some(&customer(ann)),
            Some(&json!({"marketing": false})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let offer =
        json!({"user_id": ann, "subject": "Sale", "text": "20 % off", "category": "marketing"});
    let refused = client
        .post_json_as("/api/notifications/email", &offer, &admin())
        .await;
    checks::assert_error(refused, StatusCode::CONFLICT, "opted out").await;
    let notice =
        json!({"user_id": ann, "subject": "Your account", "text": "We changed our terms."});
    let response = client
        .post_json_as("/api/notifications/email", &notice, &admin())
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mails = shop.smtp.wait_for(3).await;
    assert_eq!(mails[2].envelope_to, vec![email]);
    assert!(mails[2].text.as_deref().unwrap().starts_with("Hello Ann,"));
    let prefs = json(
        client
            .get_as("/api/notifications/preferences", &customer(ann))
            .await,
    )
    .await;
    assert_eq!(prefs, json!({"marketing": false}));

    // Bad requests change nothing.
    for (body, case) in [
        (json!({"subject": "x", "text": "y"}), "no recipient"),
        (
            json!({"to": "a@example.com", "user_id": ann, "subject": "x", "text": "y"}),
            "two recipients",
        ),
        (
            json!({"to": "not-an-address", "subject": "x", "text": "y"}),
            "bad address",
        ),
        (
            json!({"to": "a@example.com", "subject": " ", "text": "y"}),
            "blank subject",
        ),
        (
            json!({"to": "a@example.com", "subject": "x", "text": "y", "category": "spam"}),
            "bad category",
        ),
    ] {
        let response = client
            .post_json_as("/api/notifications/email", &body, &admin())
            .await;
        checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, case).await;
    }
    assert_eq!(shop.count("select count(*) from notifications").await, 3);
}

#[sqlx::test]
async fn only_admins_send_and_customers_see_only_their_own(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (ann, _) = shop.register("Ann").await;
    let (bob, _) = shop.register("Bob").await;
    shop.smtp.wait_for(2).await;
    let client = &shop.notifications().client;
    let body = json!({"to": "x@example.com", "subject": "x", "text": "y"});
    checks::assert_needs_a_valid_token(
        client,
        Method::POST,
        "/api/notifications/email",
        Some(&body),
    )
    .await;
    checks::assert_needs_a_valid_token(client, Method::GET, "/api/notifications", None).await;
    let denied = client
        .post_json_as("/api/notifications/email", &body, &customer(ann))
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let sms = json!({"to": "+491701234567", "text": "hi"});
    let denied = client
        .post_json_as("/api/notifications/sms", &sms, &customer(ann))
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let own = json(client.get_as("/api/notifications", &customer(ann)).await).await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["user_id"], ann);
    let other = client
        .get_as(&format!("/api/notifications?user_id={bob}"), &customer(ann))
        .await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let all = json(
        client
            .get_as("/api/notifications?channel=email&status=SENT", &admin())
            .await,
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let bobs = json(
        client
            .get_as(&format!("/api/notifications?user_id={bob}"), &admin())
            .await,
    )
    .await;
    assert_eq!(bobs[0]["user_id"], bob);
    checks::assert_bad_paging_rejected(&client.authorized(&admin()), "/api/notifications").await;
}

/// What the SMS receiver got: bodies and their signatures.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[sqlx::test]
async fn text_messages_go_to_the_sms_webhook_signed(pool: PgPool) {
    let received: Received = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                let signature = headers
                    .get("microshop-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                sink.lock().unwrap().push((signature, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url_arg = format!("--sms-webhook-url={url}");
    let shop = Shop::start_with(
        pool,
        Options {
            notification_args: &[
                "--sms-provider=webhook",
                &url_arg,
                "--sms-webhook-secret=sms-secret-0123456789abcdef",
            ],
        },
    )
    .await;
    let client = &shop.notifications().client;
    let sms = json!({"to": "+491701234567", "text": "Your order has shipped."});
    let response = client
        .post_json_as("/api/notifications/sms", &sms, &admin())
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    eventually("the SMS provider got it", async || {
        !received.lock().unwrap().is_empty()
    })
    .await;
    let (signature, bytes) = received.lock().unwrap()[0].clone();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["to"], "+491701234567");
    assert_eq!(body["body"], "Your order has shipped.");
    let secret = secrecy::SecretString::from("sms-secret-0123456789abcdef".to_owned());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        microshop_webhook::verify(
            &[secret],
            &signature,
            &bytes,
            now,
            microshop_webhook::TOLERANCE
        )
        .is_ok()
    );
    let bad = json!({"to": "0170 1234567", "text": "x"});
    let response = client
        .post_json_as("/api/notifications/sms", &bad, &admin())
        .await;
    checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "bad number").await;
}
