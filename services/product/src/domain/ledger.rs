//! The reservations of the orders a run of order events names, worked on in memory beside the
//! [`Shelf`](super::shelf::Shelf): a reservation is made once, given back once, and a
//! cancellation that comes first leaves a mark that forbids it. What changed is written at the
//! end: the new reservations, and the stored ones that were given back.

use std::collections::HashMap;

use super::reservation::{Line, ReservationState};

/// An order's reservation: where it stands and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Where it stands.
    pub state: ReservationState,
    /// One per product.
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone)]
struct Entry {
    reservation: Reservation,
    /// Its state in the database; `None` for a reservation made in this run.
    stored: Option<ReservationState>,
}

/// The reservations of a run's orders: those stored, and those the run makes.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: HashMap<i64, Entry>,
}

impl Ledger {
    /// A ledger of the `stored` reservations, by order id.
    pub fn new(stored: impl IntoIterator<Item = (i64, Reservation)>) -> Self {
        let entries = stored
            .into_iter()
            .map(|(order_id, reservation)| {
                let stored = Some(reservation.state);
                (
                    order_id,
                    Entry {
                        reservation,
                        stored,
                    },
                )
            })
            .collect();
        Self { entries }
    }

    /// The reservation of `order_id`, if it has one.
    pub fn get(&self, order_id: i64) -> Option<&Reservation> {
        self.entries.get(&order_id).map(|e| &e.reservation)
    }

    /// Records that `lines` are now held for `order_id`, which has no reservation yet.
    pub fn hold(&mut self, order_id: i64, lines: Vec<Line>) {
        self.add(order_id, ReservationState::Held, lines);
    }

    /// Records that `order_id`, which has no reservation yet, was cancelled: it is never
    /// reserved afterwards.
    pub fn forbid(&mut self, order_id: i64, lines: Vec<Line>) {
        self.add(order_id, ReservationState::Cancelled, lines);
    }

    fn add(&mut self, order_id: i64, state: ReservationState, lines: Vec<Line>) {
        let previous = self.entries.insert(
            order_id,
            Entry {
                reservation: Reservation { state, lines },
                stored: None,
            },
        );
        debug_assert!(previous.is_none(), "order {order_id} had a reservation");
    }

    /// Gives the reservation of `order_id` back if it is held: its lines, to return to stock.
    /// `None` when nothing is held (none, or given back, cancelled or shipped already).
    pub fn release(&mut self, order_id: i64) -> Option<Vec<Line>> {
        let entry = self.entries.get_mut(&order_id)?;
        if entry.reservation.state != ReservationState::Held {
            return None;
        }
        entry.reservation.state = ReservationState::Released;
        Some(entry.reservation.lines.clone())
    }

    /// The reservations made in this run, by order id, in their state now.
    pub fn made(&self) -> Vec<(i64, &Reservation)> {
        let mut made: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, e)| e.stored.is_none())
            .map(|(&order_id, e)| (order_id, &e.reservation))
            .collect();
        made.sort_unstable_by_key(|(order_id, _)| *order_id);
        made
    }

    /// The stored reservations this run gave back (held before, released now), by order id.
    pub fn released(&self) -> Vec<i64> {
        let mut released: Vec<i64> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.stored == Some(ReservationState::Held)
                    && e.reservation.state == ReservationState::Released
            })
            .map(|(&order_id, _)| order_id)
            .collect();
        released.sort_unstable();
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(product_id: i64, quantity: i64) -> Reservation {
        Reservation {
            state: ReservationState::Held,
            lines: vec![Line {
                product_id,
                quantity,
            }],
        }
    }

    #[test]
    fn a_reservation_is_given_back_once_and_only_what_changed_is_written() {
        let fulfilled = Reservation {
            state: ReservationState::Fulfilled,
            ..held(3, 1)
        };
        let mut ledger = Ledger::new([(1, held(7, 2)), (2, fulfilled)]);
        assert_eq!(ledger.release(1).unwrap()[0].quantity, 2);
        assert_eq!(ledger.release(1), None, "given back once");
        assert_eq!(ledger.release(2), None, "shipped units stay shipped");
        assert_eq!(ledger.release(9), None, "nothing held");

        ledger.hold(5, held(7, 1).lines);
        ledger.forbid(4, Vec::new());
        ledger.hold(6, held(7, 1).lines);
        assert!(ledger.release(6).is_some());

        let made: Vec<_> = ledger
            .made()
            .into_iter()
            .map(|(order_id, r)| (order_id, r.state))
            .collect();
        assert_eq!(
            made,
            [
                (4, ReservationState::Cancelled),
                (5, ReservationState::Held),
                (6, ReservationState::Released),
            ]
        );
        assert_eq!(ledger.released(), [1]);
        assert_eq!(
            ledger.get(4).map(|r| r.state),
            Some(ReservationState::Cancelled)
        );
    }
}
