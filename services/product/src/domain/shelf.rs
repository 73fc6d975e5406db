//! The stock of the products a consumer batch locked, worked on in memory: an order takes all
//! its lines or none, a cancellation gives its lines back, and what changed is written at the
//! end as one delta per product. The rows stay locked meanwhile, so what the shelf says is what
//! the database has.

use std::collections::HashMap;

use super::inventory::{Cause, StockChange};
use super::reservation::{Line, ShortLine, Shortfall};

/// A product as its locked row shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The product.
    pub product_id: i64,
    /// Units available.
    pub stock: i64,
    /// Archived: no longer sold (its stock can still come back).
    pub archived: bool,
}

/// A line taken or given back, and its product's units afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStock {
    /// The product.
    pub product_id: i64,
    /// Units taken or given back.
    pub quantity: i64,
    /// Units available afterwards; `None` when the product does not exist (any more).
    pub remaining: Option<i64>,
}

impl LineStock {
    /// What taking (`cause` [`Cause::Order`]) or giving back ([`Cause::Release`]) this line did
    /// to its product's stock; `None` when the product does not exist.
    pub fn change(&self, cause: Cause) -> Option<StockChange> {
        let delta = match cause {
            Cause::Order | Cause::Deduct => -self.quantity,
            Cause::Release | Cause::Restore | Cause::Set => self.quantity,
        };
        Some(StockChange {
            product_id: self.product_id,
            stock_after: self.remaining?,
            delta,
            cause,
        })
    }
}

/// A product whose stock the shelf changed since it was last written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    /// The product.
    pub product_id: i64,
    /// Units taken (negative: more came back than were taken).
    pub taken: i64,
    /// Units available afterwards.
    pub stock_after: i64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    stock: i64,
    archived: bool,
    /// The stock as the database has it (locked, or written by this batch).
    written: i64,
}

/// The locked products of a batch. Products it was not given do not exist.
#[derive(Debug, Clone, Default)]
pub struct Shelf {
    products: HashMap<i64, Slot>,
}

impl Shelf {
    /// A shelf of `products`, as their locked rows show them.
    pub fn new(products: impl IntoIterator<Item = Standing>) -> Self {
        let mut shelf = Self::default();
        shelf.extend(products);
        shelf
    }

    /// Adds products locked later (a product already on the shelf keeps its slot).
    pub fn extend(&mut self, products: impl IntoIterator<Item = Standing>) {
        for p in products {
            self.products.entry(p.product_id).or_insert(Slot {
                stock: p.stock,
                archived: p.archived,
                written: p.stock,
            });
        }
    }

    /// Whether `product_id` was locked (and exists).
    pub fn holds(&self, product_id: i64) -> bool {
        self.products.contains_key(&product_id)
    }

    /// Units of `product_id` available now, or `None` when there is no such product.
    pub fn stock(&self, product_id: i64) -> Option<i64> {
        self.products.get(&product_id).map(|slot| slot.stock)
    }

    /// Takes every one of `lines` (merged: one per product), or none of them: the short lines,
    /// each with its reason (none: the order has no lines).
    pub fn take(&mut self, lines: &[Line]) -> Result<Vec<LineStock>, Vec<ShortLine>> {
        if lines.is_empty() {
            return Err(Vec::new());
        }
        let short: Vec<ShortLine> = lines.iter().filter_map(|l| self.short(l)).collect();
        if !short.is_empty() {
            return Err(short);
        }
        Ok(lines
            .iter()
            .map(|line| {
                let slot = self
                    .products
                    .get_mut(&line.product_id)
                    .expect("every line's product is on the shelf: no line is short");
                slot.stock -= line.quantity;
                LineStock {
                    product_id: line.product_id,
                    quantity: line.quantity,
                    remaining: Some(slot.stock),
                }
            })
            .collect())
    }

