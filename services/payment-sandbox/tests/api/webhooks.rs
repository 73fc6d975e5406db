//! Webhook delivery: retries until delivered, giving up, one failing event not holding others
//! back, and the test controls (duplicates, hold and release, pay on create).

use std::collections::HashSet;
use std::time::Duration;

use microshop_testkit::{eventually, json};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{DECLINED, Delivery, SUCCEEDS, Sandbox};

#[tokio::test]
async fn a_failed_delivery_is_retried_signed_anew_until_delivered() {
    let sandbox = Sandbox::start_with(3, &[]).await;
    let id = sandbox.paid_session("42", SUCCEEDS).await;

    let deliveries = sandbox.receiver.wait_for(&id, 4).await;
    let statuses: Vec<u16> = deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [500, 500, 500, 200]);
    let event_id = deliveries[0].event_id().to_owned();
    for delivery in &deliveries {
        delivery.assert_signed();
        assert_eq!(delivery.event_id(), event_id, "the same event each time");
        assert_eq!(
            delivery.body, deliveries[0].body,
            "the same bytes each time"
        );
    }

    let record = sandbox.delivery_record(&event_id).await;
    assert_eq!(record["type"], "checkout.succeeded");
    assert_eq!(record["session_id"], id.as_str());
    assert_eq!(record["attempts"], 4);
    assert_eq!(record["delivered"], true);
    assert_eq!(record["last_status"], 200);
    assert_eq!(record["given_up"], false);
    assert_eq!(
        sandbox
            .metric("sandbox_webhook_deliveries_total", "\"failed_attempt\"")
            .await,
        3
    );
    assert_eq!(
        sandbox
            .metric("sandbox_webhook_deliveries_total", "\"delivered\"")
            .await,
        1
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sandbox.receiver.about(&id).len(),
        4,
        "nothing after the 2xx"
    );
}

#[tokio::test]
async fn a_delivery_is_given_up_after_the_last_allowed_attempt() {
    let sandbox = Sandbox::start_with(usize::MAX, &["--webhook-max-attempts", "3"]).await;
    let id = sandbox.paid_session("42", SUCCEEDS).await;
    let deliveries = sandbox.receiver.wait_for(&id, 3).await;
    let event_id = deliveries[0].event_id().to_owned();
    eventually("the delivery is given up", async || {
        sandbox.delivery_record(&event_id).await["given_up"] == true
    })
    .await;
    let record = sandbox.delivery_record(&event_id).await;
    assert_eq!(record["attempts"], 3);
    assert_eq!(record["delivered"], false);
    assert_eq!(record["last_status"], 500);
    assert_eq!(
        sandbox
            .metric("sandbox_webhook_deliveries_total", "\"given_up\"")
            .await,
        1
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sandbox.receiver.about(&id).len(), 3);
}

#[tokio::test]
async fn an_event_that_keeps_failing_does_not_hold_the_others_back() {
    let sandbox = Sandbox::start_with(
        0,
        &[
            "--webhook-retry-base-ms",
            "2000",
            "--webhook-retry-max-ms",
            "2000",
        ],
    )
    .await;
    sandbox.receiver.always_fail("bad");
    let bad = sandbox.paid_session("bad", SUCCEEDS).await;
    sandbox.receiver.wait_for(&bad, 1).await;
    let mut good = Vec::new();
    for n in 0..5 {
        good.push(sandbox.paid_session(&format!("good-{n}"), SUCCEEDS).await);
    }
    for id in &good {
        let delivered = sandbox.receiver.wait_for(id, 1).await;
        assert_eq!(delivered[0].status, 200);
    }
    // All five arrived before the failing event's second attempt was even due.
    assert_eq!(sandbox.receiver.about(&bad).len(), 1);
}

#[tokio::test]
async fn with_duplicates_each_event_is_delivered_that_many_times_each_signed() {
    let sandbox = Sandbox::start().await;
    let settings = sandbox.settings(&json!({"duplicates": 3})).await;
    assert_eq!(
        settings,
        json!({"duplicates": 3, "hold": false, "pay_on_create": null})
    );
    let id = sandbox.paid_session("42", DECLINED).await;
    let deliveries = sandbox.receiver.wait_for(&id, 3).await;
    let ids: HashSet<&str> = deliveries.iter().map(Delivery::event_id).collect();
    assert_eq!(ids.len(), 1, "one event, three deliveries");
    for delivery in &deliveries {
        delivery.assert_signed();
        assert_eq!(delivery.json["type"], "checkout.failed");
    }
    let record = sandbox.delivery_record(deliveries[0].event_id()).await;
    assert_eq!(record["attempts"], 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sandbox.receiver.about(&id).len(), 3);
}

