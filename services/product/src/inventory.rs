//! The inventory API's write protocols: restock, thresholds, deduct and restore by reference,
//! and the bookkeeping every stock change shares (`product.stock.updated`, `inventory.low_stock`).
