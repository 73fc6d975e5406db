//! The messaging side of a service, wired once: the broker connection, its readiness check, and
//! the background tasks every publishing and consuming service runs (one queue consumer, the
//! dead-letter depth watcher, the outbox relay), or a publish-only service runs (the relay).

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

/// Starts a background task; called again to restart it after a panic.
pub type TaskFactory = Box<dyn Fn() -> Task + Send + Sync>;

/// What a service consumes and where it publishes.
pub struct Flows<H> {
    /// The queues this service consumes, each with its own consumer.
    pub consumes: Vec<String>,
    /// Applies each event from those queues.
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

    /// The tasks to run until `shutdown`, by name: a consumer per queue (unless `AMQP_CONSUME=false`),
    /// the DLQ depth watcher, and the [`publish_tasks`](Self::publish_tasks) of `outbox`.
    pub fn tasks<H: Handler + Clone>(
        self,
        outbox: &Outbox,
        flows: Flows<H>,
        shutdown: &CancellationToken,
    ) -> Vec<(&'static str, TaskFactory)> {
        let mut tasks: Vec<(&'static str, TaskFactory)> = Vec::with_capacity(4);
        let dlqs: Vec<String> = flows.consumes.iter().map(|q| Topology::dlq_of(q)).collect();
        if self.config.consume {
            for queue in flows.consumes {
                let consumer = Consumer {
                    broker: self.broker.clone(),
                    topology: self.topology.clone(),
                    counters: self.metrics.consumed(&queue),
                    queue,
                    prefetch: self.config.prefetch,
                    outbox: outbox.clone(),
                    handler: flows.handler.clone(),
                };
                let stop = shutdown.clone();
                tasks.push((
                    "consumer",
                    Box::new(move || Box::pin(consumer.clone().run(stop.clone()))),
                ));
            }
        }
        let (stop, depth_broker, dlq_metrics) = (
            shutdown.clone(),
            self.broker.clone(),
            self.dlq_metrics.clone(),
        );
        tasks.push((
            "dlq_watch",
            Box::new(move || {
                Box::pin(dlq_metrics.clone().watch(
                    depth_broker.clone(),
                    dlqs.clone(),
                    stop.clone(),
                ))
            }),
        ));
        tasks.extend(self.publish_tasks(outbox, flows.publishes_to, shutdown));
        tasks
    }

    /// The tasks of a service that publishes but consumes nothing, to run until `shutdown`: the
    /// outbox backlog watcher and the relay of `outbox` to the exchange `publishes_to`. The relay
    /// keeps the connection open (and the topology declared) even while there is nothing to
    /// publish, so the broker check reports the broker now, not at the last publish.
    pub fn publish_tasks(
        self,
        outbox: &Outbox,
        publishes_to: String,
        shutdown: &CancellationToken,
    ) -> Vec<(&'static str, TaskFactory)> {
        let Self {
            broker,
            topology,
            metrics,
            ..
        } = self;
        let mut tasks: Vec<(&'static str, TaskFactory)> = Vec::with_capacity(2);
        let (stop, backlog, watched) = (shutdown.clone(), metrics.clone(), outbox.clone());
        tasks.push((
            "outbox_watch",
            Box::new(move || Box::pin(backlog.clone().watch_outbox(watched.clone(), stop.clone()))),
        ));
        let publisher = Publisher::new(broker, publishes_to).declaring(topology);
        let relay = outbox.relay(publisher, &metrics);
        let stop = shutdown.clone();
        tasks.push((
            "outbox_relay",
            Box::new(move || Box::pin(relay.clone().run(stop.clone()))),
        ));
        tasks
    }
}
