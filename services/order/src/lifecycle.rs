//! Moving one order a step by hand, the write protocol of `POST /api/orders/{id}/cancel` and
//! `PUT /api/orders/{id}/status`: the order is locked, [`decide`] says whether the step is
//! allowed from its status, and the new status, its timeline entry and its event (with what
//! goes back: stock, money) are written in one transaction. Asking again for what was done
//! already (cancelling a cancelled order, shipping a shipped one with the same tracking number)
//! answers the order as it is; anything else the status does not allow is 409.

use microshop_domain::Id;
use microshop_events::Envelope;

use crate::announce::{self, About, With};
use crate::app::App;
use crate::db::orders::{self, Details, Order};
use crate::domain::lifecycle::decide;
use crate::domain::shipment::TrackingNumber;
use crate::domain::{Actor, Canceller, Decision, InvalidTransition, Step};
use crate::error::Error;

/// A step asked for over HTTP.
#[derive(Debug, Clone)]
pub enum Request {
    /// Cancel, with an optional reason.
    Cancel(Option<String>),
    /// Hand it to the carrier.
    Ship(TrackingNumber),
    /// The buyer received it.
    Deliver,
}

/// Applies `request` to order `id` for `actor` (its buyer or an admin; another customer's order
/// is not found).
pub async fn step(app: &App, id: Id, actor: Actor, request: Request) -> Result<Order, Error> {
    let step = match (&request, actor) {
        (Request::Cancel(_), Actor::Admin(_)) => Step::Cancel(Canceller::Admin),
        (Request::Cancel(_), _) => Step::Cancel(Canceller::Buyer),
        (Request::Ship(_), _) => Step::Ship,
        (Request::Deliver, _) => Step::Deliver,
    };
    let mut tx = app.outbox.begin().await?;
    let order = orders::lock(&mut tx, id.get())
        .await?
        .filter(|order| match actor {
            Actor::Buyer(buyer) => order.row.user_id == buyer.get(),
            _ => true,
        })
        .ok_or(Error::OrderNotFound(id))?;
    let current = order.row.status();
    let invalid = || Error::InvalidTransition {
        id,
        refusal: InvalidTransition { current, step },
    };
    let (to, compensation) = match decide(current, step) {
        Decision::Move { to, compensation } => (to, compensation),
        Decision::Unchanged if same_again(&order, &request) => return Ok(order),
        Decision::Unchanged | Decision::Undo(_) | Decision::Invalid(_) => return Err(invalid()),
    };
    let reason = match &request {
        Request::Cancel(reason) => Some(reason.clone().unwrap_or_else(|| match actor {
            Actor::Admin(_) => "cancelled by an admin".to_owned(),
            _ => "cancelled by the buyer".to_owned(),
        })),
        _ => None,
    };
    let details = Details {
        reason,
        payment_id: None,
        tracking_number: match &request {
            Request::Ship(number) => Some(number.as_str().to_owned()),
            _ => None,
        },
        refund: matches!(request, Request::Cancel(_)).then_some(compensation.refund),
    };
    let row = orders::transition(&mut tx, id.get(), current, to, actor, &details)
        .await?
        .ok_or_else(invalid)?;
    let about = About {
        order_id: row.id,
        user_id: row.user_id,
        total_price_cents: row.total_price_cents,
        items: &order.items,
    };
    let with = With {
        reason: details.reason.as_deref(),
        payment_id: None,
        tracking_number: details.tracking_number.as_deref(),
        refund: compensation.refund,
    };
    if let Some(event) = announce::entered(about, to, with) {
        tx.enqueue(&[Envelope::new(event)]).await?;
    }
    tx.commit().await?;
    app.metrics.entered(to);
    tracing::info!(
        order.id = row.id,
        from = current.as_str(),
        to = to.as_str(),
        actor = actor.kind(),
        refund = compensation.refund,
        release_stock = compensation.release_stock,
        "order moved"
    );
    Ok(Order {
        row,
        items: order.items,
    })
}

/// Whether `request` asks for exactly what the order already shows (a retry).
fn same_again(order: &Order, request: &Request) -> bool {
    match request {
        Request::Cancel(_) | Request::Deliver => true,
        Request::Ship(number) => order.row.tracking_number.as_deref() == Some(number.as_str()),
    }
}
