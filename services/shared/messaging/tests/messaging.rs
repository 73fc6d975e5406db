//! The messaging building blocks against the real RabbitMQ and PostgreSQL: topology, confirmed
//! publishing, the outbox relay (also with the broker cut away), the inbox and the consumer's
//! dead-lettering.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use microshop_events::{Envelope, Event, OrderCreated, OrderItem, Topology};
use microshop_messaging::consumer::{Consumer, Handler, HandlerError, Outcome};
use microshop_messaging::metrics::MessagingMetrics;
use microshop_messaging::outbox::{Outbox, OutboxTransaction};
use microshop_messaging::{OutgoingMessage, Publisher, declare, dlq, inbox};
use microshop_testkit::{TcpProxy, TestBroker, amqp_url, eventually, eventually_within};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

fn order_created(order_id: i64) -> Envelope {
    Envelope::new(Event::OrderCreated(OrderCreated {
        order_id,
        user_id: 1,
        items: vec![OrderItem {
            product_id: 2,
            quantity: 3,
            unit_price_cents: 100,
        }],
        total_price_cents: 300,
    }))
}

fn message(envelope: &Envelope) -> OutgoingMessage {
    OutgoingMessage::from_envelope(envelope)
}

#[tokio::test]
async fn declaring_the_topology_twice_changes_nothing() {
    let test = TestBroker::new().await;
    let channel = test.broker.channel().await.unwrap();
    declare(&channel, &test.topology)
        .await
        .expect("second declaration is accepted");
    for queue in test.topology.queues() {
        assert_eq!(test.depth(&queue.name).await, 0, "{}", queue.name);
    }
}

#[tokio::test]
async fn a_confirmed_batch_reaches_every_bound_queue_with_its_properties() {
    let test = TestBroker::new().await;
    let publisher = Publisher::new(test.broker.clone(), test.topology.order_events());
    let envelopes: Vec<_> = (1..=3).map(order_created).collect();
    let messages: Vec<_> = envelopes.iter().map(message).collect();

    publisher.publish(&messages).await.expect("broker confirms");

    let queue = test.topology.product_order_events();
    assert_eq!(test.depth(&queue).await, 3);
    let first = test.take(&queue).await.expect("a message");
    let properties = &first.delivery.properties;
    assert_eq!(
        properties.message_id().as_ref().map(ToString::to_string),
        Some(envelopes[0].id.to_string())
    );
    assert_eq!(
        properties
            .kind()
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("order.created")
    );
    assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
    assert_eq!(
        Envelope::from_json(&first.delivery.data).unwrap(),
        envelopes[0]
    );
}

#[sqlx::test(migrations = "tests/migrations")]
async fn the_relay_publishes_outbox_rows_in_order_and_deletes_them(pool: PgPool) {
    let test = TestBroker::new().await;
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let envelopes: Vec<_> = (1..=5).map(order_created).collect();
    let mut tx = outbox.begin().await.unwrap();
    tx.enqueue(&envelopes[..2]).await.unwrap();
    tx.enqueue(&envelopes[2..]).await.unwrap();
    tx.commit().await.unwrap();
    let metrics = MessagingMetrics::unexported();
    let publish_seconds = metrics.relay().publish_seconds;
    let relay = outbox.relay(
        Publisher::new(test.broker.clone(), test.topology.order_events()),
        &metrics,
    );

    assert_eq!(relay.publish_batch().await.unwrap(), 5);
    assert_eq!(
        publish_seconds.get_sample_count(),
        5,
        "each event's commit-to-confirm time"
    );

    assert_eq!(outbox.pending().await.unwrap(), 0);
    let queue = test.topology.product_order_events();
    assert_eq!(test.depth(&queue).await, 5);
    for expected in &envelopes {
        let got = test.take(&queue).await.expect("a message");
        assert_eq!(&Envelope::from_json(&got.delivery.data).unwrap(), expected);
    }
}

/// Deletes the test's work queues of order events; their exchange stays, with nothing bound.
async fn delete_work_queue(test: &TestBroker) {
    test.delete_queues_bound_to(&test.topology.order_events())
        .await;
}

