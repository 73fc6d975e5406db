//! The product service's HTTP API and its OpenAPI document.

mod categories;
mod internal;
mod inventory;
mod listing;
mod products;
mod reviews;

use axum::routing::post;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::catalog::Catalog;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The catalogue: reads, and the database and outbox of writes.
    pub catalog: Catalog,
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
        .routes(routes!(products::create_product, listing::list_products))
        .routes(routes!(listing::search_products))
        .routes(routes!(
            products::get_product,
            products::replace_product,
            products::patch_product,
            products::delete_product
        ))
        .routes(routes!(internal::availability))
        .routes(routes!(internal::products_by_ids))
        .merge(categories::routes())
        .merge(reviews::routes())
        .merge(inventory::routes())
        // The seed's clients post to the collection with a trailing slash.
        .route(
            "/api/products/",
            post(products::create_product).get(listing::list_products),
        )
        .with_state(state)
}
