//! The order service's cart and checkout.

use axum::http::HeaderValue;
use microshop_http_client::UpstreamError;
use serde::{Deserialize, Serialize};

use super::Api;
use super::orders::Order;
use crate::routing::Upstream;

/// The caller's cart.
#[derive(Debug, Clone, Deserialize)]
pub struct Cart {
    /// Its lines.
    #[serde(default)]
    pub items: Vec<CartLine>,
    /// Sum of the line totals, in dollars.
    #[serde(default)]
    pub subtotal: f64,
}

/// One product in the cart.
#[derive(Debug, Clone, Deserialize)]
pub struct CartLine {
    /// The product.
    pub product_id: i64,
    /// Its current name (`None`: no longer in the catalogue).
    #[serde(default)]
    pub name: Option<String>,
    /// Its current price.
    #[serde(default)]
    pub unit_price: Option<f64>,
    /// How many.
    pub quantity: i64,
    /// Price × quantity.
    #[serde(default)]
    pub line_total: Option<f64>,
    /// Still sold.
    #[serde(default)]
    pub available: bool,
    /// Units in stock now.
    #[serde(default)]
    pub stock: i64,
}

#[derive(Serialize)]
struct NewLine {
    product_id: i64,
    quantity: i64,
}

#[derive(Serialize)]
struct Quantity {
    quantity: i64,
}

#[derive(Serialize)]
struct Checkout {
    address_id: i64,
}

impl Api {
    /// The caller's cart.
    pub async fn cart(&self) -> Result<Cart, UpstreamError> {
        self.client(Upstream::Orders)
            .get_json_with("/api/cart", &self.headers)
            .await
    }

    /// Adds `quantity` of product `product_id` to the cart.
    pub async fn add_to_cart(&self, product_id: i64, quantity: i64) -> Result<(), UpstreamError> {
        let _: Cart = self
            .client(Upstream::Orders)
            .post_json_with(
                "/api/cart/items",
                &NewLine {
                    product_id,
                    quantity,
                },
                &self.headers,
            )
            .await?;
        Ok(())
    }

    /// Sets the quantity of the cart's line of product `product_id`.
    pub async fn set_quantity(&self, product_id: i64, quantity: i64) -> Result<(), UpstreamError> {
        let _: Cart = self
            .client(Upstream::Orders)
            .put_json_with(
                &format!("/api/cart/items/{product_id}"),
                &Quantity { quantity },
                &self.headers,
            )
            .await?;
        Ok(())
    }

    /// Removes the cart's line of product `product_id`.
    pub async fn remove_from_cart(&self, product_id: i64) -> Result<(), UpstreamError> {
        let _: Cart = self
            .client(Upstream::Orders)
            .delete_with(&format!("/api/cart/items/{product_id}"), &self.headers)
            .await?;
        Ok(())
    }

    /// Orders the cart to `address_id`; `key` makes a repeated submit the same order.
    pub async fn check_out(
        &self,
        address_id: i64,
        key: uuid::Uuid,
    ) -> Result<Order, UpstreamError> {
        let key = HeaderValue::from_str(&key.to_string()).expect("a UUID is a valid header value");
        self.client(Upstream::Orders)
            .post_json_with(
                "/api/orders/checkout",
                &Checkout { address_id },
                &self.headers_with([("idempotency-key", key)]),
            )
            .await
    }
}
