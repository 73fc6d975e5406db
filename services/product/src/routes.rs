//! The product service's HTTP API and its OpenAPI document.

mod categories;
mod internal;
mod inventory;
mod products;
mod reviews;

use axum::routing::post;
use microshop_db::{Db, Lookup};

use crate::db::products::ProductRow;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// `products_db`.
    pub db: Db,
    /// Reads of single products, coalesced.
    pub products: Lookup<ProductRow>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop product service", description = "The catalogue and its stock."),
    tags(
        (name = "products", description = "Catalogue entries"),
        (name = "categories", description = "The category tree"),
        (name = "reviews", description = "Customers' reviews of products"),
        (name = "inventory", description = "Stock, thresholds and manual stock moves (admins and services)"),
        (name = "internal", description = "For other services of the shop, with their X-Service-Key"),
    )
)]
struct ApiDoc;

/// `/api/products...`, documented.
pub fn router(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(products::create_product, products::list_products))
        .routes(routes!(products::get_product))
        .routes(routes!(internal::availability))
        .merge(categories::routes())
        .merge(reviews::routes())
        .merge(inventory::routes())
        // The seed's clients post to the collection with a trailing slash.
        .route(
            "/api/products/",
            post(products::create_product).get(products::list_products),
        )
        .with_state(state)
}
