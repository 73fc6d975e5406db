//! Microshop's events and RabbitMQ topology, defined once (DESIGN §5). The services publish and
//! consume these types; the services and the operator declare the same [`Topology`].
//!
//! Nothing here talks to a broker: this crate is data only, so any AMQP client can use it.

mod envelope;
mod topology;

pub use envelope::{
    Envelope, Event, InventoryLowStock, OrderCancelled, OrderCreated, OrderDelivered, OrderLine,
    OrderShipped, ProductStockUpdated, ProductUpdated, StockRejected, StockReleased, StockReserved,
    UserRegistered, UserUpdated,
};
pub use topology::{Exchange, ExchangeKind, Queue, Topology};
