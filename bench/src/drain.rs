//! The product service's order-events consumer alone: `events` `order.created` events are queued
//! first, then a fresh `product-service` process starts and works through them. The rate is
//! counted from the moment the queue starts to shrink until every order has its reservation and
//! the service's outbox is empty (every reply published), so it covers consuming, applying, the
//! outbox and the relay. (The replies queue is not what is watched: it also receives the
//! `product.stock.updated` events of each reservation, which made an earlier version of this
//! count stop at half the work.)
//!
//! A warm-up round of a quarter as many events comes first, then `vacuum analyze`, so that the
//! measured round runs on tables with a history and statistics, as a database in service has.
//!
//! Everything is private to the run: a scratch database and a self-deleting topology under a
//! unique prefix, both removed at the end; the shop's own queues are never touched.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use microshop_events::{Envelope, Event, OrderCreated, OrderItem, Topology};
use microshop_messaging::{Broker, OutgoingMessage, Publisher, declare, delete, queue_depth};
use serde::Serialize;
use sqlx::{Connection, Executor, PgConnection};

/// Events published per confirmed batch while filling the queue.
const PUBLISH_BATCH: usize = 1_000;
/// Products the events are spread over.
const PRODUCTS: i64 = 1_000;
/// Longest the run may take before it gives up.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Settings of one drain run.
#[derive(Debug, clap::Args)]
pub struct DrainArgs {
    /// The `product-service` binary to start.
    #[arg(long, default_value = "target/release/product-service")]
    binary: String,
    /// Events to queue.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// PostgreSQL server (no database); a scratch database is created on it.
    #[arg(
        long,
        env = "PG_ADMIN_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432"
    )]
    pg_admin_url: String,
    /// RabbitMQ.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    /// Free port for the service's HTTP side.
    #[arg(long, default_value_t = 18082)]
    port: u16,
    /// The token public keys the service must be started with (it serves no signed-in request
    /// here): PEM, or a file (`make up` writes `.run/keys/jwt-public.pem`).
    #[arg(long, env = "JWT_PUBLIC_KEYS")]
    jwt_public_keys: String,
}

/// What a drain run measured.
#[derive(Debug, Serialize)]
pub struct DrainReport {
    events: usize,
    seconds: f64,
    events_per_s: f64,
    /// Reservations the measured round made: must equal `events` (each applied once).
    reservations: i64,
    prefetch: String,
}

/// Runs the drain measurement; cleans up whatever happens.
pub async fn run(args: &DrainArgs) -> anyhow::Result<DrainReport> {
    let nonce = format!("{:x}", rand::random::<u32>());
    let database = format!("microshop_bench_drain_{nonce}");
    let topology = Topology::temporary(format!("bench-{nonce}."));
    let broker = Broker::new(args.amqp_url.clone().into(), "microshop-bench");
    let result = measure(args, &database, &topology, &broker).await;
    cleanup(args, &database, &topology, &broker).await;
    result
}

async fn measure(
    args: &DrainArgs,
    database: &str,
    topology: &Topology,
    broker: &Broker,
) -> anyhow::Result<DrainReport> {
    let database_url = format!("{}/{database}?sslmode=disable", args.pg_admin_url);
    let mut admin = PgConnection::connect(&format!("{}/postgres", args.pg_admin_url)).await?;
    admin
        .execute(format!("create database {database}").as_str())
        .await?;
    migrate(args, &database_url, topology).await?;
    let mut db = PgConnection::connect(&database_url).await?;
    let first: i64 = sqlx::query_scalar(
        "insert into products (name, price_cents, stock)
         select 'Drain ' || n, 1999, 1000000000 from generate_series(1, $1) n
         returning id",
    )
    .bind(PRODUCTS)
    .fetch_all(&mut db)
    .await?
    .into_iter()
    .min()
    .context("products were inserted")?;

    let channel = broker.channel().await?;
    declare(&channel, topology).await?;
    let publisher = Publisher::new(broker.clone(), topology.order_events());
    let queue = topology.product_order_events();
    // A database in service has statistics (autovacuum analyses it); a scratch one has none,
    // and PostgreSQL then caches plans, per pooled connection, chosen while the reservation
    // tables were empty: scans that grow with them (docs/performance.md). So a first round
    // gives the tables a history, `vacuum analyze` does what autovacuum would, and the measured
    // round runs on a fresh service process.
    let warm_up = (args.events / 4).max(1);
    let rounds = [(0, warm_up, false), (warm_up, args.events, true)];
    let mut seconds = 0.0;
    for (first_order, events, measured) in rounds {
        let order_ids = i64::try_from(first_order)?..i64::try_from(first_order + events)?;
        fill(&publisher, first, order_ids).await?;
        let total = u32::try_from(events)?;
        anyhow::ensure!(
            queue_depth(&channel, &queue).await? == total,
            "the queue did not hold every event"
        );
        let mut service = spawn(args, &database_url, topology, true)?;
        let reserved = u32::try_from(first_order + events)?;
        let outcome = watch(&channel, &queue, &mut db, total, reserved, &mut service).await;
        let _ = service.kill();
        let _ = service.wait();
        if measured {
            seconds = outcome?;
        } else {
            outcome?;
            db.execute("vacuum analyze").await?;
        }
    }
    let reservations: i64 = sqlx::query_scalar("select count(*) from stock_reservations")
        .fetch_one(&mut db)
        .await?;
    Ok(DrainReport {
        events: args.events,
        seconds,
        events_per_s: f64::from(u32::try_from(args.events)?) / seconds,
        reservations: reservations - i64::try_from(warm_up)?,
        prefetch: std::env::var("AMQP_PREFETCH").unwrap_or_else(|_| "default".into()),
    })
}

