//! A message that crashes the product service again and again is dead-lettered by the queue's
//! delivery limit, and only it: the messages that were held beside it when it first crashed are
//! applied, not dead-lettered with it.

use microshop_events::Topology;
use microshop_testkit::{
    ServiceProcess, TestBroker, eventually, eventually_some, eventually_within,
};
use sqlx::{ConnectOptions, PgPool};

use crate::saga::{message, order, product_with_stock, publish, stock_of};

/// Statements running in the test's database, but for the one asking.
async fn running_statements(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where datname = current_database() and state = 'active' and pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Whether a statement waits for the row lock the test holds.
async fn waiting_on_the_lock(pool: &PgPool) -> bool {
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    waiting > 0
}

#[sqlx::test]
async fn a_crash_loop_dead_letters_the_message_that_causes_it_and_none_of_its_neighbours(
    pool: PgPool,
) {
    let broker = TestBroker::new().await;
    let stuck = product_with_stock(&pool, 10).await;
    let fine = product_with_stock(&pool, 100).await;
    let mut orders: Vec<_> = (1..=10).map(|id| order(id, fine, 1)).collect();
    orders.push(order(11, stuck, 1));
    orders.extend((12..=30).map(|id| order(id, fine, 1)));
    publish(&broker, &orders.iter().map(message).collect::<Vec<_>>()).await;
    // Whatever reserves the stuck product hangs on this lock until the process is killed.
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("select * from products where id = $1 for update")
        .bind(stuck)
        .execute(&mut *lock)
        .await
        .unwrap();
    let url = pool.connect_options().to_url_lossy().to_string();
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("AMQP_TOPOLOGY_PREFIX", broker.topology.prefix()),
        // Lock waits end soon, so a killed process's leftovers are gone soon.
        ("DB_LOCK_TIMEOUT_MS", "300"),
    ];
    let program = env!("CARGO_BIN_EXE_product-service");
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());

    // Crash the service on that message, again and again, until the broker gives up on it.
    let mut crashes = 0;
    let _service = loop {
        // A killed process's statement waits on until its lock wait times out: only then does
        // the server see its client is gone and end its transaction.
        eventually("the killed process's statements have ended", async || {
            running_statements(&pool).await == 0
        })
        .await;
        let mut service = ServiceProcess::spawn(program, &envs).await;
        // The broker may have dead-lettered the message as the last crash returned it.
        let stuck = eventually_some(
            "the service waits for the locked product, or the message is dead-lettered",
            async || {
                if waiting_on_the_lock(&pool).await {
                    Some(true)
                } else if broker.depth(&dlq).await > 0 {
                    Some(false)
                } else {
                    None
                }
            },
        )
        .await;
        if !stuck {
            break service;
        }
        service.kill().await;
        crashes += 1;
        assert!(crashes < 12, "the crash loop was never dead-lettered");
    };
    lock.rollback().await.unwrap();

    eventually_within(
        "every other order is applied",
        std::time::Duration::from_secs(20),
        async || (stock_of(&pool, fine).await == 100 - 29).then_some(()),
    )
    .await;
    assert_eq!(broker.depth(&dlq).await, 1, "only the crashing message");
    let dead = broker.take(&dlq).await.unwrap();
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string),
        Some(orders[10].id.to_string())
    );
    assert_eq!(stock_of(&pool, stuck).await, 10);
    assert!(crashes >= 5, "{crashes} crashes");
}
