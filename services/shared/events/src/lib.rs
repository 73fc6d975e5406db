//! Microshop's events and RabbitMQ topology, defined once (DESIGN §5). The services publish and
//! consume these types; the services and the operator declare the same [`Topology`].
//!
//! Nothing here talks to a broker: this crate is data only, so any AMQP client can use it.

mod envelope;
mod notifications;
mod orders;
mod payments;
mod topology;

pub use envelope::{
    Envelope, Event, InventoryLowStock, ProductStockUpdated, ProductUpdated, UserRegistered,
    UserUpdated,
};
pub use notifications::NotificationRequested;
pub use orders::{
    OrderCancelled, OrderConfirmed, OrderCreated, OrderDelivered, OrderItem, OrderLine, OrderPaid,
    OrderRejected, OrderShipped, ShortLine, StockLine, StockRejected, StockReleased, StockReserved,
};
pub use payments::{PaymentFailed, PaymentRefunded, PaymentSucceeded};
pub use topology::{Exchange, ExchangeKind, Queue, Topology};
