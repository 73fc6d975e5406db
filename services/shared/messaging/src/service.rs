//! The messaging side of a service, wired once: the broker connection, its readiness check, and
//! the background tasks every publishing and consuming service runs (one queue consumer, the
//! dead-letter depth watcher, the outbox relay).

use std::future::Future;
use std::pin::Pin;

use microshop_events::Topology;
use prometheus::Registry;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Consumer, Handler};
use crate::dlq::DlqMetrics;
use crate::metrics::MessagingMetrics;
use crate::outbox::Outbox;
use crate::{AmqpConfig, Broker, Publisher};

/// A background task to run beside the HTTP server.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a service consumes and where it publishes.
pub struct Flows<H> {
    /// The queue this service consumes.
    pub consumes: String,
    /// Applies each event from that queue.
    pub handler: H,
    /// The exchange its outbox is published to.
    pub publishes_to: String,
}

/// A service's RabbitMQ: one connection, its topology and its metrics.
pub struct ServiceMessaging {
    broker: Broker,
    config: AmqpConfig,
    topology: Topology,
    dlq_metrics: DlqMetrics,
    metrics: MessagingMetrics,
}

impl ServiceMessaging {
    /// Prepares the connection (opened on first use) and registers the messaging metrics.
    pub fn new(
        service: &'static str,
        config: &AmqpConfig,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        Ok(Self {
            broker: Broker::new(config.url.clone(), service),
            config: config.clone(),
            topology: config.topology(),
            dlq_metrics: DlqMetrics::register(registry)?,
            metrics: MessagingMetrics::register(registry)?,
        })
    }

    /// The exchanges and queues, with this configuration's prefix.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A readiness check for `microshop_web::Health` that reports the broker's state.
    pub fn readiness_check(
        &self,
    ) -> impl Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync + 'static
    {
        let broker = self.broker.clone();
        move || {
            let broker = broker.clone();
            Box::pin(async move { broker.check() })
        }
    }

    /// The tasks to run until `shutdown`: the consumer (unless `AMQP_CONSUME=false`), the DLQ
    /// depth and outbox backlog watchers, and the relay of `outbox`.
    pub fn tasks<H: Handler>(
        self,
        outbox: &Outbox,
        flows: Flows<H>,
        shutdown: &CancellationToken,
    ) -> Vec<Task> {
        let Self {
            broker,
            config,
            topology,
            dlq_metrics,
            metrics,
        } = self;
        let mut tasks: Vec<Task> = Vec::with_capacity(4);
        let dlq = Topology::dlq_of(&flows.consumes);
        if config.consume {
            let consumer = Consumer {
                broker: broker.clone(),
                topology: topology.clone(),
                counters: metrics.consumed(&flows.consumes),
                queue: flows.consumes,
                prefetch: config.prefetch,
                outbox: outbox.clone(),
                handler: flows.handler,
            };
            tasks.push(Box::pin(consumer.run(shutdown.clone())));
        }
        tasks.push(Box::pin(dlq_metrics.watch(
            broker.clone(),
            vec![dlq],
            shutdown.clone(),
        )));
        tasks.push(Box::pin(
            metrics
                .clone()
                .watch_outbox(outbox.clone(), shutdown.clone()),
        ));
        let publisher = Publisher::new(broker, flows.publishes_to).declaring(topology);
        let relay = outbox.relay(publisher, &metrics);
        tasks.push(Box::pin(relay.run(shutdown.clone())));
        tasks
    }
}
