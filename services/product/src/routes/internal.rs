//! `/internal/...`: what other services of the shop ask, with their service key, always read
//! from the database (never from the cache of the public catalogue).

use axum::extract::State;
use microshop_auth::Internal;
use microshop_domain::{Id, Money};
use microshop_web::error::ErrorBody;
use microshop_web::{ApiError, Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::Error;
use crate::db::products::ProductRow;
use crate::domain::product::parse_ids;

/// What the order service needs to accept an order: the price now and the stock now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    id: i64,
    /// Name.
    name: String,
    /// Price of one unit, e.g. `12999.0`.
    #[schema(value_type = f64)]
    price: f64,
    /// Units on hand.
    stock: i64,
    /// Its version (bumped by every admin edit), as in `product.updated`.
    version: i64,
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
        name: row.name,
        price: Money::from_cents(row.price_cents).as_decimal(),
        stock: row.stock,
        version: row.version,
    }))
}

/// The query string of `GET /internal/products`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IdsQuery {
    /// 1 to 100 product ids separated by commas, no spaces, e.g. `1,2,3`: each a positive whole
    /// number of 1 to 18 digits without leading zeros (an id named twice counts twice).
    // `IDS_PATTERN`, and the longest list: 100 ids of 18 digits and 99 commas (the unit test
    // below holds these to the rule).
    #[param(
        example = "1,2,3",
        min_length = 1,
        max_length = 1899,
        pattern = r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,99}$"
    )]
    ids: String,
}

/// A product as another service keeps it (the order service's read model of products).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductState {
    /// Primary key.
    id: i64,
    /// Name.
    name: String,
    /// Exact price of one unit in cents.
    price_cents: i64,
    /// Units available to sell.
    stock: i64,
    /// Whether it left the catalogue (no longer sold).
    archived: bool,
    /// Its version (bumped by every admin edit), as in `product.updated`.
    version: i64,
}

impl From<ProductRow> for ProductState {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            price_cents: row.price_cents,
            stock: row.stock,
            archived: row.archived_at.is_some(),
            version: row.version,
        }
    }
}

/// Several products at once, by id, for another service's copy of the catalogue: those that
/// exist, archived ones included (flagged), in id order; unknown ids are left out.
#[utoipa::path(get, path = "/internal/products", tag = "internal", params(IdsQuery),
    security(("serviceKey" = [])),
    responses(
        (status = 200, body = Vec<ProductState>),
        (status = 400, description = "Malformed query string (no `ids`, or another parameter)", body = ErrorBody),
        (status = 422, description = "`ids` is not 1 to 100 ids separated by commas", body = ErrorBody),
    ))]
pub async fn products_by_ids(
    State(state): State<AppState>,
    _caller: Internal,
    Query(query): Query<IdsQuery>,
) -> Result<Json<Vec<ProductState>>, Error> {
    let ids = parse_ids(&query.ids)
        .map_err(|error| ApiError::unprocessable("invalid_query", error.to_string()))?;
    let rows = state.catalog.products_now(&ids).await?;
    Ok(Json(rows.into_iter().map(ProductState::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::product::{IDS_PATTERN, MAX_IDS};

    #[test]
    fn the_documented_ids_are_the_rule() {
        let params = IdsQuery::into_params(|| None);
        let ids = serde_json::to_value(&params[0]).unwrap();
        assert_eq!(ids["required"], true);
        assert_eq!(ids["schema"]["pattern"], IDS_PATTERN);
        let longest = vec!["9".repeat(18); MAX_IDS].join(",");
        assert!(parse_ids(&longest).is_ok());
        assert_eq!(ids["schema"]["maxLength"], longest.len());
    }
}
