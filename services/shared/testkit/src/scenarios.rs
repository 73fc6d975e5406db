//! Fault scenarios every service must pass, written once: each really breaks something (cuts
//! the database connection, sends SIGTERM to a process) and asserts on what clients see.

use std::net::SocketAddr;
use std::time::Duration;

use microshop_db::Db;
use reqwest::StatusCode;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{ServiceProcess, TcpProxy, TestApp, eventually, eventually_some, json};

/// The database of `pool` behind a fresh [`TcpProxy`]: returns the proxy and a service pool
/// that connects through it.
pub async fn proxied_db(pool: &PgPool) -> (TcpProxy, Db) {
    let options = pool.connect_options();
    let upstream = resolve(options.get_host(), options.get_port()).await;
    let proxy = TcpProxy::start(upstream).await.expect("proxy starts");
    let through_proxy: PgConnectOptions = (*options)
        .clone()
        .host("127.0.0.1")
        .port(proxy.addr().port());
    let config = microshop_db::DbConfig {
        max_connections: 4,
        acquire_timeout_ms: 500,
        ..microshop_db::DbConfig::default()
    };
    (proxy, Db::new(through_proxy, &config))
}

/// Readiness is 200, turns 503 while the database is unreachable (within the second a result is
/// reused; and `probe_path`, a route that reads the database, answers 503 rather than 500), and
/// is 200 again once it returns.
pub async fn assert_readiness_follows_database(app: &TestApp, proxy: &TcpProxy, probe_path: &str) {
    assert_readiness_follows_database_via(&app.client, proxy, probe_path).await;
}

/// [`assert_readiness_follows_database`] through `client` (e.g. one [`authorized`] for a probe
/// route that needs a token).
///
/// [`authorized`]: crate::Client::authorized
pub async fn assert_readiness_follows_database_via(
    client: &crate::Client,
    proxy: &TcpProxy,
    probe_path: &str,
) {
    let ready = client.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK, "{:?}", json(ready).await);

    proxy.cut().await;
    let body = eventually_some("readiness turns 503", async || {
        let response = client.get("/health/ready").await;
        (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    let body = json(body).await;
    assert_eq!(body["error"]["code"], "not_ready", "{body}");
    assert!(body["checks"]["database"] != "ok", "{body}");
    let seed_health = client.get("/health").await;
    assert_eq!(seed_health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let live = client.get("/health/live").await;
    assert_eq!(
        live.status(),
        StatusCode::OK,
        "liveness must not depend on the database"
    );
    let read = client.get(probe_path).await;
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(read.headers().contains_key("retry-after"));
    assert_eq!(json(read).await["error"]["code"], "database_unavailable");

    proxy.restore().await;
    eventually(
        "readiness recovers after the database returned",
        async || client.get("/health/ready").await.status() == StatusCode::OK,
    )
    .await;
}

/// Starts `program` against `pool`'s database, opens a request to `path` (as the holder of
/// `token`, if any) whose body is only half sent, sends SIGTERM, then sends the rest: the request
/// must still get `expected` and the process must exit cleanly. Returns the response body.
pub async fn assert_sigterm_lets_in_flight_request_finish(
    program: &str,
    pool: &PgPool,
    path: &str,
    token: Option<&str>,
    body: &str,
    expected: StatusCode,
) -> String {
    let url = pool.connect_options().to_url_lossy().to_string();
    let mut service = ServiceProcess::spawn(program, &[("DATABASE_URL", &url)]).await;
    let addr: SocketAddr = service
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("base URL holds a socket address");

    let mut stream = TcpStream::connect(addr).await.expect("service accepts");
    let (head, tail) = body.split_at(body.len() / 2);
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request_head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         {authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    stream
        .write_all(request_head.as_bytes())
        .await
        .expect("send head");
    stream.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;

    service.terminate();
    wait_for_log(&service, "shutdown requested").await;
    stream
        .write_all(tail.as_bytes())
        .await
        .expect("send the rest after SIGTERM");

    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    let status_line = response.lines().next().unwrap_or_default().to_owned();
    assert!(
        status_line.starts_with(&format!("HTTP/1.1 {}", expected.as_u16())),
        "in-flight request was not completed after SIGTERM: {response:?}\nlogs:\n{}",
        service.logs().join("\n")
    );
    let status = service.wait().await;
    assert!(
        status.success(),
        "service exited with {status} after SIGTERM"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "a stopped service must not accept connections"
    );
    response
}

async fn wait_for_log(service: &ServiceProcess, needle: &str) {
    eventually(&format!("the service logs {needle:?}"), async || {
        service.logs().iter().any(|line| line.contains(needle))
    })
    .await;
}

async fn resolve(host: &str, port: u16) -> SocketAddr {
    tokio::net::lookup_host((host, port))
        .await
        .expect("database host resolves")
        .next()
        .expect("database host has an address")
}

/// Starts `program` against `pool`'s database over TLS (`sslmode=require`) and, when `broker` is
/// given, against RabbitMQ through that TLS front (`amqps`, trusting only its CA): the service
/// must become ready with every dependency reached over TLS, and never panic (a binary built
/// with two rustls crypto providers panics on its first TLS connection).
pub async fn assert_works_over_tls(
    program: &str,
    pool: &PgPool,
    broker: Option<&crate::tls::TlsProxy>,
) {
    // Named, so that its connections can be told from the test's own.
    let application = format!("tls-{}", uuid::Uuid::now_v7().simple());
    let mut url = (*pool.connect_options())
        .clone()
        .ssl_mode(sqlx::postgres::PgSslMode::Require)
        .to_url_lossy();
    url.query_pairs_mut()
        .append_pair("application_name", &application);
    let url = url.to_string();
    let mut envs = vec![("DATABASE_URL".to_owned(), url)];
    if let Some(proxy) = broker {
        envs.push((
            "AMQP_URL".to_owned(),
            format!("amqps://guest:guest@127.0.0.1:{}/%2f", proxy.addr().port()),
        ));
        envs.push((
            "SSL_CERT_FILE".to_owned(),
            proxy.ca_file().display().to_string(),
        ));
    }
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let service = ServiceProcess::spawn(program, &envs).await;
    let client = crate::Client::new(service.base_url());
    let checks = eventually_some("the service is ready with every dependency", async || {
        let response = client.get("/health/ready").await;
        let body = json(response).await;
        let broker_ok = broker.is_none() || body["checks"]["broker"] == "ok";
        (body["checks"]["database"] == "ok" && broker_ok).then_some(body)
    })
    .await;
    let encrypted: (i64, bool) = sqlx::query_as(
        "select count(*), coalesce(bool_and(s.ssl), false)
         from pg_stat_activity a join pg_stat_ssl s using (pid)
         where a.application_name = $1",
    )
    .bind(&application)
    .fetch_one(pool)
    .await
    .expect("reads pg_stat_ssl");
    let logs = service.logs().join("\n");
    assert!(!logs.contains("panicked"), "{program} panicked:\n{logs}");
    assert!(encrypted.0 > 0, "the service holds no connection: {checks}");
    assert!(encrypted.1, "a connection of the service is not encrypted");
}
