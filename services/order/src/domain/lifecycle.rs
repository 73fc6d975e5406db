//! An order's life (DESIGN §4), in one place: which step may move an order from which status
//! to which, and what must be undone elsewhere when a step comes too late.
//!
//! ```text
//! PENDING ──stock reserved──▶ CONFIRMED ──paid──▶ PAID ──shipped──▶ SHIPPED ──delivered──▶ DELIVERED
//!    │                           │                 │                  │
//!    └─stock rejected / no       ├─cancel (buyer,  ├─cancel (buyer,   └─cancel (admin): refund,
//!      answer in time─▶ REJECTED │  admin, payment │  admin): refund,   the goods are gone
//!                                │  timeout)       │  stock back
//!                                ▼                 ▼
//!                            CANCELLED         CANCELLED
//! ```
//!
//! [`decide`] is the whole rule book; everything that changes an order's status asks it first,
//! under the order's row lock, so concurrent steps (a cancellation, a payment and the payment
//! timeout at once) are applied one after the other and each sees the status the one before left.

use std::fmt;

use microshop_domain::Id;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Accepted, waiting for the product service to reserve its stock.
    Pending,
    /// Stock reserved; waiting for payment.
    Confirmed,
    /// Stock could not be reserved (or no answer came in time). Final.
    Rejected,
    /// Paid; waiting to be shipped.
    Paid,
    /// On its way, with a tracking number.
    Shipped,
    /// Received by the buyer. Final.
    Delivered,
    /// Will not go ahead; its stock went back and, if it was paid, its money. Final.
    Cancelled,
}

impl OrderStatus {
    /// Every status, in the order of an order's life.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Confirmed,
        Self::Rejected,
        Self::Paid,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
    ];

    /// As stored and shown: `PENDING`, `CONFIRMED`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected => "REJECTED",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether nothing can move the order any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Rejected | Self::Delivered | Self::Cancelled)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who asks for a step; the timeline shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The order's buyer.
    Buyer(Id),
    /// An admin.
    Admin(Id),
    /// The product service, answering for the stock.
    ProductService,
    /// The payment service, reporting a payment.
    PaymentService,
    /// The order service itself: a timeout.
    System,
}

impl Actor {
    /// `customer`, `admin`, `product-service`, `payment-service` or `system`, as stored.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Buyer(_) => "customer",
            Self::Admin(_) => "admin",
            Self::ProductService => "product-service",
            Self::PaymentService => "payment-service",
            Self::System => "system",
        }
    }

    /// The user behind the step, if a person asked for it.
    pub fn user_id(self) -> Option<Id> {
        match self {
            Self::Buyer(id) | Self::Admin(id) => Some(id),
            _ => None,
        }
    }
}

/// Who cancels, which decides from where they may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    /// The buyer: a `CONFIRMED` or `PAID` order (not yet shipped).
    Buyer,
    /// An admin: any order not yet delivered, once its stock is settled (`CONFIRMED`, `PAID`,
    /// `SHIPPED`).
    Admin,
    /// The payment timeout: an unpaid (`CONFIRMED`) order.
    PaymentTimeout,
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The product service reserved every line.
    StockReserved,
    /// The product service could not, or did not answer in time.
    StockRejected,
    /// The payment service took the money.
    Paid,
    /// Someone cancels it.
    Cancel(Canceller),
    /// An admin hands it to the carrier.
    Ship,
    /// An admin records that the buyer received it.
    Deliver,
}

impl Step {
    /// Every step, for exhaustive tests and messages.
    pub const ALL: [Self; 8] = [
        Self::StockReserved,
        Self::StockRejected,
        Self::Paid,
        Self::Cancel(Canceller::Buyer),
        Self::Cancel(Canceller::Admin),
        Self::Cancel(Canceller::PaymentTimeout),
        Self::Ship,
        Self::Deliver,
    ];

