//! The order saga's events: an order and its lines (`order.created`), the product service's
//! all-or-nothing answer (`stock.reserved`, `stock.rejected`), the lifecycle after it
//! (`order.confirmed`, `order.rejected`, `order.paid`, `order.shipped`, `order.delivered`,
//! `order.cancelled`) and stock given back (`stock.released`). Money is in integer cents, so no
//! service ever rounds.
//!
//! Orders used to have one product. Events of that shape may still wait in a queue while a
//! shop is upgraded, so the five events that had it also read it: `{product_id, quantity, ...}`
//! becomes one line (see [`legacy`]). They are always written in the shape of lines.

use serde::{Deserialize, Serialize};

/// One line of an order as ordered: a product, its units and the price of one unit then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    /// The product.
    pub product_id: i64,
    /// Units, `1..=10000`.
    pub quantity: i64,
    /// Price of one unit when the order was taken, in cents.
    pub unit_price_cents: i64,
}

/// One product line of an order: what and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// The product.
    pub product_id: i64,
    /// Units.
    pub quantity: i64,
}

/// One line's stock after it was taken or given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockLine {
    /// The product.
    pub product_id: i64,
    /// Units taken or given back.
    pub quantity: i64,
    /// Units on hand afterwards.
    pub remaining: i64,
}

/// A line that could not be served, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortLine {
    /// The product.
    pub product_id: i64,
    /// Units asked for.
    pub requested: i64,
    /// Units there were (0 when the product does not exist or is no longer sold).
    pub available: i64,
    /// For a person, e.g. "only 2 left of product 7, 3 requested".
    pub reason: String,
}

/// `order.created`: an order was accepted and waits for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "legacy::OrderCreated")]
pub struct OrderCreated {
    /// The order.
    pub order_id: i64,
    /// Who ordered.
    pub user_id: i64,
    /// Its lines, one per product.
    pub items: Vec<OrderItem>,
    /// The sum of the lines' `quantity * unit_price_cents`.
    pub total_price_cents: i64,
}

impl OrderCreated {
    /// The lines without their prices.
    pub fn lines(&self) -> Vec<OrderLine> {
        self.items
            .iter()
            .map(|item| OrderLine {
                product_id: item.product_id,
                quantity: item.quantity,
            })
            .collect()
    }
}

/// `stock.reserved`: every line of an order was taken, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "legacy::StockMoved")]
pub struct StockReserved {
    /// The order the stock is held for.
    pub order_id: i64,
    /// Each line and the units left of its product afterwards.
    pub items: Vec<StockLine>,
}

/// `stock.rejected`: the order cannot be served; nothing of it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "legacy::StockRejected")]
pub struct StockRejected {
    /// The order.
    pub order_id: i64,
    /// For a person: the short lines in one sentence, or why the order could not be applied.
    pub reason: String,
    /// Each line that could not be served (empty when the order as a whole could not be).
    pub lines: Vec<ShortLine>,
}

/// `stock.released`: the units held for an order are on hand again (once per order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "legacy::StockMoved")]
pub struct StockReleased {
    /// The order the stock was held for.
    pub order_id: i64,
    /// Each line given back and the units on hand afterwards.
    pub items: Vec<StockLine>,
}

/// `order.confirmed`: its stock is reserved; the order waits for payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderConfirmed {
    /// The order.
    pub order_id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// What the buyer owes, in cents.
    pub total_price_cents: i64,
}

/// `order.rejected`: the order will not go ahead (no stock, or no answer in time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRejected {
    /// The order.
    pub order_id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// For a person.
    pub reason: String,
}

/// `order.paid`: the buyer paid for a confirmed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPaid {
    /// The order.
    pub order_id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// The payment that paid it.
    pub payment_id: i64,
    /// Amount paid, in cents.
    pub amount_cents: i64,
}

/// `order.cancelled`: the order will not go ahead. The product service gives back the stock
/// held for it, once, and never reserves stock for it afterwards; with `refund`, the payment
/// service gives the money back, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "legacy::OrderCancelled")]
pub struct OrderCancelled {
    /// The order.
    pub order_id: i64,
    /// Its buyer (absent only in events written before orders had lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// What was ordered.
    pub items: Vec<OrderLine>,
    /// For a person, e.g. "cancelled by the buyer".
    pub reason: String,
    /// Whether a payment must be refunded (the order was paid).
    pub refund: bool,
}

