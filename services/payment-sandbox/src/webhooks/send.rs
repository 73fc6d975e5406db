//! One delivery attempt: the event's body sent (POST) to the receiver with a signature made now,
//! its answer recorded, and the retry queued when one is due.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;

use super::Inner;
use super::ledger::{Answer, Job, Next};
use crate::domain::unix_now;
use crate::metrics::DeliveryOutcome;

impl Inner {
    /// Makes the attempt `job` names.
    pub(super) async fn attempt(self: Arc<Self>, job: Job) {
        let Some(body) = self.ledger().body(&job.event_id) else {
            return;
        };
        let answer = self.post(&body).await;
        let attempt = job.attempts + 1;
        let (status, error) = match &answer {
            Answer::Status(status) => (Some(*status), None),
            Answer::None(why) => (None, Some(why.clone())),
        };
        let next = self.ledger().finish(&job, answer, &self.retry);
        let event_id = job.event_id.as_str();
        match next {
            Next::Delivered => {
                self.metrics.delivery(DeliveryOutcome::Delivered);
                tracing::debug!(event.id = event_id, attempt, status, "webhook delivered");
            }
            Next::Retry(delay) => {
                self.metrics.delivery(DeliveryOutcome::FailedAttempt);
                self.wake.notify_one();
                tracing::warn!(
                    event.id = event_id,
                    attempt,
                    status,
                    error,
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "webhook delivery failed; will retry"
                );
            }
            Next::GivenUp => {
                self.metrics.delivery(DeliveryOutcome::GivenUp);
                tracing::error!(
                    event.id = event_id,
                    attempts = attempt,
                    status,
                    error,
                    "webhook delivery given up after the last allowed attempt"
                );
            }
            Next::Forgotten => {}
        }
    }

    /// POSTs `body`, signed now.
    async fn post(&self, body: &[u8]) -> Answer {
        let signature = microshop_webhook::sign(&self.target.secret, unix_now(), body);
        let sent = self
            .client
            .post(&self.target.url)
            .header(CONTENT_TYPE, "application/json")
            .header(microshop_webhook::HEADER, signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => Answer::Status(response.status().as_u16()),
            Err(error) => Answer::None(microshop_telemetry::error_chain(&error.without_url())),
        }
    }
}
