//! The steps of a pass: databases, messaging, the generated Secrets (token keys, first admin,
//! service keys, the sandbox's provider keys, the storefront's key), the Redis URL and the SMTP
//! settings, workloads and the Ingress; and the cleanup on deletion.

pub mod admin_account;
pub mod admin_secrets;
pub mod cleanup;
pub mod databases;
pub mod generated;
pub mod keys;
pub mod messaging;
pub mod payment_provider;
pub mod redis;
pub mod service_keys;
pub mod smtp;
pub mod storefront;
pub mod workloads;
