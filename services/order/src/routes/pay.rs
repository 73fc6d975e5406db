//! `POST /api/orders/{id}/pay`: the order's payment, from the payment service.

use axum::extract::State;
use axum::http::HeaderMap;
use microshop_auth::Principal;
use microshop_domain::Id;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde_json::Value;

use super::orders::{bearer, buyer};
use crate::Error;
use crate::app::App;
use crate::db::orders;
use crate::domain::lifecycle::InvalidTransition;
use crate::domain::{OrderStatus, Step};

/// Pays one of the caller's orders: creates its payment at the payment service (or answers the
/// open one) and answers it, with the `checkout_url` where the buyer enters a card. The order
/// becomes `PAID` when the provider reports the money taken (`payment.succeeded`). Only a
/// `CONFIRMED` order (stock reserved, not yet paid) can be paid.
#[utoipa::path(post, path = "/api/orders/{id}/pay", tag = "orders",
    params(("id" = Id, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order's payment (the payment service's `PaymentResponse`): pay at `checkout_url`", body = Object),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
        (status = 409, description = "The order is not CONFIRMED (`invalid_transition`, naming its status), or already paid", body = ErrorBody),
        (status = 503, description = "Payment service unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn pay_order(
    State(app): State<App>,
    caller: Principal,
    headers: HeaderMap,
    Path(id): Path<Id>,
) -> Result<Json<Value>, Error> {
    let buyer = buyer(&caller)?;
    // The buyer's own orders only: an admin does not pay for someone else.
    let order = orders::find(&app.db, id)
        .await?
        .filter(|order| order.row.user_id == buyer.get())
        .ok_or(Error::OrderNotFound(id))?;
    let current = OrderStatus::parse(&order.row.status).unwrap_or(OrderStatus::Pending);
    if current != OrderStatus::Confirmed {
        return Err(Error::InvalidTransition {
            id,
            refusal: InvalidTransition {
                current,
                step: Step::Paid,
            },
        });
    }
    let payment = app.upstreams.pay(id, bearer(&headers)).await?;
    Ok(Json(payment))
}
