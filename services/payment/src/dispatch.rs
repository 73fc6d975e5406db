//! Sending refunds to the provider. A refund is stored first (its use case's transaction), then
//! sent: at once when an admin asks, by this dispatcher otherwise — woken when a consumer asked
//! for refunds, and every `REFUND_RETRY_INTERVAL` for those the provider could not take. Each
//! send leases the refund (so two replicas do not send it at the same moment) and is idempotent
//! at the provider by the refund's id, so a send repeated after a crash refunds once.

use std::time::Duration;

use microshop_http_client::UpstreamError;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::db::payments;
use crate::db::refunds::{self, Due};
use crate::refund::{self, Settled};

/// How long a send may take before another dispatcher may try the refund again.
const LEASE: Duration = Duration::from_secs(30);

/// Most refunds taken per round.
const BATCH: i64 = 20;

/// Longest wait between attempts of one refund.
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// Sends due refunds until `shutdown`.
pub async fn watch(app: App, interval: Duration, shutdown: CancellationToken) {
    loop {
        match refunds::claim_due(&app.db, None, BATCH, LEASE).await {
            Ok(due) => {
                let full = i64::try_from(due.len()).unwrap_or(BATCH) >= BATCH;
                for refund in due {
                    send(&app, refund).await;
                }
                if full {
                    continue;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the refunds to send"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = app.refunds_due.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Sends refund `id` now if it is due (an admin's request); the dispatcher retries it otherwise.
pub async fn send_now(app: &App, id: i64) {
    match refunds::claim_due(&app.db, Some(id), 1, LEASE).await {
        Ok(due) => {
            for refund in due {
                send(app, refund).await;
            }
        }
        Err(error) => tracing::warn!(%error, refund.id = id, "cannot send the refund now"),
    }
}

/// One attempt to send `due`.
async fn send(app: &App, due: Due) {
    let Some(session) = due.session_id.as_deref() else {
        // A payment that took money always has its session; nothing to send without one.
        retry_later(app, &due, "the payment has no provider session").await;
        return;
    };
    match app.provider.refund(session, due.id, due.amount_cents).await {
        Ok(answer) => {
            if let Err(error) = refunds::sent(&app.db, due.id, &answer.id).await {
                tracing::warn!(%error, refund.id = due.id, "cannot record the sent refund");
            }
            let result = match answer.status.as_str() {
                "succeeded" => Ok(()),
                "failed" => Err(answer
                    .failure_message
                    .unwrap_or_else(|| "the provider refused the refund".to_owned())),
                // Settled later by the provider's webhook.
                _ => return,
            };
            settle_now(app, due.id, Some(&answer.id), result).await;
        }
        Err(UpstreamError::Refused { code, message, .. }) => {
            // The provider will never take it (more than is left there, an unpaid session).
            settle_now(app, due.id, None, Err(format!("{code}: {message}"))).await;
        }
        Err(error) => retry_later(app, &due, &error.to_string()).await,
    }
}

/// Records a failed attempt; the next one waits twice as long as the last, up to 5 minutes.
async fn retry_later(app: &App, due: &Due, error: &str) {
    let exponent = u32::try_from(due.attempts.clamp(1, 12) - 1).unwrap_or(0);
    let wait = (Duration::from_secs(1) * 2_u32.pow(exponent)).min(MAX_BACKOFF);
    tracing::warn!(refund.id = due.id, attempts = due.attempts, retry_in_secs = wait.as_secs(),
        %error, "refund not sent; trying again later");
    if let Err(error) = refunds::attempt_failed(&app.db, due.id, error, wait).await {
        tracing::warn!(%error, refund.id = due.id, "cannot record the failed refund attempt");
    }
}

/// Applies the provider's synchronous answer to refund `id` (its webhook will find it settled).
async fn settle_now(
    app: &App,
    id: i64,
    provider_refund_id: Option<&str>,
    result: Result<(), String>,
) {
    let settled = async {
        let mut tx = app.outbox.begin().await?;
        let Some(refund) = refunds::find(&mut *tx, id).await? else {
            return Ok::<Option<Settled>, sqlx::Error>(None);
        };
        let Some(payment) = payments::lock(&mut tx, refund.payment_id).await? else {
            return Ok(None);
        };
        let settled = refund::settle(
            &mut tx,
            &payment,
            id,
            provider_refund_id,
            result.as_ref().copied().map_err(String::as_str),
        )
        .await?;
        tx.commit().await?;
        Ok(settled)
    };
    match settled.await {
        Ok(settled) => refund::count(app, settled),
        Err(error) => {
            tracing::warn!(%error, refund.id = id, "cannot settle the refund now; its webhook will");
        }
    }
}
