//! The notification-service binary as a real process: graceful shutdown, TLS to its
//! dependencies, and a sender killed between handing a mail over and recording it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use microshop_auth::Role;
use microshop_testkit::{Client, ServiceProcess, SmtpSink, auth, eventually, scenarios};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{ConnectOptions, PgPool};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BINARY: &str = env!("CARGO_BIN_EXE_notification-service");

#[sqlx::test]
async fn sigterm_lets_an_in_flight_request_finish(pool: PgPool) {
    // An admin's mail, half sent when SIGTERM arrives: it is still queued (202) before the
    // process exits cleanly.
    let body = r#"{"to": "ann@example.com", "subject": "Hello", "text": "Sent while stopping."}"#;
    let token = auth::token(1, Role::Admin);
    scenarios::assert_sigterm_lets_in_flight_request_finish(
        BINARY,
        &pool,
        "/api/notifications/email",
        Some(&token),
        body,
        StatusCode::ACCEPTED,
    )
    .await;
}

#[sqlx::test]
async fn the_binary_works_over_tls_to_its_database_and_rabbitmq(pool: PgPool) {
    let rabbitmq = microshop_testkit::tls::TlsProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    scenarios::assert_works_over_tls(BINARY, &pool, Some(&rabbitmq)).await;
}

/// An SMTP server that takes every message whole and never confirms it: a sender talking to it
/// is stuck right after the hand-over. Counts the messages it took.
async fn unconfirming_smtp() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let taken = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&taken);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 unconfirming ESMTP\r\n").await.ok();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            count.fetch_add(1, Ordering::SeqCst);
                            // The message is here; the 250 never comes.
                            std::future::pending::<()>().await;
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.ok();
                }
            });
        }
    });
    (addr, taken)
}

#[sqlx::test]
async fn a_sender_killed_after_the_hand_over_never_sends_the_mail_again(pool: PgPool) {
    let (smtp, taken) = unconfirming_smtp().await;
    let database = pool.connect_options().to_url_lossy().to_string();
    let prefix = format!("test-{}.", uuid::Uuid::now_v7().simple());
    let smtp_url = format!("smtp://{smtp}");
    let envs = |smtp_url: &str| {
        vec![
            ("DATABASE_URL".to_owned(), database.clone()),
            ("SMTP_URL".to_owned(), smtp_url.to_owned()),
            ("AMQP_TOPOLOGY_PREFIX".to_owned(), prefix.clone()),
            ("AMQP_TEMPORARY_TOPOLOGY".to_owned(), "true".to_owned()),
            ("NOTIFICATION_SEND_TIMEOUT".to_owned(), "120s".to_owned()),
        ]
    };
    let first_envs = envs(&smtp_url);
    let borrowed: Vec<(&str, &str)> = first_envs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut first = ServiceProcess::spawn(BINARY, &borrowed).await;
    let client = Client::new(first.base_url());
    let body = json!({"to": "ann@example.com", "subject": "Once", "text": "Only once."});
    let response = client
        .post_json_as(
            "/api/notifications/email",
            &body,
            &auth::token(1, Role::Admin),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    eventually("the SMTP server has the whole message", async || {
        taken.load(Ordering::SeqCst) == 1
    })
    .await;
    // The process dies between the hand-over and recording it.
    first.kill().await;

    let sink = SmtpSink::start().await;
    let second_envs = envs(&sink.url());
    let borrowed: Vec<(&str, &str)> = second_envs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _second = ServiceProcess::spawn(BINARY, &borrowed).await;
    eventually(
        "the interrupted send is recorded, not repeated",
        async || {
            let noted: i64 = sqlx::query_scalar(
                "select count(*) from notifications
             where status = 'SENT' and last_error like 'delivery unconfirmed%'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            noted == 1
        },
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        sink.messages().is_empty(),
        "the mail was sent a second time"
    );
    assert_eq!(taken.load(Ordering::SeqCst), 1);
}
