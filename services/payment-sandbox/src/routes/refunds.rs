//! `/v1/refunds`: refund part or the rest of a paid session, once per reference.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use microshop_web::Json;
use microshop_web::error::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Provider;
use crate::app::App;
use crate::domain::{NewRefund, Refund, RefundStatus, Refunded};
use crate::{Error, refund};

/// Body of `POST /v1/refunds`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// The paid session.
    #[schema(example = "cs_4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a")]
    session_id: String,
    /// How much, at most what was paid and not yet refunded.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 9_999_999_999_i64, example = 500)]
    amount_cents: i64,
    /// The payment service's refund id: one refund per reference and session.
    #[schema(example = "7", min_length = 1, max_length = 200)]
    reference: String,
}

/// How a refund ended.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatusResponse {
    /// The money went back.
    Succeeded,
    /// It did not; `failure_message` says why.
    Failed,
}

/// A refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResponse {
    /// `re_` and 32 hex digits.
    #[schema(example = "re_9a8b7c6d5e4f40312a1b2c3d4e5f6a7b")]
    id: String,
    session_id: String,
    #[schema(example = 500)]
    amount_cents: i64,
    /// The payment service's refund id.
    #[schema(example = "7")]
    reference: String,
    status: RefundStatusResponse,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_message: Option<String>,
}

impl From<Refund> for RefundResponse {
    fn from(refund: Refund) -> Self {
        Self {
            id: refund.id,
            session_id: refund.session_id,
            amount_cents: refund.amount_cents,
            reference: refund.reference,
            status: match refund.status {
                RefundStatus::Succeeded => RefundStatusResponse::Succeeded,
                RefundStatus::Failed => RefundStatusResponse::Failed,
            },
            failure_message: refund.failure_message,
        }
    }
}

/// Refunds a paid session, wholly or in part; its `refund.succeeded` or `refund.failed` webhook
/// follows. A reference already used for the session gives that refund again (200).
#[utoipa::path(post, path = "/v1/refunds", tag = "refunds", request_body = CreateRefundRequest,
    security(("providerApiKey" = [])),
    responses(
        (status = 201, description = "Refunded (or, for the test card whose refunds fail, failed)", body = RefundResponse),
        (status = 200, description = "The refund of a reference already used", body = RefundResponse),
        (status = 401, description = "No API key, or not the sandbox's", body = ErrorBody),
        (status = 404, description = "No such session (`session_not_found`)", body = ErrorBody),
        (status = 409, description = "The session is open or failed (`session_not_paid`)", body = ErrorBody),
        (status = 422, description = "More than paid and not yet refunded (`amount_too_large`), a field breaking a rule (`validation_failed`), or too many refunds (`too_many_refunds`)", body = ErrorBody),
    ))]
pub async fn create_refund(
    State(app): State<App>,
    _: Provider,
    Json(body): Json<CreateRefundRequest>,
) -> Result<Response, Error> {
    let new = NewRefund::parse(body.amount_cents, &body.reference)?;
    Ok(match refund::session(&app, &body.session_id, new)? {
        Refunded::Created(refund) => {
            (StatusCode::CREATED, Json(RefundResponse::from(refund))).into_response()
        }
        Refunded::Known(refund) => Json(RefundResponse::from(refund)).into_response(),
    })
}
