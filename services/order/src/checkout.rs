//! Checkout, the write protocol of `POST /api/orders/checkout`: the buyer's cart becomes one
//! order, placed exactly like `POST /api/orders` with `items` (priced from the catalogue, the
//! address copied, idempotent by key), and the lines ordered leave the cart only once the order
//! is accepted. A line the buyer changed meanwhile stays in the cart; a retry with the same
//! `Idempotency-Key` gets the first answer and empties the cart of what was ordered if the first
//! attempt could not.

use microshop_domain::{Id, ValidationError};
use serde_json::Value;

use crate::app::App;
use crate::db::orders::Order;
use crate::domain::{IdempotencyKey, NewLine, NewOrder};
use crate::error::Error;
use crate::place::{self, BuyerToken, Placed};

/// Places the cart of `buyer` as an order shipped to `address_id`.
pub async fn cart(
    app: &App,
    buyer: Id,
    address_id: Id,
    token: BuyerToken<'_>,
    key: Option<IdempotencyKey>,
    receipt: impl FnOnce(&Order) -> Value + Send,
) -> Result<Placed, Error> {
    // A retry is answered before the cart is read: the first attempt may have emptied it.
    let fingerprint = NewOrder::checkout_fingerprint(buyer, address_id);
    if let Some(placed) = place::earlier(app, buyer, key.as_ref(), &fingerprint).await? {
        return Ok(placed);
    }
    let lines = app.carts.lines(buyer.get()).await?;
    if lines.is_empty() {
        return Err(Error::CartEmpty);
    }
    let order_lines = lines
        .iter()
        .map(|&(product, quantity)| {
            let product_id = Id::new(product)
                .ok_or_else(|| ValidationError::new("items", "the cart holds an invalid id"))?;
            Ok(NewLine {
                product_id,
                quantity,
            })
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    let order = NewOrder::parse(buyer, order_lines, Some(address_id))?.from_cart();
    let placed = place::order(app, order, token, key, receipt).await?;
    if let Placed::Replayed(_) = placed {
        // A concurrent retry placed it: the lines are its business.
        return Ok(placed);
    }
    // The order stands whatever happens to the cart now: Redis away only leaves the lines there
    // for the buyer to remove (a retry with the same key removes them too).
    match app.carts.remove_ordered(buyer.get(), &lines).await {
        Ok(removed) => tracing::debug!(removed, "ordered lines left the cart"),
        Err(error) => {
            tracing::warn!(%error, user.id = buyer.get(), "the order is placed but its lines are still in the cart");
        }
    }
    Ok(placed)
}
