//! `/api/payments`: pay an order, look a payment up, list payments, refund.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use microshop_auth::{Admin, Principal};
use microshop_domain::{Id, Money, NotAnId, ValidationError};
use microshop_web::error::ErrorBody;
use microshop_web::idempotency::IdempotencyKeyHeader;
use microshop_web::{ApiError, Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Error;
use crate::app::App;
use crate::create::{self, Created};
use crate::db::payments::{self, PaymentRow};
use crate::db::refunds::{self, RefundRow};
use crate::refund;

/// Longest refund reason.
const MAX_REASON_CHARS: usize = 500;

/// Body of `POST /api/payments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// One of the caller's orders, `CONFIRMED` (waiting for payment). The amount is the
    /// order's.
    order_id: Id,
}

/// A refund as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefundResponse {
    id: i64,
    payment_id: i64,
    /// In cents.
    amount_cents: i64,
    /// `PENDING` (asked of the provider), `SUCCEEDED` or `FAILED`.
    #[schema(example = "SUCCEEDED")]
    status: String,
    /// Why it was asked for.
    reason: String,
    /// Who asked: `admin:<id>`, `order-service` (a cancellation) or `payment-service` (a
    /// second payment of a paid order).
    requested_by: String,
    /// Why the provider refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_message: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_at: Option<DateTime<Utc>>,
}

impl From<RefundRow> for RefundResponse {
    fn from(row: RefundRow) -> Self {
        Self {
            id: row.id,
            payment_id: row.payment_id,
            amount_cents: row.amount_cents,
            status: row.status,
            reason: row.reason,
            requested_by: row.requested_by,
            failure_message: row.failure_message,
            created_at: row.created_at,
            settled_at: row.settled_at,
        }
    }
}

/// A payment as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentResponse {
    id: i64,
    order_id: i64,
    user_id: i64,
    /// `CREATED`, `PENDING` (pay at `checkout_url`), `SUCCEEDED`, `FAILED`,
    /// `PARTIALLY_REFUNDED` or `REFUNDED`.
    #[schema(example = "PENDING")]
    status: String,
    /// The order's total, e.g. `129.99`.
    #[schema(value_type = f64)]
    amount: f64,
    /// The same in cents.
    amount_cents: i64,
    /// ISO 4217, e.g. `USD`.
    #[schema(example = "USD")]
    currency: String,
    /// Refunds the provider confirmed, in cents.
    refunded_cents: i64,
    /// The provider's page where the buyer enters a card.
    #[serde(skip_serializing_if = "Option::is_none")]
    checkout_url: Option<String>,
    /// Why the card was declined (`card_declined`, `insufficient_funds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<String>,
    /// The decline, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    succeeded_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_at: Option<DateTime<Utc>>,
    /// Its refunds, oldest first (on `GET /api/payments/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    refunds: Option<Vec<RefundResponse>>,
}

impl From<PaymentRow> for PaymentResponse {
    fn from(row: PaymentRow) -> Self {
        Self {
            id: row.id,
            order_id: row.order_id,
            user_id: row.user_id,
            status: row.status,
            amount: Money::from_cents(row.amount_cents).as_decimal(),
            amount_cents: row.amount_cents,
            currency: row.currency,
            refunded_cents: row.refunded_cents,
            checkout_url: row.checkout_url,
            failure_code: row.failure_code,
            failure_message: row.failure_message,
            created_at: row.created_at,
            updated_at: row.updated_at,
            succeeded_at: row.succeeded_at,
            failed_at: row.failed_at,
            refunds: None,
        }
    }
}

/// The caller as a buyer (a token's `sub` is always a valid id; a forged one is refused).
fn buyer(caller: &Principal) -> Result<Id, Error> {
    Id::new(caller.user_id).ok_or_else(|| {
        Error::Request(ApiError::bad_request(
            "token_invalid_subject",
            "the access token names no valid user; log in again",
        ))
    })
}

/// Pays one of the caller's confirmed orders: creates its payment (amount and currency read
/// from the order) and the provider's checkout session, and answers the payment with its
/// `checkout_url`, where the buyer enters a card. An order has one open payment: asking again
/// answers it (200). After a declined card, asking again creates a new payment.
#[utoipa::path(post, path = "/api/payments", tag = "payments", request_body = CreatePaymentRequest,
    params(("Idempotency-Key" = inline(Option<IdempotencyKeyHeader>), Header, description = "Makes retries safe: the same key and body from the same caller get the same payment (kept 24 h)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A new payment, PENDING", body = PaymentResponse),
        (status = 200, description = "The order's open payment", body = PaymentResponse),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
        (status = 409, description = "The order is not CONFIRMED, or already paid", body = ErrorBody),
        (status = 422, description = "Bad field, or a reused idempotency key", body = ErrorBody),
        (status = 503, description = "Order service or provider unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn create_payment(
    State(app): State<App>,
    caller: Principal,
    headers: HeaderMap,
    Json(request): Json<CreatePaymentRequest>,
) -> Result<Response, Error> {
    let buyer = buyer(&caller)?;
    let key = microshop_web::idempotency::key(&headers, None)?;
    let created = create::payment(&app, buyer, request.order_id, key).await?;
    Ok(match created {
        Created::New(payment) => {
            (StatusCode::CREATED, Json(PaymentResponse::from(payment))).into_response()
        }
        Created::Existing(payment) => Json(PaymentResponse::from(payment)).into_response(),
        Created::Replayed(payment) => {
            let mut response =
                (StatusCode::CREATED, Json(PaymentResponse::from(payment))).into_response();
            microshop_web::idempotency::mark_replayed(&mut response);
            response
        }
    })
}

/// One of the caller's payments with its refunds (an admin sees every payment).
#[utoipa::path(get, path = "/api/payments/{id}", tag = "payments",
    params(("id" = Id, Path, description = "Payment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentResponse),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such payment of the caller's", body = ErrorBody),
    ))]
