//! The message body: `{"id", "type", "occurred_at", "data"}`, with `type` selecting the shape of
//! `data`. An unknown `type` or a body that does not parse is malformed and goes to the DLQ.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::notifications::NotificationRequested;
use crate::orders::{
    OrderCancelled, OrderConfirmed, OrderCreated, OrderDelivered, OrderPaid, OrderRejected,
    OrderShipped, StockRejected, StockReleased, StockReserved,
};
use crate::payments::{PaymentFailed, PaymentRefunded, PaymentSucceeded};

/// One event as it travels through RabbitMQ. `id` is also the AMQP `message_id`, and it is what
/// consumers deduplicate on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per event (UUID v7: time-ordered).
    pub id: Uuid,
    /// When the state change happened, not when it was published.
    pub occurred_at: DateTime<Utc>,
    /// `type` + `data`.
    #[serde(flatten)]
    pub event: Event,
    /// The W3C `traceparent` of the work that caused the event. It travels as an AMQP header,
    /// not in the body: the consumer sets it from the delivery, the outbox writes it beside the
    /// event.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

impl Envelope {
    /// A new event that happened now.
    pub fn new(event: Event) -> Self {
        Self::with_id(Uuid::now_v7(), event)
    }

    /// An event that happened now under an id chosen beforehand (stored with the state change,
    /// so the event can be sent again under the same id).
    pub fn with_id(id: Uuid, event: Event) -> Self {
        Self {
            id,
            occurred_at: Utc::now(),
            event,
            traceparent: None,
        }
    }

    /// The same event, continuing the trace of `cause` (a reply to an event).
    #[must_use]
    pub fn caused_by(mut self, cause: &Envelope) -> Self {
        self.traceparent.clone_from(&cause.traceparent);
        self
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events contain only JSON-representable values")
    }

    /// Parses a body; fails for anything that is not a known event.
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// Every event type, tagged by its wire name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
pub enum Event {
    /// An order was accepted and waits for stock.
    #[serde(rename = "order.created")]
    OrderCreated(OrderCreated),
    /// Stock for an order was taken.
    #[serde(rename = "stock.reserved")]
    StockReserved(StockReserved),
    /// Stock for an order could not be taken.
    #[serde(rename = "stock.rejected")]
    StockRejected(StockRejected),
    /// An order will not go ahead: whatever is held for it is given back.
    #[serde(rename = "order.cancelled")]
    OrderCancelled(OrderCancelled),
    /// Stock held for an order was given back.
    #[serde(rename = "stock.released")]
    StockReleased(StockReleased),
    /// An account was created (by registration, or as the bootstrap admin).
    #[serde(rename = "user.registered")]
    UserRegistered(UserRegistered),
    /// An account's e-mail address, name or role changed.
    #[serde(rename = "user.updated")]
    UserUpdated(UserUpdated),
    /// An order left the warehouse: the stock held for it is fulfilled.
    #[serde(rename = "order.shipped")]
    OrderShipped(OrderShipped),
    /// An order reached its buyer: its products' reviews become verified purchases.
    #[serde(rename = "order.delivered")]
    OrderDelivered(OrderDelivered),
    /// An order's stock is reserved: it waits for payment.
    #[serde(rename = "order.confirmed")]
    OrderConfirmed(OrderConfirmed),
    /// An order will not go ahead: no stock, or no stock answer in time.
    #[serde(rename = "order.rejected")]
    OrderRejected(OrderRejected),
    /// A confirmed order was paid.
    #[serde(rename = "order.paid")]
    OrderPaid(OrderPaid),
    /// The provider took the money for an order.
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded(PaymentSucceeded),
    /// The provider declined a payment.
    #[serde(rename = "payment.failed")]
    PaymentFailed(PaymentFailed),
    /// A payment's money went back to the buyer.
    #[serde(rename = "payment.refunded")]
    PaymentRefunded(PaymentRefunded),
    /// An admin changed a product's name, description, price or category, or archived it.
    #[serde(rename = "product.updated")]
    ProductUpdated(ProductUpdated),
    /// A product's stock changed, whatever changed it.
    #[serde(rename = "product.stock.updated")]
    ProductStockUpdated(ProductStockUpdated),
    /// A product's stock fell to or below its low-stock threshold (once per crossing).
    #[serde(rename = "inventory.low_stock")]
    InventoryLowStock(InventoryLowStock),
    /// A task for the notification service's sender: send this notification.
    #[serde(rename = "notification.requested")]
    NotificationRequested(NotificationRequested),
}

impl Event {
    /// The wire name, e.g. `order.created` (also the AMQP `type` property).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::OrderCreated(_) => "order.created",
            Self::StockReserved(_) => "stock.reserved",
            Self::StockRejected(_) => "stock.rejected",
            Self::OrderCancelled(_) => "order.cancelled",
            Self::StockReleased(_) => "stock.released",
            Self::UserRegistered(_) => "user.registered",
            Self::UserUpdated(_) => "user.updated",
            Self::OrderShipped(_) => "order.shipped",
            Self::OrderDelivered(_) => "order.delivered",
            Self::OrderConfirmed(_) => "order.confirmed",
            Self::OrderRejected(_) => "order.rejected",
            Self::OrderPaid(_) => "order.paid",
            Self::PaymentSucceeded(_) => "payment.succeeded",
            Self::PaymentFailed(_) => "payment.failed",
            Self::PaymentRefunded(_) => "payment.refunded",
            Self::ProductUpdated(_) => "product.updated",
            Self::ProductStockUpdated(_) => "product.stock.updated",
            Self::InventoryLowStock(_) => "inventory.low_stock",
            Self::NotificationRequested(_) => "notification.requested",
        }
    }
}

