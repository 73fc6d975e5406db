//! Exchanges, queues and bindings (DESIGN §5), as data.
//!
//! ```text
//! order.events (fanout)   ──▶ product.order-events  ──(dead letters)──▶ microshop.dlx ──▶ product.order-events.dlq
//! product.events (fanout) ──▶ order.product-events  ──(dead letters)──▶ microshop.dlx ──▶ order.product-events.dlq
//! user.events (fanout)    ──▶ notification.user-events ─(dead letters)─▶ microshop.dlx ──▶ notification.user-events.dlq
//! payment.events (fanout) ──▶ order.payment-events  ──(dead letters)──▶ microshop.dlx ──▶ order.payment-events.dlq
//! order.events (fanout)   ──▶ payment.order-events  ──(dead letters)──▶ microshop.dlx ──▶ payment.order-events.dlq
//! order.events, payment.events, product.events ──▶ notification.<producer>-events (each with its .dlq)
//! notification.tasks (fanout) ──▶ notification.tasks ──(dead letters)──▶ microshop.dlx ──▶ notification.tasks.dlq
//! ```
//!
//! `notification.tasks` is the notification service's own work queue: its outbox publishes one
//! `notification.requested` per notification to send, and its sender consumes them.
//!
//! `notification.user-events` is declared before its consumer (the notification service) exists,
//! so that the user service's `mandatory` publishes are routable and its events wait there.
//!
//! Every name can carry a prefix, so that tests (and shops sharing one broker vhost) never see
//! each other's messages. Production uses no prefix.

/// Times a message may be delivered before the broker dead-letters it (a crash loop).
pub const DELIVERY_LIMIT: i64 = 5;

/// How an exchange routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    /// To every bound queue.
    Fanout,
    /// To queues bound with the message's routing key.
    Direct,
}

/// A durable exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Full name, prefix included.
    pub name: String,
    /// Routing.
    pub kind: ExchangeKind,
}

/// A durable quorum queue, bound to one exchange, dead-lettering to the DLX; or a DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Full name, prefix included.
    pub name: String,
    /// The exchange it is bound to.
    pub bound_to: String,
    /// Binding key (empty for fanout).
    pub routing_key: String,
    /// Where rejected or crash-looping messages go (`None` for a DLQ itself).
    pub dead_letter_exchange: Option<String>,
    /// `x-delivery-limit` (`None` for a DLQ: it keeps whatever arrives).
    pub delivery_limit: Option<i64>,
    /// `x-expires`: only for temporary (test) topologies, which vanish when left unused.
    pub expires_ms: Option<i64>,
    /// A quorum queue (replicated, with a delivery limit). A temporary topology's DLQs are
    /// classic queues: they only hold what arrives, and every quorum queue a test creates and
    /// deletes is a Raft group the broker starts and stops.
    pub quorum: bool,
}

/// How long an unused temporary queue lives before the broker deletes it.
const TEMPORARY_QUEUE_EXPIRY_MS: i64 = 2 * 60 * 1000;

/// The whole topology under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
    temporary: bool,
}

impl Topology {
    /// The production names.
    pub fn new() -> Self {
        Self::with_prefix("")
    }

