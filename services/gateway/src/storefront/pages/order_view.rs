//! An order as its pages show it (the buyer's and the admin's): lines, shipping address,
//! timeline and how its payment stands.

use serde_json::Value;

use crate::storefront::api::Api;
use crate::storefront::api::orders::{Payment, Step};
use crate::storefront::error::PageError;
use crate::storefront::views;

/// An order with everything the order pages show.
pub struct OrderView {
    /// Its id.
    pub id: i64,
    /// The buyer.
    pub user_id: i64,
    /// Its status.
    pub status: String,
    pub(super) reason: Option<String>,
    pub(super) placed: String,
    pub(super) lines: Vec<LineRow>,
    pub(super) total: String,
    pub(super) address: Vec<String>,
    pub(super) tracking: Option<String>,
    pub(super) timeline: Vec<StepView>,
    pub(super) payment: String,
}

/// A line of an order.
pub(super) struct LineRow {
    pub(super) product_id: i64,
    pub(super) name: String,
    pub(super) quantity: i64,
    pub(super) unit_price: String,
    pub(super) total: String,
}

/// A status change.
pub(super) struct StepView {
    pub(super) from: Option<String>,
    pub(super) to: String,
    pub(super) actor: String,
    pub(super) reason: Option<String>,
    pub(super) when: String,
}

impl From<Step> for StepView {
    fn from(step: Step) -> Self {
        Self {
            from: step.from,
            to: step.to,
            actor: step.actor,
            reason: step.reason,
            when: views::when(&step.at),
        }
    }
}

/// The lines of a shipping address as the order keeps it.
fn address_lines(address: Option<&Value>) -> Vec<String> {
    let Some(address) = address else {
        return Vec::new();
    };
    let field = |name: &str| {
        address
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let city = [field("postal_code"), field("city")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [
        field("name"),
        field("line1"),
        field("line2"),
        Some(city).filter(|city| !city.is_empty()),
        field("country"),
        field("phone"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// How the newest payment stands, or why it is not known.
fn payment_status(payments: Result<Vec<Payment>, PageError>) -> String {
    match payments {
        Ok(payments) => match payments.first() {
            Some(payment) => match &payment.failure_message {
                Some(why) => format!("{} ({why})", payment.status),
                None => payment.status.clone(),
            },
            None => "No payment yet".to_owned(),
        },
        // The order page still shows the order when the payment service cannot answer.
        Err(_) => "Unknown for now (the payment service is unavailable)".to_owned(),
    }
}

/// Order `id` with its timeline and payment status, as `api`'s user may see it.
pub async fn load(api: &Api, id: i64) -> Result<OrderView, PageError> {
    let (order, timeline, payments) =
        tokio::join!(api.order(id), api.timeline(id), api.payments(id));
    let order = order?;
    let timeline = timeline?;
    Ok(OrderView {
        id: order.id,
        user_id: order.user_id,
        reason: order.reason,
        placed: views::when(&order.created_at),
        lines: order
            .items
            .into_iter()
            .map(|line| LineRow {
                product_id: line.product_id,
                name: line
                    .name
                    .unwrap_or_else(|| format!("Product #{}", line.product_id)),
                quantity: line.quantity,
                unit_price: views::money(line.unit_price),
                total: views::money(line.line_total),
            })
            .collect(),
        total: views::money(order.total_price),
        address: address_lines(order.shipping_address.as_ref()),
        tracking: order.tracking_number,
        timeline: timeline.into_iter().map(StepView::from).collect(),
        payment: payment_status(payments.map_err(PageError::from)),
        status: order.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_reads_line_by_line_without_blanks() {
        let address = serde_json::json!({
            "name": "Ann", "line1": "Main St 1", "line2": "", "city": "Berlin",
            "postal_code": "10115", "country": "DE"
        });
        assert_eq!(
            address_lines(Some(&address)),
            ["Ann", "Main St 1", "10115 Berlin", "DE"]
        );
        assert!(address_lines(None).is_empty());
    }
}