/// `user.registered`: a new account, as it was created. Never carries the password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRegistered {
    /// The account.
    pub user_id: i64,
    /// Its lower-cased e-mail address.
    pub email: String,
    /// Its display name.
    pub name: String,
    /// `customer` or `admin`.
    pub role: String,
}

/// `user.updated`: an account as it is after a change of its e-mail address, name or role (the
/// whole state, not the difference, so a consumer that missed one keeps up with the next).
/// Never carries the password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdated {
    /// The account.
    pub user_id: i64,
    /// Its lower-cased e-mail address now.
    pub email: String,
    /// Its display name now.
    pub name: String,
    /// `customer` or `admin` now.
    pub role: String,
}

/// `product.updated`: a product as it is after an admin's change (the whole editable state, so a
/// consumer that missed one keeps up with the next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdated {
    /// The product.
    pub product_id: i64,
    /// Its version now (the `ETag` of the API).
    pub version: i64,
    /// Name.
    pub name: String,
    /// Price of one unit in cents (orders already taken keep the price they were taken at).
    pub price_cents: i64,
    /// Its category, if any.
    pub category_id: Option<i64>,
    /// Whether it left the catalogue.
    pub archived: bool,
}

/// `product.stock.updated`: units on hand after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductStockUpdated {
    /// The product.
    pub product_id: i64,
    /// Units available to sell now.
    pub stock: i64,
    /// The change, e.g. `-2` for an order of two.
    pub delta: i64,
    /// What changed it: `order`, `release`, `deduct`, `restore` or `set`.
    pub cause: String,
}

/// `inventory.low_stock`: stock fell to or below the product's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryLowStock {
    /// The product.
    pub product_id: i64,
    /// Units available now.
    pub stock: i64,
    /// The threshold it reached.
    pub threshold: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_created() -> Envelope {
        Envelope::new(Event::OrderCreated(OrderCreated {
            order_id: 1,
            user_id: 2,
            items: vec![crate::OrderItem {
                product_id: 3,
                quantity: 4,
                unit_price_cents: 500,
            }],
            total_price_cents: 2000,
        }))
    }

    #[test]
    fn the_wire_shape_is_id_type_occurred_at_data() {
        let envelope = order_created();
        let json: serde_json::Value = serde_json::from_slice(&envelope.to_json()).unwrap();
        assert_eq!(json["type"], "order.created");
        assert_eq!(json["data"]["items"][0]["quantity"], 4);
        assert_eq!(json["id"], envelope.id.to_string());
        assert!(json["occurred_at"].is_string());
        assert_eq!(Envelope::from_json(&envelope.to_json()).unwrap(), envelope);
    }

    #[test]
    fn user_events_carry_the_account_and_nothing_secret() {
        let registered = Envelope::new(Event::UserRegistered(UserRegistered {
            user_id: 7,
            email: "ann@example.com".to_owned(),
            name: "Ann".to_owned(),
            role: "customer".to_owned(),
        }));
        let json: serde_json::Value = serde_json::from_slice(&registered.to_json()).unwrap();
        assert_eq!(json["type"], "user.registered");
        assert_eq!(
            json["data"],
            serde_json::json!({"user_id": 7, "email": "ann@example.com", "name": "Ann", "role": "customer"})
        );
        assert_eq!(
            Envelope::from_json(&registered.to_json()).unwrap(),
            registered
        );

        let updated = Envelope::new(Event::UserUpdated(UserUpdated {
            user_id: 7,
            email: "ann@example.com".to_owned(),
            name: "Ann".to_owned(),
            role: "admin".to_owned(),
        }));
        assert_eq!(updated.event.type_name(), "user.updated");
        assert_eq!(Envelope::from_json(&updated.to_json()).unwrap(), updated);
        let mut with_password: serde_json::Value =
            serde_json::from_slice(&updated.to_json()).unwrap();
        with_password["data"]["password"] = "secret".into();
        assert!(
            Envelope::from_json(with_password.to_string().as_bytes()).is_err(),
            "a user event has no password field"
        );
    }

    #[test]
    fn unknown_types_and_malformed_bodies_do_not_parse() {
        let mut json: serde_json::Value =
            serde_json::from_slice(&order_created().to_json()).unwrap();
        json["type"] = "order.teleported".into();
        assert!(Envelope::from_json(json.to_string().as_bytes()).is_err());
        assert!(Envelope::from_json(b"not json").is_err());
        assert!(Envelope::from_json(br#"{"id": "x"}"#).is_err());
    }
}