#[sqlx::test(migrations = "tests/migrations")]
async fn events_that_reach_no_queue_stay_in_the_outbox_until_the_queue_exists_again(pool: PgPool) {
    let test = TestBroker::new().await;
    delete_work_queue(&test).await;
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let envelopes: Vec<_> = (1..=4).map(order_created).collect();
    let mut tx = outbox.begin().await.unwrap();
    tx.enqueue(&envelopes).await.unwrap();
    tx.commit().await.unwrap();
    let registry = prometheus::Registry::new();
    let metrics = MessagingMetrics::register(&registry).unwrap();
    // A publisher that never declares: nothing but the test brings the queue back.
    let relay = outbox.relay(
        Publisher::new(test.broker.clone(), test.topology.order_events()),
        &metrics,
    );

    let error = relay.publish_batch().await.unwrap_err();

    assert!(error.to_string().contains("reached no queue"), "{error}");
    assert_eq!(outbox.pending().await.unwrap(), 4, "every row stays");
    let exposition = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        exposition.contains(r#"outbox_undelivered_total{reason="unroutable"} 4"#),
        "{exposition}"
    );

    test.redeclare().await;
    assert_eq!(relay.publish_batch().await.unwrap(), 4);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    let queue = test.topology.product_order_events();
    for expected in &envelopes {
        let got = test.take(&queue).await.expect("a message");
        assert_eq!(&Envelope::from_json(&got.delivery.data).unwrap(), expected);
    }
}

#[tokio::test]
async fn a_declaring_publisher_puts_a_deleted_queue_back_after_the_first_return() {
    let test = TestBroker::new().await;
    let publisher = Publisher::new(test.broker.clone(), test.topology.order_events())
        .declaring(test.topology.clone());
    publisher
        .publish(&[message(&order_created(1))])
        .await
        .unwrap();
    delete_work_queue(&test).await;

    let returned = publisher
        .publish(&[message(&order_created(2))])
        .await
        .unwrap_err();
    publisher
        .publish(&[message(&order_created(3))])
        .await
        .expect("the queue was declared again with the next channel");

    assert!(
        returned.to_string().contains("reached no queue"),
        "{returned}"
    );
    let queue = test.topology.product_order_events();
    let got = test.take(&queue).await.expect("the later event arrived");
    assert_eq!(
        Envelope::from_json(&got.delivery.data).unwrap().event,
        order_created(3).event
    );
}

#[tokio::test]
async fn a_replay_into_a_missing_queue_keeps_the_dead_letter() {
    let test = TestBroker::new().await;
    let queue = test.topology.product_order_events();
    let dlq = Topology::dlq_of(&queue);
    Publisher::new(test.broker.clone(), test.topology.order_events())
        .publish(&[message(&order_created(1))])
        .await
        .unwrap();
    take_and_reject(&test, &queue, false)
        .await
        .expect("a message");
    eventually("it is in the DLQ", async || test.depth(&dlq).await == 1).await;
    delete_work_queue(&test).await;

    let error = dlq::replay(&test.broker, &queue, usize::MAX)
        .await
        .unwrap_err();

    assert!(error.to_string().contains("reached no queue"), "{error}");
    eventually("the DLQ still holds it", async || {
        test.depth(&dlq).await == 1
    })
    .await;
}

#[sqlx::test(migrations = "tests/migrations")]
async fn a_rolled_back_transaction_leaves_nothing_in_the_outbox(pool: PgPool) {
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let mut tx = outbox.begin().await.unwrap();
    tx.enqueue(&[order_created(1)]).await.unwrap();
    drop(tx);

    assert_eq!(outbox.pending().await.unwrap(), 0);
}

#[sqlx::test(migrations = "tests/migrations")]
async fn a_running_relay_publishes_a_commit_without_waiting_for_its_poll(pool: PgPool) {
    let test = TestBroker::new().await;
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let relay = outbox.relay(
        Publisher::new(test.broker.clone(), test.topology.order_events()),
        &MessagingMetrics::unexported(),
    );
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(relay.run(shutdown.clone()));
    // Let the relay finish its first (empty) pass and start waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut tx = outbox.begin().await.unwrap();
    tx.enqueue(&[order_created(1)]).await.unwrap();
    tx.commit().await.unwrap();

    // The fallback poll is a second away; the commit's wake-up must beat it by far.
    let queue = test.topology.product_order_events();
    eventually_within(
        "published within 400 ms of the commit",
        Duration::from_millis(400),
        async || (test.depth(&queue).await == 1).then_some(()),
    )
    .await;
    shutdown.cancel();
    running.await.unwrap();
}

