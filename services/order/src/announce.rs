//! The events that announce an order's steps (DESIGN §5), built in one place for every use case
//! that places or moves orders: `order.created`, `order.confirmed`, `order.rejected`, `order.paid`, `order.shipped`,
//! `order.delivered` and `order.cancelled` (which also asks the product service for the stock
//! back and, with `refund`, the payment service for the money).

use microshop_events::{
    Event, OrderCancelled, OrderConfirmed, OrderCreated, OrderDelivered, OrderItem, OrderLine,
    OrderPaid, OrderRejected, OrderShipped,
};

use crate::db::orders::{ItemRow, Locked};
use crate::domain::OrderStatus;

/// What an announcement says of an order.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    /// The order.
    pub order_id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// What it costs.
    pub total_price_cents: i64,
    /// Its lines.
    pub items: &'a [ItemRow],
}

impl<'a> About<'a> {
    /// What to say of the locked `order`, whose lines are `items`.
    pub fn of(order: &Locked, items: &'a [ItemRow]) -> Self {
        Self {
            order_id: order.id,
            user_id: order.user_id,
            total_price_cents: order.total_price_cents,
            items,
        }
    }
}

impl About<'_> {
    fn lines(&self) -> Vec<OrderLine> {
        self.items
            .iter()
            .map(|item| OrderLine {
                product_id: item.product_id,
                quantity: item.quantity,
            })
            .collect()
    }
}

/// What came with a step, for its event.
#[derive(Debug, Clone, Copy, Default)]
pub struct With<'a> {
    /// Why (rejections and cancellations).
    pub reason: Option<&'a str>,
    /// The payment that paid the order.
    pub payment_id: Option<i64>,
    /// The carrier's tracking number.
    pub tracking_number: Option<&'a str>,
    /// Whether a cancellation asks for a refund.
    pub refund: bool,
}

/// The event for an order that entered `to` (none for `PENDING`, announced by `order.created`).
pub fn entered(order: About<'_>, to: OrderStatus, with: With<'_>) -> Option<Event> {
    let reason = || with.reason.unwrap_or_default().to_owned();
    Some(match to {
        OrderStatus::Pending => return None,
        OrderStatus::Confirmed => Event::OrderConfirmed(OrderConfirmed {
            order_id: order.order_id,
            user_id: order.user_id,
            total_price_cents: order.total_price_cents,
        }),
        OrderStatus::Rejected => Event::OrderRejected(OrderRejected {
            order_id: order.order_id,
            user_id: order.user_id,
            reason: reason(),
        }),
        OrderStatus::Paid => Event::OrderPaid(OrderPaid {
            order_id: order.order_id,
            user_id: order.user_id,
            payment_id: with.payment_id.unwrap_or_default(),
            amount_cents: order.total_price_cents,
        }),
        OrderStatus::Shipped => Event::OrderShipped(OrderShipped {
            order_id: order.order_id,
            user_id: order.user_id,
            items: order.lines(),
            tracking_number: with.tracking_number.unwrap_or_default().to_owned(),
        }),
        OrderStatus::Delivered => Event::OrderDelivered(OrderDelivered {
            order_id: order.order_id,
            user_id: order.user_id,
            items: order.lines(),
        }),
        OrderStatus::Cancelled => cancelled(order, &reason(), with.refund),
    })
}

/// `order.created`: the order and its priced lines, for the product service to reserve.
pub fn created(order: About<'_>) -> Event {
    Event::OrderCreated(OrderCreated {
        order_id: order.order_id,
        user_id: order.user_id,
        items: order
            .items
            .iter()
            .map(|item| OrderItem {
                product_id: item.product_id,
                quantity: item.quantity,
                unit_price_cents: item.unit_price_cents,
            })
            .collect(),
        total_price_cents: order.total_price_cents,
    })
}

/// `order.cancelled`: the stock held for the order goes back (once; nothing is held after
/// shipping) and, with `refund`, the money.
pub fn cancelled(order: About<'_>, reason: &str, refund: bool) -> Event {
    Event::OrderCancelled(OrderCancelled {
        order_id: order.order_id,
        user_id: Some(order.user_id),
        items: order.lines(),
        reason: reason.to_owned(),
        refund,
    })
}
