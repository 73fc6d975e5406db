//! The payment service's rules, free of HTTP and SQL: a payment's states and the only moves
//! between them ([`payment`]), what may be refunded ([`refund`]), and the provider's events as
//! the webhook delivers them ([`provider_event`]).

pub mod payment;
pub mod provider_event;
pub mod refund;

pub use payment::{Outcome, PaymentStatus};
pub use provider_event::{ProviderEvent, ProviderEventKind};
pub use refund::{RefundRefusal, RefundStatus, refundable};
