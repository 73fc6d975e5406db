//! `/internal/...`: what other services of the shop ask, with their service key.

use axum::extract::State;
use microshop_auth::Internal;
use microshop_domain::{Id, Money};
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::Error;

/// What the order service needs to accept an order: the price now and the stock now, read
/// from the database (never from a cache of the public catalogue).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    id: i64,
    /// Price of one unit, e.g. `12999.0`.
    #[schema(value_type = f64)]
    price: f64,
    /// Units on hand.
    stock: i64,
}

/// A product's price and stock, for the order service.
#[utoipa::path(get, path = "/internal/products/{id}", tag = "internal",
    params(("id" = Id, Path, description = "Product id")),
    security(("serviceKey" = [])),
    responses(
        (status = 200, body = Availability),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such product, or it is archived (no longer sold)", body = ErrorBody),
    ))]
pub async fn availability(
    State(state): State<AppState>,
    _caller: Internal,
    Path(id): Path<Id>,
) -> Result<Json<Availability>, Error> {
    // An archived product is no longer sold: for a new order it is as good as gone.
    let row = state
        .catalog
        .product_now(id.get())
        .await?
        .filter(|row| row.archived_at.is_none())
        .ok_or(Error::ProductNotFound(id))?;
    Ok(Json(Availability {
        id: row.id,
        price: Money::from_cents(row.price_cents).as_decimal(),
        stock: row.stock,
    }))
}
