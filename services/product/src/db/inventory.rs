//! Stock moves of the inventory API (`inventory_moves`) and the stock columns they change.
