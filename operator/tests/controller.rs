//! The controller as it runs (its watches, their scope and cost, its health) and the leader
//! election, against the fake API server with the real PostgreSQL and RabbitMQ.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use microshop_operator::crd::DeletionPolicy;
use microshop_operator::health::Health;
use microshop_operator::leader::Elector;
use microshop_operator::metrics::Metrics;
use microshop_operator::{Context, Settings, controller};
use microshop_testkit::eventually_within;
use support::fake_api::FakeApiServer;
use support::shop::{self, namespace, spec};
use tokio::sync::oneshot;

/// A controller running in the background until dropped.
struct Running {
    ctx: Arc<Context>,
    health: Arc<Health>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    fn start(fake: &FakeApiServer, settings: Settings, unhealthy_after: Duration) -> Self {
        let metrics = Metrics::new();
        let ctx = Arc::new(Context::new(fake.client(), metrics.clone(), settings));
        let health = Arc::new(Health::new(metrics, unhealthy_after));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(controller::run(
            Arc::clone(&ctx),
            Arc::clone(&health),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            ctx,
            health,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the controller and waits for its passes to finish.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the controller stops")
                .expect("the controller did not panic");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn condition(fake: &FakeApiServer, namespace: &str, type_: &str) -> Option<(String, String)> {
    let condition = shop::condition(fake, namespace, type_)?;
    Some((
        condition["status"].as_str()?.to_owned(),
        condition["reason"].as_str()?.to_owned(),
    ))
}

#[tokio::test]
async fn the_controller_watches_one_namespace_by_label_and_metadata_and_notices_a_fixed_secret_at_once()
 {
    let namespace = namespace();
    let fake = FakeApiServer::new();
    let down = format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        support::closed_port()
    );
    shop::seed(&fake, &namespace, &spec(DeletionPolicy::Retain), &down);
    let settings = Settings {
        namespace: Some(namespace.clone()),
        ..Settings::default()
    };
    let running = Running::start(&fake, settings, Duration::from_secs(60));

    // PostgreSQL is down: the shop fails, twice (or more), so the next retry is 10 s or more
    // away. What the passes counted is written whenever it changes, so a timeout shows it.
    let mut seen = String::new();
    eventually_within("two failed passes", Duration::from_secs(60), async || {
        let text = running.ctx.metrics.render();
        let passes: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("microshop_operator_reconcile"))
            .collect();
        let passes = passes.join("\n");
        if passes != seen {
            eprintln!("reconcile metrics now:\n{passes}");
            seen = passes;
        }
        let postgres_failures = text
            .lines()
            .find_map(|line| {
                line.strip_prefix(
                    r#"microshop_operator_reconcile_failures_total{reason="PostgresUnavailable"} "#,
                )
            })
            .and_then(|count| count.trim().parse::<u64>().ok())
            .unwrap_or(0);
        (postgres_failures >= 2).then_some(())
    })
    .await;
    assert_eq!(
        condition(&fake, &namespace, "DatabasesReady"),
        Some(("False".into(), "PostgresUnavailable".into()))
    );

    // The admin fixes the Secret: the Secret watch brings the shop back long before the retry.
    let fixed = Instant::now();
    fake.insert(shop::secret(
        &namespace,
        "pg-admin",
        "uri",
        &support::pg_admin_uri(),
    ));
    eventually_within(
        "the databases are provisioned after the fix",
        Duration::from_secs(8),
        async || (condition(&fake, &namespace, "DatabasesReady")?.0 == "True").then_some(()),
    )
    .await;
    assert!(
        fixed.elapsed() < Duration::from_secs(8),
        "noticed through the watch"
    );
    eventually_within(
        "the shop is Ready and nothing waits",
        Duration::from_secs(30),
        async || {
            shop::pods_become_ready(&fake, &namespace);
            let ready = condition(&fake, &namespace, "Ready")?.0 == "True";
            let idle = running
                .ctx
                .metrics
                .render()
                .contains("microshop_operator_queue_depth 0");
            (ready && idle).then_some(())
        },
    )
    .await;

    assert_watches_are_scoped_and_cheap(&fake, &namespace);
    assert_eq!(running.health.problem(), None);

    running.stop().await;
    shop::drop_everything(&namespace).await;
}

/// Every request stayed in `namespace`; owned kinds were watched by label and metadata;
/// Secrets by metadata only: the operator never listed Secrets' contents.
fn assert_watches_are_scoped_and_cheap(fake: &FakeApiServer, namespace: &str) {
    let requests = fake.requests();
    let collection_reads: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.name.is_none())
        .collect();
    assert!(!collection_reads.is_empty());
    for request in &collection_reads {
        assert_eq!(
            request.namespace.as_deref(),
            Some(namespace),
            "{}",
            request.path
        );
        if request.plural != "microshops" {
            let accept = request.accept.as_deref().unwrap_or_default();
            assert!(
                accept.contains("as=PartialObjectMetadata"),
                "{} {}: {accept}",
                request.path,
                request.query
            );
        }
        if request.plural != "microshops" && request.plural != "secrets" {
            assert!(
                request
                    .query
                    .contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dmicroshop-operator"),
                "{} {}",
                request.path,
                request.query
            );
        }
    }
    let watched: std::collections::BTreeSet<&str> = collection_reads
        .iter()
        .filter(|r| r.query.contains("watch=true"))
        .map(|r| r.plural.as_str())
        .collect();
    assert_eq!(
        watched,
        controller::WATCHED.into_iter().collect(),
        "every watch runs"
    );
}

#[tokio::test]
async fn a_watch_that_keeps_failing_is_logged_counted_and_makes_health_fail() {
    let (fake, _namespace) = shop::seeded_cluster();
    // RBAC without the right to list Microshops (or the CRD missing): every list is refused.
    fake.deny("microshop.dev", "microshops", "list");
    let running = Running::start(&fake, Settings::default(), Duration::from_secs(1));

    let problem = eventually_within(
        "health reports the failing watch",
        Duration::from_secs(20),
        async || running.health.problem(),
    )
    .await;
    assert!(
        problem.contains("microshops") && problem.contains("403"),
        "{problem}"
    );
    let router = microshop_operator::server::router(
        running.ctx.metrics.clone(),
        Arc::clone(&running.health),
    );
    let response = tower::ServiceExt::oneshot(
        router,
        http::Request::get("/health")
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await
    .expect("answers");
    assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    let metrics = running.ctx.metrics.render();
    let errors = metrics
        .lines()
        .find(|line| {
            line.starts_with(r#"microshop_operator_watch_errors_total{resource="microshops"}"#)
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|count| count.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(errors >= 1, "{metrics}");
    running.stop().await;
}

/// An elector named `identity` holding `microshop-system/microshop-operator` for `seconds`.
fn elector(fake: &FakeApiServer, identity: &str, seconds: u64) -> Elector {
    elector_with(fake, identity, seconds, Metrics::new())
}

fn elector_with(fake: &FakeApiServer, identity: &str, seconds: u64, metrics: Metrics) -> Elector {
    Elector::new(
        fake.client(),
        "microshop-system",
        "microshop-operator",
        identity,
        Duration::from_secs(seconds),
        metrics,
    )
}

fn holder(fake: &FakeApiServer) -> Option<String> {
    fake.get("leases", "microshop-system", "microshop-operator")?["spec"]["holderIdentity"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn one_replica_leads_a_standby_takes_over_only_after_the_lease_expires() {
    let fake = FakeApiServer::new();
    let (mut a, mut b) = (elector(&fake, "a", 2), elector(&fake, "b", 2));
    assert!(
        a.try_acquire_or_renew().await.expect("answers"),
        "a takes the free lease"
    );
    assert!(
        !b.try_acquire_or_renew().await.expect("answers"),
        "b stands by"
    );
    assert!(a.try_acquire_or_renew().await.expect("answers"), "a renews");
    assert_eq!(holder(&fake).as_deref(), Some("a"));

    // a stops renewing (a hung pod): b waits a whole duration on its own clock, then takes it.
    let since = Instant::now();
    eventually_within(
        "b takes the lease over",
        Duration::from_secs(10),
        async || {
            b.try_acquire_or_renew()
                .await
                .expect("answers")
                .then_some(())
        },
    )
    .await;
    assert!(
        since.elapsed() >= Duration::from_millis(1900),
        "not before it expired"
    );
    assert_eq!(holder(&fake).as_deref(), Some("b"));
    let lease = fake
        .get("leases", "microshop-system", "microshop-operator")
        .expect("exists");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    assert!(
        !a.try_acquire_or_renew().await.expect("answers"),
        "a has lost it"
    );

    // b shuts down and releases: a leads again at once.
    b.release().await;
    assert!(a.try_acquire_or_renew().await.expect("answers"));
    assert_eq!(holder(&fake).as_deref(), Some("a"));
}

#[tokio::test]
async fn of_two_replicas_racing_for_a_free_lease_exactly_one_wins() {
    for _ in 0..5 {
        let fake = FakeApiServer::new();
        let (mut a, mut b) = (elector(&fake, "a", 15), elector(&fake, "b", 15));
        let (first, second) = tokio::join!(a.try_acquire_or_renew(), b.try_acquire_or_renew());
        let winners = [first.expect("answers"), second.expect("answers")];
        assert_eq!(winners.iter().filter(|won| **won).count(), 1, "{winners:?}");
    }
}

#[tokio::test]
async fn a_leader_that_cannot_renew_gives_up_before_a_standby_may_take_over() {
    let fake = FakeApiServer::new();
    let metrics = Metrics::new();
    let mut a = elector_with(&fake, "a", 3, metrics.clone());
    a.acquire().await;
    assert!(metrics.render().contains("microshop_operator_leader 1"));
    // The API server refuses a's renewals from now on.
    fake.deny("coordination.k8s.io", "leases", "update");
    let since = Instant::now();
    let reason = tokio::time::timeout(Duration::from_secs(10), a.hold())
        .await
        .expect("a gives up");
    assert!(reason.contains("could not be renewed"), "{reason}");
    assert!(
        since.elapsed() < Duration::from_secs(3),
        "gave up within the lease's duration: {:?}",
        since.elapsed()
    );
    assert!(metrics.render().contains("microshop_operator_leader 0"));
}