    /// Why `line` cannot be served now, if it cannot.
    fn short(&self, line: &Line) -> Option<ShortLine> {
        let slot = self.products.get(&line.product_id);
        let shortfall = match slot {
            _ if line.quantity < 1 => Shortfall::BadQuantity,
            None => Shortfall::NoSuchProduct,
            Some(slot) if slot.archived => Shortfall::NoLongerSold,
            Some(slot) if slot.stock < line.quantity => Shortfall::TooFew,
            Some(_) => return None,
        };
        let available = match (slot, shortfall) {
            (Some(slot), Shortfall::BadQuantity | Shortfall::TooFew) => slot.stock,
            _ => 0,
        };
        Some(ShortLine {
            product_id: line.product_id,
            requested: line.quantity,
            available,
            shortfall,
        })
    }

    /// Gives `lines` back; a product that does not exist any more gets nothing.
    pub fn give_back(&mut self, lines: &[Line]) -> Vec<LineStock> {
        lines
            .iter()
            .map(|line| {
                let remaining = self.products.get_mut(&line.product_id).map(|slot| {
                    slot.stock += line.quantity;
                    slot.stock
                });
                LineStock {
                    product_id: line.product_id,
                    quantity: line.quantity,
                    remaining,
                }
            })
            .collect()
    }

    /// The products changed since the last [`Shelf::written`], by id.
    pub fn unwritten(&self) -> Vec<Delta> {
        let mut deltas: Vec<Delta> = self
            .products
            .iter()
            .filter(|(_, slot)| slot.stock != slot.written)
            .map(|(&product_id, slot)| Delta {
                product_id,
                taken: slot.written - slot.stock,
                stock_after: slot.stock,
            })
            .collect();
        deltas.sort_unstable_by_key(|d| d.product_id);
        deltas
    }

    /// The database now has every change.
    pub fn written(&mut self) {
        for slot in self.products.values_mut() {
            slot.written = slot.stock;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(product_id: i64, stock: i64, archived: bool) -> Standing {
        Standing {
            product_id,
            stock,
            archived,
        }
    }

    fn line(product_id: i64, quantity: i64) -> Line {
        Line {
            product_id,
            quantity,
        }
    }

    fn shelf() -> Shelf {
        Shelf::new([
            standing(1, 5, false),
            standing(2, 1, false),
            standing(3, 9, true),
        ])
    }

    #[test]
    fn an_order_takes_every_line_or_none() {
        let mut shelf = shelf();
        let short = shelf
            .take(&[line(1, 2), line(2, 3), line(3, 1), line(4, 1), line(1, 0)])
            .unwrap_err();
        let why: Vec<_> = short
            .iter()
            .map(|s| (s.product_id, s.available, s.shortfall))
            .collect();
        assert_eq!(
            why,
            [
                (2, 1, Shortfall::TooFew),
                (3, 0, Shortfall::NoLongerSold),
                (4, 0, Shortfall::NoSuchProduct),
                (1, 5, Shortfall::BadQuantity),
            ]
        );
        assert!(shelf.unwritten().is_empty(), "nothing was taken");
        assert_eq!(
            shelf.take(&[]),
            Err(Vec::new()),
            "no lines: nothing to serve"
        );

        let taken = shelf.take(&[line(1, 2), line(2, 1)]).unwrap();
        assert_eq!(
            taken.iter().map(|t| t.remaining).collect::<Vec<_>>(),
            [Some(3), Some(0)]
        );
        assert_eq!(shelf.stock(2), Some(0));
    }

    #[test]
    fn units_given_back_can_be_taken_again_and_the_deltas_sum_up() {
        let mut shelf = shelf();
        shelf.take(&[line(1, 5)]).unwrap();
        assert!(shelf.take(&[line(1, 1)]).is_err());
        let back = shelf.give_back(&[line(1, 2), line(3, 1), line(8, 1)]);
        assert_eq!(
            back.iter().map(|b| b.remaining).collect::<Vec<_>>(),
            [Some(2), Some(10), None]
        );
        shelf.take(&[line(1, 1)]).unwrap();
        assert_eq!(
            shelf.unwritten(),
            [
                Delta {
                    product_id: 1,
                    taken: 4,
                    stock_after: 1
                },
                Delta {
                    product_id: 3,
                    taken: -1,
                    stock_after: 10
                },
            ]
        );
        shelf.written();
        assert!(shelf.unwritten().is_empty());
        assert!(shelf.holds(3) && !shelf.holds(8));
    }
}
