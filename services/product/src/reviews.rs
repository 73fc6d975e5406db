//! Posting, editing and deleting reviews, with exact rating totals on the product.
