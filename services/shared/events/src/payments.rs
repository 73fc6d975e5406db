//! The payment service's events: the outcome of a payment for an order, and refunds.

use serde::{Deserialize, Serialize};

/// `payment.succeeded`: the provider took the money for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSucceeded {
    /// The payment.
    pub payment_id: i64,
    /// The order it pays.
    pub order_id: i64,
    /// Amount taken, in cents.
    pub amount_cents: i64,
}

/// `payment.failed`: the provider declined the payment (the order stays unpaid; the buyer may
/// try again until the payment timeout cancels it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentFailed {
    /// The payment.
    pub payment_id: i64,
    /// The order it was for.
    pub order_id: i64,
    /// For a person, e.g. "card declined".
    pub reason: String,
}

/// `payment.refunded`: the money of a payment went back to the buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRefunded {
    /// The payment.
    pub payment_id: i64,
    /// The order it paid.
    pub order_id: i64,
    /// Amount given back, in cents.
    pub amount_cents: i64,
}
