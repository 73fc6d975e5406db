//! The order service's HTTP API and its OpenAPI document.

mod orders;

use axum::routing::post;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop order service", description = "Orders and their saga."),
    tags((name = "orders", description = "Placing and following orders"))
)]
struct ApiDoc;

/// `/api/orders...`, documented.
pub fn router(app: App) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(orders::create_order, orders::list_orders))
        .routes(routes!(orders::get_order))
        .route(
            "/api/orders/",
            post(orders::create_order).get(orders::list_orders),
        )
        .with_state(app)
}