    /// The statuses this step moves an order out of.
    pub fn allowed_from(self) -> &'static [OrderStatus] {
        use OrderStatus::{Confirmed, Paid, Pending, Shipped};
        match self {
            Self::StockReserved | Self::StockRejected => &[Pending],
            Self::Paid | Self::Cancel(Canceller::PaymentTimeout) => &[Confirmed],
            Self::Cancel(Canceller::Buyer) => &[Confirmed, Paid],
            Self::Cancel(Canceller::Admin) => &[Confirmed, Paid, Shipped],
            Self::Ship => &[Paid],
            Self::Deliver => &[Shipped],
        }
    }

    /// Where it leads.
    pub fn target(self) -> OrderStatus {
        match self {
            Self::StockReserved => OrderStatus::Confirmed,
            Self::StockRejected => OrderStatus::Rejected,
            Self::Paid => OrderStatus::Paid,
            Self::Cancel(_) => OrderStatus::Cancelled,
            Self::Ship => OrderStatus::Shipped,
            Self::Deliver => OrderStatus::Delivered,
        }
    }

    /// For a person: "a buyer cancelling", "shipping", ...
    pub fn describe(self) -> &'static str {
        match self {
            Self::StockReserved => "confirming (stock reserved)",
            Self::StockRejected => "rejecting",
            Self::Paid => "paying",
            Self::Cancel(Canceller::Buyer) => "cancelling (as its buyer)",
            Self::Cancel(Canceller::Admin) => "cancelling (as an admin)",
            Self::Cancel(Canceller::PaymentTimeout) => "cancelling for want of payment",
            Self::Ship => "shipping",
            Self::Deliver => "delivering",
        }
    }
}

/// What must happen elsewhere because of a step: stock given back, money given back. Both
/// travel in one `order.cancelled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compensation {
    /// The product service gives back the stock held for the order (it does so once, and holds
    /// nothing after shipping).
    pub release_stock: bool,
    /// The payment service refunds the order's payment.
    pub refund: bool,
}

/// The answer of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The order moves to `to`; with a cancellation, `compensation` says what goes back.
    Move {
        /// The new status.
        to: OrderStatus,
        /// What goes back (cancellations only).
        compensation: Compensation,
    },
    /// Nothing to do: the step was applied already (a redelivered event, a second click), or it is
    /// a stock answer for an order that has moved on.
    Unchanged,
    /// The order stays, but the step happened elsewhere for an order that is over: its effect
    /// is undone (stock reserved for a rejected order goes back; money paid for a cancelled or
    /// rejected order is refunded).
    Undo(Compensation),
    /// Not allowed from the current status: 409 `invalid_transition`.
    Invalid(InvalidTransition),
}

/// A step the current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTransition {
    /// The order's status now.
    pub current: OrderStatus,
    /// What was asked.
    pub step: Step,
}

impl fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = self
            .step
            .allowed_from()
            .iter()
            .map(|s| s.as_str())
            .collect();
        write!(
            f,
            "the order is {}; {} is possible only from {}",
            self.current,
            self.step.describe(),
            allowed.join(" or ")
        )
    }
}

