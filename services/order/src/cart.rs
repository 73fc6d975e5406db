//! The buyer's cart: lines of products and units kept in Redis per user for `CART_TTL` (30 days)
//! after the last change, shown with the current names and prices of the read model of products
//! ([`crate::catalog`]). A cart never holds stock: stock is reserved when an order is placed.
//! Redis is never the only copy of anything durable (DESIGN §6): without it the cart routes
//! answer 503 `cart_unavailable` and everything else goes on.
//!
//! The use cases here are what the routes call; checkout uses [`Carts::lines`] and
//! [`Carts::remove_ordered`] directly.

pub mod domain;
mod fields;
mod metrics;
mod scripts;
mod store;

use microshop_domain::Id;

pub use metrics::CartMetrics;
pub use store::{Added, CartError, CartSettings, Carts};

use crate::app::App;
use crate::error::Error;
use domain::{Cart, Quantity, ShownCart};

/// `user`'s cart as they see it.
pub async fn view(app: &App, user: Id) -> Result<ShownCart, Error> {
    let cart = app.carts.get(user.get()).await?;
    show(app, &cart).await
}

/// Adds `quantity` units of `product` to `user`'s cart, which must be a product that exists and
/// is still sold. Returns whether the line is new, and the cart as `user` sees it afterwards.
pub async fn add(
    app: &App,
    user: Id,
    product: Id,
    quantity: Quantity,
) -> Result<(bool, ShownCart), Error> {
    let known = app.catalog.products(&[product.get()]).await?;
    match known.get(&product.get()) {
        None => return Err(Error::ProductsNotFound(vec![product])),
        Some(info) if info.archived => return Err(Error::ProductUnavailable(product)),
        Some(_) => {}
    }
    let added = app.carts.add(user.get(), product.get(), quantity).await?;
    Ok((added.created, show(app, &added.cart).await?))
}

/// Sets the units of `product` in `user`'s cart (the line must be there).
pub async fn set(app: &App, user: Id, product: Id, quantity: Quantity) -> Result<ShownCart, Error> {
    let cart = app.carts.set(user.get(), product.get(), quantity).await?;
    show(app, &cart).await
}

/// Removes the line of `product` from `user`'s cart (it must be there).
pub async fn remove(app: &App, user: Id, product: Id) -> Result<ShownCart, Error> {
    let cart = app.carts.remove(user.get(), product.get()).await?;
    show(app, &cart).await
}

/// Empties `user`'s cart.
pub async fn clear(app: &App, user: Id) -> Result<(), Error> {
    Ok(app.carts.clear(user.get()).await?)
}

/// `cart` with its products as the read model knows them now.
async fn show(app: &App, cart: &Cart) -> Result<ShownCart, Error> {
    let products = app.catalog.products(&cart.product_ids()).await?;
    Ok(domain::show(cart, &products))
}
