//! The `reviews` and `purchases` tables.
