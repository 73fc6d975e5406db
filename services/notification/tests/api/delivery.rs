//! Delivery: an SMTP server that is down for a while, redelivered tasks, an interrupted send,
//! and giving up.

use std::time::Duration;

use microshop_events::{Envelope, Event, NotificationRequested};
use microshop_messaging::{OutgoingMessage, Publisher};
use microshop_testkit::{eventually, json};
use sqlx::PgPool;

use crate::shop::{Options, Shop, admin};

#[sqlx::test]
async fn mails_written_while_the_smtp_server_is_down_for_a_minute_arrive_once_it_is_back(
    pool: PgPool,
) {
    // The production backoff (1 s doubling to 60 s, ten attempts): a minute without SMTP must
    // neither lose a mail nor give it up.
    let mut shop = Shop::start_with(
        pool,
        Options {
            notification_args: &[
                "--notification-retry-base=1s",
                "--notification-retry-max=60s",
                "--notification-max-attempts=10",
            ],
        },
    )
    .await;
    shop.smtp.stop().await;
    let (_, first) = shop.register("Ann").await;
    let (_, second) = shop.register("Bob").await;
    eventually("attempts failed and wait", async || {
        shop.count("select count(*) from notifications where attempts > 1 and status = 'QUEUED'")
            .await
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    // A few attempts a minute, not a hot loop; nothing given up.
    let attempts = shop
        .count("select max(attempts)::bigint from notifications")
        .await;
    assert!(
        (2..=7).contains(&attempts),
        "{attempts} attempts in a minute"
    );
    assert_eq!(
        shop.count("select count(*) from notifications where status = 'FAILED'")
            .await,
        0
    );
    shop.smtp.restart().await;
    microshop_testkit::eventually_within("the mails arrive", Duration::from_secs(90), async || {
        (shop.smtp.messages().len() >= 2).then_some(())
    })
    .await;
    shop.all_settled().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut to: Vec<_> = shop
        .smtp
        .messages()
        .iter()
        .flat_map(|m| m.envelope_to.clone())
        .collect();
    to.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(to, expected, "each once");
}

#[sqlx::test]
async fn a_redelivered_or_repeated_task_sends_nothing_twice(pool: PgPool) {
    let shop = Shop::start(pool).await;
    shop.register("Ann").await;
    shop.smtp.wait_for(1).await;
    shop.all_settled().await;
    let id = shop.count("select id from notifications").await;

    // The same task again (a redelivery) and a new task for the same notification.
    let publisher = Publisher::new(
        shop.broker.broker.clone(),
        shop.broker.topology.notification_tasks_exchange(),
    );
    let task = Envelope::new(Event::NotificationRequested(NotificationRequested {
        notification_id: id,
    }));
    let again = Envelope::new(Event::NotificationRequested(NotificationRequested {
        notification_id: id,
    }));
    for envelope in [&task, &task, &again] {
        publisher
            .publish(&[OutgoingMessage::from_envelope(envelope)])
            .await
            .unwrap();
    }
    eventually("the tasks are consumed", async || {
        shop.broker
            .depth(&shop.broker.topology.notification_tasks())
            .await
            == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(shop.smtp.messages().len(), 1);
}

#[sqlx::test]
async fn a_send_interrupted_after_the_hand_over_is_not_repeated(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let (_, email) = shop.register("Ann").await;
    shop.smtp.wait_for(1).await;
    shop.all_settled().await;
    // A sender claimed the notification and handed it over, then its process died before it
    // recorded the outcome: the row is SENDING, and its task comes again.
    let id = shop.count("select id from notifications").await;
    sqlx::query("update notifications set status = 'SENDING' where id = $1")
        .bind(id)
        .execute(&shop.notification_pool)
        .await
        .unwrap();
    let task = Envelope::new(Event::NotificationRequested(NotificationRequested {
        notification_id: id,
    }));
    Publisher::new(
        shop.broker.broker.clone(),
        shop.broker.topology.notification_tasks_exchange(),
    )
    .publish(&[OutgoingMessage::from_envelope(&task)])
    .await
    .unwrap();
    eventually("the interrupted send is recorded", async || {
        shop.count("select count(*) from notifications where status = 'SENT' and last_error like 'delivery unconfirmed%'")
            .await
            == 1
    })
    .await;
    assert_eq!(shop.smtp.messages().len(), 1);
    assert_eq!(shop.smtp.messages()[0].envelope_to, vec![email]);
}

#[sqlx::test]
async fn a_notification_is_given_up_after_its_last_attempt_into_the_dlq(pool: PgPool) {
    let mut shop = Shop::start_with(
        pool,
        Options {
            notification_args: &["--notification-max-attempts=2"],
        },
    )
    .await;
    shop.smtp.stop().await;
    shop.register("Ann").await;
    eventually("the notification is given up", async || {
        shop.count("select count(*) from notifications where status = 'FAILED' and attempts = 2")
            .await
            == 1
    })
    .await;
    let dlq = microshop_events::Topology::dlq_of(&shop.broker.topology.notification_tasks());
    eventually("its task is dead-lettered", async || {
        shop.broker.depth(&dlq).await == 1
    })
    .await;
    let failed = json(
        shop.notifications()
            .client
            .get_as("/api/notifications?status=FAILED", &admin())
            .await,
    )
    .await;
    assert_eq!(failed[0]["template"], "welcome");
    assert!(failed[0]["last_error"].as_str().unwrap().contains("SMTP"));
    let metrics = shop
        .notifications()
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"notifications_total{channel="email",outcome="failed",service="notification-service"} 1"#
        ),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("notifications_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[sqlx::test]
async fn events_that_arrive_while_the_service_is_stopped_are_mailed_when_it_is_back(pool: PgPool) {
    let mut shop = Shop::start(pool).await;
    shop.stop_notifications();
    let (_, email) = shop.register("Ann").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(shop.smtp.messages().is_empty());
    shop.start_notifications().await;
    let mails = shop.smtp.wait_for(1).await;
    assert_eq!(mails[0].envelope_to, vec![email]);
    shop.all_settled().await;
    assert_eq!(shop.smtp.messages().len(), 1);
}
