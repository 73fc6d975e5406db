//! API tests of the product service: each test gets a fresh real database (`#[sqlx::test]`) and
//! drives the service over HTTP on a free port.
//!
//! Test names are unique across the workspace: `#[sqlx::test]` names its database after the
//! test's path, and every service's test binary is called `api`, so two services' tests of the
//! same name running at once would collide on one database.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod cache;
mod categories;
mod crash;
mod faults;
mod helpers;
mod internal;
mod invalid_input;
mod inventory;
mod manage;
mod products;
mod reviews;
mod saga;
mod search;