pub async fn get_payment(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<Id>,
) -> Result<Json<PaymentResponse>, Error> {
    let payment = payments::find(&app.db, id.get())
        .await?
        .filter(|payment| caller.may_access(payment.user_id))
        .ok_or(Error::PaymentNotFound(id))?;
    let refunds = refunds::of_payment(&app.db, payment.id).await?;
    let mut response = PaymentResponse::from(payment);
    response.refunds = Some(refunds.into_iter().map(RefundResponse::from).collect());
    Ok(Json(response))
}

/// Query of `GET /api/payments`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentsQuery {
    /// Only this order's payments.
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1)]
    order_id: Option<i64>,
    /// Items to return, 1 to 100 (default 20).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Items to skip, 0 to 10,000 (default 0).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 0, maximum = 10_000)]
    offset: Option<i64>,
}

/// The caller's payments, newest first, optionally of one order; an admin lists everyone's.
#[utoipa::path(get, path = "/api/payments", tag = "payments", params(ListPaymentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PaymentResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
pub async fn list_payments(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<ListPaymentsQuery>,
) -> Result<Json<Vec<PaymentResponse>>, Error> {
    let page = microshop_web::pagination::page(query.limit, query.offset)?;
    let order_id = query
        .order_id
        .map(|raw| {
            Id::new(raw).ok_or_else(|| {
                ApiError::bad_request("invalid_query", NotAnId(raw.to_string()).to_string())
            })
        })
        .transpose()?;
    let user_id = if caller.is_admin() {
        None
    } else {
        Some(buyer(&caller)?.get())
    };
    let rows = payments::list(
        &app.db,
        user_id,
        order_id.map(Id::get),
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Json(rows.into_iter().map(PaymentResponse::from).collect()))
}

/// Body of `POST /api/payments/refund`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// A payment that took money (`SUCCEEDED` or `PARTIALLY_REFUNDED`).
    payment_id: Id,
    /// How much, in cents; all that is left when absent.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    #[schema(minimum = 1, example = 500)]
    amount_cents: Option<i64>,
    /// Why, for the buyer and the books (at most 500 characters).
    #[schema(max_length = 500, example = "damaged on arrival")]
    reason: Option<String>,
}

/// Gives money of a payment back (admin): all that is left, or `amount_cents` — never more than
/// was paid, counting refunds still pending. Sent to the provider at once; `SUCCEEDED` when it
/// confirmed, `PENDING` while it is asked again. With an `Idempotency-Key`, a retry answers the
/// same refund.
#[utoipa::path(post, path = "/api/payments/refund", tag = "payments", request_body = RefundRequest,
    params(("Idempotency-Key" = inline(Option<IdempotencyKeyHeader>), Header, description = "Makes retries safe: the same key and body get the same refund, never a second one")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Refund asked for", body = RefundResponse),
        (status = 200, description = "The refund of an earlier request with the same key", body = RefundResponse),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such payment", body = ErrorBody),
        (status = 409, description = "The payment took no money, or all of it is refunded", body = ErrorBody),
        (status = 422, description = "More than is left to refund, a bad field, or a reused key", body = ErrorBody),
    ))]
pub async fn refund_payment(
    State(app): State<App>,
    Admin(admin): Admin,
    headers: HeaderMap,
    Json(request): Json<RefundRequest>,
) -> Result<Response, Error> {
    let key = microshop_web::idempotency::key(&headers, None)?;
    if let Some(amount) = request.amount_cents {
        if amount < 1 {
            return Err(
                ValidationError::new("amount_cents", "must be at least 1".to_owned()).into(),
            );
        }
    }
    let reason = request.reason.as_deref().unwrap_or("refunded by an admin");
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ValidationError::new(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters"),
        )
        .into());
    }
    let (new, refund) = refund::by_admin(
        &app,
        admin.user_id,
        request.payment_id,
        request.amount_cents,
        key.as_ref(),
        reason,
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(RefundResponse::from(refund))).into_response())
}