/// `order.shipped`: the order's units left the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderShipped {
    /// The order.
    pub order_id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// What was shipped.
    pub items: Vec<OrderLine>,
    /// The carrier's tracking number.
    pub tracking_number: String,
}

/// `order.delivered`: the buyer received the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDelivered {
    /// The order.
    pub order_id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// What was delivered.
    pub items: Vec<OrderLine>,
}

/// What the events of this module read: the shape of lines, or the shape of one product that
/// orders had before they had lines. Written only in the shape of lines.
mod legacy {
    use serde::Deserialize;

    use super::{OrderItem, OrderLine, ShortLine, StockLine};

    const NEITHER: &str = "needs either `items` or the fields of one product line";

    /// Both shapes of `order.created`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct OrderCreated {
        order_id: i64,
        user_id: i64,
        items: Option<Vec<OrderItem>>,
        product_id: Option<i64>,
        quantity: Option<i64>,
        unit_price_cents: Option<i64>,
        total_price_cents: i64,
    }

    impl TryFrom<OrderCreated> for super::OrderCreated {
        type Error = String;

        fn try_from(wire: OrderCreated) -> Result<Self, String> {
            let items = match (
                wire.items,
                wire.product_id,
                wire.quantity,
                wire.unit_price_cents,
            ) {
                (Some(items), None, None, None) => items,
                (None, Some(product_id), Some(quantity), Some(unit_price_cents)) => {
                    vec![OrderItem {
                        product_id,
                        quantity,
                        unit_price_cents,
                    }]
                }
                _ => return Err(format!("order.created {NEITHER}")),
            };
            Ok(Self {
                order_id: wire.order_id,
                user_id: wire.user_id,
                items,
                total_price_cents: wire.total_price_cents,
            })
        }
    }

    /// Both shapes of `stock.reserved` and `stock.released`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct StockMoved {
        order_id: i64,
        items: Option<Vec<StockLine>>,
        product_id: Option<i64>,
        quantity: Option<i64>,
        remaining: Option<i64>,
    }

    impl StockMoved {
        fn into_parts(self) -> Result<(i64, Vec<StockLine>), String> {
            let items = match (self.items, self.product_id, self.quantity, self.remaining) {
                (Some(items), None, None, None) => items,
                (None, Some(product_id), Some(quantity), Some(remaining)) => vec![StockLine {
                    product_id,
                    quantity,
                    remaining,
                }],
                _ => return Err(format!("a stock event {NEITHER}")),
            };
            Ok((self.order_id, items))
        }
    }

    impl TryFrom<StockMoved> for super::StockReserved {
        type Error = String;

        fn try_from(wire: StockMoved) -> Result<Self, String> {
            let (order_id, items) = wire.into_parts()?;
            Ok(Self { order_id, items })
        }
    }

    impl TryFrom<StockMoved> for super::StockReleased {
        type Error = String;

        fn try_from(wire: StockMoved) -> Result<Self, String> {
            let (order_id, items) = wire.into_parts()?;
            Ok(Self { order_id, items })
        }
    }

    /// Both shapes of `stock.rejected`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct StockRejected {
        order_id: i64,
        reason: String,
        lines: Option<Vec<ShortLine>>,
        product_id: Option<i64>,
        requested: Option<i64>,
        available: Option<i64>,
    }

    impl TryFrom<StockRejected> for super::StockRejected {
        type Error = String;

        fn try_from(wire: StockRejected) -> Result<Self, String> {
            let lines = match (wire.lines, wire.product_id, wire.requested, wire.available) {
                (Some(lines), None, None, None) => lines,
                (None, Some(product_id), Some(requested), Some(available)) => vec![ShortLine {
                    product_id,
                    requested,
                    available,
                    reason: wire.reason.clone(),
                }],
                _ => return Err(format!("stock.rejected {NEITHER}")),
            };
            Ok(Self {
                order_id: wire.order_id,
                reason: wire.reason,
                lines,
            })
        }
    }

    /// Both shapes of `order.cancelled`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct OrderCancelled {
        order_id: i64,
        user_id: Option<i64>,
        items: Option<Vec<OrderLine>>,
        product_id: Option<i64>,
        quantity: Option<i64>,
        reason: String,
        refund: bool,
    }

    impl TryFrom<OrderCancelled> for super::OrderCancelled {
        type Error = String;

        fn try_from(wire: OrderCancelled) -> Result<Self, String> {
            let items = match (wire.items, wire.product_id, wire.quantity) {
                (Some(items), None, None) => items,
                (None, Some(product_id), Some(quantity)) => vec![OrderLine {
                    product_id,
                    quantity,
                }],
                _ => return Err(format!("order.cancelled {NEITHER}")),
            };
            Ok(Self {
                order_id: wire.order_id,
                user_id: wire.user_id,
                items,
                reason: wire.reason,
                refund: wire.refund,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Envelope, Event};

    fn parse(kind: &str, data: &serde_json::Value) -> Result<Event, serde_json::Error> {
        let body = json!({
            "id": "0190b4c8-7c2e-7f00-8000-000000000001",
            "occurred_at": "2026-12-07T10:00:00Z",
            "type": kind,
            "data": data,
        });
        Envelope::from_json(body.to_string().as_bytes()).map(|envelope| envelope.event)
    }

    fn round_trip(event: &Event) {
        let envelope = Envelope::new(event.clone());
        assert_eq!(
            &Envelope::from_json(&envelope.to_json()).unwrap().event,
            event
        );
    }

    #[test]
    fn single_product_events_of_before_read_as_one_line() {
        let Event::OrderCreated(created) = parse(
            "order.created",
            &json!({"order_id": 1, "user_id": 2, "product_id": 3, "quantity": 4,
                   "unit_price_cents": 500, "total_price_cents": 2000}),
        )
        .unwrap() else {
            panic!("not an order.created")
        };
        assert_eq!(created.items.len(), 1);
        assert_eq!(
            (created.items[0].product_id, created.items[0].quantity),
            (3, 4)
        );
        round_trip(&Event::OrderCreated(created));

        let Event::StockRejected(rejected) = parse(
            "stock.rejected",
            &json!({"order_id": 1, "product_id": 3, "requested": 4, "available": 1,
                   "reason": "only 1 left"}),
        )
        .unwrap() else {
            panic!("not a stock.rejected")
        };
        assert_eq!(rejected.lines[0].available, 1);
        assert_eq!(rejected.reason, "only 1 left");
        round_trip(&Event::StockRejected(rejected));

        for kind in ["stock.reserved", "stock.released"] {
            let event = parse(
                kind,
                &json!({"order_id": 1, "product_id": 3, "quantity": 4, "remaining": 6}),
            )
            .unwrap();
            round_trip(&event);
        }

        let Event::OrderCancelled(cancelled) = parse(
            "order.cancelled",
            &json!({"order_id": 1, "product_id": 3, "quantity": 4, "reason": "r", "refund": false}),
        )
        .unwrap() else {
            panic!("not an order.cancelled")
        };
        assert_eq!(cancelled.user_id, None);
        assert_eq!(cancelled.items[0].quantity, 4);
        round_trip(&Event::OrderCancelled(cancelled));
    }

    #[test]
    fn an_event_has_lines_or_one_product_never_both_nor_neither() {
        let both = json!({"order_id": 1, "user_id": 2, "product_id": 3, "quantity": 4,
            "unit_price_cents": 500, "total_price_cents": 2000,
            "items": [{"product_id": 3, "quantity": 4, "unit_price_cents": 500}]});
        assert!(parse("order.created", &both).is_err());
        let neither = json!({"order_id": 1, "user_id": 2, "total_price_cents": 2000});
        assert!(parse("order.created", &neither).is_err());
        let half = json!({"order_id": 1, "product_id": 3, "reason": "r", "refund": true});
        assert!(parse("order.cancelled", &half).is_err());
        let unknown = json!({"order_id": 1, "items": [], "colour": "red"});
        assert!(parse("stock.reserved", &unknown).is_err());
    }

    #[test]
    fn events_are_written_in_the_shape_of_lines() {
        let event = parse(
            "stock.reserved",
            &json!({"order_id": 1, "product_id": 3, "quantity": 4, "remaining": 6}),
        )
        .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&Envelope::new(event).to_json()).unwrap();
        assert_eq!(
            json["data"],
            json!({"order_id": 1, "items": [{"product_id": 3, "quantity": 4, "remaining": 6}]})
        );
    }
}
