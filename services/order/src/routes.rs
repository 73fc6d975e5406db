//! The order service's HTTP API and its OpenAPI document.

mod orders;

use std::sync::Arc;

use axum::routing::post;
use microshop_db::Db;
use microshop_messaging::outbox::Outbox;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::metrics::OrderMetrics;
use crate::upstreams::Upstreams;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// `orders_db`.
    pub db: Db,
    /// Its outbox: orders and their `order.created` events are written together.
    pub outbox: Outbox,
    /// The user and product services.
    pub upstreams: Arc<Upstreams>,
    /// `orders_total`.
    pub metrics: OrderMetrics,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop order service", description = "Orders and their saga."),
    tags((name = "orders", description = "Placing and following orders"))
)]
struct ApiDoc;

/// `/api/orders...`, documented.
pub fn router(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(orders::create_order, orders::list_orders))
        .routes(routes!(orders::get_order))
        .route(
            "/api/orders/",
            post(orders::create_order).get(orders::list_orders),
        )
        .with_state(state)
}
