//! Order rules, free of HTTP and SQL: what an order is made of ([`order`]), how it moves
//! through its life ([`lifecycle`]) and what people type when moving it ([`shipment`]).

pub mod lifecycle;
pub mod order;
pub mod shipment;

pub use lifecycle::{
    Actor, Canceller, Compensation, Decision, InvalidTransition, OrderStatus, Step,
};
pub use order::{
    IDEMPOTENCY_KEY_PATTERN, IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS, MAX_LINES, MAX_QUANTITY,
    MIN_QUANTITY, NewLine, NewOrder, OrderRequestError,
};