/// Queues one `order.created` (one unit of one of the products from `first`) per id of `orders`.
async fn fill(
    publisher: &Publisher,
    first: i64,
    orders: std::ops::Range<i64>,
) -> anyhow::Result<()> {
    let events: Vec<OutgoingMessage> = orders
        .map(|i| {
            message(&Envelope::new(Event::OrderCreated(OrderCreated {
                order_id: i + 1,
                user_id: 1,
                items: vec![OrderItem {
                    product_id: first + i % PRODUCTS,
                    quantity: 1,
                    unit_price_cents: 1999,
                }],
                total_price_cents: 1999,
            })))
        })
        .collect();
    for batch in events.chunks(PUBLISH_BATCH) {
        publisher.publish(batch).await?;
    }
    Ok(())
}

/// Waits until the service has consumed from `queue` (holding `total` events), there are
/// `reservations` and every reply is published; returns the seconds from the first consumed
/// event to then.
async fn watch(
    channel: &lapin::Channel,
    queue: &str,
    db: &mut PgConnection,
    total: u32,
    reservations: u32,
    service: &mut Child,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + TIMEOUT;
    let mut started = None;
    loop {
        anyhow::ensure!(Instant::now() < deadline, "the drain took over {TIMEOUT:?}");
        if let Some(status) = service.try_wait()? {
            anyhow::bail!("product-service exited with {status} during the drain");
        }
        if started.is_none() && queue_depth(channel, queue).await? < total {
            started = Some(Instant::now());
        }
        let finished: bool = sqlx::query_scalar(
            "select (select count(*) from stock_reservations) >= $1
                and not exists (select 1 from outbox)",
        )
        .bind(i64::from(reservations))
        .fetch_one(&mut *db)
        .await?;
        if finished {
            let started = started.context("every reply was out before consumption was seen")?;
            return Ok(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Lets the service create its schema: it is started without consumers, and stopped once it is
/// ready (its migrations ran). The bench drives the service; it never embeds its code.
async fn migrate(args: &DrainArgs, database_url: &str, topology: &Topology) -> anyhow::Result<()> {
    let mut service = spawn(args, database_url, topology, false)?;
    let ready = format!("http://127.0.0.1:{}/health/ready", args.port);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcome = loop {
        if let Some(status) = service.try_wait()? {
            break Err(anyhow::anyhow!(
                "product-service exited with {status} while migrating the scratch database"
            ));
        }
        if client
            .get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("product-service was not ready within 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = service.kill();
    let _ = service.wait();
    outcome
}

fn spawn(
    args: &DrainArgs,
    database_url: &str,
    topology: &Topology,
    consume: bool,
) -> anyhow::Result<Child> {
    Command::new(&args.binary)
        .env("AMQP_CONSUME", consume.to_string())
        .env("HTTP_HOST", "127.0.0.1")
        .env("HTTP_PORT", args.port.to_string())
        .env("DATABASE_URL", database_url)
        .env("AMQP_URL", &args.amqp_url)
        .env("AMQP_TOPOLOGY_PREFIX", topology.prefix())
        .env("AMQP_TEMPORARY_TOPOLOGY", "true")
        .env("LOG_FORMAT", "json")
        .env("JWT_PUBLIC_KEYS", &args.jwt_public_keys)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} (run `make build` first)", args.binary))
}

fn message(envelope: &Envelope) -> OutgoingMessage {
    OutgoingMessage::from_envelope(envelope)
}

async fn cleanup(args: &DrainArgs, database: &str, topology: &Topology, broker: &Broker) {
    if let Ok(channel) = broker.channel().await {
        delete(&channel, topology).await;
    }
    broker.close().await;
    if let Ok(mut admin) = PgConnection::connect(&format!("{}/postgres", args.pg_admin_url)).await {
        let _ = admin
            .execute(format!("drop database if exists {database} with (force)").as_str())
            .await;
    }
}
