//! The steps of a pass: databases, messaging, workloads; and the cleanup on deletion.

pub mod admin_secrets;
pub mod cleanup;
pub mod databases;
pub mod keys;
pub mod messaging;
pub mod workloads;
