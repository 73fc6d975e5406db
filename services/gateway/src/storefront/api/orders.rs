//! The order service's orders and the payment service's payments.

use microshop_http_client::UpstreamError;
use serde::{Deserialize, Serialize};

use super::{Api, query};
use crate::routing::Upstream;

/// An order.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: i64,
    /// The buyer.
    #[serde(default)]
    pub user_id: i64,
    /// `PENDING`, `CONFIRMED`, `REJECTED`, `PAID`, `SHIPPED`, `DELIVERED` or `CANCELLED`.
    pub status: String,
    /// Why it was rejected or cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    /// Its lines.
    #[serde(default)]
    pub items: Vec<OrderLine>,
    /// Its total, in dollars.
    #[serde(default)]
    pub total_price: f64,
    /// Where it goes.
    #[serde(default)]
    pub shipping_address: Option<serde_json::Value>,
    /// The carrier's tracking number, once shipped.
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// When it was placed (RFC 3339).
    pub created_at: String,
}

/// One product of an order.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderLine {
    /// The product.
    pub product_id: i64,
    /// Its name when ordered.
    #[serde(default)]
    pub name: Option<String>,
    /// How many.
    pub quantity: i64,
    /// Price of one.
    pub unit_price: f64,
    /// Price × quantity.
    pub line_total: f64,
}

/// One status change of an order.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// The status before.
    #[serde(default)]
    pub from: Option<String>,
    /// The status after.
    pub to: String,
    /// Who (`buyer`, `admin`, `system`, ...).
    #[serde(default)]
    pub actor: String,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

/// A payment of an order.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    /// Its id.
    pub id: i64,
    /// `PENDING`, `SUCCEEDED`, `FAILED`, `REFUNDED`, ...
    pub status: String,
    /// Where the buyer pays.
    #[serde(default)]
    pub checkout_url: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub failure_message: Option<String>,
}

#[derive(Serialize)]
struct NoReason {}

#[derive(Serialize)]
struct Status<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking_number: Option<&'a str>,
}

impl Api {
    /// A page of orders: the user's `user_id`, or everyone's (admins) when `None`; only those in
    /// `status` when it names one.
    pub async fn orders(
        &self,
        user_id: Option<i64>,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Order>, UpstreamError> {
        let path = format!(
            "/api/orders{}",
            query(&[
                ("user_id", user_id.map(|id| id.to_string())),
                ("status", status.map(str::to_owned)),
                ("limit", Some(limit.to_string())),
                ("offset", Some(offset.to_string())),
            ])
        );
        self.client(Upstream::Orders)
            .get_json_with(&path, &self.headers)
            .await
    }

    /// Order `id`.
    pub async fn order(&self, id: i64) -> Result<Order, UpstreamError> {
        self.client(Upstream::Orders)
            .get_json_with(&format!("/api/orders/{id}"), &self.headers)
            .await
    }

    /// Every status change of order `id`, oldest first.
    pub async fn timeline(&self, id: i64) -> Result<Vec<Step>, UpstreamError> {
        self.client(Upstream::Orders)
            .get_json_with(&format!("/api/orders/{id}/timeline"), &self.headers)
            .await
    }

    /// The payment of order `id` to pay at its `checkout_url` (opened if need be).
    pub async fn pay(&self, id: i64) -> Result<Payment, UpstreamError> {
        self.client(Upstream::Orders)
            .post_json_with(
                &format!("/api/orders/{id}/pay"),
                &NoReason {},
                &self.headers,
            )
            .await
    }

    /// Cancels order `id`.
    pub async fn cancel(&self, id: i64) -> Result<(), UpstreamError> {
        let _: Order = self
            .client(Upstream::Orders)
            .post_json_with(
                &format!("/api/orders/{id}/cancel"),
                &NoReason {},
                &self.headers,
            )
            .await?;
        Ok(())
    }

    /// Moves order `id` to `status` (`SHIPPED` with a tracking number, or `DELIVERED`; admins).
    pub async fn set_status(
        &self,
        id: i64,
        status: &str,
        tracking_number: Option<&str>,
    ) -> Result<(), UpstreamError> {
        let _: Order = self
            .client(Upstream::Orders)
            .put_json_with(
                &format!("/api/orders/{id}/status"),
                &Status {
                    status,
                    tracking_number,
                },
                &self.headers,
            )
            .await?;
        Ok(())
    }

    /// The payments of order `order_id`, newest first.
    pub async fn payments(&self, order_id: i64) -> Result<Vec<Payment>, UpstreamError> {
        let mut payments: Vec<Payment> = self
            .client(Upstream::Payments)
            .get_json_with(&format!("/api/payments?order_id={order_id}"), &self.headers)
            .await?;
        payments.sort_by_key(|payment| std::cmp::Reverse(payment.id));
        Ok(payments)
    }
}
