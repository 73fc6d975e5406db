//! `/api/orders`: place an order, look one up, list a user's orders.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use microshop_auth::Principal;
use microshop_domain::{Id, Money, NotAnId, ValidationError};
use microshop_web::error::ErrorBody;
use microshop_web::{ApiError, Json, Path, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::Error;
use crate::app::App;
use crate::checkout;
use crate::db::orders::{self, Order};
use crate::domain::{IdempotencyKey, NewLine, NewOrder, OrderStatus};
use crate::place::{self, BuyerToken, Placed};
use microshop_web::idempotency::IdempotencyKeyHeader;

/// Body of `POST /api/orders` as the OpenAPI document states it: one of two shapes. (Read as
/// [`CreateOrderBody`]: serde's untagged enums cannot read `3.0` as the integer 3, which JSON
/// Schema allows.)
#[allow(dead_code)] // the document's shape; requests are read as `CreateOrderBody`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CreateOrderRequest {
    /// Several lines, shipped to one of the buyer's addresses.
    Items(ItemsOrderRequest),
    /// The seed's shape: one product.
    Single(SingleOrderRequest),
}

/// `{items, address_id}`.
#[allow(dead_code)] // the document's shape; requests are read as `CreateOrderBody`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemsOrderRequest {
    /// The buyer is the caller of the access token; a `user_id` sent anyway must be theirs.
    user_id: Option<Id>,
    /// 1 to 50 lines; a product listed twice is one line of its units in all (at most 10,000).
    #[schema(max_items = 50, min_items = 1)]
    items: Vec<OrderLineRequest>,
    /// One of the buyer's addresses (`/api/users/addresses`), copied into the order.
    address_id: Id,
    /// Idempotency key in the body, for clients that cannot set the `Idempotency-Key` header
    /// (which wins when both are sent).
    #[schema(example = "checkout-7f3a", schema_with = microshop_web::idempotency::key_or_null_schema)]
    request_id: Option<String>,
}

/// `{product_id, quantity}`, the seed's shape (an address may be named, not required).
#[allow(dead_code)] // the document's shape; requests are read as `CreateOrderBody`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SingleOrderRequest {
    /// The buyer is the caller of the access token; a `user_id` sent anyway must be theirs.
    user_id: Option<Id>,
    /// An existing product.
    product_id: Id,
    /// 1 to 10,000 units.
    #[schema(minimum = 1, maximum = 10_000, example = 3)]
    quantity: i64,
    /// One of the buyer's addresses to ship to, copied into the order.
    address_id: Option<Id>,
    /// Idempotency key in the body, for clients that cannot set the `Idempotency-Key` header
    /// (which wins when both are sent).
    #[schema(example = "checkout-7f3a", schema_with = microshop_web::idempotency::key_or_null_schema)]
    request_id: Option<String>,
}

/// One line of `items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    /// An existing product.
    product_id: Id,
    /// 1 to 10,000 units.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 10_000, example = 2)]
    quantity: i64,
}

/// `POST /api/orders` as read: every field of both shapes, checked to be one shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderBody {
    #[serde(default)]
    user_id: Option<Id>,
    #[serde(default)]
    product_id: Option<Id>,
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    quantity: Option<i64>,
    #[serde(default)]
    items: Option<Vec<OrderLineRequest>>,
    #[serde(default)]
    address_id: Option<Id>,
    #[serde(default)]
    request_id: Option<String>,
}

impl CreateOrderBody {
    /// The lines asked for and the address to ship to, if the body is one of the two shapes.
    fn lines(&self) -> Result<(Vec<NewLine>, Option<Id>), Error> {
        let invalid = |field: &'static str, problem: &str| {
            Error::Validation(ValidationError::new(field, problem.to_owned()))
        };
        match (&self.items, self.product_id, self.quantity) {
            (Some(items), None, None) => {
                let address = self.address_id.ok_or_else(|| {
                    invalid(
                        "address_id",
                        "is required with items: the address to ship to",
                    )
                })?;
                let lines = items
                    .iter()
                    .map(|line| NewLine {
                        product_id: line.product_id,
                        quantity: line.quantity,
                    })
                    .collect();
                Ok((lines, Some(address)))
            }
            (None, Some(product_id), Some(quantity)) => Ok((
                vec![NewLine {
                    product_id,
                    quantity,
                }],
                self.address_id,
            )),
            (Some(_), _, _) => Err(invalid(
                "items",
                "send either items or product_id with quantity, not both",
            )),
            (None, Some(_), None) => Err(invalid("quantity", "is required with product_id")),
            (None, _, _) => Err(invalid(
                "items",
                "is required: the products to order (or product_id with quantity)",
            )),
        }
    }
}

/// One line of an order as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderItemResponse {
    product_id: i64,
    /// The product's name when ordered (absent for orders taken before orders had lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    quantity: i64,
    /// Price of one unit when ordered, e.g. `12999.0`.
    #[schema(value_type = f64)]
    unit_price: f64,
    /// `quantity * unit_price`.
    #[schema(value_type = f64)]
    line_total: f64,
}

