//! Keeping the read model of products ([`crate::catalog`]) up to date with the product
//! service's events, inside the consumer's transaction: `product.updated` (create, edit,
//! archive) applies only when its version is newer than the stored one; `product.stock.updated`
//! sets the stock of a product the table knows and never inserts one (the next lookup of an
//! unknown product fetches it whole). A batch is coalesced first (per product: the newest edit,
//! the last stock) and applied in one statement.

use std::collections::HashMap;

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Rejected, event_span};
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::products::{self, Edited, Stocked};

/// Whether `event` is a product change this use case applies.
pub fn is_product_change(event: &Event) -> bool {
    matches!(
        event,
        Event::ProductUpdated(_) | Event::ProductStockUpdated(_)
    )
}

/// Applies the product changes among `events` inside `tx` and returns the events refused as
/// impossible (a price or stock out of range: a bug upstream, dead-lettered, the rest applied).
pub async fn apply(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Vec<Rejected>, sqlx::Error> {
    let (changes, rejected) = coalesce(events);
    if changes.edited.is_empty() && changes.stocked.is_empty() {
        return Ok(rejected);
    }
    let rows = products::apply_changes(tx, &changes.edited, &changes.stocked).await?;
    tracing::debug!(
        edited = changes.edited.len(),
        stocked = changes.stocked.len(),
        rows,
        "product read model updated"
    );
    Ok(rejected)
}

/// A batch's changes, at most one of each kind per product, ordered by product id (rows are
/// locked in id order, so replicas applying overlapping batches cannot deadlock).
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    edited: Vec<Edited>,
    stocked: Vec<Stocked>,
}

/// Per product the edit with the highest version and the stock of the last stock event;
/// events whose values the table cannot hold are refused.
fn coalesce(events: &[Envelope]) -> (Changes, Vec<Rejected>) {
    let mut edited: HashMap<i64, Edited> = HashMap::new();
    let mut stocked: HashMap<i64, Stocked> = HashMap::new();
    let mut rejected = Vec::new();
    for envelope in events {
        match &envelope.event {
            Event::ProductUpdated(update) => {
                if update.price_cents <= 0 {
                    rejected.push(refused(envelope, "its price is not positive"));
                    continue;
                }
                let edit = Edited {
                    id: update.product_id,
                    version: update.version,
                    name: update.name.clone(),
                    price_cents: update.price_cents,
                    archived: update.archived,
                };
                match edited.get(&edit.id) {
                    Some(kept) if kept.version >= edit.version => {}
                    _ => {
                        edited.insert(edit.id, edit);
                    }
                }
            }
            Event::ProductStockUpdated(update) => {
                if update.stock < 0 {
                    rejected.push(refused(envelope, "its stock is negative"));
                    continue;
                }
                // Stock events carry no version: the last one of the queue is the latest.
                stocked.insert(
                    update.product_id,
                    Stocked {
                        id: update.product_id,
                        stock: update.stock,
                    },
                );
            }
            _ => {}
        }
    }
    let mut changes = Changes {
        edited: edited.into_values().collect(),
        stocked: stocked.into_values().collect(),
    };
    changes.edited.sort_unstable_by_key(|e| e.id);
    changes.stocked.sort_unstable_by_key(|s| s.id);
    (changes, rejected)
}

/// Refuses `envelope` (dead-lettered, the rest of its batch applied), logged in its span.
fn refused(envelope: &Envelope, why: &str) -> Rejected {
    let reason = format!("{} {why}", envelope.event.type_name());
    event_span(envelope).in_scope(|| tracing::warn!(%reason, "product event refused"));
    Rejected {
        event_id: envelope.id,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use microshop_events::{ProductStockUpdated, ProductUpdated};

    use super::*;

    fn updated(product_id: i64, version: i64, price_cents: i64) -> Envelope {
        Envelope::new(Event::ProductUpdated(ProductUpdated {
            product_id,
            version,
            name: format!("v{version}"),
            price_cents,
            category_id: None,
            archived: false,
        }))
    }

    fn stock(product_id: i64, stock: i64) -> Envelope {
        Envelope::new(Event::ProductStockUpdated(ProductStockUpdated {
            product_id,
            stock,
            delta: 0,
            cause: "set".to_owned(),
        }))
    }

    #[test]
    fn a_batch_keeps_the_newest_edit_and_the_last_stock_of_each_product() {
        let events = [
            updated(7, 3, 100),
            stock(7, 5),
            updated(7, 2, 200),
            updated(3, 1, 300),
            stock(7, 4),
            stock(9, 1),
        ];
        let (changes, rejected) = coalesce(&events);
        assert!(rejected.is_empty());
        let edits: Vec<(i64, i64, &str)> = changes
            .edited
            .iter()
            .map(|e| (e.id, e.version, e.name.as_str()))
            .collect();
        assert_eq!(edits, [(3, 1, "v1"), (7, 3, "v3")]);
        assert_eq!(
            changes.stocked,
            [Stocked { id: 7, stock: 4 }, Stocked { id: 9, stock: 1 }]
        );
    }

    #[test]
    fn values_the_table_cannot_hold_are_refused_and_the_rest_kept() {
        let events = [updated(1, 1, 0), stock(2, -1), updated(3, 1, 5)];
        let (changes, rejected) = coalesce(&events);
        assert_eq!(
            rejected.iter().map(|r| r.event_id).collect::<Vec<_>>(),
            [events[0].id, events[1].id]
        );
        assert_eq!(changes.edited.len(), 1);
        assert!(changes.stocked.is_empty());
    }

    #[test]
    fn only_product_changes_are_handled() {
        assert!(is_product_change(&updated(1, 1, 1).event));
        assert!(is_product_change(&stock(1, 1).event));
        let low = Event::InventoryLowStock(microshop_events::InventoryLowStock {
            product_id: 1,
            stock: 0,
            threshold: 1,
        });
        assert!(!is_product_change(&low));
    }
}
