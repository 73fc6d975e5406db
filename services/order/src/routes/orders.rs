//! `/api/orders`: place an order, look one up, list a user's orders.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use microshop_auth::Principal;
use microshop_domain::{Id, Money, NotAnId};
use microshop_web::error::ErrorBody;
use microshop_web::{ApiError, Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::openapi::Object;
use utoipa::{IntoParams, ToSchema};

use crate::Error;
use crate::app::App;
use crate::db::orders::{self, OrderRow};
use crate::domain::{IDEMPOTENCY_KEY_PATTERN, IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS, NewOrder};
use crate::place::{self, Placed};

/// Header naming a client-chosen key that makes retries of `POST /api/orders` safe.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Body of `POST /api/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The buyer is the caller of the access token; a `user_id` sent anyway must be theirs.
    #[serde(default)]
    user_id: Option<Id>,
    /// An existing product.
    product_id: Id,
    /// 1 to 10,000 units.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 10_000, example = 3)]
    quantity: i64,
    /// Idempotency key in the body, for clients that cannot set the `Idempotency-Key` header
    /// (which wins when both are sent).
    #[schema(example = "checkout-7f3a", schema_with = idempotency_key_or_null_schema)]
    request_id: Option<String>,
}

fn idempotency_key_schema() -> Object {
    microshop_web::schema::text(IDEMPOTENCY_KEY_PATTERN, 1, MAX_IDEMPOTENCY_KEY_CHARS)
}

fn idempotency_key_or_null_schema() -> Object {
    microshop_web::schema::text_or_null(IDEMPOTENCY_KEY_PATTERN, 1, MAX_IDEMPOTENCY_KEY_CHARS)
}

/// The `Idempotency-Key` header's rule, for the OpenAPI document.
struct IdempotencyKeyHeader;

impl utoipa::PartialSchema for IdempotencyKeyHeader {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        idempotency_key_schema().into()
    }
}

impl ToSchema for IdempotencyKeyHeader {}

/// An order as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderResponse {
    id: i64,
    user_id: i64,
    product_id: i64,
    quantity: i64,
    /// Price of one unit when ordered, e.g. `12999.0`.
    #[schema(value_type = f64)]
    unit_price: f64,
    /// `quantity * unit_price`.
    #[schema(value_type = f64)]
    total_price: f64,
    /// `PENDING`, then `CONFIRMED` or `REJECTED`.
    #[schema(example = "PENDING")]
    status: String,
    /// Why the order was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<OrderRow> for OrderResponse {
    fn from(row: OrderRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            product_id: row.product_id,
            quantity: row.quantity,
            unit_price: Money::from_cents(row.unit_price_cents).as_decimal(),
            total_price: Money::from_cents(row.total_price_cents).as_decimal(),
            status: row.status,
            reason: row.reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Places an order for the caller: checks the product, stores the order `PENDING` with its
/// `order.created` event, answers 201. The status then moves to `CONFIRMED` or `REJECTED`.
#[utoipa::path(post, path = "/api/orders", tag = "orders", request_body = CreateOrderRequest,
    params(("Idempotency-Key" = inline(Option<IdempotencyKeyHeader>), Header, description = "Makes retries safe: the same key and body from the same caller get the same answer, never a second order (kept 24 h)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Accepted, PENDING", body = OrderResponse),
        (status = 403, description = "The body names another buyer than the caller", body = ErrorBody),
        (status = 409, description = "Not enough stock right now, or too many open orders", body = ErrorBody),
        (status = 422, description = "Unknown product, bad field, or a reused key", body = ErrorBody),
        (status = 503, description = "Product service unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn create_order(
    State(app): State<App>,
    caller: Principal,
    headers: HeaderMap,
    Json(request): Json<CreateOrderRequest>,
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
    let order = NewOrder::parse(buyer, request.product_id, request.quantity)?;
    let key = idempotency_key(&headers, request.request_id.as_deref())?;
    let placed = place::order(&app, order, key, |row| {
        serde_json::to_value(OrderResponse::from(row.clone())).expect("an order serializes")
    })
    .await?;
    Ok(match placed {
        Placed::Created(row) => {
            (StatusCode::CREATED, Json(OrderResponse::from(row))).into_response()
        }
        Placed::Replayed(stored) => {
            let mut response = (StatusCode::CREATED, Json(stored)).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    })
}

/// The key from the `Idempotency-Key` header, else from `request_id` in the body; both must be
/// valid when sent.
fn idempotency_key(
    headers: &HeaderMap,
    request_id: Option<&str>,
) -> Result<Option<IdempotencyKey>, Error> {
    let header = headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("\u{0}")))
        .transpose()?;
    let body = request_id.map(IdempotencyKey::parse).transpose()?;
    Ok(header.or(body))
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
    let row = orders::find(&app.db, id)
        .await?
        .filter(|row| caller.may_access(row.user_id))
        .ok_or(Error::OrderNotFound(id))?;
    Ok(Json(row.into()))
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

/// Lists the caller's orders, oldest first; an admin lists everyone's, or one user's.
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
    let rows = orders::list(&app.db, user_id, page).await?;
    Ok(Json(rows.into_iter().map(OrderResponse::from).collect()))
}