/// An order as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderResponse {
    id: i64,
    user_id: i64,
    /// `PENDING`, `CONFIRMED`, `REJECTED`, `PAID`, `SHIPPED`, `DELIVERED` or `CANCELLED`.
    #[schema(example = "PENDING")]
    status: String,
    /// Why the order was rejected or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Its lines, in the order they were listed.
    items: Vec<OrderItemResponse>,
    /// The sum of the lines.
    #[schema(value_type = f64)]
    total_price: f64,
    /// For orders of one line (the seed's shape): its product.
    #[serde(skip_serializing_if = "Option::is_none")]
    product_id: Option<i64>,
    /// For orders of one line: its units.
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<i64>,
    /// For orders of one line: the price of one unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    unit_price: Option<f64>,
    /// Where it goes: the buyer's address as it was when ordering.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    shipping_address: Option<Value>,
    /// The carrier's tracking number, once shipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking_number: Option<String>,
    /// The payment that paid it.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_id: Option<i64>,
    /// Whether its cancellation refunds the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<bool>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipped_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<DateTime<Utc>>,
}

impl From<Order> for OrderResponse {
    fn from(order: Order) -> Self {
        let Order { row, items } = order;
        let single = match items.as_slice() {
            [only] => Some((
                only.product_id,
                only.quantity,
                Money::from_cents(only.unit_price_cents).as_decimal(),
            )),
            _ => None,
        };
        Self {
            id: row.id,
            user_id: row.user_id,
            status: row.status,
            reason: row.reason,
            items: items
                .into_iter()
                .map(|item| OrderItemResponse {
                    product_id: item.product_id,
                    name: item.product_name,
                    quantity: item.quantity,
                    unit_price: Money::from_cents(item.unit_price_cents).as_decimal(),
                    line_total: Money::from_cents(item.quantity * item.unit_price_cents)
                        .as_decimal(),
                })
                .collect(),
            total_price: Money::from_cents(row.total_price_cents).as_decimal(),
            product_id: single.map(|(id, _, _)| id),
            quantity: single.map(|(_, quantity, _)| quantity),
            unit_price: single.map(|(_, _, price)| price),
            shipping_address: row.shipping_address,
            tracking_number: row.tracking_number,
            payment_id: row.payment_id,
            refund: row.refund,
            created_at: row.created_at,
            updated_at: row.updated_at,
            confirmed_at: row.confirmed_at,
            paid_at: row.paid_at,
            shipped_at: row.shipped_at,
            delivered_at: row.delivered_at,
            cancelled_at: row.cancelled_at,
        }
    }
}

/// Places an order for the caller: prices each line from the catalogue, copies the shipping
/// address, stores the order `PENDING` with its `order.created` event, answers 201. The product
/// service then reserves every line or none: the status moves to `CONFIRMED` or `REJECTED`.
#[utoipa::path(post, path = "/api/orders", tag = "orders", request_body = CreateOrderRequest,
    params(("Idempotency-Key" = inline(Option<IdempotencyKeyHeader>), Header, description = "Makes retries safe: the same key and body from the same caller get the same answer, never a second order (kept 24 h)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Accepted, PENDING", body = OrderResponse),
        (status = 403, description = "The body names another buyer than the caller", body = ErrorBody),
        (status = 409, description = "Not enough stock right now (each short line named), or too many open orders", body = ErrorBody),
        (status = 422, description = "Unknown or archived product, unknown address, bad field, or a reused key", body = ErrorBody),
        (status = 503, description = "Product or user service unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn create_order(
    State(app): State<App>,
    caller: Principal,
    headers: HeaderMap,
    Json(request): Json<CreateOrderBody>,
) -> Result<Response, Error> {
    let buyer = buyer(&caller)?;
    if let Some(named) = request.user_id {
        if named != buyer {
            return Err(Error::BuyerMismatch {
                caller: buyer,
                named,
            });
        }
    }
    let (lines, address_id) = request.lines()?;
    let order = NewOrder::parse(buyer, lines, address_id)?;
    let key = idempotency_key(&headers, request.request_id.as_deref())?;
    let placed = place::order(&app, order, BuyerToken(bearer(&headers)), key, |order| {
        serde_json::to_value(OrderResponse::from(order.clone())).expect("an order serializes")
    })
    .await?;
    Ok(placed_response(placed))
}

/// Body of `POST /api/orders/checkout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// One of the buyer's addresses (`/api/users/addresses`), copied into the order.
    address_id: Id,
}