/// Whether `step` may happen to an order that is `current`, and what follows.
pub fn decide(current: OrderStatus, step: Step) -> Decision {
    use OrderStatus::{Cancelled, Delivered, Paid, Rejected, Shipped};
    if step.allowed_from().contains(&current) {
        let compensation = match step {
            Step::Cancel(_) => Compensation {
                // After shipping the goods are gone: nothing is held to give back.
                release_stock: current != Shipped,
                refund: matches!(current, Paid | Shipped),
            },
            _ => Compensation::default(),
        };
        return Decision::Move {
            to: step.target(),
            compensation,
        };
    }
    match (current, step) {
        // A stock answer for an order rejected meanwhile (no answer came in time): whatever
        // was reserved goes back.
        (Rejected, Step::StockReserved) => Decision::Undo(Compensation {
            release_stock: true,
            refund: false,
        }),
        // Money for an order that will not go ahead goes back.
        (Rejected | Cancelled, Step::Paid) => Decision::Undo(Compensation {
            release_stock: false,
            refund: true,
        }),
        // The same news again (a redelivered event, a second click).
        (Paid | Shipped | Delivered, Step::Paid)
        | (Cancelled, Step::Cancel(_))
        | (Shipped, Step::Ship)
        | (Delivered, Step::Deliver)
        | (Rejected, Step::StockRejected) => Decision::Unchanged,
        // A stock answer for an order that moved on already changes nothing.
        (_, Step::StockReserved | Step::StockRejected) if current != OrderStatus::Pending => {
            Decision::Unchanged
        }
        _ => Decision::Invalid(InvalidTransition { current, step }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::{Cancelled, Confirmed, Delivered, Paid, Pending, Rejected, Shipped};

    const NONE: Compensation = Compensation {
        release_stock: false,
        refund: false,
    };
    const RELEASE: Compensation = Compensation {
        release_stock: true,
        refund: false,
    };
    const REFUND: Compensation = Compensation {
        release_stock: false,
        refund: true,
    };
    const BOTH: Compensation = Compensation {
        release_stock: true,
        refund: true,
    };

    fn moves(to: OrderStatus, compensation: Compensation) -> Decision {
        Decision::Move { to, compensation }
    }

    fn invalid(current: OrderStatus, step: Step) -> Decision {
        Decision::Invalid(InvalidTransition { current, step })
    }

    /// The whole table, written out: every status against every step.
    #[test]
    fn every_status_and_step() {
        use Canceller::{Admin, Buyer, PaymentTimeout};
        use Decision::{Unchanged, Undo};
        let buyer = Step::Cancel(Buyer);
        let admin = Step::Cancel(Admin);
        let timeout = Step::Cancel(PaymentTimeout);
        #[rustfmt::skip]
        let table: Vec<(OrderStatus, Step, Decision)> = vec![
            (Pending, Step::StockReserved, moves(Confirmed, NONE)),
            (Pending, Step::StockRejected, moves(Rejected, NONE)),
            (Pending, Step::Paid, invalid(Pending, Step::Paid)),
            (Pending, buyer, invalid(Pending, buyer)),
            (Pending, admin, invalid(Pending, admin)),
            (Pending, timeout, invalid(Pending, timeout)),
            (Pending, Step::Ship, invalid(Pending, Step::Ship)),
            (Pending, Step::Deliver, invalid(Pending, Step::Deliver)),

            (Confirmed, Step::StockReserved, Unchanged),
            (Confirmed, Step::StockRejected, Unchanged),
            (Confirmed, Step::Paid, moves(Paid, NONE)),
            (Confirmed, buyer, moves(Cancelled, RELEASE)),
            (Confirmed, admin, moves(Cancelled, RELEASE)),
            (Confirmed, timeout, moves(Cancelled, RELEASE)),
            (Confirmed, Step::Ship, invalid(Confirmed, Step::Ship)),
            (Confirmed, Step::Deliver, invalid(Confirmed, Step::Deliver)),

            (Rejected, Step::StockReserved, Undo(RELEASE)),
            (Rejected, Step::StockRejected, Unchanged),
            (Rejected, Step::Paid, Undo(REFUND)),
            (Rejected, buyer, invalid(Rejected, buyer)),
            (Rejected, admin, invalid(Rejected, admin)),
            (Rejected, timeout, invalid(Rejected, timeout)),
            (Rejected, Step::Ship, invalid(Rejected, Step::Ship)),
            (Rejected, Step::Deliver, invalid(Rejected, Step::Deliver)),

            (Paid, Step::StockReserved, Unchanged),
            (Paid, Step::StockRejected, Unchanged),
            (Paid, Step::Paid, Unchanged),
            (Paid, buyer, moves(Cancelled, BOTH)),
            (Paid, admin, moves(Cancelled, BOTH)),
            (Paid, timeout, invalid(Paid, timeout)),
            (Paid, Step::Ship, moves(Shipped, NONE)),
            (Paid, Step::Deliver, invalid(Paid, Step::Deliver)),

            (Shipped, Step::StockReserved, Unchanged),
            (Shipped, Step::StockRejected, Unchanged),
            (Shipped, Step::Paid, Unchanged),
            (Shipped, buyer, invalid(Shipped, buyer)),
            (Shipped, admin, moves(Cancelled, REFUND)),
            (Shipped, timeout, invalid(Shipped, timeout)),
            (Shipped, Step::Ship, Unchanged),
            (Shipped, Step::Deliver, moves(Delivered, NONE)),

            (Delivered, Step::StockReserved, Unchanged),
            (Delivered, Step::StockRejected, Unchanged),
            (Delivered, Step::Paid, Unchanged),
            (Delivered, buyer, invalid(Delivered, buyer)),
            (Delivered, admin, invalid(Delivered, admin)),
            (Delivered, timeout, invalid(Delivered, timeout)),
            (Delivered, Step::Ship, invalid(Delivered, Step::Ship)),
            (Delivered, Step::Deliver, Unchanged),

            (Cancelled, Step::StockReserved, Unchanged),
            (Cancelled, Step::StockRejected, Unchanged),
            (Cancelled, Step::Paid, Undo(REFUND)),
            (Cancelled, buyer, Unchanged),
            (Cancelled, admin, Unchanged),
            (Cancelled, timeout, Unchanged),
            (Cancelled, Step::Ship, invalid(Cancelled, Step::Ship)),
            (Cancelled, Step::Deliver, invalid(Cancelled, Step::Deliver)),
        ];
        assert_eq!(
            table.len(),
            OrderStatus::ALL.len() * Step::ALL.len(),
            "the table covers every pair"
        );
        for status in OrderStatus::ALL {
            for step in Step::ALL {
                let expected = table
                    .iter()
                    .find(|(s, t, _)| *s == status && *t == step)
                    .map_or_else(
                        || panic!("{status} × {step:?} is missing from the table"),
                        |(_, _, d)| *d,
                    );
                assert_eq!(decide(status, step), expected, "{status} × {step:?}");
            }
        }
    }

    #[test]
    fn moves_follow_the_design_and_final_states_never_move() {
        let design = [
            (Pending, Confirmed),
            (Pending, Rejected),
            (Confirmed, Paid),
            (Confirmed, Cancelled),
            (Paid, Shipped),
            (Paid, Cancelled),
            (Shipped, Delivered),
            // Issue 18: an admin may still cancel a shipped order (a lost parcel), refunding it.
            (Shipped, Cancelled),
        ];
        for status in OrderStatus::ALL {
            for step in Step::ALL {
                if let Decision::Move { to, .. } = decide(status, step) {
                    assert!(design.contains(&(status, to)), "{status} -> {to}");
                    assert!(!status.is_final(), "{status} is final but moved to {to}");
                }
            }
        }
    }

    #[test]
    fn a_refund_is_asked_exactly_when_money_was_taken() {
        for status in OrderStatus::ALL {
            for step in Step::ALL {
                let refund = match decide(status, step) {
                    Decision::Move { compensation, .. } | Decision::Undo(compensation) => {
                        compensation.refund
                    }
                    _ => false,
                };
                let money_taken = matches!(status, Paid | Shipped)
                    || matches!((status, step), (Rejected | Cancelled, Step::Paid));
                let cancels_or_undoes = matches!(
                    decide(status, step),
                    Decision::Move {
                        to: OrderStatus::Cancelled,
                        ..
                    } | Decision::Undo(_)
                );
                assert_eq!(
                    refund,
                    money_taken && cancels_or_undoes,
                    "{status} × {step:?}"
                );
            }
        }
    }

    #[test]
    fn statuses_round_trip_and_messages_name_the_current_state() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("LOST"), None);
        let refusal = InvalidTransition {
            current: Shipped,
            step: Step::Cancel(Canceller::Buyer),
        };
        assert_eq!(
            refusal.to_string(),
            "the order is SHIPPED; cancelling (as its buyer) is possible only from CONFIRMED or PAID"
        );
    }
}
