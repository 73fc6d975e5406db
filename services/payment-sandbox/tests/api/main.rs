//! API tests of the payment sandbox over real HTTP: each test runs its own sandbox on a free
//! port and its own webhook receiver on another.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod checkout;
mod helpers;
mod refunds;
mod sessions;
mod webhooks;