/// Turns the caller's cart into one order shipped to `address_id`: placed like `POST
/// /api/orders` with `items`, then the lines ordered leave the cart (only once the order is
/// accepted; a line changed meanwhile stays).
#[utoipa::path(post, path = "/api/orders/checkout", tag = "orders", request_body = CheckoutRequest,
    params(("Idempotency-Key" = inline(Option<IdempotencyKeyHeader>), Header, description = "Makes retries safe: the same key and body from the same caller get the same answer, never a second order (kept 24 h)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Accepted, PENDING", body = OrderResponse),
        (status = 409, description = "Not enough stock right now (each short line named), or too many open orders", body = ErrorBody),
        (status = 422, description = "An empty cart, a product no longer sold, an address that is not the caller's, or a reused key", body = ErrorBody),
        (status = 503, description = "The cart (Redis), the product or the user service is unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn checkout(
    State(app): State<App>,
    caller: Principal,
    headers: HeaderMap,
    Json(request): Json<CheckoutRequest>,
) -> Result<Response, Error> {
    let buyer = buyer(&caller)?;
    let key = idempotency_key(&headers, None)?;
    let token = BuyerToken(bearer(&headers));
    let placed = checkout::cart(&app, buyer, request.address_id, token, key, |order| {
        serde_json::to_value(OrderResponse::from(order.clone())).expect("an order serializes")
    })
    .await?;
    Ok(placed_response(placed))
}

/// 201 with the new order, or the stored answer of a retry marked `Idempotent-Replayed`.
pub fn placed_response(placed: Placed) -> Response {
    match placed {
        Placed::Created(order) => {
            (StatusCode::CREATED, Json(OrderResponse::from(*order))).into_response()
        }
        Placed::Replayed(stored) => {
            let mut response = (StatusCode::CREATED, Json(stored)).into_response();
            microshop_web::idempotency::mark_replayed(&mut response);
            response
        }
    }
}

/// The caller's bearer token as sent (the `Principal` extractor has checked it already).
pub fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// The key from the `Idempotency-Key` header, else from `request_id` in the body; both must be
/// valid when sent.
pub fn idempotency_key(
    headers: &HeaderMap,
    request_id: Option<&str>,
) -> Result<Option<IdempotencyKey>, Error> {
    Ok(microshop_web::idempotency::key(headers, request_id)?)
}

/// The caller as a buyer (a token's `sub` is always a valid id; a forged one is refused).
pub fn buyer(caller: &Principal) -> Result<Id, Error> {
    Id::new(caller.user_id).ok_or_else(|| {
        Error::Request(ApiError::bad_request(
            "token_invalid_subject",
            "the access token names no valid user; log in again",
        ))
    })
}

/// Looks one of the caller's orders up by id (an admin sees every order).
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    params(("id" = Id, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderResponse),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
    ))]
pub async fn get_order(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<Id>,
) -> Result<Json<OrderResponse>, Error> {
    let order = orders::find(&app.db, id)
        .await?
        .filter(|order| caller.may_access(order.row.user_id))
        .ok_or(Error::OrderNotFound(id))?;
    Ok(Json(order.into()))
}

/// Query of `GET /api/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Only this user's orders (admins; a customer may name only themselves).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1)]
    user_id: Option<i64>,
    /// Only orders in this status.
    #[serde(default)]
    #[param(inline)]
    status: Option<StatusFilter>,
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

/// An order status, as `GET /api/orders?status=` takes it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum StatusFilter {
    /// Waiting for its stock.
    Pending,
    /// Stock reserved, not paid.
    Confirmed,
    /// Stock could not be reserved.
    Rejected,
    /// Paid, not shipped.
    Paid,
    /// On its way.
    Shipped,
    /// Received.
    Delivered,
    /// Called off.
    Cancelled,
}

impl From<StatusFilter> for OrderStatus {
    fn from(filter: StatusFilter) -> Self {
        match filter {
            StatusFilter::Pending => Self::Pending,
            StatusFilter::Confirmed => Self::Confirmed,
            StatusFilter::Rejected => Self::Rejected,
            StatusFilter::Paid => Self::Paid,
            StatusFilter::Shipped => Self::Shipped,
            StatusFilter::Delivered => Self::Delivered,
            StatusFilter::Cancelled => Self::Cancelled,
        }
    }
}

/// Lists the caller's orders, oldest first; an admin lists everyone's, or one user's; `status`
/// keeps those in one status.
#[utoipa::path(get, path = "/api/orders", tag = "orders", params(ListOrdersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OrderResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 403, description = "A customer named another user", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
pub async fn list_orders(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<ListOrdersQuery>,
) -> Result<Json<Vec<OrderResponse>>, Error> {
    let page = microshop_web::pagination::page(query.limit, query.offset)?;
    let user_id = query
        .user_id
        .map(|raw| {
            Id::new(raw).ok_or_else(|| {
                ApiError::bad_request("invalid_query", NotAnId(raw.to_string()).to_string())
            })
        })
        .transpose()?;
    let user_id = if caller.is_admin() {
        user_id
    } else {
        let own = buyer(&caller)?;
        match user_id {
            Some(named) if named != own => {
                return Err(Error::BuyerMismatch { caller: own, named });
            }
            _ => Some(own),
        }
    };
    let status = query.status.map(OrderStatus::from);
    let orders = orders::list(&app.db, user_id, status, page).await?;
    Ok(Json(orders.into_iter().map(OrderResponse::from).collect()))
}
