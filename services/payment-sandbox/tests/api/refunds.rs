//! Refunds: partial then the rest, too much, the same reference twice, unpaid sessions, the
//! refund webhooks, and the test card whose refunds fail.

use microshop_testkit::checks::assert_error;
use microshop_testkit::json;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{DECLINED, REFUNDS_FAIL, SUCCEEDS, Sandbox};

async fn refund(
    sandbox: &Sandbox,
    session_id: &str,
    amount_cents: i64,
    reference: &str,
) -> Response {
    sandbox
        .api
        .post_json(
            "/v1/refunds",
            &json!({"session_id": session_id, "amount_cents": amount_cents, "reference": reference}),
        )
        .await
}

async fn created(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

#[tokio::test]
async fn a_paid_session_is_refunded_in_part_then_the_rest_but_no_more() {
    let sandbox = Sandbox::start().await;
    let id = sandbox.paid_session("42", SUCCEEDS).await;

    let too_much = refund(&sandbox, &id, 1300, "r0").await;
    let error = assert_error(too_much, StatusCode::UNPROCESSABLE_ENTITY, "1300 of 1299").await;
    assert_eq!(error["error"]["code"], "amount_too_large");

    let first = created(refund(&sandbox, &id, 500, "r1").await).await;
    assert!(first["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(first["session_id"], id.as_str());
    assert_eq!(first["amount_cents"], 500);
    assert_eq!(first["reference"], "r1");
    assert_eq!(first["status"], "succeeded");
    assert_eq!(sandbox.get_session(&id).await["refunded_cents"], 500);

    let over = refund(&sandbox, &id, 800, "r2").await;
    let error = assert_error(over, StatusCode::UNPROCESSABLE_ENTITY, "800 of 799 left").await;
    assert_eq!(error["error"]["code"], "amount_too_large");

    created(refund(&sandbox, &id, 799, "r2").await).await;
    assert_eq!(sandbox.get_session(&id).await["refunded_cents"], 1299);
    let nothing_left = refund(&sandbox, &id, 1, "r3").await;
    assert_error(
        nothing_left,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing left",
    )
    .await;
}

#[tokio::test]
async fn the_same_reference_twice_gives_one_refund_and_one_webhook() {
    let sandbox = Sandbox::start().await;
    let id = sandbox.paid_session("42", SUCCEEDS).await;
    let first = created(refund(&sandbox, &id, 500, "7").await).await;
    let again = refund(&sandbox, &id, 500, "7").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json(again).await, first);
    assert_eq!(sandbox.get_session(&id).await["refunded_cents"], 500);

    // The payment's webhook and one refund webhook.
    let deliveries = sandbox.receiver.wait_for(&id, 2).await;
    let refund_event = &deliveries[1];
    refund_event.assert_signed();
    assert_eq!(refund_event.json["type"], "refund.succeeded");
    let data = &refund_event.json["data"];
    assert_eq!(data["session_id"], id.as_str());
    assert_eq!(data["reference"], "42");
    assert_eq!(data["amount_cents"], 500, "the refund's amount");
    assert_eq!(data["currency"], "USD");
    assert_eq!(data["refund_id"], first["id"]);
    assert_eq!(data["refund_reference"], "7");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sandbox.receiver.about(&id).len(), 2);
}

#[tokio::test]
async fn an_unpaid_session_cannot_be_refunded() {
    let sandbox = Sandbox::start().await;
    let open = sandbox.session("42").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let declined = sandbox.paid_session("43", DECLINED).await;
    for id in [&open, &declined] {
        let refused = refund(&sandbox, id, 100, "1").await;
        let error = assert_error(refused, StatusCode::CONFLICT, id).await;
        assert_eq!(error["error"]["code"], "session_not_paid");
    }
    let missing = refund(&sandbox, "cs_00000000000000000000000000000000", 100, "1").await;
    let error = assert_error(missing, StatusCode::NOT_FOUND, "unknown session").await;
    assert_eq!(error["error"]["code"], "session_not_found");
    let zero = refund(&sandbox, &open, 0, "1").await;
    assert_error(zero, StatusCode::UNPROCESSABLE_ENTITY, "zero").await;
}

#[tokio::test]
async fn refunds_of_the_refusing_test_card_fail_with_a_refund_failed_webhook() {
    let sandbox = Sandbox::start().await;
    let id = sandbox.paid_session("42", REFUNDS_FAIL).await;
    let failed = created(refund(&sandbox, &id, 1299, "9").await).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure_message"].is_string());
    assert_eq!(sandbox.get_session(&id).await["refunded_cents"], 0);

    let deliveries = sandbox.receiver.wait_for(&id, 2).await;
    let event = &deliveries[1].json;
    assert_eq!(event["type"], "refund.failed");
    assert_eq!(event["data"]["refund_reference"], "9");
    assert!(event["data"]["failure_message"].is_string());
}