#[sqlx::test(migrations = "tests/migrations")]
async fn outbox_rows_wait_while_the_broker_is_down_and_go_out_when_it_returns(pool: PgPool) {
    let direct = TestBroker::new().await;
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let proxied_url = amqp_url().replace("127.0.0.1:5672", &proxy.addr().to_string());
    let through_proxy = microshop_messaging::Broker::new(proxied_url.into(), "relay-under-test");
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let relay = outbox.relay(
        Publisher::new(through_proxy, direct.topology.order_events()),
        &MessagingMetrics::unexported(),
    );
    let shutdown = CancellationToken::new();
    proxy.cut().await;
    let running = tokio::spawn(relay.run(shutdown.clone()));

    let mut tx = outbox.begin().await.unwrap();
    let envelopes: Vec<_> = (1..=4).map(order_created).collect();
    tx.enqueue(&envelopes).await.unwrap();
    tx.commit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        outbox.pending().await.unwrap(),
        4,
        "nothing may leave while the broker is down"
    );

    proxy.restore().await;
    let queue = direct.topology.product_order_events();
    eventually("all four events are published", async || {
        direct.depth(&queue).await == 4
    })
    .await;
    eventually("the outbox is empty", async || {
        outbox.pending().await.unwrap() == 0
    })
    .await;
    assert_eq!(
        direct.depth(&queue).await,
        4,
        "each event is published once"
    );
    shutdown.cancel();
    running.await.unwrap();
}

#[sqlx::test(migrations = "tests/migrations")]
async fn an_idle_relay_connects_declares_and_reconnects_without_an_event(pool: PgPool) {
    // A publish-only service has no consumer: its relay alone keeps the connection that its
    // readiness reports, also when there is nothing to publish.
    let test = TestBroker::new().await;
    let prefix = format!("test-{}.", uuid::Uuid::now_v7().simple());
    let topology = Topology::temporary(prefix);
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let proxied_url = amqp_url().replace("127.0.0.1:5672", &proxy.addr().to_string());
    let broker = microshop_messaging::Broker::new(proxied_url.into(), "idle-relay-under-test");
    let outbox = Outbox::new(microshop_testkit::db(&pool));
    let relay = outbox.relay(
        Publisher::new(broker.clone(), topology.user_events()).declaring(topology.clone()),
        &MessagingMetrics::unexported(),
    );
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(relay.run(shutdown.clone()));

    let queue = topology.notification_user_events();
    eventually(
        "the idle relay connects and declares its topology",
        async || {
            let channel = test.broker.channel().await.unwrap();
            let declared = microshop_messaging::queue_depth(&channel, &queue).await;
            broker.check().is_ok() && declared.is_ok_and(|depth| depth == 0)
        },
    )
    .await;

    proxy.cut().await;
    eventually("the cut connection is noticed", async || {
        broker.check().is_err()
    })
    .await;
    proxy.restore().await;
    eventually("the idle relay reconnects by itself", async || {
        broker.check().is_ok()
    })
    .await;
    shutdown.cancel();
    running.await.unwrap();
    let channel = test.broker.channel().await.unwrap();
    microshop_messaging::delete(&channel, &topology).await;
}

#[sqlx::test(migrations = "tests/migrations")]
async fn the_inbox_recognises_a_redelivered_event(pool: PgPool) {
    let (seen, new) = (order_created(1).id, order_created(2).id);
    let mut tx = pool.begin().await.unwrap();
    let fresh = inbox::first_deliveries(&mut tx, &[seen]).await.unwrap();
    assert_eq!(fresh, HashSet::from([seen]));
    tx.commit().await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    let fresh = inbox::first_deliveries(&mut tx, &[seen, new, new])
        .await
        .unwrap();
    assert_eq!(fresh, HashSet::from([new]), "only the unseen id, once");
}

