//! `/api/cart`: the caller's own cart (every user, admins included, has exactly one: the
//! token's). Lines are shown with the current name and price; a cart never holds stock.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_auth::Principal;
use microshop_domain::{Id, Money};
use microshop_web::error::ErrorBody;
use microshop_web::{ApiError, Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::app::App;
use crate::cart;
use crate::cart::domain::{Quantity, ShownCart, ShownLine};

/// Body of `POST /api/cart/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCartItemRequest {
    /// A product that exists and is still sold.
    product_id: Id,
    /// Units to add, 1 to 10,000; the line may hold at most 10,000 units in all.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 10_000, example = 2)]
    quantity: i64,
}

/// Body of `PUT /api/cart/items/{product_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCartItemRequest {
    /// The line's units from now on, 1 to 10,000.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 10_000, example = 3)]
    quantity: i64,
}

/// One line of a cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemResponse {
    /// The product.
    product_id: i64,
    /// Its name now; null when the product is unknown to the shop.
    name: Option<String>,
    /// Price of one unit now, e.g. `12999.0`; null when the product is unknown.
    #[schema(value_type = Option<f64>, example = 12999.0)]
    unit_price: Option<Money>,
    /// Units in the cart, 1 to 10,000.
    #[schema(minimum = 1, maximum = 10_000)]
    quantity: i64,
    /// `quantity * unit_price`; null when the product is unknown.
    #[schema(value_type = Option<f64>)]
    line_total: Option<Money>,
    /// Whether the line can be ordered now: the product is still sold and has the units.
    available: bool,
    /// Units on hand as last heard (0 when the product is unknown); nothing is held for a cart.
    #[schema(minimum = 0)]
    stock: i64,
}

/// A cart: its lines in the order they were first added.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartResponse {
    /// At most 50 lines, one per product.
    #[schema(max_items = 50)]
    items: Vec<CartItemResponse>,
    /// Units in all lines.
    #[schema(minimum = 0)]
    item_count: i64,
    /// Sum of the line totals of the products still sold (archived and unknown products are
    /// left out; a line short of stock counts), exact to the cent.
    #[schema(value_type = f64, example = 25998.0)]
    subtotal: Money,
    /// The last change (RFC 3339); absent for an empty cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
}

impl From<ShownLine> for CartItemResponse {
    fn from(line: ShownLine) -> Self {
        Self {
            product_id: line.product_id,
            name: line.name,
            unit_price: line.unit_price_cents.map(Money::from_cents),
            quantity: line.quantity,
            line_total: line.line_total_cents.map(Money::from_cents),
            available: line.available,
            stock: line.stock,
        }
    }
}

impl From<ShownCart> for CartResponse {
    fn from(cart: ShownCart) -> Self {
        Self {
            items: cart.lines.into_iter().map(CartItemResponse::from).collect(),
            item_count: cart.item_count,
            subtotal: Money::from_cents(cart.subtotal_cents),
            updated_at: cart.updated_at,
        }
    }
}

/// The caller's cart.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("bearer" = [])),
    responses(
        (status = 200, body = CartResponse),
        (status = 503, description = "The cart store (or, for a product never seen before, the product service) is unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn get_cart(
    State(app): State<App>,
    caller: Principal,
) -> Result<Json<CartResponse>, Error> {
    Ok(Json(cart::view(&app, owner(&caller)?).await?.into()))
}

/// Adds units of a product to the caller's cart (a new line goes last). The product must exist
/// and be sold; nothing is reserved.
#[utoipa::path(post, path = "/api/cart/items", tag = "cart", request_body = AddCartItemRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The line grew; the cart", body = CartResponse),
        (status = 201, description = "A new line; the cart", body = CartResponse),
        (status = 409, description = "cart_full: the cart has 50 lines already", body = ErrorBody),
        (status = 422, description = "A bad field; product_not_found; product_unavailable (archived); quantity_limit_exceeded (the line would pass 10,000 units)", body = ErrorBody),
        (status = 503, description = "The cart store or the product service is unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn add_cart_item(
    State(app): State<App>,
    caller: Principal,
    Json(request): Json<AddCartItemRequest>,
) -> Result<(StatusCode, Json<CartResponse>), Error> {
    let quantity = Quantity::parse(request.quantity)?;
    let (created, shown) = cart::add(&app, owner(&caller)?, request.product_id, quantity).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(shown.into())))
}

/// Sets the units of a line of the caller's cart.
#[utoipa::path(put, path = "/api/cart/items/{product_id}", tag = "cart",
    params(("product_id" = Id, Path, description = "The line's product")),
    request_body = SetCartItemRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cart", body = CartResponse),
        (status = 404, description = "cart_item_not_found: no line of this product in the cart", body = ErrorBody),
        (status = 503, description = "The cart store is unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn set_cart_item(
    State(app): State<App>,
    caller: Principal,
    Path(product_id): Path<Id>,
    Json(request): Json<SetCartItemRequest>,
) -> Result<Json<CartResponse>, Error> {
    let quantity = Quantity::parse(request.quantity)?;
    let shown = cart::set(&app, owner(&caller)?, product_id, quantity).await?;
    Ok(Json(shown.into()))
}

/// Removes a line from the caller's cart.
#[utoipa::path(delete, path = "/api/cart/items/{product_id}", tag = "cart",
    params(("product_id" = Id, Path, description = "The line's product")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cart", body = CartResponse),
        (status = 404, description = "cart_item_not_found: no line of this product in the cart", body = ErrorBody),
        (status = 503, description = "The cart store is unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn remove_cart_item(
    State(app): State<App>,
    caller: Principal,
    Path(product_id): Path<Id>,
) -> Result<Json<CartResponse>, Error> {
    let shown = cart::remove(&app, owner(&caller)?, product_id).await?;
    Ok(Json(shown.into()))
}

/// Empties the caller's cart (whether or not it had lines).
#[utoipa::path(delete, path = "/api/cart", tag = "cart", security(("bearer" = [])),
    responses(
        (status = 204, description = "The cart is empty"),
        (status = 503, description = "The cart store is unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn empty_cart(State(app): State<App>, caller: Principal) -> Result<StatusCode, Error> {
    cart::clear(&app, owner(&caller)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cart's owner: the caller of the token (whose `sub` is always a valid id; a forged one
/// is refused).
fn owner(caller: &Principal) -> Result<Id, Error> {
    Id::new(caller.user_id).ok_or_else(|| {
        Error::Request(ApiError::bad_request(
            "token_invalid_subject",
            "the access token names no valid user; log in again",
        ))
    })
}
