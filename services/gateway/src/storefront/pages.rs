//! The pages and the forms they post, one module per part of the shop; the route table is
//! docs/storefront.md's.

pub mod account;
pub mod admin;
pub mod assets;
pub mod cart;
pub mod catalogue;
pub mod checkout;
pub mod order_view;
pub mod orders;
pub mod product;
pub mod sign_in;

use axum::Router;
use axum::routing::{get, post};

use super::Storefront;
use super::error::PageError;

/// Every page and form.
pub fn routes() -> Router<Storefront> {
    Router::new()
        .route("/", get(catalogue::show))
        .route("/products/{id}", get(product::show))
        .route("/products/{id}/reviews", post(product::post_review))
        .route(
            "/register",
            get(sign_in::show_register).post(sign_in::register),
        )
        .route("/login", get(sign_in::show_login).post(sign_in::log_in))
        .route("/logout", post(sign_in::log_out))
        .route("/cart", get(cart::show))
        .route("/cart/items", post(cart::add))
        .route("/cart/items/{product_id}", post(cart::set_quantity))
        .route("/cart/items/{product_id}/remove", post(cart::remove))
        .route("/checkout", get(checkout::show).post(checkout::place))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::show))
        .route("/orders/{id}/pay", post(orders::pay))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/notifications", get(account::notifications))
        .route("/account", get(account::show))
        .route("/account/addresses", post(account::add_address))
        .route(
            "/account/addresses/{id}/remove",
            post(account::remove_address),
        )
        .route("/admin/orders", get(admin::orders))
        .route("/admin/orders/{id}", get(admin::order))
        .route("/admin/orders/{id}/status", post(admin::set_status))
        .route("/admin/inventory", get(admin::inventory))
        .route("/admin/inventory/{product_id}", post(admin::set_stock))
        .route("/{*rest}", get(not_found))
}

/// Any other page: 404.
async fn not_found() -> PageError {
    PageError::NotFound
}