#[sqlx::test(migrations = "tests/migrations")]
async fn a_forgotten_event_is_new_again(pool: PgPool) {
    let id = order_created(1).id;
    let mut tx = pool.begin().await.unwrap();
    inbox::first_deliveries(&mut tx, &[id]).await.unwrap();
    inbox::forget(&mut tx, &[id]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    assert_eq!(
        inbox::first_deliveries(&mut tx, &[id]).await.unwrap(),
        HashSet::from([id])
    );
}

/// Counts the events the frame hands it (each once, thanks to the inbox).
#[derive(Clone)]
struct CountingHandler {
    applied: Arc<AtomicUsize>,
}

impl Handler for CountingHandler {
    type Applied = ();

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCreated(_))
    }

    async fn apply(
        &self,
        _tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<()>, HandlerError> {
        self.applied.fetch_add(events.len(), Ordering::SeqCst);
        Ok(Outcome::applied(()))
    }

    fn committed(&self, (): ()) {}
}

#[sqlx::test(migrations = "tests/migrations")]
async fn poison_goes_to_the_dlq_at_once_and_duplicates_apply_once(pool: PgPool) {
    let test = TestBroker::new().await;
    let publisher = Publisher::new(test.broker.clone(), test.topology.order_events());
    let real = order_created(7);
    let poison = |payload: &[u8], event_type: &str| OutgoingMessage {
        id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        payload: payload.to_vec(),
        traceparent: None,
    };
    let mut unknown_type: serde_json::Value = serde_json::from_slice(&real.to_json()).unwrap();
    unknown_type["type"] = "order.teleported".into();
    publisher
        .publish(&[
            poison(b"this is not JSON", "order.created"),
            poison(unknown_type.to_string().as_bytes(), "order.teleported"),
            message(&real),
            message(&real),
        ])
        .await
        .unwrap();

    let applied = Arc::new(AtomicUsize::new(0));
    let handler = CountingHandler {
        applied: applied.clone(),
    };
    let queue = test.topology.product_order_events();
    let registry = prometheus::Registry::new();
    let metrics = MessagingMetrics::register(&registry).unwrap();
    let (running, shutdown) = spawn_consumer(&test, &pool, handler, 16, &metrics);

    let dlq = Topology::dlq_of(&queue);
    eventually("both poison messages are in the DLQ", async || {
        test.depth(&dlq).await == 2
    })
    .await;
    eventually("the queue is drained", async || {
        test.depth(&queue).await == 0
    })
    .await;
    shutdown.cancel();
    running.await.unwrap();
    assert_eq!(
        applied.load(Ordering::SeqCst),
        1,
        "the duplicate must not be applied again"
    );
    let consumed = |outcome: &str| consumed_total(&registry, &queue, outcome);
    assert_eq!(
        (
            consumed("applied"),
            consumed("duplicate"),
            consumed("dead_lettered")
        ),
        (1.0, 1.0, 2.0),
        "events_consumed_total by outcome"
    );
}

/// `events_consumed_total{queue, outcome}` as the registry exports it.
fn consumed_total(registry: &prometheus::Registry, queue: &str, outcome: &str) -> f64 {
    let families = registry.gather();
    let family = families
        .iter()
        .find(|f| f.name() == "events_consumed_total")
        .expect("events_consumed_total is registered");
    family
        .get_metric()
        .iter()
        .find(|m| {
            let label = |name: &str| {
                m.get_label()
                    .iter()
                    .find(|l| l.name() == name)
                    .map(|l| l.value().to_owned())
            };
            label("queue").as_deref() == Some(queue) && label("outcome").as_deref() == Some(outcome)
        })
        .map_or(0.0, |m| m.get_counter().get_value())
}

