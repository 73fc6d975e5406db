//! An order's life after it is placed: `POST /api/orders/{id}/cancel` (its buyer or an admin),
//! `PUT /api/orders/{id}/status` (an admin ships or delivers it) and
//! `GET /api/orders/{id}/timeline` (every status change, with time, actor and reason).

use axum::extract::State;
use chrono::{DateTime, Utc};
use microshop_auth::{Admin, Principal};
use microshop_domain::Id;
use microshop_domain::validation::BOUNDED_TEXT_PATTERN;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;

use super::orders::{OrderResponse, buyer};
use crate::Error;
use crate::app::App;
use crate::db::orders;
use crate::domain::Actor;
use crate::domain::shipment::{
    MAX_REASON_CHARS, MAX_TRACKING_CHARS, TRACKING_PATTERN, TrackingNumber, cancel_reason,
};
use crate::lifecycle::{self, Request};

/// Body of `POST /api/orders/{id}/cancel` (optional: an empty body is no reason).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, at most 500 characters (shown on the timeline).
    #[schema(schema_with = reason_schema, example = "ordered the wrong size")]
    reason: Option<String>,
}

fn reason_schema() -> Object {
    microshop_web::schema::text_or_null(BOUNDED_TEXT_PATTERN, 0, MAX_REASON_CHARS)
}

fn tracking_schema() -> Object {
    microshop_web::schema::text(TRACKING_PATTERN, 4, MAX_TRACKING_CHARS)
}

/// Who is asking: an admin, or the order's buyer.
fn actor(caller: &Principal) -> Result<Actor, Error> {
    let id = buyer(caller)?;
    Ok(if caller.is_admin() {
        Actor::Admin(id)
    } else {
        Actor::Buyer(id)
    })
}

/// Cancels an order. Its buyer may cancel it while `CONFIRMED` or `PAID` (not yet shipped); an
/// admin also once `SHIPPED`. The stock held for it goes back and, if it was paid, the payment
/// is refunded (`order.cancelled` with `refund: true`). Cancelling a cancelled order answers it
/// as it is.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders",
    params(("id" = Id, Path, description = "Order id")),
    request_body(content = Option<CancelRequest>, description = "Optional reason"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled (or already was)", body = OrderResponse),
        (status = 400, description = "Not a valid id or body", body = ErrorBody),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
        (status = 409, description = "The order's status does not allow it (`invalid_transition`, naming the status)", body = ErrorBody),
        (status = 422, description = "The reason breaks a rule", body = ErrorBody),
    ))]
pub async fn cancel_order(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<Id>,
    body: Option<Json<Option<CancelRequest>>>,
) -> Result<Json<OrderResponse>, Error> {
    // No body, `null` and `{}` all mean "no reason".
    let request = body.and_then(|Json(body)| body).unwrap_or_default();
    let reason = cancel_reason(request.reason.as_deref())?;
    let order = lifecycle::step(&app, id, actor(&caller)?, Request::Cancel(reason)).await?;
    Ok(Json(order.into()))
}

/// Body of `PUT /api/orders/{id}/status`: `{"status": "SHIPPED", "tracking_number": ...}` or
/// `{"status": "DELIVERED"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StatusRequest {
    /// Handed to the carrier; from `PAID`.
    Shipped(ShipRequest),
    /// Received by the buyer; from `SHIPPED`.
    Delivered(DeliverRequest),
}

/// `{"status": "SHIPPED", "tracking_number": ...}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipRequest {
    /// `SHIPPED`.
    #[allow(dead_code)] // the tag: which shape this is
    status: Shipped,
    /// The carrier's tracking number, 4 to 64 letters, digits and hyphens.
    #[schema(schema_with = tracking_schema, example = "1Z999AA10123456784")]
    tracking_number: String,
}

/// `{"status": "DELIVERED"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverRequest {
    /// `DELIVERED`.
    #[allow(dead_code)] // the tag: which shape this is
    status: Delivered,
}

/// The status `SHIPPED`.
#[derive(Debug, Deserialize, ToSchema)]
pub enum Shipped {
    /// Handed to the carrier.
    #[serde(rename = "SHIPPED")]
    Shipped,
}

/// The status `DELIVERED`.
#[derive(Debug, Deserialize, ToSchema)]
pub enum Delivered {
    /// Received by the buyer.
    #[serde(rename = "DELIVERED")]
    Delivered,
}

/// An admin ships (`SHIPPED`, from `PAID`, with a tracking number) or delivers (`DELIVERED`,
/// from `SHIPPED`) an order. Asking again with the same values answers the order as it is.
#[utoipa::path(put, path = "/api/orders/{id}/status", tag = "orders",
    params(("id" = Id, Path, description = "Order id")),
    request_body = StatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moved (or already there)", body = OrderResponse),
        (status = 400, description = "Not a valid id or body", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "The order's status does not allow it (`invalid_transition`, naming the status)", body = ErrorBody),
        (status = 422, description = "Unknown status, or a missing or malformed tracking number", body = ErrorBody),
    ))]
pub async fn set_status(
    State(app): State<App>,
    Admin(caller): Admin,
    Path(id): Path<Id>,
    Json(request): Json<StatusRequest>,
) -> Result<Json<OrderResponse>, Error> {
    let step = match request {
        StatusRequest::Shipped(ship) => {
            Request::Ship(TrackingNumber::parse(&ship.tracking_number)?)
        }
        StatusRequest::Delivered(_) => Request::Deliver,
    };
    let order = lifecycle::step(&app, id, actor(&caller)?, step).await?;
    Ok(Json(order.into()))
}

/// One status change of an order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    /// The status before (absent for the order's creation; equal to `to` for a note such as a
    /// failed or late payment).
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    /// The status after.
    to: String,
    /// Who: `customer`, `admin`, `product-service`, `payment-service` or `system` (a timeout).
    actor: String,
    /// The customer or admin who asked, if a person did.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_user_id: Option<i64>,
    /// Why, or what came with it (a tracking number, a payment).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// When.
    at: DateTime<Utc>,
}

/// Every status change of one of the caller's orders (an admin: any order), oldest first.
#[utoipa::path(get, path = "/api/orders/{id}/timeline", tag = "orders",
    params(("id" = Id, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<TimelineEntry>),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
    ))]
pub async fn timeline(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<Id>,
) -> Result<Json<Vec<TimelineEntry>>, Error> {
    let order = orders::find(&app.db, id)
        .await?
        .filter(|order| caller.may_access(order.row.user_id))
        .ok_or(Error::OrderNotFound(id))?;
    let entries = orders::timeline(&app.db, order.row.id).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| TimelineEntry {
                from: entry.from_status,
                to: entry.to_status,
                actor: entry.actor,
                actor_user_id: entry.actor_user_id,
                reason: entry.reason,
                at: entry.at,
            })
            .collect(),
    ))
}
