//! Background tasks (queue consumers, the outbox relay, watchers) under supervision: a task that
//! panics is logged, counted in `background_task_panics_total{task}`, shown in the readiness
//! body, and started again after a backoff, instead of silently leaving the service without it.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use prometheus::{IntCounterVec, Opts, Registry};
use tokio_util::sync::CancellationToken;

/// First wait before a panicked task is started again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the supervisor knows of every task: those not running right now, and why.
#[derive(Clone)]
pub(crate) struct Supervision {
    down: Arc<Mutex<BTreeMap<&'static str, String>>>,
    panics: IntCounterVec,
}

impl Supervision {
    pub(crate) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let panics = IntCounterVec::new(
            Opts::new(
                "background_task_panics_total",
                "Panics of a background task (a queue consumer, the outbox relay, ...); each was \
                 restarted after a backoff.",
            ),
            &["task"],
        )?;
        registry.register(Box::new(panics.clone()))?;
        Ok(Self {
            down: Arc::new(Mutex::new(BTreeMap::new())),
            panics,
        })
    }

    /// The readiness report: `Err` naming the tasks that are down and why.
    pub(crate) fn check(&self) -> Result<(), String> {
        let down = self.down.lock().unwrap_or_else(PoisonError::into_inner);
        if down.is_empty() {
            return Ok(());
        }
        Err(down
            .iter()
            .map(|(task, why)| format!("{task}: {why}"))
            .collect::<Vec<_>>()
            .join("; "))
    }

    fn set_down(&self, task: &'static str, why: Option<String>) {
        let mut down = self.down.lock().unwrap_or_else(PoisonError::into_inner);
        match why {
            Some(why) => down.insert(task, why),
            None => down.remove(task),
        };
    }

    /// Runs what `start` makes until it finishes; starts it again after each panic, until
    /// `shutdown`.
    pub(crate) async fn run<F, Fut>(self, task: &'static str, start: F, shutdown: CancellationToken)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.panics.with_label_values(&[task]);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let Err(panic) = AssertUnwindSafe(start()).catch_unwind().await else {
                return;
            };
            let message = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            self.panics.with_label_values(&[task]).inc();
            tracing::error!(
                task,
                panic = %message,
                restart_in_ms = backoff.as_millis(),
                "background task panicked; starting it again"
            );
            self.set_down(
                task,
                Some(format!(
                    "panicked ({message}); restarting in {} s",
                    backoff.as_secs()
                )),
            );
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            self.set_down(task, None);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}
