//! `/api/inventory/...`: stock levels, restocks and thresholds, manual deducts and restores,
//! low-stock alerts; for admins (bearer token) and the shop's services (`X-Service-Key`).

use axum::extract::{FromRequestParts, State};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use microshop_auth::service_key::SERVICE_KEY_HEADER;
use microshop_auth::{Admin, AuthError, Internal};
use microshop_domain::Id;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, PageQuery, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::domain::inventory::{
    Level, MAX_REFERENCE_CHARS, MoveKind, Moved, REFERENCE_PATTERN, StockMove, StockSetting,
};
use crate::{Error, inventory};

/// The inventory routes, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_inventory, set_inventory))
        .routes(routes!(deduct_stock))
        .routes(routes!(restore_stock))
        .routes(routes!(list_alerts))
}

/// A caller of the inventory API: another service of the shop ([`Internal`]) or an admin
/// ([`Admin`]). A service key, when sent, decides alone (a wrong one is 401 whatever token
/// comes with it); otherwise the bearer token must be an admin's (none or an invalid one: 401,
/// a customer's: 403).
#[derive(Debug, Clone)]
pub struct AdminOrService {
    /// Who, for logs: the calling service (`order-service`) or `admin <user id>`.
    pub by: String,
}

impl<S: Send + Sync> FromRequestParts<S> for AdminOrService {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let by = if parts.headers.contains_key(SERVICE_KEY_HEADER) {
            Internal::from_request_parts(parts, state).await?.caller
        } else {
            let Admin(admin) = Admin::from_request_parts(parts, state).await?;
            format!("admin {}", admin.user_id)
        };
        Ok(Self { by })
    }
}

/// A product's stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryResponse {
    /// The product.
    product_id: i64,
    /// Units on hand: available plus reserved.
    stock: i64,
    /// Units held for orders not shipped yet.
    reserved: i64,
    /// Units that can still be sold.
    available: i64,
    /// At or below this many available units the product is low on stock.
    low_stock_threshold: i64,
    /// Whether `available` is at or below `low_stock_threshold`.
    low_stock: bool,
}

impl From<Level> for InventoryResponse {
    fn from(level: Level) -> Self {
        Self {
            product_id: level.product_id,
            stock: level.on_hand(),
            reserved: level.reserved,
            available: level.available,
            low_stock_threshold: level.threshold,
            low_stock: level.is_low(),
        }
    }
}

/// Body of `PUT /api/inventory/{product_id}`: what is left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetInventoryRequest {
    /// Units available to sell from now on (held reservations come on top), 0 to 1,000,000,000.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_option")]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 120, nullable = false)]
    stock: Option<i64>,
    /// The low-stock threshold, 0 to 1,000,000,000.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_option")]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 10, nullable = false)]
    low_stock_threshold: Option<i64>,
}

/// Body of `POST /api/inventory/deduct` and `/restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockMoveRequest {
    /// An existing product (archived ones too).
    product_id: Id,
    /// 1 to 1,000,000 units.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 1_000_000, example = 2)]
    quantity: i64,
    /// The caller's id of this move, 1 to 100 printable characters (trimmed): the move is applied
    /// once per reference, and a repeat is answered the same way.
    #[schema(example = "stocktake-2026-12-07-shelf-4", schema_with = reference_schema)]
    reference: String,
}

fn reference_schema() -> Object {
    microshop_web::schema::text(REFERENCE_PATTERN, 1, MAX_REFERENCE_CHARS)
}

/// A manual move as applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockMoveResponse {
    /// The caller's reference (trimmed).
    reference: String,
    /// The product.
    product_id: i64,
    /// `deduct` or `restore`.
    #[schema(value_type = String, pattern = "^(deduct|restore)$", example = "deduct")]
    kind: &'static str,
    /// Units moved.
    quantity: i64,
    /// Available units right after the move (not now: later changes are not included).
    stock_after: i64,
    /// True when an earlier call with this reference applied the move; this one changed nothing.
    replayed: bool,
}

/// `moved` as JSON, marked `Idempotent-Replayed: true` when it is a repeat.
fn answer(moved: Moved) -> Response {
    let mut response = Json(StockMoveResponse {
        reference: moved.reference,
        product_id: moved.product_id,
        kind: moved.kind.as_str(),
        quantity: moved.quantity,
        stock_after: moved.stock_after,
        replayed: moved.replayed,
    })
    .into_response();
    if moved.replayed {
        let replayed = HeaderValue::from_static("true");
        response
            .headers_mut()
            .insert("idempotent-replayed", replayed);
    }
    response
}

