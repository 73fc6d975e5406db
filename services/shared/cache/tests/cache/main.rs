//! `microshop-cache` against the real Redis (127.0.0.1:6379), and cut off from it through a
//! proxy the test owns. Every test uses its own key prefix and deletes its keys at the end.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod freshness;
mod helpers;
mod outage;
mod reads;
