//! The hosted card page: the form, paying with each test card (JSON and form-encoded), invalid
//! cards and closed sessions, and the webhook each payment sends.

use microshop_testkit::checks::assert_error;
use microshop_testkit::json;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::{DECLINED, INSUFFICIENT_FUNDS, SUCCEEDS, Sandbox};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

#[tokio::test]
async fn the_card_page_is_a_form_showing_the_amount_and_the_escaped_description() {
    let sandbox = Sandbox::start().await;
    let session = json(
        sandbox
            .create(
                &json!({"amount_cents": 1299, "currency": "USD", "reference": "42",
                            "description": "Order <17> & \"more\""}),
            )
            .await,
    )
    .await;
    let page = sandbox
        .browser()
        .get(&format!("/checkout/{}", session["id"].as_str().unwrap()))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<form method="post">"#), "{html}");
    assert!(html.contains(r#"name="card_number""#));
    assert!(html.contains("USD 12.99"));
    assert!(html.contains("Order &lt;17&gt; &amp; &quot;more&quot;"));
    assert!(html.contains("Reference 42"));
    assert!(!html.contains("<17>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );

    let missing = sandbox
        .browser()
        .get("/checkout/cs_00000000000000000000000000000000")
        .await;
    assert_error(missing, StatusCode::NOT_FOUND, "unknown session").await;
}

#[tokio::test]
async fn each_test_card_gives_its_outcome_and_a_signed_webhook() {
    let sandbox = Sandbox::start().await;
    for (card, status, failure, event) in [
        (SUCCEEDS, "succeeded", None, "checkout.succeeded"),
        (
            "5555-5555-5555-4444",
            "succeeded",
            None,
            "checkout.succeeded",
        ),
        (DECLINED, "failed", Some("card_declined"), "checkout.failed"),
        (
            INSUFFICIENT_FUNDS,
            "failed",
            Some("insufficient_funds"),
            "checkout.failed",
        ),
    ] {
        let reference = format!("ref-{card}");
        let session = sandbox.session(&reference).await;
        let id = session["id"].as_str().unwrap();

        let answer = sandbox.pay(id, card).await;
        assert_eq!(answer.status(), StatusCode::OK, "{card}");
        let answer = json(answer).await;
        assert_eq!(answer["session_id"], id);
        assert_eq!(answer["status"], status, "{card}");
        assert_eq!(answer["failure_code"].as_str(), failure, "{card}");
        assert!(answer["message"].as_str().unwrap().len() > 5);

        let looked_up = sandbox.get_session(id).await;
        assert_eq!(looked_up["status"], status);
        assert_eq!(looked_up["failure_code"].as_str(), failure);

        let delivery = sandbox.receiver.wait_for(id, 1).await.remove(0);
        delivery.assert_signed();
        let body = &delivery.json;
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(body["type"], event, "{card}");
        assert!(body["created"].as_u64().is_some());
        let data = &body["data"];
        assert_eq!(data["session_id"], id);
        assert_eq!(data["reference"], reference.as_str());
        assert_eq!(data["amount_cents"], 1299);
        assert_eq!(data["currency"], "USD");
        assert_eq!(data["failure_code"].as_str(), failure);
        assert_eq!(data["failure_message"].is_string(), failure.is_some());
    }
    assert_eq!(
        sandbox
            .metric("sandbox_checkouts_total", "\"succeeded\"")
            .await,
        2
    );
    assert_eq!(
        sandbox
            .metric("sandbox_checkouts_total", "\"declined\"")
            .await,
        1
    );
    assert_eq!(
        sandbox
            .metric("sandbox_checkouts_total", "\"insufficient_funds\"")
            .await,
        1
    );
}

#[tokio::test]
async fn a_form_post_is_answered_with_the_result_page_linking_back() {
    let sandbox = Sandbox::start().await;
    let session = json(
        sandbox
            .create(
                &json!({"amount_cents": 1299, "currency": "USD", "reference": "42",
                            "return_url": "http://shop.test/orders/17?paid=1&x=2"}),
            )
            .await,
    )
    .await;
    let path = format!("/checkout/{}", session["id"].as_str().unwrap());

    let page = sandbox
        .browser()
        .post_raw(
            &path,
            "card_number=4242+4242+4242+4242",
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["content-security-policy"], CSP);
    let html = page.text().await.unwrap();
    assert!(html.contains("Payment succeeded"), "{html}");
    assert!(
        html.contains(r#"href="http://shop.test/orders/17?paid=1&amp;x=2""#),
        "{html}"
    );
    assert!(
        !html.contains("4242 4242"),
        "the card number is not shown back"
    );

    // A second card on the page shows the result again; the session stays paid.
    let again = sandbox
        .browser()
        .post_raw(
            &path,
            "card_number=4000000000000002",
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("Payment succeeded"));
    let shown = sandbox.browser().get(&path).await.text().await.unwrap();
    assert!(shown.contains("Payment succeeded") && !shown.contains("<form"));
}

#[tokio::test]
async fn a_declined_form_post_shows_why_without_a_link_when_there_is_no_return_url() {
    let sandbox = Sandbox::start().await;
    let id = sandbox.session("42").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = sandbox
        .browser()
        .post_raw(
            &format!("/checkout/{id}"),
            "card_number=4000-0000-0000-0002",
            "application/x-www-form-urlencoded",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Payment declined"), "{html}");
    assert!(html.contains("Your card was declined."));
    assert!(!html.contains("href="));
}

#[tokio::test]
async fn an_invalid_card_is_refused_and_the_session_stays_open() {
    let sandbox = Sandbox::start().await;
    let id = sandbox.session("42").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for card in ["4242 4242 4242 4241", "1234", "4242x4242x4242x4242"] {
        let refused = sandbox.pay(&id, card).await;
        let error = assert_error(refused, StatusCode::UNPROCESSABLE_ENTITY, card).await;
        assert_eq!(error["error"]["code"], "invalid_card");
        assert!(
            !error.to_string().contains(card),
            "the number is not echoed"
        );
    }
    // In a form, the page asks again.
    let html = sandbox
        .browser()
        .post_raw(
            &format!("/checkout/{id}"),
            "card_number=4242424242424241",
            "application/x-www-form-urlencoded",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<form method="post">"#) && html.contains("check digit"),
        "{html}"
    );
    assert_eq!(sandbox.get_session(&id).await["status"], "open");
    assert!(sandbox.receiver.about(&id).is_empty());

    let paid = json(sandbox.pay(&id, SUCCEEDS).await).await;
    assert_eq!(paid["status"], "succeeded");
}

#[tokio::test]
async fn a_closed_session_refuses_a_second_card_with_409() {
    let sandbox = Sandbox::start().await;
    for first in [SUCCEEDS, DECLINED] {
        let id = sandbox.paid_session("42", first).await;
        for second in [SUCCEEDS, "4242 4242 4242 4241"] {
            let refused = sandbox.pay(&id, second).await;
            let error = assert_error(refused, StatusCode::CONFLICT, second).await;
            assert_eq!(error["error"]["code"], "session_closed");
        }
    }
    let missing = sandbox
        .pay("cs_00000000000000000000000000000000", SUCCEEDS)
        .await;
    assert_error(missing, StatusCode::NOT_FOUND, "unknown session").await;
}

#[tokio::test]
async fn a_card_sent_neither_as_json_nor_as_a_form_is_415() {
    let sandbox = Sandbox::start().await;
    let id = sandbox.session("42").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = sandbox
        .browser()
        .post_raw(&format!("/checkout/{id}"), SUCCEEDS, "text/plain")
        .await;
    let error = assert_error(text, StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain").await;
    assert_eq!(error["error"]["code"], "unsupported_media_type");
    assert_eq!(sandbox.get_session(&id).await["status"], "open");
}
