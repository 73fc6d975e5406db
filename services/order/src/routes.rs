//! The order service's HTTP API and its OpenAPI document.

mod cart;
mod internal;
mod lifecycle;
mod orders;
mod pay;

use axum::routing::post;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop order service", description = "Carts, orders, their lifecycle and their saga."),
    tags(
        (name = "orders", description = "Placing and following orders"),
        (name = "cart", description = "The caller's cart, kept in Redis for 30 days after its last change"),
        (name = "internal", description = "For other services of the shop, with their service key"),
    )
)]
struct ApiDoc;

/// `/api/orders...` and `/api/cart...`, documented.
pub fn router(app: App) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(orders::create_order, orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::checkout))
        .routes(routes!(lifecycle::cancel_order))
        .routes(routes!(lifecycle::set_status))
        .routes(routes!(lifecycle::timeline))
        .routes(routes!(pay::pay_order))
        .routes(routes!(internal::order_facts))
        .routes(routes!(cart::get_cart, cart::empty_cart))
        .routes(routes!(cart::add_cart_item))
        .routes(routes!(cart::set_cart_item, cart::remove_cart_item))
        .route(
            "/api/orders/",
            post(orders::create_order).get(orders::list_orders),
        )
        .with_state(app)
}
