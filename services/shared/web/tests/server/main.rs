//! The HTTP server as clients meet it, over real TCP on loopback: slow and idle clients, the
//! connection cap, the shutdown of a rolling update, readiness under a flood of probes, request
//! deadlines and commits, supervised background tasks.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod deadline;
mod front_door;
mod shutdown;
mod support;
mod tasks;