    /// Every name starts with `prefix` (e.g. `"test-4f2a."`).
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            temporary: false,
        }
    }

    /// A prefixed topology that cleans itself up: its queues expire after two unused minutes
    /// and its exchanges go with their last binding. For tests, which may die before cleanup
    /// (each quorum queue holds broker file descriptors, so leftovers must not pile up). Two
    /// minutes outlast the longest pause a test makes on purpose (65 s without consumers).
    pub fn temporary(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            temporary: true,
        }
    }

    /// The prefix of every name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether this topology deletes itself when unused.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    fn name(&self, base: &str) -> String {
        format!("{}{base}", self.prefix)
    }

    /// Where the order service publishes (`order.events`).
    pub fn order_events(&self) -> String {
        self.name("order.events")
    }

    /// Where the product service publishes (`product.events`).
    pub fn product_events(&self) -> String {
        self.name("product.events")
    }

    /// Where the user service publishes (`user.events`).
    pub fn user_events(&self) -> String {
        self.name("user.events")
    }

    /// Where the payment service publishes (`payment.events`).
    pub fn payment_events(&self) -> String {
        self.name("payment.events")
    }

    /// Where the notification service publishes its sender's tasks (`notification.tasks`).
    pub fn notification_tasks_exchange(&self) -> String {
        self.name("notification.tasks")
    }

    /// The dead-letter exchange (`microshop.dlx`).
    pub fn dead_letters(&self) -> String {
        self.name("microshop.dlx")
    }

    /// The product service consumes order events here (`product.order-events`).
    pub fn product_order_events(&self) -> String {
        self.name("product.order-events")
    }

    /// The order service consumes product events here (`order.product-events`).
    pub fn order_product_events(&self) -> String {
        self.name("order.product-events")
    }

    /// The order service consumes payment events here (`order.payment-events`).
    pub fn order_payment_events(&self) -> String {
        self.name("order.payment-events")
    }

    /// The payment service consumes order events here (`payment.order-events`: refunds asked
    /// by `order.cancelled`).
    pub fn payment_order_events(&self) -> String {
        self.name("payment.order-events")
    }

    /// The notification service consumes user events here (`notification.user-events`).
    pub fn notification_user_events(&self) -> String {
        self.name("notification.user-events")
    }

    /// The notification service consumes order events here (`notification.order-events`).
    pub fn notification_order_events(&self) -> String {
        self.name("notification.order-events")
    }

    /// The notification service consumes payment events here (`notification.payment-events`).
    pub fn notification_payment_events(&self) -> String {
        self.name("notification.payment-events")
    }

    /// The notification service consumes product events here (`notification.product-events`:
    /// low stock).
    pub fn notification_product_events(&self) -> String {
        self.name("notification.product-events")
    }

    /// The notification service's sender takes its tasks here (`notification.tasks`).
    pub fn notification_tasks(&self) -> String {
        self.name("notification.tasks")
    }

    /// The DLQ of `queue`.
    pub fn dlq_of(queue: &str) -> String {
        format!("{queue}.dlq")
    }

    /// All exchanges, to declare before the queues.
    pub fn exchanges(&self) -> Vec<Exchange> {
        vec![
            Exchange {
                name: self.order_events(),
                kind: ExchangeKind::Fanout,
            },
            Exchange {
                name: self.product_events(),
                kind: ExchangeKind::Fanout,
            },
            Exchange {
                name: self.user_events(),
                kind: ExchangeKind::Fanout,
            },
            Exchange {
                name: self.payment_events(),
                kind: ExchangeKind::Fanout,
            },
            Exchange {
                name: self.notification_tasks_exchange(),
                kind: ExchangeKind::Fanout,
            },
            Exchange {
                name: self.dead_letters(),
                kind: ExchangeKind::Direct,
            },
        ]
    }

    /// All queues with their bindings: each work queue, then its DLQ.
    pub fn queues(&self) -> Vec<Queue> {
        let work = [
            (self.product_order_events(), self.order_events()),
            (self.order_product_events(), self.product_events()),
            (self.notification_user_events(), self.user_events()),
            (self.order_payment_events(), self.payment_events()),
            (self.payment_order_events(), self.order_events()),
            (self.notification_order_events(), self.order_events()),
            (self.notification_payment_events(), self.payment_events()),
            (self.notification_product_events(), self.product_events()),
            (
                self.notification_tasks(),
                self.notification_tasks_exchange(),
            ),
        ];
        let expires_ms = self.temporary.then_some(TEMPORARY_QUEUE_EXPIRY_MS);
        work.into_iter()
            .flat_map(|(queue, exchange)| {
                let dlq = Queue {
                    name: Self::dlq_of(&queue),
                    bound_to: self.dead_letters(),
                    routing_key: queue.clone(),
                    dead_letter_exchange: None,
                    delivery_limit: None,
                    expires_ms,
                    quorum: !self.temporary,
                };
                let work = Queue {
                    name: queue,
                    bound_to: exchange,
                    routing_key: String::new(),
                    dead_letter_exchange: Some(self.dead_letters()),
                    delivery_limit: Some(DELIVERY_LIMIT),
                    expires_ms,
                    quorum: true,
                };
                [work, dlq]
            })
            .collect()
    }
}

impl Default for Topology {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_names_match_the_design() {
        let topology = Topology::new();
        let names: Vec<_> = topology.queues().into_iter().map(|q| q.name).collect();
        assert_eq!(
            names,
            [
                "product.order-events",
                "product.order-events.dlq",
                "order.product-events",
                "order.product-events.dlq",
                "notification.user-events",
                "notification.user-events.dlq",
                "order.payment-events",
                "order.payment-events.dlq",
                "payment.order-events",
                "payment.order-events.dlq",
                "notification.order-events",
                "notification.order-events.dlq",
                "notification.payment-events",
                "notification.payment-events.dlq",
                "notification.product-events",
                "notification.product-events.dlq",
                "notification.tasks",
                "notification.tasks.dlq"
            ]
        );
        let exchanges: Vec<_> = topology
            .exchanges()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            exchanges,
            [
                ("order.events".to_owned(), ExchangeKind::Fanout),
                ("product.events".to_owned(), ExchangeKind::Fanout),
                ("user.events".to_owned(), ExchangeKind::Fanout),
                ("payment.events".to_owned(), ExchangeKind::Fanout),
                ("notification.tasks".to_owned(), ExchangeKind::Fanout),
                ("microshop.dlx".to_owned(), ExchangeKind::Direct)
            ]
        );
    }

    #[test]
    fn user_events_wait_for_the_notification_service() {
        let topology = Topology::with_prefix("t1.");
        let queue = topology
            .queues()
            .into_iter()
            .find(|q| q.name == "t1.notification.user-events")
            .expect("the notification service's queue of user events is declared");
        assert_eq!(queue.bound_to, topology.user_events());
        assert_eq!(queue.bound_to, "t1.user.events");
        assert_eq!(
            queue.dead_letter_exchange.as_deref(),
            Some("t1.microshop.dlx")
        );
    }

    #[test]
    fn every_work_queue_dead_letters_to_its_own_dlq() {
        let topology = Topology::with_prefix("t1.");
        let queues = topology.queues();
        for work in queues.iter().filter(|q| q.dead_letter_exchange.is_some()) {
            let dlq = queues
                .iter()
                .find(|q| q.name == Topology::dlq_of(&work.name))
                .expect("every work queue has a DLQ");
            assert_eq!(dlq.bound_to, "t1.microshop.dlx");
            assert_eq!(dlq.routing_key, work.name);
            assert!(work.name.starts_with("t1."));
        }
    }
}