#[tokio::test]
async fn held_events_are_released_in_reversed_order() {
    let sandbox = Sandbox::start().await;
    sandbox.settings(&json!({"hold": true})).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(sandbox.paid_session(&format!("held-{n}"), SUCCEEDS).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sandbox.receiver.deliveries().is_empty(), "held, not sent");
    let records = json(sandbox.api.get("/v1/test/deliveries").await).await;
    assert!(
        records
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["held"] == true && r["attempts"] == 0)
    );

    let released = sandbox
        .api
        .post_json("/v1/test/release", &json!({"order": "reversed"}))
        .await;
    assert_eq!(released.status(), StatusCode::OK);
    assert_eq!(json(released).await, json!({"released": 3}));

    eventually("the three held events arrive", async || {
        sandbox.receiver.deliveries().len() == 3
    })
    .await;
    let arrived: Vec<String> = sandbox
        .receiver
        .deliveries()
        .iter()
        .map(|d| d.session_id().to_owned())
        .collect();
    ids.reverse();
    assert_eq!(arrived, ids);
    for delivery in sandbox.receiver.deliveries() {
        delivery.assert_signed();
    }
    // The body is optional.
    let again = sandbox
        .api
        .http()
        .post(format!("{}/v1/test/release", sandbox.api.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(json(again).await, json!({"released": 0}));
}

#[tokio::test]
async fn held_events_are_released_in_sent_order() {
    let sandbox = Sandbox::start().await;
    sandbox.settings(&json!({"hold": true})).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(sandbox.paid_session(&format!("held-{n}"), SUCCEEDS).await);
    }
    let released = sandbox
        .api
        .post_json("/v1/test/release", &json!({"order": "sent"}))
        .await;
    assert_eq!(json(released).await, json!({"released": 3}));
    eventually("the three held events arrive", async || {
        sandbox.receiver.deliveries().len() == 3
    })
    .await;
    let arrived: Vec<String> = sandbox
        .receiver
        .deliveries()
        .iter()
        .map(|d| d.session_id().to_owned())
        .collect();
    assert_eq!(arrived, ids);
}

#[tokio::test]
async fn pay_on_create_delivers_the_webhook_before_the_create_call_returns() {
    let sandbox = Sandbox::start().await;
    let settings = sandbox
        .settings(&json!({"pay_on_create": "4242 4242 4242 4242"}))
        .await;
    assert_eq!(settings["pay_on_create"], "4242424242424242");

    let session = sandbox.session("42").await;
    assert_eq!(session["status"], "succeeded");
    let id = session["id"].as_str().unwrap();
    let delivered = sandbox.receiver.about(id);
    assert_eq!(delivered.len(), 1, "delivered before the answer");
    delivered[0].assert_signed();
    assert_eq!(delivered[0].json["type"], "checkout.succeeded");
    assert_eq!(delivered[0].json["data"]["reference"], "42");

    sandbox.settings(&json!({"pay_on_create": DECLINED})).await;
    let declined = sandbox.session("43").await;
    assert_eq!(declined["status"], "failed");
    assert_eq!(declined["failure_code"], "card_declined");
    let id = declined["id"].as_str().unwrap();
    assert_eq!(
        sandbox.receiver.about(id)[0].json["type"],
        "checkout.failed"
    );
}

#[tokio::test]
async fn pay_on_create_with_a_failing_receiver_answers_and_retries_later() {
    let sandbox = Sandbox::start_with(1, &[]).await;
    sandbox.settings(&json!({"pay_on_create": SUCCEEDS})).await;
    let session = sandbox.session("42").await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(
        sandbox.receiver.about(id)[0].status,
        500,
        "the first attempt was awaited"
    );
    let deliveries = sandbox.receiver.wait_for(id, 2).await;
    assert_eq!(deliveries[1].status, 200);
}

#[tokio::test]
async fn settings_out_of_range_are_refused() {
    let sandbox = Sandbox::start().await;
    for body in [
        json!({"duplicates": 0}),
        json!({"duplicates": 21}),
        json!({"pay_on_create": "4242 4242 4242 4241"}),
    ] {
        let response = sandbox
            .api
            .send_as(reqwest::Method::PUT, "/v1/test/settings", None, Some(&body))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
}
