//! `/internal/...`: what other services of the shop ask, with their service key.

use axum::extract::State;
use microshop_auth::Internal;
use microshop_domain::Id;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::app::App;
use crate::db::orders;

/// What the payment service needs to take a payment: the buyer, the status and the amount.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderFacts {
    id: i64,
    /// Its buyer.
    user_id: i64,
    /// `CONFIRMED` when it waits for payment.
    #[schema(example = "CONFIRMED")]
    status: String,
    /// What the buyer owes, in cents.
    total_price_cents: i64,
    /// ISO 4217.
    #[schema(example = "USD")]
    currency: String,
}

/// An order's buyer, status and amount, for the payment service.
#[utoipa::path(get, path = "/internal/orders/{id}", tag = "internal",
    params(("id" = Id, Path, description = "Order id")),
    security(("serviceKey" = [])),
    responses(
        (status = 200, body = OrderFacts),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 401, description = "No valid service key", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
    ))]
pub async fn order_facts(
    State(app): State<App>,
    _caller: Internal,
    Path(id): Path<Id>,
) -> Result<Json<OrderFacts>, Error> {
    let order = orders::find(&app.db, id)
        .await?
        .ok_or(Error::OrderNotFound(id))?;
    Ok(Json(OrderFacts {
        id: order.row.id,
        user_id: order.row.user_id,
        status: order.row.status,
        total_price_cents: order.row.total_price_cents,
        currency: app.currency.clone(),
    }))
}
