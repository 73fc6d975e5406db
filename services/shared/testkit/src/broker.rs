//! A private corner of the shared RabbitMQ for one test: the whole topology under a unique
//! prefix, declared temporary so that it deletes itself even if the test dies.

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use microshop_events::Topology;
use microshop_messaging::{Broker, declare, declare_exchanges, queue_depth};
use secrecy::SecretString;

/// The broker every test uses; `AMQP_URL` overrides it.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A test's own topology on the shared broker; deleted when dropped.
pub struct TestBroker {
    /// Connection handle.
    pub broker: Broker,
    /// Names under this test's prefix.
    pub topology: Topology,
    url: String,
}

impl TestBroker {
    /// Declares a fresh, uniquely prefixed topology.
    pub async fn new() -> Self {
        Self::with_url(&amqp_url()).await
    }

    /// Like [`new`](Self::new) against `url` (e.g. through a fault proxy).
    pub async fn with_url(url: &str) -> Self {
        let prefix = format!("test-{}.", uuid::Uuid::now_v7().simple());
        let topology = Topology::temporary(prefix);
        let broker = Broker::new(SecretString::from(url.to_owned()), "microshop-test");
        // A broker busy with the other tests' topologies may be slow to take a connection (RabbitMQ
        // 3.10 pauses for tens of seconds now and then while it deletes many expired quorum
        // queues at once): try for two minutes before calling it unreachable.
        let started = std::time::Instant::now();
        let channel = loop {
            match broker.channel().await {
                Ok(channel) => break channel,
                Err(error) if started.elapsed() < std::time::Duration::from_secs(120) => {
                    eprintln!("test broker not reachable yet ({error}); trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(error) => panic!("the test broker is not reachable: {error}"),
            }
        };
        declare(&channel, &topology)
            .await
            .expect("topology declares");
        Self {
            broker,
            topology,
            url: url.to_owned(),
        }
    }

    /// The arguments that point a service at this topology through `url` (the shared broker,
    /// or a fault proxy in front of it).
    pub fn service_args(&self, url: &str) -> Vec<String> {
        vec![
            "--amqp-url".to_owned(),
            url.to_owned(),
            "--amqp-topology-prefix".to_owned(),
            self.topology.prefix().to_owned(),
            "--amqp-temporary-topology".to_owned(),
        ]
    }

    /// Deletes `queue` with its messages, as an operator's mistake or a broker that lost its
    /// definitions would, leaving its exchange in place without the queue. (A test topology's
    /// exchanges delete themselves with their last queue, so they are declared again.)
    pub async fn delete_queue(&self, queue: &str) {
        let channel = self.broker.channel().await.expect("channel opens");
        channel
            .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
            .await
            .expect("the queue is deleted");
        declare_exchanges(&channel, &self.topology)
            .await
            .expect("the exchanges are declared again");
    }

    /// Deletes every work queue of the topology bound to `exchange` (a producer's exchange has
    /// several consumers' queues), so its publishes reach no queue.
    pub async fn delete_queues_bound_to(&self, exchange: &str) {
        let bound: Vec<String> = self
            .topology
            .queues()
            .into_iter()
            .filter(|queue| queue.bound_to == exchange)
            .map(|queue| queue.name)
            .collect();
        for queue in bound {
            self.delete_queue(&queue).await;
        }
    }

    /// Declares the whole topology again (after [`delete_queue`](Self::delete_queue)).
    pub async fn redeclare(&self) {
        let channel = self.broker.channel().await.expect("channel opens");
        declare(&channel, &self.topology)
            .await
            .expect("topology declares");
    }

    /// Messages ready in `queue`.
    pub async fn depth(&self, queue: &str) -> u32 {
        let channel = self.broker.channel().await.expect("channel opens");
        queue_depth(&channel, queue).await.expect("queue exists")
    }

    /// Messages ready in `queue`, or `None` while it does not exist (a test that deleted it
    /// waits for a service to declare it again).
    pub async fn depth_if_declared(&self, queue: &str) -> Option<u32> {
        let channel = self.broker.channel().await.expect("channel opens");
        queue_depth(&channel, queue).await.ok()
    }

    /// A private queue that gets a copy of every event published to `exchange` from now on, so
    /// a test sees what a service announced without taking it from the consumer it is meant
    /// for. Exclusive to this broker's connection (gone with it) and expiring besides.
    pub async fn tap(&self, exchange: &str) -> String {
        let channel = self.broker.channel().await.expect("channel opens");
        let name = format!(
            "{}tap.{}",
            self.topology.prefix(),
            uuid::Uuid::now_v7().simple()
        );
        let mut arguments = FieldTable::default();
        arguments.insert("x-expires".into(), AMQPValue::LongInt(120_000));
        let options = QueueDeclareOptions {
            exclusive: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(name.as_str().into(), options, arguments)
            .await
            .expect("the tap queue declares");
        channel
            .queue_bind(
                name.as_str().into(),
                exchange.into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("the tap queue binds");
        name
    }

    /// Every event in `queue` now (taken), in order.
    pub async fn events(&self, queue: &str) -> Vec<microshop_events::Envelope> {
        let mut events = Vec::new();
        while let Some(message) = self.take(queue).await {
            events.push(
                microshop_events::Envelope::from_json(&message.delivery.data)
                    .expect("services publish well-formed events"),
            );
        }
        events
    }

    /// Takes one message from `queue` (acknowledged), if any.
    pub async fn take(&self, queue: &str) -> Option<lapin::message::BasicGetMessage> {
        let channel = self.broker.channel().await.expect("channel opens");
        channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get works")
    }
}

impl Drop for TestBroker {
    /// Deletes the test's queues and exchanges at once: quorum queues hold broker file
    /// descriptors, and hundreds of tests' leftovers waiting for `x-expires` exhaust them.
    fn drop(&mut self) {
        delete_now(&self.url, &self.topology);
    }
}

/// Deletes `topology` before returning, from synchronous code (a `Drop`): drop runs inside the
/// test's runtime, so a helper thread with its own runtime does the work.
pub(crate) fn delete_now(url: &str, topology: &Topology) {
    let (url, topology) = (url.to_owned(), topology.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for cleanup");
        runtime.block_on(delete(&url, &topology));
    })
    .join()
    .ok();
}

async fn delete(url: &str, topology: &Topology) {
    let Ok(connection) =
        lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        microshop_messaging::delete(&channel, topology).await;
    }
    let _ = connection.close(200, "test cleanup".into()).await;
}
