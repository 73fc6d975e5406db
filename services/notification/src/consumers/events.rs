//! What the shop's events notify: the read models of users and orders are kept up to date, and
//! each event a person cares about queues its message ([`crate::notify`]) — a welcome for a new
//! account; confirmed, rejected, paid, shipped, delivered and cancelled orders and refunds for
//! their buyer; low stock for every admin. An event about an order whose buyer is not known
//! (its `order.confirmed` never came) is acknowledged without a message, and logged.

use microshop_events::{Envelope, Event};
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::people::{self, UserRow};
use crate::domain::{Category, Channel, Message};
use crate::notify::{self, Request};

/// Whether this consumer acts on `event`.
pub fn handles(event: &Event) -> bool {
    matches!(
        event,
        Event::UserRegistered(_)
            | Event::UserUpdated(_)
            | Event::OrderConfirmed(_)
            | Event::OrderRejected(_)
            | Event::OrderPaid(_)
            | Event::OrderShipped(_)
            | Event::OrderDelivered(_)
            | Event::OrderCancelled(_)
            | Event::PaymentRefunded(_)
            | Event::InventoryLowStock(_)
    )
}

/// Applies `envelope` in `tx`; the channels of the notifications it queued.
pub async fn apply(
    tx: &mut OutboxTransaction,
    shop_url: &str,
    envelope: &Envelope,
) -> Result<Vec<Channel>, sqlx::Error> {
    let (user_id, message) = match &envelope.event {
        Event::UserRegistered(user) => {
            remember(tx, user.user_id, &user.email, &user.name, &user.role).await?;
            let welcome = Message::Welcome {
                name: user.name.clone(),
            };
            (user.user_id, welcome)
        }
        Event::UserUpdated(user) => {
            remember(tx, user.user_id, &user.email, &user.name, &user.role).await?;
            return Ok(Vec::new());
        }
        Event::OrderConfirmed(order) => {
            people::remember_order(tx, order.order_id, order.user_id).await?;
            let message = Message::OrderConfirmed {
                order_id: order.order_id,
                total_cents: order.total_price_cents,
            };
            (order.user_id, message)
        }
        Event::OrderRejected(order) => {
            people::remember_order(tx, order.order_id, order.user_id).await?;
            let message = Message::OrderRejected {
                order_id: order.order_id,
                reason: order.reason.clone(),
            };
            (order.user_id, message)
        }
        Event::OrderPaid(order) => {
            people::remember_order(tx, order.order_id, order.user_id).await?;
            let message = Message::OrderPaid {
                order_id: order.order_id,
                amount_cents: order.amount_cents,
            };
            (order.user_id, message)
        }
        Event::OrderShipped(order) => {
            let message = Message::OrderShipped {
                order_id: order.order_id,
                tracking_number: order.tracking_number.clone(),
            };
            (order.user_id, message)
        }
        Event::OrderDelivered(order) => (
            order.user_id,
            Message::OrderDelivered {
                order_id: order.order_id,
            },
        ),
        Event::OrderCancelled(order) => {
            let buyer = match order.user_id {
                Some(user_id) => Some(user_id),
                None => people::buyer(tx, order.order_id).await?,
            };
            let Some(user_id) = buyer else {
                return Ok(unknown_buyer(envelope, order.order_id));
            };
            let message = Message::OrderCancelled {
                order_id: order.order_id,
                reason: order.reason.clone(),
                refund: order.refund,
            };
            (user_id, message)
        }
        Event::PaymentRefunded(refund) => {
            let Some(user_id) = people::buyer(tx, refund.order_id).await? else {
                return Ok(unknown_buyer(envelope, refund.order_id));
            };
            let message = Message::Refunded {
                order_id: refund.order_id,
                amount_cents: refund.amount_cents,
            };
            (user_id, message)
        }
        Event::InventoryLowStock(low) => {
            let message = Message::LowStock {
                product_id: low.product_id,
                stock: low.stock,
                threshold: low.threshold,
            };
            let mut queued = Vec::new();
            for admin in people::admins(tx).await? {
                queued.extend(queue(tx, shop_url, envelope, admin, &message).await?);
            }
            return Ok(queued);
        }
        _ => return Ok(Vec::new()),
    };
    queue(tx, shop_url, envelope, user_id, &message).await
}

/// Records a user as their event describes them.
async fn remember(
    tx: &mut OutboxTransaction,
    id: i64,
    email: &str,
    name: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    let user = UserRow {
        id,
        email: email.to_owned(),
        name: name.to_owned(),
        role: role.to_owned(),
    };
    people::upsert_user(tx, &user).await
}

/// Queues `message` by e-mail for `user_id`, greeting them by name when known.
async fn queue(
    tx: &mut OutboxTransaction,
    shop_url: &str,
    cause: &Envelope,
    user_id: i64,
    message: &Message,
) -> Result<Vec<Channel>, sqlx::Error> {
    let name = people::user(&mut **tx, user_id)
        .await?
        .map(|user| user.name);
    let request = Request {
        user_id: Some(user_id),
        channel: Channel::Email,
        category: Category::Transactional,
        template: message.template(),
        recipient: None,
        message: message.render(name.as_deref(), shop_url),
        cause: Some(cause),
    };
    let queued = notify::queue(tx, &request).await?;
    Ok(queued.map(|_| Channel::Email).into_iter().collect())
}

fn unknown_buyer(envelope: &Envelope, order_id: i64) -> Vec<Channel> {
    tracing::warn!(event.id = %envelope.id, order.id = order_id,
        "no buyer known for the order (its order.confirmed never came); no message");
    Vec::new()
}
