//! The notification service's rules, free of HTTP and SQL: channels, categories and states of a
//! notification ([`notification`]), and what each message says ([`message`]).

pub mod message;
pub mod notification;

pub use message::{Message, Rendered};
pub use notification::{Category, Channel, Status, retry_delay};