#[tokio::test]
async fn dead_letters_are_counted_and_replayed_into_their_work_queue() {
    let test = TestBroker::new().await;
    let publisher = Publisher::new(test.broker.clone(), test.topology.order_events());
    let queue = test.topology.product_order_events();
    let dlq = Topology::dlq_of(&queue);
    publisher
        .publish(&[message(&order_created(1)), message(&order_created(2))])
        .await
        .unwrap();
    // Dead-letter both, as a consumer does with a message it cannot apply.
    for _ in 0..2 {
        take_and_reject(&test, &queue, false)
            .await
            .expect("a message");
    }
    eventually("both are in the DLQ", async || test.depth(&dlq).await == 2).await;
    let registry = prometheus::Registry::new();
    let metrics = dlq::DlqMetrics::register(&registry).unwrap();
    metrics
        .refresh(&test.broker, std::slice::from_ref(&dlq))
        .await
        .unwrap();
    let exposition = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        exposition.contains(&format!("dlq_messages{{queue=\"{dlq}\"}} 2")),
        "{exposition}"
    );

    let moved = dlq::replay(&test.broker, &queue, usize::MAX).await.unwrap();

    assert_eq!(moved, 2);
    assert_eq!(test.depth(&dlq).await, 0);
    assert_eq!(test.depth(&queue).await, 2);
    let replayed = test.take(&queue).await.expect("a replayed message");
    assert_eq!(
        Envelope::from_json(&replayed.delivery.data).unwrap().event,
        order_created(1).event
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit() {
    let test = TestBroker::new().await;
    let publisher = Publisher::new(test.broker.clone(), test.topology.order_events());
    let queue = test.topology.product_order_events();
    let dlq = Topology::dlq_of(&queue);
    publisher
        .publish(&[message(&order_created(1))])
        .await
        .unwrap();

    // A consumer that crashes on the message returns it to the queue, again and again.
    let mut deliveries = 0;
    for _ in 0..200 {
        if test.depth(&dlq).await == 1 {
            break;
        }
        if take_and_reject(&test, &queue, true).await.is_some() {
            deliveries += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(
        test.depth(&dlq).await,
        1,
        "the broker dead-letters the crash loop"
    );
    assert_eq!(test.depth(&queue).await, 0);
    assert!(
        (5..=10).contains(&deliveries),
        "delivered {deliveries} times before dead-lettering"
    );
}

/// Records every batch it is handed; can be slow on its first batch (so deliveries pile up)
/// and fail its first batch (as if the database blinked).
#[derive(Clone, Default)]
struct RecordingHandler {
    batches: Arc<std::sync::Mutex<Vec<Vec<uuid::Uuid>>>>,
    calls: Arc<AtomicUsize>,
    slow_first: bool,
    fail_first: bool,
    /// Every batch holding this event fails as a constraint violation would.
    poison: Option<uuid::Uuid>,
}

impl RecordingHandler {
    fn batches(&self) -> Vec<Vec<uuid::Uuid>> {
        self.batches.lock().expect("batches lock").clone()
    }
}

impl Handler for RecordingHandler {
    type Applied = ();

    fn handles(&self, _event: &Event) -> bool {
        true
    }

    async fn apply(
        &self,
        _tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<()>, HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call == 0 && self.slow_first {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if call == 0 && self.fail_first {
            return Err(HandlerError::Transient("the database blinked".into()));
        }
        if events.iter().any(|e| Some(e.id) == self.poison) {
            return Err(HandlerError::Permanent("duplicate key value".into()));
        }
        self.batches
            .lock()
            .expect("batches lock")
            .push(events.iter().map(|e| e.id).collect());
        Ok(Outcome::applied(()))
    }

    fn committed(&self, (): ()) {}
}

/// Takes the next message of `queue` without acknowledging it and hands it back: to the queue
/// (`requeue`, as a consumer that crashed holding it would) or to the DLQ. `None` when the
/// queue is empty.
async fn take_and_reject(test: &TestBroker, queue: &str, requeue: bool) -> Option<Envelope> {
    let channel = test.broker.channel().await.expect("a channel");
    let got = channel
        .basic_get(
            queue.into(),
            lapin::options::BasicGetOptions { no_ack: false },
        )
        .await
        .expect("basic.get works")?;
    got.delivery
        .acker
        .reject(lapin::options::BasicRejectOptions { requeue })
        .await
        .expect("the reject is accepted");
    Some(Envelope::from_json(&got.delivery.data).expect("an event"))
}

/// Runs `handler` on the test's order-events queue, with its inbox in `pool`, until the
/// returned token is cancelled.
fn spawn_consumer<H: Handler>(
    test: &TestBroker,
    pool: &PgPool,
    handler: H,
    prefetch: u16,
    metrics: &MessagingMetrics,
) -> (tokio::task::JoinHandle<()>, CancellationToken) {
    spawn_consumer_on(
        test,
        microshop_testkit::db(pool),
        handler,
        prefetch,
        metrics,
    )
}

/// Like [`spawn_consumer`], with the inbox in `db` (e.g. behind a fault proxy).
fn spawn_consumer_on<H: Handler>(
    test: &TestBroker,
    db: microshop_db::Db,
    handler: H,
    prefetch: u16,
    metrics: &MessagingMetrics,
) -> (tokio::task::JoinHandle<()>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let queue = test.topology.product_order_events();
    let consumer = Consumer {
        broker: test.broker.clone(),
        topology: test.topology.clone(),
        counters: metrics.consumed(&queue),
        queue,
        prefetch,
        outbox: Outbox::new(db),
        handler,
    };
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    (running, shutdown)
}

/// Publishes `order.created` for orders 1 to `count` on the test's topology.
async fn publish_orders(test: &TestBroker, count: i64) -> Vec<Envelope> {
    let envelopes: Vec<_> = (1..=count).map(order_created).collect();
    let messages: Vec<_> = envelopes.iter().map(message).collect();
    Publisher::new(test.broker.clone(), test.topology.order_events())
        .publish(&messages)
        .await
        .expect("the broker confirms");
    envelopes
}

/// Runs a consumer until `handler` has applied `events` events and the queue is empty.
async fn consume_until_applied(
    test: &TestBroker,
    pool: &PgPool,
    handler: RecordingHandler,
    prefetch: u16,
    events: usize,
) {
    let queue = test.topology.product_order_events();
    let metrics = MessagingMetrics::unexported();
    let (running, shutdown) = spawn_consumer(test, pool, handler.clone(), prefetch, &metrics);
    eventually("every event is applied", async || {
        handler.batches().iter().map(Vec::len).sum::<usize>() >= events
    })
    .await;
    eventually("the queue is empty", async || test.depth(&queue).await == 0).await;
    shutdown.cancel();
    running.await.expect("the consumer stops cleanly");
}

#[sqlx::test(migrations = "tests/migrations")]
async fn waiting_deliveries_are_applied_in_batches_no_larger_than_the_prefetch(pool: PgPool) {
    let test = TestBroker::new().await;
    let envelopes = publish_orders(&test, 40).await;
    let handler = RecordingHandler {
        slow_first: true,
        ..RecordingHandler::default()
    };

    consume_until_applied(&test, &pool, handler.clone(), 16, 40).await;

    let batches = handler.batches();
    let applied: Vec<_> = batches.iter().flatten().copied().collect();
    let expected: Vec<_> = envelopes.iter().map(|e| e.id).collect();
    assert_eq!(applied, expected, "every event once, in order");
    assert!(
        batches.iter().all(|b| b.len() <= 16),
        "a batch exceeds the prefetch: {:?}",
        batches.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert!(
        batches.iter().any(|b| b.len() > 1),
        "deliveries that waited were applied one by one"
    );
}

#[sqlx::test(migrations = "tests/migrations")]
async fn redelivered_messages_are_applied_one_at_a_time(pool: PgPool) {
    let test = TestBroker::new().await;
    publish_orders(&test, 6).await;
    // A consumer that died holding the first two: the broker delivers them again, flagged.
    let queue = test.topology.product_order_events();
    let mut returned = Vec::new();
    for _ in 0..2 {
        let envelope = take_and_reject(&test, &queue, true)
            .await
            .expect("a message");
        returned.push(envelope.id);
    }
    let handler = RecordingHandler {
        slow_first: true,
        ..RecordingHandler::default()
    };

    consume_until_applied(&test, &pool, handler.clone(), 16, 6).await;

    let batches = handler.batches();
    for id in &returned {
        let batch = batches.iter().find(|b| b.contains(id)).expect("applied");
        assert_eq!(batch.len(), 1, "a redelivered message shares a batch");
    }
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 6);
}

#[sqlx::test(migrations = "tests/migrations")]
async fn a_batch_that_fails_is_retried_one_event_at_a_time(pool: PgPool) {
    let test = TestBroker::new().await;
    let envelopes = publish_orders(&test, 10).await;
    let handler = RecordingHandler {
        slow_first: true,
        fail_first: true,
        ..RecordingHandler::default()
    };

    consume_until_applied(&test, &pool, handler.clone(), 16, 10).await;

    let batches = handler.batches();
    let mut applied: Vec<_> = batches.iter().flatten().copied().collect();
    applied.sort();
    let mut expected: Vec<_> = envelopes.iter().map(|e| e.id).collect();
    expected.sort();
    assert_eq!(applied, expected, "every event applied exactly once");
    let dlq = Topology::dlq_of(&test.topology.product_order_events());
    assert_eq!(
        test.depth(&dlq).await,
        0,
        "a transient failure dead-letters nothing"
    );
}

#[sqlx::test(migrations = "tests/migrations")]
async fn an_event_that_fails_every_time_is_dead_lettered_and_the_rest_apply(pool: PgPool) {
    let test = TestBroker::new().await;
    let envelopes = publish_orders(&test, 10).await;
    let poison = envelopes[3].id;
    let handler = RecordingHandler {
        slow_first: true,
        poison: Some(poison),
        ..RecordingHandler::default()
    };

    consume_until_applied(&test, &pool, handler.clone(), 16, 9).await;

    let applied: Vec<_> = handler.batches().into_iter().flatten().collect();
    assert_eq!(applied.len(), 9, "every other event, once");
    assert!(!applied.contains(&poison));
    let dlq = Topology::dlq_of(&test.topology.product_order_events());
    eventually("the poison event is in the DLQ", async || {
        test.depth(&dlq).await == 1
    })
    .await;
}

#[sqlx::test(migrations = "tests/migrations")]
async fn shutdowns_again_and_again_during_a_database_outage_dead_letter_nothing(pool: PgPool) {
    let test = TestBroker::new().await;
    let (proxy, db) = microshop_testkit::scenarios::proxied_db(&pool).await;
    let handler = RecordingHandler::default();
    let metrics = MessagingMetrics::unexported();
    let applied =
        |handler: &RecordingHandler| handler.batches().iter().map(Vec::len).sum::<usize>();
    let (running, shutdown) = spawn_consumer_on(&test, db.clone(), handler.clone(), 16, &metrics);
    publish_orders(&test, 5).await;
    eventually("the first events apply", async || applied(&handler) == 5).await;

    // The database goes away while events keep coming: the consumer holds what it took.
    proxy.cut().await;
    publish_orders(&test, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    running.await.unwrap();
    // A crash-looping deployment: started and stopped again and again, the database still away.
    for _ in 0..6 {
        let (running, shutdown) =
            spawn_consumer_on(&test, db.clone(), handler.clone(), 16, &metrics);
        tokio::time::sleep(Duration::from_millis(200)).await;
        shutdown.cancel();
        running.await.unwrap();
    }
    proxy.restore().await;
    let (running, shutdown) = spawn_consumer_on(&test, db, handler.clone(), 16, &metrics);

    eventually(
        "every event applies once the database is back",
        async || applied(&handler) == 15,
    )
    .await;
    let dlq = Topology::dlq_of(&test.topology.product_order_events());
    assert_eq!(test.depth(&dlq).await, 0, "nothing was dead-lettered");
    shutdown.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn microshopctl_works_over_amqps() {
    let test = TestBroker::new().await;
    let tls = microshop_testkit::tls::TlsProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    let url = format!("amqps://guest:guest@127.0.0.1:{}/%2f", tls.addr().port());

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_microshopctl"))
        .args(["dlq", "list"])
        .env("AMQP_URL", &url)
        .env("AMQP_TOPOLOGY_PREFIX", test.topology.prefix())
        .env("SSL_CERT_FILE", tls.ca_file())
        .output()
        .await
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let dlq = Topology::dlq_of(&test.topology.product_order_events());
    assert!(stdout.contains(&dlq), "{stdout}");
}
