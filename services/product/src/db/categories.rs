//! The `categories` table.