/// A product's stock: on hand, reserved, available, and its threshold.
#[utoipa::path(get, path = "/api/inventory/{product_id}", tag = "inventory",
    params(("product_id" = Id, Path, description = "Product id")),
    security(("bearer" = []), ("serviceKey" = [])),
    responses(
        (status = 200, body = InventoryResponse),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 403, description = "The caller is a customer", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn get_inventory(
    State(state): State<AppState>,
    _caller: AdminOrService,
    Path(id): Path<Id>,
) -> Result<Json<InventoryResponse>, Error> {
    Ok(Json(inventory::level(state.catalog.db(), id).await?.into()))
}

/// Restocks (sets the available units) and/or sets the low-stock threshold, under the
/// product's row lock; publishes `product.stock.updated` when the stock changed and
/// `inventory.low_stock` when the product just became low on stock.
#[utoipa::path(put, path = "/api/inventory/{product_id}", tag = "inventory",
    params(("product_id" = Id, Path, description = "Product id")),
    request_body = SetInventoryRequest,
    security(("bearer" = []), ("serviceKey" = [])),
    responses(
        (status = 200, description = "The stock now", body = InventoryResponse),
        (status = 400, description = "Not a valid id, or malformed JSON", body = ErrorBody),
        (status = 403, description = "The caller is a customer", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 422, description = "Nothing to set, or a value out of range", body = ErrorBody),
    ))]
pub async fn set_inventory(
    State(state): State<AppState>,
    caller: AdminOrService,
    Path(id): Path<Id>,
    Json(request): Json<SetInventoryRequest>,
) -> Result<Json<InventoryResponse>, Error> {
    let setting = StockSetting::parse(request.stock, request.low_stock_threshold)?;
    let level = inventory::set(&state.catalog, id, setting, &caller.by).await?;
    Ok(Json(level.into()))
}

/// Takes units out of stock, once per `reference`; never below zero.
#[utoipa::path(post, path = "/api/inventory/deduct", tag = "inventory",
    request_body = StockMoveRequest,
    security(("bearer" = []), ("serviceKey" = [])),
    responses(
        (status = 200, description = "Deducted, or a repeat answered as the first time (`replayed`)", body = StockMoveResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` on a repeat"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "The caller is a customer", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 409, description = "`insufficient_stock` (the message says how many are available; nothing changed), or `reference_conflict` (the reference was used for another move)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn deduct_stock(
    State(state): State<AppState>,
    caller: AdminOrService,
    Json(request): Json<StockMoveRequest>,
) -> Result<Response, Error> {
    move_stock(&state, &caller, MoveKind::Deduct, request).await
}

/// Puts units back into stock, once per `reference`; never above 1,000,000,000.
#[utoipa::path(post, path = "/api/inventory/restore", tag = "inventory",
    request_body = StockMoveRequest,
    security(("bearer" = []), ("serviceKey" = [])),
    responses(
        (status = 200, description = "Restored, or a repeat answered as the first time (`replayed`)", body = StockMoveResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` on a repeat"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "The caller is a customer", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 409, description = "`stock_limit` (the stock would pass 1,000,000,000; nothing changed), or `reference_conflict` (the reference was used for another move)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn restore_stock(
    State(state): State<AppState>,
    caller: AdminOrService,
    Json(request): Json<StockMoveRequest>,
) -> Result<Response, Error> {
    move_stock(&state, &caller, MoveKind::Restore, request).await
}

async fn move_stock(
    state: &AppState,
    caller: &AdminOrService,
    kind: MoveKind,
    request: StockMoveRequest,
) -> Result<Response, Error> {
    let requested = StockMove::parse(
        kind,
        request.product_id,
        request.quantity,
        &request.reference,
    )?;
    let moved = inventory::apply(&state.catalog, requested, &caller.by).await?;
    Ok(answer(moved))
}

/// The products whose available units are at or below their threshold, by id.
#[utoipa::path(get, path = "/api/inventory/alerts", tag = "inventory", params(PageQuery),
    security(("bearer" = []), ("serviceKey" = [])),
    responses(
        (status = 200, body = Vec<InventoryResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 403, description = "The caller is a customer", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
pub async fn list_alerts(
    State(state): State<AppState>,
    _caller: AdminOrService,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<InventoryResponse>>, Error> {
    let levels = inventory::alerts(state.catalog.db(), query.page()?).await?;
    Ok(Json(
        levels.into_iter().map(InventoryResponse::from).collect(),
    ))
}
